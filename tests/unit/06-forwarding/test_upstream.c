/* test_upstream.c: unit tests of steps/06-forwarding/upstream.c against a fake loopback server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "hdr.h"
#include "loop.h"
#include "msg.h"
#include "net.h"
#include "tests.h"
#include "upstream.h"

/*
 * Every test runs a real loop against a fake server: a UDP socket on
 * 127.0.0.1 that the test itself reads and answers between wake-ups. Nothing
 * leaves the loopback interface. The loop reads the fake clock below, which
 * moves only when a test moves it: a timeout happens exactly when the test
 * says, never because the machine was slow, and waiting for one costs no
 * time. Datagrams still travel for real, so waiting for one is bounded by
 * the real clock (TEST_WAIT_MS).
 */

enum {
    /* One try's timeout, on the fake clock: the default, since it costs nothing. */
    TEST_TIMEOUT_MS = UPSTREAM_TIMEOUT_DEFAULT_MS,
    /* How long a test waits, in real time, for something that should come
     * at once (a datagram on loopback, a callback) before calling it a failure. */
    TEST_WAIT_MS = 1000,
    /* How long, in real time, a test gives a datagram that must be ignored
     * to arrive and be (not) taken. */
    TEST_SETTLE_MS = 20,
    /* The fake clock's time when a loop starts: not 0, so that a due time
     * computed from the wrong origin shows. */
    TEST_START_MS = 1000000,
};

/* How a query ended, as its callback saw it. */
struct outcome {
    uint64_t calls;
    enum upstream_result result;
    uint8_t reply[DNS_UDP_MAX];
    size_t len;
};

static void record_done(void *ctx, enum upstream_result result, const uint8_t *reply, size_t len)
{
    struct outcome *o = ctx;
    o->calls++;
    o->result = result;
    o->len = 0;
    if (reply != NULL && len <= sizeof o->reply) {
        memcpy(o->reply, reply, len);
        o->len = len;
    }
}

/* The fake server --------------------------------------------------------------- */

struct fake {
    int fd;
    struct net_addr addr; /* 127.0.0.1 and the port the kernel chose */
};

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks. */
static void fake_open(struct fake *f)
{
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 0, &f->addr), 0);
    f->fd = net_udp_bind(&f->addr);
    CU_ASSERT_TRUE_FATAL(f->fd >= 0);
    f->addr.len = sizeof f->addr.ss;
    CU_ASSERT_EQUAL_FATAL(getsockname(f->fd, (struct sockaddr *)&f->addr.ss, &f->addr.len), 0);
}

/* Waits up to `wait_ms` for a datagram; returns its length (and who sent it),
 * or -1 if none came. */
static ssize_t fake_recv(const struct fake *f, uint8_t *buf, size_t cap, struct net_addr *from,
                         int wait_ms)
{
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) != 1)
        return -1;
    from->len = sizeof from->ss;
    return recvfrom(f->fd, buf, cap, 0, (struct sockaddr *)&from->ss, &from->len);
}

static uint16_t addr_port(const struct net_addr *a)
{
    return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

static void send_to(int fd, const uint8_t *data, size_t len, const struct net_addr *to)
{
    ssize_t n = sendto(fd, data, len, 0, (const struct sockaddr *)&to->ss, to->len);
    EXPECT_INT(n, (long long)len);
}

/* Building messages ------------------------------------------------------------- */

static struct msg_question question(const char *name, uint16_t qtype)
{
    struct msg_question q = {.qtype = qtype, .qclass = DNS_CLASS_IN};
    enum name_status st = name_from_text(name, NULL, &q.qname);
    EXPECT_STATUS(st, NAME_OK);
    return q;
}

/* A reply: header (ID `id`, the given flags, QDCOUNT 1, ANCOUNT 1), the
 * question, and one A record 192.0.2.1 whose owner points at the question. */
static size_t write_reply(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
                          const struct msg_question *q)
{
    struct buf_writer w;
    buf_writer_init(&w, out, cap);
    struct hdr h = {.id = id, .flags = flags, .qdcount = 1, .ancount = 1};
    hdr_encode(&w, &h);
    msg_write_question(&w, q);
    buf_write_u16(&w, 0xC000 | DNS_HEADER_SIZE); /* owner: pointer to the question's name */
    buf_write_u16(&w, DNS_TYPE_A);
    buf_write_u16(&w, DNS_CLASS_IN);
    buf_write_u32(&w, 300);        /* TTL */
    buf_write_u16(&w, 4);          /* RDLENGTH */
    buf_write_u32(&w, 0xC0000201); /* 192.0.2.1 */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

/* The ID of a query the fake server received. */
static uint16_t query_id(const uint8_t *data, size_t len)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &h);
    return h.id;
}

