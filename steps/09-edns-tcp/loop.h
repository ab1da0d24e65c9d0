/* loop: one thread waiting on many things at once — sockets (poll) and timers (a heap). */
#ifndef DNS_LOOP_H
#define DNS_LOOP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Steps 1-5 answer each datagram before reading the next, so one slow answer
 * holds up every client. From step 6 on a handler may have to wait (for an
 * upstream server), and while it waits the server must go on reading. The loop
 * is what waits: it sleeps in poll() until a watched socket is readable (or,
 * from step 9 on, writable) or the earliest timer is due, then calls whoever
 * asked. Nothing in a callback blocks; anything slow is a socket to watch or a
 * timer to set.
 *
 * Time is milliseconds on the monotonic clock (it never jumps when the wall
 * clock is set). The clock is a function the loop calls, so that a unit test
 * can move time forward by hand.
 */

/* Called when `fd` is readable (or has an error to report: read it to find
 * out), or for loop_watch_write(), when it can take more bytes. */
typedef void loop_fd_fn(void *ctx, int fd);
/* Called once when a timer is due. */
typedef void loop_timer_fn(void *ctx);
/* Milliseconds on a clock that never goes back. */
typedef uint64_t loop_clock_fn(void);

/*
 * A timer lives in the caller's own struct (a pending query keeps its timeout
 * in itself), so starting one never allocates. While it runs, the loop's heap
 * points at it: stop it before freeing the memory it lives in.
 */
struct loop_timer {
    uint64_t due; /* loop time at which it fires */
    size_t slot;  /* its index in the loop's heap, or LOOP_TIMER_IDLE */
    loop_timer_fn *fn;
    void *ctx;
};
#define LOOP_TIMER_IDLE ((size_t)-1)

struct loop_watch {
    int fd;
    loop_fd_fn *fn;
    void *ctx;
};

struct loop {
    loop_clock_fn *clock;
    uint64_t now; /* read from the clock when the loop wakes up, before any callback */
    /* Watched sockets: poll()'s array and, at the same index, who to call.
     * Each entry is one direction (events POLLIN or POLLOUT): a socket
     * watched both ways is there twice, which poll() allows. */
    struct pollfd *pfd;
    struct loop_watch *watch;
    size_t n_watch, cap_watch;
    /* Timers: a binary min-heap on `due` (the earliest at [0]). */
    struct loop_timer **heap;
    size_t n_timers, cap_timers;
    bool stopping;
};

/* The monotonic clock, for loop_init() (CLOCK_MONOTONIC, in milliseconds). */
uint64_t loop_monotonic_ms(void);

/* Sets up an empty loop that reads time from `clock`. Returns 0. */
int loop_init(struct loop *l, loop_clock_fn *clock);

/* Frees the loop's arrays (not the sockets: their owners close them). */
void loop_free(struct loop *l);

/* The loop's time, as read at the start of this wake-up. */
static inline uint64_t loop_now(const struct loop *l)
{
    return l->now;
}

/* Calls fn(ctx, fd) whenever `fd` is readable, until loop_unwatch() or
 * loop_unwatch_read(). Returns
 * 0, or -1 if memory ran out (errno ENOMEM). */
int loop_watch(struct loop *l, int fd, loop_fd_fn *fn, void *ctx);

/* Stops watching `fd`, for reading and for writing (call it before closing
 * the socket). Safe from inside any callback, for any fd, including the one
 * being called. */
void loop_unwatch(struct loop *l, int fd);

/*
 * Calls fn(ctx, fd) whenever `fd` can take more bytes (a send() would not
 * block), until loop_unwatch_write() or loop_unwatch(). Independent of
 * loop_watch(): a socket may be watched for reading, writing or both, each
 * with its own callback. Watch for writing only while there is something to
 * send: an idle socket is always writable, and the loop would never sleep.
 * Returns 0, or -1 if memory ran out (errno ENOMEM).
 */
int loop_watch_write(struct loop *l, int fd, loop_fd_fn *fn, void *ctx);

/* Stops calling `fd`'s write callback; its read callback, if any, stays.
 * Safe from inside any callback, as loop_unwatch(). */
void loop_unwatch_write(struct loop *l, int fd);

/* Stops calling `fd`'s read callback; its write callback, if any, stays
 * (a server that stops reading from a client still sends it its replies). */
void loop_unwatch_read(struct loop *l, int fd);

/* Calls fn(ctx) once, `after_ms` milliseconds from loop_now(). Starting a
 * timer that runs restarts it. Returns 0, or -1 if memory ran out. */
int loop_timer_start(struct loop *l, struct loop_timer *t, uint64_t after_ms, loop_timer_fn *fn,
                     void *ctx);

/* Stops a timer; stopping one that is not running does nothing. */
void loop_timer_stop(struct loop *l, struct loop_timer *t);

/* Whether `t` is running. */
static inline bool loop_timer_running(const struct loop_timer *t)
{
    return t->slot != LOOP_TIMER_IDLE;
}

/* Marks a timer as not running: for a struct loop_timer before its first start. */
static inline void loop_timer_init(struct loop_timer *t)
{
    t->slot = LOOP_TIMER_IDLE;
}

/*
 * One wake-up: waits (at most `max_wait_ms`, or until the earliest timer; -1
 * for no limit of its own) for a watched socket or a timer, then calls the
 * callbacks of the sockets that are ready and of the timers that are due.
 * Returns 0, or -1 if poll() failed with anything but EINTR (errno says why).
 */
int loop_run_once(struct loop *l, int max_wait_ms);

/* Calls every timer due at the clock's current time (loop_run_once() does
 * this after poll()). Returns how many fired. Fires at most the timers that
 * were due when it began: one that a callback restarts with 0 ms fires again
 * on the next call, so this always returns. */
size_t loop_fire_timers(struct loop *l);

/* Runs wake-ups until loop_stop(). Returns 0, or -1 as loop_run_once(). */
int loop_run(struct loop *l);

/* Makes loop_run() return once the callback that calls it has returned and
 * the other callbacks of the same wake-up have run. */
void loop_stop(struct loop *l);

#endif
