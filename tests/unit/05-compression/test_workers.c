/* test_workers.c: unit tests of steps/05-compression/workers.c — forking, passing signals on,
 * waiting. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "signals.h"
#include "tests.h"
#include "workers.h"

enum {
    TEST_WORKERS = 3,
    /* The longest a test waits for a worker's byte: far more than a fork
     * takes, short enough that a hang fails the test rather than the run. */
    TEST_WAIT_MS = 5000,
};

/*
 * Every test runs workers_run() in a child of its own (the supervisor), as
 * server_main() would, so that the test process keeps its signal handlers.
 * Each worker reports on `report` (a pipe to the test): its number when it
 * starts, 'u' for each SIGUSR1, 's' when a stop signal reached it.
 */
struct test_job {
    int report;    /* the pipe's write end */
    int fail_as;   /* the worker that fails at once, or -1 */
    int killed_as; /* the worker killed as it stops (a crash on the way out), or -1 */
    sigset_t wait_mask;
};

static void report(int fd, char c)
{
    ssize_t n = write(fd, &c, 1);
    (void)n; /* the test sees a missing byte */
}

static int test_work(void *ctx, unsigned me)
{
    struct test_job *job = ctx;
    report(job->report, (char)('0' + me));
    if ((int)me == job->fail_as)
        return 3;
    /* Bounded by the signals the test sends: each sleep ends with one. */
    while (!signals_stopping()) {
        sigsuspend(&job->wait_mask);
        if (signals_take_usr1())
            report(job->report, 'u');
    }
    report(job->report, 's');
    if ((int)me == job->killed_as)
        kill(getpid(), SIGKILL);
    return 0;
}

struct supervisor {
    pid_t pid;
    int from_workers; /* the pipe's read end */
};

/* Starts the supervisor of TEST_WORKERS workers. Returns 0, or -1. */
static int start(struct supervisor *sv, int fail_as, int killed_as)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    sv->pid = fork();
    if (sv->pid < 0)
        return -1;
    if (sv->pid == 0) {
        close(fds[0]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, STDERR_FILENO); /* "a worker ended unexpectedly" is expected */
        log_init("test", LOG_INFO);
        struct test_job job = {fds[1], fail_as, killed_as, {{0}}};
        if (signals_install(&job.wait_mask) != 0)
            _exit(100);
        int status = workers_run(TEST_WORKERS, test_work, &job, &job.wait_mask);
        /* 10 + status after a stop signal, 20 + status without one. */
        _exit((signals_stopping() ? 10 : 20) + status);
    }
    close(fds[1]);
    sv->from_workers = fds[0];
    return 0;
}

/* Reads `n` bytes from the workers into `out` (NUL-terminated), each within
 * TEST_WAIT_MS. Returns how many came. */
static size_t collect(const struct supervisor *sv, char *out, size_t n)
{
    size_t got = 0;
    while (got < n) { /* bounded by n, and each round by TEST_WAIT_MS */
        struct pollfd p = {.fd = sv->from_workers, .events = POLLIN};
        if (poll(&p, 1, TEST_WAIT_MS) != 1 || read(sv->from_workers, out + got, 1) != 1)
            break;
        got++;
    }
    out[got] = '\0';
    return got;
}

/* Whether every worker has closed the pipe, i.e. ended, within TEST_WAIT_MS. */
static bool all_ended(const struct supervisor *sv)
{
    char c;
    struct pollfd p = {.fd = sv->from_workers, .events = POLLIN};
    return poll(&p, 1, TEST_WAIT_MS) == 1 && read(sv->from_workers, &c, 1) == 0;
}

/* The supervisor's exit status, or -1 if it was killed or would not end. */
static int finish(struct supervisor *sv)
{
    int ws = 0;
    for (int i = 0; i < TEST_WAIT_MS / 10; i++) { /* bounded: at most TEST_WAIT_MS */
        pid_t got = waitpid(sv->pid, &ws, WNOHANG);
        if (got == sv->pid) {
            close(sv->from_workers);
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
        }
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    kill(sv->pid, SIGKILL);
    waitpid(sv->pid, &ws, 0);
    close(sv->from_workers);
    return -1;
}

/* Sorts the few bytes of `s` in place, so the workers' order does not matter. */
static void sort(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
            char t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    }
}

static void test_stop_reaches_every_worker(void)
{
    struct supervisor sv;
    char seen[16];
    CU_ASSERT_EQUAL_FATAL(start(&sv, -1, -1), 0);
    EXPECT_UINT(collect(&sv, seen, TEST_WORKERS), TEST_WORKERS);
    sort(seen);
    EXPECT_STR(seen, "012"); /* one of each number */
    kill(sv.pid, SIGUSR1);
    EXPECT_UINT(collect(&sv, seen, TEST_WORKERS), TEST_WORKERS);
    EXPECT_STR(seen, "uuu"); /* passed on to each */
    kill(sv.pid, SIGTERM);
    EXPECT_UINT(collect(&sv, seen, TEST_WORKERS), TEST_WORKERS);
    EXPECT_STR(seen, "sss");
    CU_ASSERT_TRUE(all_ended(&sv));
    EXPECT_INT(finish(&sv), 10 + 0); /* stopped by the signal, status 0 */
}

static void test_a_worker_that_fails_stops_the_others(void)
{
    struct supervisor sv;
    char seen[16];
    CU_ASSERT_EQUAL_FATAL(start(&sv, 1, -1), 0);
    /* Three numbers, then the two others' stops (SIGTERM from the parent). */
    EXPECT_UINT(collect(&sv, seen, TEST_WORKERS + 2), TEST_WORKERS + 2);
    sort(seen);
    EXPECT_STR(seen, "012ss");
    CU_ASSERT_TRUE(all_ended(&sv));
    EXPECT_INT(finish(&sv), 20 + 1); /* no stop signal asked, status 1 */
}

static void test_a_killed_worker_fails_the_run(void)
{
    struct supervisor sv;
    char seen[16];
    CU_ASSERT_EQUAL_FATAL(start(&sv, -1, 2), 0);
    EXPECT_UINT(collect(&sv, seen, TEST_WORKERS), TEST_WORKERS);
    kill(sv.pid, SIGTERM);
    EXPECT_UINT(collect(&sv, seen, TEST_WORKERS), TEST_WORKERS);
    EXPECT_STR(seen, "sss");
    CU_ASSERT_TRUE(all_ended(&sv));
    EXPECT_INT(finish(&sv), 10 + 1); /* a crash on the way out is a failure, not a clean end */
}

void test_workers_register(void)
{
    CU_pSuite s = CU_add_suite("workers", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "a stop signal and SIGUSR1 reach every worker", test_stop_reaches_every_worker);
    CU_add_test(s, "a worker that fails stops the others",
                test_a_worker_that_fails_stops_the_others);
    CU_add_test(s, "a killed worker fails the run", test_a_killed_worker_fails_the_run);
}
