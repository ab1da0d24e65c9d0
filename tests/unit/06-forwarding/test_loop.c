/* test_loop.c: unit tests of steps/06-forwarding/loop.c — the timer heap and poll() dispatch. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "loop.h"
#include "tests.h"

/*
 * A test that could hang if the loop is wrong (a poll() with no timeout, a
 * timer that fires forever) arms an alarm first: SIGALRM's default action
 * ends the binary, with "Alarm clock", instead of leaving `make unit` stuck.
 */
enum { WATCHDOG_SECONDS = 10 };

/* The fake clock: a test sets fake_now, and the loop reads it. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

/* A loop on the fake clock, with time starting at `start`. */
static void fake_loop(struct loop *l, uint64_t start)
{
    fake_now = start;
    EXPECT_INT(loop_init(l, fake_clock), 0);
    EXPECT_UINT(loop_now(l), start);
}

/* Timers ----------------------------------------------------------------------- */

/* A timer that records when it fired, and the order timers fired in. */
struct probe {
    struct loop *l;
    struct loop_timer t;
    int id;
    unsigned fired;
    uint64_t fired_at;    /* loop_now() when it last fired */
    struct probe *victim; /* a timer its callback stops, or NULL */
    bool restart;         /* its callback restarts it with 0 ms */
    unsigned stop_every;  /* its callback calls loop_stop() every this many firings, or 0 */
};

enum { FIRE_LOG_MAX = 64 };
static int fire_log[FIRE_LOG_MAX];
static size_t n_fire_log;

static void probe_fire(void *ctx)
{
    struct probe *p = ctx;
    p->fired++;
    p->fired_at = loop_now(p->l);
    if (n_fire_log < FIRE_LOG_MAX)
        fire_log[n_fire_log++] = p->id;
    if (p->victim != NULL)
        loop_timer_stop(p->l, &p->victim->t);
    if (p->restart)
        EXPECT_INT(loop_timer_start(p->l, &p->t, 0, probe_fire, p), 0);
    if (p->stop_every != 0 && p->fired % p->stop_every == 0)
        loop_stop(p->l);
}

static void probe_init(struct probe *p, struct loop *l, int id)
{
    memset(p, 0, sizeof *p);
    p->l = l;
    p->id = id;
    loop_timer_init(&p->t);
    n_fire_log = 0;
}

static void probe_start(struct probe *p, uint64_t after_ms)
{
    EXPECT_INT(loop_timer_start(p->l, &p->t, after_ms, probe_fire, p), 0);
    CU_ASSERT_TRUE(loop_timer_running(&p->t));
}

/* The ids in fire_log are `expected`, in that order. */
static void expect_log(const int *expected, size_t n, const char *file, unsigned line)
{
    test_expect_uint(n_fire_log, n, "timers fired", file, line);
    for (size_t i = 0; i < n && i < n_fire_log; i++)
        test_expect_int(fire_log[i], expected[i], "id of the timer that fired", file, line);
}
#define EXPECT_LOG(...)                                                                            \
    do {                                                                                           \
        static const int want_[] = {__VA_ARGS__};                                                  \
        expect_log(want_, sizeof want_ / sizeof want_[0], __FILE__, __LINE__);                     \
    } while (0)

static void test_timers_fire_in_due_order(void)
{
    struct loop l;
    fake_loop(&l, 1000);
    struct probe a, b, c;
    probe_init(&a, &l, 1);
    probe_init(&b, &l, 2);
    probe_init(&c, &l, 3);
    probe_start(&a, 30);
    probe_start(&b, 10);
    probe_start(&c, 20);
    EXPECT_UINT(b.t.due, 1010);

    fake_now = 1009; /* one millisecond early: nothing */
    EXPECT_UINT(loop_fire_timers(&l), 0);
    EXPECT_UINT(n_fire_log, 0);
    fake_now = 1010;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_LOG(2);
    EXPECT_UINT(b.fired_at, 1010);
    CU_ASSERT_FALSE(loop_timer_running(&b.t));
    fake_now = 1029;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_LOG(2, 3);
    fake_now = 1030;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_LOG(2, 3, 1);
    EXPECT_UINT(loop_fire_timers(&l), 0); /* each fires once */
    EXPECT_UINT(l.n_timers, 0);

    /* All due at once: still earliest first. */
    n_fire_log = 0;
    probe_start(&a, 5);
    probe_start(&b, 3);
    probe_start(&c, 4);
    fake_now += 100;
    EXPECT_UINT(loop_fire_timers(&l), 3);
    EXPECT_LOG(2, 3, 1);
    loop_free(&l);
}

