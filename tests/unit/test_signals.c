/* test_signals.c: unit tests of common/signals.c — what each signal does, and how a loop hears of
 * it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "signals.h"
#include "tests.h"

/*
 * signals.c keeps its flags and handlers for the whole process, and a stop
 * signal cannot be taken back: each test runs in a child of its own, whose
 * exit status is 0 when every check passed, or the number of the first
 * check that failed. Returns that status, or -(signal) if the child was
 * killed.
 */
static int in_child(int (*checks)(void))
{
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t pid = fork();
    if (pid < 0)
        return -1000;
    if (pid == 0)
        _exit(checks());
    int ws = 0;
    pid_t got;
    while ((got = waitpid(pid, &ws, 0)) < 0 && errno == EINTR)
        continue; /* interrupted: wait on */
    if (got < 0)
        return -1001;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -WTERMSIG(ws);
}

/* A stop signal waits, blocked, until the loop lets signals in. */
static int stop_checks(void)
{
    sigset_t wait_mask;
    if (signals_install(&wait_mask) != 0)
        return 1;
    raise(SIGTERM);
    if (signals_stopping() != 0)
        return 2; /* the handler ran while the signal should be blocked */
    signals_let_in(&wait_mask);
    if (signals_stopping() != SIGTERM)
        return 3;
    if (signals_take_usr1())
        return 4;
    return 0;
}

static void test_stop_waits_until_let_in(void)
{
    EXPECT_INT(in_child(stop_checks), 0);
}

/* SIGUSR1 is reported once, and does not stop. */
static int usr1_checks(void)
{
    sigset_t wait_mask;
    if (signals_install(&wait_mask) != 0)
        return 1;
    raise(SIGUSR1);
    signals_let_in(&wait_mask);
    if (!signals_take_usr1())
        return 2;
    if (signals_take_usr1())
        return 3; /* reported twice */
    if (signals_stopping() != 0)
        return 4;
    return 0;
}

static void test_usr1_is_reported_once(void)
{
    EXPECT_INT(in_child(usr1_checks), 0);
}

static void on_prof(int sig)
{
    (void)sig;
}

static bool action_is(int sig, void (*handler)(int))
{
    struct sigaction sa;
    return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == handler;
}

/* The table's ignored signals are ignored, a handler installed before is
 * kept, and faults keep their default action. */
static int ignored_checks(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prof; /* as a profiler would, before main() */
    if (sigaction(SIGPROF, &sa, NULL) != 0)
        return 1;
    /* A fault's action is left as it was: the default, or a sanitizer's. */
    struct sigaction segv_before, abrt_before;
    if (sigaction(SIGSEGV, NULL, &segv_before) != 0 || sigaction(SIGABRT, NULL, &abrt_before) != 0)
        return 10;
    sigset_t wait_mask;
    if (signals_install(&wait_mask) != 0)
        return 2;
    if (!action_is(SIGPIPE, SIG_IGN) || !action_is(SIGXFSZ, SIG_IGN))
        return 3;
    if (!action_is(SIGUSR2, SIG_IGN) || !action_is(SIGALRM, SIG_IGN))
        return 4;
    if (!action_is(SIGRTMIN, SIG_IGN) || !action_is(SIGRTMAX, SIG_IGN))
        return 5;
    if (!action_is(SIGPROF, on_prof))
        return 6;
    if (!action_is(SIGSEGV, segv_before.sa_handler) || !action_is(SIGABRT, abrt_before.sa_handler))
        return 7;
    if (action_is(SIGTERM, SIG_DFL) || action_is(SIGTERM, SIG_IGN))
        return 8;
    raise(SIGPIPE); /* ignored: the process lives on */
    signals_let_in(&wait_mask);
    return signals_stopping() == 0 ? 0 : 9;
}

static void test_ignored_and_kept(void)
{
    EXPECT_INT(in_child(ignored_checks), 0);
}

static bool readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* The self-pipe: a signal makes it readable, draining empties it, and
 * opening it again replaces the old one (what a forked worker does). */
static int pipe_checks(void)
{
    sigset_t wait_mask;
    if (signals_install(&wait_mask) != 0)
        return 1;
    int fd = signals_pipe_open();
    if (fd < 0)
        return 2;
    sigprocmask(SIG_SETMASK, &wait_mask, NULL); /* as steps 6-9 do: let in for good */
    if (readable(fd))
        return 3;
    raise(SIGUSR1);
    if (!readable(fd))
        return 4;
    signals_pipe_drain(fd);
    if (readable(fd))
        return 5;
    int fd2 = signals_pipe_open();
    if (fd2 < 0 || fd2 == fd)
        return 6;
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
        return 7; /* the old read end should be closed */
    raise(SIGTERM);
    if (!readable(fd2) || signals_stopping() != SIGTERM)
        return 8;
    return 0;
}

static void test_self_pipe(void)
{
    EXPECT_INT(in_child(pipe_checks), 0);
}

static int setup_raises_stop(void *ctx)
{
    (void)ctx;
    raise(SIGTERM);
    return 7; /* never seen: the handler ended the process */
}

/* A stop signal during setup ends the process at once, with status 0. */
static int setup_checks(void)
{
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0 || dup2(devnull, STDERR_FILENO) < 0)
        return 1; /* its log line is not this test's business */
    log_init("test", LOG_INFO);
    sigset_t wait_mask;
    if (signals_install(&wait_mask) != 0)
        return 2;
    signals_run_setup(setup_raises_stop, NULL, &wait_mask);
    return 3;
}

static int setup_returns(void *ctx)
{
    return *(int *)ctx;
}

/* Without a signal, setup's status comes back and the mask is as before. */
static int setup_status_checks(void)
{
    sigset_t wait_mask, before, after;
    if (signals_install(&wait_mask) != 0)
        return 1;
    sigprocmask(SIG_BLOCK, NULL, &before);
    int five = 5;
    if (signals_run_setup(setup_returns, &five, &wait_mask) != 5)
        return 2;
    sigprocmask(SIG_BLOCK, NULL, &after);
    if (sigismember(&before, SIGTERM) != 1 || sigismember(&after, SIGTERM) != 1)
        return 3; /* blocked before and after, as the loop expects */
    return 0;
}

static void test_stop_during_setup(void)
{
    EXPECT_INT(in_child(setup_checks), 0);
    EXPECT_INT(in_child(setup_status_checks), 0);
}

static void test_names(void)
{
    EXPECT_STR(signals_name(SIGTERM), "SIGTERM");
    EXPECT_STR(signals_name(SIGHUP), "SIGHUP");
    EXPECT_STR(signals_name(SIGXCPU), "SIGXCPU");
    EXPECT_STR(signals_name(SIGUSR1), "SIGUSR1");
    EXPECT_STR(signals_name(SIGSEGV), "a signal");
}

void test_signals_register(void)
{
    CU_pSuite s = CU_add_suite("signals", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "a stop signal waits until let in", test_stop_waits_until_let_in);
    CU_add_test(s, "SIGUSR1 is reported once", test_usr1_is_reported_once);
    CU_add_test(s, "ignored signals, a handler kept, faults left", test_ignored_and_kept);
    CU_add_test(s, "the self-pipe", test_self_pipe);
    CU_add_test(s, "a stop signal during setup", test_stop_during_setup);
    CU_add_test(s, "names", test_names);
}
