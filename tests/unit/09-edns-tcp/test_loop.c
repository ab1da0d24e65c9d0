/* test_loop.c: unit tests of steps/09-edns-tcp/loop.c — what step 9 adds: watching for writing. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "loop.h"
#include "tests.h"

/* The timers and reading are step 6's, tested in tests/unit/06-forwarding/. */

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

/* One end of a connected pair of stream sockets, as a TCP connection's, and
 * what its callbacks saw. Both ends are non-blocking, so a callback never
 * hangs the test. */
struct end {
    struct loop *l;
    int fd, peer;
    unsigned reads, writes; /* calls of each callback */
    bool close_on_read;     /* the read callback unwatches the fd (as a close would) */
    bool close_on_write;    /* the write callback does */
    bool stop_writing;      /* the write callback unwatches its own direction only */
    int send_errno;         /* what the write callback's send() failed with, or 0 */
};

static void end_init(struct end *e, struct loop *l)
{
    memset(e, 0, sizeof *e);
    e->l = l;
    int sv[2];
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CU_ASSERT_FATAL(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
    CU_ASSERT_FATAL(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    e->fd = sv[0];
    e->peer = sv[1];
}

static void end_close(struct end *e)
{
    loop_unwatch(e->l, e->fd);
    close(e->fd);
    if (e->peer >= 0)
        close(e->peer);
}

static void end_read(void *ctx, int fd)
{
    struct end *e = ctx;
    e->reads++;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    (void)n; /* what was read does not matter, only that the callback came */
    if (e->close_on_read)
        loop_unwatch(e->l, fd);
}

static void end_write(void *ctx, int fd)
{
    struct end *e = ctx;
    e->writes++;
    if (send(fd, "x", 1, MSG_NOSIGNAL) < 0)
        e->send_errno = errno;
    if (e->close_on_write)
        loop_unwatch(e->l, fd);
    if (e->stop_writing)
        loop_unwatch_write(e->l, fd);
}

/* Drains what the end sent, so that the test's sockets never fill by accident. */
static void end_drain_peer(struct end *e)
{
    char buf[4096];
    /* Ends at EAGAIN: the peer is non-blocking. */
    while (read(e->peer, buf, sizeof buf) > 0)
        continue;
}

static void test_write_calls_back(void)
{
    struct loop l;
    struct end e;
    EXPECT_INT(loop_init(&l, fake_clock), 0);
    end_init(&e, &l);
    EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
    EXPECT_UINT(l.n_watch, 1);
    /* An empty socket can take bytes: called on every wake-up. */
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.writes, 2);
    EXPECT_UINT(e.reads, 0);
    end_drain_peer(&e);
    loop_unwatch_write(&l, e.fd);
    EXPECT_UINT(l.n_watch, 0);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.writes, 2);
    end_close(&e);
    loop_free(&l);
}

static void test_read_and_write_apart(void)
{
    struct loop l;
    struct end e;
    EXPECT_INT(loop_init(&l, fake_clock), 0);
    end_init(&e, &l);
    EXPECT_INT(loop_watch(&l, e.fd, end_read, &e), 0);
    EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
    EXPECT_UINT(l.n_watch, 2); /* one entry per direction */
    /* Watching again replaces the callback: no third entry. */
    EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
    EXPECT_INT(loop_watch(&l, e.fd, end_read, &e), 0);
    EXPECT_UINT(l.n_watch, 2);

    /* Nothing to read: only the write callback. */
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.reads, 0);
    EXPECT_UINT(e.writes, 1);
    /* Something to read too: each callback once. */
    EXPECT_INT(write(e.peer, "q", 1), 1);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.reads, 1);
    EXPECT_UINT(e.writes, 2);

    /* Stop reading (a server whose client has too much waiting): the
     * replies still go out. */
    loop_unwatch_read(&l, e.fd);
    EXPECT_UINT(l.n_watch, 1);
    EXPECT_INT(write(e.peer, "q", 1), 1);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.reads, 1);
    EXPECT_UINT(e.writes, 3);

    /* Read again, stop writing (nothing left to send). */
    EXPECT_INT(loop_watch(&l, e.fd, end_read, &e), 0);
    loop_unwatch_write(&l, e.fd);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.reads, 2);
    EXPECT_UINT(e.writes, 3);

    /* loop_unwatch() takes both out. */
    EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
    loop_unwatch(&l, e.fd);
    EXPECT_UINT(l.n_watch, 0);
    end_drain_peer(&e);
    end_close(&e);
    loop_free(&l);
}

