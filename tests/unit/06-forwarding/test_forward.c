/* test_forward.c: steps/06-forwarding/forward.c — options, and answers at once or later. */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "forward.h"
#include "hdr.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "name.h"
#include "net.h"
#include "server.h"
#include "tests.h"
#include "zone.h"
#include "zonefile.h"

static const char example_com[] = "$ORIGIN example.com.\n"
                                  "$TTL 3600\n"
                                  "@    SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                                  "     NS  ns1\n"
                                  "ns1  A   192.0.2.53\n"
                                  "www  300 A 192.0.2.80\n";

/* Large: it holds a relay and a step-5 server. */
static struct forward fw;
static uint8_t reply[DNS_RECV_BUFFER];

static int suite_init(void)
{
    forward_init(&fw);
    char err[ZONEFILE_ERROR_MAX + 64];
    if (zonefile_load_text(&fw.auth.zones, example_com, "example.com", NULL, err, sizeof err) !=
        0) {
        fprintf(stderr, "test_forward: %s\n", err);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    forward_free(&fw); /* no upstream was started: only the zones go */
    return 0;
}

/* Applies option `name` of forward_options to a fresh struct forward. */
static const char *apply(struct forward *f, const char *name, const char *value)
{
    for (size_t i = 0; i < FORWARD_OPTIONS; i++) {
        if (strcmp(forward_options[i].name, name) == 0)
            return forward_options[i].apply(f, value);
    }
    CU_FAIL("no such option");
    return "no such option";
}

static void test_defaults_and_values(void)
{
    static struct forward f;
    forward_init(&f);
    EXPECT_UINT(f.timeout_ms, 2000);
    EXPECT_UINT(f.tries, 2);
    EXPECT_UINT(f.max_pending, 4096);
    CU_ASSERT(!f.have_resolver);

    CU_ASSERT(apply(&f, "resolver", "127.0.0.1:5300") == NULL);
    CU_ASSERT(f.have_resolver);
    char text[NET_ADDR_TEXT_MAX];
    EXPECT_STR(net_addr_text(&f.resolver, text, sizeof text), "127.0.0.1:5300");
    CU_ASSERT(apply(&f, "resolver", "[::1]:53") == NULL);
    EXPECT_STR(net_addr_text(&f.resolver, text, sizeof text), "[::1]:53");
    CU_ASSERT(apply(&f, "resolver", "192.0.2.1") == NULL); /* no port: 53 */
    EXPECT_STR(net_addr_text(&f.resolver, text, sizeof text), "192.0.2.1:53");
    CU_ASSERT(apply(&f, "upstream-timeout", "250") == NULL);
    EXPECT_UINT(f.timeout_ms, 250);
    CU_ASSERT(apply(&f, "upstream-tries", "3") == NULL);
    EXPECT_UINT(f.tries, 3);
    CU_ASSERT(apply(&f, "max-pending", "10") == NULL);
    EXPECT_UINT(f.max_pending, 10);
}

static void test_bad_values(void)
{
    static struct forward f;
    forward_init(&f);
    const char *bad_resolvers[] = {"",        "dns.google:53", "1.2.3.4:99999", "1.2.3.4:0",
                                   "::1:53x", "[::1]:",        "1.2.3.4:53:53"};
    for (size_t i = 0; i < sizeof bad_resolvers / sizeof bad_resolvers[0]; i++) {
        if (apply(&f, "resolver", bad_resolvers[i]) == NULL)
            fprintf(stderr, "\n  --resolver '%s' was taken\n", bad_resolvers[i]);
        CU_ASSERT(apply(&f, "resolver", bad_resolvers[i]) != NULL);
    }
    CU_ASSERT(!f.have_resolver);
    const char *bad_numbers[] = {"",   "abc", "-1",   "+5",
                                 " 5", "5ms", "0x10", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_numbers / sizeof bad_numbers[0]; i++) {
        CU_ASSERT(apply(&f, "upstream-timeout", bad_numbers[i]) != NULL);
        CU_ASSERT(apply(&f, "upstream-tries", bad_numbers[i]) != NULL);
        CU_ASSERT(apply(&f, "max-pending", bad_numbers[i]) != NULL);
    }
    CU_ASSERT(apply(&f, "upstream-timeout", "0") != NULL);
    CU_ASSERT(apply(&f, "upstream-timeout", "60001") != NULL);
    CU_ASSERT(apply(&f, "upstream-tries", "0") != NULL);
    CU_ASSERT(apply(&f, "upstream-tries", "11") != NULL);
    CU_ASSERT(apply(&f, "max-pending", "0") != NULL);
    /* The defaults stand after every refusal. */
    EXPECT_UINT(f.timeout_ms, 2000);
    EXPECT_UINT(f.tries, 2);
    EXPECT_UINT(f.max_pending, 4096);
}

/* A query for `name` (type A) with `flags`; returns its length. */
static size_t query_for(uint8_t *q, size_t cap, const char *name, uint16_t flags)
{
    struct buf_writer w;
    buf_writer_init(&w, q, cap);
    struct hdr h = {.id = 0x5151, .flags = flags, .qdcount = 1};
    hdr_encode(&w, &h);
    struct msg_question question = {.qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN};
    CU_ASSERT_FATAL(name_from_text(name, NULL, &question.qname) == NAME_OK);
    msg_write_question(&w, &question);
    CU_ASSERT_FATAL(buf_writer_ok(&w));
    return w.pos;
}

/* The reply's header. */
static struct hdr reply_header(size_t n)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, reply, n);
    hdr_decode(&r, &h);
    CU_ASSERT(buf_reader_ok(&r));
    return h;
}

