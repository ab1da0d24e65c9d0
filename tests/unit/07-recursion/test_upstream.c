/* test_upstream.c: unit tests of steps/07-recursion/upstream.c against a fake loopback server. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "loop.h"
#include "msg.h"
#include "net.h"
#include "tests.h"
#include "upstream.h"

/*
 * Every test runs a real loop on the monotonic clock against a fake server:
 * a UDP socket on 127.0.0.1 that the test itself reads and answers between
 * wake-ups. Nothing leaves the loopback interface. Timeouts are 50 ms, so a
 * test that waits for one waits a few tenths of a second at most. The TCP
 * tests add a TCP socket on the same port, which the test accepts on and
 * answers from, in as many pieces as it likes.
 */

enum {
    TEST_TIMEOUT_MS = 50,
    /* How long a test waits for something that should come at once (a
     * datagram on loopback, a callback) before calling it a failure. */
    TEST_WAIT_MS = 1000,
};

/* How a query ended, as its callback saw it. */
struct outcome {
    uint64_t calls;
    enum upstream_result result;
    uint8_t reply[DNS_MESSAGE_MAX]; /* a reply over TCP may be longer than 512 bytes */
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
    int tcp;              /* a TCP socket on the same port (fake_open_tcp()), or -1 */
};

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks. */
static void fake_open(struct fake *f)
{
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 0, &f->addr), 0);
    f->fd = net_udp_bind(&f->addr);
    f->tcp = -1;
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

/* A loop on the monotonic clock, with one wake-up done so that its time is
 * the clock's (timers count from loop_now()). */
static void fresh_loop(struct loop *l)
{
    CU_ASSERT_EQUAL_FATAL(loop_init(l, loop_monotonic_ms), 0);
    CU_ASSERT_EQUAL(loop_run_once(l, 0), 0);
}

/* Runs wake-ups while *counter < target, for `max_ms` at most. */
static void run_until(struct loop *l, const uint64_t *counter, uint64_t target, unsigned max_ms)
{
    uint64_t end = loop_monotonic_ms() + max_ms;
    /* Bounded by the deadline, whatever the code under test does. */
    while (*counter < target && loop_monotonic_ms() < end)
        CU_ASSERT_EQUAL(loop_run_once(l, 5), 0);
}

/* Runs wake-ups for `ms` milliseconds, whatever happens. */
static void run_for(struct loop *l, unsigned ms)
{
    uint64_t never = 0;
    run_until(l, &never, 1, ms);
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
    if (b->server.tcp >= 0)
        close(b->server.tcp);
    loop_free(&b->loop);
}

/* Asks b->q and has the fake server receive the query; returns its ID and
 * fills *client with where it came from. */
