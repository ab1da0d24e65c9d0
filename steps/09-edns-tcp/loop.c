/* loop: one thread waiting on many things at once — sockets (poll) and timers (a heap). */
#include "loop.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

enum {
    /* Entries an array gets when it first needs room: a server watches its
     * own socket and a few upstream ones, so 8 rarely needs to grow. */
    LOOP_FIRST_CAP = 8,
};

uint64_t loop_monotonic_ms(void)
{
    struct timespec ts;
    /* Cannot fail: CLOCK_MONOTONIC always exists on POSIX.1-2008 systems and
     * `ts` is valid. Whole milliseconds, rounded down: see loop_timeout(). */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads the clock into l->now. A clock must never go back (a timer's due time
 * is computed from now), so a reading earlier than the last one is ignored. */
static void loop_tick(struct loop *l)
{
    uint64_t t = l->clock();
    if (t > l->now)
        l->now = t;
}

int loop_init(struct loop *l, loop_clock_fn *clock)
{
    assert(clock != NULL);
    *l = (struct loop){.clock = clock};
    l->now = clock();
    return 0;
}

void loop_free(struct loop *l)
{
    /* The timers belong to their callers and may outlive the loop: mark
     * them idle so that loop_timer_running() says so. */
    for (size_t i = 0; i < l->n_timers; i++)
        l->heap[i]->slot = LOOP_TIMER_IDLE;
    free(l->pfd);
    free(l->watch);
    free(l->heap);
    l->pfd = NULL;
    l->watch = NULL;
    l->heap = NULL;
    l->n_watch = l->cap_watch = 0;
    l->n_timers = l->cap_timers = 0;
}

/* The capacity after `cap` for an array of `size`-byte items that is full:
 * twice as much (so n additions cost O(n) copying in all), or 0 if the new
 * size in bytes would not fit in a size_t. */
static size_t loop_next_cap(size_t cap, size_t size)
{
    if (cap == 0)
        return LOOP_FIRST_CAP;
    if (cap > SIZE_MAX / 2 / size)
        return 0;
    return cap * 2;
}

/* Watched sockets ------------------------------------------------------------ */

/* The index of `fd`'s entry for `events` (POLLIN or POLLOUT) in the watch
 * arrays, or l->n_watch if it has none. A linear search: a server watches its
 * socket and one per query in flight, and poll() itself already walks the
 * whole array on every wake-up. */
static size_t loop_find_watch(const struct loop *l, int fd, short events)
{
    size_t i = 0;
    /* Bounded by n_watch: each (fd, events) is in the arrays at most once. */
    while (i < l->n_watch && (l->watch[i].fd != fd || l->pfd[i].events != events))
        i++;
    return i;
}

/* Watches `fd` for `events` (POLLIN or POLLOUT): loop_watch() and
 * loop_watch_write(). */
static int loop_add_watch(struct loop *l, int fd, short events, loop_fd_fn *fn, void *ctx)
{
    assert(fd >= 0 && fn != NULL); /* poll() would silently skip a negative fd */
    size_t i = loop_find_watch(l, fd, events);
    if (i < l->n_watch) {
        /* Already watched: the new callback replaces the old one, so an fd
         * is never in the arrays twice for the same events (loop_unwatch()
         * removes it by fd). */
        l->watch[i].fn = fn;
        l->watch[i].ctx = ctx;
        return 0;
    }
    if (l->n_watch == l->cap_watch) {
        size_t cap = loop_next_cap(l->cap_watch, sizeof *l->watch);
        if (cap == 0) {
            errno = ENOMEM;
            return -1;
        }
        /* Each array is stored as soon as it has grown, so a failure of the
         * second realloc() leaks nothing: pfd is merely larger than cap_watch
         * says, and the next attempt reallocates it to the same size. */
        struct pollfd *pfd = realloc(l->pfd, cap * sizeof *pfd);
        if (pfd == NULL) {
            errno = ENOMEM;
            return -1;
        }
        l->pfd = pfd;
        struct loop_watch *watch = realloc(l->watch, cap * sizeof *watch);
        if (watch == NULL) {
            errno = ENOMEM;
            return -1;
        }
        l->watch = watch;
        l->cap_watch = cap;
    }
    /* revents 0: a socket watched from inside a callback is not dispatched
     * in this wake-up (poll() did not look at it), only from the next one. */
    l->pfd[l->n_watch] = (struct pollfd){.fd = fd, .events = events, .revents = 0};
    l->watch[l->n_watch] = (struct loop_watch){.fd = fd, .fn = fn, .ctx = ctx};
    l->n_watch++;
    return 0;
}

int loop_watch(struct loop *l, int fd, loop_fd_fn *fn, void *ctx)
{
    return loop_add_watch(l, fd, POLLIN, fn, ctx);
}

int loop_watch_write(struct loop *l, int fd, loop_fd_fn *fn, void *ctx)
{
    return loop_add_watch(l, fd, POLLOUT, fn, ctx);
}

/* Takes `fd`'s entry for `events` out of the arrays, if it has one. */
static void loop_remove_watch(struct loop *l, int fd, short events)
{
    size_t i = loop_find_watch(l, fd, events);
    if (i == l->n_watch)
        return;
    /* The last entry fills the hole, carrying its revents with it: why this
     * is safe during a dispatch is explained at loop_dispatch(). */
    size_t last = l->n_watch - 1;
    l->pfd[i] = l->pfd[last];
    l->watch[i] = l->watch[last];
    l->n_watch = last;
}

void loop_unwatch(struct loop *l, int fd)
{
    loop_remove_watch(l, fd, POLLIN);
    loop_remove_watch(l, fd, POLLOUT);
}

void loop_unwatch_read(struct loop *l, int fd)
{
    loop_remove_watch(l, fd, POLLIN);
}

void loop_unwatch_write(struct loop *l, int fd)
{
    loop_remove_watch(l, fd, POLLOUT);
}

/*
 * Calls the callback of every socket poll() found ready. Callbacks may watch
 * and unwatch any fd, so the arrays change under the walk (and may move:
 * nothing here keeps a pointer into them across a callback). The walk goes
 * from the last index down to 0 and clears an entry's revents before calling
 * it, which keeps one invariant: every entry still owed a call has revents
 * set and sits below the walk's index i. Then:
 *   - loop_watch() appends with revents 0: never called in this wake-up;
 *   - loop_unwatch() moves the last entry into the hole. If that entry is at
 *     or above i it was visited (or is new): its revents are 0, so wherever
 *     it lands it is not called again. If it is below i, the hole is below
 *     it, so it stays below i and is still called once;
 *   - a removed entry is gone from the arrays, so it is never called.
 * Nothing is skipped and nothing is called twice.
 */
static void loop_dispatch(struct loop *l)
{
    size_t i = l->n_watch;
    /* Down to 0, and i only decreases: at most n_watch steps when poll() returned. */
    while (i > 0) {
        if (i > l->n_watch) {
            /* Callbacks removed entries: those past the end were visited. */
            i = l->n_watch;
            continue;
        }
        i--;
        short revents = l->pfd[i].revents;
        if (revents == 0)
            continue;
        l->pfd[i].revents = 0;
        int fd = l->pfd[i].fd;
        if (revents & POLLNVAL) {
            /* Not an open fd: its owner closed it without loop_unwatch(). It
             * would be reported on every wake-up, so warn once and drop it. */
            log_warn("loop: fd %d was closed while watched (no loop_unwatch): no longer watched",
                     fd);
            loop_unwatch(l, fd);
            continue;
        }
        /* POLLIN or POLLOUT, and also POLLERR and POLLHUP (reported to both
         * entries of an fd watched both ways): the callback's read() or
         * send() gets the error or the end of file, and its owner decides
         * what it means. */
        l->watch[i].fn(l->watch[i].ctx, fd);
    }
}

/* Timers: a binary min-heap ------------------------------------------------- */

/* Puts `t` at heap index `i`, keeping its slot in step. */
static void loop_heap_place(struct loop *l, size_t i, struct loop_timer *t)
{
    l->heap[i] = t;
    t->slot = i;
}

/* Moves the timer at `i` up while its parent is due later. */
static void loop_sift_up(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];
    /* i at least halves each step: at most log2(n_timers) steps. */
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (l->heap[parent]->due <= t->due)
            break;
        loop_heap_place(l, i, l->heap[parent]);
        i = parent;
    }
    loop_heap_place(l, i, t);
}

