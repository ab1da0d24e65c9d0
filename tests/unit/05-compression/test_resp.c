/* test_resp.c: unit tests of steps/05-compression/resp.c — replies with compressed names. */
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
 * Stage 5 writes owners, questions after the first, and the names inside RDATA that the
 * record-type table marks compressible (RDATA_NAME) with pointers to where the same bytes
 * already are. This file is tests/unit/04-answer/test_resp.c with compressed expectations.
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
 * without pointers). msg_parse() reads every name with name_read(), which refuses a pointer that
 * does not point backwards, points into the header or out of the reply; and as compression
 * matches suffixes byte for byte, every name reads back exactly as meant, letter case too.
 * Returns 0 when the reply cannot be read that far (the failure is recorded).
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
            /* The RDATA with its pointers followed, as the zone stores it. */
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

/* check_reply_at(), and compression paid: a reply with a record is shorter than with every
 * name in full (each owner repeats a name already written); one without is as long. */
static void check_compressed_reply_at(size_t len, unsigned qcount, unsigned an, unsigned ns,
                                      unsigned ar, bool tc, const char *file, unsigned line)
{
    size_t plain = check_reply_at(len, qcount, an, ns, ar, tc, file, line);
    if (plain == 0)
        return; /* check_reply_at() said what was wrong */
    if (an + ns + ar > 0)
        record(len < plain, "compressed: shorter than with every name in full", file, line);
    else
        test_expect_uint(len, plain, "no record: nothing to compress", file, line);
}
#define CHECK_COMPRESSED_REPLY(len, qcount, an, ns, ar, tc)                                        \
    check_compressed_reply_at((len), (qcount), (an), (ns), (ar), (tc), __FILE__, __LINE__)

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
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 16: "example" */
        3,    'c',  'o',  'm',  0,                  /* 24: "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x0c,                                 /* 33: answer: owner -> 12 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, false);
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
        0xc0, 0x0c,                                 /* 29: answer: owner -> 12 */
        0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x09,                                 /* RDLENGTH 9 (compressed) */
        0x00, 0x0a,                                 /* 41: PREFERENCE 10 */
        4,    'm',  'a',  'i',  'l',                /* 43: EXCHANGE: "mail" */
        0xc0, 0x0c,                                 /* -> 12 example.com. */
        0xc0, 0x2b,                                 /* 50: additional: owner -> 43 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    25,                       /* 192.0.2.25 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 1, false);
}

static void test_exact_cname_and_ns(void)
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
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 16: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x0c,                                 /* 33: answer 1: owner -> 12 */
        0x00, 0x05, 0x00, 0x01,                     /* CNAME IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x06,                                 /* RDLENGTH 6 */
        3,    'w',  'w',  'w',                      /* 45: CNAME: "www" */
        0xc0, 0x10,                                 /* -> 16 example.com. */
        0xc0, 0x2d,                                 /* 51: answer 2: owner -> 45 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_COMPRESSED_REPLY(len, 1, 2, 0, 0, false);

    ask("example.com.", DNS_TYPE_NS);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want_ns[] = {
        0x12, 0x34,                                 /* ID */
        0x85, 0x00,                                 /* QR AA RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x01,                                 /* ANCOUNT 1 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x01,                                 /* ARCOUNT 1 */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 12: question: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x02, 0x00, 0x01,                     /* NS IN */
        0xc0, 0x0c,                                 /* 29: answer: owner -> 12 */
        0x00, 0x02, 0x00, 0x01,                     /* NS IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x06,                                 /* RDLENGTH 6 */
        3,    'n',  's',  '1',                      /* 41: NSDNAME: "ns1" */
        0xc0, 0x0c,                                 /* -> 12 example.com. */
        0xc0, 0x29,                                 /* 47: additional: owner -> 41 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    53,                       /* 192.0.2.53 */
    };
    EXPECT_BYTES(out, len, want_ns, sizeof want_ns);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 1, false);

    ask("ptr.example.com.", DNS_TYPE_PTR);
    len = reply(DNS_UDP_MAX, 1);
    /* PTR RDATA "www" -> example.com. inside the question (offset 16). */
    static const uint8_t ptr_rdata[] = {
        0x00, 0x06,           /* RDLENGTH 6 */
        3,    'w',  'w', 'w', /* PTRDNAME: "www" */
        0xc0, 0x10,           /* -> 16 example.com. */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof ptr_rdata);
    EXPECT_BYTES(out + len - sizeof ptr_rdata, sizeof ptr_rdata, ptr_rdata, sizeof ptr_rdata);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, false);
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
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 17: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x11,                                 /* 34: authority: owner -> 17 */
        0x00, 0x06, 0x00, 0x01,                     /* SOA IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL min(3600, 300) */
        0x00, 0x27,                                 /* RDLENGTH 39 */
        3,    'n',  's',  '1',                      /* 46: MNAME: "ns1" */
        0xc0, 0x11,                                 /* -> 17 example.com. */
        10,   'h',  'o',  's',  't', 'm',           /* 52: RNAME: "hostm... */
        'a',  's',  't',  'e',  'r',                /* ...aster" */
        0xc0, 0x11,                                 /* -> 17 example.com. */
        0x00, 0x00, 0x00, 0x01,                     /* SERIAL 1 */
        0x00, 0x00, 0x1c, 0x20,                     /* REFRESH 7200 */
        0x00, 0x00, 0x0e, 0x10,                     /* RETRY 3600 */
        0x00, 0x12, 0x75, 0x00,                     /* EXPIRE 1209600 */
        0x00, 0x00, 0x01, 0x2c,                     /* MINIMUM 300 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_COMPRESSED_REPLY(len, 1, 0, 1, 0, false);
}

static void test_rdata_never_compressed(void)
{
    /* TXT holding a name's wire form, after the question wrote that name: copied as is. */
    ask("txt.example.com.", DNS_TYPE_TXT);
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t txt[] = {
        0x00, 0x0d,                               /* RDLENGTH 13 */
        12,                                       /* the string's length */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* its bytes, "\007example... */
        3,    'c',  'o', 'm',                     /* ...\003com": not a pointer */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof txt);
    EXPECT_BYTES(out + len - sizeof txt, sizeof txt, txt, sizeof txt);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, false);

    /* An A record whose address bytes look like a pointer. */
    ask("ptrlike.example.com.", DNS_TYPE_A);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t a[] = {
        0x00, 0x04, /* RDLENGTH 4 */
        0xc0, 0x0c, /* 192.12... */
        0x00, 0x01, /* ...0.1 */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof a);
    EXPECT_BYTES(out + len - sizeof a, sizeof a, a, sizeof a);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, false);

    /* HINFO's character-strings "example" "com" are the question's labels byte for byte. */
    ask("hinfo.example.com.", DNS_TYPE_HINFO);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t hinfo[] = {
        0x00, 0x0c,                               /* RDLENGTH 12 */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* CPU "example" */
        3,    'c',  'o', 'm',                     /* OS "com": not a name, no pointer */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof hinfo);
    EXPECT_BYTES(out + len - sizeof hinfo, sizeof hinfo, hinfo, sizeof hinfo);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, false);

    /* SRV's TARGET is a name, but RFC 2782 says it is not compressed (old resolvers would not
     * expand it): written in full though example.com. is in the question. */
    ask("_sip._udp.example.com.", DNS_TYPE_SRV);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t srv[] = {
        0x00, 0x17,                               /* 49: RDLENGTH 23 */
        0x00, 0x00,                               /* PRIORITY 0 */
        0x00, 0x05,                               /* WEIGHT 5 */
        0x13, 0xc4,                               /* PORT 5060 */
        3,    'w',  'w', 'w',                     /* 57: TARGET: "www" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example", not a pointer to 22 */
        3,    'c',  'o', 'm', 0,                  /* "com", root */
    };
    CU_ASSERT_TRUE_FATAL(len >= 49 + sizeof srv);
    EXPECT_BYTES(out + 49, sizeof srv, srv, sizeof srv);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 1, false); /* www's A as additional */
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
    CHECK_COMPRESSED_REPLY(len, 1, 0, 0, 0, false);
}

