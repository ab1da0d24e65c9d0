/* test_resp.c: unit tests of steps/04-answer/resp.c — replies within a size limit, with TC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "lookup.h"
#include "msg.h"
#include "name.h"
#include "rdata.h"
#include "resp.h"
#include "tests.h"
#include "zone.h"
#include "zonefile.h"

/*
 * Stage 4 writes every name in full: a reply is exactly as long as its header, its questions
 * and its records written out, and each RDATA is the zone's bytes. tests/unit/05-compression/
 * test_resp.c is the same file for stage 5, where names shrink to pointers.
 */

/* Character-strings of 200 bytes: three records of "big" do not fit in 512 bytes. */
#define X200                                                                                       \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxx"

static const char example_com[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@          SOA   ns1 hostmaster 1 7200 3600 1209600 300\n"
    "           NS    ns1\n"
    "           MX    10 mail\n"
    "ns1        A     192.0.2.53\n"
    "mail       A     192.0.2.25\n"
    "www    300 A     192.0.2.80\n"
    "web        CNAME www\n"
    "ptr        PTR   www\n"
    "txt        TXT   \"\\007example\\003com\"  ; a name's wire form, as text\n"
    "ptrlike    A     192.12.0.1              ; bytes c0 0c 00 01, like a pointer\n"
    "_sip._udp  SRV   0 5 5060 www\n"
    "hinfo      HINFO \"example\" \"com\"\n"
    "big        TXT   \"1" X200 "\"\n"
    "           TXT   \"2" X200 "\"\n"
    "           TXT   \"3" X200 "\"\n"
    "big.newsfx TXT   \"1" X200 "\"\n"
    "           TXT   \"2" X200 "\"\n"
    "           TXT   \"3" X200 "\"\n"
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t TXT \"1" X200 "\"\n"
    "           TXT   \"2" X200 "\"\n"
    "           TXT   \"3" X200 "\"\n"
    "two        A     192.0.2.1\n"
    "           A     192.0.2.2\n"
    "x.newsfx   A     192.0.2.100\n"
    "y.newsfx   A     192.0.2.101\n"
    "*.wild     TXT   \"w\"\n"
    "sub        NS    ns1.sub\n"
    "ns1.sub    A     192.0.2.153\n"
    "           AAAA  2001:db8::153\n";

static struct zone_set zones;

static int suite_init(void)
{
    char err[ZONEFILE_ERROR_MAX + 64];
    if (zonefile_load_text(&zones, example_com, "example.com", NULL, err, sizeof err) != 0) {
        fprintf(stderr, "test_resp: %s\n", err);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    zone_set_free(&zones);
    return 0;
}

/* Helpers --------------------------------------------------------------------- */

static void record(int ok, const char *message, const char *file, unsigned line)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, message, file, "", CU_FALSE);
}

static struct lookup_result res;
static struct msg_question qs[MSG_QUESTIONS_MAX];
static struct hdr query;
static uint8_t out[1024];

/* resp_write() into `out` of the result `res` for the questions `qs`. */
static size_t reply(size_t max, unsigned qcount)
{
    return resp_write(out, max, &query, qs, qcount, &res);
}

/* A query header: ID 0x1234, RD, one question. */
static void new_query(void)
{
    memset(&query, 0, sizeof query);
    query.id = 0x1234;
    query.flags = HDR_RD;
    query.qdcount = 1;
}

static void set_question(unsigned i, const char *name, uint16_t type)
{
    CU_ASSERT_EQUAL_FATAL(name_from_text(name, NULL, &qs[i].qname), NAME_OK);
    qs[i].qtype = type;
    qs[i].qclass = DNS_CLASS_IN;
}

/* The looked-up answer to one question. */
static void ask(const char *name, uint16_t type)
{
    new_query();
    set_question(0, name, type);
    lookup_init(&res);
    lookup_answer(&zones, &qs[0], &res);
}