/* Answered at once, without the upstream (none was started): the local
 * name as step 5 answers it but with RA; RD=0 outside the zones: REFUSED;
 * a malformed query: FORMERR, RA set too. */
static void test_answers_without_waiting(void)
{
    uint8_t q[512];
    struct server_request req = {.fd = -1};
    size_t len = query_for(q, sizeof q, "www.example.com.", HDR_RD);
    size_t n = forward_handle(&fw, &req, q, len, reply, sizeof reply);
    CU_ASSERT_FATAL(n != SERVER_NO_REPLY && n != SERVER_DEFERRED);
    struct hdr h = reply_header(n);
    EXPECT_UINT(h.flags, HDR_QR | HDR_AA | HDR_RD | HDR_RA);
    EXPECT_UINT(h.ancount, 1);

    len = query_for(q, sizeof q, "www.example.org.", 0);
    n = forward_handle(&fw, &req, q, len, reply, sizeof reply);
    CU_ASSERT_FATAL(n != SERVER_NO_REPLY && n != SERVER_DEFERRED);
    h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_REFUSED);
    CU_ASSERT(hdr_flag(&h, HDR_RA));

    len = query_for(q, sizeof q, "www.example.com.", HDR_RD);
    n = forward_handle(&fw, &req, q, len - 1, reply, sizeof reply); /* QCLASS cut short */
    CU_ASSERT_FATAL(n != SERVER_NO_REPLY && n != SERVER_DEFERRED);
    h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_FORMERR);
    CU_ASSERT(hdr_flag(&h, HDR_RA));

    EXPECT_UINT(fw.stats.queries, 3);
    EXPECT_UINT(fw.stats.local, 2);
    EXPECT_UINT(fw.stats.forwarded, 0);
}

/* Queries that wait for the upstream ------------------------------------------------ */

/*
 * These tests forward for real, on loopback only: the upstream is a UDP
 * socket on 127.0.0.1 that the test owns, reads and answers, and the client
 * is another, which receives what server_reply() sends. The server's loop
 * runs on a fake clock, so a try times out exactly when the test moves the
 * clock, and never because the machine was slow.
 */

