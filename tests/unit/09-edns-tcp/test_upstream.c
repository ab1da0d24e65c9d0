/* test_upstream.c: unit tests of what steps/09-edns-tcp/upstream.c adds — EDNS on queries to
 * name servers, and the fallback without it. */
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "edns.h"
#include "hdr.h"
#include "loop.h"
#include "msg.h"
#include "net.h"
#include "tests.h"
#include "upstream.h"

/*
 * As in tests/unit/07-recursion/test_upstream.c (which tests the rest of this
 * module: IDs, ports, matching, timeouts, TCP after TC), each test runs a real
 * loop against a fake server on 127.0.0.1 that the test reads and answers
 * between wake-ups. Here only what step 9 adds is tested: the OPT on every
 * query, and a server that does not take it. The loop's clock is the
 * monotonic one plus `clock_skew`, so that a test can jump 15 minutes ahead.
 */

enum {
    /* Long: a test that sees a second query within TEST_WAIT_MS knows it was
     * sent at once, not after a timeout. */
    TEST_TIMEOUT_MS = 5000,
    TEST_WAIT_MS = 1000,
};

static uint64_t clock_skew;

static uint64_t test_clock(void)
{
    return loop_monotonic_ms() + clock_skew;
}

struct outcome {
    uint64_t calls;
    enum upstream_result result;
    uint8_t reply[DNS_MESSAGE_MAX];
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

/* The fake server, the loop, the client ------------------------------------------ */

struct bench {
    struct loop loop;
    struct upstream up;
    int fd;               /* the fake server's UDP socket */
    int tcp;              /* and its TCP one on the same port, or -1 */
    struct net_addr addr; /* 127.0.0.1 and the port the kernel chose */
    struct msg_question q;
    struct outcome out;
};

static void fake_open(struct bench *b)
{
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 0, &b->addr), 0);
    b->fd = net_udp_bind(&b->addr);
    CU_ASSERT_TRUE_FATAL(b->fd >= 0);
    b->addr.len = sizeof b->addr.ss;
    CU_ASSERT_EQUAL_FATAL(getsockname(b->fd, (struct sockaddr *)&b->addr.ss, &b->addr.len), 0);
    b->tcp = -1;
}

static void bench_start(struct bench *b)
{
    memset(b, 0, sizeof(*b));
    clock_skew = 0;
    CU_ASSERT_EQUAL_FATAL(loop_init(&b->loop, test_clock), 0);
    CU_ASSERT_EQUAL(loop_run_once(&b->loop, 0), 0); /* the loop's time is the clock's */
    CU_ASSERT_EQUAL_FATAL(upstream_init(&b->up, &b->loop, TEST_TIMEOUT_MS, 1, 16), 0);
    fake_open(b);
    CU_ASSERT_EQUAL(name_from_text("www.example.com.", NULL, &b->q.qname), NAME_OK);
    b->q.qtype = DNS_TYPE_A;
    b->q.qclass = DNS_CLASS_IN;
}

static void bench_end(struct bench *b)
{
    upstream_free(&b->up);
    close(b->fd);
    if (b->tcp >= 0)
        close(b->tcp);
    loop_free(&b->loop);
}

/* Runs wake-ups while *counter < target, for `max_ms` at most. */
static void run_until(struct loop *l, const uint64_t *counter, uint64_t target, unsigned max_ms)
{
    uint64_t end = loop_monotonic_ms() + max_ms;
    /* Bounded by the deadline, whatever the code under test does. */
    while (*counter < target && loop_monotonic_ms() < end)
        CU_ASSERT_EQUAL(loop_run_once(l, 5), 0);
}

/* Waits for a query on the fake server's UDP socket, running the loop
 * meanwhile: its length (copied to `out`, its sender to `from`), or -1 if
 * none came within TEST_WAIT_MS. */
static ssize_t fake_recv(struct bench *b, uint8_t *out, size_t cap, struct net_addr *from)
{
    uint64_t end = loop_monotonic_ms() + TEST_WAIT_MS;
    /* Bounded by the deadline. */
    while (loop_monotonic_ms() < end) {
        struct pollfd p = {.fd = b->fd, .events = POLLIN};
        if (poll(&p, 1, 0) == 1) {
            from->len = sizeof from->ss;
            return recvfrom(b->fd, out, cap, 0, (struct sockaddr *)&from->ss, &from->len);
        }
        CU_ASSERT_EQUAL(loop_run_once(&b->loop, 1), 0);
    }
    return -1;
}

static void send_to(int fd, const uint8_t *data, size_t len, const struct net_addr *to)
{
    EXPECT_INT(sendto(fd, data, len, 0, (const struct sockaddr *)&to->ss, to->len), (long long)len);
}