/* Puts `id` in the ID field of a message written by hand. */
static void set_id(uint8_t *msg, uint16_t id)
{
    msg[0] = (uint8_t)(id >> 8);
    msg[1] = (uint8_t)id;
}

/* The loop ---------------------------------------------------------------------- */

/* The fake clock: a test sets fake_now, and the loop reads it. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

/* A loop on the fake clock, its time TEST_START_MS. */
static void fresh_loop(struct loop *l)
{
    fake_now = TEST_START_MS;
    CU_ASSERT_EQUAL_FATAL(loop_init(l, fake_clock), 0);
    EXPECT_UINT(loop_now(l), TEST_START_MS);
}

/* Runs wake-ups while *counter < target, for `max_ms` of real time at most.
 * The fake clock stands still meanwhile: sockets are read, and timers due
 * now fire, but no new timeout comes due. */
static void run_until(struct loop *l, const uint64_t *counter, uint64_t target, unsigned max_ms)
{
    uint64_t end = loop_monotonic_ms() + max_ms;
    /* Bounded by the real deadline, whatever the code under test does. */
    while (*counter < target && loop_monotonic_ms() < end)
        CU_ASSERT_EQUAL(loop_run_once(l, 5), 0);
}

/* Runs wake-ups for `ms` milliseconds of real time, whatever happens. */
static void run_for(struct loop *l, unsigned ms)
{
    uint64_t never = 0;
    run_until(l, &never, 1, ms);
}

/* Sets the fake clock to `t` and runs one wake-up that does not wait: the
 * timers due by `t` fire. */
static void advance_to(struct loop *l, uint64_t t)
{
    fake_now = t;
    CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
    EXPECT_UINT(loop_now(l), t);
}

/* A loop, a client, a fake server and a question, for the tests that need one. */
struct bench {
    struct loop loop;
    struct upstream up;
    struct fake server;
    struct msg_question q;
    struct outcome out;
};

static void bench_start(struct bench *b, unsigned tries, size_t max_pending)
{
    memset(b, 0, sizeof(*b));
    fresh_loop(&b->loop);
    CU_ASSERT_EQUAL_FATAL(upstream_init(&b->up, &b->loop, TEST_TIMEOUT_MS, tries, max_pending), 0);
    fake_open(&b->server);
    b->q = question("www.example.com.", DNS_TYPE_A);
}

static void bench_end(struct bench *b)
{
    upstream_free(&b->up);
    close(b->server.fd);
    loop_free(&b->loop);
}

/* Asks b->q, its outcome going to `o`, and has the fake server receive the
 * query; returns its ID and fills *client with where it came from. */
