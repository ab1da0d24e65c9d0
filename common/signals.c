/* signals: what a server does with each signal it can be sent, and how its loop hears of one. */
#include "signals.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

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
static const int signals_handled[] = {SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGXCPU, SIGUSR1};
enum { SIGNALS_HANDLED = sizeof signals_handled / sizeof signals_handled[0] };

/* Ignored on purpose, as the table says. signals_ignore_all() adds the
 * ones not every system has: SIGIO, SIGPWR, SIGSTKFLT, the real-time ones. */
static const int signals_ignored[] = {
    SIGPIPE, SIGXFSZ, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
};
enum { SIGNALS_IGNORED = sizeof signals_ignored / sizeof signals_ignored[0] };

/* Set by the handler, read by the loop. */
static volatile sig_atomic_t signals_stop_sig; /* the signal that asked to stop, or 0 */
static volatile sig_atomic_t signals_usr1;     /* SIGUSR1 came since the loop last looked */
static volatile sig_atomic_t signals_starting; /* the step's setup() is running */

/* The self-pipe (signals_pipe_open), or -1s while there is none. */
static int signals_pipe[2] = {-1, -1};

const char *signals_name(int sig)
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
    case SIGUSR1:
        return "SIGUSR1";
    default:
        return "a signal";
    }
}

/* What the stop line adds after the signal's name. */
static const char *signals_stop_reason(int sig)
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

void signals_log_stop(void)
{
    log_info("stopped by %s%s", signals_name(signals_stop_sig),
             signals_stop_reason(signals_stop_sig));
}

/* Appends `s` to line[0..*len), cut to fit `cap` - 1 bytes. A loop rather
 * than snprintf(), which a signal handler may not call. */
static void signals_append(char *line, size_t cap, size_t *len, const char *s)
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
static void signals_stop_during_setup(int sig)
{
    if (log_threshold >= LOG_INFO) {
        char line[128];
        size_t len = 0;
        signals_append(line, sizeof line, &len, log_program());
        signals_append(line, sizeof line, &len, " stopped by ");
        signals_append(line, sizeof line, &len, signals_name(sig));
        signals_append(line, sizeof line, &len, " while starting up");
        line[len++] = '\n'; /* signals_append() left room for it */
        ssize_t n = write(STDERR_FILENO, line, len);
        (void)n; /* if stderr is gone there is nowhere to say so */
    }
    _exit(0);
}

/* The handler: sets a flag for the loop, and wakes a loop that polls. */
static void signals_on_signal(int sig)
{
    int saved = errno; /* write() may change it under the code we interrupted */
    if (sig == SIGUSR1) {
        signals_usr1 = 1;
    } else {
        signals_stop_sig = sig;
        if (signals_starting)
            signals_stop_during_setup(sig);
    }
    if (signals_pipe[1] >= 0) {
        ssize_t n = write(signals_pipe[1], "", 1);
        (void)n; /* a full pipe already holds a wake-up */
    }
    errno = saved;
}

/* Ignores `sig` if it still has its default action. A handler installed
 * before main() stays: a profiler's for SIGPROF (gcc -pg), say. */
static int signals_ignore(int sig)
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

/* Ignores the signals of signals_ignored[], then those of the table that
 * only some systems have. */
static int signals_ignore_all(void)
{
    for (size_t i = 0; i < SIGNALS_IGNORED; i++) {
        if (signals_ignore(signals_ignored[i]) != 0)
            return -1;
    }
#ifdef SIGIO
    if (signals_ignore(SIGIO) != 0) /* SIGPOLL on Linux: the same number */
        return -1;
#elif defined(SIGPOLL)
    if (signals_ignore(SIGPOLL) != 0)
        return -1;
#endif
#ifdef SIGPWR
    if (signals_ignore(SIGPWR) != 0)
        return -1;
#endif
#ifdef SIGSTKFLT
    if (signals_ignore(SIGSTKFLT) != 0)
        return -1;
#endif
#ifdef SIGRTMIN
    /* Bounded by SIGRTMAX: some 30 signals (SIGRTMIN and SIGRTMAX are
     * functions in glibc, which keeps the first few for its threads). */
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
        if (signals_ignore(sig) != 0)
            return -1;
    }
#endif
    return 0;
}

void signals_add_handled(sigset_t *set)
{
    for (size_t i = 0; i < SIGNALS_HANDLED; i++)
        sigaddset(set, signals_handled[i]);
}

/*
 * The handled signals stay blocked except while the loop waits with
 * `wait_mask` (pselect() unblocks them atomically): a signal can then never
 * slip in between checking the flag and going to sleep (the classic
 * lost-wakeup race).
 */
int signals_install(sigset_t *wait_mask)
{
    sigset_t handled;
    sigemptyset(&handled);
    signals_add_handled(&handled);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = signals_on_signal; /* no SA_RESTART: a wait must fail with EINTR */
    sa.sa_mask = handled;              /* one handler at a time */
    for (size_t i = 0; i < SIGNALS_HANDLED; i++) {
        if (sigaction(signals_handled[i], &sa, NULL) != 0)
            return -1;
    }
    if (signals_ignore_all() != 0)
        return -1;
    if (sigprocmask(SIG_BLOCK, &handled, wait_mask) != 0)
        return -1;
    /* The mask inherited from our parent might block some of them too. */
    for (size_t i = 0; i < SIGNALS_HANDLED; i++)
        sigdelset(wait_mask, signals_handled[i]);
    return 0;
}

int signals_stopping(void)
{
    return signals_stop_sig;
}

bool signals_take_usr1(void)
{
    if (!signals_usr1)
        return false;
    signals_usr1 = 0;
    return true;
}

void signals_let_in(const sigset_t *wait_mask)
{
    sigset_t blocked;
    sigprocmask(SIG_SETMASK, wait_mask, &blocked);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
}

int signals_run_setup(int (*setup)(void *ctx), void *ctx, const sigset_t *wait_mask)
{
    sigset_t blocked;
    signals_starting = 1;
    sigprocmask(SIG_SETMASK, wait_mask, &blocked);
    int status = setup(ctx);
    sigprocmask(SIG_SETMASK, &blocked, NULL);
    signals_starting = 0; /* a stop signal from here on is the loop's to see */
    return status;
}

/* Both ends non-blocking (a full pipe already holds a wake-up, and the
 * handler must never block) and closed on exec. */
int signals_pipe_open(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(fds[i], F_GETFL);
        if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) < 0 ||
            fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
    }
    /* Handled signals blocked while the ends change, so the handler never
     * writes to a descriptor being closed. */
    sigset_t handled, old;
    sigemptyset(&handled);
    signals_add_handled(&handled);
    sigprocmask(SIG_BLOCK, &handled, &old);
    for (int i = 0; i < 2; i++) {
        if (signals_pipe[i] >= 0)
            close(signals_pipe[i]);
        signals_pipe[i] = fds[i];
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return signals_pipe[0];
}

void signals_pipe_drain(int fd)
{
    char drain[64];
    /* Bounded: the handler writes at most one byte per signal, and a
     * non-blocking read of an empty pipe ends the loop with EAGAIN. */
    while (read(fd, drain, sizeof drain) > 0)
        continue;
}
