/* server: what every step's main() shares — options, socket, signals, trace — in an event loop,
 * with step 5's batches (recvmmsg/sendmmsg on Linux) and --workers. */
#define _GNU_SOURCE /* recvmmsg(), sendmmsg(), struct mmsghdr: Linux, not POSIX */
#include "server.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "signals.h"
#include "tcp.h"
#include "trace.h"
#include "workers.h"

enum {
    /* Kernel receive buffer asked for, so a burst of queries waits in the
     * kernel instead of being dropped while we answer (the kernel may cap it
     * at net.core.rmem_max). */
    SERVER_SOCKET_BUFFER = 4 * 1024 * 1024,
    /* The most client datagrams answered per wake-up of the loop. Under a
     * flood the client socket is always readable: without a bound, replies
     * from upstream servers, timers and signals would wait for the flood to
     * end. 64 datagrams cost well under a millisecond. */
    SERVER_BATCH = 64,
    /* Datagrams one recvmmsg() reads at most: step 5's figure. */
    SERVER_MMSG = 32,
    /* Connections the kernel holds for us until accept() (listen()'s backlog). */
    SERVER_TCP_BACKLOG = 128,
    /* --tcp-max and --tcp-timeout. 256 connections idle for 10 s are cheap
     * (a few KiB each); RFC 7766 6.2.3 asks for timeouts of seconds, not
     * minutes, so that idle clients do not hold a busy server's slots. */
    SERVER_TCP_MAX_DEFAULT = 256,
    SERVER_TCP_MAX_MAX = 65535,
    SERVER_TCP_TIMEOUT_DEFAULT_MS = 10000,
    SERVER_TCP_TIMEOUT_MAX_MS = 3600 * 1000,
    /* After accept() fails for want of descriptors (EMFILE), how long the
     * listener rests: the waiting connection keeps it readable, and trying
     * again at once would spin. */
    SERVER_ACCEPT_PAUSE_MS = 100,
};

/*
 * The self-pipe's read end (signals_pipe_open). poll() cannot unblock
 * signals atomically as pselect() did, so the handler wakes the loop the
 * other way: it writes a byte to the pipe, whose read end the loop watches
 * like any socket. A signal that comes just before poll() leaves the byte in
 * the pipe, and poll() returns at once: no wake-up is lost.
 */
static int server_wake_fd = -1;

/* The event loop: client datagrams, the step's sockets and timers, signals. */
static struct loop server_event_loop;

struct loop *server_loop(void)
{
    return &server_event_loop;
}

/*
 * Installs the handlers (signals.c) and opens the self-pipe they write to,
 * then lets the signals in for good: a handler only sets a flag and writes
 * to the pipe, so it may run anywhere in the loop. `wait_mask` gets the mask
 * that lets them in, for the parent of --workers to sleep with.
 */
static int server_signals(sigset_t *wait_mask)
{
    if (signals_install(wait_mask) != 0)
        return -1;
    server_wake_fd = signals_pipe_open();
    if (server_wake_fd < 0)
        return -1;
    return sigprocmask(SIG_SETMASK, wait_mask, NULL);
}

/* --trace is on, and stdout still takes what it writes. */
static bool server_tracing;

/*
 * Called after each write of the trace. When stdout's reader has gone away
 * (`build/step-3 --trace | head -1`: EPIPE, since SIGPIPE is ignored) or the
 * disk is full, says so once on stderr and stops tracing; answering goes on.
 * Line buffering (server_main) makes a failed write show here at once.
 */
static void server_trace_check(void)
{
    if (fflush(stdout) == 0 && !ferror(stdout))
        return;
    log_warn("--trace: cannot write to stdout (%s): tracing stops, answering goes on",
             strerror(errno));
    server_tracing = false;
}

/* TCP connections ------------------------------------------------------------ */

/*
 * Clients may also ask over TCP (RFC 7766: every server must take TCP), on
 * the same address and port, in the same loop. tcp.c keeps each connection's
 * bytes; here they meet the sockets. A connection is watched for reading
 * while it may send more queries (tcp_may_read()) and for writing while
 * replies wait for room in the kernel: everything is non-blocking, so a slow
 * or stalled client costs its own memory (bounded in tcp.h) and nothing else.
 */
static struct tcp_table server_tcp;
static int server_tcp_listener = -1;
static unsigned long server_tcp_max = SERVER_TCP_MAX_DEFAULT;
static unsigned long server_tcp_timeout_ms = SERVER_TCP_TIMEOUT_DEFAULT_MS;
/* The step, for the callbacks of connections and timers to hand queries to. */
static const struct server_step *server_tcp_step;
/* Due at the earliest time a connection may have been idle too long. */
static struct loop_timer server_tcp_idle_timer;
/* Set for 0 ms when whole queries wait in a connection's input that no
 * socket event will bring up (see server_tcp_answer()). */
static struct loop_timer server_tcp_more_timer;
/* Watches the listener again after an EMFILE pause. */
static struct loop_timer server_tcp_accept_timer;
static bool server_accept_paused; /* accept() failed last time: it was logged */

static struct {
    unsigned long long accepted, closed_idle, closed_for_new, refused, queries;
} server_tcp_stats;