enum {
    BENCH_TIMEOUT_MS = 2000, /* on the fake clock: costs nothing */
    BENCH_TRIES = 2,
    /* How long a test waits, in real time, for a datagram on loopback. */
    BENCH_WAIT_MS = 1000,
    /* The fake clock's time at the start: not 0, so a wrong origin shows. */
    BENCH_START_MS = 1000000,
    /* The ID of the client's query (query_for()). */
    CLIENT_ID = 0x5151,
};

/* The fake clock: a test sets fake_now, and the server's loop reads it. */
static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

/* Large: a forwarder of its own, started as forward_setup() starts it. */
static struct forward live;

struct bench {
    struct loop *loop;         /* the server's loop, on the fake clock */
    int upstream_fd;           /* the fake resolver */
    struct net_addr upstream;  /* its address */
    int client_fd;             /* where the replies go */
    struct server_request req; /* a datagram from the client, as the server got it */
};

/* A UDP socket on 127.0.0.1, its port chosen by the kernel, and its address. */
static int udp_open(struct net_addr *a)
{
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 0, a), 0);
    int fd = net_udp_bind(a);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    a->len = sizeof a->ss;
    CU_ASSERT_EQUAL_FATAL(getsockname(fd, (struct sockaddr *)&a->ss, &a->len), 0);
    return fd;
}

/* Waits up to `wait_ms` (real time) for a datagram on `fd`; returns its
 * length and who sent it, or -1 if none came. */
static ssize_t udp_recv(int fd, uint8_t *buf, size_t cap, struct net_addr *from, int wait_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, wait_ms) != 1)
        return -1;
    from->len = sizeof from->ss;
    return recvfrom(fd, buf, cap, 0, (struct sockaddr *)&from->ss, &from->len);
}

/* A forwarder with the example zone, forwarding to a fake upstream, on the
 * server's loop on the fake clock; and a client socket with a request from
 * it. */
static void bench_start(struct bench *b)
{
    memset(b, 0, sizeof *b);
    fake_now = BENCH_START_MS;
    b->loop = server_loop();
    CU_ASSERT_EQUAL_FATAL(loop_init(b->loop, fake_clock), 0);
    b->upstream_fd = udp_open(&b->upstream);
    struct net_addr client;
    b->client_fd = udp_open(&client);
    struct net_addr ours;
    b->req.fd = udp_open(&ours); /* the server's socket, which replies */
    memcpy(&b->req.peer, &client.ss, client.len);
    b->req.peer_len = client.len;

    forward_init(&live);
    char err[ZONEFILE_ERROR_MAX + 64];
    CU_ASSERT_EQUAL_FATAL(
        zonefile_load_text(&live.auth.zones, example_com, "example.com", NULL, err, sizeof err), 0);
    live.resolver = b->upstream;
    live.have_resolver = true;
    live.timeout_ms = BENCH_TIMEOUT_MS;
    live.tries = BENCH_TRIES;
    enum log_level saved = log_threshold;
    log_threshold = LOG_ERROR; /* no "forwarding to" line in the test's output */
    EXPECT_INT(forward_setup(&live), 0);
    log_threshold = saved;
}

static void bench_end(struct bench *b)
{
    forward_free(&live); /* drops whatever still waits */
    loop_free(b->loop);
    close(b->upstream_fd);
    close(b->client_fd);
    close(b->req.fd);
}

/* Runs wake-ups while a job waits, for BENCH_WAIT_MS of real time at most.
 * The fake clock stands still: only a datagram can end the wait. */
static void bench_run_while_waiting(struct bench *b)
{
    uint64_t end = loop_monotonic_ms() + BENCH_WAIT_MS;
    /* Bounded by the real deadline, whatever the code under test does. */
    while (live.waiting > 0 && loop_monotonic_ms() < end)
        CU_ASSERT_EQUAL(loop_run_once(b->loop, 5), 0);
}

/* Sets the fake clock to `t` and runs one wake-up that does not wait. */
static void bench_advance_to(struct bench *b, uint64_t t)
{
    fake_now = t;
    CU_ASSERT_EQUAL(loop_run_once(b->loop, 0), 0);
}

/* Hands the client's query for `name` (RD set) to forward_handle(), and
 * checks that it waits: deferred, one job waiting, one question upstream. */
