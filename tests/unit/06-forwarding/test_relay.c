/* test_relay.c: steps/06-forwarding/relay.c — upstream and local answers rewritten into the
 * client's reply. */
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "name.h"
#include "relay.h"
#include "tests.h"

static struct relay rl;
static struct msg out_msg;
static uint8_t out[DNS_UDP_MAX];

/* A message under construction: header fields, then records appended. */
struct builder {
    uint8_t data[DNS_RECV_BUFFER];
    struct buf_writer w;
    struct hdr h;
};

static void build_start(struct builder *b, uint16_t id, uint16_t flags, const char *const *qnames,
                        unsigned qcount, uint16_t qtype)
{
    buf_writer_init(&b->w, b->data, sizeof b->data);
    memset(&b->h, 0, sizeof b->h);
    b->h.id = id;
    b->h.flags = flags;
    b->h.qdcount = (uint16_t)qcount;
    hdr_encode(&b->w, &b->h);
    for (unsigned i = 0; i < qcount; i++) {
        struct msg_question q = {.qtype = qtype, .qclass = DNS_CLASS_IN};
        CU_ASSERT_FATAL(name_from_text(qnames[i], NULL, &q.qname) == NAME_OK);
        msg_write_question(&b->w, &q);
    }
}

/* Appends a record to section `s` (sections must be filled in order). */
static void build_rr(struct builder *b, enum msg_section s, const char *owner, uint16_t type,
                     uint32_t ttl, const void *rdata, size_t rdlength)
{
    struct name n;
    CU_ASSERT_FATAL(name_from_text(owner, NULL, &n) == NAME_OK);
    name_write(&b->w, &n);
    buf_write_u16(&b->w, type);
    buf_write_u16(&b->w, DNS_CLASS_IN);
    buf_write_u32(&b->w, ttl);
    buf_write_u16(&b->w, (uint16_t)rdlength);
    buf_write_bytes(&b->w, rdata, rdlength);
    if (s == MSG_ANSWER)
        b->h.ancount++;
    else if (s == MSG_AUTHORITY)
        b->h.nscount++;
    else
        b->h.arcount++;
}

/* Rewrites the header with the counts, returns the length. */
static size_t build_end(struct builder *b)
{
    CU_ASSERT_FATAL(buf_writer_ok(&b->w));
    size_t len = b->w.pos;
    buf_writer_rollback(&b->w, 0);
    hdr_encode(&b->w, &b->h);
    return len;
}

/* Parses a client query built with build_start(). */
static void parse_query(const struct builder *b, size_t len, struct msg_query *q)
{
    CU_ASSERT_FATAL(msg_parse_query(b->data, len, q) == DNS_RCODE_NOERROR);
}

/* Relays `parts` for `q` and parses the result into out_msg. */
static size_t relay(const struct msg_query *q, const struct relay_part *parts, size_t max)
{
    size_t n = relay_write(&rl, q, parts, out, max);
    CU_ASSERT_FATAL(n >= DNS_HEADER_SIZE);
    CU_ASSERT_FATAL(msg_parse(out, n, &out_msg) == MSG_OK);
    return n;
}

static const uint8_t addr80[] = {192, 0, 2, 80}, addr81[] = {192, 0, 2, 81};

/* The client's ID and question as it wrote it (case kept), the upstream's
 * records and TTLs; AA cleared, RA set, RD copied. */
static void test_relays_one_answer(void)
{
    static struct builder client, up;
    const char *cname[] = {"WwW.ExAmple.COM."}, *uname[] = {"www.example.com."};
    build_start(&client, 0x1234, HDR_RD, cname, 1, DNS_TYPE_A);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);

    build_start(&up, 0xbeef, HDR_QR | HDR_AA | HDR_RD | HDR_RA, uname, 1, DNS_TYPE_A);
    build_rr(&up, MSG_ANSWER, "www.example.com.", DNS_TYPE_A, 300, addr80, 4);
    build_rr(&up, MSG_ANSWER, "www.example.com.", DNS_TYPE_A, 299, addr81, 4);
    struct relay_part part = {.reply = up.data, .len = build_end(&up)};

    relay(&q, &part, sizeof out);
    EXPECT_UINT(out_msg.hdr.id, 0x1234);
    EXPECT_UINT(out_msg.hdr.flags, HDR_QR | HDR_RD | HDR_RA); /* no AA: not our zone */
    EXPECT_UINT(out_msg.qdcount, 1);
    char text[NAME_TEXT_MAX];
    name_to_text(&out_msg.question[0].qname, text, sizeof text);
    EXPECT_STR(text, "WwW.ExAmple.COM.");
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 2);
    EXPECT_UINT(out_msg.record[0].ttl, 300);
    EXPECT_UINT(out_msg.record[1].ttl, 299);
    EXPECT_BYTES(out + out_msg.record[1].rdata, out_msg.record[1].rdlength, addr81, 4);
}