/* An RRset of our zone, for results built by hand. */
static const struct zone_rrset *rrset(const char *name, uint16_t type)
{
    struct name n;
    name_from_text(name, NULL, &n);
    const struct zone_node *node = zone_find_node(zones.zones, &n);
    const struct zone_rrset *s = node ? zone_node_rrset(node, type) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* Owners of hand-built items: they must outlive the result. */
static struct name owners[32];
static size_t owner_count;

static void add_item(enum lookup_section section, const char *owner, uint16_t type)
{
    CU_ASSERT_FATAL(owner_count < sizeof owners / sizeof owners[0]);
    struct name *n = &owners[owner_count++];
    name_from_text(owner, NULL, n);
    const struct zone_rrset *s = rrset(owner, type);
    res.item[section][res.count[section]++] = (struct lookup_item){s, n, s->ttl};
}

/* An empty hand-built result for the question `name` `type`. */
static void start(const char *name, uint16_t type)
{
    new_query();
    set_question(0, name, type);
    lookup_init(&res);
    owner_count = 0;
}

static unsigned records_in(size_t count, const struct lookup_item *items)
{
    unsigned n = 0;
    for (size_t i = 0; i < count; i++)
        n += items[i].rrset->count;
    return n;
}

/* The RDATA of record `index` of an RRset. */
static const struct zone_rdata *rdata_at(const struct zone_rrset *s, unsigned index)
{
    const struct zone_rdata *d = s->rdata;
    for (unsigned i = 0; i < index && d != NULL; i++)
        d = d->next;
    return d;
}

/* The reply parsed back (large: kept out of the stack). */
static struct msg parsed;

/*
 * Parses the reply back with msg_parse() (which also checks every RDATA against its type's
 * layout, and that nothing follows the last record): header fields against the query and
 * `res`, the questions, then every record, each matched with the record of `res` it must be:
 * owner (letter case too), type, class, TTL, and RDATA equal to the zone's. `an`, `ns`, `ar`
 * are the records expected in each section, `tc` the TC flag. Returns the size the reply
 * has with every name written in full (header, questions, owners, fixed fields and RDATA
 * without pointers), which in stage 4 must be its length; or 0 when the reply cannot be
 * read that far (the failure is recorded).
 */
static size_t check_reply_at(size_t len, unsigned qcount, unsigned an, unsigned ns, unsigned ar,
                             bool tc, const char *file, unsigned line)
{
    enum msg_status st = msg_parse(out, len, &parsed);
    test_expect_str(msg_strerror(st), msg_strerror(MSG_OK), "msg_parse(reply)", file, line);
    if (st != MSG_OK)
        return 0;
    const struct hdr *h = &parsed.hdr;
    test_expect_uint(h->id, query.id, "reply ID", file, line);
    test_expect_uint(hdr_flag(h, HDR_QR), 1, "reply QR", file, line);
    test_expect_uint(hdr_opcode(h), hdr_opcode(&query), "reply OPCODE", file, line);
    test_expect_uint(hdr_flag(h, HDR_AA), res.aa, "reply AA", file, line);
    test_expect_uint(hdr_flag(h, HDR_TC), tc, "reply TC", file, line);
    test_expect_uint(hdr_flag(h, HDR_RD), hdr_flag(&query, HDR_RD), "reply RD", file, line);
    test_expect_uint(hdr_flag(h, HDR_RA | HDR_Z | HDR_AD | HDR_CD), 0, "reply RA Z AD CD", file,
                     line);
    test_expect_uint(hdr_rcode(h), res.rcode, "reply RCODE", file, line);
    test_expect_uint(h->qdcount, qcount, "reply QDCOUNT", file, line);
    test_expect_uint(h->ancount, an, "reply ANCOUNT", file, line);
    test_expect_uint(h->nscount, ns, "reply NSCOUNT", file, line);
    test_expect_uint(h->arcount, ar, "reply ARCOUNT", file, line);
    if (h->qdcount != qcount)
        return 0;

    size_t plain = DNS_HEADER_SIZE;
    for (unsigned i = 0; i < qcount; i++) {
        const struct msg_question *q = &parsed.question[i];
        test_expect_bytes(q->qname.wire, q->qname.len, qs[i].qname.wire, qs[i].qname.len,
                          "reply QNAME", file, line);
        test_expect_uint(q->qtype, qs[i].qtype, "reply QTYPE", file, line);
        test_expect_uint(q->qclass, qs[i].qclass, "reply QCLASS", file, line);
        plain += q->qname.len + DNS_QUESTION_FIXED;
    }

    const unsigned want[LOOKUP_SECTIONS] = {an, ns, ar};
    for (int s = 0; s < LOOKUP_SECTIONS; s++) {
        /* Records are written RRset by RRset, in the result's order, but an additional RRset
         * that did not fit is skipped: match each record with the next RRset whose owner and
         * type agree. */
        size_t item = 0;
        unsigned index = 0;
        size_t first = msg_section_start(&parsed, (enum msg_section)s);
        for (unsigned k = 0; k < want[s]; k++) {
            const struct msg_record *rec = &parsed.record[first + k];
            struct name owner;
            msg_record_owner(&parsed, rec, &owner);
            while (index == 0 && item < res.count[s] &&
                   !(res.item[s][item].rrset->type == rec->type &&
                     name_equal(res.item[s][item].owner, &owner)))
                item++;
            if (item >= res.count[s]) {
                record(0, "a record that matches no RRset of the result", file, line);
                return 0;
            }
            const struct lookup_item *it = &res.item[s][item];
            test_expect_bytes(owner.wire, owner.len, it->owner->wire, it->owner->len,
                              "record owner", file, line);
            test_expect_uint(rec->type, it->rrset->type, "record TYPE", file, line);
            test_expect_uint(rec->class_, DNS_CLASS_IN, "record CLASS", file, line);
            test_expect_uint(rec->ttl, it->ttl, "record TTL", file, line);
            /* The RDATA with any pointers in it followed, as the zone stores it. */
            uint8_t flat[1024];
            struct buf_reader r;
            struct buf_writer w;
            buf_reader_init(&r, out, len);
            buf_seek(&r, rec->rdata);
            buf_writer_init(&w, flat, sizeof flat);
            enum rdata_status rst = rdata_unpack(&r, rec->type, rec->rdlength, &w);
            test_expect_str(rdata_strerror(rst), rdata_strerror(RDATA_OK), "rdata_unpack", file,
                            line);
            const struct zone_rdata *d = rdata_at(it->rrset, index);
            if (rst == RDATA_OK && d != NULL)
                test_expect_bytes(flat, w.pos, d->data, d->len, "RDATA, decompressed", file, line);
            plain += owner.len + DNS_RR_FIXED + w.pos;
            if (++index == it->rrset->count) {
                index = 0;
                item++;
            }
        }
        test_expect_uint(index, 0, "whole RRsets only", file, line);
    }
    return plain;
}

/* check_reply_at(), and every name written in full: the reply is exactly as long as it would
 * be without a single pointer. */
static void check_plain_reply_at(size_t len, unsigned qcount, unsigned an, unsigned ns, unsigned ar,
                                 bool tc, const char *file, unsigned line)
{
    size_t plain = check_reply_at(len, qcount, an, ns, ar, tc, file, line);
    if (plain != 0) /* 0: check_reply_at() said what was wrong */
        test_expect_uint(len, plain, "reply length = every name in full", file, line);
}
#define CHECK_PLAIN_REPLY(len, qcount, an, ns, ar, tc)                                             \
    check_plain_reply_at((len), (qcount), (an), (ns), (ar), (tc), __FILE__, __LINE__)

/* Exact bytes ------------------------------------------------------------------------ */

static void test_exact_a(void)
{
    ask("www.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID copied */
        0x85, 0x00,                                 /* QR, AA, RD copied; RCODE NOERROR */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x01,                                 /* ANCOUNT 1 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: question: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',                      /* "com" */
        0,                                          /* root */
        0x00, 0x01,                                 /* QTYPE A */
        0x00, 0x01,                                 /* QCLASS IN */
        3,    'w',  'w',  'w',                      /* 33: answer: owner in full, "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',                      /* "com" */
        0,                                          /* root */
        0x00, 0x01,                                 /* TYPE A */
        0x00, 0x01,                                 /* CLASS IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 0, false);
}

static void test_exact_mx_with_additional(void)
{
    ask("example.com.", DNS_TYPE_MX);
    query.flags = 0; /* RD clear: clear in the reply */
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID */
        0x84, 0x00,                                 /* QR AA */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x01,                                 /* ANCOUNT 1 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x01,                                 /* ARCOUNT 1 */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 12: question: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 29: answer: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x14,                                 /* RDLENGTH 20 */
        0x00, 0x0a,                                 /* 52: PREFERENCE 10 */
        4,    'm',  'a',  'i',  'l',                /* 54: EXCHANGE: "mail" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        4,    'm',  'a',  'i',  'l',                /* 72: additional: "mail" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    25,                       /* 192.0.2.25 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 1, false);
}

static void test_exact_cname_chain(void)
{
    ask("web.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID */
        0x85, 0x00,                                 /* QR AA RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x02,                                 /* ANCOUNT 2 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'e',  'b',                      /* 12: question: "web" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        3,    'w',  'e',  'b',                      /* 33: answer 1: "web" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x05, 0x00, 0x01,                     /* CNAME IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x11,                                 /* RDLENGTH 17 */
        3,    'w',  'w',  'w',                      /* 60: CNAME: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        3,    'w',  'w',  'w',                      /* 77: answer 2: the target, "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_PLAIN_REPLY(len, 1, 2, 0, 0, false);
}

static void test_exact_soa_nxdomain(void)
{
    ask("nope.example.com.", DNS_TYPE_A);
    query.flags = 0;
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID */
        0x84, 0x03,                                 /* QR AA, RCODE NXDOMAIN */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x01,                                 /* NSCOUNT 1 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        4,    'n',  'o',  'p',  'e',                /* 12: question: "nope" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 34: authority: the apex, "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x06, 0x00, 0x01,                     /* SOA IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL min(3600, 300) */
        0x00, 0x3d,                                 /* RDLENGTH 61 */
        3,    'n',  's',  '1',                      /* 57: MNAME: "ns1" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        10,   'h',  'o',  's',  't', 'm',           /* 74: RNAME: "hostm... */
        'a',  's',  't',  'e',  'r',                /* ...aster" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x00, 0x00, 0x01,                     /* SERIAL 1 */
        0x00, 0x00, 0x1c, 0x20,                     /* REFRESH 7200 */
        0x00, 0x00, 0x0e, 0x10,                     /* RETRY 3600 */
        0x00, 0x12, 0x75, 0x00,                     /* EXPIRE 1209600 */
        0x00, 0x00, 0x01, 0x2c,                     /* MINIMUM 300 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_PLAIN_REPLY(len, 1, 0, 1, 0, false);
}

static void test_rdata_as_stored(void)
{
    /* Every RDATA is the zone's bytes, even where they look like a name or a pointer. */
    ask("txt.example.com.", DNS_TYPE_TXT);
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t txt[] = {
        0x00, 0x0d,                               /* RDLENGTH 13 */
        12,                                       /* the string's length */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* its bytes, "\007example... */
        3,    'c',  'o', 'm',                     /* ...\003com" */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof txt);
    EXPECT_BYTES(out + len - sizeof txt, sizeof txt, txt, sizeof txt);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 0, false);

    ask("ptrlike.example.com.", DNS_TYPE_A);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t a[] = {
        0x00, 0x04, /* RDLENGTH 4 */
        0xc0, 0x0c, /* 192.12... */
        0x00, 0x01, /* ...0.1 */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof a);
    EXPECT_BYTES(out + len - sizeof a, sizeof a, a, sizeof a);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 0, false);

    /* The types of the table's new rows: SRV (its target's address comes as additional) and
     * HINFO. */
    ask("_sip._udp.example.com.", DNS_TYPE_SRV);
    len = reply(DNS_UDP_MAX, 1);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 1, false);
    ask("hinfo.example.com.", DNS_TYPE_HINFO);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t hinfo[] = {
        0x00, 0x0c,                               /* RDLENGTH 12 */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* CPU "example" */
        3,    'c',  'o', 'm',                     /* OS "com" */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof hinfo);
    EXPECT_BYTES(out + len - sizeof hinfo, sizeof hinfo, hinfo, sizeof hinfo);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 0, false);
}