static uint16_t bench_ask_into(struct bench *b, struct outcome *o, struct net_addr *client)
{
    struct upstream_query *uq = upstream_ask(&b->up, &b->server.addr, &b->q, true, record_done, o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(uq);
    uint8_t data[DNS_UDP_MAX];
    ssize_t n = fake_recv(&b->server, data, sizeof data, client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    return query_id(data, (size_t)n);
}

/* bench_ask_into() with the outcome in b->out. */
static uint16_t bench_ask(struct bench *b, struct net_addr *client)
{
    return bench_ask_into(b, &b->out, client);
}

/* Whether the fake server has received a datagram (a new try) within
 * `wait_ms`. A try is sent inside the wake-up that makes it, and loopback
 * queues it before send() returns, so with 0 a try sent too early shows; the
 * tests count stats.sent as well, which does not depend on delivery. */
static bool bench_try_arrived(struct bench *b, int wait_ms)
{
    uint8_t data[DNS_UDP_MAX];
    struct net_addr from;
    return fake_recv(&b->server, data, sizeof data, &from, wait_ms) >= DNS_HEADER_SIZE;
}

/* Tests ------------------------------------------------------------------------- */

static void test_query_on_the_wire(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    uint16_t id = query_id(data, n > 0 ? (size_t)n : 0);
    uint8_t expected[] = {
        0x00, 0x00,                               /* ID: random, copied below */
        0x01, 0x00,                               /* flags: RD only */
        0x00, 0x01,                               /* QDCOUNT 1 */
        0x00, 0x00,                               /* ANCOUNT */
        0x00, 0x00,                               /* NSCOUNT */
        0x00, 0x00,                               /* ARCOUNT */
        0x03, 'w',  'w', 'w',                     /* label "www" */
        0x07, 'e',  'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
        0x03, 'c',  'o', 'm',                     /* label "com" */
        0x00,                                     /* root */
        0x00, 0x01,                               /* QTYPE A */
        0x00, 0x01,                               /* QCLASS IN */
    };
    set_id(expected, id);
    EXPECT_BYTES(data, n > 0 ? (size_t)n : 0, expected, sizeof expected);
    EXPECT_UINT(b.up.stats.sent, 1);
    EXPECT_UINT(b.up.pending, 1);
    /* The callback never runs inside upstream_ask(). */
    EXPECT_UINT(b.out.calls, 0);
    bench_end(&b);
}

static void test_rd_clear(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    upstream_ask(&b.up, &b.server.addr, &b.q, false, record_done, &b.out);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    EXPECT_UINT(data[2], 0x00); /* QR=0, OPCODE 0, RD=0 */
    bench_end(&b);
}

static void test_reply_delivered(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    struct net_addr client;
    uint16_t id = bench_ask(&b, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, id, HDR_QR | HDR_RD | HDR_RA, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.replies, 1);
    EXPECT_UINT(b.up.stats.forged, 0);
    EXPECT_UINT(b.up.pending, 0);
    /* Called once only, even after the timeout would have fired. */
    advance_to(&b.loop, TEST_START_MS + 10 * TEST_TIMEOUT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_UINT(b.up.stats.sent, 1);
    EXPECT_UINT(b.up.stats.timeouts, 0);
    bench_end(&b);
}

static void test_reply_name_in_other_case(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    struct net_addr client;
    uint16_t id = bench_ask(&b, &client);
    /* RFC 4343: names compare without regard to ASCII case. */
    struct msg_question shouted = question("WWW.Example.COM.", DNS_TYPE_A);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, id, HDR_QR | HDR_RD, &shouted);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    bench_end(&b);
}

static void test_wrong_id_ignored(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    struct net_addr client;
    uint16_t id = bench_ask(&b, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, (uint16_t)(id ^ 0x0001), HDR_QR, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.up.stats.forged, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.up.stats.forged, 1);
    EXPECT_UINT(b.out.calls, 0);
    /* The wait goes on, and the right reply is still taken. */
    len = write_reply(reply, sizeof reply, id, HDR_QR, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.forged, 1);
    EXPECT_UINT(b.up.stats.replies, 1);
    bench_end(&b);
}

/* Datagrams with the right ID that are still not the reply: each is counted
 * forged and ignored, and the real one after them is taken. */
static void test_wrong_question_or_shape_ignored(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    struct net_addr client;
    uint16_t id = bench_ask(&b, &client);
    uint8_t bad[DNS_UDP_MAX];
    size_t len;
    uint64_t forged = 0;

    struct msg_question other = question("www.example.org.", DNS_TYPE_A);
    len = write_reply(bad, sizeof bad, id, HDR_QR, &other); /* another name */
    send_to(b.server.fd, bad, len, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    other = question("www.example.com.", DNS_TYPE_AAAA); /* another type */
    len = write_reply(bad, sizeof bad, id, HDR_QR, &other);
    send_to(b.server.fd, bad, len, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    other = b.q; /* another class */
    other.qclass = DNS_CLASS_CH;
    len = write_reply(bad, sizeof bad, id, HDR_QR, &other);
    send_to(b.server.fd, bad, len, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    len = write_reply(bad, sizeof bad, id, 0, &b.q); /* QR=0: a query, not a reply */
    send_to(b.server.fd, bad, len, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    len = write_reply(bad, sizeof bad, id, HDR_QR, &b.q);
    send_to(b.server.fd, bad, DNS_HEADER_SIZE - 1, &client); /* shorter than a header */
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    bad[5] = 2; /* QDCOUNT 2 with one question: not the question we asked */
    send_to(b.server.fd, bad, len, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    uint8_t no_question[] = {
        0x00, 0x00, /* ID: ours, set below */
        0x81, 0x01, /* QR, RD, RCODE FORMERR */
        0x00, 0x00, /* QDCOUNT 0: no question to match */
        0x00, 0x00, /* ANCOUNT */
        0x00, 0x00, /* NSCOUNT */
        0x00, 0x00, /* ARCOUNT */
    };
    set_id(no_question, id);
    send_to(b.server.fd, no_question, sizeof no_question, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    uint8_t cut_question[] = {
        0x00, 0x00,           /* ID: ours, set below */
        0x81, 0x00,           /* QR, RD */
        0x00, 0x01,           /* QDCOUNT 1 */
        0x00, 0x00,           /* ANCOUNT */
        0x00, 0x00,           /* NSCOUNT */
        0x00, 0x00,           /* ARCOUNT */
        0x03, 'w',  'w', 'w', /* label "www" */
        0x07, 'e',  'x', 'a', /* label "example", cut after 3 of its 7 bytes */
    };
    set_id(cut_question, id);
    send_to(b.server.fd, cut_question, sizeof cut_question, &client);
    run_until(&b.loop, &b.up.stats.forged, ++forged, TEST_WAIT_MS);

    EXPECT_UINT(b.up.stats.forged, 8);
    EXPECT_UINT(b.out.calls, 0);
    len = write_reply(bad, sizeof bad, id, HDR_QR, &b.q);
    send_to(b.server.fd, bad, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_UINT(b.up.stats.forged, 8);
    bench_end(&b);
}

static void test_reply_from_other_port_never_arrives(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    struct net_addr client;
    uint16_t id = bench_ask(&b, &client);
    /* A perfect forgery (right ID and question) from another port of the
     * same address: the connected socket never lets it in. */
    struct fake impostor;
    fake_open(&impostor);
    uint8_t forged[DNS_UDP_MAX];
    size_t forged_len = write_reply(forged, sizeof forged, id, HDR_QR | HDR_AA, &b.q);
    send_to(impostor.fd, forged, forged_len, &client);
    run_for(&b.loop, TEST_SETTLE_MS);
    EXPECT_UINT(b.out.calls, 0);

    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, id, HDR_QR, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    /* The real reply (no AA), not the impostor's. */
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    CU_ASSERT_TRUE(b.up.stats.forged <= 1);
    close(impostor.fd);
    bench_end(&b);
}

static void test_timeout_after_every_try(void)
{
    enum { TRIES = 3 };
    struct bench b;
    bench_start(&b, TRIES, 16);
    upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out);
    /* Bounded by TRIES: each timeout sends the next try, the last ends it. */
    for (unsigned i = 1; i <= TRIES; i++)
        advance_to(&b.loop, TEST_START_MS + i * TEST_TIMEOUT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_TIMEOUT);
    EXPECT_UINT(b.out.len, 0);
    EXPECT_UINT(b.up.stats.sent, TRIES);
    EXPECT_UINT(b.up.stats.timeouts, 1);
    EXPECT_UINT(b.up.stats.failed, 0);
    EXPECT_UINT(b.up.pending, 0);

    /* The server saw every try, each from a socket of its own with an ID of
     * its own. Two tries may share an ID or a port by chance (one time in
     * 65536, or in the size of the port range), all three only one time in
     * billions: "not all the same" is what the test can check for sure. */
    uint16_t ids[TRIES], ports[TRIES];
    size_t got = 0;
    /* Bounded by TRIES: more would be a failure, checked below. */
    for (size_t i = 0; i < TRIES; i++) {
        uint8_t data[DNS_UDP_MAX];
        struct net_addr from;
        ssize_t n = fake_recv(&b.server, data, sizeof data, &from, 0);
        if (n < DNS_HEADER_SIZE)
            break;
        ids[got] = query_id(data, (size_t)n);
        ports[got] = addr_port(&from);
        got++;
    }
    EXPECT_UINT(got, TRIES);
    if (got == TRIES) {
        CU_ASSERT_FALSE(ids[0] == ids[1] && ids[1] == ids[2]);
        CU_ASSERT_FALSE(ports[0] == ports[1] && ports[1] == ports[2]);
    }
    uint8_t extra[DNS_UDP_MAX];
    struct net_addr from;
    EXPECT_INT(fake_recv(&b.server, extra, sizeof extra, &from, 0), -1);
    bench_end(&b);
}

/*
 * Each try times out exactly timeout_ms after it was sent, on the loop's
 * clock: not a millisecond before, and the next try is due one whole timeout
 * after it is sent, even when the wake-up that sends it comes late. After
 * the last try the callback gets the failure, and the pending table is empty.
 */
static void test_tries_due_one_timeout_apart(void)
{
    enum { LATE_MS = 7 };
    const uint64_t t0 = TEST_START_MS, t = TEST_TIMEOUT_MS;
    struct bench b;
    bench_start(&b, 3, 16);
    struct net_addr client;
    bench_ask(&b, &client); /* try 1, sent at t0 */
    EXPECT_UINT(b.up.pending, 1);

    /* Try 1: due at t0 + t, not a millisecond before. */
    advance_to(&b.loop, t0 + t - 1);
    EXPECT_UINT(b.up.stats.sent, 1);
    CU_ASSERT_FALSE(bench_try_arrived(&b, 0));
    advance_to(&b.loop, t0 + t);
    EXPECT_UINT(b.up.stats.sent, 2); /* try 2, sent at t0 + t */
    CU_ASSERT_TRUE(bench_try_arrived(&b, TEST_WAIT_MS));
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.pending, 1);

    /* Try 2: due one timeout after it was sent. The wake-up that finds it
     * due comes LATE_MS late (a busy loop): try 3 is sent then, and counts
     * its own timeout from then. */
    advance_to(&b.loop, t0 + 2 * t - 1);
    EXPECT_UINT(b.up.stats.sent, 2);
    CU_ASSERT_FALSE(bench_try_arrived(&b, 0));
    advance_to(&b.loop, t0 + 2 * t + LATE_MS);
    EXPECT_UINT(b.up.stats.sent, 3);
    CU_ASSERT_TRUE(bench_try_arrived(&b, TEST_WAIT_MS));
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.pending, 1);

    /* Try 3, the last: its timeout ends the query. */
    advance_to(&b.loop, t0 + 3 * t + LATE_MS - 1);
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.pending, 1);
    advance_to(&b.loop, t0 + 3 * t + LATE_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_TIMEOUT);
    EXPECT_UINT(b.out.len, 0);
    EXPECT_UINT(b.up.stats.sent, 3);
    EXPECT_UINT(b.up.stats.timeouts, 1);
    EXPECT_UINT(b.up.pending, 0);
    CU_ASSERT_PTR_NULL(b.up.in_flight);
    /* Nothing of it is left in the loop: no timer, no socket watched. */
    EXPECT_UINT(b.loop.n_timers, 0);
    EXPECT_UINT(b.loop.n_watch, 0);

    /* And nothing more happens: no fourth try, no second call. */
    advance_to(&b.loop, t0 + 10 * t);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_UINT(b.up.stats.sent, 3);
    CU_ASSERT_FALSE(bench_try_arrived(&b, 0));
    bench_end(&b);
}

/* The pending table: queries asked at different times each time out at
 * their own due time, and an answer stops its own query's timer only. */
static void test_pending_queries_keep_their_own_timers(void)
{
    const uint64_t t0 = TEST_START_MS, t = TEST_TIMEOUT_MS;
    struct bench b;
    bench_start(&b, 1, 16);
    struct outcome o[3];
    memset(o, 0, sizeof o);
    struct net_addr client[3];
    uint16_t id0 = bench_ask_into(&b, &o[0], &client[0]); /* due at t0 + t */
    advance_to(&b.loop, t0 + 100);
    bench_ask_into(&b, &o[1], &client[1]); /* due at t0 + t + 100 */
    advance_to(&b.loop, t0 + 200);
    bench_ask_into(&b, &o[2], &client[2]); /* due at t0 + t + 200 */
    EXPECT_UINT(b.up.pending, 3);
    EXPECT_UINT(b.loop.n_timers, 3);

    /* The first is answered: it leaves the table, its timer with it. */
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, id0, HDR_QR | HDR_RD | HDR_RA, &b.q);
    send_to(b.server.fd, reply, len, &client[0]);
    run_until(&b.loop, &o[0].calls, 1, TEST_WAIT_MS);
    EXPECT_INT(o[0].result, UPSTREAM_REPLY);
    EXPECT_UINT(b.up.pending, 2);
    EXPECT_UINT(b.loop.n_timers, 2);

    advance_to(&b.loop, t0 + t + 99);
    EXPECT_UINT(o[0].calls, 1); /* its timeout, due at t0 + t, is gone */
    EXPECT_UINT(o[1].calls, 0);
    EXPECT_UINT(b.up.pending, 2);
    advance_to(&b.loop, t0 + t + 100);
    EXPECT_UINT(o[1].calls, 1);
    EXPECT_INT(o[1].result, UPSTREAM_TIMEOUT);
    EXPECT_UINT(o[2].calls, 0);
    EXPECT_UINT(b.up.pending, 1);
    advance_to(&b.loop, t0 + t + 199);
    EXPECT_UINT(o[2].calls, 0);
    advance_to(&b.loop, t0 + t + 200);
    EXPECT_UINT(o[2].calls, 1);
    EXPECT_INT(o[2].result, UPSTREAM_TIMEOUT);

    EXPECT_UINT(o[0].calls, 1);
    EXPECT_UINT(o[1].calls, 1);
    EXPECT_UINT(b.up.stats.replies, 1);
    EXPECT_UINT(b.up.stats.timeouts, 2);
    EXPECT_UINT(b.up.stats.sent, 3);
    EXPECT_UINT(b.up.pending, 0);
    EXPECT_UINT(b.loop.n_timers, 0);
    bench_end(&b);
}

static void test_closed_port_fails_fast(void)
{
    struct loop l;
    struct upstream u;
    struct outcome out = {0};
    fresh_loop(&l);
    /* Two tries and a long timeout: a refusal must end it long before. */
    CU_ASSERT_EQUAL_FATAL(upstream_init(&u, &l, 5000, 2, 16), 0);
    struct fake gone;
    fake_open(&gone);
    close(gone.fd); /* nothing listens on its port now */
    struct msg_question q = question("example.com.", DNS_TYPE_NS);
    CU_ASSERT_PTR_NOT_NULL(upstream_ask(&u, &gone.addr, &q, true, record_done, &out));
    run_until(&l, &out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(out.calls, 1);
    EXPECT_INT(out.result, UPSTREAM_FAILED);
    /* The fake clock never moved, so no timeout can have ended it. */
    EXPECT_UINT(loop_now(&l), TEST_START_MS);
    EXPECT_UINT(u.stats.failed, 1);
    EXPECT_UINT(u.stats.timeouts, 0);
    /* A refused try is tried again while tries are left. */
    EXPECT_UINT(u.stats.sent, 2);
    EXPECT_UINT(u.pending, 0);
    upstream_free(&u);
    loop_free(&l);
}

/* A socket that cannot even be opened (here: an address of no family) ends
 * the query UPSTREAM_FAILED, reported from the loop, not from upstream_ask(). */
static void test_no_socket_fails_from_the_loop(void)
{
    struct bench b;
    bench_start(&b, 2, 16);
    struct net_addr nowhere;
    memset(&nowhere, 0, sizeof nowhere);
    nowhere.ss.ss_family = AF_UNSPEC;
    nowhere.len = sizeof(struct sockaddr_in);
    CU_ASSERT_PTR_NOT_NULL(upstream_ask(&b.up, &nowhere, &b.q, true, record_done, &b.out));
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.pending, 1);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_FAILED);
    EXPECT_UINT(b.up.stats.failed, 1);
    EXPECT_UINT(b.up.stats.sent, 0);
    EXPECT_UINT(b.up.pending, 0);
    bench_end(&b);
}

static void test_max_pending_refuses(void)
{
    struct bench b;
    bench_start(&b, 1, 2);
    struct outcome o[3] = {{0}};
    struct upstream_query *q0 = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &o[0]);
    struct upstream_query *q1 = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &o[1]);
    struct upstream_query *q2 = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &o[2]);
    CU_ASSERT_PTR_NOT_NULL(q0);
    CU_ASSERT_PTR_NOT_NULL(q1);
    CU_ASSERT_PTR_NULL(q2);
    EXPECT_UINT(b.up.stats.refused, 1);
    EXPECT_UINT(b.up.stats.sent, 2);
    EXPECT_UINT(b.up.pending, 2);
    /* Once one ends, there is room again. */
    upstream_cancel(&b.up, q0);
    q2 = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &o[2]);
    CU_ASSERT_PTR_NOT_NULL(q2);
    EXPECT_UINT(b.up.stats.refused, 1);
    advance_to(&b.loop, TEST_START_MS + TEST_TIMEOUT_MS);
    EXPECT_INT(o[1].result, UPSTREAM_TIMEOUT);
    EXPECT_INT(o[2].result, UPSTREAM_TIMEOUT);
    EXPECT_UINT(o[0].calls + o[1].calls + o[2].calls, 2);
    EXPECT_UINT(b.up.pending, 0);
    bench_end(&b);
}