static void test_timer_stop(void)
{
    struct loop l;
    fake_loop(&l, 0);
    struct probe a, b, c;
    probe_init(&a, &l, 1);
    probe_init(&b, &l, 2);
    probe_init(&c, &l, 3);
    probe_start(&a, 10);
    probe_start(&b, 20);
    probe_start(&c, 30);
    loop_timer_stop(&l, &b.t);
    CU_ASSERT_FALSE(loop_timer_running(&b.t));
    EXPECT_UINT(l.n_timers, 2);
    loop_timer_stop(&l, &b.t); /* not running: nothing happens */
    EXPECT_UINT(l.n_timers, 2);
    fake_now = 100;
    EXPECT_UINT(loop_fire_timers(&l), 2);
    EXPECT_LOG(1, 3);
    EXPECT_UINT(b.fired, 0);

    /* Stopping a timer never started (only initialized) does nothing either. */
    struct probe d;
    probe_init(&d, &l, 4);
    loop_timer_stop(&l, &d.t);
    CU_ASSERT_FALSE(loop_timer_running(&d.t));
    loop_free(&l);
}

static void test_timer_restart_moves_it(void)
{
    struct loop l;
    fake_loop(&l, 0);
    struct probe a, b, c;
    probe_init(&a, &l, 1);
    probe_init(&b, &l, 2);
    probe_init(&c, &l, 3);
    probe_start(&a, 10);
    probe_start(&b, 20);
    probe_start(&c, 50);
    probe_start(&a, 30); /* later than it was */
    probe_start(&c, 5);  /* earlier than it was */
    /* Restarting does not add a second entry. */
    EXPECT_UINT(l.n_timers, 3);
    fake_now = 10;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_LOG(3);
    fake_now = 25;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_LOG(3, 2);
    CU_ASSERT_TRUE(loop_timer_running(&a.t));
    fake_now = 30;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_LOG(3, 2, 1);
    EXPECT_UINT(a.fired, 1);
    loop_free(&l);
}

static void test_timer_callback_stops_another(void)
{
    struct loop l;
    fake_loop(&l, 0);
    struct probe a, b;
    probe_init(&a, &l, 1);
    probe_init(&b, &l, 2);
    /* Both due at 10, and each stops the other: whichever fires first, the
     * other must not fire, although it was due when the firing began. */
    a.victim = &b;
    b.victim = &a;
    probe_start(&a, 10);
    probe_start(&b, 10);
    fake_now = 10;
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_UINT(a.fired + b.fired, 1);
    CU_ASSERT_FALSE(loop_timer_running(&a.t));
    CU_ASSERT_FALSE(loop_timer_running(&b.t));
    EXPECT_UINT(l.n_timers, 0);
    loop_free(&l);
}

static void test_timer_restarting_itself_with_0_ms(void)
{
    struct loop l;
    fake_loop(&l, 0);
    struct probe idle[5];
    for (size_t i = 0; i < 5; i++) {
        probe_init(&idle[i], &l, 10 + (int)i);
        probe_start(&idle[i], 1000);
    }
    struct probe a, next;
    probe_init(&a, &l, 1);
    probe_init(&next, &l, 2);
    a.restart = true;
    probe_start(&a, 1);
    probe_start(&next, 2); /* due 1 ms later: not due yet, so not part of the round */
    fake_now = 1;
    alarm(WATCHDOG_SECONDS);
    /* Once per call: it is due again at once, but was not due again when the
     * call began. */
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_UINT(a.fired, 1);
    CU_ASSERT_TRUE(loop_timer_running(&a.t));
    EXPECT_UINT(a.t.due, 1);
    EXPECT_UINT(loop_fire_timers(&l), 1);
    EXPECT_UINT(a.fired, 2);
    /* loop_run_once() does not wait for a due timer, and returns too. */
    EXPECT_INT(loop_run_once(&l, -1), 0);
    EXPECT_UINT(a.fired, 3);
    alarm(0);
    for (size_t i = 0; i < 5; i++)
        EXPECT_UINT(idle[i].fired, 0);
    EXPECT_UINT(next.fired, 0);
    loop_timer_stop(&l, &a.t);
    loop_free(&l);
}