static void test_header_flags(void)
{
    /* The query's ID, OPCODE and RD; AA from the result; the rest clear. */
    ask("www.example.org.", DNS_TYPE_A); /* REFUSED, AA=0 */
    query.id = 0xBEEF;
    query.flags = HDR_RD | HDR_CD | HDR_AD | HDR_TC | HDR_RA | HDR_Z;
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0xbe, 0xef,                                 /* ID */
        0x81, 0x05,                                 /* QR RD, RCODE REFUSED */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: question: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'o',  'r',  'g',  0,                  /* "org", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_PLAIN_REPLY(len, 1, 0, 0, 0, false);
}

static void test_question_case_kept(void)
{
    /* The question and the owners that come from it are echoed in the client's letter case;
     * names from the zone (the CNAME target) keep the zone's. */
    ask("WeB.ExAmPlE.cOm.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t question[] = {
        3, 'W', 'e', 'B',                     /* 12: "WeB" */
        7, 'E', 'x', 'A', 'm', 'P', 'l', 'E', /* "ExAmPlE" */
        3, 'c', 'O', 'm', 0,                  /* "cOm", root */
    };
    CU_ASSERT_TRUE_FATAL(len >= 33 + sizeof question);
    EXPECT_BYTES(out + 12, sizeof question, question, sizeof question);
    EXPECT_BYTES(out + 33, sizeof question, question, sizeof question); /* answer 1's owner */
    CHECK_PLAIN_REPLY(len, 1, 2, 0, 0, false);
}