static size_t bench_forward(struct bench *b, const char *name, uint8_t *q, size_t cap)
{
    size_t len = query_for(q, cap, name, HDR_RD);
    size_t n = forward_handle(&live, &b->req, q, len, reply, sizeof reply);
    EXPECT_UINT(n, SERVER_DEFERRED);
    EXPECT_UINT(live.waiting, 1);
    EXPECT_UINT(live.up.pending, 1);
    EXPECT_UINT(live.stats.forwarded, 1);
    EXPECT_UINT(live.stats.local, 0);
    return len;
}

/* Takes the query the fake upstream got: its length, and who sent it. */
static ssize_t upstream_take(struct bench *b, uint8_t *buf, size_t cap, struct net_addr *from,
                             int wait_ms)
{
    return udp_recv(b->upstream_fd, buf, cap, from, wait_ms);
}

/* The client's reply: it arrived, carries the client's ID and question as
 * sent, QR, RD and RA, and the RCODE `rcode`. Returns its length (no reply
 * at all ends the test). */
static size_t client_reply(struct bench *b, const uint8_t *q, size_t q_len, unsigned rcode)
{
    struct net_addr from;
    ssize_t n = udp_recv(b->client_fd, reply, sizeof reply, &from, BENCH_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n >= (ssize_t)q_len);
    struct hdr h = reply_header((size_t)n);
    EXPECT_UINT(h.id, CLIENT_ID);
    EXPECT_UINT(h.flags & ~HDR_RCODE_MASK, HDR_QR | HDR_RD | HDR_RA);
    EXPECT_UINT(hdr_rcode(&h), rcode);
    EXPECT_UINT(h.qdcount, 1);
    /* The question, byte for byte (the case of the name included). */
    EXPECT_BYTES(reply + DNS_HEADER_SIZE, q_len - DNS_HEADER_SIZE, q + DNS_HEADER_SIZE,
                 q_len - DNS_HEADER_SIZE);
    return (size_t)n;
}

static void test_waits_for_the_upstream_answer(void)
{
    struct bench b;
    bench_start(&b);
    uint8_t q[512];
    size_t q_len = bench_forward(&b, "WwW.Example.ORG.", q, sizeof q);

    /* The upstream got the question in a query of its own: one question, so
     * as long as the client's. */
    uint8_t up[DNS_UDP_MAX];
    struct net_addr from;
    ssize_t n = upstream_take(&b, up, sizeof up, &from, BENCH_WAIT_MS);
    CU_ASSERT_TRUE_FATAL(n == (ssize_t)q_len);
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, up, (size_t)n);
    hdr_decode(&r, &h);
    struct msg_question asked;
    EXPECT_STATUS(msg_read_question(&r, &asked), NAME_OK);
    EXPECT_UINT(live.stats.queries, 1);
    /* Nothing goes to the client yet. */
    uint8_t early[DNS_UDP_MAX];
    struct net_addr early_from;
    EXPECT_INT(udp_recv(b.client_fd, early, sizeof early, &early_from, 0), -1);

    /* It answers: header (its ID, QR RD RA, QDCOUNT 1, ANCOUNT 1), the
     * question, one A record 192.0.2.1. */
    uint8_t ans[DNS_UDP_MAX];
    struct buf_writer w;
    buf_writer_init(&w, ans, sizeof ans);
    struct hdr ah = {.id = h.id, .flags = HDR_QR | HDR_RD | HDR_RA, .qdcount = 1, .ancount = 1};
    hdr_encode(&w, &ah);
    msg_write_question(&w, &asked);
    buf_write_u16(&w, 0xC000 | DNS_HEADER_SIZE); /* owner: pointer to the question's name */
    buf_write_u16(&w, DNS_TYPE_A);
    buf_write_u16(&w, DNS_CLASS_IN);
    buf_write_u32(&w, 300);        /* TTL */
    buf_write_u16(&w, 4);          /* RDLENGTH */
    buf_write_u32(&w, 0xC0000201); /* 192.0.2.1 */
    CU_ASSERT_FATAL(buf_writer_ok(&w));
    CU_ASSERT_EQUAL(
        sendto(b.upstream_fd, ans, w.pos, 0, (const struct sockaddr *)&from.ss, from.len),
        (ssize_t)w.pos);

    bench_run_while_waiting(&b);
    EXPECT_UINT(live.waiting, 0);
    EXPECT_UINT(live.up.pending, 0);
    CU_ASSERT_PTR_NULL(live.jobs);
    size_t len = client_reply(&b, q, q_len, DNS_RCODE_NOERROR);
    struct hdr rh = reply_header(len);
    EXPECT_UINT(rh.ancount, 1);
    static const uint8_t rdata[] = {192, 0, 2, 1};
    EXPECT_BYTES(reply + len - sizeof rdata, sizeof rdata, rdata, sizeof rdata);
    EXPECT_UINT(live.up.stats.replies, 1);
    EXPECT_UINT(live.stats.servfail, 0);
    bench_end(&b);
}