static void server_on_tcp_readable(void *ctx, int fd);
static void server_on_tcp_writable(void *ctx, int fd);
static void server_on_tcp_idle_timer(void *ctx);
static void server_on_tcp_more_timer(void *ctx);

/* Closes `c`: its socket, its slot, what it had still to send. Replies to its
 * queries still in flight will find it gone (tcp_find()) and be dropped. */
static void server_tcp_close(struct tcp_conn *c, const char *why)
{
    if (log_threshold >= LOG_DEBUG) {
        char peer_text[NET_ADDR_TEXT_MAX];
        net_sockaddr_text((const struct sockaddr *)&c->peer, c->peer_len, peer_text,
                          sizeof peer_text);
        log_debug("TCP connection from %s closed: %s", peer_text, why);
    }
    loop_unwatch(&server_event_loop, c->fd);
    close(c->fd);
    tcp_close(&server_tcp, c);
}

/* Makes sure the idle timer fires no later than loop time `due`. */
static void server_tcp_idle_at(uint64_t due)
{
    struct loop *l = &server_event_loop;
    if (due == UINT64_MAX)
        return; /* never: a query in flight, its reply will call again */
    if (loop_timer_running(&server_tcp_idle_timer) && server_tcp_idle_timer.due <= due)
        return;
    uint64_t now = loop_now(l);
    if (loop_timer_start(l, &server_tcp_idle_timer, due > now ? due - now : 0,
                         server_on_tcp_idle_timer, NULL) != 0)
        log_warn("cannot start the TCP idle timer: %s", strerror(errno));
}

/* Watches (or stops watching) `c`'s socket for `events`, as *state says it
 * is now. Returns 0, or -1 if memory ran out. */
static int server_tcp_interest(struct tcp_conn *c, bool want, bool *state, bool write)
{
    if (want == *state)
        return 0;
    struct loop *l = &server_event_loop;
    int status = 0;
    if (want)
        status = write ? loop_watch_write(l, c->fd, server_on_tcp_writable, c)
                       : loop_watch(l, c->fd, server_on_tcp_readable, c);
    else if (write)
        loop_unwatch_write(l, c->fd);
    else
        loop_unwatch_read(l, c->fd);
    if (status == 0)
        *state = want;
    return status;
}

/*
 * After anything that changed `c`: sends what the kernel takes of its
 * replies (one send(), the rest when it is writable), then watches it for
 * what it waits for now. Returns false if it closed `c` (the client reset the
 * connection, or memory ran out).
 */
static bool server_tcp_settle(struct tcp_conn *c)
{
    size_t len;
    const uint8_t *pending = tcp_out_pending(c, &len);
    if (len > 0) {
        /* MSG_NOSIGNAL: a reset connection is EPIPE here, not a SIGPIPE
         * (ignored anyway, but the flag keeps this correct on its own). */
        ssize_t n = send(c->fd, pending, len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            server_tcp_close(c, strerror(errno));
            return false;
        }
        if (n > 0)
            tcp_out_sent(c, (size_t)n, loop_now(&server_event_loop));
        tcp_out_pending(c, &len);
    }
    if (server_tcp_interest(c, tcp_may_read(c), &c->reading, false) != 0 ||
        server_tcp_interest(c, len > 0, &c->writing, true) != 0) {
        server_tcp_close(c, "out of memory");
        return false;
    }
    /* Whole queries already read raise no socket event: a timer hands them
     * out on the next wake-up. */
    if (tcp_in_ready(c) && tcp_may_read(c) && !loop_timer_running(&server_tcp_more_timer) &&
        loop_timer_start(&server_event_loop, &server_tcp_more_timer, 0, server_on_tcp_more_timer,
                         NULL) != 0)
        log_warn("cannot start a timer: %s", strerror(errno));
    server_tcp_idle_at(tcp_due(c, server_tcp_timeout_ms));
    return true;
}

/* The connection of a TCP request, or NULL if it has closed since. */
static struct tcp_conn *server_tcp_conn(const struct server_request *req)
{
    return tcp_find(&server_tcp, req->conn, req->serial);
}

/* The client of `req` as the trace and the log name it: "127.0.0.1:40000",
 * and " over TCP" after it for a connection. */
enum { SERVER_PEER_TEXT_MAX = NET_ADDR_TEXT_MAX + sizeof " over TCP" };
static const char *server_peer_text(const struct server_request *req, char *out)
{
    net_sockaddr_text((const struct sockaddr *)&req->peer, req->peer_len, out, NET_ADDR_TEXT_MAX);
    if (server_request_tcp(req))
        strcat(out, " over TCP"); /* room for it is in SERVER_PEER_TEXT_MAX */
    return out;
}

/*
 * Traces and sends one reply to `req`'s client: a datagram, or over TCP
 * queued behind its length on the connection (server_tcp_settle() sends it),
 * if that connection is still the request's.
 */