/* The 1000-timer test: each records that it fired, and checks the time. */
struct rprobe {
    struct loop_timer t;
    uint64_t due;
    unsigned fired;
};
static struct loop *rand_loop;
static uint64_t rand_prev_now; /* the time of the previous loop_fire_timers() */
static uint64_t rand_last_due; /* the due time of the last timer that fired */
static unsigned rand_early, rand_late, rand_out_of_order, rand_n_fired;

static void rprobe_fire(void *ctx)
{
    struct rprobe *p = ctx;
    uint64_t now = loop_now(rand_loop);
    p->fired++;
    rand_n_fired++;
    if (p->due > now)
        rand_early++;
    if (p->due <= rand_prev_now) /* was due at the previous call already */
        rand_late++;
    if (p->due < rand_last_due)
        rand_out_of_order++;
    rand_last_due = p->due;
}

/* xorshift32: the same numbers on every platform, unlike rand(). */
static uint32_t xorshift(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static void test_timer_heap_random(void)
{
    enum { N = 1000, SPAN = 5000, STEP = 37 };
    static struct rprobe p[N];
    struct loop l;
    fake_loop(&l, 0);
    rand_loop = &l;
    rand_prev_now = rand_last_due = 0;
    rand_early = rand_late = rand_out_of_order = rand_n_fired = 0;
    uint32_t seed = 12345;
    for (size_t i = 0; i < N; i++) {
        memset(&p[i], 0, sizeof p[i]);
        loop_timer_init(&p[i].t);
        p[i].due = 1 + xorshift(&seed) % SPAN; /* 1 and up: none due at 0 */
        EXPECT_INT(loop_timer_start(&l, &p[i].t, p[i].due, rprobe_fire, &p[i]), 0);
    }
    /* Restart a tenth (to new random times) and stop another tenth, so
     * that removal from the middle of the heap is exercised too. */
    size_t stopped = 0;
    for (size_t i = 0; i < N; i += 10) {
        p[i].due = 1 + xorshift(&seed) % SPAN;
        EXPECT_INT(loop_timer_start(&l, &p[i].t, p[i].due, rprobe_fire, &p[i]), 0);
        loop_timer_stop(&l, &p[i + 5].t);
        stopped++;
    }
    EXPECT_UINT(l.n_timers, N - stopped);
    /* Bounded: SPAN / STEP + 2 calls reach past the last due time. */
    for (fake_now = 0; fake_now <= SPAN + STEP; fake_now += STEP) {
        loop_fire_timers(&l);
        rand_prev_now = fake_now;
    }
    EXPECT_UINT(rand_n_fired, N - stopped);
    EXPECT_UINT(rand_early, 0);
    EXPECT_UINT(rand_late, 0);
    EXPECT_UINT(rand_out_of_order, 0);
    EXPECT_UINT(l.n_timers, 0);
    unsigned wrong = 0;
    for (size_t i = 0; i < N; i++)
        wrong += p[i].fired != (i % 10 == 5 ? 0u : 1u);
    EXPECT_UINT(wrong, 0);
    loop_free(&l);
}

static void test_timer_huge_delay(void)
{
    struct loop l;
    fake_loop(&l, 500);
    struct probe a;
    probe_init(&a, &l, 1);
    probe_start(&a, UINT64_MAX); /* saturates instead of wrapping to 499 */
    EXPECT_UINT(a.t.due, UINT64_MAX);
    fake_now = UINT64_MAX - 1;
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    alarm(0);
    EXPECT_UINT(a.fired, 0);
    loop_free(&l);
}

static void test_loop_free_idles_timers(void)
{
    struct loop l;
    fake_loop(&l, 0);
    struct probe a, b;
    probe_init(&a, &l, 1);
    probe_init(&b, &l, 2);
    probe_start(&a, 10);
    probe_start(&b, 20);
    loop_free(&l);
    CU_ASSERT_FALSE(loop_timer_running(&a.t));
    CU_ASSERT_FALSE(loop_timer_running(&b.t));
    CU_ASSERT_PTR_NULL(l.heap);
    EXPECT_UINT(l.n_timers, 0);
}

/* Watched sockets ---------------------------------------------------------------- */

/* A pipe whose read end is watched; its callback reads one byte. */
struct fd_probe {
    struct loop *l;
    int rfd, wfd;
    unsigned calls;
    int fd_seen;
    long last_read; /* what read() returned in the last call */
    /* What its callback does after the read, in this order: */
    struct fd_probe **victims; /* unwatches these n_victims pipes, in order */
    size_t n_victims;
    struct fd_probe *adopt; /* watches these n_adopt pipes */
    size_t n_adopt;
    bool unwatch_self; /* unwatches its own fd */
    bool stop;         /* calls loop_stop() */
};

static void fd_probe_cb(void *ctx, int fd);

/* A pipe with a non-blocking read end: a callback called when nothing is
 * there to read gets EAGAIN (and the test counts the call) instead of hanging. */
static void fd_probe_init(struct fd_probe *p, struct loop *l)
{
    memset(p, 0, sizeof *p);
    p->l = l;
    p->fd_seen = -1;
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    CU_ASSERT_FATAL(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    p->rfd = fds[0];
    p->wfd = fds[1];
}

static void fd_probe_watch(struct fd_probe *p)
{
    EXPECT_INT(loop_watch(p->l, p->rfd, fd_probe_cb, p), 0);
}

/* Makes the read end readable. */
static void fd_probe_poke(struct fd_probe *p)
{
    EXPECT_INT(write(p->wfd, "x", 1), 1);
}

static void fd_probe_close(struct fd_probe *p)
{
    loop_unwatch(p->l, p->rfd);
    close(p->rfd);
    if (p->wfd >= 0)
        close(p->wfd);
}

static void fd_probe_cb(void *ctx, int fd)
{
    struct fd_probe *p = ctx;
    p->calls++;
    p->fd_seen = fd;
    char c;
    p->last_read = (long)read(fd, &c, 1);
    for (size_t i = 0; i < p->n_victims; i++)
        loop_unwatch(p->l, p->victims[i]->rfd);
    for (size_t i = 0; i < p->n_adopt; i++)
        fd_probe_watch(&p->adopt[i]);
    if (p->unwatch_self)
        loop_unwatch(p->l, fd);
    if (p->stop)
        loop_stop(p->l);
}

static void test_fd_readable_calls_back(void)
{
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe p;
    fd_probe_init(&p, &l);
    fd_probe_watch(&p);
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 0), 0); /* nothing to read yet */
    EXPECT_UINT(p.calls, 0);
    fd_probe_poke(&p);
    EXPECT_INT(loop_run_once(&l, 5000), 0); /* returns as soon as it is readable */
    alarm(0);
    EXPECT_UINT(p.calls, 1);
    EXPECT_INT(p.fd_seen, p.rfd);
    EXPECT_INT(p.last_read, 1);
    EXPECT_INT(loop_run_once(&l, 0), 0); /* the byte was read: not called again */
    EXPECT_UINT(p.calls, 1);
    fd_probe_close(&p);
    EXPECT_UINT(l.n_watch, 0);
    loop_free(&l);
}

