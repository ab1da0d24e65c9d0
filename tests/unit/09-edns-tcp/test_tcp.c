/* test_tcp.c: unit tests of steps/09-edns-tcp/tcp.c — framing, the output queue, the table. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "tcp.h"
#include "tests.h"

/* Opens a connection on `fd` in `t`, from 127.0.0.1:40000, at loop time `now`. */
static struct tcp_conn *open_one(struct tcp_table *t, int fd, uint64_t now)
{
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(40000)};
    peer.sin_addr.s_addr = htonl(0x7f000001);
    return tcp_open(t, fd, (const struct sockaddr *)&peer, sizeof peer, now);
}

/* Reads `n` bytes into `c` as recv() would, at most what tcp_in_room() offers.
 * Returns how many went in. */
static size_t feed(struct tcp_conn *c, const uint8_t *bytes, size_t n)
{
    size_t room;
    uint8_t *at = tcp_in_room(c, &room);
    CU_ASSERT_FATAL(at != NULL);
    CU_ASSERT(room >= 1);
    if (n > room)
        n = room;
    memcpy(at, bytes, n);
    tcp_in_got(c, n);
    return n;
}

/* Expects the next whole message to be `len` bytes equal to `want`. */
static void expect_next(struct tcp_conn *c, uint64_t now, const uint8_t *want, size_t len)
{
    const uint8_t *msg = NULL;
    size_t got = 0;
    CU_ASSERT_FATAL(tcp_in_next(c, now, &msg, &got));
    EXPECT_BYTES(msg, got, want, len);
}

static void expect_none(struct tcp_conn *c)
{
    const uint8_t *msg;
    size_t len;
    CU_ASSERT(!tcp_in_ready(c));
    CU_ASSERT(!tcp_in_next(c, 0, &msg, &len));
}

/* Input ----------------------------------------------------------------------- */

/* Three messages of a stream: "abc", "" (a zero length), "hello". */
static const uint8_t stream[] = {
    0x00, 0x03, 'a', 'b', 'c',           /* length 3, then 3 bytes */
    0x00, 0x00,                          /* length 0: an empty message */
    0x00, 0x05, 'h', 'e', 'l', 'l', 'o', /* length 5 */
};

static void test_in_all_in_one_read(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 0);
    CU_ASSERT_FATAL(c != NULL);
    EXPECT_UINT(feed(c, stream, sizeof stream), sizeof stream);
    expect_next(c, 1, (const uint8_t *)"abc", 3);
    expect_next(c, 1, (const uint8_t *)"", 0);
    expect_next(c, 1, (const uint8_t *)"hello", 5);
    expect_none(c);
    tcp_table_free(&t);
}

static void test_in_one_byte_at_a_time(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 0);
    CU_ASSERT_FATAL(c != NULL);
    /* After byte i, whole messages end at offsets 5, 7 and 14. */
    unsigned whole = 0;
    for (size_t i = 0; i < sizeof stream; i++) {
        EXPECT_UINT(feed(c, &stream[i], 1), 1);
        const uint8_t *msg;
        size_t len;
        /* At most one message can be completed by one byte. */
        if (tcp_in_next(c, 0, &msg, &len)) {
            whole++;
            EXPECT_UINT(i + 1, whole == 1 ? 5 : whole == 2 ? 7 : 14);
        }
    }
    EXPECT_UINT(whole, 3);
    expect_none(c);
    tcp_table_free(&t);
}

static void test_in_split_length(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 0);
    CU_ASSERT_FATAL(c != NULL);
    /* The first byte of a length: not even the length yet. */
    feed(c, stream, 1);
    expect_none(c);
    /* Its second byte and the message but one byte. */
    feed(c, stream + 1, 3);
    expect_none(c);
    /* The last byte, and half of the next length. */
    feed(c, stream + 4, 2);
    expect_next(c, 0, (const uint8_t *)"abc", 3);
    expect_none(c);
    feed(c, stream + 6, sizeof stream - 6);
    expect_next(c, 0, (const uint8_t *)"", 0);
    expect_next(c, 0, (const uint8_t *)"hello", 5);
    expect_none(c);
    tcp_table_free(&t);
}

static void test_in_large_message(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 0);
    CU_ASSERT_FATAL(c != NULL);
    /* The longest message there is: 65535 bytes behind 0xFFFF, then a short
     * one right behind it in the same stream. */
    size_t n = 2 + 65535 + 2 + 1;
    uint8_t *bytes = malloc(n);
    CU_ASSERT_FATAL(bytes != NULL);
    bytes[0] = 0xff;
    bytes[1] = 0xff;
    for (size_t i = 0; i < 65535; i++)
        bytes[2 + i] = (uint8_t)(i * 7);
    bytes[65537] = 0x00;
    bytes[65538] = 0x01;
    bytes[65539] = 'z';
    /* Read as recv() would: no more than the room each time. The room
     * grows to the whole message once its length is known. */
    size_t done = 0;
    unsigned reads = 0;
    /* Each read takes at least one byte: at most n reads. */
    while (done < 2 + 65535) {
        done += feed(c, bytes + done, 2 + 65535 - done);
        reads++;
    }
    CU_ASSERT(reads <= 2); /* TCP_IN_FIRST bytes, then all the rest */
    EXPECT_UINT(c->in_cap, 2 + 65535);
    expect_next(c, 0, bytes + 2, 65535);
    feed(c, bytes + done, n - done);
    /* Empty again, the buffer shrank back. */
    EXPECT_UINT(c->in_cap, TCP_IN_FIRST);
    expect_next(c, 0, (const uint8_t *)"z", 1);
    free(bytes);
    tcp_table_free(&t);
}

