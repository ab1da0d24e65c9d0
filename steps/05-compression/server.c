/*
 * server: the loop of steps 1-4, made faster for the first server worth
 * running in earnest. Two changes, each where the system offers it:
 *   - On Linux, recvmmsg() reads up to SERVER_MMSG queued datagrams in one
 *     system call and sendmmsg() sends their replies in one: two system calls
 *     per batch instead of two per query (server_batch). Elsewhere, the
 *     portable loop of steps 1-4: one recvfrom(), one answer, one sendto().
 *   - --workers N: N processes answer on the same port, each with its own
 *     socket (SO_REUSEPORT), so a machine with N cores can use them all
 *     (server_workers_run). The zones are read once, before the processes
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
#include <sys/wait.h>
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
    /* --workers: more processes than any machine this runs on has cores. */
    SERVER_WORKERS_MAX = 64,
    /* Options a step may add besides --workers (server_main joins the lists). */
    SERVER_EXTRAS_MAX = 16,
};

/*
 * Signals. Each one a person or a program sends a server either stops it
 * cleanly, is logged, or is ignored on purpose (NSD's choices where it has
 * one):
 *   SIGINT, SIGTERM  stop: Ctrl-C, kill, the test suite's shutdown
 *   SIGQUIT          stop, as NSD does (Ctrl-\ would otherwise dump core)
 *   SIGHUP           stop. NSD reloads its zones on SIGHUP, but these steps
 *                    read theirs once; and a server whose terminal has gone
 *                    away should go too, not hold port 2053 unseen
 *   SIGXCPU          stop: the CPU-time limit (ulimit -t) is reached, and the
 *                    kernel sends SIGKILL at the hard limit; stopping now
 *                    leaves a line that says why
 *   SIGUSR1          a log line, and answering goes on: NSD logs its counters
 *                    here, and a step that keeps counters will
 *   SIGPIPE          ignored: a write to a pipe nobody reads (--trace | head)
 *                    then fails with EPIPE, which the trace reports, instead
 *                    of killing the server without a word
 *   SIGXFSZ          ignored, for the same reason: a write past the file-size
 *                    limit (ulimit -f, --trace > file) fails with EFBIG
 *   SIGUSR2          ignored: it means nothing here, and a stray one should
 *                    not kill the server
 *   SIGALRM, SIGVTALRM, SIGPROF
 *                    ignored: the timers that send them are never set here
 *                    (the loop's timeouts are its own); a profiler that sets
 *                    one installed its handler before main(), and keeps it
 *   SIGIO (SIGPOLL)  ignored: no descriptor is in O_ASYNC mode, so one can
 *                    only be stray
 *   SIGPWR           ignored (Linux): a power monitor tells init, and init
 *                    stops services with SIGTERM
 *   SIGSTKFLT        ignored (Linux): the kernel never sends it
 *   SIGRTMIN..SIGRTMAX
 *                    ignored: a real-time signal means what a program makes
 *                    it mean, and this one gives them no meaning
 * The others keep their default action. SIGKILL and SIGSTOP cannot be caught;
 * a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP) must
 * still end the process, with a core to debug; SIGCHLD, SIGURG, SIGWINCH and
 * SIGCONT are ignored by default; SIGTSTP, SIGTTIN and SIGTTOU stop the
 * process for job control, as a shell expects.
 */
static const int server_handled_signals[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGXCPU, SIGUSR1};
enum { SERVER_HANDLED_SIGNALS = sizeof server_handled_signals / sizeof server_handled_signals[0] };

/* Ignored on purpose, as the table says. server_ignore_signals() adds the
 * ones not every system has: SIGIO, SIGPWR, SIGSTKFLT, the real-time ones. */
static const int server_ignored_signals[] = {
    SIGPIPE, SIGXFSZ, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
};
enum { SERVER_IGNORED_SIGNALS = sizeof server_ignored_signals / sizeof server_ignored_signals[0] };

/* Set by the handler, read by the loop. The loop runs with these signals
 * blocked, so it never races the handler. */
static volatile sig_atomic_t server_stop_signal; /* the signal that asked to stop, or 0 */
static volatile sig_atomic_t server_usr1;        /* SIGUSR1 came since the loop last looked */
static volatile sig_atomic_t server_starting;    /* the step's setup() is running */
static volatile sig_atomic_t server_child_ended; /* SIGCHLD: a worker ended (the parent only) */

static const char *server_signal_name(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    case SIGQUIT:
        return "SIGQUIT";
    case SIGHUP:
        return "SIGHUP";
    case SIGXCPU:
        return "SIGXCPU";
    default:
        return "a signal";
    }
}

/* What the stop line adds after the signal's name. */
static const char *server_stop_reason(int sig)
{
    switch (sig) {
    case SIGHUP:
        return " (nothing to reload at this stage)";
    case SIGXCPU:
        return " (the CPU time limit is reached)";
    default:
        return "";
    }
}