static void test_question_case_kept(void)
{
    /* A pointer repeats earlier bytes, so compression matches suffixes byte for byte, case
     * included (compress.h): the client's letters stay the client's, the zone's the zone's.
     * The NS RDATA "ns1.example.com." follows a question "EXAMPLE.com.": only "com." is
     * shared, and the RDATA keeps the zone's "example". The answer's owner is the question's
     * name itself: a pointer to it. */
    ask("EXAMPLE.com.", DNS_TYPE_NS);
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID */
        0x85, 0x00,                                 /* QR AA RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x01,                                 /* ANCOUNT 1 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x01,                                 /* ARCOUNT 1 */
        7,    'E',  'X',  'A',  'M', 'P', 'L', 'E', /* 12: question: "EXAMPLE" */
        3,    'c',  'o',  'm',  0,                  /* 20: "com", root */
        0x00, 0x02, 0x00, 0x01,                     /* NS IN */
        0xc0, 0x0c,                                 /* 29: answer: owner -> 12 EXAMPLE.com. */
        0x00, 0x02, 0x00, 0x01,                     /* NS IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x0e,                                 /* RDLENGTH 14 */
        3,    'n',  's',  '1',                      /* 41: NSDNAME: "ns1" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 45: "example", the zone's case */
        0xc0, 0x14,                                 /* -> 20 com. */
        0xc0, 0x29,                                 /* 55: additional: owner -> 41 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    53,                       /* 192.0.2.53 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 1, false);

    /* A CNAME asked in mixed case: the CNAME's owner points at the question, its target
     * "www.example.com." shares no suffix with "WeB.ExAmPlE.cOm." (not even "com.") and is
     * written in full, and the target's A points at that. */
    ask("WeB.ExAmPlE.cOm.", DNS_TYPE_A);
    len = reply(DNS_UDP_MAX, 1);
    static const uint8_t answers[] = {
        0xc0, 0x0c,                                 /* 33: answer 1: owner -> 12 */
        0x00, 0x05, 0x00, 0x01,                     /* CNAME IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x11,                                 /* RDLENGTH 17 */
        3,    'w',  'w',  'w',                      /* 45: CNAME: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0xc0, 0x2d,                                 /* 62: answer 2: owner -> 45 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    CU_ASSERT_TRUE_FATAL(len == 33 + sizeof answers);
    EXPECT_BYTES(out + 33, len - 33, answers, sizeof answers);
    CHECK_COMPRESSED_REPLY(len, 1, 2, 0, 0, false);
}

static void test_several_questions(void)
{
    new_query();
    query.qdcount = 2;
    set_question(0, "www.example.com.", DNS_TYPE_A);
    set_question(1, "Mail.Example.com.", DNS_TYPE_A);
    lookup_init(&res);
    lookup_answer(&zones, &qs[0], &res);
    lookup_answer(&zones, &qs[1], &res);
    size_t len = reply(DNS_UDP_MAX, 2);
    /* The second question: "Mail" and "Example" in full, then a pointer to "com." of the
     * first. "Example.com." differs from the first question's "example.com." in one letter,
     * and compression is case-sensitive (a pointer would turn it into "example"). Each answer's
     * owner points at its own question. */
    static const uint8_t want[] = {
        4,    'M',  'a',  'i',  'l',                /* 33: question 2: "Mail" */
        7,    'E',  'x',  'a',  'm', 'p', 'l', 'e', /* 38: "Example" */
        0xc0, 0x18,                                 /* -> 24 com. */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x0c,                                 /* 52: answer 1: owner -> 12 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
        0xc0, 0x21,                                 /* 68: answer 2: owner -> 33 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    25,                       /* 192.0.2.25 */
    };
    CU_ASSERT_TRUE_FATAL(len == 33 + sizeof want);
    EXPECT_BYTES(out + 33, len - 33, want, sizeof want);
    CHECK_COMPRESSED_REPLY(len, 2, 2, 0, 0, false);
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
    CHECK_COMPRESSED_REPLY(len, 1, 0, 0, 0, true);
    /* It fits in a bigger buffer (as over TCP), whole. */
    len = reply(sizeof out, 1);
    CU_ASSERT_TRUE(len > DNS_UDP_MAX);
    CHECK_COMPRESSED_REPLY(len, 1, 3, 1, 1, false);
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
    size_t www = 2 + DNS_RR_FIXED + 4; /* owner a pointer, fixed fields, address */
    EXPECT_UINT(len, question_end("www.example.com.") + www);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, true);
}