static uint16_t bench_ask(struct bench *b, struct net_addr *client)
{
    struct upstream_query *uq =
        upstream_ask(&b->up, &b->server.addr, &b->q, true, record_done, &b->out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(uq);
    uint8_t data[DNS_UDP_MAX];
    ssize_t n = fake_recv(&b->server, data, sizeof data, client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    return query_id(data, (size_t)n);
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
    run_for(&b.loop, TEST_TIMEOUT_MS + 20);
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
    run_for(&b.loop, TEST_TIMEOUT_MS / 5);
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
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
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
    uint64_t start = loop_monotonic_ms();
    CU_ASSERT_PTR_NOT_NULL(upstream_ask(&u, &gone.addr, &q, true, record_done, &out));
    run_until(&l, &out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(out.calls, 1);
    EXPECT_INT(out.result, UPSTREAM_FAILED);
    CU_ASSERT_TRUE(loop_monotonic_ms() - start < 1000);
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
    run_until(&b.loop, &o[2].calls, 1, TEST_WAIT_MS);
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
    run_for(&b.loop, 3 * TEST_TIMEOUT_MS);
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
    run_until(&b.loop, &c.next_out.calls, 1, TEST_WAIT_MS);
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
    run_for(&b.loop, TEST_TIMEOUT_MS + 20);
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

/* TCP after TC ------------------------------------------------------------------ */

enum {
    /* Answers in a long reply: 12 + 21 (question) + 100 * 16 = 1633 bytes,
     * more than a datagram without EDNS may carry. */
    TEST_LONG_ANSWERS = 100,
};

/* A TCP socket on the fake server's address and port (the same number as its
 * UDP socket: the two protocols have ports of their own), listening, or only
 * holding the port so that every connection to it is refused. Returns false
 * if the port is taken over TCP. */
static bool fake_bind_tcp(struct fake *f, bool listening)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    /* An earlier test's connection on this port may linger in TIME_WAIT. */
    int one = 1;
    CU_ASSERT_EQUAL(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    if (bind(fd, (const struct sockaddr *)&f->addr.ss, f->addr.len) != 0) {
        close(fd);
        return false;
    }
    if (listening)
        CU_ASSERT_EQUAL_FATAL(listen(fd, 4), 0);
    f->tcp = fd;
    return true;
}

/* A fake server with a UDP and a TCP socket on one port. */
static void fake_open_tcp(struct fake *f, bool listening)
{
    /* Bounded: 10 ports. The kernel picks a free UDP port each time; one
     * taken over TCP as well is rare. */
    for (int i = 0; i < 10; i++) {
        fake_open(f);
        if (fake_bind_tcp(f, listening))
            return;
        close(f->fd);
    }
    CU_FAIL_FATAL("no port free over both UDP and TCP");
}

static void bench_start_tcp(struct bench *b, unsigned tries, bool listening)
{
    bench_start(b, tries, 16);
    close(b->server.fd);
    fake_open_tcp(&b->server, listening);
}

/* A long reply: header (ID `id`, the given flags, QDCOUNT 1, ANCOUNT
 * TEST_LONG_ANSWERS), the question, and that many A records 192.0.2.i whose
 * owners point at the question. */
static size_t write_long_reply(uint8_t *out, size_t cap, uint16_t id, uint16_t flags,
                               const struct msg_question *q)
{
    struct buf_writer w;
    buf_writer_init(&w, out, cap);
    struct hdr h = {.id = id, .flags = flags, .qdcount = 1, .ancount = TEST_LONG_ANSWERS};
    hdr_encode(&w, &h);
    msg_write_question(&w, q);
    /* Bounded by TEST_LONG_ANSWERS. */
    for (uint32_t i = 0; i < TEST_LONG_ANSWERS; i++) {
        buf_write_u16(&w, 0xC000 | DNS_HEADER_SIZE); /* owner: pointer to the question's name */
        buf_write_u16(&w, DNS_TYPE_A);
        buf_write_u16(&w, DNS_CLASS_IN);
        buf_write_u32(&w, 300);            /* TTL */
        buf_write_u16(&w, 4);              /* RDLENGTH */
        buf_write_u32(&w, 0xC0000200 + i); /* 192.0.2.i */
    }
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

/* `msg` as it goes over TCP: its length in 2 bytes, then itself. */
static size_t tcp_frame(uint8_t *out, size_t cap, const uint8_t *msg, size_t len)
{
    struct buf_writer w;
    buf_writer_init(&w, out, cap);
    buf_write_u16(&w, (uint16_t)len);
    buf_write_bytes(&w, msg, len);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

static void tcp_send(int conn, const uint8_t *data, size_t len)
{
    ssize_t n = send(conn, data, len, MSG_NOSIGNAL);
    EXPECT_INT(n, (long long)len);
}

/* Runs the loop until the client has connected (for `wait_ms` at most), then
 * accepts: the connection, or -1 if none came. */
static int bench_accept(struct bench *b, unsigned wait_ms)
{
    uint64_t end = loop_monotonic_ms() + wait_ms;
    /* Bounded by the deadline. */
    while (loop_monotonic_ms() < end) {
        struct pollfd p = {.fd = b->server.tcp, .events = POLLIN};
        if (poll(&p, 1, 0) == 1)
            return accept(b->server.tcp, NULL, NULL);
        CU_ASSERT_EQUAL(loop_run_once(&b->loop, 1), 0);
    }
    return -1;
}

/* Runs the loop until a whole query has come on `conn`; copies it (without
 * its length) to `out` and returns its length, or -1 if none came whole. */
static ssize_t bench_tcp_query(struct bench *b, int conn, uint8_t *out, size_t cap)
{
    uint8_t in[2 + DNS_UDP_MAX];
    size_t got = 0;
    uint64_t end = loop_monotonic_ms() + TEST_WAIT_MS;
    /* Bounded by the deadline. */
    while (loop_monotonic_ms() < end) {
        struct pollfd p = {.fd = conn, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            ssize_t n = recv(conn, in + got, sizeof in - got, 0);
            if (n <= 0)
                return -1;
            got += (size_t)n;
        }
        if (got >= 2) {
            struct buf_reader r;
            buf_reader_init(&r, in, got);
            size_t len = buf_read_u16(&r);
            if (len > cap || len + 2 > sizeof in)
                return -1;
            if (got >= len + 2) {
                buf_read_bytes(&r, out, len);
                return (ssize_t)len;
            }
        }
        CU_ASSERT_EQUAL(loop_run_once(&b->loop, 1), 0);
    }
    return -1;
}

/* Asks b->q, answers its datagram with TC set (and otherwise acceptable),
 * and runs the loop until the client has gone over to TCP. Fills udp_query
 * (its length in *udp_len) with what came over UDP; returns the accepted
 * connection. */
static int bench_truncate(struct bench *b, uint8_t *udp_query, size_t *udp_len)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(
        upstream_ask(&b->up, &b->server.addr, &b->q, true, record_done, &b->out));
    struct net_addr client;
    ssize_t n = fake_recv(&b->server, udp_query, DNS_UDP_MAX, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    *udp_len = (size_t)n;
    uint8_t tc[DNS_UDP_MAX];
    size_t len =
        write_reply(tc, sizeof tc, query_id(udp_query, *udp_len), HDR_QR | HDR_RD | HDR_TC, &b->q);
    send_to(b->server.fd, tc, len, &client);
    run_until(&b->loop, &b->up.stats.tcp, 1, TEST_WAIT_MS);
    EXPECT_UINT(b->up.stats.tcp, 1);
    int conn = bench_accept(b, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(conn >= 0);
    return conn;
}

static void test_tc_asks_over_tcp(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    uint8_t udp_query[DNS_UDP_MAX];
    size_t udp_len;
    int conn = bench_truncate(&b, udp_query, &udp_len);
    /* The truncated reply is not delivered. */
    EXPECT_UINT(b.out.calls, 0);

    /* The same query over TCP, but for its ID (a new random one, which may
     * equal the old one by chance only). */
    uint8_t query[DNS_UDP_MAX];
    ssize_t n = bench_tcp_query(&b, conn, query, sizeof query);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    EXPECT_BYTES(query + 2, (size_t)n - 2, udp_query + 2, udp_len - 2);
    EXPECT_UINT(b.up.stats.sent, 2);

    uint8_t reply[DNS_MESSAGE_MAX], framed[DNS_MESSAGE_MAX + 2];
    size_t len =
        write_long_reply(reply, sizeof reply, query_id(query, (size_t)n), HDR_QR | HDR_RD, &b.q);
    CU_ASSERT_TRUE(len > DNS_UDP_MAX);
    tcp_send(conn, framed, tcp_frame(framed, sizeof framed, reply, len));
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.tcp, 1);
    EXPECT_UINT(b.up.stats.replies, 1);
    EXPECT_UINT(b.up.stats.forged, 0);
    EXPECT_UINT(b.up.pending, 0);
    /* Called once only, even after the timeout would have fired. */
    run_for(&b.loop, TEST_TIMEOUT_MS + 20);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_UINT(b.up.stats.timeouts, 0);
    close(conn);
    bench_end(&b);
}

/* A budget (upstream_budget()): the TCP retry after TC is counted in it; with
 * the budget spent, TC ends the query FAILED and nothing more is sent. */
static void test_budget_counts_and_bounds_tcp(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    unsigned used = 1; /* the first message, counted by the caller */
    struct upstream_query *q = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    upstream_budget(q, &used, 2);
    uint8_t udp_query[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, udp_query, sizeof udp_query, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    uint8_t tc[DNS_UDP_MAX];
    size_t len = write_reply(tc, sizeof tc, query_id(udp_query, (size_t)n), HDR_QR | HDR_TC, &b.q);
    send_to(b.server.fd, tc, len, &client);
    int conn = bench_accept(&b, TEST_WAIT_MS);
    CU_ASSERT_TRUE(conn >= 0); /* room for one more: it goes over TCP */
    EXPECT_UINT(used, 2);
    if (conn >= 0)
        close(conn);
    upstream_cancel(&b.up, q);
    bench_end(&b);

    bench_start_tcp(&b, 1, true);
    used = 2; /* the budget is spent with the first message */
    q = upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    upstream_budget(q, &used, 2);
    n = fake_recv(&b.server, udp_query, sizeof udp_query, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    len = write_reply(tc, sizeof tc, query_id(udp_query, (size_t)n), HDR_QR | HDR_TC, &b.q);
    send_to(b.server.fd, tc, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_FAILED);
    EXPECT_UINT(used, 2);
    EXPECT_UINT(b.up.stats.sent, 1); /* no TCP query */
    EXPECT_INT(bench_accept(&b, 50), -1);
    bench_end(&b);
}

/* The reply comes in pieces: the length split in two, then the message in
 * two; the client waits for all of it. */
static void test_tcp_reply_in_pieces(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    uint8_t udp_query[DNS_UDP_MAX], query[DNS_UDP_MAX];
    size_t udp_len;
    int conn = bench_truncate(&b, udp_query, &udp_len);
    ssize_t n = bench_tcp_query(&b, conn, query, sizeof query);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);

    uint8_t reply[DNS_MESSAGE_MAX], framed[DNS_MESSAGE_MAX + 2];
    size_t len = write_long_reply(reply, sizeof reply, query_id(query, (size_t)n), HDR_QR, &b.q);
    size_t framed_len = tcp_frame(framed, sizeof framed, reply, len);
    size_t cuts[] = {1, 2 + 20, framed_len / 2, framed_len};
    size_t at = 0;
    /* Bounded by the 4 cuts. */
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        EXPECT_UINT(b.out.calls, 0);
        tcp_send(conn, framed + at, cuts[i] - at);
        at = cuts[i];
        run_for(&b.loop, 10);
    }
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.tcp, 1);
    close(conn);
    bench_end(&b);
}

/* A TCP reply with TC set too is delivered as it is: the caller decides. */
static void test_tcp_reply_with_tc_delivered(void)
{
    struct bench b;
    bench_start_tcp(&b, 2, true);
    uint8_t udp_query[DNS_UDP_MAX], query[DNS_UDP_MAX];
    size_t udp_len;
    int conn = bench_truncate(&b, udp_query, &udp_len);
    ssize_t n = bench_tcp_query(&b, conn, query, sizeof query);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    uint8_t reply[DNS_UDP_MAX], framed[DNS_UDP_MAX + 2];
    size_t len =
        write_reply(reply, sizeof reply, query_id(query, (size_t)n), HDR_QR | HDR_TC, &b.q);
    tcp_send(conn, framed, tcp_frame(framed, sizeof framed, reply, len));
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.tcp, 1);
    EXPECT_UINT(b.up.stats.sent, 2); /* no further try */
    close(conn);
    bench_end(&b);
}

/* TC counts only on an acceptable reply: a forgery with TC set is ignored
 * like any other, and starts no TCP. */
static void test_forged_tc_ignored(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    struct net_addr client;
    uint16_t id = bench_ask(&b, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, (uint16_t)(id ^ 0x0001), HDR_QR | HDR_TC, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.up.stats.forged, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.up.stats.forged, 1);
    EXPECT_UINT(b.up.stats.tcp, 0);
    len = write_reply(reply, sizeof reply, id, HDR_QR, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.tcp, 0);
    bench_end(&b);
}

/* A TCP reply with another ID ends the try (the server is broken: nobody
 * else can write into the connection); the next try starts over UDP. */
static void test_tcp_wrong_id_ends_try(void)
{
    struct bench b;
    bench_start_tcp(&b, 2, true);
    uint8_t udp_query[DNS_UDP_MAX], query[DNS_UDP_MAX];
    size_t udp_len;
    int conn = bench_truncate(&b, udp_query, &udp_len);
    ssize_t n = bench_tcp_query(&b, conn, query, sizeof query);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    uint8_t reply[DNS_UDP_MAX], framed[DNS_UDP_MAX + 2];
    uint16_t wrong = (uint16_t)(query_id(query, (size_t)n) ^ 0x0001);
    size_t len = write_reply(reply, sizeof reply, wrong, HDR_QR, &b.q);
    tcp_send(conn, framed, tcp_frame(framed, sizeof framed, reply, len));
    run_until(&b.loop, &b.up.stats.sent, 3, TEST_WAIT_MS);
    EXPECT_UINT(b.up.stats.forged, 1);
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.stats.sent, 3);

    /* The second try, over UDP, answered in full. */
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    len = write_reply(reply, sizeof reply, query_id(data, (size_t)n), HDR_QR, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.tcp, 1);
    EXPECT_UINT(b.up.stats.forged, 1);
    close(conn);
    bench_end(&b);
}

/* Nothing listens on the server's TCP port: the connection is refused and,
 * with no try left, the query ends FAILED at once, not at its timeout. */
static void test_tcp_refused_fails(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, false);
    upstream_free(&b.up);
    CU_ASSERT_EQUAL_FATAL(upstream_init(&b.up, &b.loop, 5000, 1, 16), 0);
    struct net_addr client;
    uint64_t start = loop_monotonic_ms();
    uint16_t id = bench_ask(&b, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(reply, sizeof reply, id, HDR_QR | HDR_TC, &b.q);
    send_to(b.server.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_FAILED);
    CU_ASSERT_TRUE(loop_monotonic_ms() - start < 1000);
    EXPECT_UINT(b.up.stats.tcp, 1);
    EXPECT_UINT(b.up.stats.failed, 1);
    EXPECT_UINT(b.up.stats.timeouts, 0);
    EXPECT_UINT(b.up.stats.replies, 0);
    EXPECT_UINT(b.up.pending, 0);
    bench_end(&b);
}

/* The server closes the connection halfway through the reply: FAILED. */
static void test_tcp_closed_early_fails(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    uint8_t udp_query[DNS_UDP_MAX], query[DNS_UDP_MAX];
    size_t udp_len;
    int conn = bench_truncate(&b, udp_query, &udp_len);
    ssize_t n = bench_tcp_query(&b, conn, query, sizeof query);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    uint8_t reply[DNS_UDP_MAX], framed[DNS_UDP_MAX + 2];
    size_t len = write_reply(reply, sizeof reply, query_id(query, (size_t)n), HDR_QR, &b.q);
    size_t framed_len = tcp_frame(framed, sizeof framed, reply, len);
    tcp_send(conn, framed, framed_len / 2);
    run_for(&b.loop, 10);
    EXPECT_UINT(b.out.calls, 0);
    close(conn);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_FAILED);
    EXPECT_UINT(b.out.len, 0);
    EXPECT_UINT(b.up.stats.failed, 1);
    bench_end(&b);
}

/* A server that takes the TCP query and never answers: the TCP part has a
 * timeout of its own, counted from the switch to TCP, and then the query
 * ends TIMEOUT like a datagram's try. */
static void test_tcp_silent_times_out(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(
        upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out));
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    /* Most of the datagram's timeout goes by before the truncated reply. */
    run_for(&b.loop, TEST_TIMEOUT_MS * 3 / 5);
    EXPECT_UINT(b.out.calls, 0);
    uint8_t tc[DNS_UDP_MAX];
    size_t len = write_reply(tc, sizeof tc, query_id(data, (size_t)n), HDR_QR | HDR_TC, &b.q);
    uint64_t switched = loop_monotonic_ms();
    send_to(b.server.fd, tc, len, &client);
    int conn = bench_accept(&b, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(conn >= 0);
    uint8_t query[DNS_UDP_MAX];
    CU_ASSERT_TRUE(bench_tcp_query(&b, conn, query, sizeof query) >= DNS_HEADER_SIZE);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_TIMEOUT);
    /* A whole timeout after the switch, not what was left of the datagram's
     * (a little early is allowed for the clock's millisecond grain). */
    CU_ASSERT_TRUE(loop_monotonic_ms() - switched >= TEST_TIMEOUT_MS - 2);
    EXPECT_UINT(b.up.stats.tcp, 1);
    EXPECT_UINT(b.up.stats.timeouts, 1);
    close(conn);
    bench_end(&b);
}

/* A connection that takes a while: the client sends its query once the
 * connection is up, not before, and not never. To make one on loopback, where
 * connections are up at once, the server's queue of connections not yet
 * accepted is filled first (a backlog of 0 holds one): the kernel then drops
 * the client's first SYN and sends it again about a second later (Linux's
 * initial retransmission timeout), by when the test has made room. */
static void test_tcp_query_waits_for_the_connection(void)
{
    enum { SLOW_MS = 3000 };
    struct bench b;
    bench_start_tcp(&b, 1, true);
    upstream_free(&b.up);
    CU_ASSERT_EQUAL_FATAL(upstream_init(&b.up, &b.loop, SLOW_MS, 1, 16), 0);
    CU_ASSERT_EQUAL_FATAL(listen(b.server.tcp, 0), 0);
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    CU_ASSERT_TRUE_FATAL(filler >= 0);
    CU_ASSERT_EQUAL_FATAL(
        connect(filler, (const struct sockaddr *)&b.server.addr.ss, b.server.addr.len), 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(
        upstream_ask(&b.up, &b.server.addr, &b.q, true, record_done, &b.out));
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = fake_recv(&b.server, data, sizeof data, &client, TEST_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    uint8_t tc[DNS_UDP_MAX];
    size_t len = write_reply(tc, sizeof tc, query_id(data, (size_t)n), HDR_QR | HDR_TC, &b.q);
    send_to(b.server.fd, tc, len, &client);
    run_until(&b.loop, &b.up.stats.tcp, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.up.stats.tcp, 1);
    run_for(&b.loop, 100);
    /* Still connecting: nothing sent over TCP yet, and the query waits. */
    EXPECT_UINT(b.up.stats.sent, 1);
    EXPECT_UINT(b.out.calls, 0);

    int first = accept(b.server.tcp, NULL, NULL); /* the filler's: room for one more */
    CU_ASSERT_TRUE(first >= 0);
    int conn = bench_accept(&b, SLOW_MS);
    CU_ASSERT_TRUE_FATAL(conn >= 0);
    uint8_t query[DNS_UDP_MAX];
    n = bench_tcp_query(&b, conn, query, sizeof query);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    EXPECT_UINT(b.up.stats.sent, 2);
    uint8_t reply[DNS_UDP_MAX], framed[DNS_UDP_MAX + 2];
    len = write_reply(reply, sizeof reply, query_id(query, (size_t)n), HDR_QR, &b.q);
    tcp_send(conn, framed, tcp_frame(framed, sizeof framed, reply, len));
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    close(conn);
    if (first >= 0)
        close(first);
    close(filler);
    bench_end(&b);
}

/* A query cancelled, and one freed, halfway through a TCP reply: no callback,
 * and (under the sanitizer) nothing leaks. */
static void test_cancel_and_free_during_tcp(void)
{
    struct bench b;
    bench_start_tcp(&b, 1, true);
    int conns[2];
    /* Bounded: 2 queries, the first cancelled, the second left to upstream_free(). */
    for (size_t i = 0; i < 2; i++) {
        uint8_t udp_query[DNS_UDP_MAX], query[DNS_UDP_MAX];
        size_t udp_len;
        b.up.stats.tcp = 0; /* bench_truncate() waits for it to become 1 */
        conns[i] = bench_truncate(&b, udp_query, &udp_len);
        ssize_t n = bench_tcp_query(&b, conns[i], query, sizeof query);
        CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
        uint8_t reply[DNS_MESSAGE_MAX], framed[DNS_MESSAGE_MAX + 2];
        size_t len =
            write_long_reply(reply, sizeof reply, query_id(query, (size_t)n), HDR_QR, &b.q);
        tcp_send(conns[i], framed, tcp_frame(framed, sizeof framed, reply, len) / 2);
        run_for(&b.loop, 10);
        EXPECT_UINT(b.out.calls, 0);
        if (i == 0) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(b.up.in_flight);
            upstream_cancel(&b.up, b.up.in_flight);
            EXPECT_UINT(b.up.pending, 0);
        }
    }
    EXPECT_UINT(b.up.pending, 1);
    upstream_free(&b.up);
    EXPECT_UINT(b.up.pending, 0);
    run_for(&b.loop, TEST_TIMEOUT_MS + 20);
    EXPECT_UINT(b.out.calls, 0);
    close(conns[0]);
    close(conns[1]);
    close(b.server.fd);
    close(b.server.tcp);
    loop_free(&b.loop);
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
    CU_add_test(s, "a closed port: FAILED at once", test_closed_port_fails_fast);
    CU_add_test(s, "no socket: FAILED, from the loop", test_no_socket_fails_from_the_loop);
    CU_add_test(s, "max_pending: one more is refused", test_max_pending_refuses);
    CU_add_test(s, "a cancelled query calls nothing", test_cancel_calls_nothing);
    CU_add_test(s, "a callback may ask and cancel", test_callback_asks_and_cancels);
    CU_add_test(s, "100 queries: IDs and ports vary", test_ids_and_ports_vary);
    CU_add_test(s, "upstream_free() ends queries in flight", test_free_with_queries_in_flight);
    CU_add_test(s, "upstream_init() checks its bounds", test_init_checks_bounds);
    CU_add_test(s, "TC: asked again over TCP, the whole reply delivered", test_tc_asks_over_tcp);
    CU_add_test(s, "a budget counts the TCP retry, and a spent one stops it",
                test_budget_counts_and_bounds_tcp);
    CU_add_test(s, "a TCP reply in pieces is put together", test_tcp_reply_in_pieces);
    CU_add_test(s, "a TCP reply with TC is delivered as it is", test_tcp_reply_with_tc_delivered);
    CU_add_test(s, "a forgery with TC is ignored, starts no TCP", test_forged_tc_ignored);
    CU_add_test(s, "a TCP reply with a wrong ID ends the try", test_tcp_wrong_id_ends_try);
    CU_add_test(s, "TCP refused: FAILED at once", test_tcp_refused_fails);
    CU_add_test(s, "TCP closed halfway through the reply: FAILED", test_tcp_closed_early_fails);
    CU_add_test(s, "a silent TCP server: TIMEOUT, a whole timeout after the switch",
                test_tcp_silent_times_out);
    CU_add_test(s, "a slow connection: the query goes once it is up",
                test_tcp_query_waits_for_the_connection);
    CU_add_test(s, "cancel and free halfway through a TCP reply", test_cancel_and_free_during_tcp);
}
