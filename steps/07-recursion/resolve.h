/* resolve: the iterative resolver — one question walked down from the root, as a state machine. */
#ifndef DNS_RESOLVE_H
#define DNS_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
};

/* Everything resolutions share. */
struct resolver {
    struct loop *loop;
    struct upstream *up;       /* sends the queries (per try: its own socket, ID, timeout) */
    const struct hints *hints; /* where every resolution starts */
    uint16_t ns_port;          /* the port of every name server (53 on the internet) */
    unsigned deadline_ms;      /* for one whole client question */
    struct resolution *active; /* every top-level resolution in flight */
    size_t pending;            /* how many */
    struct {
        uint64_t started, answered, nxdomain, nodata, servfail;
        uint64_t referrals, lame, out_of_bailiwick; /* records ignored as out of bailiwick */
    } stats;
};

struct resolution; /* resolve.c */

void resolver_init(struct resolver *r, struct loop *loop, struct upstream *up,
                   const struct hints *hints, uint16_t ns_port, unsigned deadline_ms);

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