static void test_cancel_calls_nothing(void)
{
    struct bench b;
    bench_start(&b, 2, 16);
    struct upstream_query *uq =
        upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(uq);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    upstream_cancel(&b.up, uq);
    EXPECT_UINT(b.up.pending, 0);
    /* Neither a late reply nor the timeout reaches it. */
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, query_id(data, (size_t)n), HDR_QR, &b.q);
    sendto(b.server.fd, reply, len, 0, (const struct sockaddr *)&client.ss, client.len);
    run_for(&b.loop, TEST_SETTLE_MS);
    advance_to(&b.loop, TEST_START_MS + 3 * TEST_TIMEOUT_MS);
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.stats.replies, 0);
    EXPECT_UINT(b.up.stats.timeouts, 0);
    EXPECT_UINT(b.up.stats.sent, 1);
    bench_end(&b);
}

/* A callback that asks a new question and cancels another query, as a
 * forwarder's does when one client's reply ends its wait. */
struct chain {
    struct upstream *up;
    struct fake *server;
    struct msg_question *q;
    struct upstream_query *victim; /* cancelled by the first callback */
    struct upstream_query *next;   /* asked by the first callback */
    struct outcome first, victim_out, next_out;
};

static void chain_done(void *ctx, enum upstream_result result, const uint8_t *reply, size_t len)
{
    struct chain *c = ctx;
    record_done(&c->first, result, reply, len);
    upstream_cancel(c->up, c->victim);
    c->next = upstream_ask(c->up, &c->server->addr, c->q, true, record_done, &c->next_out);
}