static void test_several_questions(void)
{
    /* resp_write() writes the questions it is given (stage 4's auth_answer never gives it
     * more than one; stage 5's does), each in full. */
    new_query();
    query.qdcount = 2;
    set_question(0, "www.example.com.", DNS_TYPE_A);
    set_question(1, "Mail.Example.com.", DNS_TYPE_A);
    lookup_init(&res);
    lookup_answer(&zones, &qs[0], &res);
    lookup_answer(&zones, &qs[1], &res);
    size_t len = reply(DNS_UDP_MAX, 2);
    static const uint8_t q2[] = {
        4,    'M',  'a',  'i',  'l',                /* 33: "Mail" */
        7,    'E',  'x',  'a',  'm', 'p', 'l', 'e', /* "Example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    CU_ASSERT_TRUE_FATAL(len >= 33 + sizeof q2);
    EXPECT_BYTES(out + 33, sizeof q2, q2, sizeof q2);
    CHECK_PLAIN_REPLY(len, 2, 2, 0, 0, false);
}

/* Truncation ---------------------------------------------------------------------- */

static size_t question_end(const char *name)
{
    struct name n;
    name_from_text(name, NULL, &n);
    return DNS_HEADER_SIZE + n.len + DNS_QUESTION_FIXED;
}

static void test_answer_too_big_alone(void)
{
    /* 3 x 200-byte TXT records: more than 512 bytes. The RRset is rolled back whole, TC is
     * set, and the authority and additional RRsets of the result are not written. */
    start("big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ANSWER, "big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_AUTHORITY, "example.com.", DNS_TYPE_NS);
    add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
    memset(out, 0xEE, sizeof out);
    size_t len = reply(DNS_UDP_MAX, 1);
    EXPECT_UINT(len, question_end("big.example.com."));
    CHECK_PLAIN_REPLY(len, 1, 0, 0, 0, true);
    /* It fits in a bigger buffer (as over TCP), whole. */
    len = reply(sizeof out, 1);
    CU_ASSERT_TRUE(len > DNS_UDP_MAX);
    CHECK_PLAIN_REPLY(len, 1, 3, 1, 1, false);
}

static void test_answer_rolled_back_after_one(void)
{
    /* www A fits, big TXT does not: ANCOUNT stays 1, TC, and nothing is written after www. */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ANSWER, "mail.example.com.", DNS_TYPE_A); /* would fit, after TC: not */
    add_item(LOOKUP_AUTHORITY, "example.com.", DNS_TYPE_NS);
    add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    size_t www = 17 + DNS_RR_FIXED + 4; /* owner in full, fixed fields, address */
    EXPECT_UINT(len, question_end("www.example.com.") + www);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 0, true);
}