static void test_authority_too_big(void)
{
    /* An authority RRset that does not fit also truncates (the answer stays). */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_AUTHORITY, "big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 0, true);
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
    CHECK_COMPRESSED_REPLY(len, 1, 1, 1, 2, false);
    /* ns1's A right after the authority NS: 33 + 16 (www A) + 18 (NS) = 67, its owner a
     * pointer to the NS RDATA's "ns1" at 61. */
    static const uint8_t ns1[] = {0xc0, 0x3d, 0x00, 0x01, 0x00, 0x01};
    CU_ASSERT_TRUE_FATAL(len >= 67 + sizeof ns1);
    EXPECT_BYTES(out + 67, sizeof ns1, ns1, sizeof ns1);
}

static void test_exact_limit(void)
{
    /* A reply of exactly `max` bytes is whole; one byte less drops its last RRset. */
    ask("example.com.", DNS_TYPE_MX); /* answer MX, additional mail A */
    size_t full = reply(DNS_UDP_MAX, 1);
    CHECK_COMPRESSED_REPLY(full, 1, 1, 0, 1, false);
    size_t len = reply(full, 1);
    EXPECT_UINT(len, full);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 1, false);
    /* The additional A goes, quietly. */
    size_t answer_end = reply(full - 1, 1);
    EXPECT_UINT(answer_end, full - (2 + DNS_RR_FIXED + 4));
    CHECK_COMPRESSED_REPLY(answer_end, 1, 1, 0, 0, false);
    /* The answer MX goes: TC. */
    len = reply(answer_end - 1, 1);
    EXPECT_UINT(len, question_end("example.com."));
    CHECK_COMPRESSED_REPLY(len, 1, 0, 0, 0, true);
    /* Header and question only just fit. */
    len = reply(question_end("example.com."), 1);
    EXPECT_UINT(len, question_end("example.com."));
    CHECK_COMPRESSED_REPLY(len, 1, 0, 0, 0, true);
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
    CHECK_COMPRESSED_REPLY(DNS_HEADER_SIZE, 0, 0, 0, 0, true);
    /* Under 12 bytes: nothing to send. */
    EXPECT_UINT(reply(DNS_HEADER_SIZE - 1, 1), 0);
    EXPECT_UINT(reply(0, 1), 0);
}

