/* lookup: the authoritative answer to a question from our zones (RFC 1034 4.3.2). */
#ifndef DNS_LOOKUP_H
#define DNS_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "zone.h"

/*
 * The algorithm, as NSD does it:
 *  1. The zone with the longest apex containing QNAME; none, or a QCLASS
 *     other than IN (or ANY) -> REFUSED.
 *  2. Walk down from the apex. A zone cut (NS below the apex) at or above
 *     QNAME -> a referral: AA=0, the cut's NS in authority, glue A/AAAA in
 *     additional. Except a DS question at the cut itself: DS is the
 *     parent's data (RFC 4035 3.1.4.1), answered as in 3-4.
 *  3. QNAME exists with QTYPE -> the RRset, AA=1. A CNAME there instead ->
 *     the CNAME, then start again at its target while it stays in our zones
 *     (at most LOOKUP_CNAME_MAX links; a loop stops the chain).
 *  4. QNAME exists without QTYPE (also an empty non-terminal) -> NODATA:
 *     NOERROR, the SOA in authority with TTL min(SOA TTL, MINIMUM), AA=1.
 *  5. QNAME does not exist -> the wildcard *.<closest encloser> if there is
 *     one (RFC 4592: its records with QNAME as owner), else NXDOMAIN with the
 *     SOA in authority, AA=1.
 * NS, MX and SRV answers get the A/AAAA of their targets in additional when
 * we are authoritative for them; addresses at or below a cut (glue) go only
 * with referrals.
 */

enum lookup_section { LOOKUP_ANSWER, LOOKUP_AUTHORITY, LOOKUP_ADDITIONAL, LOOKUP_SECTIONS };

enum {
    /* CNAME links followed for one question: long chains are a
     * misconfiguration, and each link costs a lookup. */
    LOOKUP_CNAME_MAX = 8,
    /* RRsets kept per section. A 512-byte reply holds far fewer records
     * than this; past it the reply is marked truncated. */
    LOOKUP_ITEMS_MAX = 64,
    /* Owner names a result holds: a CNAME target per link of each question,
     * and a node's name for each RRset written under it (a node keeps its
     * name at its exact length, so the name is copied out into a struct
     * name). Those RRsets are referrals' NS and additional addresses; even
     * if each one later moved to the answer section, one name per item of
     * the three sections would be enough. Past the bound: TC. */
    LOOKUP_NAMES_MAX =
        MSG_QUESTIONS_MAX * (LOOKUP_CNAME_MAX + 1) + LOOKUP_SECTIONS * LOOKUP_ITEMS_MAX,
};

/* One RRset to write, under the owner name to write it with. */
struct lookup_item {
    const struct zone_rrset *rrset;
    const struct name *owner; /* the client's QNAME, a zone's origin, or one of names[] */
    uint32_t ttl;             /* the RRset's, or min(TTL, MINIMUM) for a negative SOA */
};

struct lookup_result {
    unsigned rcode;
    bool aa;
    bool overflow; /* more RRsets than LOOKUP_ITEMS_MAX (or owner names than
                      LOOKUP_NAMES_MAX): the reply must say TC */
    size_t count[LOOKUP_SECTIONS];
    struct lookup_item item[LOOKUP_SECTIONS][LOOKUP_ITEMS_MAX];
    /* Owner names that items point to: CNAME targets (from RDATA, one per
     * link) and the names of the nodes that referrals and additional
     * addresses come from. */
    size_t name_count;
    struct name names[LOOKUP_NAMES_MAX];
};

/* Empties `res` for a new reply: NOERROR, AA=1, no items. */
void lookup_init(struct lookup_result *res);

/*
 * Adds the answer to `q` to `res`. Several questions can be added to one
 * result: their records go into the same sections, the RCODE is the first
 * one that is not NOERROR, and AA stays 1 only if every answer was
 * authoritative. `q` must stay valid while `res` is used (owners point to it).
 */
void lookup_answer(const struct zone_set *set, const struct msg_question *q,
                   struct lookup_result *res);

#endif