/* Moves the timer at `i` down while a child is due earlier. */
static void loop_sift_down(struct loop *l, size_t i)
{
    struct loop_timer *t = l->heap[i];
    /* i at least doubles each step: at most log2(n_timers) steps. 2 * i + 1
     * cannot overflow, as i < n_timers <= SIZE_MAX / sizeof(pointer). */
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= l->n_timers)
            break;
        if (child + 1 < l->n_timers && l->heap[child + 1]->due < l->heap[child]->due)
            child++;
        if (t->due <= l->heap[child]->due)
            break;
        loop_heap_place(l, i, l->heap[child]);
        i = child;
    }
    loop_heap_place(l, i, t);
}

/* Whether `t` is in this loop's heap. The slot alone is not trusted: a timer
 * never passed to loop_timer_init() holds garbage there. */
static bool loop_timer_in_heap(const struct loop *l, const struct loop_timer *t)
{
    return t->slot < l->n_timers && l->heap[t->slot] == t;
}

/* Takes `t` out of the heap: the last timer fills its slot. */
static void loop_heap_remove(struct loop *l, struct loop_timer *t)
{
    size_t i = t->slot;
    struct loop_timer *last = l->heap[--l->n_timers];
    t->slot = LOOP_TIMER_IDLE;
    if (last == t)
        return;
    loop_heap_place(l, i, last);
    /* `last` came from a leaf of another branch: it may belong above or
     * below its new place. One of the two calls does nothing. */
    loop_sift_up(l, i);
    loop_sift_down(l, last->slot);
}

int loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t after_ms, loop_timer_fn *fn,
                     void *ctx)
{
    assert(fn != NULL);
    bool running = loop_timer_in_heap(l, t);
    if (!running && l->n_timers == l->cap_timers) {
        size_t cap = loop_next_cap(l->cap_timers, sizeof *l->heap);
        struct loop_timer **heap = cap == 0 ? NULL : realloc(l->heap, cap * sizeof *heap);
        if (heap == NULL) {
            errno = ENOMEM;
            return -1;
        }
        l->heap = heap;
        l->cap_timers = cap;
    }
    /* Saturates rather than wraps: a huge delay means "never", not "now". */
    t->due = after_ms > UINT64_MAX - l->now ? UINT64_MAX : l->now + after_ms;
    t->fn = fn;
    t->ctx = ctx;
    if (running) {
        /* Restarting: the new due time may be earlier or later. */
        loop_sift_up(l, t->slot);
        loop_sift_down(l, t->slot);
        return 0;
    }
    l->heap[l->n_timers] = t;
    t->slot = l->n_timers;
    l->n_timers++;
    loop_sift_up(l, t->slot);
    return 0;
}

void loop_timer_stop(struct loop *l, struct loop_timer *t)
{
    if (loop_timer_in_heap(l, t))
        loop_heap_remove(l, t);
}

/* How many timers in the subtree at heap index `i` are due at `now`. A timer
 * that is not due has none due below it, so the walk stops there: it visits
 * the due timers and their children only, and recurses log2(n_timers) deep. */
static size_t loop_count_due(const struct loop *l, size_t i, uint64_t now)
{
    if (i >= l->n_timers || l->heap[i]->due > now)
        return 0;
    return 1 + loop_count_due(l, 2 * i + 1, now) + loop_count_due(l, 2 * i + 2, now);
}

/*
 * Fires the timers due at l->now, earliest first. Callbacks may start and
 * stop any timer, so the heap changes between calls: each round takes its
 * root afresh. A timer that a callback starts with after_ms 0 (itself, to
 * "run again soon") is due at l->now, so "fire while the root is due" could
 * go on forever. Instead a round fires at most as many timers as were due
 * when it began: a timer due again fires on the next wake-up (poll() then
 * does not wait, as it is due), and this call always returns.
 */
static size_t loop_fire_due(struct loop *l)
{
    uint64_t now = l->now;
    size_t budget = loop_count_due(l, 0, now);
    size_t fired = 0;
    /* Bounded by `budget`, fixed before any callback runs (see above). */
    while (fired < budget && l->n_timers > 0 && l->heap[0]->due <= now) {
        struct loop_timer *t = l->heap[0];
        /* Idle before its callback runs, which may then restart it, or free
         * the memory it lives in: `t` is not touched after the call. */
        loop_heap_remove(l, t);
        fired++;
        t->fn(t->ctx);
    }
    return fired;
}

size_t loop_fire_timers(struct loop *l)
{
    loop_tick(l);
    return loop_fire_due(l);
}

/*
 * How long poll() may sleep: until the earliest timer, and no longer than
 * max_wait_ms (negative: no limit of its own). The clock counts whole
 * milliseconds, rounded down, so waiting due - now ms always reaches `due`
 * on the clock: the wait is never cut short to 0 while the timer is not yet
 * due (which would spin), and a 0 ms wait means a timer fires right after.
 */
static int loop_timeout(const struct loop *l, int max_wait_ms)
{
    if (l->n_timers == 0)
        return max_wait_ms < 0 ? -1 : max_wait_ms;
    uint64_t due = l->heap[0]->due;
    uint64_t wait = due > l->now ? due - l->now : 0;
    if (wait > INT_MAX)
        wait = INT_MAX; /* poll() would wake once in 24 days, and look again */
    if (max_wait_ms >= 0 && (uint64_t)max_wait_ms < wait)
        wait = (uint64_t)max_wait_ms;
    return (int)wait;
}

int loop_run_once(struct loop *l, int max_wait_ms)
{
    loop_tick(l);
    int ready = poll(l->pfd, (nfds_t)l->n_watch, loop_timeout(l, max_wait_ms));
    if (ready < 0 && errno != EINTR)
        return -1;
    /* Callbacks see the time of this wake-up. */
    loop_tick(l);
    /* After EINTR the revents are not to be trusted, but timers may be due. */
    if (ready > 0)
        loop_dispatch(l);
    loop_fire_due(l);
    return 0;
}

int loop_run(struct loop *l)
{
    int status = 0;
    /* Ends when a callback calls loop_stop(), or poll() fails. */
    while (!l->stopping && status == 0)
        status = loop_run_once(l, -1);
    l->stopping = false; /* so that the loop can be run again */
    return status;
}

void loop_stop(struct loop *l)
{
    l->stopping = true;
}