static void test_fd_hangup_calls_back(void)
{
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe p;
    fd_probe_init(&p, &l);
    close(p.wfd); /* the reader sees POLLHUP, and read() returns 0 */
    p.wfd = -1;
    p.unwatch_self = true;
    fd_probe_watch(&p);
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    alarm(0);
    EXPECT_UINT(p.calls, 1);
    EXPECT_INT(p.last_read, 0);
    EXPECT_UINT(l.n_watch, 0);
    fd_probe_close(&p);
    loop_free(&l);
}

static void test_fd_unwatch_other_in_callback(void)
{
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe a, b;
    fd_probe_init(&a, &l);
    fd_probe_init(&b, &l);
    struct fd_probe *a_victims[] = {&b}, *b_victims[] = {&a};
    a.victims = a_victims;
    a.n_victims = 1;
    b.victims = b_victims;
    b.n_victims = 1;
    fd_probe_watch(&a);
    fd_probe_watch(&b);
    fd_probe_poke(&a);
    fd_probe_poke(&b);
    /* Both are readable, and whichever is called first unwatches the other,
     * which then must not be called. */
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    EXPECT_UINT(a.calls + b.calls, 1);
    EXPECT_UINT(l.n_watch, 1);
    /* The unwatched one still has its byte, but nobody is called for it. */
    EXPECT_INT(loop_run_once(&l, 0), 0);
    alarm(0);
    EXPECT_UINT(a.calls + b.calls, 1);
    fd_probe_close(&a);
    fd_probe_close(&b);
    loop_free(&l);
}