static struct hdr header_of(const uint8_t *data, size_t len)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &h);
    return h;
}

/* Whether a query the fake server received carries an OPT: ARCOUNT 1 and our
 * OPT's 11 bytes at its end. */
static bool has_opt(const uint8_t *data, ssize_t n)
{
    static const uint8_t opt[] = {0x00, 0x00, 0x29, 0x04, 0xd0, 0, 0, 0, 0, 0, 0};
    return n > (ssize_t)sizeof opt && header_of(data, (size_t)n).arcount == 1 &&
           memcmp(data + n - sizeof opt, opt, sizeof opt) == 0;
}

/* A reply to b->q with ID `id`: QR and RCODE `rcode` (12 bits: the upper 8
 * go in an OPT), `answers` A records, and an OPT with payload 1232 if `opt`
 * (forced by an RCODE over 15). Returns its length. */
static size_t write_reply(const struct bench *b, uint8_t *out, size_t cap, uint16_t id,
                          unsigned rcode, unsigned answers, bool opt)
{
    opt = opt || rcode > HDR_RCODE_MASK;
    struct buf_writer w;
    buf_writer_init(&w, out, cap);
    struct hdr h = {.id = id, .flags = HDR_QR, .qdcount = 1, .ancount = (uint16_t)answers};
    hdr_set_rcode(&h, rcode & HDR_RCODE_MASK);
    h.arcount = opt ? 1 : 0;
    hdr_encode(&w, &h);
    msg_write_question(&w, &b->q);
    /* Bounded by the caller's count. */
    for (unsigned i = 0; i < answers; i++) {
        buf_write_u16(&w, 0xC000 | DNS_HEADER_SIZE); /* owner: pointer to the question's name */
        buf_write_u16(&w, DNS_TYPE_A);
        buf_write_u16(&w, DNS_CLASS_IN);
        buf_write_u32(&w, 300);            /* TTL */
        buf_write_u16(&w, 4);              /* RDLENGTH */
        buf_write_u32(&w, 0xC0000200 + i); /* 192.0.2.i */
    }
    if (opt) {
        buf_write_u8(&w, 0); /* owner: the root */
        buf_write_u16(&w, DNS_TYPE_OPT);
        buf_write_u16(&w, EDNS_PAYLOAD);
        buf_write_u32(&w, (uint32_t)(rcode >> 4) << 24); /* TTL: EXTENDED-RCODE, version 0 */
        buf_write_u16(&w, 0);                            /* RDLENGTH */
    }
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

/* Asks b->q; returns the query the fake server received (in `data`) and its
 * sender in `client`. */
static ssize_t bench_ask(struct bench *b, uint8_t *data, size_t cap, struct net_addr *client)
{
    b->out.calls = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(
        upstream_ask(&b->up, &b->addr, &b->q, false, record_done, &b->out));
    ssize_t n = fake_recv(b, data, cap, client);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    return n;
}

/* Tests -------------------------------------------------------------------------- */

static void test_opt_on_the_wire(void)
{
    struct bench b;
    bench_start(&b);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    uint8_t expected[] = {
        0x00, 0x00,                                 /* ID: random, copied below */
        0x00, 0x00,                                 /* flags: none (RD clear, as asked) */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT */
        0x00, 0x00,                                 /* NSCOUNT */
        0x00, 0x01,                                 /* ARCOUNT 1: the OPT */
        0x03, 'w',  'w',  'w',                      /* label "www" */
        0x07, 'e',  'x',  'a',  'm', 'p', 'l', 'e', /* label "example" */
        0x03, 'c',  'o',  'm',                      /* label "com" */
        0x00,                                       /* root */
        0x00, 0x01,                                 /* QTYPE A */
        0x00, 0x01,                                 /* QCLASS IN */
        0x00,                                       /* OPT owner: the root */
        0x00, 0x29,                                 /* TYPE OPT */
        0x04, 0xd0,                                 /* CLASS: we take 1232 bytes over UDP */
        0x00, 0x00, 0x00, 0x00,                     /* TTL: EXTENDED-RCODE, VERSION 0, DO clear */
        0x00, 0x00,                                 /* RDLENGTH 0: no options */
    };
    expected[0] = data[0];
    expected[1] = data[1];
    EXPECT_BYTES(data, (size_t)n, expected, sizeof expected);
    bench_end(&b);
}

/* A reply with an OPT, longer than 512 bytes, over UDP: delivered as it is,
 * and the server is not held against anything. */
static void test_reply_with_opt_delivered(void)
{
    struct bench b;
    bench_start(&b);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    uint8_t reply[EDNS_PAYLOAD];
    /* 12 + 21 + 60 * 16 + 11 = 1004 bytes: more than 512, within 1232. */
    size_t len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id,
                             DNS_RCODE_NOERROR, 60, true);
    CU_ASSERT_TRUE(len > DNS_UDP_MAX && len <= EDNS_PAYLOAD);
    send_to(b.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.sent, 1);
    EXPECT_UINT(b.up.stats.no_edns, 0);
    /* The next query carries the OPT too. */
    n = bench_ask(&b, data, sizeof data, &client);
    CU_ASSERT_TRUE(has_opt(data, n));
    bench_end(&b);
}

