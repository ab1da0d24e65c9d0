/* upstream: asking another DNS server over UDP — random ID and port, matching, timeout, retry —
 * and over TCP when the UDP reply is truncated; with an EDNS OPT, unless the server fails it. */
#include "upstream.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "edns.h"
#include "hdr.h"
#include "log.h"

enum {
    /* Datagrams read from one query's socket per wake-up. An attacker who
     * floods the port with forgeries must not keep the loop reading that one
     * socket while every other client waits; poll() reports the socket again
     * at the next wake-up, so nothing is lost by stopping. A real server
     * sends one reply per try, so a handful is plenty. The same bound holds
     * for the reads of a TCP reply, which may come in many small pieces. */
    UPSTREAM_READS_PER_WAKE = 8,
    /* Ended queries kept for reuse. Reuse saves a malloc() and free() per
     * query at a steady rate; beyond this, the memory of a burst is given
     * back rather than held forever for a burst that may never come again. */
    UPSTREAM_FREE_MAX = 64,
    /* Descriptors the rest of the process needs besides one socket per query
     * in flight: stdio, the server's own socket, /dev/urandom, logs. */
    UPSTREAM_FD_SPARE = 64,
    /* The largest query we send: the header, one question, its name
     * uncompressed, and an OPT. */
    UPSTREAM_QUERY_MAX = DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED + EDNS_OPT_SIZE,
    /* RFC 1035 4.2.2: over TCP every message follows its length in 2 bytes. */
    UPSTREAM_TCP_LENGTH = 2,
    /* How often a TCP query whose connection is still being set up tries to
     * send: first after 1 ms, then twice as long each time, up to 16 ms (see
     * query_tcp_send()). */
    UPSTREAM_TCP_RETRY_MIN_MS = 1,
    UPSTREAM_TCP_RETRY_MAX_MS = 16,
};

struct upstream_query {
    struct upstream *u;
    /* On u->in_flight while in flight (both links); on u->free_list once
     * ended (next only). */
    struct upstream_query *prev, *next;
    struct msg_question question; /* a copy: the caller's may not outlive the call */
    bool rd;
    bool edns; /* the tries carry an OPT (until the server fails it) */
    struct net_addr server;
    upstream_done_fn *done;
    void *ctx;
    unsigned tries_left; /* tries not yet sent */
    unsigned *budget;    /* upstream_budget(): messages sent, counted by the caller too */
    unsigned budget_max; /* none sent once *budget reaches it */
    int fd;              /* this try's socket (UDP, or TCP after TC), or -1 between tries */
    uint16_t id;         /* this try's ID (a new one for TCP) */
    /* A try that could not even be sent: the timer is then a 0 ms one that
     * reports UPSTREAM_FAILED from the loop, never from upstream_ask(). */
    bool failed;
    bool in_flight; /* catches upstream_cancel() of an ended query (a programmer error) */
    struct loop_timer timer;
    /* This try over TCP, after a reply with TC (`fd` is then a TCP socket). */
    size_t tcp_sent;                         /* bytes of the length and query sent */
    struct loop_timer tcp_retry;             /* the next attempt to send (query_tcp_send()) */
    unsigned tcp_retry_ms;                   /* and how long after the last one it comes */
    size_t tcp_got;                          /* bytes of the length and reply read */
    uint8_t tcp_length[UPSTREAM_TCP_LENGTH]; /* the reply's length, as read */
    uint8_t *tcp_reply;                      /* malloc()ed once the length is known */
    size_t tcp_reply_len;                    /* that length */
};

/* Raises the soft limit of open files to `want` if it is lower, as far as the
 * hard limit allows. Best effort: with a lower limit, queries beyond it end
 * UPSTREAM_FAILED (EMFILE) instead of being sent, and the server goes on. */
