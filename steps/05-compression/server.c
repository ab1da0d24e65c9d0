/*
 * server: the loop of steps 1-4, made faster for the first server worth
 * running in earnest. Two changes, each where the system offers it:
 *   - On Linux, recvmmsg() reads up to SERVER_MMSG queued datagrams in one
 *     system call and sendmmsg() sends their replies in one: two system calls
 *     per batch instead of two per query (server_batch). Elsewhere, the
 *     portable loop of steps 1-4: one recvfrom(), one answer, one sendto().
 *   - --workers N: N processes answer on the same port, each with its own
 *     socket (SO_REUSEPORT), so a machine with N cores can use them all
 *     (workers.c). The zones are read once, before the processes
 *     are forked, and shared copy-on-write.
 */
#define _GNU_SOURCE /* recvmmsg(), sendmmsg(), struct mmsghdr: Linux, not POSIX */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "net.h"
#include "signals.h"
#include "trace.h"
#include "workers.h"

enum {
    /* Kernel receive buffer asked for, so a burst of queries waits in the
     * kernel instead of being dropped while we answer (the kernel may cap it
     * at net.core.rmem_max). */
    SERVER_SOCKET_BUFFER = 4 * 1024 * 1024,
    /* The most datagrams answered in a row before pending signals are let in.
     * Signals are blocked while the loop answers, and under a flood the queue
     * never empties: without a bound a SIGTERM waited for the flood to end
     * (17 s in one attack). A datagram costs ~10 µs at stage 5, so 64 of them
     * keep a signal waiting about a millisecond, and the two system calls
     * that let signals in are shared by 64 datagrams. */
    SERVER_BATCH = 64,
    /* Datagrams one recvmmsg() reads at most. 32 buffers of DNS_RECV_BUFFER
     * each way are 4 MiB of .bss, but only the pages datagrams touch become
     * resident. Batches are short unless the queue is long (~5 queries per
     * wake-up at 40,000 q/s), and SERVER_BATCH is two of them. */
    SERVER_MMSG = 32,
    /* Options a step may add besides --workers (server_main joins the lists). */
    SERVER_EXTRAS_MAX = 16,
};

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

/* Answers one datagram: trace, hand it to the step. Returns the reply's
 * length, or SERVER_NO_REPLY; the caller sends it. */
