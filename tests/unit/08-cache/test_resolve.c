/* test_resolve.c: steps/08-cache/resolve.c — the deepest cached cut, cached CNAME chains. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "cache.h"
#include "dns.h"
#include "hdr.h"
#include "hints.h"
#include "loop.h"
#include "msg.h"
#include "name.h"
#include "net.h"
#include "resolve.h"
#include "tests.h"
#include "upstream.h"

/*
 * The real resolver, loop, upstream client and cache, with two things of
 * the test's own: the loop's clock (a variable the test moves forward, so an
 * entry expires without waiting) and upstream's trace hook, which records
 * every query sent and to which address. Nothing answers those queries: the
 * name servers are 127.0.0.201 to .203, where nothing listens (the sandbox
 * uses .2 to .26, the conformance tests' fake tree 127.0.1.x), on port 9.
 * A test runs the loop only until the first query leaves, then cancels the
 * resolution: the first server asked is the cut the resolution started at.
 * The cache is filled by hand with cache_put(), as resolve.c would from the
 * replies, so each test says exactly what the resolver knows.
 */

enum {
    TEST_NS_PORT = 9,
    TEST_SENT_MAX = 16,
    /* Wake-ups run waiting for the first query: it leaves on the first (the
     * resolution starts from a 0 ms timer); the rest is slack. */
    TEST_WAKEUPS_MAX = 10,
};

#define ROOT_ADDR "127.0.0.201"
#define COM_ADDR  "127.0.0.202"
#define ZONE_ADDR "127.0.0.203"

static const char HINTS[] = ".                  3600000 NS a.root.test.\n"
                            "a.root.test.       3600000 A  " ROOT_ADDR "\n";

/* The clock ------------------------------------------------------------------- */

static uint64_t fake_now;

static uint64_t fake_clock(void)
{
    return fake_now;
}

/* The queries sent, as upstream's trace hook saw them --------------------------- */

struct sent {
    char to[NET_ADDR_TEXT_MAX]; /* "127.0.0.203:9" */
    char qname[NAME_TEXT_MAX];
};

static struct sent sent[TEST_SENT_MAX];
static size_t nsent;

static void record_sent(const char *direction, const struct sockaddr *peer, socklen_t peer_len,
                        bool tcp, const uint8_t *msg, size_t len)
{
    (void)tcp;
    if (strcmp(direction, "sent") != 0 || nsent == TEST_SENT_MAX)
        return;
    struct sent *s = &sent[nsent++];
    net_sockaddr_text(peer, peer_len, s->to, sizeof s->to);
    struct buf_reader r;
    struct msg_question q;
    buf_reader_init(&r, msg, len);
    buf_skip(&r, DNS_HEADER_SIZE);
    s->qname[0] = '\0';
    if (msg_read_question(&r, &q) == NAME_OK)
        name_to_text(&q.qname, s->qname, sizeof s->qname);
}

/* The resolver under test ------------------------------------------------------ */

struct rig {
    struct loop loop;
    struct upstream up;
    struct hints hints;
    struct cache cache;
    struct resolver r;
};

