/* signals: what a server does with each signal it can be sent, and how its loop hears of one. */
#ifndef DNS_SIGNALS_H
#define DNS_SIGNALS_H

#include <signal.h>
#include <stdbool.h>

/*
 * Installs the handlers of the signals that stop the server (SIGINT,
 * SIGTERM, SIGQUIT, SIGHUP, SIGXCPU) and of SIGUSR1, and ignores the
 * signals that mean nothing to it (the table in signals.c says which and
 * why). The handled signals are left blocked; `wait_mask` gets the mask to
 * wait with, which lets them in (pselect(), sigsuspend(), signals_let_in()).
 * Returns 0, or -1 with errno set.
 */
int signals_install(sigset_t *wait_mask);

/* Adds the handled signals to `set` (to block them around a fork, say). */
void signals_add_handled(sigset_t *set);

/* The signal that asked the server to stop, or 0 while none has. */
int signals_stopping(void);

/* Whether SIGUSR1 came since the last call (each one is reported once). */
bool signals_take_usr1(void);

/*
 * Lets pending signals in without sleeping: unblocking a pending signal runs
 * its handler before sigprocmask() returns (POSIX), then the old mask blocks
 * it again. For a loop that goes on answering while datagrams wait, where
 * pselect() would return at once and leave the signal pending.
 */
void signals_let_in(const sigset_t *wait_mask);

/*
 * Runs setup(ctx) with the signals let in (`wait_mask`), so that a stop
 * signal during a long zone load ends the process at once, with a log line
 * and status 0, rather than after the load. SIGUSR1 is only noted. Returns
 * what setup returned.
 */
int signals_run_setup(int (*setup)(void *ctx), void *ctx, const sigset_t *wait_mask);

/*
 * Opens the self-pipe, for a loop that waits in poll() (which cannot let
 * signals in atomically as pselect() does): from now on every handled signal
 * also writes one byte to it, so its read end, returned here, becomes
 * readable. Calling it again (in a forked worker) closes the old pipe and
 * opens one of the process's own. Returns the read end, or -1 with errno set.
 */
int signals_pipe_open(void);

/* Empties the self-pipe's read end after it polled readable. */
void signals_pipe_drain(int fd);

/* "SIGTERM", "SIGHUP", ...: the name of a handled signal. */
const char *signals_name(int sig);

/* Logs the line that ends a stopped server: "stopped by SIGHUP (nothing to reload at this stage)".
 */
void signals_log_stop(void);

#endif