/* Appends `s` to line[0..*len), cut to fit `cap` - 1 bytes. A loop rather
 * than snprintf(), which a signal handler may not call. */
static void server_append(char *line, size_t cap, size_t *len, const char *s)
{
    while (*s != '\0' && *len < cap - 1)
        line[(*len)++] = *s++;
}

/*
 * A stop signal while setup() runs (a zone file can take seconds to load):
 * there is no loop yet to see the flag, so the handler itself logs the line
 * and ends the process. Only async-signal-safe calls: write() instead of
 * fprintf(), _exit() instead of exit(). Nothing needs cleaning up: the kernel
 * closes the socket and takes the memory back.
 */
static void server_stop_during_setup(int sig)
{
    if (log_threshold >= LOG_INFO) {
        char line[128];
        size_t len = 0;
        server_append(line, sizeof line, &len, log_program());
        server_append(line, sizeof line, &len, " stopped by ");
        server_append(line, sizeof line, &len, server_signal_name(sig));
        server_append(line, sizeof line, &len, " while starting up");
        line[len++] = '\n'; /* server_append() left room for it */
        ssize_t n = write(STDERR_FILENO, line, len);
        (void)n; /* if stderr is gone there is nowhere to say so */
    }
    _exit(0);
}

static void server_on_signal(int sig)
{
    if (sig == SIGUSR1) {
        server_usr1 = 1;
        return;
    }
    server_stop_signal = sig;
    if (server_starting)
        server_stop_during_setup(sig);
}

/* Ignores `sig` if it still has its default action. A handler installed
 * before main() stays: a profiler's for SIGPROF (gcc -pg), say. */
static int server_ignore(int sig)
{
    struct sigaction old;
    if (sigaction(sig, NULL, &old) != 0)
        return -1;
    if (old.sa_handler != SIG_DFL)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    return sigaction(sig, &sa, NULL);
}

/* Ignores the signals of server_ignored_signals[], then those of the table
 * that only some systems have. */
static int server_ignore_signals(void)
{
    for (size_t i = 0; i < SERVER_IGNORED_SIGNALS; i++) {
        if (server_ignore(server_ignored_signals[i]) != 0)
            return -1;
    }
#ifdef SIGIO
    if (server_ignore(SIGIO) != 0) /* SIGPOLL on Linux: the same number */
        return -1;
#elif defined(SIGPOLL)
    if (server_ignore(SIGPOLL) != 0)
        return -1;
#endif
#ifdef SIGPWR
    if (server_ignore(SIGPWR) != 0)
        return -1;
#endif
#ifdef SIGSTKFLT
    if (server_ignore(SIGSTKFLT) != 0)
        return -1;
#endif
#ifdef SIGRTMIN
    /* Bounded by SIGRTMAX: some 30 signals (SIGRTMIN and SIGRTMAX are
     * functions in glibc, which keeps the first few for its threads). */
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
        if (server_ignore(sig) != 0)
            return -1;
    }
#endif
    return 0;
}

/*
 * Installs the handlers and blocks the signals they handle; `wait_mask` gets
 * the mask to use while waiting, with them unblocked. They stay blocked
 * except while the loop waits in pselect(), which unblocks them atomically:
 * a signal can then never slip in between checking the flag and going to
 * sleep (the classic lost-wakeup race).
 */