/* How a resolution ended, as its callback saw it. */
struct outcome {
    unsigned calls;
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

static void rig_start(struct rig *t)
{
    memset(t, 0, sizeof *t);
    memset(sent, 0, sizeof sent);
    nsent = 0;
    fake_now = 1000000;
    CU_ASSERT_EQUAL_FATAL(loop_init(&t->loop, fake_clock), 0);
    CU_ASSERT_EQUAL_FATAL(upstream_init(&t->up, &t->loop, 1000, 1, 16), 0);
    t->up.trace = record_sent;
    char err[HINTS_ERROR_MAX];
    CU_ASSERT_EQUAL_FATAL(hints_load_text(HINTS, "test.hints", &t->hints, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(cache_init(&t->cache, 100), 0);
    resolver_init(&t->r, &t->loop, &t->up, &t->hints, &t->cache, TEST_NS_PORT, 5000);
}

static void rig_end(struct rig *t)
{
    resolver_free(&t->r);
    upstream_free(&t->up);
    cache_free(&t->cache);
    loop_free(&t->loop);
}

/* Moves the clock forward; the loop reads it at its next wake-up. */
static void advance(struct rig *t, uint64_t ms)
{
    fake_now += ms;
    CU_ASSERT_EQUAL(loop_run_once(&t->loop, 0), 0);
}

static struct name N(const char *text) {
    struct name n;
    CU_ASSERT_FATAL(name_from_text(text, NULL, &n) == NAME_OK);
    return n;
}

static struct msg_question
question(const char *name, uint16_t qtype)
{
    return (struct msg_question){.qname = N(name), .qtype = qtype, .qclass = DNS_CLASS_IN};
}

/* Filling the cache ------------------------------------------------------------ */

/* One RRset of one record: cache data is RDLENGTH then RDATA, names uncompressed. */
static void put_one(struct rig *t, const char *owner, uint16_t type, enum cache_rank rank,
                    uint32_t ttl, const uint8_t *rdata, size_t rdlength)
{
    uint8_t data[2 + NAME_WIRE_MAX];
    struct buf_writer w;
    buf_writer_init(&w, data, sizeof data);
    buf_write_u16(&w, (uint16_t)rdlength);
    buf_write_bytes(&w, rdata, rdlength);
    CU_ASSERT_TRUE_FATAL(buf_writer_ok(&w));
    struct name n = N(owner);
    CU_ASSERT_PTR_NOT_NULL(cache_put(&t->cache, loop_now(&t->loop), &n, type, DNS_CLASS_IN,
                                     CACHE_POSITIVE, rank, ttl, data, w.pos, 1));
}

/* A record whose RDATA is one name: NS or CNAME. */
static void put_name(struct rig *t, const char *owner, uint16_t type, enum cache_rank rank,
                     uint32_t ttl, const char *target)
{
    struct name n = N(target);
    put_one(t, owner, type, rank, ttl, n.wire, n.len);
}

static void put_a(struct rig *t, const char *owner, enum cache_rank rank, uint32_t ttl,
                  const char *address)
{
    struct net_addr a;
    CU_ASSERT_EQUAL_FATAL(net_addr_parse(address, 0, &a), 0);
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;
    put_one(t, owner, DNS_TYPE_A, rank, ttl, (const uint8_t *)&sin->sin_addr, 4);
}

/* A delegation as a referral leaves it: the NS RRset, and its server's address as glue. */
static void put_cut(struct rig *t, const char *zone, uint32_t ttl, const char *ns,
                    const char *address)
{
    put_name(t, zone, DNS_TYPE_NS, CACHE_RANK_REFERRAL, ttl, ns);
    if (address != NULL)
        put_a(t, ns, CACHE_RANK_GLUE, ttl, address);
}

/* Resolving -------------------------------------------------------------------- */

/* Starts resolving `name` A and runs the loop until the first query leaves
 * (or the resolution ends without one). Returns the first query, or NULL. */
static const struct sent *first_query(struct rig *t, const char *name, struct outcome *out)
{
    struct msg_question q = question(name, DNS_TYPE_A);
    CU_ASSERT_PTR_NOT_NULL_FATAL(resolve_ask(&t->r, &q, record_done, out));
    /* Bounded: TEST_WAKEUPS_MAX wake-ups that wait for nothing (0 ms). */
    for (int i = 0; i < TEST_WAKEUPS_MAX && nsent == 0 && out->calls == 0; i++)
        CU_ASSERT_EQUAL(loop_run_once(&t->loop, 0), 0);
    return nsent > 0 ? &sent[0] : NULL;
}

/* Resolves `name` A: the first query goes to `to` ("127.0.0.203:9"), for
 * `name`, and the resolution is still waiting for its reply. */
static void expect_first_query_at(struct rig *t, const char *name, const char *to, const char *file,
                                  unsigned line)
{
    struct outcome out = {0};
    const struct sent *s = first_query(t, name, &out);
    test_expect_str(s != NULL ? s->to : "(no query sent)", to, "the first server asked", file,
                    line);
    test_expect_str(s != NULL ? s->qname : "(no query sent)", name, "the first query's name", file,
                    line);
    test_expect_uint(out.calls, 0, "callbacks before any reply", file, line);
}
#define EXPECT_FIRST_QUERY(t, name, to) expect_first_query_at((t), (name), (to), __FILE__, __LINE__)

/* The deepest cached cut ------------------------------------------------------- */

/* With example.com.'s NS RRset and its server's address cached (and
 * com.'s), www.example.com starts at example.com.'s server: neither the
 * root nor com. is asked. */
static void test_starts_at_the_deepest_cut(void)
{
    struct rig t;
    rig_start(&t);
    put_cut(&t, "com.", 172800, "a.nic.com.", COM_ADDR);
    put_cut(&t, "example.com.", 172800, "ns1.example.com.", ZONE_ADDR);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", ZONE_ADDR ":9");
    EXPECT_UINT(t.r.stats.cut_from_cache, 1);
    rig_end(&t);
}

/* Only com. cached: com.'s server first; and a name deeper still
 * (a.b.c.example.com) cuts label after label down to the same cut. */
static void test_starts_at_a_parent_cut(void)
{
    struct rig t;
    rig_start(&t);
    put_cut(&t, "com.", 172800, "a.nic.com.", COM_ADDR);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", COM_ADDR ":9");
    rig_end(&t);

    rig_start(&t);
    put_cut(&t, "com.", 172800, "a.nic.com.", COM_ADDR);
    EXPECT_FIRST_QUERY(&t, "a.b.c.example.com.", COM_ADDR ":9");
    EXPECT_UINT(t.r.stats.cut_from_cache, 1);
    rig_end(&t);
}

/* Nothing cached, or only cuts beside the name or below it: a root server
 * of the hints. */
static void test_nothing_cached_starts_at_the_root(void)
{
    struct rig t;
    rig_start(&t);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", ROOT_ADDR ":9");
    EXPECT_UINT(t.r.stats.cut_from_cache, 0);
    rig_end(&t);

    rig_start(&t);
    put_cut(&t, "example.org.", 172800, "ns1.example.org.", ZONE_ADDR);
    put_cut(&t, "sub.www.example.com.", 172800, "ns.sub.www.example.com.", COM_ADDR);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", ROOT_ADDR ":9");
    EXPECT_UINT(t.r.stats.cut_from_cache, 0);
    rig_end(&t);
}

/* An expired NS RRset is not a cut: example.com.'s (TTL 60) has run out
 * 61 s later, even though its glue (TTL 3600) has not; com.'s is used. */
static void test_expired_cut_is_not_used(void)
{
    struct rig t;
    rig_start(&t);
    put_cut(&t, "com.", 172800, "a.nic.com.", COM_ADDR);
    put_name(&t, "example.com.", DNS_TYPE_NS, CACHE_RANK_REFERRAL, 60, "ns1.example.com.");
    put_a(&t, "ns1.example.com.", CACHE_RANK_GLUE, 3600, ZONE_ADDR);
    advance(&t, 59000);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", ZONE_ADDR ":9");
    rig_end(&t);

    rig_start(&t);
    put_cut(&t, "com.", 172800, "a.nic.com.", COM_ADDR);
    put_name(&t, "example.com.", DNS_TYPE_NS, CACHE_RANK_REFERRAL, 60, "ns1.example.com.");
    put_a(&t, "ns1.example.com.", CACHE_RANK_GLUE, 3600, ZONE_ADDR);
    advance(&t, 61000);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", COM_ADDR ":9");
    rig_end(&t);
}

/* A cut whose servers have no fresh address is passed over for its parent:
 * example.com.'s NS RRset (2 days) has outlived its glue (1 hour), so
 * www.example.com starts at com.'s server, which refers it down again. Were
 * the cut taken, looking up ns1.example.com would start at that same cut,
 * over and over, and fail without a single query. */
static void test_cut_without_addresses_is_passed_over(void)
{
    struct rig t;
    rig_start(&t);
    put_cut(&t, "com.", 172800, "a.nic.com.", COM_ADDR);
    put_name(&t, "example.com.", DNS_TYPE_NS, CACHE_RANK_REFERRAL, 172800, "ns1.example.com.");
    put_a(&t, "ns1.example.com.", CACHE_RANK_GLUE, 3600, ZONE_ADDR);
    advance(&t, 3601000);
    EXPECT_FIRST_QUERY(&t, "www.example.com.", COM_ADDR ":9");
    rig_end(&t);
}

/* An answer cached for the question itself: no query at all, and the
 * callback gets the cached RRset (from the loop, not from resolve_ask()). */
static void test_cached_answer_sends_nothing(void)
{
    struct rig t;
    rig_start(&t);
    put_cut(&t, "example.com.", 172800, "ns1.example.com.", ZONE_ADDR);
    put_a(&t, "www.example.com.", CACHE_RANK_ANSWER, 300, "192.0.2.80");
    struct outcome out = {0};
    CU_ASSERT_PTR_NULL(first_query(&t, "www.example.com.", &out));
    EXPECT_UINT(nsent, 0);
    EXPECT_UINT(out.calls, 1);
    EXPECT_INT(out.result, UPSTREAM_REPLY);
    struct msg m;
    CU_ASSERT_EQUAL_FATAL(msg_parse(out.reply, out.len, &m), MSG_OK);
    EXPECT_UINT(m.count[MSG_ANSWER], 1);
    EXPECT_UINT(hdr_rcode(&m.hdr), DNS_RCODE_NOERROR);
    rig_end(&t);
}

/* CNAME chains from the cache -------------------------------------------------- */

/* resolve_from_cache() for `name` A into `out`; returns its length. */
static size_t from_cache(struct rig *t, const char *name, uint8_t *out, size_t cap)
{
    struct msg_question q = question(name, DNS_TYPE_A);
    return resolve_from_cache(&t->r, &q, out, cap);
}

/* Two links and the final RRset, each from its own entry, 10 s after they
 * were cached: the whole reply, byte by byte, TTLs counted down. */
static void test_chain_assembled(void)
{
    struct rig t;
    rig_start(&t);
    put_name(&t, "a.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "b.test.");
    put_name(&t, "b.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 3600, "c.test.");
    put_a(&t, "c.test.", CACHE_RANK_ANSWER, 60, "192.0.2.1");
    advance(&t, 10000);
    uint8_t out[DNS_UDP_MAX];
    size_t len = from_cache(&t, "a.test.", out, sizeof out);
    static const uint8_t expected[] = {
        0x00, 0x00,                                  /* ID: the caller sets it */
        0x80, 0x00,                                  /* QR, NOERROR */
        0x00, 0x01,                                  /* QDCOUNT 1 */
        0x00, 0x03,                                  /* ANCOUNT 3: two links, one A */
        0x00, 0x00,                                  /* NSCOUNT */
        0x00, 0x00,                                  /* ARCOUNT */
        0x01, 'a',  0x04, 't',  'e', 's', 't', 0x00, /* question: a.test. */
        0x00, 0x01, 0x00, 0x01,                      /* A IN */
        0x01, 'a',  0x04, 't',  'e', 's', 't', 0x00, /* a.test. */
        0x00, 0x05, 0x00, 0x01,                      /* CNAME IN */
        0x00, 0x00, 0x01, 0x22,                      /* TTL 290: 300 less 10 s */
        0x00, 0x08,                                  /* RDLENGTH 8 */
        0x01, 'b',  0x04, 't',  'e', 's', 't', 0x00, /* b.test. */
        0x01, 'b',  0x04, 't',  'e', 's', 't', 0x00, /* b.test. */
        0x00, 0x05, 0x00, 0x01,                      /* CNAME IN */
        0x00, 0x00, 0x0e, 0x06,                      /* TTL 3590 */
        0x00, 0x08,                                  /* RDLENGTH 8 */
        0x01, 'c',  0x04, 't',  'e', 's', 't', 0x00, /* c.test. */
        0x01, 'c',  0x04, 't',  'e', 's', 't', 0x00, /* c.test. */
        0x00, 0x01, 0x00, 0x01,                      /* A IN */
        0x00, 0x00, 0x00, 0x32,                      /* TTL 50 */
        0x00, 0x04, 192,  0,    2,   1,              /* RDLENGTH 4, 192.0.2.1 */
    };
    EXPECT_BYTES(out, len, expected, sizeof expected);
    EXPECT_UINT(t.r.stats.from_cache, 1);
    rig_end(&t);
}

/* A chain ending in a cached NXDOMAIN: the link, then the SOA, RCODE NXDOMAIN. */
static void test_chain_to_a_negative_answer(void)
{
    struct rig t;
    rig_start(&t);
    put_name(&t, "a.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "gone.test.");
    /* A negative entry: the SOA's owner, RDLENGTH, RDATA (names, then five numbers). */
    uint8_t soa[64];
    struct buf_writer w;
    buf_writer_init(&w, soa, sizeof soa);
    struct name apex = N("test."), mname = N("ns.test."), rname = N("hostmaster.test.");
    name_write(&w, &apex);
    buf_write_u16(&w, (uint16_t)(mname.len + rname.len + 20));
    name_write(&w, &mname);
    name_write(&w, &rname);
    buf_write_u32(&w, 1);    /* SERIAL */
    buf_write_u32(&w, 7200); /* REFRESH */
    buf_write_u32(&w, 3600); /* RETRY */
    buf_write_u32(&w, 1209600);
    buf_write_u32(&w, 300); /* MINIMUM */
    CU_ASSERT_TRUE_FATAL(buf_writer_ok(&w));
    struct name gone = N("gone.test.");
    CU_ASSERT_PTR_NOT_NULL(cache_put(&t.cache, loop_now(&t.loop), &gone, 0, DNS_CLASS_IN,
                                     CACHE_NXDOMAIN, CACHE_RANK_ANSWER, 300, soa, w.pos, 1));
    uint8_t out[DNS_UDP_MAX];
    size_t len = from_cache(&t, "a.test.", out, sizeof out);
    struct msg m;
    CU_ASSERT_EQUAL_FATAL(msg_parse(out, len, &m), MSG_OK);
    EXPECT_UINT(hdr_rcode(&m.hdr), DNS_RCODE_NXDOMAIN);
    EXPECT_UINT(m.count[MSG_ANSWER], 1);
    EXPECT_UINT(m.count[MSG_AUTHORITY], 1);
    EXPECT_UINT(m.record[0].type, DNS_TYPE_CNAME);
    EXPECT_UINT(m.record[1].type, DNS_TYPE_SOA);
    rig_end(&t);
}

/* A link missing, or the final RRset missing: 0, the query goes the long way. */
static void test_chain_with_a_missing_link(void)
{
    struct rig t;
    rig_start(&t);
    put_name(&t, "a.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "b.test.");
    /* b.test. CNAME c.test. is not cached */
    put_a(&t, "c.test.", CACHE_RANK_ANSWER, 300, "192.0.2.1");
    uint8_t out[DNS_UDP_MAX];
    EXPECT_UINT(from_cache(&t, "a.test.", out, sizeof out), 0);
    put_name(&t, "b.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "d.test."); /* d: nothing */
    EXPECT_UINT(from_cache(&t, "a.test.", out, sizeof out), 0);
    EXPECT_UINT(t.r.stats.from_cache, 0);
    /* The same chain, every piece there: answered (the test can tell). */
    put_name(&t, "b.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "c.test.");
    CU_ASSERT_TRUE(from_cache(&t, "a.test.", out, sizeof out) > 0);
    rig_end(&t);
}

/* A link expired, or the final RRset expired: 0. */
static void test_chain_with_an_expired_link(void)
{
    struct rig t;
    rig_start(&t);
    put_name(&t, "a.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "b.test.");
    put_name(&t, "b.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 5, "c.test.");
    put_a(&t, "c.test.", CACHE_RANK_ANSWER, 300, "192.0.2.1");
    put_name(&t, "x.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "y.test.");
    put_a(&t, "y.test.", CACHE_RANK_ANSWER, 5, "192.0.2.2");
    uint8_t out[DNS_UDP_MAX];
    CU_ASSERT_TRUE(from_cache(&t, "a.test.", out, sizeof out) > 0);
    CU_ASSERT_TRUE(from_cache(&t, "x.test.", out, sizeof out) > 0);
    advance(&t, 5000);
    EXPECT_UINT(from_cache(&t, "a.test.", out, sizeof out), 0); /* the middle link */
    EXPECT_UINT(from_cache(&t, "x.test.", out, sizeof out), 0); /* the final RRset */
    EXPECT_UINT(t.r.stats.from_cache, 2);
    rig_end(&t);
}

/* CNAME loops in the cache end: back to the question's name (a -> b -> a),
 * and a loop the question only leads into (x -> p -> q -> p), which ends at
 * RESOLVE_CNAME_MAX links. resolve_from_cache() gives 0; resolve_ask()
 * fails (SERVFAIL) without a query. */
static void test_chain_loop_ends(void)
{
    struct rig t;
    rig_start(&t);
    put_name(&t, "a.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "b.test.");
    put_name(&t, "b.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "a.test.");
    put_name(&t, "x.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "p.test.");
    put_name(&t, "p.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "q.test.");
    put_name(&t, "q.test.", DNS_TYPE_CNAME, CACHE_RANK_ANSWER, 300, "p.test.");
    uint8_t out[DNS_UDP_MAX];
    EXPECT_UINT(from_cache(&t, "a.test.", out, sizeof out), 0);
    EXPECT_UINT(from_cache(&t, "x.test.", out, sizeof out), 0);
    EXPECT_UINT(t.r.stats.from_cache, 0);
    /* Bounded: each name's resolution ends within TEST_WAKEUPS_MAX wake-ups. */
    const char *names[] = {"a.test.", "x.test."};
    for (size_t i = 0; i < 2; i++) {
        struct outcome o = {0};
        first_query(&t, names[i], &o);
        EXPECT_UINT(nsent, 0);
        EXPECT_UINT(o.calls, 1);
        EXPECT_INT(o.result, UPSTREAM_FAILED);
    }
    EXPECT_UINT(t.r.stats.servfail, 2);
    rig_end(&t);
}

void test_resolve_register(void)
{
    CU_pSuite s = CU_add_suite("resolve", NULL, NULL);
    CU_add_test(s, "starts at the deepest cached cut", test_starts_at_the_deepest_cut);
    CU_add_test(s, "only a parent cut cached: its servers first", test_starts_at_a_parent_cut);
    CU_add_test(s, "nothing cached: a root server of the hints",
                test_nothing_cached_starts_at_the_root);
    CU_add_test(s, "an expired NS RRset is not a cut", test_expired_cut_is_not_used);
    CU_add_test(s, "a cut without a fresh address is passed over",
                test_cut_without_addresses_is_passed_over);
    CU_add_test(s, "a cached answer: no query sent", test_cached_answer_sends_nothing);
    CU_add_test(s, "a CNAME chain from cached links, TTLs counted down", test_chain_assembled);
    CU_add_test(s, "a chain to a cached NXDOMAIN", test_chain_to_a_negative_answer);
    CU_add_test(s, "a chain with a link missing: 0", test_chain_with_a_missing_link);
    CU_add_test(s, "a chain with a link expired: 0", test_chain_with_an_expired_link);
    CU_add_test(s, "a CNAME loop in the cache ends", test_chain_loop_ends);
}