static void test_authority_too_big(void)
{
    /* An authority RRset that does not fit also truncates (the answer stays). */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_AUTHORITY, "big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 0, true);
}

static void test_additional_too_big(void)
{
    /* An additional RRset that does not fit is left out: no TC, and the next ones come, where
     * its first records were written (the reply parses to its end, nothing stale between). */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_AUTHORITY, "example.com.", DNS_TYPE_NS);
    add_item(LOOKUP_ADDITIONAL, "big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ADDITIONAL, "mail.example.com.", DNS_TYPE_A);
    memset(out, 0xEE, sizeof out);
    size_t len = reply(DNS_UDP_MAX, 1);
    CU_ASSERT_TRUE(len <= DNS_UDP_MAX);
    CHECK_PLAIN_REPLY(len, 1, 1, 1, 2, false);
    /* ns1's A right after the authority NS: 33 + 31 (www A) + 40 (NS) = 104. */
    static const uint8_t ns1[] = {3,   'n', 's', '1', 7,   'e', 'x', 'a', 'm',
                                  'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    CU_ASSERT_TRUE_FATAL(len >= 104 + sizeof ns1);
    EXPECT_BYTES(out + 104, sizeof ns1, ns1, sizeof ns1);
}

static void test_exact_limit(void)
{
    /* A reply of exactly `max` bytes is whole; one byte less drops its last RRset. */
    ask("example.com.", DNS_TYPE_MX); /* answer MX, additional mail A */
    size_t full = reply(DNS_UDP_MAX, 1);
    CHECK_PLAIN_REPLY(full, 1, 1, 0, 1, false);
    size_t len = reply(full, 1);
    EXPECT_UINT(len, full);
    CHECK_PLAIN_REPLY(len, 1, 1, 0, 1, false);
    /* The additional A goes, quietly. */
    size_t answer_end = reply(full - 1, 1);
    EXPECT_UINT(answer_end, full - (18 + DNS_RR_FIXED + 4));
    CHECK_PLAIN_REPLY(answer_end, 1, 1, 0, 0, false);
    /* The answer MX goes: TC. */
    len = reply(answer_end - 1, 1);
    EXPECT_UINT(len, question_end("example.com."));
    CHECK_PLAIN_REPLY(len, 1, 0, 0, 0, true);
    /* Header and question only just fit. */
    len = reply(question_end("example.com."), 1);
    EXPECT_UINT(len, question_end("example.com."));
    CHECK_PLAIN_REPLY(len, 1, 0, 0, 0, true);
    /* Not even the question: the header alone, TC set, QDCOUNT 0 (as NSD does), so the
     * client retries over TCP instead of waiting. */
    memset(out, 0xEE, sizeof out);
    len = reply(question_end("example.com.") - 1, 1);
    static const uint8_t header[] = {
        0x12, 0x34, /* ID */
        0x87, 0x00, /* QR AA TC RD */
        0x00, 0x00, /* QDCOUNT 0 */
        0x00, 0x00, /* ANCOUNT 0 */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0 */
    };
    EXPECT_BYTES(out, len, header, sizeof header);
    EXPECT_UINT(reply(DNS_HEADER_SIZE, 1), DNS_HEADER_SIZE);
    CHECK_PLAIN_REPLY(DNS_HEADER_SIZE, 0, 0, 0, 0, true);
    /* Under 12 bytes: nothing to send. */
    EXPECT_UINT(reply(DNS_HEADER_SIZE - 1, 1), 0);
    EXPECT_UINT(reply(0, 1), 0);
}

static void test_overflow_sets_tc(void)
{
    /* The result lost RRsets (more than it holds): the reply says TC, and still parses. */
    ask("example.com.", DNS_TYPE_MX);
    res.overflow = true;
    size_t len = reply(DNS_UDP_MAX, 1);
    CU_ASSERT_TRUE(len >= question_end("example.com."));
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, out, len);
    hdr_decode(&r, &h);
    CU_ASSERT_TRUE(hdr_flag(&h, HDR_TC));
    CHECK_PLAIN_REPLY(len, 1, h.ancount, h.nscount, h.arcount, true);
}