static void upstream_raise_fd_limit(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        log_debug("upstream: getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
        return;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want)
        return;
    rlim_t target = (rlim_t)want;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
        target = rl.rlim_max;
    if (target <= rl.rlim_cur)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
        log_debug("upstream: setrlimit(RLIMIT_NOFILE, %llu): %s", (unsigned long long)target,
                  strerror(errno));
    else
        log_debug("upstream: open files limit raised from %llu to %llu", (unsigned long long)old,
                  (unsigned long long)target);
}

int upstream_init(struct upstream *u, struct loop *loop, unsigned timeout_ms, unsigned tries,
                  size_t max_pending)
{
    memset(u, 0, sizeof(*u));
    u->random_fd = -1;
    if (timeout_ms < UPSTREAM_TIMEOUT_MIN_MS || timeout_ms > UPSTREAM_TIMEOUT_MAX_MS || tries < 1 ||
        tries > UPSTREAM_TRIES_MAX || max_pending < 1 || max_pending > UPSTREAM_PENDING_MAX) {
        errno = EINVAL;
        return -1;
    }
    /* The kernel's random source, not rand(): an ID an attacker can predict
     * from the last one is no defence at all (RFC 5452 9.2). */
    u->random_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (u->random_fd < 0)
        return -1;
    u->loop = loop;
    u->timeout_ms = timeout_ms;
    u->tries = tries;
    u->max_pending = max_pending;
    u->random_used = UPSTREAM_RANDOM_BATCH; /* empty: the first ID refills it */
    upstream_raise_fd_limit(max_pending + UPSTREAM_FD_SPARE);
    return 0;
}

/* A fresh random 16-bit ID into *id. Reads UPSTREAM_RANDOM_BATCH bytes at a
 * time so that a query costs no system call for its ID. Returns 0, or -1 if
 * /dev/urandom could not be read. */
static int upstream_random_id(struct upstream *u, uint16_t *id)
{
    if (u->random_used + 2 > UPSTREAM_RANDOM_BATCH) {
        /* A read of 256 bytes or fewer from the urandom source returns them
         * all and is not interrupted by signals (see getrandom(2)), so a short
         * read means something is badly wrong: refuse rather than loop. */
        ssize_t n = read(u->random_fd, u->random, UPSTREAM_RANDOM_BATCH);
        if (n != (ssize_t)UPSTREAM_RANDOM_BATCH) {
            if (n >= 0)
                errno = EIO;
            return -1;
        }
        u->random_used = 0;
    }
    /* Each byte is used once: reusing any would make the next ID easier to
     * guess from the last. */
    *id = (uint16_t)(u->random[u->random_used] << 8 | u->random[u->random_used + 1]);
    u->random_used += 2;
    return 0;
}

/* Closes this try's socket, if it has one, and forgets its TCP state. */
static void query_close_socket(struct upstream *u, struct upstream_query *q)
{
    loop_timer_stop(u->loop, &q->tcp_retry);
    free(q->tcp_reply);
    q->tcp_reply = NULL;
    if (q->fd < 0)
        return;
    /* Unwatch before close: the number may be reused by the next socket. */
    loop_unwatch(u->loop, q->fd);
    close(q->fd);
    q->fd = -1;
}

/* Takes `q` off the in-flight list, stops everything it waits on, and keeps
 * or frees its memory. Its callback is not called here. */
static void query_release(struct upstream *u, struct upstream_query *q)
{
    assert(q->in_flight);
    query_close_socket(u, q);
    loop_timer_stop(u->loop, &q->timer);
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        u->in_flight = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    q->in_flight = false;
    q->done = NULL;
    q->ctx = NULL;
    u->pending--;
    if (u->n_free < UPSTREAM_FREE_MAX) {
        q->prev = NULL;
        q->next = u->free_list;
        u->free_list = q;
        u->n_free++;
    } else {
        free(q);
    }
}

/* Ends `q` with `result` and calls its callback. The query is released
 * first, so the callback may ask or cancel anything (even upstream_free())
 * without finding this one half-ended, and nothing touches it afterwards.
 * `reply` must not live in the query. */