static void test_fd_unwatch_self_in_callback(void)
{
    enum { N = 6 };
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe p[N];
    for (size_t i = 0; i < N; i++) {
        fd_probe_init(&p[i], &l);
        p[i].unwatch_self = true;
        fd_probe_watch(&p[i]);
    }
    /* Every other one readable: each unwatches itself, so the last entry
     * (readable or not, called already or not) moves into its hole. */
    for (size_t i = 0; i < N; i += 2)
        fd_probe_poke(&p[i]);
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    for (size_t i = 0; i < N; i++)
        EXPECT_UINT(p[i].calls, i % 2 == 0 ? 1 : 0);
    EXPECT_UINT(l.n_watch, N / 2);
    /* The others are still watched, each once. */
    for (size_t i = 1; i < N; i += 2)
        fd_probe_poke(&p[i]);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    alarm(0);
    for (size_t i = 0; i < N; i++)
        EXPECT_UINT(p[i].calls, 1);
    EXPECT_UINT(l.n_watch, 0);
    for (size_t i = 0; i < N; i++)
        fd_probe_close(&p[i]);
    loop_free(&l);
}

static void test_fd_watch_in_callback(void)
{
    enum { N = 20 }; /* more than the first capacity: the arrays grow mid-dispatch */
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe a;
    struct fd_probe adopted[N];
    fd_probe_init(&a, &l);
    for (size_t i = 0; i < N; i++) {
        fd_probe_init(&adopted[i], &l);
        adopted[i].unwatch_self = true;
        fd_probe_poke(&adopted[i]); /* readable before they are watched */
    }
    a.adopt = adopted;
    a.n_adopt = N;
    a.unwatch_self = true;
    fd_probe_watch(&a);
    fd_probe_poke(&a);
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    EXPECT_UINT(a.calls, 1);
    EXPECT_UINT(l.n_watch, N);
    /* poll() did not look at them in this wake-up: they wait for the next. */
    unsigned early = 0;
    for (size_t i = 0; i < N; i++)
        early += adopted[i].calls;
    EXPECT_UINT(early, 0);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    alarm(0);
    for (size_t i = 0; i < N; i++) {
        EXPECT_UINT(adopted[i].calls, 1);
        EXPECT_INT(adopted[i].last_read, 1);
    }
    EXPECT_UINT(l.n_watch, 0);
    fd_probe_close(&a);
    for (size_t i = 0; i < N; i++)
        fd_probe_close(&adopted[i]);
    loop_free(&l);
}