/* Round trips -------------------------------------------------------------------- */

static void test_round_trips(void)
{
    /* Every kind of answer parses back to the result it came from, every name in full. */
    static const struct {
        const char *name;
        uint16_t type;
    } cases[] = {
        {"www.example.com.", DNS_TYPE_A},       {"WWW.Example.COM.", DNS_TYPE_A},
        {"example.com.", DNS_TYPE_MX},          {"example.com.", DNS_TYPE_NS},
        {"example.com.", DNS_TYPE_SOA},         {"example.com.", DNS_TYPE_ANY},
        {"nope.example.com.", DNS_TYPE_A},      {"www.example.com.", DNS_TYPE_MX},
        {"web.example.com.", DNS_TYPE_A},       {"web.example.com.", DNS_TYPE_CNAME},
        {"ptr.example.com.", DNS_TYPE_PTR},     {"txt.example.com.", DNS_TYPE_TXT},
        {"a.Wild.example.com.", DNS_TYPE_TXT},  {"www.sub.example.com.", DNS_TYPE_A},
        {"y.newsfx.example.com.", DNS_TYPE_A},  {"www.example.org.", DNS_TYPE_A},
        {"big.example.com.", DNS_TYPE_TXT},     {"_sip._udp.example.com.", DNS_TYPE_SRV},
        {"hinfo.example.com.", DNS_TYPE_HINFO},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ask(cases[i].name, cases[i].type);
        size_t len = reply(sizeof out, 1);
        CU_ASSERT_TRUE(len > 0);
        unsigned an = records_in(res.count[LOOKUP_ANSWER], res.item[LOOKUP_ANSWER]);
        unsigned ns = records_in(res.count[LOOKUP_AUTHORITY], res.item[LOOKUP_AUTHORITY]);
        unsigned ar = records_in(res.count[LOOKUP_ADDITIONAL], res.item[LOOKUP_ADDITIONAL]);
        check_plain_reply_at(len, 1, an, ns, ar, false, __FILE__, __LINE__);
    }
}

