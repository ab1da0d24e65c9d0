/* server: what every step's main() shares — options, socket, signals, trace, the receive loop. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"
#include "net.h"
#include "signals.h"
#include "trace.h"

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

/* Answers one datagram: trace, hand it to the step, send what it returns. */
static void server_dispatch(const struct server_step *step, int fd, const uint8_t *in, size_t len,
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
        return;
    }
    if (server_tracing) {
        trace_datagram(stdout, "sent", peer_text, out, reply_len);
        server_trace_check();
    }
    if (sendto(fd, out, reply_len, 0, peer, peer_len) < 0 && named)
        log_debug("sendto %s: %s", peer_text, strerror(errno));
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
    int size = SERVER_SOCKET_BUFFER;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* best effort */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        log_error("cannot make the socket non-blocking: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int server_main(const struct server_step *step, int argc, char **argv)
{
    struct cli_common opts;
    char err[256];

    log_init(step->program, LOG_INFO);
    switch (
        cli_parse(argc, argv, step->extras, step->n_extras, step->ctx, &opts, err, sizeof err)) {
    case CLI_HELP:
        cli_usage(stdout, step->program, step->summary, step->extras, step->n_extras);
        return 0;
    case CLI_ERROR:
        fprintf(stderr, "%s: %s\n", step->program, err);
        cli_usage(stderr, step->program, step->summary, step->extras, step->n_extras);
        return 2;
    case CLI_RUN:
        break;
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
    int fd = server_open(&addr);
    if (fd < 0)
        return 1;
    if (step->setup) {
        int status = signals_run_setup(step->setup, step->ctx, &wait_mask);
        if (status != 0) {
            close(fd);
            return status;
        }
    }

    char addr_text[NET_ADDR_TEXT_MAX];
    log_info("listening on %s/udp", net_addr_text(&addr, addr_text, sizeof addr_text));
    int status = server_loop(step, fd, &wait_mask);
    close(fd);
    if (status == 0)
        signals_log_stop();
    return status;
}