static void query_finish(struct upstream *u, struct upstream_query *q, enum upstream_result result,
                         const uint8_t *reply, size_t len)
{
    upstream_done_fn *done = q->done;
    void *ctx = q->ctx;
    switch (result) {
    case UPSTREAM_REPLY:
        u->stats.replies++;
        break;
    case UPSTREAM_TIMEOUT:
        u->stats.timeouts++;
        break;
    case UPSTREAM_FAILED:
        u->stats.failed++;
        break;
    }
    query_release(u, q);
    done(ctx, result, reply, len);
}

/* Whether `sa` is the server's address and port. The connected socket
 * already drops anything else; this is defence in depth against a kernel or
 * a future change (say, one shared socket) that lets one through. */
static bool upstream_addr_equal(const struct net_addr *server, const struct sockaddr_storage *sa,
                                socklen_t len)
{
    if (sa->ss_family != server->ss.ss_family)
        return false;
    if (sa->ss_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
        const struct sockaddr_in *b = (const struct sockaddr_in *)&server->ss;
        return a->sin_port == b->sin_port &&
               memcmp(&a->sin_addr, &b->sin_addr, sizeof a->sin_addr) == 0;
    }
    if (sa->ss_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *)&server->ss;
        return a->sin6_port == b->sin6_port &&
               memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
    }
    return false;
}

/* Whether `len` bytes at `data` are a reply to this try: QR set, our ID, and
 * exactly our question (its name in any case: RFC 4343, and some servers
 * answer in the case they store). */
static bool query_reply_matches(const struct upstream_query *q, const uint8_t *data, size_t len)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &h);
    if (!buf_reader_ok(&r)) /* under 12 bytes */
        return false;
    if (!hdr_flag(&h, HDR_QR) || h.id != q->id || h.qdcount != 1)
        return false;
    struct msg_question got;
    if (msg_read_question(&r, &got) != NAME_OK)
        return false;
    return got.qtype == q->question.qtype && got.qclass == q->question.qclass &&
           name_equal(&got.qname, &q->question.qname);
}

/* Whether an acceptable reply has TC set: it did not fit, and what it holds
 * is not to be used (RFC 1035 4.2.1). */
static bool reply_truncated(const uint8_t *data, size_t len)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &h);
    return buf_reader_ok(&r) && hdr_flag(&h, HDR_TC);
}

/* Whether an acceptable reply to a try that carried our OPT says the server
 * does not take it: FORMERR or NOTIMP without an OPT, what a server that
 * predates EDNS answers (RFC 6891 7; one that knows EDNS puts an OPT in every
 * reply, 6.1.1, so its FORMERR is about something else), or BADVERS, though
 * we asked for version 0. */
static bool reply_refuses_edns(const struct upstream_query *q, const uint8_t *data, size_t len)
{
    if (!q->edns)
        return false;
    struct buf_reader r;
    struct hdr h;
    struct edns e;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &h);
    /* A reply whose OPT cannot be read is judged by its header's RCODE alone. */
    if (edns_parse_reply(data, len, &e) != DNS_RCODE_NOERROR)
        e.present = false;
    unsigned rcode = edns_rcode(&h, &e);
    if (rcode == EDNS_RCODE_BADVERS)
        return true;
    return !e.present && (rcode == DNS_RCODE_FORMERR || rcode == DNS_RCODE_NOTIMP);
}

/* Whether `server` failed EDNS less than UPSTREAM_NO_EDNS_MS ago. */
static bool upstream_no_edns_known(const struct upstream *u, const struct net_addr *server)
{
    uint64_t now = loop_now(u->loop);
    /* Bounded by UPSTREAM_NO_EDNS_MAX. */
    for (size_t i = 0; i < UPSTREAM_NO_EDNS_MAX; i++) {
        const struct upstream_no_edns *e = &u->no_edns[i];
        if (e->until > now && upstream_addr_equal(&e->server, &server->ss, server->len))
            return true;
    }
    return false;
}