static void test_callback_asks_and_cancels(void)
{
    struct bench b;
    bench_start(&b, 1, 16);
    struct chain c = {.up = &b.up, .server = &b.server, .q = &b.q};
    upstream_ask(&b.up, &b.server.addr, &b.q, true, chain_done, &c);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    c.victim = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &c.victim_out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c.victim);

    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, query_id(data, (size_t)n), HDR_QR, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &c.first.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(c.first.calls, 1);
    EXPECT_INT(c.first.result, UPSTREAM_REPLY);
    CU_ASSERT_PTR_NOT_NULL(c.next);
    EXPECT_UINT(b.up.pending, 1);
    advance_to(&b.loop, TEST_START_MS + TEST_TIMEOUT_MS);
    EXPECT_INT(c.next_out.result, UPSTREAM_TIMEOUT);
    EXPECT_UINT(c.victim_out.calls, 0);
    EXPECT_UINT(b.up.pending, 0);
    bench_end(&b);
}

static void test_ids_and_ports_vary(void)
{
    enum { N = 100 };
    struct bench b;
    bench_start(&b, 1, N);
    struct upstream_query *uq[N];
    /* Bounded by N. */
    for (size_t i = 0; i < N; i++) {
        uq[i] = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out);
        CU_ASSERT_PTR_NOT_NULL_FATAL(uq[i]);
    }
    uint16_t ids[N], ports[N];
    size_t got = 0;
    /* Bounded by N: each pass takes one datagram or gives up. */
    while (got < N) {
        uint8_t data[DNS_UDP_MAX];
        struct net_addr from;
        ssize_t n = fake_recv(&b.server, data, sizeof data, &from, TEST_WAIT_MS);
        if (n < DNS_HEADER_SIZE)
            break;
        ids[got] = query_id(data, (size_t)n);
        ports[got] = addr_port(&from);
        got++;
    }
    EXPECT_UINT(got, N);
    size_t same_id = 0, next_id = 0, same_port = 0;
    /* Bounded by got. */
    for (size_t i = 1; i < got; i++) {
        same_id += ids[i] == ids[0];
        next_id += ids[i] == (uint16_t)(ids[i - 1] + 1);
        same_port += ports[i] == ports[0];
    }
    /* By chance a few may repeat; a counter or a fixed port would make
     * every one do so. */
    CU_ASSERT_TRUE(same_id < 5);
    CU_ASSERT_TRUE(next_id < 5);
    CU_ASSERT_TRUE(same_port < 5);
    EXPECT_UINT(b.up.pending, N);
    /* Bounded by N. */
    for (size_t i = 0; i < N; i++)
        upstream_cancel(&b.up, uq[i]);
    EXPECT_UINT(b.up.pending, 0);
    EXPECT_UINT(b.out.calls, 0);
    /* Ended queries are kept for reuse, but not all of them. */
    CU_ASSERT_TRUE(b.up.n_free > 0 && b.up.n_free < N);
    bench_end(&b);
}