static void test_in_activity(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 100);
    CU_ASSERT_FATAL(c != NULL);
    EXPECT_UINT(c->last_active, 100);
    /* Bytes that make no whole message are no activity: a client sending one
     * byte a second stays idle, and is closed at --tcp-timeout. */
    feed(c, stream, 4);
    EXPECT_UINT(c->last_active, 100);
    EXPECT_UINT(tcp_due(c, 1000), 1100);
    feed(c, stream + 4, 1);
    expect_next(c, 250, (const uint8_t *)"abc", 3);
    EXPECT_UINT(c->last_active, 250);
    EXPECT_UINT(tcp_due(c, 1000), 1250);
    /* A query in flight: never due, its reply will be activity. */
    c->in_flight = 1;
    EXPECT_UINT(tcp_due(c, 1000), UINT64_MAX);
    c->in_flight = 0;
    /* A huge timeout saturates. */
    EXPECT_UINT(tcp_due(c, UINT64_MAX), UINT64_MAX);
    tcp_table_free(&t);
}

/* Output ---------------------------------------------------------------------- */

static void test_out_partial_writes(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 0);
    CU_ASSERT_FATAL(c != NULL);
    size_t len;
    CU_ASSERT(tcp_out_pending(c, &len) == NULL);
    EXPECT_UINT(len, 0);
    EXPECT_INT(tcp_out_push(c, (const uint8_t *)"abc", 3), 0);
    EXPECT_INT(tcp_out_push(c, (const uint8_t *)"", 0), 0);
    const uint8_t *p = tcp_out_pending(c, &len);
    static const uint8_t two[] = {0x00, 0x03, 'a', 'b', 'c', 0x00, 0x00};
    EXPECT_BYTES(p, len, two, sizeof two);
    CU_ASSERT(!tcp_idle(c)); /* something to send */

    /* The kernel takes 1 byte, then 3: half a length, then across the
     * boundary. Not yet activity: a reply is not all out. */
    tcp_out_sent(c, 1, 10);
    p = tcp_out_pending(c, &len);
    EXPECT_BYTES(p, len, two + 1, sizeof two - 1);
    tcp_out_sent(c, 3, 20);
    EXPECT_UINT(c->last_active, 0);
    /* A third reply queued behind what is left. */
    EXPECT_INT(tcp_out_push(c, (const uint8_t *)"hello", 5), 0);
    static const uint8_t rest[] = {'c', 0x00, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
    p = tcp_out_pending(c, &len);
    EXPECT_BYTES(p, len, rest, sizeof rest);
    tcp_out_sent(c, len, 30);
    CU_ASSERT(tcp_out_pending(c, &len) == NULL);
    EXPECT_UINT(c->last_active, 30); /* all out: activity */
    CU_ASSERT(tcp_idle(c));
    tcp_table_free(&t);
}

static void test_out_backlog_bounds_reading(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 1), 0);
    struct tcp_conn *c = open_one(&t, 5, 0);
    CU_ASSERT_FATAL(c != NULL);
    static uint8_t reply[4096];
    CU_ASSERT(tcp_may_read(c));
    /* Replies the client does not read: at TCP_OUT_BACKLOG_MAX bytes, no
     * more queries are read from it. Bounded by that count. */
    size_t queued = 0;
    while (tcp_may_read(c)) {
        EXPECT_INT(tcp_out_push(c, reply, sizeof reply), 0);
        queued += 2 + sizeof reply;
    }
    CU_ASSERT(queued >= TCP_OUT_BACKLOG_MAX);
    CU_ASSERT(queued < TCP_OUT_BACKLOG_MAX + 2 + sizeof reply);
    /* Replies of queries in flight still queue past it. */
    EXPECT_INT(tcp_out_push(c, reply, sizeof reply), 0);
    size_t len;
    tcp_out_pending(c, &len);
    tcp_out_sent(c, len, 5);
    CU_ASSERT(tcp_may_read(c));
    EXPECT_UINT(c->out_cap, 0); /* the large buffer was given back */

    /* TCP_IN_FLIGHT_MAX queries answered later also stop reading. */
    c->in_flight = TCP_IN_FLIGHT_MAX - 1;
    CU_ASSERT(tcp_may_read(c));
    c->in_flight = TCP_IN_FLIGHT_MAX;
    CU_ASSERT(!tcp_may_read(c));
    CU_ASSERT(!tcp_idle(c));
    c->in_flight = 0;
    tcp_table_free(&t);
}