/* Remembers that `server` failed EDNS, in its own entry if it has one, else
 * in the oldest: every entry lives as long, so that is the one that ends
 * first (empty ones, with `until` 0, before all). */
static void upstream_no_edns_remember(struct upstream *u, const struct net_addr *server)
{
    struct upstream_no_edns *slot = &u->no_edns[0];
    /* Bounded by UPSTREAM_NO_EDNS_MAX. */
    for (size_t i = 0; i < UPSTREAM_NO_EDNS_MAX; i++) {
        struct upstream_no_edns *e = &u->no_edns[i];
        if (e->until != 0 && upstream_addr_equal(&e->server, &server->ss, server->len)) {
            slot = e;
            break;
        }
        if (e->until < slot->until)
            slot = e;
    }
    slot->server = *server;
    slot->until = loop_now(u->loop) + UPSTREAM_NO_EDNS_MS;
}

static void query_readable(void *ctx, int fd);
static void query_tcp_readable(void *ctx, int fd);
static void query_timer(void *ctx);
static void query_tcp_retry(void *ctx);

/*
 * A new socket of `type` (SOCK_DGRAM or SOCK_STREAM) connect()ed to `server`:
 * at connect() the kernel binds it to a random ephemeral port, and from then
 * on drops datagrams from anyone but the server. Non-blocking and
 * close-on-exec (net_socket()). A TCP connection is usually still being
 * set up when this returns (EINPROGRESS): its outcome comes later, as a
 * socket that takes the query or one that reports an error. Returns the
 * descriptor, or -1 with errno set (e.g. EMFILE when every descriptor is in
 * use, ECONNREFUSED when a TCP refusal came at once).
 */
static int upstream_socket(const struct net_addr *server, int type)
{
    int fd = net_socket(server->ss.ss_family, type);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&server->ss, server->len) != 0 &&
        /* EINTR too: the connection is then set up in the background. */
        !(type == SOCK_STREAM && (errno == EINPROGRESS || errno == EINTR))) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Writes the query of this try (header with q->id, RD as asked, QDCOUNT 1,
 * then the question, its name uncompressed and in the caller's case, then
 * our OPT if q->edns) into `out`; returns its length. */
static size_t query_write(const struct upstream_query *q, uint8_t out[UPSTREAM_QUERY_MAX])
{
    struct hdr h = {.id = q->id, .qdcount = 1, .arcount = q->edns ? 1 : 0};
    hdr_set_flag(&h, HDR_RD, q->rd);
    struct buf_writer w;
    buf_writer_init(&w, out, UPSTREAM_QUERY_MAX);
    hdr_encode(&w, &h);
    msg_write_question(&w, &q->question);
    if (q->edns)
        edns_write_opt(&w, EDNS_PAYLOAD); /* DO clear: we check no signatures */
    /* UPSTREAM_QUERY_MAX is sized for the longest name, so it always fits. */
    assert(buf_writer_ok(&w));
    return w.pos;
}

/*
 * Sends one try: a new socket (so a new random port), a new random ID, the
 * query, then waits for the socket and the timeout. Returns 0, or -1 with
 * errno set and no socket left open.
 */