static void test_rollback_forgets_compression(void)
{
    /* The first additional RRset's owner big.newsfx.example.com. is new: writing its first
     * records adds "big.newsfx..." and "newsfx..." to the compression table; then it does not
     * fit and is rolled back. x.newsfx.example.com. comes next, where those bytes were: it
     * must not point at them. */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ADDITIONAL, "big.newsfx.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ADDITIONAL, "x.newsfx.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ADDITIONAL, "y.newsfx.example.com.", DNS_TYPE_A);
    memset(out, 0xEE, sizeof out);
    size_t len = reply(DNS_UDP_MAX, 1);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 2, false);
    /* Byte by byte from the end of the answer (12 + 21 + 16 = 49). */
    static const uint8_t want[] = {
        1,    'x',                             /* 49: "x" */
        6,    'n',  'e',  'w',  's', 'f', 'x', /* 51: "newsfx", written again */
        0xc0, 0x10,                            /* -> 16 example.com. */
        0x00, 0x01, 0x00, 0x01,                /* A IN */
        0x00, 0x00, 0x0e, 0x10,                /* TTL 3600 */
        0x00, 0x04,                            /* RDLENGTH 4 */
        192,  0,    2,    100,                 /* 192.0.2.100 */
        1,    'y',                             /* 74: "y" */
        0xc0, 0x33,                            /* -> 51 newsfx.example.com. */
        0x00, 0x01, 0x00, 0x01,                /* A IN */
        0x00, 0x00, 0x0e, 0x10,                /* TTL 3600 */
        0x00, 0x04,                            /* RDLENGTH 4 */
        192,  0,    2,    101,                 /* 192.0.2.101 */
    };
    CU_ASSERT_TRUE_FATAL(len == 49 + sizeof want);
    EXPECT_BYTES(out + 49, len - 49, want, sizeof want);
}