static void server_send(const struct server_request *req, const uint8_t *reply, size_t len)
{
    char peer_text[SERVER_PEER_TEXT_MAX];
    const struct sockaddr *peer = (const struct sockaddr *)&req->peer;
    bool named = server_tracing || log_threshold >= LOG_DEBUG;
    if (named)
        server_peer_text(req, peer_text);
    struct tcp_conn *c = NULL; /* over TCP: the connection it goes out on */
    if (server_request_tcp(req)) {
        c = server_tcp_conn(req);
        if (c == NULL) {
            if (named)
                log_debug("no reply to %s: the connection has closed", peer_text);
            return;
        }
        if (len > DNS_MESSAGE_MAX) { /* the length prefix has 16 bits */
            log_warn("a reply of %zu bytes cannot go over TCP: dropped", len);
            return;
        }
    }
    if (server_tracing) {
        trace_datagram(stdout, "sent", peer_text, reply, len);
        server_trace_check();
    }
    if (c != NULL) {
        if (tcp_out_push(c, reply, len) != 0)
            server_tcp_close(c, "out of memory");
        return;
    }
    if (sendto(req->fd, reply, len, 0, peer, req->peer_len) < 0 && named)
        log_debug("sendto %s: %s", peer_text, strerror(errno));
}

/* Traces one datagram reply to `req`'s client, as it goes. */
static void server_trace_sent(const struct server_request *req, const uint8_t *reply, size_t len)
{
    if (!server_tracing)
        return;
    char peer_text[SERVER_PEER_TEXT_MAX];
    trace_datagram(stdout, "sent", server_peer_text(req, peer_text), reply, len);
    server_trace_check();
}

void server_trace(const char *direction, const struct sockaddr *peer, socklen_t peer_len, bool tcp,
                  const uint8_t *msg, size_t len)
{
    if (!server_tracing)
        return;
    char peer_text[NET_ADDR_TEXT_MAX + sizeof " over TCP"];
    net_sockaddr_text(peer, peer_len, peer_text, NET_ADDR_TEXT_MAX);
    if (tcp)
        strcat(peer_text, " over TCP"); /* room for it is in the size above */
    trace_datagram(stdout, direction, peer_text, msg, len);
    server_trace_check();
}

void server_trace_note(const char *text)
{
    if (!server_tracing)
        return;
    printf("--- %s\n\n", text);
    server_trace_check();
}

struct server_request *server_defer(const struct server_request *req)
{
    struct server_request *kept = malloc(sizeof *kept);
    if (kept == NULL)
        return NULL;
    *kept = *req;
    /* Counted here, where the request starts to wait, so a reply that comes
     * even before the handler returns finds it counted. */
    struct tcp_conn *c = server_tcp_conn(req);
    if (c != NULL)
        c->in_flight++;
    return kept;
}

/* A deferred TCP request is over: one query fewer in flight on its
 * connection, which may then read again, and has a reply to send. */
static void server_tcp_done(const struct server_request *req)
{
    struct tcp_conn *c = server_tcp_conn(req);
    if (c == NULL)
        return;
    if (c->in_flight > 0) /* counted by server_defer() */
        c->in_flight--;
    /* No queries are handed out from here (that waits for a timer): the
     * caller is deep in the step's own code, which must not find itself
     * called again. */
    server_tcp_settle(c);
}

void server_reply(struct server_request *req, const uint8_t *reply, size_t len)
{
    server_send(req, reply, len);
    if (server_request_tcp(req))
        server_tcp_done(req);
    free(req);
}

void server_drop(struct server_request *req)
{
    if (server_request_tcp(req))
        server_tcp_done(req);
    free(req);
}

/* Answers one query (a datagram, or a message over TCP): trace, hand it to
 * the step. Returns the length of the reply to send now, or SERVER_NO_REPLY
 * (dropped, or deferred: answered later). */
static size_t server_answer(const struct server_step *step, const struct server_request *req,
                            const uint8_t *in, size_t len, uint8_t *out, size_t out_cap)
{
    char peer_text[SERVER_PEER_TEXT_MAX];
    bool named = false;
    if (server_tracing || log_threshold >= LOG_DEBUG) {
        server_peer_text(req, peer_text);
        named = true;
    }
    if (server_tracing) {
        trace_datagram(stdout, "received", peer_text, in, len);
        server_trace_check();
    }
    if (log_threshold >= LOG_DEBUG) {
        char summary[256];
        log_debug("from %s: %s", peer_text, trace_summary(in, len, summary, sizeof summary));
    }

    size_t reply_len = step->handle(step->ctx, req, in, len, out, out_cap);
    if (reply_len == SERVER_DEFERRED) {
        if (server_tracing) {
            printf("--- %s will be answered later\n\n", peer_text);
            server_trace_check();
        }
        return SERVER_NO_REPLY;
    }
    if (reply_len == SERVER_NO_REPLY || reply_len > out_cap) {
        if (server_tracing) {
            printf("--- no reply to %s: the step dropped this %s\n\n", peer_text,
                   server_request_tcp(req) ? "message" : "datagram");
            server_trace_check();
        }
        if (named)
            log_debug("no reply to %s", peer_text);
        return SERVER_NO_REPLY;
    }
    return reply_len;
}

/* Answers one query, and sends what the step returns now. */
static void server_dispatch(const struct server_step *step, const struct server_request *req,
                            const uint8_t *in, size_t len, uint8_t *out, size_t out_cap)
{
    size_t reply_len = server_answer(step, req, in, len, out, out_cap);
    if (reply_len != SERVER_NO_REPLY)
        server_send(req, out, reply_len);
}

