/* server: what every step's main() shares — options, socket, signals, trace — in an event loop,
 * with step 5's batches (recvmmsg/sendmmsg on Linux) and --workers. */
#define _GNU_SOURCE /* recvmmsg(), sendmmsg(), struct mmsghdr: Linux, not POSIX */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "signals.h"
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
    /* Options a step may add besides --workers (server_main joins the lists). */
    SERVER_EXTRAS_MAX = 16,
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

/* Traces one reply to `req`'s client, as it goes. */
static void server_trace_sent(const struct server_request *req, const uint8_t *reply, size_t len)
{
    if (!server_tracing)
        return;
    char peer_text[NET_ADDR_TEXT_MAX];
    net_sockaddr_text((const struct sockaddr *)&req->peer, req->peer_len, peer_text,
                      sizeof peer_text);
    trace_datagram(stdout, "sent", peer_text, reply, len);
    server_trace_check();
}

/* Traces and sends one reply to `req`'s client. */
static void server_send(const struct server_request *req, const uint8_t *reply, size_t len)
{
    const struct sockaddr *peer = (const struct sockaddr *)&req->peer;
    server_trace_sent(req, reply, len);
    if (sendto(req->fd, reply, len, 0, peer, req->peer_len) < 0 && log_threshold >= LOG_DEBUG) {
        char peer_text[NET_ADDR_TEXT_MAX];
        log_debug("sendto %s: %s",
                  net_sockaddr_text(peer, req->peer_len, peer_text, sizeof peer_text),
                  strerror(errno));
    }
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

struct server_request *server_defer(const struct server_request *req)
{
    struct server_request *kept = malloc(sizeof *kept);
    if (kept != NULL)
        *kept = *req;
    return kept;
}

void server_reply(struct server_request *req, const uint8_t *reply, size_t len)
{
    server_send(req, reply, len);
    free(req);
}

void server_drop(struct server_request *req)
{
    free(req);
}

/* Answers one datagram: trace, hand it to the step. Returns the length of
 * the reply to send now (traced already), or SERVER_NO_REPLY (dropped, or
 * deferred: answered later). */
static size_t server_answer(const struct server_step *step, const struct server_request *req,
                            const uint8_t *in, size_t len, uint8_t *out, size_t out_cap)
{
    char peer_text[NET_ADDR_TEXT_MAX];
    bool named = false;
    if (server_tracing || log_threshold >= LOG_DEBUG) {
        net_sockaddr_text((const struct sockaddr *)&req->peer, req->peer_len, peer_text,
                          sizeof peer_text);
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
            printf("--- no reply to %s: the step dropped this datagram\n\n", peer_text);
            server_trace_check();
        }
        if (named)
            log_debug("no reply to %s", peer_text);
        return SERVER_NO_REPLY;
    }
    server_trace_sent(req, out, reply_len);
    return reply_len;
}

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
    /* Static: 2 x 64 KiB is too much for some stacks, and there is one loop. */
    static uint8_t in[DNS_RECV_BUFFER], out[DNS_RECV_BUFFER];

    for (int i = 0; i < SERVER_BATCH; i++) {
        struct server_request req = {.fd = fd};
        req.peer_len = sizeof req.peer;
        /* The socket is non-blocking: an empty queue is EAGAIN, not a wait. */
        ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&req.peer, &req.peer_len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("recvfrom: %s", strerror(errno));
            return;
        }
        size_t reply_len = server_answer(step, &req, in, (size_t)n, out, sizeof out);
        if (reply_len != SERVER_NO_REPLY)
            server_send(&req, out, reply_len);
    }
}
#endif

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
    }
    if (signals_stopping())
        loop_stop(&server_event_loop);
}