static void test_fd_mixed_changes_in_callback(void)
{
    /* A, B, C, D watched in that order, only D readable. D's callback
     * unwatches A and itself, and watches X (readable already): the array
     * shrinks below where the walk is, and X may land in a slot the walk has
     * still to visit. X must wait for the next wake-up, A must not be called. */
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe p[4], x;
    for (size_t i = 0; i < 4; i++) {
        fd_probe_init(&p[i], &l);
        fd_probe_watch(&p[i]);
    }
    fd_probe_init(&x, &l);
    fd_probe_poke(&x);
    x.unwatch_self = true;
    struct fd_probe *only_a[] = {&p[0]};
    p[3].victims = only_a;
    p[3].n_victims = 1;
    p[3].adopt = &x;
    p[3].n_adopt = 1;
    p[3].unwatch_self = true;
    fd_probe_poke(&p[3]);
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    EXPECT_UINT(p[3].calls, 1);
    EXPECT_UINT(x.calls, 0);
    EXPECT_UINT(p[0].calls + p[1].calls + p[2].calls, 0);
    EXPECT_UINT(l.n_watch, 2 + 1); /* B, C and X */
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    EXPECT_UINT(x.calls, 1);
    EXPECT_INT(x.last_read, 1);
    EXPECT_UINT(l.n_watch, 2);
    for (size_t i = 0; i < 4; i++)
        fd_probe_close(&p[i]);
    fd_probe_close(&x);

    /* The last one's callback unwatches everything, itself included: the
     * walk must end cleanly on an empty array. */
    for (size_t i = 0; i < 4; i++) {
        fd_probe_init(&p[i], &l);
        fd_probe_watch(&p[i]);
    }
    struct fd_probe *all[] = {&p[0], &p[1], &p[2], &p[3]};
    p[3].victims = all;
    p[3].n_victims = 4;
    fd_probe_poke(&p[3]);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    EXPECT_UINT(p[3].calls, 1);
    EXPECT_UINT(p[0].calls + p[1].calls + p[2].calls, 0);
    EXPECT_UINT(l.n_watch, 0);
    for (size_t i = 0; i < 4; i++)
        fd_probe_close(&p[i]);

    /* B and D readable, and D's callback unwatches C, A and then itself:
     * the array shrinks to B alone, moved to A's old place. B is still owed
     * its call, exactly one, wherever it went. */
    for (size_t i = 0; i < 4; i++) {
        fd_probe_init(&p[i], &l);
        fd_probe_watch(&p[i]);
    }
    struct fd_probe *c_then_a[] = {&p[2], &p[0]};
    p[3].victims = c_then_a;
    p[3].n_victims = 2;
    p[3].unwatch_self = true;
    fd_probe_poke(&p[1]);
    fd_probe_poke(&p[3]);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    alarm(0);
    EXPECT_UINT(p[3].calls, 1);
    EXPECT_UINT(p[1].calls, 1);
    EXPECT_UINT(p[0].calls + p[2].calls, 0);
    EXPECT_UINT(l.n_watch, 1);
    for (size_t i = 0; i < 4; i++)
        fd_probe_close(&p[i]);
    loop_free(&l);
}

static void test_fd_closed_while_watched(void)
{
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe p;
    fd_probe_init(&p, &l);
    fd_probe_watch(&p);
    /* The bug the loop guards against: closed without loop_unwatch(). poll()
     * says POLLNVAL; the loop warns (silenced here) and forgets the fd. */
    close(p.rfd);
    close(p.wfd);
    enum log_level saved = log_threshold;
    log_threshold = LOG_ERROR;
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, 5000), 0);
    alarm(0);
    log_threshold = saved;
    EXPECT_UINT(p.calls, 0);
    EXPECT_UINT(l.n_watch, 0);
    loop_free(&l);
}

