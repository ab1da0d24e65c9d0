/* upstream: asking another DNS server over UDP — random ID and port, matching, timeout, retry —
 * and over TCP when the UDP reply is truncated; with an EDNS OPT, unless the server fails it. */
#ifndef DNS_UPSTREAM_H
#define DNS_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "loop.h"
#include "msg.h"
#include "net.h"

/*
 * A query to another server is a guess-proof ticket. An off-path attacker who
 * wants a forged answer accepted must send it before the real one, to the
 * port we listen on, with the ID we chose, for the question we asked (RFC
 * 5452). So every query gets:
 *   - a 16-bit ID from the kernel's random source (/dev/urandom), never a counter;
 *   - its own socket, bound by the kernel to a random ephemeral port, and
 *     connect()ed to the server, so the kernel drops datagrams from any other
 *     address or port (and reports the server's "port unreachable");
 *   - a check of every reply: the sender's address and port, the ID, and the
 *     question (name case-insensitively, type and class). Anything else is
 *     counted as forged and ignored, and the wait goes on.
 * A try that gets no acceptable reply within the timeout is sent again, with
 * a new ID from a new port, up to `tries` times in all.
 *
 * A reply with TC set did not fit in the datagram (RFC 1035 4.2.1): what it
 * holds is never used. The same try goes on over TCP (RFC 7766 5, RFC 1035
 * 4.2.2): a new connection to the same address and port, a new random ID, the
 * query and then the reply each after a 2-byte length, the reply checked like
 * a datagram. The TCP part has a timeout of its own (timeout_ms again: a
 * connection costs a round trip more than a datagram) and uses no try of its
 * own; if it fails (refused, reset, closed early, timed out, or a reply that
 * does not match) the try is over, as when a datagram is refused or times
 * out, and the next try starts over UDP. So a query waits at most
 * 2 * tries * timeout_ms. A TCP reply with TC set is delivered as it is.
 *
 * Every query carries an OPT record (RFC 6891, edns.h) that says we take
 * replies of up to EDNS_PAYLOAD bytes over UDP, so a reply between 512 and
 * 1232 bytes needs no TCP. Some servers predate EDNS and answer such a query
 * FORMERR or NOTIMP (RFC 6891 7), or BADVERS when they mistake the version.
 * To those the same try is sent again at once without the OPT (a new ID from
 * a new port, over UDP even if the refusal came over TCP), and it does not
 * count as a try (so such a query may take one try longer than said above;
 * it happens once at most, as the query then has no OPT). The server
 * (address and port) is then remembered for UPSTREAM_NO_EDNS_MS in a table
 * of UPSTREAM_NO_EDNS_MAX (the oldest entry makes room for a new one), and
 * asked without the OPT meanwhile; after that it gets the OPT again, for
 * servers do get upgraded.
 */

enum {
    UPSTREAM_TIMEOUT_DEFAULT_MS = 2000,
    UPSTREAM_TRIES_DEFAULT = 2,
    UPSTREAM_PENDING_DEFAULT = 4096,
    /* Bounds for the options: a try shorter than 10 ms would time out on a
     * loaded loopback; a minute is longer than any client waits; more than 10
     * tries only multiplies the load on a dead server. */
    UPSTREAM_TIMEOUT_MIN_MS = 10,
    UPSTREAM_TIMEOUT_MAX_MS = 60000,
    UPSTREAM_TRIES_MAX = 10,
    /* Queries in flight at once, at most (each holds a socket). */
    UPSTREAM_PENDING_MAX = 65536,
    /* Random bytes read from /dev/urandom at a time (two per ID). */
    UPSTREAM_RANDOM_BATCH = 256,
    /* Servers remembered as failing EDNS, and for how long (15 minutes on the
     * loop's clock). A resolver asks a few dozen servers again and again; one
     * forgotten too early costs a query more, nothing worse. */
    UPSTREAM_NO_EDNS_MAX = 64,
    UPSTREAM_NO_EDNS_MS = 15 * 60 * 1000,
};

enum upstream_result {
    UPSTREAM_REPLY,   /* an acceptable reply came: reply/len hold it */
    UPSTREAM_TIMEOUT, /* every try timed out */
    UPSTREAM_FAILED,  /* the server refused (port unreachable, or TCP refused, reset or closed
                       * early) or a socket could not be opened */
};