/* Runs the loop until a stop signal. Returns 0, or 1 on an error. */
static int server_run(const struct server_step *step, int fd)
{
    if (loop_watch(&server_event_loop, fd, server_on_client, (void *)step) != 0 ||
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

/* --workers N, set while the command line is read. */
static unsigned long server_workers = 1;

static const char *server_workers_apply(void *ctx, const char *value)
{
    (void)ctx; /* the step's context: this option is the server's own */
    return cli_number(value, 1, WORKERS_MAX, &server_workers);
}

static const struct cli_extra server_workers_option = {
    "workers", "N", "processes answering on the same port (SO_REUSEPORT; default 1)",
    server_workers_apply};

/* What a worker of --workers N runs. */
struct server_job {
    const struct server_step *step;
    const int *fds; /* one socket per worker */
    unsigned n;
};

/*
 * A worker, just forked: keeps its own socket (fds[me]) and closes the
 * others', opens a self-pipe of its own (the parent's is shared with every
 * worker, and a wake-up byte one worker's handler writes could be read by
 * another), then runs the loop. A signal before the new pipe is there sets
 * the flag server_run() looks at first.
 */
static int server_worker(void *ctx, unsigned me)
{
    const struct server_job *job = ctx;
    for (unsigned i = 0; i < job->n; i++) {
        if (i != me)
            close(job->fds[i]);
    }
    server_wake_fd = signals_pipe_open();
    if (server_wake_fd < 0) {
        log_error("cannot open the self-pipe: %s", strerror(errno));
        return 1;
    }
    int status = server_run(job->step, job->fds[me]);
    close(job->fds[me]);
    if (job->step->report != NULL)
        job->step->report(job->step->ctx, "at exit");
    return status;
}

/*
 * Opens the n sockets of --workers n on `addr`, sharing its port; with
 * --port 0, the first one's port. Returns 0, or -1 after logging why (and
 * closing what it opened).
 */
static int server_open_shared(struct net_addr *addr, int *fds, unsigned n)
{
    char text[NET_ADDR_TEXT_MAX];
    for (unsigned i = 0; i < n; i++) {
        fds[i] = net_udp_bind_shared(addr);
        if (fds[i] < 0) {
            log_error("cannot listen on %s/udp with --workers: %s",
                      net_addr_text(addr, text, sizeof text), strerror(errno));
            while (i > 0)
                close(fds[--i]);
            return -1;
        }
        struct net_addr bound = {.len = sizeof bound.ss};
        if (i == 0 && getsockname(fds[0], (struct sockaddr *)&bound.ss, &bound.len) == 0)
            *addr = bound; /* --port 0: the others take the port the kernel chose */
        if (server_socket_setup(fds[i]) != 0) {
            for (unsigned j = 0; j <= i; j++)
                close(fds[j]);
            return -1;
        }
    }
    return 0;
}

int server_main(const struct server_step *step, int argc, char **argv)
{
    struct cli_common opts;
    char err[256];

    log_init(step->program, LOG_INFO);
    /* The step's options, then the server's own. */
    struct cli_extra extras[SERVER_EXTRAS_MAX + 1];
    if (step->n_extras > SERVER_EXTRAS_MAX) {
        log_error("%zu options: at most %d", step->n_extras, SERVER_EXTRAS_MAX); /* a bug */
        return 1;
    }
    for (size_t i = 0; i < step->n_extras; i++)
        extras[i] = step->extras[i];
    extras[step->n_extras] = server_workers_option;
    size_t n_extras = step->n_extras + 1;

    switch (cli_parse(argc, argv, extras, n_extras, step->ctx, &opts, err, sizeof err)) {
    case CLI_HELP:
        cli_usage(stdout, step->program, step->summary, extras, n_extras);
        return 0;
    case CLI_ERROR:
        fprintf(stderr, "%s: %s\n", step->program, err);
        cli_usage(stderr, step->program, step->summary, extras, n_extras);
        return 2;
    case CLI_RUN:
        break;
    }
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
    int fds[WORKERS_MAX];
    unsigned n_fds = (unsigned)server_workers;
    if (n_fds == 1) {
        fds[0] = server_open(&addr);
        if (fds[0] < 0)
            return 1;
    } else if (server_open_shared(&addr, fds, n_fds) != 0) {
        return 1;
    }
    if (step->setup) {
        int status = signals_run_setup(step->setup, step->ctx, &wait_mask);
        if (status != 0) {
            for (unsigned i = 0; i < n_fds; i++)
                close(fds[i]);
            return status;
        }
    }

    char addr_text[NET_ADDR_TEXT_MAX];
    net_addr_text(&addr, addr_text, sizeof addr_text);
    int status;
    if (n_fds == 1) {
        log_info("listening on %s/udp", addr_text);
        status = server_run(step, fds[0]);
        close(fds[0]);
    } else {
        /* Before any query, so each worker's state starts empty: its pending
         * table, its cache, and its batch of random bytes for query IDs,
         * which each worker then reads from the kernel itself. */
        log_info("listening on %s/udp with %u workers", addr_text, n_fds);
        struct server_job job = {step, fds, n_fds};
        status = workers_run(n_fds, server_worker, &job, &wait_mask);
        for (unsigned i = 0; i < n_fds; i++)
            close(fds[i]);
    }
    if (status == 0)
        signals_log_stop();
    if (step->report != NULL && n_fds == 1) /* with workers, each has reported its own */
        step->report(step->ctx, "at exit");
    return status;
}