static void test_fd_watch_bookkeeping(void)
{
    enum { N = 100, FIRST_FD = 1000 }; /* never polled: the fds need not be open */
    struct loop l;
    fake_loop(&l, 0);
    int ctx[N];
    for (int i = 0; i < N; i++)
        EXPECT_INT(loop_watch(&l, FIRST_FD + i, fd_probe_cb, &ctx[i]), 0);
    EXPECT_UINT(l.n_watch, N);
    CU_ASSERT_TRUE(l.cap_watch >= N);
    /* Watching again replaces the callback's context, and adds nothing. */
    int other;
    EXPECT_INT(loop_watch(&l, FIRST_FD + 7, fd_probe_cb, &other), 0);
    EXPECT_UINT(l.n_watch, N);
    for (int i = 0; i < N; i += 2)
        loop_unwatch(&l, FIRST_FD + i);
    loop_unwatch(&l, FIRST_FD + N); /* never watched: nothing happens */
    EXPECT_UINT(l.n_watch, N / 2);
    /* What remains is the odd fds, each once, poll()'s array beside the callbacks. */
    unsigned seen[N] = {0};
    unsigned wrong = 0;
    for (size_t i = 0; i < l.n_watch; i++) {
        int fd = l.watch[i].fd;
        if (fd < FIRST_FD || fd >= FIRST_FD + N || (fd - FIRST_FD) % 2 == 0 || l.pfd[i].fd != fd ||
            l.pfd[i].events != POLLIN) {
            wrong++;
            continue;
        }
        seen[fd - FIRST_FD]++;
        void *want = fd == FIRST_FD + 7 ? (void *)&other : (void *)&ctx[fd - FIRST_FD];
        wrong += l.watch[i].ctx != want;
    }
    EXPECT_UINT(wrong, 0);
    for (int i = 1; i < N; i += 2)
        EXPECT_UINT(seen[i], 1);
    loop_free(&l);
    CU_ASSERT_PTR_NULL(l.pfd);
    CU_ASSERT_PTR_NULL(l.watch);
    EXPECT_UINT(l.n_watch, 0);
}

/* Waiting ----------------------------------------------------------------------- */

static void test_wait_bounded_by_timer(void)
{
    struct loop l;
    fake_loop(&l, 100);
    struct probe a;
    probe_init(&a, &l, 1);
    probe_start(&a, 5);
    /* The fake clock stands still: poll() must wait ~5 ms (real) for the
     * timer and come back, and the timer must not fire: it is not due. */
    uint64_t start = loop_monotonic_ms();
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run_once(&l, -1), 0);
    EXPECT_UINT(a.fired, 0);
    CU_ASSERT_TRUE(loop_monotonic_ms() - start >= 4);
    fake_now = 105;
    EXPECT_INT(loop_run_once(&l, -1), 0);
    EXPECT_UINT(a.fired, 1);
    EXPECT_UINT(a.fired_at, 105);

    /* max_wait_ms bounds the wait when the timer is far away. */
    probe_start(&a, 100000);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    start = loop_monotonic_ms();
    EXPECT_INT(loop_run_once(&l, 20), 0);
    CU_ASSERT_TRUE(loop_monotonic_ms() - start >= 15);
    EXPECT_UINT(a.fired, 1);

    /* Time moved while nobody looked: the wait is computed from the clock
     * now, not from the last wake-up's time (which would sleep 100 s). */
    fake_now += 100000;
    start = loop_monotonic_ms();
    EXPECT_INT(loop_run_once(&l, -1), 0);
    alarm(0);
    EXPECT_UINT(a.fired, 2);
    CU_ASSERT_TRUE(loop_monotonic_ms() - start < 1000);
    loop_free(&l);
}

static void test_real_clock_timer_with_idle_fd(void)
{
    struct loop l;
    EXPECT_INT(loop_init(&l, loop_monotonic_ms), 0);
    struct fd_probe idle;
    fd_probe_init(&idle, &l);
    fd_probe_watch(&idle); /* nothing ever written: poll() has a socket to wait on */
    struct probe a;
    probe_init(&a, &l, 1);
    uint64_t start = loop_monotonic_ms();
    probe_start(&a, 20);
    alarm(WATCHDOG_SECONDS);
    /* One wake-up does it: poll() sleeps at least the due time minus the
     * clock (whole milliseconds, rounded down), so the clock read after it
     * has reached the due time. The bound only keeps a broken loop finite. */
    int wakeups = 0;
    while (wakeups < 50 && a.fired == 0) {
        EXPECT_INT(loop_run_once(&l, -1), 0);
        wakeups++;
    }
    alarm(0);
    uint64_t elapsed = loop_monotonic_ms() - start;
    EXPECT_UINT(a.fired, 1);
    EXPECT_INT(wakeups, 1);
    EXPECT_UINT(idle.calls, 0);
    CU_ASSERT_TRUE(elapsed >= 15);
    if (elapsed < 15)
        printf("\n      timer fired after only %llu ms", (unsigned long long)elapsed);
    fd_probe_close(&idle);
    loop_free(&l);
}