static void test_silent_upstream_servfail(void)
{
    const uint64_t t0 = BENCH_START_MS, t = BENCH_TIMEOUT_MS;
    struct bench b;
    bench_start(&b);
    uint8_t q[512];
    size_t q_len = bench_forward(&b, "www.example.org.", q, sizeof q);
    uint8_t up[DNS_UDP_MAX];
    struct net_addr from;
    CU_ASSERT_TRUE(upstream_take(&b, up, sizeof up, &from, BENCH_WAIT_MS) > 0); /* try 1 */

    /* The upstream says nothing. One millisecond before the timeout, the
     * job still waits; at the timeout, try 2 goes out, and it still waits. */
    bench_advance_to(&b, t0 + t - 1);
    EXPECT_UINT(live.up.stats.sent, 1);
    EXPECT_INT(upstream_take(&b, up, sizeof up, &from, 0), -1);
    EXPECT_UINT(live.waiting, 1);
    bench_advance_to(&b, t0 + t);
    EXPECT_UINT(live.up.stats.sent, 2);
    CU_ASSERT_TRUE(upstream_take(&b, up, sizeof up, &from, BENCH_WAIT_MS) > 0); /* try 2 */
    EXPECT_UINT(live.waiting, 1);
    EXPECT_UINT(live.up.pending, 1);
    uint8_t early[DNS_UDP_MAX];
    struct net_addr early_from;
    EXPECT_INT(udp_recv(b.client_fd, early, sizeof early, &early_from, 0), -1);
    EXPECT_UINT(live.stats.servfail, 0);

    /* The last try times out: SERVFAIL, with the client's ID and question. */
    bench_advance_to(&b, t0 + 2 * t);
    EXPECT_UINT(live.waiting, 0);
    EXPECT_UINT(live.up.pending, 0);
    CU_ASSERT_PTR_NULL(live.jobs);
    size_t len = client_reply(&b, q, q_len, DNS_RCODE_SERVFAIL);
    struct hdr rh = reply_header(len);
    EXPECT_UINT(rh.ancount, 0);
    EXPECT_UINT(live.stats.servfail, 1);
    EXPECT_UINT(live.up.stats.timeouts, 1);
    EXPECT_UINT(live.up.stats.sent, BENCH_TRIES);
    bench_end(&b);
}

void test_forward_register(void)
{
    CU_pSuite s = CU_add_suite("forward", suite_init, suite_clean);
    CU_add_test(s, "option defaults and good values", test_defaults_and_values);
    CU_add_test(s, "bad option values refused, defaults kept", test_bad_values);
    CU_add_test(s, "local, RD=0 and malformed queries answered at once",
                test_answers_without_waiting);
    CU_add_test(s, "a forwarded query waits; the upstream's answer goes back with the client's ID",
                test_waits_for_the_upstream_answer);
    CU_add_test(s, "a silent upstream: SERVFAIL after the last try (fake clock)",
                test_silent_upstream_servfail);
}