/* NXDOMAIN stays NXDOMAIN, with the SOA of the authority section. */
static void test_relays_nxdomain(void)
{
    static struct builder client, up;
    const char *name[] = {"nope.example.com."};
    build_start(&client, 7, HDR_RD, name, 1, DNS_TYPE_A);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);
    build_start(&up, 8, HDR_QR | HDR_RD | HDR_RA | DNS_RCODE_NXDOMAIN, name, 1, DNS_TYPE_A);
    /* SOA RDATA: MNAME ".", RNAME ".", five 32-bit numbers. */
    static const uint8_t soa[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};
    build_rr(&up, MSG_AUTHORITY, "example.com.", DNS_TYPE_SOA, 60, soa, sizeof soa);
    struct relay_part part = {.reply = up.data, .len = build_end(&up)};

    relay(&q, &part, sizeof out);
    EXPECT_UINT(hdr_rcode(&out_msg.hdr), DNS_RCODE_NXDOMAIN);
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 0);
    EXPECT_UINT(out_msg.count[MSG_AUTHORITY], 1);
    EXPECT_UINT(out_msg.record[0].type, DNS_TYPE_SOA);
    EXPECT_BYTES(out + out_msg.record[0].rdata, out_msg.record[0].rdlength, soa, sizeof soa);
}

/* A part without an answer is SERVFAIL; so is one that does not parse. */
static void test_failed_parts_servfail(void)
{
    static struct builder client;
    const char *name[] = {"slow.example.org."};
    build_start(&client, 9, HDR_RD, name, 1, DNS_TYPE_A);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);

    struct relay_part none = {.reply = NULL};
    relay(&q, &none, sizeof out);
    EXPECT_UINT(hdr_rcode(&out_msg.hdr), DNS_RCODE_SERVFAIL);
    EXPECT_UINT(out_msg.hdr.flags & (HDR_QR | HDR_RA), HDR_QR | HDR_RA);
    EXPECT_UINT(out_msg.qdcount, 1);
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 0);

    /* Header: ANCOUNT 1, but the message ends after the question. */
    static struct builder up;
    build_start(&up, 9, HDR_QR, name, 1, DNS_TYPE_A);
    up.h.ancount = 1;
    struct relay_part broken = {.reply = up.data, .len = build_end(&up)};
    relay(&q, &broken, sizeof out);
    EXPECT_UINT(hdr_rcode(&out_msg.hdr), DNS_RCODE_SERVFAIL);
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 0);
}

/* Two questions: each part's records in question order, section by
 * section; the RCODE of the first part that is not NOERROR; AA only when
 * every part is local and authoritative. */
static void test_merges_two_parts(void)
{
    static struct builder client, a, b;
    const char *names[] = {"a.example.org.", "b.example.net."};
    build_start(&client, 0x4242, HDR_RD, names, 2, DNS_TYPE_A);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);

    build_start(&a, 1, HDR_QR | HDR_AA, names, 1, DNS_TYPE_A);
    build_rr(&a, MSG_ANSWER, "a.example.org.", DNS_TYPE_A, 10, addr80, 4);
    build_start(&b, 2, HDR_QR | HDR_AA | DNS_RCODE_NXDOMAIN, names + 1, 1, DNS_TYPE_A);
    static const uint8_t soa[] = {0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5};
    build_rr(&b, MSG_AUTHORITY, "example.net.", DNS_TYPE_SOA, 20, soa, sizeof soa);
    struct relay_part parts[2] = {{.reply = a.data, .len = build_end(&a), .local = true},
                                  {.reply = b.data, .len = build_end(&b), .local = false}};

    relay(&q, parts, sizeof out);
    EXPECT_UINT(out_msg.hdr.id, 0x4242);
    EXPECT_UINT(out_msg.qdcount, 2);
    EXPECT_UINT(hdr_rcode(&out_msg.hdr), DNS_RCODE_NXDOMAIN);
    CU_ASSERT(!hdr_flag(&out_msg.hdr, HDR_AA)); /* the second part came from upstream */
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 1);
    EXPECT_UINT(out_msg.count[MSG_AUTHORITY], 1);
    EXPECT_UINT(out_msg.record[0].ttl, 10);
    EXPECT_UINT(out_msg.record[1].ttl, 20);

    parts[1].local = true; /* both local and authoritative: AA stands */
    relay(&q, parts, sizeof out);
    CU_ASSERT(hdr_flag(&out_msg.hdr, HDR_AA));
}

/* The upstream's OPT is left out (EDNS is between two hops); its TC is
 * passed on with the records that came. */