/* A query and its reply, over UDP or TCP. Static: 2 x 64 KiB is too much for
 * some stacks, and there is one loop, whose callbacks never nest. */
static uint8_t server_in[DNS_RECV_BUFFER], server_out[DNS_RECV_BUFFER];

#ifdef __linux__
/*
 * Sends replies[0..n) with as few sendmmsg() calls as the kernel allows. A
 * reply the kernel refuses (a full send buffer: the socket is non-blocking)
 * is dropped, as sendto() would drop it, and the rest still go.
 */
static void server_send_all(int fd, struct mmsghdr *replies, unsigned n)
{
    /* Each pass sends at least one reply or drops one: at most n passes. */
    for (unsigned done = 0; done < n;) {
        int sent = sendmmsg(fd, replies + done, n - done, 0);
        if (sent <= 0) {
            if (log_threshold >= LOG_DEBUG) {
                char peer_text[NET_ADDR_TEXT_MAX];
                const struct msghdr *h = &replies[done].msg_hdr;
                log_debug(
                    "sendmmsg to %s: %s",
                    net_sockaddr_text(h->msg_name, h->msg_namelen, peer_text, sizeof peer_text),
                    sent < 0 ? strerror(errno) : "nothing sent");
            }
            done++;
        } else {
            done += (unsigned)sent;
        }
    }
}

/*
 * The client socket is readable: answers at most SERVER_BATCH queued
 * datagrams, SERVER_MMSG per recvmmsg(), then lets the loop see to
 * everything else. The replies the step gives at once go out together in
 * one sendmmsg(); deferred ones go later, each with server_reply().
 */
static void server_on_client(void *ctx, int fd)
{
    const struct server_step *step = ctx;
    /* Static: far too much for a stack, and there is one loop, whose
     * callbacks never nest. */
    static uint8_t in[SERVER_MMSG][DNS_RECV_BUFFER], out[SERVER_MMSG][DNS_RECV_BUFFER];
    static struct server_request reqs[SERVER_MMSG];
    static struct iovec in_iov[SERVER_MMSG], out_iov[SERVER_MMSG];
    static struct mmsghdr queries[SERVER_MMSG], replies[SERVER_MMSG];

    /* SERVER_BATCH datagrams at most, so that the loop's other work waits little. */
    for (int round = 0; round < SERVER_BATCH / SERVER_MMSG; round++) {
        for (int i = 0; i < SERVER_MMSG; i++) {
            reqs[i] = (struct server_request){.fd = fd};
            in_iov[i] = (struct iovec){.iov_base = in[i], .iov_len = sizeof in[i]};
            queries[i].msg_hdr = (struct msghdr){
                .msg_name = &reqs[i].peer,
                .msg_namelen = sizeof reqs[i].peer,
                .msg_iov = &in_iov[i],
                .msg_iovlen = 1,
            };
        }
        /* The socket is non-blocking: an empty queue is EAGAIN, and a queue
         * that empties part-way ends the read with what it had. */
        int n = recvmmsg(fd, queries, SERVER_MMSG, 0, NULL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("recvmmsg: %s", strerror(errno));
            return;
        }
        unsigned n_replies = 0;
        for (int i = 0; i < n; i++) {
            reqs[i].peer_len = queries[i].msg_hdr.msg_namelen;
            size_t len = server_answer(step, &reqs[i], in[i], queries[i].msg_len, out[n_replies],
                                       sizeof out[n_replies]);
            if (len == SERVER_NO_REPLY)
                continue;
            server_trace_sent(&reqs[i], out[n_replies], len);
            out_iov[n_replies] = (struct iovec){.iov_base = out[n_replies], .iov_len = len};
            replies[n_replies].msg_hdr = (struct msghdr){
                .msg_name = &reqs[i].peer,
                .msg_namelen = reqs[i].peer_len,
                .msg_iov = &out_iov[n_replies],
                .msg_iovlen = 1,
            };
            n_replies++;
        }
        server_send_all(fd, replies, n_replies);
        if (n < SERVER_MMSG)
            return;
    }
}
#else
/* The client socket is readable: answers at most SERVER_BATCH queued
 * datagrams, then lets the loop see to everything else. */
static void server_on_client(void *ctx, int fd)
{
    const struct server_step *step = ctx;

    for (int i = 0; i < SERVER_BATCH; i++) {
        struct server_request req = {.fd = fd};
        req.peer_len = sizeof req.peer;
        /* The socket is non-blocking: an empty queue is EAGAIN, not a wait. */
        ssize_t n = recvfrom(fd, server_in, sizeof server_in, 0, (struct sockaddr *)&req.peer,
                             &req.peer_len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("recvfrom: %s", strerror(errno));
            return;
        }
        server_dispatch(step, &req, server_in, (size_t)n, server_out, sizeof server_out);
    }
}
#endif

/*
 * Hands the whole queries in `c`'s input to the step, as many as it may take
 * (tcp_may_read(): in flight and backlog bounds) and at most SERVER_BATCH, so
 * that a client pipelining hundreds of queries does not hold up the others;
 * server_tcp_settle() leaves the rest to the 0 ms timer. Returns false if `c`
 * was closed meanwhile.
 */