static int query_send_try(struct upstream *u, struct upstream_query *q)
{
    assert(q->fd < 0 && q->tries_left > 0);
    q->tries_left--;
    if (upstream_random_id(u, &q->id) != 0)
        return -1;
    q->fd = upstream_socket(&q->server, SOCK_DGRAM);
    if (q->fd < 0)
        return -1;

    uint8_t out[UPSTREAM_QUERY_MAX];
    size_t len = query_write(q, out);
    ssize_t n = send(q->fd, out, len, 0);
    if (n == (ssize_t)len) {
        u->stats.sent++;
        if (u->trace != NULL)
            u->trace("sent", (const struct sockaddr *)&q->server.ss, q->server.len, false, out,
                     len);
        if (loop_watch(u->loop, q->fd, query_readable, q) == 0 &&
            loop_timer_start(u->loop, &q->timer, u->timeout_ms, query_timer, q) == 0)
            return 0;
    } else if (n >= 0) {
        errno = EMSGSIZE; /* a datagram goes whole or not at all, but be sure */
    }
    int saved = errno;
    query_close_socket(u, q); /* unwatches too, in case loop_watch() succeeded */
    errno = saved;
    return -1;
}

/* Whether `q` may send one more message (upstream_budget()): if it may, the
 * message is counted. */
static bool query_spend(struct upstream_query *q)
{
    if (q->budget == NULL)
        return true;
    if (*q->budget >= q->budget_max)
        return false;
    (*q->budget)++;
    return true;
}

/* The current try is over without a reply (timed out, or refused, over UDP
 * or TCP): sends the next one, or ends the query with `result` when none is
 * left (or the caller's budget is spent). */
static void query_try_over(struct upstream *u, struct upstream_query *q,
                           enum upstream_result result)
{
    query_close_socket(u, q);
    loop_timer_stop(u->loop, &q->timer);
    if (q->tries_left == 0 || !query_spend(q)) {
        query_finish(u, q, result, NULL, 0);
        return;
    }
    if (query_send_try(u, q) != 0) {
        log_debug("upstream: cannot send a query: %s", strerror(errno));
        /* In a loop callback, not in upstream_ask(): the callback may run now. */
        query_finish(u, q, UPSTREAM_FAILED, NULL, 0);
    }
}

/* The server does not take our OPT (reply_refuses_edns()): remembers it, and
 * sends the same try again at once without the OPT, a new ID from a new port.
 * This does not use up a try: the server did answer. */
static void query_without_edns(struct upstream *u, struct upstream_query *q)
{
    u->stats.no_edns++;
    upstream_no_edns_remember(u, &q->server);
    q->edns = false;
    q->tries_left++; /* given back, for query_try_over() to take again */
    query_try_over(u, q, UPSTREAM_FAILED);
}

/*
 * Sends what is left of the TCP query: its length in 2 bytes, then the query.
 * A connection being set up becomes writable when it is up, not readable, and
 * the loop watches for readable only; so rather than wait to be told, this
 * tries, and while the kernel says "not yet" (EAGAIN; ENOTCONN on some
 * systems) tries again on a timer: after 1, 2, 4 and 8 ms, then every 16 ms,
 * until the query's timeout ends the try. On loopback the connection is
 * usually up at once and the first attempt goes; across a network it takes a
 * round trip, and the query may leave up to 16 ms later than it could have.
 * A refused or reset connection shows up here as send()'s error, or in
 * query_tcp_readable(), whichever looks first. Returns 0 (sent, or to be
 * tried again), or -1 with errno set when the connection failed.
 */
static int query_tcp_send(struct upstream *u, struct upstream_query *q)
{
    uint8_t out[UPSTREAM_TCP_LENGTH + UPSTREAM_QUERY_MAX];
    size_t len = query_write(q, out + UPSTREAM_TCP_LENGTH);
    struct buf_writer w;
    buf_writer_init(&w, out, UPSTREAM_TCP_LENGTH);
    buf_write_u16(&w, (uint16_t)len);
    len += UPSTREAM_TCP_LENGTH;
    /* Bounded: each pass sends at least one byte, or returns. */
    while (q->tcp_sent < len) {
        /* MSG_NOSIGNAL: a reset connection is an error to report, not a
         * SIGPIPE that ends the process. */
        ssize_t n = send(q->fd, out + q->tcp_sent, len - q->tcp_sent, MSG_NOSIGNAL);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN &&
                errno != EINTR)
                return -1;
            /* Not connected yet (or, with a few hundred bytes on a new
             * connection hardly ever, no room yet): again a little later. */
            unsigned wait = q->tcp_retry_ms;
            q->tcp_retry_ms =
                wait < UPSTREAM_TCP_RETRY_MAX_MS / 2 ? wait * 2 : UPSTREAM_TCP_RETRY_MAX_MS;
            return loop_timer_start(u->loop, &q->tcp_retry, wait, query_tcp_retry, q);
        }
        q->tcp_sent += (size_t)n;
    }
    u->stats.sent++;
    if (u->trace != NULL)
        u->trace("sent", (const struct sockaddr *)&q->server.ss, q->server.len, true,
                 out + UPSTREAM_TCP_LENGTH, len - UPSTREAM_TCP_LENGTH);
    return 0;
}