/* The server answers the query with an OPT `rcode`: the same try again at
 * once without the OPT, whose answer is delivered; the server is remembered,
 * and the next query to it goes without the OPT from the start. */
static void fallback_on(unsigned rcode)
{
    struct bench b;
    bench_start(&b);
    uint8_t first[DNS_UDP_MAX], second[DNS_UDP_MAX];
    struct net_addr client, client2;
    ssize_t n1 = bench_ask(&b, first, sizeof first, &client);
    CU_ASSERT_TRUE(has_opt(first, n1));
    uint8_t reply[DNS_UDP_MAX];
    size_t len =
        write_reply(&b, reply, sizeof reply, header_of(first, (size_t)n1).id, rcode, 0, false);
    send_to(b.fd, reply, len, &client);

    /* Within TEST_WAIT_MS, with a timeout of 5 s and one try: at once. */
    ssize_t n2 = fake_recv(&b, second, sizeof second, &client2);
    CU_ASSERT_TRUE_FATAL(n2 >= DNS_HEADER_SIZE);
    CU_ASSERT_FALSE(has_opt(second, n2));
    EXPECT_UINT(header_of(second, (size_t)n2).arcount, 0);
    EXPECT_INT(n2, n1 - EDNS_OPT_SIZE); /* the same query, less the OPT */
    EXPECT_UINT(b.out.calls, 0);
    EXPECT_UINT(b.up.stats.no_edns, 1);
    EXPECT_UINT(b.up.stats.sent, 2);

    /* A reply to the first query, late: not the second's (another ID, or
     * at least another port), so it is never taken. */
    send_to(b.fd, reply, len, &client);
    len = write_reply(&b, reply, sizeof reply, header_of(second, (size_t)n2).id, DNS_RCODE_NOERROR,
                      1, false);
    send_to(b.fd, reply, len, &client2);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.replies, 1);

    /* Remembered: the next query goes without the OPT, and nothing more is counted. */
    uint8_t third[DNS_UDP_MAX];
    ssize_t n3 = bench_ask(&b, third, sizeof third, &client);
    CU_ASSERT_FALSE(has_opt(third, n3));
    EXPECT_UINT(b.up.stats.no_edns, 1);
    bench_end(&b);
}

static void test_formerr_falls_back(void)
{
    fallback_on(DNS_RCODE_FORMERR);
}

static void test_notimp_falls_back(void)
{
    fallback_on(DNS_RCODE_NOTIMP);
}

static void test_badvers_falls_back(void)
{
    fallback_on(EDNS_RCODE_BADVERS);
}

/* Once the query goes without the OPT, a FORMERR is the server's answer to
 * the question itself: delivered, not asked again. */
static void test_formerr_without_opt_delivered(void)
{
    struct bench b;
    bench_start(&b);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id,
                             DNS_RCODE_FORMERR, 0, false);
    send_to(b.fd, reply, len, &client);
    n = fake_recv(&b, data, sizeof data, &client);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id, DNS_RCODE_FORMERR, 0,
                      false);
    send_to(b.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.sent, 2);
    EXPECT_UINT(b.up.stats.no_edns, 1);
    bench_end(&b);
}

/* A FORMERR that carries an OPT comes from a server that knows EDNS (RFC
 * 6891 6.1.1): it is about the question, not the OPT. Delivered at once. */
static void test_formerr_with_opt_delivered(void)
{
    struct bench b;
    bench_start(&b);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id,
                             DNS_RCODE_FORMERR, 0, true);
    send_to(b.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b.out.calls, 1);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.sent, 1);
    EXPECT_UINT(b.up.stats.no_edns, 0);
    bench_end(&b);
}

/* Other failures say nothing about EDNS: SERVFAIL is delivered at once. */
static void test_servfail_delivered(void)
{
    struct bench b;
    bench_start(&b);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    uint8_t reply[DNS_UDP_MAX];
    size_t len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id,
                             DNS_RCODE_SERVFAIL, 0, false);
    send_to(b.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    EXPECT_UINT(b.up.stats.sent, 1);
    EXPECT_UINT(b.up.stats.no_edns, 0);
    bench_end(&b);
}