static bool server_tcp_answer(struct tcp_conn *c)
{
    uint32_t id = tcp_id(&server_tcp, c);
    uint64_t serial = c->serial;
    for (int i = 0; i < SERVER_BATCH && tcp_may_read(c); i++) {
        const uint8_t *msg;
        size_t len;
        if (!tcp_in_next(c, loop_now(&server_event_loop), &msg, &len))
            break;
        /* Copied out of the connection's buffer, which the step's code could
         * free by closing the connection while it still reads the query. */
        memcpy(server_in, msg, len);
        struct server_request req = {.fd = c->fd, .conn = id, .serial = serial};
        memcpy(&req.peer, &c->peer, c->peer_len);
        req.peer_len = c->peer_len;
        server_tcp_stats.queries++;
        server_dispatch(server_tcp_step, &req, server_in, len, server_out, sizeof server_out);
        if (tcp_find(&server_tcp, id, serial) != c)
            return false;
    }
    return true;
}

/* A connection is readable: whole queries it sent before come first, then
 * one read, and the queries it completes. */
static void server_on_tcp_readable(void *ctx, int fd)
{
    struct tcp_conn *c = ctx;
    if (!server_tcp_answer(c))
        return;
    if (tcp_in_ready(c) || !tcp_may_read(c)) {
        /* Those left are handed out first: reading more would only add to
         * what this connection already has waiting. */
        server_tcp_settle(c);
        return;
    }
    size_t room;
    uint8_t *at = tcp_in_room(c, &room);
    if (at == NULL) {
        server_tcp_close(c, "out of memory");
        return;
    }
    ssize_t n = recv(fd, at, room, 0);
    if (n == 0) {
        /* The client has closed (or at least half-closed) its side; the
         * replies it would not read are dropped with the connection. */
        server_tcp_close(c, "closed by the client");
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return; /* nothing after all: the loop calls again when there is */
        server_tcp_close(c, strerror(errno)); /* ECONNRESET and the like */
        return;
    }
    tcp_in_got(c, (size_t)n);
    if (server_tcp_answer(c))
        server_tcp_settle(c);
}

/* A connection can take more of its replies. */
static void server_on_tcp_writable(void *ctx, int fd)
{
    (void)fd;
    server_tcp_settle(ctx);
}

/* Some connections have whole queries waiting in their input: hands them out. */
static void server_on_tcp_more_timer(void *ctx)
{
    (void)ctx;
    /* One pass over the slots, at most --tcp-max. A connection closed on the
     * way (by another's reply) is skipped by its fd. */
    for (size_t i = 0; i < server_tcp.max; i++) {
        struct tcp_conn *c = &server_tcp.conn[i];
        if (c->fd >= 0 && tcp_in_ready(c) && tcp_may_read(c) && server_tcp_answer(c))
            server_tcp_settle(c);
    }
}

/* Closes the connections idle for --tcp-timeout, and sets the timer for the
 * next one to be. */
static void server_on_tcp_idle_timer(void *ctx)
{
    (void)ctx;
    uint64_t now = loop_now(&server_event_loop);
    uint64_t next = UINT64_MAX;
    /* One pass over the slots, at most --tcp-max. */
    for (size_t i = 0; i < server_tcp.max; i++) {
        struct tcp_conn *c = &server_tcp.conn[i];
        if (c->fd < 0)
            continue;
        uint64_t due = tcp_due(c, server_tcp_timeout_ms);
        if (due <= now) {
            server_tcp_stats.closed_idle++;
            server_tcp_close(c, "idle for --tcp-timeout");
        } else if (due < next) {
            next = due;
        }
    }
    server_tcp_idle_at(next);
}

/* Makes `fd` non-blocking and closed on exec. Returns 0, or -1. */
static int server_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

static void server_on_tcp_accept(void *ctx, int fd);

/* The EMFILE pause is over: accept again. */
static void server_on_accept_timer(void *ctx)
{
    (void)ctx;
    if (loop_watch(&server_event_loop, server_tcp_listener, server_on_tcp_accept, NULL) != 0)
        log_error("cannot watch the TCP socket: %s", strerror(errno));
}

/*
 * Makes room for one more connection when --tcp-max are open: closes the one
 * idle the longest. Returns false if none is idle (every connection has a
 * query in flight or replies to send): then the new one is refused.
 */
static bool server_tcp_make_room(void)
{
    struct tcp_conn *oldest = tcp_idlest(&server_tcp);
    if (oldest == NULL)
        return false;
    server_tcp_stats.closed_for_new++;
    server_tcp_close(oldest, "idle the longest, and --tcp-max are open");
    return true;
}