static void test_drops_opt_keeps_tc(void)
{
    static struct builder client, up;
    const char *name[] = {"big.example.org."};
    build_start(&client, 3, HDR_RD, name, 1, DNS_TYPE_A);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);
    build_start(&up, 4, HDR_QR | HDR_TC, name, 1, DNS_TYPE_A);
    build_rr(&up, MSG_ANSWER, "big.example.org.", DNS_TYPE_A, 5, addr80, 4);
    /* OPT: owner ".", TYPE 41, CLASS = UDP size (build_rr writes IN: any
     * value does for this test), TTL 0, no options. */
    build_rr(&up, MSG_ADDITIONAL, ".", DNS_TYPE_OPT, 0, NULL, 0);
    struct relay_part part = {.reply = up.data, .len = build_end(&up)};

    relay(&q, &part, sizeof out);
    CU_ASSERT(hdr_flag(&out_msg.hdr, HDR_TC));
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 1);
    EXPECT_UINT(out_msg.count[MSG_ADDITIONAL], 0);
}

/* Names inside RDATA that point into the upstream's message are written
 * again for the new message: the CNAME target reads the same. */
static void test_rewrites_compressed_rdata(void)
{
    static struct builder client, up;
    const char *name[] = {"alias.example.org."};
    build_start(&client, 5, HDR_RD, name, 1, DNS_TYPE_A);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);
    build_start(&up, 6, HDR_QR, name, 1, DNS_TYPE_A);
    /* CNAME RDATA "real" + pointer to "example.org." at offset 12 + 6 (the
     * question's name starts at 12 with the 5-byte label "alias"). */
    static const uint8_t target[] = {4, 'r', 'e', 'a', 'l', 0xC0, 12 + 6};
    build_rr(&up, MSG_ANSWER, "alias.example.org.", DNS_TYPE_CNAME, 30, target, sizeof target);
    build_rr(&up, MSG_ANSWER, "real.example.org.", DNS_TYPE_A, 30, addr80, 4);
    struct relay_part part = {.reply = up.data, .len = build_end(&up)};

    relay(&q, &part, sizeof out);
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 2);
    struct buf_reader r;
    buf_reader_init(&r, out, sizeof out);
    buf_seek(&r, out_msg.record[0].rdata);
    struct name n;
    EXPECT_STATUS(name_read(&r, &n), NAME_OK);
    char text[NAME_TEXT_MAX];
    name_to_text(&n, text, sizeof text);
    EXPECT_STR(text, "real.example.org.");
}

/* Over the limit: whole RRsets only, then TC; nothing after the cut. */
static void test_truncates_whole_rrsets(void)
{
    static struct builder client, up;
    const char *name[] = {"many.example.org."};
    build_start(&client, 10, HDR_RD, name, 1, DNS_TYPE_TXT);
    size_t qlen = build_end(&client);
    struct msg_query q;
    parse_query(&client, qlen, &q);
    build_start(&up, 11, HDR_QR, name, 1, DNS_TYPE_TXT);
    uint8_t txt[101];
    txt[0] = 100;
    memset(txt + 1, 'x', 100);
    /* Three RRsets of two 100-byte TXT records, about 230 bytes each once
     * their owners are compressed: header and question (34 bytes) and two
     * RRsets make 491 bytes, and the third does not fit in 512. */
    const char *owners[] = {"many.example.org.", "more.example.org.", "most.example.org."};
    for (int i = 0; i < 3; i++) {
        build_rr(&up, MSG_ANSWER, owners[i], DNS_TYPE_TXT, 1, txt, sizeof txt);
        build_rr(&up, MSG_ANSWER, owners[i], DNS_TYPE_TXT, 2, txt, sizeof txt);
    }
    struct relay_part part = {.reply = up.data, .len = build_end(&up)};

    size_t n = relay(&q, &part, DNS_UDP_MAX);
    CU_ASSERT(n <= DNS_UDP_MAX);
    EXPECT_UINT(n, 491);
    CU_ASSERT(hdr_flag(&out_msg.hdr, HDR_TC));
    EXPECT_UINT(out_msg.count[MSG_ANSWER], 4);
}

void test_relay_register(void)
{
    CU_pSuite s = CU_add_suite("relay", NULL, NULL);
    CU_add_test(s, "the client's ID and question, the upstream's records", test_relays_one_answer);
    CU_add_test(s, "NXDOMAIN relayed with its SOA", test_relays_nxdomain);
    CU_add_test(s, "no answer or an unreadable one: SERVFAIL", test_failed_parts_servfail);
    CU_add_test(s, "two parts merged in question order", test_merges_two_parts);
    CU_add_test(s, "OPT left out, TC passed on", test_drops_opt_keeps_tc);
    CU_add_test(s, "compressed RDATA names rewritten", test_rewrites_compressed_rdata);
    CU_add_test(s, "truncation at whole RRsets, with TC", test_truncates_whole_rrsets);
}