static int server_signals(sigset_t *wait_mask)
{
    sigset_t handled;
    sigemptyset(&handled);
    for (size_t i = 0; i < SERVER_HANDLED_SIGNALS; i++)
        sigaddset(&handled, server_handled_signals[i]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = server_on_signal; /* no SA_RESTART: pselect() must fail with EINTR */
    sa.sa_mask = handled;             /* one handler at a time */
    for (size_t i = 0; i < SERVER_HANDLED_SIGNALS; i++) {
        if (sigaction(server_handled_signals[i], &sa, NULL) != 0)
            return -1;
    }
    if (server_ignore_signals() != 0)
        return -1;
    if (sigprocmask(SIG_BLOCK, &handled, wait_mask) != 0)
        return -1;
    /* The mask inherited from our parent might block some of them too. */
    for (size_t i = 0; i < SERVER_HANDLED_SIGNALS; i++)
        sigdelset(wait_mask, server_handled_signals[i]);
    return 0;
}

/*
 * Runs the step's setup() with the signals unblocked, so that a stop signal
 * during a long zone load ends the process at once (see
 * server_stop_during_setup) rather than after the load. SIGUSR1 is only
 * noted, and logged once the loop runs.
 */
static int server_setup(const struct server_step *step, const sigset_t *wait_mask)
{
    sigset_t blocked;
    server_starting = 1;
    sigprocmask(SIG_SETMASK, wait_mask, &blocked);
    int status = step->setup(step->ctx);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
    server_starting = 0; /* a stop signal from here on waits, blocked, for the loop */
    return status;
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

/*
 * Lets pending signals in without sleeping: unblocking a pending signal runs
 * its handler before sigprocmask() returns (POSIX), then the old mask blocks
 * it again. pselect() cannot do this while datagrams wait: with the socket
 * readable, Linux returns at once and leaves the signal pending.
 */
static void server_let_signals_in(const sigset_t *wait_mask)
{
    sigset_t blocked;
    sigprocmask(SIG_SETMASK, wait_mask, &blocked);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
}

/* Receives and answers until a stop signal. Returns 0, or 1 on an error. */
static int server_loop(const struct server_step *step, int fd, const sigset_t *wait_mask)
{
    bool more = false; /* the last batch stopped at its bound: the queue may not be empty */
    for (;;) {
        if (more) {
            server_let_signals_in(wait_mask);
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
        if (server_usr1) {
            server_usr1 = 0;
            log_info("SIGUSR1: no statistics to log at this stage; still answering");
        }
        if (server_stop_signal)
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
    return cli_number(value, 1, SERVER_WORKERS_MAX, &server_workers);
}

static const struct cli_extra server_workers_option = {
    "workers", "N", "processes answering on the same port (SO_REUSEPORT; default 1)",
    server_workers_apply};

static void server_on_child(int sig)
{
    (void)sig;
    server_child_ended = 1;
}

/*
 * The parent of --workers N: forks one process per socket in fds[0..n) to
 * answer on it, then only watches. A stop signal is passed on to every
 * worker, SIGUSR1 too; a worker that ends on its own (it should not) stops
 * the others. Returns the exit status: 0 after a stop signal, 1 if a worker
 * failed or could not be started.
 */
static int server_workers_run(const struct server_step *step, const int *fds, unsigned n,
                              const sigset_t *wait_mask)
{
    pid_t pids[SERVER_WORKERS_MAX];
    unsigned started = 0;
    int status = 0;

    /* SIGCHLD is blocked from before the first fork, so an early end is
     * seen by sigsuspend() below, not lost before it. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = server_on_child;
    sigset_t chld, parent_wait = *wait_mask;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigaction(SIGCHLD, &sa, NULL) != 0 || sigprocmask(SIG_BLOCK, &chld, NULL) != 0) {
        log_error("cannot watch the workers: %s", strerror(errno));
        return 1;
    }
    sigdelset(&parent_wait, SIGCHLD);
    fflush(NULL); /* nothing buffered may be written twice */

    for (; started < n; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            log_error("cannot start worker %u: %s", started + 1, strerror(errno));
            status = 1;
            break;
        }
        if (pid == 0) {
            /* The worker: its own socket, the loop, and nothing of the parent's job. */
            sa.sa_handler = SIG_DFL;
            sigaction(SIGCHLD, &sa, NULL);
            for (unsigned i = 0; i < n; i++) {
                if (i != started)
                    close(fds[i]);
            }
            int loop_status = server_loop(step, fds[started], wait_mask);
            close(fds[started]);
            exit(loop_status); /* the parent logs the stop */
        }
        pids[started] = pid;
    }

    /* Sleeps until a signal: a stop, SIGUSR1, or a worker's end. */
    while (status == 0 && !server_stop_signal && !server_child_ended) {
        sigsuspend(&parent_wait);
        if (server_usr1) {
            server_usr1 = 0;
            for (unsigned i = 0; i < started; i++)
                kill(pids[i], SIGUSR1);
        }
    }
    if (server_child_ended && !server_stop_signal) {
        log_error("a worker ended unexpectedly: stopping the others");
        status = 1;
    }
    int stop = server_stop_signal ? server_stop_signal : SIGTERM;
    for (unsigned i = 0; i < started; i++)
        kill(pids[i], stop);
    /* One wait per worker started; each ends within a batch of its signal. */
    for (unsigned i = 0; i < started; i++) {
        int ws;
        while (waitpid(pids[i], &ws, 0) < 0 && errno == EINTR)
            continue; /* a signal during the wait: wait on */
        if (WIFEXITED(ws) && WEXITSTATUS(ws) != 0)
            status = 1;
    }
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
    if (server_signals(&wait_mask) != 0) {
        log_error("cannot install signal handlers: %s", strerror(errno));
        return 1;
    }
    int fds[SERVER_WORKERS_MAX];
    unsigned n_fds = (unsigned)server_workers;
    if (n_fds == 1) {
        fds[0] = server_open(&addr);
        if (fds[0] < 0)
            return 1;
    } else if (server_open_shared(&addr, fds, n_fds) != 0) {
        return 1;
    }
    if (step->setup) {
        int status = server_setup(step, &wait_mask);
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
        status = server_workers_run(step, fds, n_fds, &wait_mask);
        for (unsigned i = 0; i < n_fds; i++)
            close(fds[i]);
    }
    if (status == 0)
        log_info("stopped by %s%s", server_signal_name(server_stop_signal),
                 server_stop_reason(server_stop_signal));
    return status;
}