static void query_tcp_retry(void *ctx)
{
    struct upstream_query *q = ctx;
    struct upstream *u = q->u;
    if (query_tcp_send(u, q) != 0) {
        log_debug("upstream: TCP send: %s", strerror(errno));
        query_try_over(u, q, UPSTREAM_FAILED);
    }
}

/* Opens the TCP connection of this try, with a new ID, and starts sending
 * and waiting. Returns 0, or -1 with errno set (the caller ends the try). */
static int query_tcp_connect(struct upstream *u, struct upstream_query *q)
{
    q->tcp_sent = 0;
    q->tcp_got = 0;
    q->tcp_retry_ms = UPSTREAM_TCP_RETRY_MIN_MS;
    /* A new ID, as every query sent gets: an ID is never used twice. */
    if (upstream_random_id(u, &q->id) != 0)
        return -1;
    q->fd = upstream_socket(&q->server, SOCK_STREAM);
    if (q->fd < 0)
        return -1;
    /* Readable: the reply, or an error (refused, reset), or the end. */
    if (loop_watch(u->loop, q->fd, query_tcp_readable, q) != 0)
        return -1;
    /* A timeout of its own: the connection costs a round trip more. */
    if (loop_timer_start(u->loop, &q->timer, u->timeout_ms, query_timer, q) != 0)
        return -1;
    return query_tcp_send(u, q);
}

/* The reply of this try had TC set (RFC 1035 4.2.1: it did not fit): its
 * data is never used, and the try goes on over TCP (RFC 7766 5). */
static void query_tcp_start(struct upstream *u, struct upstream_query *q)
{
    u->stats.tcp++;
    query_close_socket(u, q); /* nothing more is wanted from the datagram's socket */
    loop_timer_stop(u->loop, &q->timer);
    if (!query_spend(q)) { /* the caller's budget is spent: as if no answer came */
        query_try_over(u, q, UPSTREAM_FAILED);
        return;
    }
    if (query_tcp_connect(u, q) != 0) {
        log_debug("upstream: cannot ask over TCP: %s", strerror(errno));
        query_try_over(u, q, UPSTREAM_FAILED); /* closes and unwatches what was opened */
    }
}

/* The whole TCP reply is in q->tcp_reply: delivers it if it is ours. */
static void query_tcp_reply(struct upstream *u, struct upstream_query *q)
{
    if (!query_reply_matches(q, q->tcp_reply, q->tcp_reply_len)) {
        /* Nobody off the path can slip a message into a TCP connection
         * without guessing its sequence numbers, so this is what the server
         * sent: a broken server, and nothing better will come on this
         * connection. The try is over. */
        log_debug("upstream: TCP reply does not match the query");
        u->stats.forged++;
        query_try_over(u, q, UPSTREAM_FAILED);
        return;
    }
    if (reply_refuses_edns(q, q->tcp_reply, q->tcp_reply_len)) {
        query_without_edns(u, q); /* over UDP again, as every try starts */
        return;
    }
    /* Taken out of the query: query_finish() releases it (which would free
     * the buffer) before the callback runs. Freed once the callback is done. */
    uint8_t *reply = q->tcp_reply;
    size_t len = q->tcp_reply_len;
    q->tcp_reply = NULL;
    query_finish(u, q, UPSTREAM_REPLY, reply, len);
    free(reply);
}