void test_resp_register(void)
{
    CU_pSuite s = CU_add_suite("resp", suite_init, suite_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "exact bytes: A, every name in full", test_exact_a);
    CU_add_test(s, "exact bytes: MX and its additional A", test_exact_mx_with_additional);
    CU_add_test(s, "exact bytes: CNAME then its target", test_exact_cname_chain);
    CU_add_test(s, "exact bytes: NXDOMAIN with SOA", test_exact_soa_nxdomain);
    CU_add_test(s, "RDATA written as stored (TXT A SRV HINFO)", test_rdata_as_stored);
    CU_add_test(s, "header: ID, RD, AA, RCODE; others clear", test_header_flags);
    CU_add_test(s, "question's letter case echoed", test_question_case_kept);
    CU_add_test(s, "two questions, each in full", test_several_questions);
    CU_add_test(s, "TC: answer RRset too big, rolled back", test_answer_too_big_alone);
    CU_add_test(s, "TC: second answer RRset rolled back", test_answer_rolled_back_after_one);
    CU_add_test(s, "TC: authority RRset too big", test_authority_too_big);
    CU_add_test(s, "additional RRset too big: left out, no TC", test_additional_too_big);
    CU_add_test(s, "size limit: exactly max, max - 1, header only", test_exact_limit);
    CU_add_test(s, "overflow sets TC", test_overflow_sets_tc);
    CU_add_test(s, "round trips through msg_parse", test_round_trips);
}