static size_t server_answer(const struct server_step *step, const uint8_t *in, size_t len,
                            const struct sockaddr *peer, socklen_t peer_len, uint8_t *out,
                            size_t out_cap)
{
    char peer_text[NET_ADDR_TEXT_MAX];
    bool named = false;
    if (server_tracing || log_threshold >= LOG_DEBUG) {
        net_sockaddr_text(peer, peer_len, peer_text, sizeof peer_text);
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

    size_t reply_len = step->handle(step->ctx, in, len, out, out_cap);
    if (reply_len == SERVER_NO_REPLY || reply_len > out_cap) {
        if (server_tracing) {
            printf("--- no reply to %s: the step dropped this datagram\n\n", peer_text);
            server_trace_check();
        }
        if (named)
            log_debug("no reply to %s", peer_text);
        return SERVER_NO_REPLY;
    }
    if (server_tracing) {
        trace_datagram(stdout, "sent", peer_text, out, reply_len);
        server_trace_check();
    }
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
 * Answers at most SERVER_BATCH queued datagrams, SERVER_MMSG per recvmmsg():
 * reads what is queued, answers each, sends the replies in one sendmmsg().
 * Returns true if it stopped at the bound (more may be queued), false once
 * the queue is empty: a short read means it was.
 */
static bool server_batch(const struct server_step *step, int fd)
{
    /* Static: far too much for a stack, and there is one loop per process. */
    static uint8_t in[SERVER_MMSG][DNS_RECV_BUFFER], out[SERVER_MMSG][DNS_RECV_BUFFER];
    static struct sockaddr_storage peers[SERVER_MMSG];
    static struct iovec in_iov[SERVER_MMSG], out_iov[SERVER_MMSG];
    static struct mmsghdr queries[SERVER_MMSG], replies[SERVER_MMSG];

    /* SERVER_BATCH datagrams at most, for the signals' sake (see there). */
    for (int round = 0; round < SERVER_BATCH / SERVER_MMSG; round++) {
        for (int i = 0; i < SERVER_MMSG; i++) {
            in_iov[i] = (struct iovec){.iov_base = in[i], .iov_len = sizeof in[i]};
            queries[i].msg_hdr = (struct msghdr){
                .msg_name = &peers[i],
                .msg_namelen = sizeof peers[i],
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
            return false;
        }
        unsigned n_replies = 0;
        for (int i = 0; i < n; i++) {
            const struct msghdr *h = &queries[i].msg_hdr;
            size_t len = server_answer(step, in[i], queries[i].msg_len, h->msg_name, h->msg_namelen,
                                       out[n_replies], sizeof out[n_replies]);
            if (len == SERVER_NO_REPLY)
                continue;
            out_iov[n_replies] = (struct iovec){.iov_base = out[n_replies], .iov_len = len};
            replies[n_replies].msg_hdr = (struct msghdr){
                .msg_name = h->msg_name,
                .msg_namelen = h->msg_namelen,
                .msg_iov = &out_iov[n_replies],
                .msg_iovlen = 1,
            };
            n_replies++;
        }
        server_send_all(fd, replies, n_replies);
        if (n < SERVER_MMSG)
            return false;
    }
    return true;
}
#else
/* Answers one datagram and sends the reply, if there is one. */
static void server_dispatch(const struct server_step *step, int fd, const uint8_t *in, size_t len,
                            const struct sockaddr *peer, socklen_t peer_len, uint8_t *out,
                            size_t out_cap)
{
    size_t reply_len = server_answer(step, in, len, peer, peer_len, out, out_cap);
    if (reply_len == SERVER_NO_REPLY)
        return;
    if (sendto(fd, out, reply_len, 0, peer, peer_len) < 0 && log_threshold >= LOG_DEBUG) {
        char peer_text[NET_ADDR_TEXT_MAX];
        log_debug("sendto %s: %s", net_sockaddr_text(peer, peer_len, peer_text, sizeof peer_text),
                  strerror(errno));
    }
}

/* Answers at most SERVER_BATCH queued datagrams. Returns true if it stopped
 * at that bound (more may be queued), false once the queue is empty. */
static bool server_batch(const struct server_step *step, int fd)
{
    /* Static: 2 x 64 KiB is too much for some stacks, and there is one loop. */
    static uint8_t in[DNS_RECV_BUFFER], out[DNS_RECV_BUFFER];

    for (int i = 0; i < SERVER_BATCH; i++) {
        struct sockaddr_storage peer;
        socklen_t peer_len = sizeof peer;
        /* The socket is non-blocking: an empty queue is EAGAIN, not a wait. */
        ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&peer, &peer_len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                log_warn("recvfrom: %s", strerror(errno));
            return false;
        }
        server_dispatch(step, fd, in, (size_t)n, (struct sockaddr *)&peer, peer_len, out,
                        sizeof out);
    }
    return true;
}
#endif

/* Receives and answers until a stop signal. Returns 0, or 1 on an error. */
static int server_loop(const struct server_step *step, int fd, const sigset_t *wait_mask)
{
    bool more = false; /* the last batch stopped at its bound: the queue may not be empty */
    for (;;) {
        if (more) {
            signals_let_in(wait_mask);
        } else {
            fd_set readable;
            FD_ZERO(&readable);
            FD_SET(fd, &readable);
            /* Sleeps until a datagram or a signal (EINTR) comes. */
            if (pselect(fd + 1, &readable, NULL, NULL, NULL, wait_mask) < 0 && errno != EINTR) {
                log_error("pselect: %s", strerror(errno));
                return 1;
            }
        }
        if (signals_take_usr1())
            log_info("SIGUSR1: no statistics to log at this stage; still answering");
        if (signals_stopping())
            return 0;
        more = server_batch(step, fd);
    }
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

/* What a worker of --workers N runs: the loop on its own socket. */
struct server_job {
    const struct server_step *step;
    const int *fds; /* one socket per worker */
    unsigned n;
    const sigset_t *wait_mask;
};

static int server_worker(void *ctx, unsigned me)
{
    const struct server_job *job = ctx;
    for (unsigned i = 0; i < job->n; i++) {
        if (i != me)
            close(job->fds[i]);
    }
    int status = server_loop(job->step, job->fds[me], job->wait_mask);
    close(job->fds[me]);
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
    if (signals_install(&wait_mask) != 0) {
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
    int status;
    if (n_fds == 1) {
        log_info("listening on %s/udp", net_addr_text(&addr, addr_text, sizeof addr_text));
        status = server_loop(step, fds[0], &wait_mask);
        close(fds[0]);
    } else {
        log_info("listening on %s/udp with %u workers",
                 net_addr_text(&addr, addr_text, sizeof addr_text), n_fds);
        struct server_job job = {step, fds, n_fds, &wait_mask};
        status = workers_run(n_fds, server_worker, &job, &wait_mask);
        for (unsigned i = 0; i < n_fds; i++)
            close(fds[i]);
    }
    if (status == 0)
        signals_log_stop();
    return status;
}