/* upstream_free() with queries in flight: they end without callbacks, and
 * (under the sanitizer) nothing leaks. */
static void test_free_with_queries_in_flight(void)
{
    struct bench b;
    bench_start(&b, 2, 16);
    /* Bounded: 5 queries. */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_PTR_NOT_NULL(
            upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out));
    EXPECT_UINT(b.up.pending, 5);
    upstream_free(&b.up);
    EXPECT_UINT(b.up.pending, 0);
    advance_to(&b.loop, TEST_START_MS + 3 * TEST_TIMEOUT_MS);
    EXPECT_UINT(b.out.calls, 0);
    close(b.server.fd);
    loop_free(&b.loop);
}

static void test_init_checks_bounds(void)
{
    struct loop l;
    struct upstream u;
    fresh_loop(&l);
    EXPECT_INT(upstream_init(&u, &l, TEST_TIMEOUT_MS, 0, 16), -1);
    EXPECT_INT(upstream_init(&u, &l, TEST_TIMEOUT_MS, UPSTREAM_TRIES_MAX + 1, 16), -1);
    EXPECT_INT(upstream_init(&u, &l, 0, 1, 16), -1);
    EXPECT_INT(upstream_init(&u, &l, TEST_TIMEOUT_MS, 1, 0), -1);
    EXPECT_INT(upstream_init(&u, &l, UPSTREAM_TIMEOUT_DEFAULT_MS, UPSTREAM_TRIES_DEFAULT,
                             UPSTREAM_PENDING_DEFAULT),
               0);
    upstream_free(&u);
    loop_free(&l);
}