/* Answers the pending query with FORMERR, and its retry without OPT with
 * NOERROR, so that b->addr is remembered. */
static void bench_fail_edns(struct bench *b)
{
    uint8_t data[DNS_UDP_MAX], reply[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(b, data, sizeof data, &client);
    CU_ASSERT_TRUE(has_opt(data, n));
    size_t len = write_reply(b, reply, sizeof reply, header_of(data, (size_t)n).id,
                             DNS_RCODE_FORMERR, 0, false);
    send_to(b->fd, reply, len, &client);
    n = fake_recv(b, data, sizeof data, &client);
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    CU_ASSERT_FALSE(has_opt(data, n));
    len = write_reply(b, reply, sizeof reply, header_of(data, (size_t)n).id, DNS_RCODE_NOERROR, 1,
                      false);
    send_to(b->fd, reply, len, &client);
    run_until(&b->loop, &b->out.calls, 1, TEST_WAIT_MS);
    EXPECT_UINT(b->out.calls, 1);
}

/* Remembered for UPSTREAM_NO_EDNS_MS on the loop's clock, then asked with the
 * OPT again. */
static void test_remembered_for_a_while(void)
{
    struct bench b;
    bench_start(&b);
    bench_fail_edns(&b);
    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;

    clock_skew = UPSTREAM_NO_EDNS_MS - 1000;
    CU_ASSERT_EQUAL(loop_run_once(&b.loop, 0), 0);
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    CU_ASSERT_FALSE(has_opt(data, n)); /* a second short of 15 minutes */
    upstream_cancel(&b.up, b.up.in_flight);

    clock_skew = UPSTREAM_NO_EDNS_MS;
    CU_ASSERT_EQUAL(loop_run_once(&b.loop, 0), 0);
    n = bench_ask(&b, data, sizeof data, &client);
    CU_ASSERT_TRUE(has_opt(data, n)); /* 15 minutes later: with the OPT again */
    upstream_cancel(&b.up, b.up.in_flight);

    /* And if it fails again, it is remembered again, in the same entry. */
    bench_fail_edns(&b);
    EXPECT_UINT(b.up.stats.no_edns, 2);
    size_t used = 0;
    for (size_t i = 0; i < UPSTREAM_NO_EDNS_MAX; i++) /* bounded by the table */
        used += b.up.no_edns[i].until != 0;
    EXPECT_UINT(used, 1);
    bench_end(&b);
}

/* The table holds UPSTREAM_NO_EDNS_MAX servers: one more takes the place of
 * the oldest, which gets the OPT again; the others are still remembered. */
static void test_oldest_forgotten_first(void)
{
    struct bench b;
    bench_start(&b);
    struct net_addr first = b.addr;
    int first_fd = b.fd;
    int fds[UPSTREAM_NO_EDNS_MAX];
    /* Bounded by the table's size: a fake server of its own for each entry and one more. */
    for (size_t i = 0; i <= UPSTREAM_NO_EDNS_MAX; i++) {
        if (i > 0) {
            fds[i - 1] = b.fd;
            fake_open(&b);
        }
        clock_skew++; /* each remembered a millisecond after the last */
        CU_ASSERT_EQUAL(loop_run_once(&b.loop, 0), 0);
        bench_fail_edns(&b);
    }
    EXPECT_UINT(b.up.stats.no_edns, UPSTREAM_NO_EDNS_MAX + 1);

    uint8_t data[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client); /* the newest */
    CU_ASSERT_FALSE(has_opt(data, n));
    upstream_cancel(&b.up, b.up.in_flight);

    int newest_fd = b.fd;
    struct net_addr newest = b.addr;
    b.fd = fds[1]; /* the second oldest: still remembered */
    socklen_t len = sizeof b.addr.ss;
    CU_ASSERT_EQUAL(getsockname(b.fd, (struct sockaddr *)&b.addr.ss, &len), 0);
    b.addr.len = len;
    n = bench_ask(&b, data, sizeof data, &client);
    CU_ASSERT_FALSE(has_opt(data, n));
    upstream_cancel(&b.up, b.up.in_flight);

    b.fd = first_fd; /* the oldest: forgotten */
    b.addr = first;
    n = bench_ask(&b, data, sizeof data, &client);
    CU_ASSERT_TRUE(has_opt(data, n));
    upstream_cancel(&b.up, b.up.in_flight);

    b.fd = newest_fd;
    b.addr = newest;
    for (size_t i = 0; i < UPSTREAM_NO_EDNS_MAX; i++) /* every server but the newest */
        close(fds[i]);
    bench_end(&b);
}

/* Over TCP too (after TC): a FORMERR to the query with the OPT starts the try
 * again without it, over UDP as every try starts. */
static void test_formerr_over_tcp_falls_back(void)
{
    struct bench b;
    bench_start(&b);
    /* A TCP socket on the UDP socket's port (taken over TCP: try another). */
    /* Bounded: 10 ports. */
    for (int i = 0; i < 10 && b.tcp < 0; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        CU_ASSERT_TRUE_FATAL(fd >= 0);
        int one = 1;
        CU_ASSERT_EQUAL(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
        if (bind(fd, (const struct sockaddr *)&b.addr.ss, b.addr.len) == 0 && listen(fd, 4) == 0) {
            b.tcp = fd;
        } else {
            close(fd);
            close(b.fd);
            fake_open(&b);
        }
    }
    CU_ASSERT_TRUE_FATAL(b.tcp >= 0);

    uint8_t data[DNS_UDP_MAX], reply[DNS_UDP_MAX];
    struct net_addr client;
    ssize_t n = bench_ask(&b, data, sizeof data, &client);
    size_t len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id,
                             DNS_RCODE_NOERROR, 0, true);
    reply[2] |= HDR_TC >> 8; /* truncated: ask over TCP */
    send_to(b.fd, reply, len, &client);
    run_until(&b.loop, &b.up.stats.sent, 2, TEST_WAIT_MS);
    EXPECT_UINT(b.up.stats.tcp, 1);

    int conn = accept(b.tcp, NULL, NULL);
    CU_ASSERT_TRUE_FATAL(conn >= 0);
    uint8_t framed[2 + DNS_UDP_MAX];
    n = recv(conn, framed, sizeof framed, 0); /* one small segment on loopback */
    CU_ASSERT_TRUE_FATAL(n >= 2 + DNS_HEADER_SIZE);
    CU_ASSERT_TRUE(has_opt(framed + 2, n - 2));
    len = write_reply(&b, reply, sizeof reply, header_of(framed + 2, (size_t)n - 2).id,
                      DNS_RCODE_FORMERR, 0, false);
    framed[0] = (uint8_t)(len >> 8);
    framed[1] = (uint8_t)len;
    memcpy(framed + 2, reply, len);
    EXPECT_INT(send(conn, framed, len + 2, MSG_NOSIGNAL), (long long)(len + 2));

    n = fake_recv(&b, data, sizeof data, &client); /* over UDP, without the OPT */
    CU_ASSERT_TRUE_FATAL(n >= DNS_HEADER_SIZE);
    CU_ASSERT_FALSE(has_opt(data, n));
    EXPECT_UINT(b.up.stats.no_edns, 1);
    len = write_reply(&b, reply, sizeof reply, header_of(data, (size_t)n).id, DNS_RCODE_NOERROR, 1,
                      false);
    send_to(b.fd, reply, len, &client);
    run_until(&b.loop, &b.out.calls, 1, TEST_WAIT_MS);
    EXPECT_INT(b.out.result, UPSTREAM_REPLY);
    EXPECT_BYTES(b.out.reply, b.out.len, reply, len);
    close(conn);
    bench_end(&b);
}

void test_upstream_register(void)
{
    CU_pSuite s = CU_add_suite("upstream (EDNS)", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "every query carries our OPT: 1232, version 0, DO clear", test_opt_on_the_wire);
    CU_add_test(s, "a reply with an OPT, over 512 bytes, is delivered",
                test_reply_with_opt_delivered);
    CU_add_test(s, "FORMERR: asked again at once without the OPT, remembered",
                test_formerr_falls_back);
    CU_add_test(s, "NOTIMP: likewise", test_notimp_falls_back);
    CU_add_test(s, "BADVERS: likewise", test_badvers_falls_back);
    CU_add_test(s, "FORMERR to the query without OPT is delivered",
                test_formerr_without_opt_delivered);
    CU_add_test(s, "FORMERR with an OPT is delivered, no fallback",
                test_formerr_with_opt_delivered);
    CU_add_test(s, "SERVFAIL is delivered, no fallback", test_servfail_delivered);
    CU_add_test(s, "remembered for 15 minutes, then the OPT again", test_remembered_for_a_while);
    CU_add_test(s, "a full table forgets the oldest server first", test_oldest_forgotten_first);
    CU_add_test(s, "FORMERR over TCP: asked again over UDP without the OPT",
                test_formerr_over_tcp_falls_back);
}
