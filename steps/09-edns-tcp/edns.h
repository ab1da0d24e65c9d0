/* edns: the OPT pseudo-record of EDNS(0) (RFC 6891) — read from a message, written into one. */
#ifndef DNS_EDNS_H
#define DNS_EDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hdr.h"
#include "msg.h"

/*
 * RFC 1035 left no room to grow: a UDP message is at most 512 bytes, the
 * RCODE has 4 bits, the header has no flag left to give. EDNS(0) adds one
 * record to the additional section, the OPT, whose fields are reused to say
 * what the header cannot (RFC 6891 6.1.2). Our own OPT, with no options:
 *
 *   offset  field     bytes  what it holds in an OPT               ours
 *      0    NAME        1    the root name, always                 00
 *      1    TYPE        2    41 (OPT)                              00 29
 *      3    CLASS       2    the sender's UDP payload size:        04 d0  (1232)
 *                            the largest datagram it can take
 *      5    TTL         4    EXTENDED-RCODE, VERSION, DO, Z:       00 00 00 00
 *                            see below
 *      9    RDLENGTH    2    bytes of options that follow          00 00
 *     11    RDATA            options, one after another
 *
 * The TTL's 32 bits:
 *
 *            0  1  2  3  4  5  6  7  0  1  2  3  4  5  6  7
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   5 -  6 |    EXTENDED-RCODE     |        VERSION        |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   7 -  8 |DO|                      Z                     |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 *   EXTENDED-RCODE  the upper 8 bits of a 12-bit RCODE whose lower 4 are in
 *                   the header: RCODE = EXTENDED-RCODE << 4 | header RCODE.
 *                   BADVERS (16) is 01 here and 0 in the header.
 *   VERSION         0: the only version there is. A server answers a higher
 *                   one with BADVERS (RFC 6891 6.1.3).
 *   DO              "DNSSEC OK" (RFC 3225): send me signatures. We never set it.
 *   Z               0 when sent, ignored when received (RFC 6891 6.1.4).
 *
 * Each option in the RDATA (RFC 6891 6.1.2): OPTION-CODE (2 bytes), OPTION-
 * LENGTH (2 bytes), then that many bytes. None is understood here; unknown
 * options are ignored (RFC 6891 6.1.2), but they must fit in RDLENGTH.
 *
 * A message carries at most one OPT, in its additional section, owned by the
 * root (RFC 6891 6.1.1); anything else is FORMERR (RFC 6891 7).
 */

enum {
    /* The UDP payload size we advertise, and the most we send over UDP: the
     * DNS Flag Day 2020 value, small enough that a datagram is never
     * fragmented on a path with an MTU of 1280 (IPv6's minimum) once the IP
     * and UDP headers are added. */
    EDNS_PAYLOAD = 1232,
    /* An OPT record with no options: root owner (1), then TYPE CLASS TTL
     * RDLENGTH (10 fixed bytes). */
    EDNS_OPT_SIZE = 11,
    /* Extended RCODE: EDNS version not supported (RFC 6891 9). */
    EDNS_RCODE_BADVERS = 16,
    /* The only EDNS version (RFC 6891 6.1.3). */
    EDNS_VERSION = 0,
    /* The DO bit in the OPT's TTL (RFC 3225 3). */
    EDNS_DO = 0x8000,
};

struct edns {
    bool present;     /* the message had an OPT */
    uint16_t payload; /* its CLASS: the requestor's UDP payload size, as sent */
    uint8_t version;
    bool dnssec_ok;    /* DO bit */
    uint8_t ext_rcode; /* upper 8 bits of the RCODE, as sent */
};

/* Reading ---------------------------------------------------------------------- */

/*
 * After msg_parse_query() returned DNS_RCODE_NOERROR for `data`: reads the
 * additional section (from q->end; q->hdr.ancount/nscount/arcount say what is
 * there: an IXFR query may have one SOA in authority, see msg_parse_query())
 * and fills `e`. Returns
 *   DNS_RCODE_NOERROR    e is filled (e->present false when there is no OPT);
 *   DNS_RCODE_FORMERR    more than one OPT, an OPT whose owner is not the root,
 *                        an OPT outside the additional section, or options that
 *                        run past RDLENGTH (e->present false);
 *   EDNS_RCODE_BADVERS   an OPT with VERSION > 0 (e is filled).
 * Unknown options are ignored.
 */
int edns_parse_query(const uint8_t *data, size_t len, const struct msg_query *q, struct edns *e);

/*
 * The OPT of a reply of `len` bytes that has not been indexed (upstream.c
 * reads only its header and question): walks its questions and records with
 * the checked reader. Returns DNS_RCODE_NOERROR with `e` filled (e->present
 * false when there is no OPT), or DNS_RCODE_FORMERR when the message is
 * malformed or its OPT is, as edns_parse_query() says (e->present false).
 * The version is not judged: a reply's OPT is only read.
 */
int edns_parse_reply(const uint8_t *data, size_t len, struct edns *e);

/* The same for a message indexed by msg_parse() (which has already checked
 * every record's shape and the options' lengths). */
int edns_from_msg(const struct msg *m, struct edns *e);

/* The whole 12-bit RCODE of a message with header `h` and OPT `e`: the
 * header's 4 bits, and the OPT's upper 8 bits above them when it has one. */
unsigned edns_rcode(const struct hdr *h, const struct edns *e);

/* The most a UDP reply to a query with `e` may hold: DNS_UDP_MAX (512)
 * without EDNS, else the requestor's payload size, at least 512 (RFC 6891
 * 6.2.5: smaller values are treated as 512) and at most EDNS_PAYLOAD. */
size_t edns_udp_limit(const struct edns *e);

/* Writing ---------------------------------------------------------------------- */

/* Appends an OPT with no options: root owner, CLASS `payload`, version 0, DO
 * clear, EXTENDED-RCODE 0 (a query's). The caller counts it in ARCOUNT. Sets
 * the writer's error, writing nothing, if the EDNS_OPT_SIZE bytes do not fit. */
void edns_write_opt(struct buf_writer *w, uint16_t payload);

/*
 * Appends our OPT (payload EDNS_PAYLOAD, version 0, DO clear, no options) to
 * the reply of `len` bytes at `msg` (room for `cap`), adds 1 to ARCOUNT, and
 * puts `ext_rcode` (the upper 8 bits of a 12-bit RCODE, e.g.
 * EDNS_RCODE_BADVERS >> 4; 0 for RCODEs the header holds alone) in the OPT's
 * TTL. The header's 4-bit RCODE is the caller's. Returns the new length
 * (len + EDNS_OPT_SIZE), or `len`, with `msg` untouched, if it does not fit
 * (or `len` is shorter than a header, or ARCOUNT is already 65535).
 */
size_t edns_add_opt(uint8_t *msg, size_t len, size_t cap, uint8_t ext_rcode);

#endif
