/* hints: the root hints file — where an iterative resolver sends its first question. */
#ifndef DNS_HINTS_H
#define DNS_HINTS_H

#include <stddef.h>

#include "name.h"
#include "net.h"

/*
 * A resolver that starts from nothing must know some servers of the root
 * zone to ask (RFC 1034 5.3 calls the list SBELT, a "safety belt"). They come from a
 * hints file in the form IANA publishes as named.root, a master file of
 * only the root's NS records and their servers' addresses:
 *
 *     ; comment
 *     .                     3600000  NS    A.ROOT-SERVERS.NET.
 *     A.ROOT-SERVERS.NET.   3600000  A     198.41.0.4
 *     A.ROOT-SERVERS.NET.   3600000  AAAA  2001:503:ba3e::2:30
 *
 * One record per line: OWNER [TTL] [IN] TYPE DATA (TTL and class in either
 * order, both optional; the TTL is checked but not kept: hints are where to
 * start, not data to cache). A line that begins with a space or a tab has
 * the previous record's owner (RFC 1035 5.1). ';' starts a comment. Every
 * name is absolute (there is no $ORIGIN). The types are NS (owner ".") and
 * A and AAAA (owner: a name an NS record names, before or after it).
 */

enum {
    /* Root servers kept. The root has 13 names (a..m.root-servers.net):
     * what fits in a 512-byte referral with their IPv4 glue. */
    HINTS_SERVERS_MAX = 16,
    /* Addresses kept per server: named.root gives one IPv4 and one IPv6. */
    HINTS_ADDRS_MAX = 4,
    /* Error messages: "zones/named.root:42: unknown type 'AAA'", with room
     * for a path and a quoted name. */
    HINTS_ERROR_MAX = 512,
};

struct hints_server {
    struct name name;                      /* e.g. a.root-servers.net. (lower-cased) */
    struct net_addr addr[HINTS_ADDRS_MAX]; /* its IPv4 (and IPv6) addresses, port 0 */
    size_t naddr;                          /* may be 0 if others have addresses */
};

struct hints {
    size_t count; /* servers, in the order of their NS records */
    struct hints_server server[HINTS_SERVERS_MAX];
};

/*
 * Reads the root hints file at `path` (a regular file of at most 1 MiB) into
 * `out`. Fails if the file holds no NS record, a record of another type, an
 * address for a name no NS record names, more than HINTS_SERVERS_MAX servers
 * or HINTS_ADDRS_MAX addresses for one, or if no server has an address.
 * Returns 0, or -1 with "path:line: what is wrong" in `err` ("path: what is
 * wrong" when no line is at fault, e.g. the file cannot be read) and `out`
 * unchanged.
 */
int hints_load(const char *path, struct hints *out, char *err, size_t errcap);

/* The same from text in memory (for tests); `source` names it in messages. */
int hints_load_text(const char *text, const char *source, struct hints *out, char *err,
                    size_t errcap);

#endif
