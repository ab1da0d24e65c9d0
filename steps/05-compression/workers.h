/* workers: --workers N, N processes answering on one port, and the parent that watches them. */
#ifndef DNS_WORKERS_H
#define DNS_WORKERS_H

#include <signal.h>

enum {
    /* --workers: more processes than any machine this runs on has cores. */
    WORKERS_MAX = 64,
};

/*
 * What a worker does, in the child just forked: `me` is its number, 0 to
 * n - 1, the index of the socket it keeps (it closes the others'). Runs with
 * the signal mask the caller of workers_run() had, and with the handlers of
 * signals.c. Returns the worker's exit status.
 */
typedef int workers_fn(void *ctx, unsigned me);

/*
 * Forks n workers, each running work(ctx, me) and exiting with what it
 * returns, each logging as "step-5 worker 1", ... Then the parent only
 * watches: a stop signal is passed on to every worker, SIGUSR1 too, and a
 * worker that ends on its own (it should not) stops the others. Returns once
 * every worker started has ended: 0 after a stop signal (signals_stopping()
 * says which), 1 if a worker failed, was killed or could not be started.
 * `wait_mask` is signals_install()'s: the parent sleeps with it (and SIGCHLD
 * let in too).
 */
int workers_run(unsigned n, workers_fn *work, void *ctx, const sigset_t *wait_mask);

#endif