/* Reads the TCP reply as it comes, in pieces of any size: first its 2-byte
 * length, then that many bytes into a buffer of the query's own. */
static void query_tcp_readable(void *ctx, int fd)
{
    struct upstream_query *q = ctx;
    struct upstream *u = q->u;

    /* Bounded by UPSTREAM_READS_PER_WAKE: a server that sends its reply a
     * byte at a time must not hold the loop either. */
    for (unsigned i = 0; i < UPSTREAM_READS_PER_WAKE; i++) {
        uint8_t *to;
        size_t want;
        if (q->tcp_got < UPSTREAM_TCP_LENGTH) {
            to = q->tcp_length + q->tcp_got;
            want = UPSTREAM_TCP_LENGTH - q->tcp_got;
        } else {
            size_t have = q->tcp_got - UPSTREAM_TCP_LENGTH;
            to = q->tcp_reply + have;
            want = q->tcp_reply_len - have;
        }
        ssize_t n = recv(fd, to, want, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return; /* nothing more for now (or not even connected yet) */
            if (errno == EINTR)
                continue;
            /* ECONNREFUSED: nothing listens on the server's TCP port;
             * ECONNRESET: the server dropped the connection. */
            log_debug("upstream: TCP recv: %s", strerror(errno));
            query_try_over(u, q, UPSTREAM_FAILED);
            return;
        }
        if (n == 0) {
            log_debug("upstream: TCP connection closed before the whole reply");
            query_try_over(u, q, UPSTREAM_FAILED);
            return;
        }
        q->tcp_got += (size_t)n;
        if (q->tcp_got == UPSTREAM_TCP_LENGTH) {
            struct buf_reader r;
            buf_reader_init(&r, q->tcp_length, sizeof q->tcp_length);
            q->tcp_reply_len = buf_read_u16(&r);
            if (q->tcp_reply_len < DNS_HEADER_SIZE) {
                /* Too short to be any reply, let alone ours (and a 0 here
                 * would leave nothing to read). */
                log_debug("upstream: TCP reply of %zu bytes", q->tcp_reply_len);
                u->stats.forged++;
                query_try_over(u, q, UPSTREAM_FAILED);
                return;
            }
            /* Only as big as this reply: a 64 KiB buffer in every query
             * would cost 256 MiB at UPSTREAM_PENDING_DEFAULT. */
            q->tcp_reply = malloc(q->tcp_reply_len);
            if (q->tcp_reply == NULL) {
                log_debug("upstream: no memory for a TCP reply of %zu bytes", q->tcp_reply_len);
                query_try_over(u, q, UPSTREAM_FAILED);
                return;
            }
        } else if (q->tcp_got == UPSTREAM_TCP_LENGTH + q->tcp_reply_len) {
            if (u->trace != NULL)
                u->trace("received", (const struct sockaddr *)&q->server.ss, q->server.len, true,
                         q->tcp_reply, q->tcp_reply_len);
            query_tcp_reply(u, q);
            return;
        }
    }
}

static void query_timer(void *ctx)
{
    struct upstream_query *q = ctx;
    struct upstream *u = q->u;
    if (q->failed)
        query_finish(u, q, UPSTREAM_FAILED, NULL, 0);
    else
        query_try_over(u, q, UPSTREAM_TIMEOUT);
}