/* The listener is readable: accepts at most SERVER_BATCH new connections. */
static void server_on_tcp_accept(void *ctx, int fd)
{
    (void)ctx;
    struct loop *l = &server_event_loop;
    for (int i = 0; i < SERVER_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        int conn_fd = accept(fd, (struct sockaddr *)&peer, &peer_len);
        if (conn_fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue; /* that one is gone; others may wait */
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays queued
             * and the listener readable. Rest instead of spinning, and say
             * so once, not every pause. */
            if (!server_accept_paused)
                log_warn("accept: %s: pausing %d ms at a time until it works again",
                         strerror(errno), SERVER_ACCEPT_PAUSE_MS);
            server_accept_paused = true;
            loop_unwatch(l, fd);
            if (loop_timer_start(l, &server_tcp_accept_timer, SERVER_ACCEPT_PAUSE_MS,
                                 server_on_accept_timer, NULL) != 0)
                server_on_accept_timer(NULL); /* no timer: better spin than go deaf */
            return;
        }
        server_tcp_stats.accepted++;
        server_accept_paused = false;
        if (server_tcp.open == server_tcp.max && !server_tcp_make_room()) {
            server_tcp_stats.refused++;
            log_debug("TCP connection refused: --tcp-max (%lu) are open, none idle",
                      server_tcp_max);
            close(conn_fd);
            continue;
        }
        if (server_nonblocking(conn_fd) != 0) { /* a blocking one would stall the loop */
            log_warn("cannot make a TCP connection non-blocking: %s", strerror(errno));
            close(conn_fd);
            continue;
        }
        /* Each reply goes out as soon as it is ready: Nagle's algorithm would
         * hold a small one back until the last is acknowledged, which a
         * client delaying its ACKs makes 40 ms or more. Best effort. */
        int on = 1;
        (void)setsockopt(conn_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        /* A slot is free (made above if need be), so tcp_open() returns one. */
        struct tcp_conn *c =
            tcp_open(&server_tcp, conn_fd, (struct sockaddr *)&peer, peer_len, loop_now(l));
        assert(c != NULL);
        server_tcp_settle(c); /* watches it for reading, sets the idle timer */
    }
}

/*
 * Opens the TCP listener on `addr` (the UDP socket's address and port).
 * Returns the descriptor, or -1 after saying why: the server does not start
 * then, as it would not for its UDP port. A port free for UDP is not always
 * free for TCP: a client connection that had it as its own port holds it for
 * a minute after it ends (TIME_WAIT), which SO_REUSEADDR does not get past.
 */
static int server_tcp_open(const struct net_addr *addr, bool shared)
{
    char text[NET_ADDR_TEXT_MAX];
    int fd = socket(addr->ss.ss_family, SOCK_STREAM, 0);
    int on = 1;
    /* SO_REUSEADDR: a restarted server can listen again at once, even while
     * connections of the last run are in TIME_WAIT. SO_REUSEPORT, with
     * --workers: one listener per worker on the same port, and the kernel
     * spreads the connections over them. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (shared && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) != 0 ||
        listen(fd, SERVER_TCP_BACKLOG) != 0 || server_nonblocking(fd) != 0) {
        log_error("cannot listen on %s/tcp: %s", net_addr_text(addr, text, sizeof text),
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Closes every connection and the listener: at the end. */
static void server_tcp_stop(void)
{
    struct loop *l = &server_event_loop;
    /* One pass over the slots, at most --tcp-max. */
    for (size_t i = 0; i < server_tcp.max; i++) {
        if (server_tcp.conn[i].fd >= 0)
            server_tcp_close(&server_tcp.conn[i], "the server stops");
    }
    tcp_table_free(&server_tcp);
    loop_timer_stop(l, &server_tcp_idle_timer);
    loop_timer_stop(l, &server_tcp_more_timer);
    loop_timer_stop(l, &server_tcp_accept_timer);
    if (server_tcp_listener >= 0) {
        loop_unwatch(l, server_tcp_listener);
        close(server_tcp_listener);
        server_tcp_listener = -1;
    }
}

/* Logs the TCP counters: on SIGUSR1 and at exit, after the step's own. */
static void server_tcp_report(const char *when)
{
    log_info("%s: TCP connections accepted %llu, open %zu, closed idle %llu, closed for a new "
             "one %llu, refused at --tcp-max %llu; queries over TCP %llu",
             when, server_tcp_stats.accepted, server_tcp.open, server_tcp_stats.closed_idle,
             server_tcp_stats.closed_for_new, server_tcp_stats.refused, server_tcp_stats.queries);
}

/* Options -------------------------------------------------------------------- */

static const char *server_opt_tcp_max(void *ctx, const char *value)
{
    (void)ctx; /* the step's: these options are the server's own */
    return cli_number(value, 1, SERVER_TCP_MAX_MAX, &server_tcp_max);
}

/* --workers N. */
static unsigned long server_workers = 1;

static const char *server_opt_workers(void *ctx, const char *value)
{
    (void)ctx;
    return cli_number(value, 1, WORKERS_MAX, &server_workers);
}

static const char *server_opt_tcp_timeout(void *ctx, const char *value)
{
    (void)ctx;
    return cli_number(value, 1, SERVER_TCP_TIMEOUT_MAX_MS, &server_tcp_timeout_ms);
}

/* The options server.c handles itself, after the step's in --help. */
static const struct cli_extra server_options[] = {
    {"tcp-max", "N", "TCP connections open at most (default 256)", server_opt_tcp_max},
    {"tcp-timeout", "MS", "close a TCP connection idle this long (default 10000)",
     server_opt_tcp_timeout},
    {"workers", "N", "processes answering on the same port (SO_REUSEPORT; default 1)",
     server_opt_workers},
};
enum { SERVER_OPTIONS = sizeof server_options / sizeof server_options[0] };

/* The self-pipe is readable: a signal came. */
static void server_on_signal_pipe(void *ctx, int fd)
{
    const struct server_step *step = ctx;
    signals_pipe_drain(fd);
    if (signals_take_usr1()) {
        if (step->report != NULL)
            step->report(step->ctx, "SIGUSR1");
        else
            log_info("SIGUSR1: no statistics to log at this stage; still answering");
        server_tcp_report("SIGUSR1");
    }
    if (signals_stopping())
        loop_stop(&server_event_loop);
}

/* Runs the loop until a stop signal. Returns 0, or 1 on an error. */
static int server_run(const struct server_step *step, int fd)
{
    server_tcp_step = step;
    if (loop_watch(&server_event_loop, fd, server_on_client, (void *)step) != 0 ||
        loop_watch(&server_event_loop, server_tcp_listener, server_on_tcp_accept, NULL) != 0 ||
        loop_watch(&server_event_loop, server_wake_fd, server_on_signal_pipe, (void *)step) != 0) {
        log_error("cannot watch the sockets: %s", strerror(errno));
        return 1;
    }
    if (signals_stopping()) /* came between setup and here: its byte is in the pipe, but why wait */
        return 0;
    if (loop_run(&server_event_loop) != 0) {
        log_error("poll: %s", strerror(errno));
        return 1;
    }
    return 0;
}

/* Makes a bound socket non-blocking, with large kernel buffers. Returns 0, or
 * -1 after logging why. */
static int server_socket_setup(int fd)
{
    int size = SERVER_SOCKET_BUFFER;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* best effort */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        log_error("cannot make the socket non-blocking: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Opens the UDP socket of `addr`, as non-blocking, with large kernel buffers.
 * Returns the descriptor, or -1 after logging why. On success `addr` holds
 * the address bound (with --port 0, the port the kernel picked). */
static int server_open(struct net_addr *addr)
{
    char text[NET_ADDR_TEXT_MAX];
    int fd = net_udp_bind(addr);
    if (fd < 0) {
        log_error("cannot listen on %s/udp: %s", net_addr_text(addr, text, sizeof text),
                  strerror(errno));
        return -1;
    }
    struct net_addr bound = {.len = sizeof bound.ss};
    if (getsockname(fd, (struct sockaddr *)&bound.ss, &bound.len) == 0)
        *addr = bound;
    if (server_socket_setup(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The sockets of one worker: its UDP socket and its TCP listener. */
struct server_socks {
    int udp, tcp;
};

/*
 * Opens n pairs of sockets on `addr` for --workers n, all sharing its port
 * (SO_REUSEPORT); with --port 0, the first one's port. Returns 0, or -1
 * after logging why (and closing what it opened).
 */
static int server_open_shared(struct net_addr *addr, struct server_socks *socks, unsigned n)
{
    char text[NET_ADDR_TEXT_MAX];
    for (unsigned i = 0; i < n; i++) {
        socks[i].udp = net_udp_bind_shared(addr);
        socks[i].tcp = -1;
        if (socks[i].udp < 0) {
            log_error("cannot listen on %s/udp with --workers: %s",
                      net_addr_text(addr, text, sizeof text), strerror(errno));
        } else {
            struct net_addr bound = {.len = sizeof bound.ss};
            if (i == 0 && getsockname(socks[0].udp, (struct sockaddr *)&bound.ss, &bound.len) == 0)
                *addr = bound; /* --port 0: the others take the port the kernel chose */
            if (server_socket_setup(socks[i].udp) == 0)
                socks[i].tcp = server_tcp_open(addr, true);
        }
        if (socks[i].tcp < 0) {
            /* Everything opened so far, this pair included, is closed. */
            for (unsigned j = 0; j <= i; j++) {
                if (socks[j].udp >= 0)
                    close(socks[j].udp);
                if (socks[j].tcp >= 0)
                    close(socks[j].tcp);
            }
            return -1;
        }
    }
    return 0;
}

/* What a worker of --workers N runs. */
struct server_job {
    const struct server_step *step;
    const struct server_socks *socks; /* one pair per worker */
    unsigned n;
};

/*
 * A worker, just forked: keeps its own sockets (socks[me]) and closes the
 * others', opens a self-pipe of its own (the parent's is shared with every
 * worker, and a wake-up byte one worker's handler writes could be read by
 * another), then runs the loop. A signal before the new pipe is there sets
 * the flag server_run() looks at first.
 */
static int server_worker(void *ctx, unsigned me)
{
    const struct server_job *job = ctx;
    for (unsigned i = 0; i < job->n; i++) {
        if (i != me) {
            close(job->socks[i].udp);
            close(job->socks[i].tcp);
        }
    }
    server_tcp_listener = job->socks[me].tcp;
    server_wake_fd = signals_pipe_open();
    if (server_wake_fd < 0) {
        log_error("cannot open the self-pipe: %s", strerror(errno));
        return 1;
    }
    int status = server_run(job->step, job->socks[me].udp);
    server_tcp_stop();
    close(job->socks[me].udp);
    if (job->step->report != NULL)
        job->step->report(job->step->ctx, "at exit");
    server_tcp_report("at exit");
    return status;
}

/*
 * Parses the command line: the step's options and the server's own
 * (server_options), which the step's never hear of. Returns -1 to run, or the
 * exit status after --help (0), a bad command line (2, with the usage) or a
 * lack of memory (1).
 */
static int server_parse(const struct server_step *step, int argc, char **argv,
                        struct cli_common *opts)
{
    size_t n = step->n_extras + SERVER_OPTIONS;
    struct cli_extra *extras = malloc(n * sizeof *extras);
    if (extras == NULL) {
        fprintf(stderr, "%s: out of memory\n", step->program);
        return 1;
    }
    if (step->n_extras > 0)
        memcpy(extras, step->extras, step->n_extras * sizeof *extras);
    memcpy(extras + step->n_extras, server_options, sizeof server_options);
    char err[256];
    int status = -1;
    switch (cli_parse(argc, argv, extras, n, step->ctx, opts, err, sizeof err)) {
    case CLI_HELP:
        cli_usage(stdout, step->program, step->summary, extras, n);
        status = 0;
        break;
    case CLI_ERROR:
        fprintf(stderr, "%s: %s\n", step->program, err);
        cli_usage(stderr, step->program, step->summary, extras, n);
        status = 2;
        break;
    case CLI_RUN:
        break;
    }
    free(extras);
    return status;
}

int server_main(const struct server_step *step, int argc, char **argv)
{
    struct cli_common opts;

    log_init(step->program, LOG_INFO);
    int parsed = server_parse(step, argc, argv, &opts);
    if (parsed >= 0)
        return parsed;
    if (opts.trace && server_workers > 1) {
        fprintf(stderr, "%s: --trace needs --workers 1: the workers' lines would interleave\n",
                step->program);
        return 2;
    }
    log_init(step->program, opts.log_level);
    server_tracing = opts.trace;
    if (opts.trace)
        setvbuf(stdout, NULL, _IOLBF, 0); /* trace lines appear as they happen, even in a pipe */

    struct net_addr addr;
    if (net_addr_parse(opts.address, opts.port, &addr) != 0) {
        log_error("bad address '%s'", opts.address); /* cli_parse checked it already */
        return 2;
    }
    /* Signals first, so none finds the process without its handler; then the
     * socket, so a port in use is reported at once, not after the zones
     * have loaded; then the step's setup. */
    sigset_t wait_mask;
    if (server_signals(&wait_mask) != 0 || loop_init(&server_event_loop, loop_monotonic_ms) != 0) {
        log_error("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    loop_timer_init(&server_tcp_idle_timer);
    loop_timer_init(&server_tcp_more_timer);
    loop_timer_init(&server_tcp_accept_timer);
    unsigned n_workers = (unsigned)server_workers;
    struct server_socks socks[WORKERS_MAX] = {{.udp = -1, .tcp = -1}};
    if (n_workers == 1) {
        socks[0].udp = server_open(&addr);
        if (socks[0].udp < 0)
            return 1;
        /* TCP on the same address and port (the one UDP got, with --port 0). */
        socks[0].tcp = server_tcp_open(&addr, false);
        if (socks[0].tcp < 0) { /* a DNS server answers over TCP too (RFC 7766 5) */
            close(socks[0].udp);
            return 1;
        }
    } else if (server_open_shared(&addr, socks, n_workers) != 0) {
        return 1;
    }
    server_tcp_listener = socks[0].tcp; /* a worker takes its own (server_worker) */
    int status = 0;
    if (tcp_table_init(&server_tcp, server_tcp_max) != 0) {
        log_error("no memory for %lu TCP connections", server_tcp_max);
        status = 1;
    } else if (step->setup) {
        status = signals_run_setup(step->setup, step->ctx, &wait_mask);
    }
    if (status != 0) {
        server_tcp_stop();
        for (unsigned i = 0; i < n_workers; i++) {
            close(socks[i].udp);
            if (i > 0)
                close(socks[i].tcp); /* socks[0].tcp: server_tcp_stop() closed it */
        }
        return status;
    }

    char addr_text[NET_ADDR_TEXT_MAX];
    net_addr_text(&addr, addr_text, sizeof addr_text);
    if (n_workers == 1) {
        log_info("listening on %s/udp", addr_text);
        log_info("listening on %s/tcp", addr_text);
        status = server_run(step, socks[0].udp);
        server_tcp_stop();
        close(socks[0].udp);
    } else {
        /* Before any query, so each worker's state starts empty: its pending
         * table, its cache, its TCP connections, and its batch of random
         * bytes for query IDs, which each worker then reads itself. */
        log_info("listening on %s/udp with %u workers", addr_text, n_workers);
        log_info("listening on %s/tcp with %u workers", addr_text, n_workers);
        struct server_job job = {step, socks, n_workers};
        status = workers_run(n_workers, server_worker, &job, &wait_mask);
        for (unsigned i = 0; i < n_workers; i++) {
            close(socks[i].udp);
            close(socks[i].tcp);
        }
        server_tcp_listener = -1;
        tcp_table_free(&server_tcp);
    }
    if (status == 0)
        signals_log_stop();
    if (n_workers == 1) { /* with workers, each has reported its own */
        if (step->report != NULL)
            step->report(step->ctx, "at exit");
        server_tcp_report("at exit");
    }
    return status;
}