static void test_rollbacks_do_not_fill_the_table(void)
{
    /* The same RRset, 20 new labels deep, offered 14 times in the additional section: each
     * time its first record is written (20 compression targets recorded), then the RRset does
     * not fit and is rolled back. Stale targets would fill the table (3 + 14 x 20 > 256
     * entries) and the last RRset could no longer be compressed against itself. */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    for (int i = 0; i < 14; i++)
        add_item(LOOKUP_ADDITIONAL, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.example.com.",
                 DNS_TYPE_TXT);
    add_item(LOOKUP_ADDITIONAL, "two.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1);
    CHECK_COMPRESSED_REPLY(len, 1, 1, 0, 2, false);
    static const uint8_t want[] = {
        3,    't',  'w',  'o',  /* 49: "two" */
        0xc0, 0x10,             /* -> 16 example.com. */
        0x00, 0x01, 0x00, 0x01, /* A IN */
        0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */
        0x00, 0x04,             /* RDLENGTH 4 */
        192,  0,    2,    1,    /* 192.0.2.1 */
        0xc0, 0x31,             /* 69: -> 49 (room left) */
        0x00, 0x01, 0x00, 0x01, /* A IN */
        0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */
        0x00, 0x04,             /* RDLENGTH 4 */
        192,  0,    2,    2,    /* 192.0.2.2 */
    };
    CU_ASSERT_TRUE_FATAL(len == 49 + sizeof want);
    EXPECT_BYTES(out + 49, len - 49, want, sizeof want);
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
    CHECK_COMPRESSED_REPLY(len, 1, h.ancount, h.nscount, h.arcount, true);
}

static void test_malformed_rdata_copied(void)
{
    /* RDATA that does not match its type's layout (a zone file never makes it, zone_add()
     * takes it) cannot be compressed field by field: it is written as stored. An NS whose
     * name is followed by a stray byte, and an MX one byte long. The compression targets the
     * NS's name added while it was tried are forgotten with it: ns1's A, in the additional
     * section, points at the question's example.com., not into the NS copied as stored. */
    struct name apex;
    name_from_text("example.com.", NULL, &apex);
    struct zone *z = zone_new(&apex);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    static const uint8_t ns[] = {3,   'n', 's', '1', 7,   'e', 'x', 'a', 'm',
                                 'p', 'l', 'e', 3,   'c', 'o', 'm', 0,   0xff};
    static const uint8_t mx[] = {0x0a};
    CU_ASSERT_EQUAL(zone_add(z, &apex, DNS_TYPE_NS, 60, ns, sizeof ns), ZONE_OK);
    CU_ASSERT_EQUAL(zone_add(z, &apex, DNS_TYPE_MX, 60, mx, sizeof mx), ZONE_OK);
    struct name ns1;
    name_from_text("ns1.example.com.", NULL, &ns1);
    static const uint8_t a[] = {192, 0, 2, 53};
    CU_ASSERT_EQUAL(zone_add(z, &ns1, DNS_TYPE_A, 60, a, sizeof a), ZONE_OK);
    start("example.com.", DNS_TYPE_ANY);
    const struct zone_rrset *ns_set = zone_node_rrset(z->apex, DNS_TYPE_NS);
    const struct zone_rrset *mx_set = zone_node_rrset(z->apex, DNS_TYPE_MX);
    res.item[LOOKUP_ANSWER][0] = (struct lookup_item){ns_set, &qs[0].qname, 60};
    res.item[LOOKUP_ANSWER][1] = (struct lookup_item){mx_set, &qs[0].qname, 60};
    res.count[LOOKUP_ANSWER] = 2;
    const struct zone_rrset *a_set = zone_node_rrset(zone_find_node(z, &ns1), DNS_TYPE_A);
    res.item[LOOKUP_ADDITIONAL][0] = (struct lookup_item){a_set, &ns1, 60};
    res.count[LOOKUP_ADDITIONAL] = 1;
    size_t len = reply(DNS_UDP_MAX, 1);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID */
        0x85, 0x00,                                 /* QR AA RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x02,                                 /* ANCOUNT 2 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x01,                                 /* ARCOUNT 1 */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 12: question: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0xff, 0x00, 0x01,                     /* ANY IN */
        0xc0, 0x0c,                                 /* 29: answer 1: owner -> 12 */
        0x00, 0x02, 0x00, 0x01,                     /* NS IN */
        0x00, 0x00, 0x00, 0x3c,                     /* TTL 60 */
        0x00, 0x12,                                 /* RDLENGTH 18: as stored */
        3,    'n',  's',  '1',                      /* 41: "ns1" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example", no pointer */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0xff,                                       /* the stray byte */
        0xc0, 0x0c,                                 /* 59: answer 2: owner -> 12 */
        0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
        0x00, 0x00, 0x00, 0x3c,                     /* TTL 60 */
        0x00, 0x01,                                 /* RDLENGTH 1 */
        0x0a,                                       /* half a PREFERENCE */
        3,    'n',  's',  '1',                      /* 72: additional: "ns1" */
        0xc0, 0x0c,                                 /* -> 12 example.com. */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x00, 0x3c,                     /* TTL 60 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    53,                       /* 192.0.2.53 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    zone_free(z);
}

/* Round trips -------------------------------------------------------------------- */

static void test_round_trips(void)
{
    /* Every kind of answer parses back to the result it came from, and is shorter than the
     * same reply with every name in full whenever it has a record (each record's owner
     * repeats a name already written). */
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
        {"hinfo.example.com.", DNS_TYPE_HINFO}, {"NOPE.EXAMPLE.COM.", DNS_TYPE_MX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ask(cases[i].name, cases[i].type);
        size_t len = reply(sizeof out, 1);
        CU_ASSERT_TRUE(len > 0);
        unsigned an = records_in(res.count[LOOKUP_ANSWER], res.item[LOOKUP_ANSWER]);
        unsigned ns = records_in(res.count[LOOKUP_AUTHORITY], res.item[LOOKUP_AUTHORITY]);
        unsigned ar = records_in(res.count[LOOKUP_ADDITIONAL], res.item[LOOKUP_ADDITIONAL]);
        size_t plain = check_reply_at(len, 1, an, ns, ar, false, __FILE__, __LINE__);
        if (plain == 0)
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s type %u: compressed length < uncompressed %zu",
                 cases[i].name, cases[i].type, plain);
        if (an + ns + ar == 0)
            test_expect_uint(len, plain, what, __FILE__, __LINE__);
        else
            record(len < plain, what, __FILE__, __LINE__);
    }
}

void test_resp_register(void)
{
    CU_pSuite s = CU_add_suite("resp", suite_init, suite_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "exact bytes: A, owner c0 0c", test_exact_a);
    CU_add_test(s, "exact bytes: MX and its additional A", test_exact_mx_with_additional);
    CU_add_test(s, "exact bytes: CNAME chain, NS, PTR", test_exact_cname_and_ns);
    CU_add_test(s, "exact bytes: NXDOMAIN with SOA", test_exact_soa_nxdomain);
    CU_add_test(s, "TXT A HINFO SRV RDATA never compressed", test_rdata_never_compressed);
    CU_add_test(s, "header: ID, RD, AA, RCODE; others clear", test_header_flags);
    CU_add_test(s, "compression keeps letter case", test_question_case_kept);
    CU_add_test(s, "two questions", test_several_questions);
    CU_add_test(s, "TC: answer RRset too big, rolled back", test_answer_too_big_alone);
    CU_add_test(s, "TC: second answer RRset rolled back", test_answer_rolled_back_after_one);
    CU_add_test(s, "TC: authority RRset too big", test_authority_too_big);
    CU_add_test(s, "additional RRset too big: left out, no TC", test_additional_too_big);
    CU_add_test(s, "size limit: exactly max, max - 1, header only", test_exact_limit);
    CU_add_test(s, "rollback forgets compression targets", test_rollback_forgets_compression);
    CU_add_test(s, "rollbacks do not fill the compression table",
                test_rollbacks_do_not_fill_the_table);
    CU_add_test(s, "overflow sets TC", test_overflow_sets_tc);
    CU_add_test(s, "RDATA not matching its type: written as stored", test_malformed_rdata_copied);
    CU_add_test(s, "round trips: parsed back, shorter than in full", test_round_trips);
}