/* The table ------------------------------------------------------------------- */

static void test_table_slot_reuse_serial(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 2), 0);
    struct tcp_conn *a = open_one(&t, 10, 0);
    struct tcp_conn *b = open_one(&t, 11, 0);
    CU_ASSERT_FATAL(a != NULL && b != NULL);
    CU_ASSERT(open_one(&t, 12, 0) == NULL); /* full */
    EXPECT_UINT(t.open, 2);
    uint32_t a_id = tcp_id(&t, a);
    uint64_t a_serial = a->serial;
    CU_ASSERT(a_id != 0);
    CU_ASSERT(tcp_find(&t, a_id, a_serial) == a);
    CU_ASSERT(tcp_find(&t, tcp_id(&t, b), b->serial) == b);

    /* a closes while its query waits; c gets its slot. */
    tcp_close(&t, a);
    CU_ASSERT(tcp_find(&t, a_id, a_serial) == NULL);
    struct tcp_conn *c = open_one(&t, 12, 0);
    CU_ASSERT_FATAL(c != NULL);
    EXPECT_UINT(tcp_id(&t, c), a_id); /* the same slot... */
    CU_ASSERT(c->serial != a_serial); /* ...but another connection */
    /* a's late reply finds nothing: it is never sent to c's client. */
    CU_ASSERT(tcp_find(&t, a_id, a_serial) == NULL);
    CU_ASSERT(tcp_find(&t, a_id, c->serial) == c);
    /* Ids that are no connection's. */
    CU_ASSERT(tcp_find(&t, 0, c->serial) == NULL);
    CU_ASSERT(tcp_find(&t, 3, 1) == NULL);
    CU_ASSERT(tcp_find(&t, UINT32_MAX, 1) == NULL);

    /* After the table is freed (the server stopped), late replies find nothing. */
    uint64_t c_serial = c->serial;
    tcp_table_free(&t);
    CU_ASSERT(tcp_find(&t, a_id, c_serial) == NULL);
}

static void test_table_idle_ordering(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 4), 0);
    CU_ASSERT(tcp_idlest(&t) == NULL); /* empty */
    struct tcp_conn *c[4];
    /* Opened at 40, 10, 30, 20. */
    static const uint64_t opened[4] = {40, 10, 30, 20};
    for (int i = 0; i < 4; i++) {
        c[i] = open_one(&t, 20 + i, opened[i]);
        CU_ASSERT_FATAL(c[i] != NULL);
    }
    CU_ASSERT(tcp_idlest(&t) == c[1]);
    /* The oldest has a query in flight: not idle, the next oldest goes. */
    c[1]->in_flight = 1;
    CU_ASSERT(tcp_idlest(&t) == c[3]);
    /* The next has a reply to send: not idle either. */
    EXPECT_INT(tcp_out_push(c[3], (const uint8_t *)"r", 1), 0);
    CU_ASSERT(tcp_idlest(&t) == c[2]);
    /* A whole query read is activity: c[2] is now the youngest. */
    feed(c[2], stream, 5);
    expect_next(c[2], 50, (const uint8_t *)"abc", 3);
    CU_ASSERT(tcp_idlest(&t) == c[0]);
    /* None idle: the new connection is the one refused. */
    c[0]->in_flight = 2;
    c[2]->in_flight = 1;
    CU_ASSERT(tcp_idlest(&t) == NULL);
    tcp_table_free(&t);
}

/* Opened within the same millisecond: the one opened first is idle the
 * longest, whatever slot it has (a closed slot is reused by a later one). */
static void test_table_idle_tie(void)
{
    struct tcp_table t;
    EXPECT_INT(tcp_table_init(&t, 3), 0);
    struct tcp_conn *a = open_one(&t, 20, 7);
    struct tcp_conn *b = open_one(&t, 21, 7);
    CU_ASSERT_FATAL(a != NULL && b != NULL);
    tcp_close(&t, a);
    struct tcp_conn *c = open_one(&t, 22, 7); /* takes a's slot, before b's */
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT(c == a);
    CU_ASSERT(tcp_idlest(&t) == b);
    tcp_table_free(&t);
}

void test_tcp_register(void)
{
    CU_pSuite s = CU_add_suite("tcp", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "in: three messages in one read", test_in_all_in_one_read);
    CU_add_test(s, "in: one byte at a time", test_in_one_byte_at_a_time);
    CU_add_test(s, "in: the length split across reads", test_in_split_length);
    CU_add_test(s, "in: a 65535-byte message, then one more", test_in_large_message);
    CU_add_test(s, "in: bytes are not activity, messages are", test_in_activity);
    CU_add_test(s, "out: partial writes, queue behind", test_out_partial_writes);
    CU_add_test(s, "out: backlog and in-flight bound reading", test_out_backlog_bounds_reading);
    CU_add_test(s, "table: a reused slot has a new serial", test_table_slot_reuse_serial);
    CU_add_test(s, "table: the idle one idle the longest", test_table_idle_ordering);
    CU_add_test(s, "table: ties go to the one opened first", test_table_idle_tie);
}