/* Called once per query with how it ended. `reply` (only for UPSTREAM_REPLY)
 * is valid during the call only, and up to DNS_MESSAGE_MAX bytes long (over
 * TCP as over UDP). The query has ended before the call: the
 * callback may ask new questions and cancel other queries, not this one. */
typedef void upstream_done_fn(void *ctx, enum upstream_result result, const uint8_t *reply,
                              size_t len);

struct upstream_stats {
    uint64_t sent;     /* queries sent, over UDP or TCP (tries included) */
    uint64_t replies;  /* acceptable replies */
    uint64_t timeouts; /* queries that ran out of tries */
    uint64_t failed;   /* queries that ended UPSTREAM_FAILED */
    uint64_t forged;   /* datagrams ignored: wrong sender, ID or question, or not a reply;
                        * and TCP replies that did not match (they end the try) */
    uint64_t refused;  /* upstream_ask() refused: max_pending in flight, or no memory */
    uint64_t tcp;      /* UDP replies with TC set, asked again over TCP */
    uint64_t no_edns;  /* replies of FORMERR, NOTIMP or BADVERS to our OPT: asked again without */
};

struct upstream_query; /* one question in flight (upstream.c) */

/* A server that failed a query with an OPT, asked without one until `until`. */
struct upstream_no_edns {
    struct net_addr server;
    uint64_t until; /* loop time at which it is forgotten; 0: an empty entry */
};

/* Shows one message sent or received (server.h's server_trace()). */
typedef void upstream_trace_fn(const char *direction, const struct sockaddr *peer,
                               socklen_t peer_len, bool tcp, const uint8_t *msg, size_t len);

struct upstream {
    struct loop *loop;
    upstream_trace_fn *trace; /* called for every message sent and received, or NULL */
    unsigned timeout_ms;
    unsigned tries;
    size_t max_pending;
    size_t pending;                   /* queries in flight now */
    struct upstream_query *in_flight; /* queries in flight, doubly linked */
    struct upstream_query *free_list; /* ended queries kept for reuse */
    size_t n_free;                    /* queries on free_list */
    int random_fd;                    /* /dev/urandom */
    uint8_t random[UPSTREAM_RANDOM_BATCH];
    size_t random_used; /* bytes of random[] already handed out */
    struct upstream_no_edns no_edns[UPSTREAM_NO_EDNS_MAX];
    struct upstream_stats stats;
};

/*
 * Sets up a client that sends through `loop`. Opens /dev/urandom, and raises
 * the soft limit of open files towards `max_pending` sockets (as far as the
 * hard limit lets it). Returns 0, or -1 with errno set: EINVAL if timeout_ms,
 * tries or max_pending is outside the bounds above, or why /dev/urandom could
 * not be opened.
 */
int upstream_init(struct upstream *u, struct loop *loop, unsigned timeout_ms, unsigned tries,
                  size_t max_pending);

/* Cancels every query still in flight (their callbacks are not called) and
 * frees everything. */
void upstream_free(struct upstream *u);

/*
 * Sends `q` to `server` as a single-question query with RD set to `rd` and
 * an OPT (unless the server is remembered as failing EDNS), and
 * calls done(ctx, ...) once when it ends, never from inside this call (even a
 * socket that cannot be opened is reported from the loop, as UPSTREAM_FAILED).
 * Returns the query (for upstream_cancel), or NULL when it cannot even start:
 * `max_pending` queries are in flight already, or memory ran out
 * (stats.refused counts both). The pointer is stale once done() is called.
 */
struct upstream_query *upstream_ask(struct upstream *u, const struct net_addr *server,
                                    const struct msg_question *q, bool rd, upstream_done_fn *done,
                                    void *ctx);

/*
 * Counts in *used every message `q` sends after its first (another try, the
 * same try over TCP after TC), and sends none once *used has reached `max`:
 * the try then ends as one that got no answer. A resolver passes its count
 * of queries for one client question, so that what this module sends by
 * itself spends the same budget (RESOLVE_QUERIES_MAX) as what the resolver
 * asks. *used must outlive the query.
 */
void upstream_budget(struct upstream_query *q, unsigned *used, unsigned max);

/* Ends a query without calling its callback. `q` must still be in flight:
 * not yet ended, nor cancelled. */
void upstream_cancel(struct upstream *u, struct upstream_query *q);

#endif