void test_upstream_register(void)
{
    CU_pSuite s = CU_add_suite("upstream", NULL, NULL);
    CU_add_test(s, "the query on the wire: random ID, RD, one question", test_query_on_the_wire);
    CU_add_test(s, "RD clear when asked so", test_rd_clear);
    CU_add_test(s, "a matching reply is delivered once", test_reply_delivered);
    CU_add_test(s, "the reply's name may differ in case", test_reply_name_in_other_case);
    CU_add_test(s, "a wrong ID is forged; the right reply still comes", test_wrong_id_ignored);
    CU_add_test(s, "another question, a query, a short or odd message: forged",
                test_wrong_question_or_shape_ignored);
    CU_add_test(s, "a reply from another port never arrives",
                test_reply_from_other_port_never_arrives);
    CU_add_test(s, "no reply: TIMEOUT after every try, each with its own ID and port",
                test_timeout_after_every_try);
    CU_add_test(s, "each try times out exactly one timeout after it is sent (fake clock)",
                test_tries_due_one_timeout_apart);
    CU_add_test(s, "pending queries keep their own timers (fake clock)",
                test_pending_queries_keep_their_own_timers);
    CU_add_test(s, "a closed port: FAILED at once", test_closed_port_fails_fast);
    CU_add_test(s, "no socket: FAILED, from the loop", test_no_socket_fails_from_the_loop);
    CU_add_test(s, "max_pending: one more is refused", test_max_pending_refuses);
    CU_add_test(s, "a cancelled query calls nothing", test_cancel_calls_nothing);
    CU_add_test(s, "a callback may ask and cancel", test_callback_asks_and_cancels);
    CU_add_test(s, "100 queries: IDs and ports vary", test_ids_and_ports_vary);
    CU_add_test(s, "upstream_free() ends queries in flight", test_free_with_queries_in_flight);
    CU_add_test(s, "upstream_init() checks its bounds", test_init_checks_bounds);
}
