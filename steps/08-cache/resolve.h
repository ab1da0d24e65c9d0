/* resolve: the iterative resolver, now with a cache: what it learns, it remembers for the TTL. */
#ifndef DNS_RESOLVE_H
#define DNS_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "hints.h"
#include "loop.h"
#include "msg.h"
#include "name.h"
#include "net.h"
#include "upstream.h"

/*
 * Step 6 asked a resolver and waited. Now we are the resolver: for each
 * question we ask the root servers (from the hints file), which refer us to
 * the servers of a top-level domain, which refer us on, until a server that
 * is authoritative for the name answers it (RFC 1034 5.3.3). Every query
 * goes out with RD=0: we want each server's own knowledge, not its help.
 *
 * A resolution never blocks: it is a small state machine. Each step sends
 * one query (upstream.c) and returns; the reply, or the timeout, moves it on:
 *
 *   start: servers := the root hints
 *     -> ask the next untried address of the current servers
 *        reply: an answer        -> done (after any CNAME: start over for the target)
 *               NXDOMAIN, NODATA -> done, with the zone's SOA
 *               a referral down  -> servers := the delegation (glue if in bailiwick)
 *               anything else    -> lame: the next address
 *        timeout or failure      -> the next address
 *     -> no address left: resolve an NS name that had no glue (a
 *        sub-resolution), or give up: SERVFAIL
 *
 * Limits, each a named constant below, bound the work one client query can
 * cause, whatever the servers answer: referrals, queries, CNAME links, the
 * depth of sub-resolutions, and a deadline.
 */

enum {
    RESOLVE_REFERRALS_MAX = 30, /* referrals followed by one resolution and its sub-resolutions */
    RESOLVE_QUERIES_MAX = 100,  /* queries sent for one client question, sub-resolutions included */
    RESOLVE_CNAME_MAX = 8,      /* CNAME links followed: more is a loop or a mistake */
    RESOLVE_DEPTH_MAX = 4,      /* sub-resolutions within sub-resolutions (glueless NS names) */
    RESOLVE_SERVERS_MAX =
        16, /* name servers of one zone cut kept (NS records past this are dropped) */
    RESOLVE_ADDRS_MAX = 4,    /* addresses kept per name server */
    RESOLVE_RECORDS_MAX = 32, /* records of the answer kept: the CNAME chain and the final RRset */
    RESOLVE_NS_TIMEOUT_DEFAULT_MS = 800,
    RESOLVE_DEADLINE_DEFAULT_MS = 5000,
    /* Records of one section looked at for caching: RRsets are grouped by
     * comparing each record with those before it, so this bounds that work
     * (64 x 64 comparisons) whatever a reply holds. The answer still gets
     * every record; only the cache sees the first 64. */
    RESOLVE_CACHE_RECORDS_MAX = 64,
};

/* Everything resolutions share. */
struct resolver {
    struct loop *loop;
    struct upstream *up;       /* sends the queries (per try: its own socket, ID, timeout) */
    const struct hints *hints; /* where a resolution starts when the cache knows no closer cut */
    struct cache *cache;       /* what earlier resolutions learnt */
    uint16_t ns_port;          /* the port of every name server (53 on the internet) */
    unsigned deadline_ms;      /* for one whole client question */
    struct resolution *active; /* every top-level resolution in flight */
    size_t pending;            /* how many */
    struct {
        uint64_t started, answered, nxdomain, nodata, servfail;
        uint64_t referrals, lame, out_of_bailiwick; /* records ignored as out of bailiwick */
        uint64_t from_cache;     /* questions answered from the cache alone, at once */
        uint64_t cut_from_cache; /* resolutions that started below the root thanks to the cache */
    } stats;
};

struct resolution; /* resolve.c */

void resolver_init(struct resolver *r, struct loop *loop, struct upstream *up,
                   const struct hints *hints, struct cache *cache, uint16_t ns_port,
                   unsigned deadline_ms);

/*
 * The hot path: writes into `out` (`cap` bytes, the reply for `q` alone, as
 * resolve_ask() delivers it) the answer the cache holds for `q`: the cached
 * CNAME chain and RRset, or a cached NXDOMAIN or NODATA with its SOA, TTLs
 * counting down. Returns its length, or 0 if the cache cannot answer all of
 * it (then resolve_ask() is needed). No allocation, no query sent.
 */
size_t resolve_from_cache(struct resolver *r, const struct msg_question *q, uint8_t *out,
                          size_t cap);

/* Cancels every resolution still in flight (no callbacks) and frees them. */
void resolver_free(struct resolver *r);

/*
 * Starts resolving `q` and calls done(ctx, ...) once, never from inside this
 * call: UPSTREAM_REPLY with a reply message for `q` alone (RCODE NOERROR or
 * NXDOMAIN; the CNAME chain and the final RRset in the answer section, the
 * SOA in authority for a negative answer), valid during the call only; or
 * UPSTREAM_FAILED when it could not be resolved within the limits (the
 * caller answers SERVFAIL). Returns the resolution, or NULL if it could not
 * even start (out of memory).
 */
struct resolution *resolve_ask(struct resolver *r, const struct msg_question *q,
                               upstream_done_fn *done, void *ctx);

/* Ends a resolution without calling its callback. */
void resolve_cancel(struct resolver *r, struct resolution *res);

#endif