static void test_loop_stop_ends_run(void)
{
    struct loop l;
    fake_loop(&l, 0);
    struct probe a;
    probe_init(&a, &l, 1);
    a.restart = true; /* due at every wake-up */
    a.stop_every = 3;
    probe_start(&a, 0);
    alarm(WATCHDOG_SECONDS);
    EXPECT_INT(loop_run(&l), 0);
    /* It ran until the stop, and not one wake-up more. */
    EXPECT_UINT(a.fired, 3);
    /* A stopped loop can run again. */
    EXPECT_INT(loop_run(&l), 0);
    EXPECT_UINT(a.fired, 6);
    loop_timer_stop(&l, &a.t);

    /* A socket's callback can stop it too. */
    struct fd_probe p;
    fd_probe_init(&p, &l);
    p.stop = true;
    fd_probe_watch(&p);
    fd_probe_poke(&p);
    EXPECT_INT(loop_run(&l), 0);
    alarm(0);
    EXPECT_UINT(p.calls, 1);
    fd_probe_close(&p);
    loop_free(&l);
}

static void test_monotonic_clock(void)
{
    uint64_t a = loop_monotonic_ms();
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, NULL);
    uint64_t b = loop_monotonic_ms();
    CU_ASSERT_TRUE(b >= a + 9);
    CU_ASSERT_TRUE(b - a < 5000); /* milliseconds, not micro- or nanoseconds */
}

void test_loop_register(void)
{
    CU_pSuite s = CU_add_suite("loop", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "timers: fire in due order, not before", test_timers_fire_in_due_order);
    CU_add_test(s, "timers: stop the middle one of three", test_timer_stop);
    CU_add_test(s, "timers: restart moves a timer", test_timer_restart_moves_it);
    CU_add_test(s, "timers: a callback stops one due too", test_timer_callback_stops_another);
    CU_add_test(s, "timers: restart itself with 0 ms, no hang",
                test_timer_restarting_itself_with_0_ms);
    CU_add_test(s, "timers: 1000 random, in due order", test_timer_heap_random);
    CU_add_test(s, "timers: a huge delay saturates", test_timer_huge_delay);
    CU_add_test(s, "timers: loop_free() leaves them idle", test_loop_free_idles_timers);
    CU_add_test(s, "fds: readable calls back", test_fd_readable_calls_back);
    CU_add_test(s, "fds: hang-up calls back", test_fd_hangup_calls_back);
    CU_add_test(s, "fds: unwatch another in a callback", test_fd_unwatch_other_in_callback);
    CU_add_test(s, "fds: unwatch itself in a callback", test_fd_unwatch_self_in_callback);
    CU_add_test(s, "fds: watch 20 more in a callback", test_fd_watch_in_callback);
    CU_add_test(s, "fds: unwatch two, watch one in a callback", test_fd_mixed_changes_in_callback);
    CU_add_test(s, "fds: closed while watched is dropped", test_fd_closed_while_watched);
    CU_add_test(s, "fds: watch, rewatch, unwatch 100", test_fd_watch_bookkeeping);
    CU_add_test(s, "wait: bounded by the earliest timer", test_wait_bounded_by_timer);
    CU_add_test(s, "wait: idle fd, 20 ms timer fires", test_real_clock_timer_with_idle_fd);
    CU_add_test(s, "run: loop_stop() ends loop_run()", test_loop_stop_ends_run);
    CU_add_test(s, "clock: monotonic milliseconds", test_monotonic_clock);
}
