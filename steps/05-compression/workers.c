/* workers: --workers N, N processes answering on one port, and the parent that watches them. */
#include "workers.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "signals.h"

static volatile sig_atomic_t workers_ended; /* SIGCHLD: a worker ended (the parent only) */

static void workers_on_child(int sig)
{
    (void)sig;
    workers_ended = 1;
}

/* In the child just forked: its own name in the log, SIGCHLD back to its
 * default, the caller's mask back, then the work. Never returns. */
static void workers_child(unsigned me, workers_fn *work, void *ctx, const sigset_t *mask)
{
    static char name[64]; /* the log keeps the pointer */
    snprintf(name, sizeof name, "%s worker %u", log_program(), me + 1);
    log_init(name, log_threshold);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, mask, NULL); /* a signal that came since the fork: now */
    exit(work(ctx, me));                  /* the parent logs the stop */
}

int workers_run(unsigned n, workers_fn *work, void *ctx, const sigset_t *wait_mask)
{
    pid_t pids[WORKERS_MAX];
    unsigned started = 0;
    int status = 0;

    if (n > WORKERS_MAX) {
        log_error("%u workers: at most %d", n, WORKERS_MAX); /* a bug: the option says so */
        return 1;
    }
    /* The handled signals and SIGCHLD are blocked from before the first
     * fork: the parent sees them in sigsuspend() below, never in between. */
    sigset_t blocked, old, parent_wait;
    sigemptyset(&blocked);
    signals_add_handled(&blocked);
    sigaddset(&blocked, SIGCHLD);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = workers_on_child;
    if (sigaction(SIGCHLD, &sa, NULL) != 0 || sigprocmask(SIG_BLOCK, &blocked, &old) != 0) {
        log_error("cannot watch the workers: %s", strerror(errno));
        return 1;
    }
    parent_wait = *wait_mask;
    sigdelset(&parent_wait, SIGCHLD);
    fflush(NULL); /* nothing buffered may be written twice */

    for (; started < n; started++) {
        pid_t pid = fork();
        if (pid < 0) {
            log_error("cannot start worker %u: %s", started + 1, strerror(errno));
            status = 1;
            break;
        }
        if (pid == 0)
            workers_child(started, work, ctx, &old);
        pids[started] = pid;
    }

    /* Sleeps until a signal: a stop, SIGUSR1, or a worker's end. */
    while (status == 0 && !signals_stopping() && !workers_ended) {
        sigsuspend(&parent_wait);
        if (signals_take_usr1()) {
            for (unsigned i = 0; i < started; i++)
                kill(pids[i], SIGUSR1);
        }
    }
    if (workers_ended && !signals_stopping()) {
        log_error("a worker ended unexpectedly: stopping the others");
        status = 1;
    }
    int stop = signals_stopping() ? signals_stopping() : SIGTERM;
    for (unsigned i = 0; i < started; i++)
        kill(pids[i], stop);
    /* One wait per worker started; each ends within a batch of its signal. */
    for (unsigned i = 0; i < started; i++) {
        int ws = 0;
        pid_t got;
        while ((got = waitpid(pids[i], &ws, 0)) < 0 && errno == EINTR)
            continue; /* a signal during the wait: wait on */
        if (got < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
            status = 1; /* failed, or killed (a crash) */
    }
    return status;
}