static void query_readable(void *ctx, int fd)
{
    struct upstream_query *q = ctx;
    struct upstream *u = q->u;
    /* Any datagram up to the largest one a socket can deliver, so a long
     * reply is never cut short and mistaken for a whole one. */
    uint8_t data[DNS_RECV_BUFFER];

    /* Bounded by UPSTREAM_READS_PER_WAKE: see there. */
    for (unsigned i = 0; i < UPSTREAM_READS_PER_WAKE; i++) {
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = recvfrom(fd, data, sizeof data, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return; /* nothing more for now */
            if (errno == EINTR)
                continue;
            /* On a connected UDP socket the kernel reports the server's ICMP
             * errors here: ECONNREFUSED is "port unreachable" (nothing
             * listens there), others are "host or network unreachable".
             * This try will get no reply; the next may, if there is one. */
            log_debug("upstream: recv: %s", strerror(errno));
            query_try_over(u, q, UPSTREAM_FAILED);
            return;
        }
        if (u->trace != NULL)
            u->trace("received", (const struct sockaddr *)&from, from_len, false, data, (size_t)n);
        if (!upstream_addr_equal(&q->server, &from, from_len) ||
            !query_reply_matches(q, data, (size_t)n)) {
            u->stats.forged++;
            continue;
        }
        if (reply_truncated(data, (size_t)n)) {
            query_tcp_start(u, q); /* closes this socket: read no more of it */
            return;
        }
        if (reply_refuses_edns(q, data, (size_t)n)) {
            query_without_edns(u, q); /* closes this socket too */
            return;
        }
        /* `data` is on this stack, not in the query, so it outlives the
         * query's release inside query_finish(). */
        query_finish(u, q, UPSTREAM_REPLY, data, (size_t)n);
        return;
    }
}

struct upstream_query *upstream_ask(struct upstream *u, const struct net_addr *server,
                                    const struct msg_question *question, bool rd,
                                    upstream_done_fn *done, void *ctx)
{
    if (u->pending >= u->max_pending) {
        u->stats.refused++;
        return NULL;
    }
    struct upstream_query *q = u->free_list;
    if (q != NULL) {
        u->free_list = q->next;
        u->n_free--;
    } else {
        q = malloc(sizeof(*q));
        if (q == NULL) {
            u->stats.refused++;
            return NULL;
        }
    }
    memset(q, 0, sizeof(*q));
    q->u = u;
    q->question = *question;
    q->rd = rd;
    q->edns = !upstream_no_edns_known(u, server);
    q->server = *server;
    q->done = done;
    q->ctx = ctx;
    q->tries_left = u->tries;
    q->fd = -1;
    loop_timer_init(&q->timer);
    loop_timer_init(&q->tcp_retry);
    q->in_flight = true;
    q->next = u->in_flight;
    if (u->in_flight != NULL)
        u->in_flight->prev = q;
    u->in_flight = q;
    u->pending++;

    if (query_send_try(u, q) != 0) {
        log_debug("upstream: cannot send a query: %s", strerror(errno));
        /* The caller is still inside upstream_ask() and may not expect its
         * callback yet (it has not even stored the query): report from the
         * loop, at its next wake-up. */
        q->failed = true;
        if (loop_timer_start(u->loop, &q->timer, 0, query_timer, q) != 0) {
            /* Not even a timer: the query cannot start at all. */
            query_release(u, q);
            u->stats.refused++;
            return NULL;
        }
    }
    return q;
}

void upstream_budget(struct upstream_query *q, unsigned *used, unsigned max)
{
    q->budget = used;
    q->budget_max = max;
}

void upstream_cancel(struct upstream *u, struct upstream_query *q)
{
    query_release(u, q);
}

void upstream_free(struct upstream *u)
{
    /* Each pass takes one query off the in-flight list. */
    while (u->in_flight != NULL)
        query_release(u, u->in_flight);
    /* Each pass frees one query of the free list. */
    while (u->free_list != NULL) {
        struct upstream_query *q = u->free_list;
        u->free_list = q->next;
        free(q);
    }
    u->n_free = 0;
    if (u->random_fd >= 0)
        close(u->random_fd);
    u->random_fd = -1;
}
