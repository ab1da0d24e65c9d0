/* zonefile: reading RFC 1035 master files (zone files) into zones. */
#ifndef DNS_ZONEFILE_H
#define DNS_ZONEFILE_H

#include <stddef.h>

#include "zone.h"

/*
 * A master file is text, one record per line (RFC 1035 5.1):
 *
 *     $ORIGIN example.com.
 *     $TTL 3600
 *     @       IN SOA  ns1 hostmaster ( 2024010101 7200 3600 1209600 300 )
 *             IN NS   ns1
 *     www     IN A    192.0.2.1
 *
 * owner (blank: the previous one; "@": the origin; no final dot: relative to
 * $ORIGIN), then TTL and class in either order (both optional), the type,
 * and the RDATA fields as the record-type table (rdata.h) lays them out.
 * Parentheses join lines, ';' starts a comment, "\X" and "\DDD" escape.
 */

enum {
    /* Error messages: "zones/example.zone:12: unknown type 'AAA'" and room for
     * a quoted token. */
    ZONEFILE_ERROR_MAX = 512,
};

/*
 * Reads the master file at `path` into a new zone added to `set`. `origin`,
 * if not NULL, is the starting $ORIGIN (text); otherwise the file must set
 * $ORIGIN before its first relative name, or the first record's owner must
 * be absolute. The first record must be the zone's SOA. Returns 0, or -1
 * with "path:line: what is wrong" in `err` (and `set` unchanged).
 */
int zonefile_load_file(struct zone_set *set, const char *path, const char *origin, char *err,
                       size_t errcap);

/* The same from text in memory; `source` names it in error messages. */
int zonefile_load_text(struct zone_set *set, const char *text, const char *source,
                       const char *origin, char *err, size_t errcap);

#endif
