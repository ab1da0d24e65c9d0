/* upstream: asking another DNS server over UDP — random ID and port, matching, timeout, retry. */
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
#include "hdr.h"
#include "log.h"

enum {
    /* Datagrams read from one query's socket per wake-up. An attacker who
     * floods the port with forgeries must not keep the loop reading that one
     * socket while every other client waits; poll() reports the socket again
     * at the next wake-up, so nothing is lost by stopping. A real server
     * sends one reply per try, so a handful is plenty. */
    UPSTREAM_READS_PER_WAKE = 8,
    /* Ended queries kept for reuse. Reuse saves a malloc() and free() per
     * query at a steady rate; beyond this, the memory of a burst is given
     * back rather than held forever for a burst that may never come again. */
    UPSTREAM_FREE_MAX = 64,
    /* Descriptors the rest of the process needs besides one socket per query
     * in flight: stdio, the server's own socket, /dev/urandom, logs. */
    UPSTREAM_FD_SPARE = 64,
    /* The largest query we send: the header and one question, its name
     * uncompressed. */
    UPSTREAM_QUERY_MAX = DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED,
};

struct upstream_query {
    struct upstream *u;
    /* On u->in_flight while in flight (both links); on u->free_list once
     * ended (next only). */
    struct upstream_query *prev, *next;
    struct msg_question question; /* a copy: the caller's may not outlive the call */
    bool rd;
    struct net_addr server;
    upstream_done_fn *done;
    void *ctx;
    unsigned tries_left; /* tries not yet sent */
    int fd;              /* this try's socket, or -1 between tries */
    uint16_t id;         /* this try's ID */
    /* A try that could not even be sent: the timer is then a 0 ms one that
     * reports UPSTREAM_FAILED from the loop, never from upstream_ask(). */
    bool failed;
    bool in_flight; /* catches upstream_cancel() of an ended query (a programmer error) */
    struct loop_timer timer;
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

/* Closes this try's socket, if it has one. */
static void query_close_socket(struct upstream *u, struct upstream_query *q)
{
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

static void query_readable(void *ctx, int fd);
static void query_timer(void *ctx);

/*
 * A new socket connect()ed to `server`: at connect() the kernel binds it to a
 * random ephemeral port, and from then on drops datagrams from anyone but the
 * server. Non-blocking and close-on-exec (net_socket()). Returns the
 * descriptor, or -1 with errno set (e.g. EMFILE when every descriptor is in
 * use).
 */
static int upstream_socket(const struct net_addr *server)
{
    int fd = net_socket(server->ss.ss_family, SOCK_DGRAM);
    if (fd < 0)
        return -1;
    if (connect(fd, (const struct sockaddr *)&server->ss, server->len) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/* Writes the query of this try (header with q->id, RD as asked, QDCOUNT 1,
 * then the question, its name uncompressed and in the caller's case) into
 * `out`; returns its length. */
static size_t query_write(const struct upstream_query *q, uint8_t out[UPSTREAM_QUERY_MAX])
{
    struct hdr h = {.id = q->id, .qdcount = 1};
    hdr_set_flag(&h, HDR_RD, q->rd);
    struct buf_writer w;
    buf_writer_init(&w, out, UPSTREAM_QUERY_MAX);
    hdr_encode(&w, &h);
    msg_write_question(&w, &q->question);
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
    q->fd = upstream_socket(&q->server);
    if (q->fd < 0)
        return -1;

    uint8_t out[UPSTREAM_QUERY_MAX];
    size_t len = query_write(q, out);
    ssize_t n = send(q->fd, out, len, 0);
    if (n == (ssize_t)len) {
        u->stats.sent++;
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

/* The current try is over without a reply (timed out, or refused): sends the
 * next one, or ends the query with `result` when none is left. */
static void query_try_over(struct upstream *u, struct upstream_query *q,
                           enum upstream_result result)
{
    query_close_socket(u, q);
    loop_timer_stop(u->loop, &q->timer);
    if (q->tries_left == 0) {
        query_finish(u, q, result, NULL, 0);
        return;
    }
    if (query_send_try(u, q) != 0) {
        log_debug("upstream: cannot send a query: %s", strerror(errno));
        /* In a loop callback, not in upstream_ask(): the callback may run now. */
        query_finish(u, q, UPSTREAM_FAILED, NULL, 0);
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
        if (!upstream_addr_equal(&q->server, &from, from_len) ||
            !query_reply_matches(q, data, (size_t)n)) {
            u->stats.forged++;
            continue;
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
    q->server = *server;
    q->done = done;
    q->ctx = ctx;
    q->tries_left = u->tries;
    q->fd = -1;
    loop_timer_init(&q->timer);
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