static void test_full_socket_not_writable(void)
{
    struct loop l;
    struct end e;
    EXPECT_INT(loop_init(&l, fake_clock), 0);
    end_init(&e, &l);
    /* Fill it: the peer reads nothing. Ends at EAGAIN (the kernel's buffers
     * are finite; a few hundred KiB on Linux). */
    static const char block[4096];
    size_t filled = 0;
    while (send(e.fd, block, sizeof block, MSG_NOSIGNAL) > 0)
        filled += sizeof block;
    CU_ASSERT(filled > 0);
    EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.writes, 0);
    /* The peer takes it all: room again. */
    end_drain_peer(&e);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(e.writes, 1);
    end_drain_peer(&e);
    end_close(&e);
    loop_free(&l);
}

static void test_write_after_peer_closed(void)
{
    struct loop l;
    struct end e;
    EXPECT_INT(loop_init(&l, fake_clock), 0);
    end_init(&e, &l);
    close(e.peer);
    e.peer = -1;
    e.close_on_write = true;
    EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    /* Called (POLLHUP or POLLERR), and send() says why: EPIPE. */
    EXPECT_UINT(e.writes, 1);
    EXPECT_INT(e.send_errno, EPIPE);
    EXPECT_UINT(l.n_watch, 0);
    end_close(&e);
    loop_free(&l);
}

/* A callback that closes the connection takes both entries out: the other
 * direction, also ready in the same wake-up, is not called after it. The
 * loop calls the later entry first, so both orders are tried. */
static void test_close_in_one_direction_skips_the_other(void)
{
    for (int order = 0; order < 2; order++) {
        struct loop l;
        struct end e;
        EXPECT_INT(loop_init(&l, fake_clock), 0);
        end_init(&e, &l);
        e.close_on_read = e.close_on_write = true;
        if (order == 0) {
            EXPECT_INT(loop_watch(&l, e.fd, end_read, &e), 0);
            EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
        } else {
            EXPECT_INT(loop_watch_write(&l, e.fd, end_write, &e), 0);
            EXPECT_INT(loop_watch(&l, e.fd, end_read, &e), 0);
        }
        EXPECT_INT(write(e.peer, "q", 1), 1); /* both ready */
        EXPECT_INT(loop_run_once(&l, 0), 0);
        EXPECT_UINT(e.reads + e.writes, 1);
        EXPECT_UINT(l.n_watch, 0);
        end_drain_peer(&e);
        end_close(&e);
        loop_free(&l);
    }
}

/* A write callback that stops writing leaves the read entry, which is still
 * called in the same wake-up; and several sockets keep their own entries. */
static void test_stop_writing_keeps_reading(void)
{
    struct loop l;
    struct end a, b;
    EXPECT_INT(loop_init(&l, fake_clock), 0);
    end_init(&a, &l);
    end_init(&b, &l);
    a.stop_writing = b.stop_writing = true;
    EXPECT_INT(loop_watch(&l, a.fd, end_read, &a), 0);
    EXPECT_INT(loop_watch(&l, b.fd, end_read, &b), 0);
    EXPECT_INT(loop_watch_write(&l, a.fd, end_write, &a), 0);
    EXPECT_INT(loop_watch_write(&l, b.fd, end_write, &b), 0);
    EXPECT_INT(write(a.peer, "q", 1), 1);
    EXPECT_INT(write(b.peer, "q", 1), 1);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(a.writes, 1);
    EXPECT_UINT(b.writes, 1);
    EXPECT_UINT(a.reads, 1);
    EXPECT_UINT(b.reads, 1);
    EXPECT_UINT(l.n_watch, 2); /* the two read entries */
    EXPECT_INT(write(b.peer, "q", 1), 1);
    EXPECT_INT(loop_run_once(&l, 0), 0);
    EXPECT_UINT(a.reads, 1);
    EXPECT_UINT(b.reads, 2);
    EXPECT_UINT(a.writes + b.writes, 2);
    end_drain_peer(&a);
    end_drain_peer(&b);
    end_close(&a);
    end_close(&b);
    loop_free(&l);
}

void test_loop_register(void)
{
    CU_pSuite s = CU_add_suite("loop (writing)", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "write: an empty socket calls back", test_write_calls_back);
    CU_add_test(s, "write: read and write are apart", test_read_and_write_apart);
    CU_add_test(s, "write: a full socket does not call", test_full_socket_not_writable);
    CU_add_test(s, "write: peer closed, EPIPE", test_write_after_peer_closed);
    CU_add_test(s, "write: a close skips the other direction",
                test_close_in_one_direction_skips_the_other);
    CU_add_test(s, "write: stop writing, keep reading", test_stop_writing_keeps_reading);
}
