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
#include "trace.h"

enum {
    /* Kernel receive buffer asked for, so a burst of queries waits in the
     * kernel instead of being dropped while we answer (the kernel may cap it
     * at net.core.rmem_max). */
    SERVER_SOCKET_BUFFER = 4 * 1024 * 1024,
};

/* Set by the signal handler, read by the loop. */
static volatile sig_atomic_t server_stop_signal;

static void server_on_signal(int sig)
{
    server_stop_signal = sig;
}

/*
 * SIGINT and SIGTERM stay blocked except while the loop waits in pselect(),
 * which unblocks them atomically: a signal can then never slip in between
 * checking the flag and going to sleep (the classic lost-wakeup race).
 */
static int server_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = server_on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    return sigprocmask(SIG_BLOCK, &block, wait_mask);
}

/* Answers one datagram: trace, hand it to the step, send what it returns. */
static void server_dispatch(const struct server_step *step, bool trace, int fd, const uint8_t *in,
                            size_t len, const struct sockaddr *peer, socklen_t peer_len,
                            uint8_t *out, size_t out_cap)
{
    char peer_text[NET_ADDR_TEXT_MAX];
    bool named = false;
    if (trace || log_threshold >= LOG_DEBUG) {
        net_sockaddr_text(peer, peer_len, peer_text, sizeof peer_text);
        named = true;
    }
    if (trace)
        trace_datagram(stdout, "received", peer_text, in, len);
    if (log_threshold >= LOG_DEBUG) {
        char summary[256];
        log_debug("from %s: %s", peer_text, trace_summary(in, len, summary, sizeof summary));
    }

    size_t reply_len = step->handle(step->ctx, in, len, out, out_cap);
    if (reply_len == SERVER_NO_REPLY || reply_len > out_cap) {
        if (trace)
            fprintf(stdout, "--- no reply to %s: the step dropped this datagram\n\n", peer_text);
        if (named)
            log_debug("no reply to %s", peer_text);
        return;
    }
    if (trace)
        trace_datagram(stdout, "sent", peer_text, out, reply_len);
    if (sendto(fd, out, reply_len, 0, peer, peer_len) < 0 && named)
        log_debug("sendto %s: %s", peer_text, strerror(errno));
}

/* Receives and answers until a signal arrives. Returns 0, or 1 on an error. */
static int server_loop(const struct server_step *step, bool trace, int fd,
                       const sigset_t *wait_mask)
{
    /* Static: 2 x 64 KiB is too much for some stacks, and there is one loop. */
    static uint8_t in[DNS_RECV_BUFFER], out[DNS_RECV_BUFFER];

    while (!server_stop_signal) {
        fd_set readable;
        FD_ZERO(&readable);
        FD_SET(fd, &readable);
        if (pselect(fd + 1, &readable, NULL, NULL, NULL, wait_mask) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition decides */
            log_error("pselect: %s", strerror(errno));
            return 1;
        }
        /* Drain everything queued before sleeping again. The socket is
         * non-blocking, so this ends with EAGAIN when the queue is empty. */
        for (;;) {
            struct sockaddr_storage peer;
            socklen_t peer_len = sizeof peer;
            ssize_t n = recvfrom(fd, in, sizeof in, 0, (struct sockaddr *)&peer, &peer_len);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    log_warn("recvfrom: %s", strerror(errno));
                break;
            }
            server_dispatch(step, trace, fd, in, (size_t)n, (struct sockaddr *)&peer, peer_len, out,
                            sizeof out);
        }
    }
    return 0;
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
    if (opts.trace)
        setvbuf(stdout, NULL, _IOLBF, 0); /* trace lines appear as they happen, even in a pipe */

    if (step->setup) {
        int status = step->setup(step->ctx);
        if (status != 0)
            return status;
    }

    struct net_addr addr;
    if (net_addr_parse(opts.address, opts.port, &addr) != 0) {
        log_error("bad address '%s'", opts.address); /* cli_parse checked it already */
        return 2;
    }
    char addr_text[NET_ADDR_TEXT_MAX];
    net_addr_text(&addr, addr_text, sizeof addr_text);

    sigset_t wait_mask;
    if (server_signals(&wait_mask) != 0) {
        log_error("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    int fd = net_udp_bind(&addr);
    if (fd < 0) {
        log_error("cannot listen on %s/udp: %s", addr_text, strerror(errno));
        return 1;
    }
    /* With --port 0 the kernel picks the port: log the one it picked. */
    addr.len = sizeof addr.ss;
    if (getsockname(fd, (struct sockaddr *)&addr.ss, &addr.len) == 0)
        net_addr_text(&addr, addr_text, sizeof addr_text);
    int size = SERVER_SOCKET_BUFFER;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* best effort */
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        log_error("cannot make the socket non-blocking: %s", strerror(errno));
        close(fd);
        return 1;
    }

    log_info("listening on %s/udp", addr_text);
    int status = server_loop(step, opts.trace, fd, &wait_mask);
    close(fd);
    if (status == 0)
        log_info("stopped by %s", server_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
    return status;
}
