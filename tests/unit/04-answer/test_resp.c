/* test_resp.c: unit tests of common/resp.c — replies within a size limit, TC, compression. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "hdr.h"
#include "lookup.h"
#include "msg.h"
#include "name.h"
#include "resp.h"
#include "tests.h"
#include "zone.h"

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
    "txt        TXT   \"\\007example\\003com\"  ; a name's wire form, as text: never compressed\n"
    "ptrlike    A     192.12.0.1              ; bytes c0 0c 00 01, like a pointer\n"
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
    char err[ZONE_ERROR_MAX + 64];
    if (zone_load_text(&zones, example_com, "example.com", NULL, err, sizeof err) != 0) {
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
/* Whether the last reply was written with compression: only without it is every name
 * guaranteed to keep its letter case (a pointer leads to an earlier name, which may be
 * written in another case). */
static bool last_compress;

/* resp_write() into `out` of the result `res` for the questions `qs`. */
static size_t reply(size_t max, unsigned qcount, bool compress)
{
    last_compress = compress;
    return resp_write(out, max, &query, qs, qcount, &res, compress);
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

/* Reads the name at `*pos` of the message; every pointer in it must point backwards (name_read
 * checks that) and inside the message. Appends its uncompressed form to `flat`. */
static bool read_name(const uint8_t *msg, size_t len, size_t *pos, uint8_t *flat, size_t *flat_len)
{
    struct buf_reader r;
    struct name n;
    buf_reader_init(&r, msg, len);
    buf_seek(&r, *pos);
    if (name_read(&r, &n) != NAME_OK)
        return false;
    memcpy(flat + *flat_len, n.wire, n.len);
    *flat_len += n.len;
    *pos = r.pos;
    return true;
}

/* Turns the RDATA at `pos` (rdlength bytes) back into the uncompressed form the zone stores,
 * following pointers in the types that may hold them. False if the names do not end exactly
 * at the end of the RDATA. */
static bool flatten_rdata(const uint8_t *msg, size_t len, uint16_t type, size_t pos,
                          size_t rdlength, uint8_t *flat, size_t *flat_len)
{
    size_t end = pos + rdlength;
    *flat_len = 0;
    switch (type) {
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        if (!read_name(msg, len, &pos, flat, flat_len))
            return false;
        break;
    case DNS_TYPE_MX:
        memcpy(flat, msg + pos, 2);
        *flat_len = 2;
        pos += 2;
        if (!read_name(msg, len, &pos, flat, flat_len))
            return false;
        break;
    case DNS_TYPE_SOA:
        if (!read_name(msg, len, &pos, flat, flat_len) ||
            !read_name(msg, len, &pos, flat, flat_len) || pos + 20 > end)
            return false;
        memcpy(flat + *flat_len, msg + pos, 20);
        *flat_len += 20;
        pos += 20;
        break;
    default:
        memcpy(flat, msg + pos, rdlength);
        *flat_len = rdlength;
        pos = end;
        break;
    }
    return pos == end;
}

/* Names read back: the same bytes (letter case too) without compression, the same name with. */
static void expect_name(const struct name *got, const struct name *want, const char *what,
                        const char *file, unsigned line)
{
    if (!last_compress) {
        test_expect_bytes(got->wire, got->len, want->wire, want->len, what, file, line);
        return;
    }
    char g[NAME_TEXT_MAX], w[NAME_TEXT_MAX], msg[2 * NAME_TEXT_MAX + 64];
    name_to_text(got, g, sizeof g);
    name_to_text(want, w, sizeof w);
    snprintf(msg, sizeof msg, "%s: expected %s (any case), got %s", what, w, g);
    record(name_equal(got, want), msg, file, line);
}

/*
 * Parses the reply back: header fields against the query and `res`, the questions, then every
 * record with msg_read_rr(), each matched with the record of `res` it must be (owner bytes,
 * type, class, TTL, and RDATA once decompressed equal to the zone's), and nothing after the
 * last record. `an`, `ns`, `ar` are the records expected in each section, `tc` the TC flag.
 */
static void check_reply_at(size_t len, unsigned qcount, unsigned an, unsigned ns, unsigned ar,
                           bool tc, const char *file, unsigned line)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, out, len);
    hdr_decode(&r, &h);
    test_expect_uint(h.id, query.id, "reply ID", file, line);
    test_expect_uint(hdr_flag(&h, HDR_QR), 1, "reply QR", file, line);
    test_expect_uint(hdr_opcode(&h), hdr_opcode(&query), "reply OPCODE", file, line);
    test_expect_uint(hdr_flag(&h, HDR_AA), res.aa, "reply AA", file, line);
    test_expect_uint(hdr_flag(&h, HDR_TC), tc, "reply TC", file, line);
    test_expect_uint(hdr_flag(&h, HDR_RD), hdr_flag(&query, HDR_RD), "reply RD", file, line);
    test_expect_uint(hdr_flag(&h, HDR_RA | HDR_Z | HDR_AD | HDR_CD), 0, "reply RA Z AD CD", file,
                     line);
    test_expect_uint(hdr_rcode(&h), res.rcode, "reply RCODE", file, line);
    test_expect_uint(h.qdcount, qcount, "reply QDCOUNT", file, line);
    test_expect_uint(h.ancount, an, "reply ANCOUNT", file, line);
    test_expect_uint(h.nscount, ns, "reply NSCOUNT", file, line);
    test_expect_uint(h.arcount, ar, "reply ARCOUNT", file, line);
    for (unsigned i = 0; i < qcount; i++) {
        struct msg_question q;
        test_expect_status(msg_read_question(&r, &q), NAME_OK, "reply question", file, line);
        expect_name(&q.qname, &qs[i].qname, "reply QNAME", file, line);
        test_expect_uint(q.qtype, qs[i].qtype, "reply QTYPE", file, line);
        test_expect_uint(q.qclass, qs[i].qclass, "reply QCLASS", file, line);
    }
    const unsigned want[LOOKUP_SECTIONS] = {an, ns, ar};
    for (int s = 0; s < LOOKUP_SECTIONS; s++) {
        /* Records are written RRset by RRset, in the result's order, but an additional RRset
         * that did not fit is skipped: match each record with the next RRset whose owner and
         * type agree. */
        size_t item = 0;
        unsigned index = 0;
        for (unsigned k = 0; k < want[s]; k++) {
            struct msg_rr rr;
            char what[80];
            snprintf(what, sizeof what, "section %d record %u", s, k);
            enum name_status st = msg_read_rr(&r, &rr);
            test_expect_status(st, NAME_OK, what, file, line);
            if (st != NAME_OK)
                return;
            while (index == 0 && item < res.count[s] &&
                   !(res.item[s][item].rrset->type == rr.type &&
                     name_equal(res.item[s][item].owner, &rr.owner)))
                item++;
            if (item >= res.count[s]) {
                record(0, "a record that matches no RRset of the result", file, line);
                return;
            }
            const struct lookup_item *it = &res.item[s][item];
            expect_name(&rr.owner, it->owner, "record owner", file, line);
            test_expect_uint(rr.type, it->rrset->type, "record TYPE", file, line);
            test_expect_uint(rr.class_, DNS_CLASS_IN, "record CLASS", file, line);
            test_expect_uint(rr.ttl, it->ttl, "record TTL", file, line);
            uint8_t flat[1024];
            size_t flat_len = 0;
            bool ok =
                flatten_rdata(out, len, rr.type, rr.rdata_offset, rr.rdlength, flat, &flat_len);
            record(ok, "RDATA names end exactly at RDLENGTH", file, line);
            const struct zone_rdata *d = rdata_at(it->rrset, index);
            if (ok && d != NULL)
                test_expect_bytes(flat, flat_len, d->data, d->len, "RDATA, decompressed", file,
                                  line);
            if (++index == it->rrset->count) {
                index = 0;
                item++;
            }
        }
        test_expect_uint(index, 0, "whole RRsets only", file, line);
    }
    test_expect_uint(buf_remaining(&r), 0, "bytes after the last record", file, line);
    test_expect_uint(buf_reader_ok(&r), 1, "reader ok", file, line);
}
#define CHECK_REPLY(len, qcount, an, ns, ar, tc)                                                   \
    check_reply_at((len), (qcount), (an), (ns), (ar), (tc), __FILE__, __LINE__)

/* The pointer ending each question and owner name (walked the way a parser does: names start
 * only where it expects them) must point backwards, past the header, inside the reply. Names
 * inside RDATA are checked by check_reply_at(), whose name_read() refuses the same. */
static void check_pointers_at(size_t len, const char *file, unsigned line)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, out, len);
    hdr_decode(&r, &h);
    unsigned bad = 0;
    unsigned total = h.qdcount + h.ancount + h.nscount + h.arcount;
    for (unsigned k = 0; k < total; k++) {
        /* One name at r.pos: follow its labels to the end or to a pointer. */
        size_t p = r.pos;
        while (p < len && out[p] != 0 && (out[p] & 0xC0) == 0)
            p += 1 + (size_t)out[p];
        if (p + 1 < len && (out[p] & 0xC0) == 0xC0) {
            size_t target = (size_t)(out[p] & 0x3F) << 8 | out[p + 1];
            if (target >= p || target >= len || target < DNS_HEADER_SIZE)
                bad++;
        }
        if (k < h.qdcount) {
            struct msg_question q;
            if (msg_read_question(&r, &q) != NAME_OK)
                bad++;
        } else {
            struct msg_rr rr;
            if (msg_read_rr(&r, &rr) != NAME_OK) {
                bad++;
                break;
            }
        }
    }
    test_expect_uint(bad, 0, "pointers out of the message or not backwards", file, line);
}
#define CHECK_POINTERS(len) check_pointers_at((len), __FILE__, __LINE__)

/* Exact bytes ------------------------------------------------------------------------ */

static void test_exact_plain(void)
{
    ask("www.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1, false);
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
    CHECK_REPLY(len, 1, 1, 0, 0, false);
}

static void test_exact_compressed(void)
{
    ask("www.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1, true);
    static const uint8_t want[] = {
        0x12, 0x34,                                 /* ID */
        0x85, 0x00,                                 /* QR AA RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x01,                                 /* ANCOUNT 1 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: question: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 16: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x0c,                                 /* 33: answer, owner -> 12 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_REPLY(len, 1, 1, 0, 0, false);
}

static void test_exact_mx_with_additional(void)
{
    ask("example.com.", DNS_TYPE_MX);
    query.flags = 0; /* RD clear: clear in the reply */
    size_t len = reply(DNS_UDP_MAX, 1, true);
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
        0xc0, 0x0c,                                 /* 29: answer, owner -> 12 */
        0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x09,                                 /* RDLENGTH 9 (compressed) */
        0x00, 0x0a,                                 /* 41: preference 10 */
        4,    'm',  'a',  'i',  'l',                /* 43: "mail" */
        0xc0, 0x0c,                                 /* -> 12 example.com. */
        0xc0, 0x2b,                                 /* 50: additional -> 43 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    25,                       /* 192.0.2.25 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_REPLY(len, 1, 1, 0, 1, false);
}

static void test_exact_cname_and_ns(void)
{
    ask("web.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1, true);
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
        0xc0, 0x0c,                                 /* 33: answer, owner -> 12 */
        0x00, 0x05, 0x00, 0x01,                     /* CNAME IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x06,                                 /* RDLENGTH 6 */
        3,    'w',  'w',  'w',                      /* 45: "www" */
        0xc0, 0x10,                                 /* -> 16 example.com. */
        0xc0, 0x2d,                                 /* 51: answer, owner -> 45 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_REPLY(len, 1, 2, 0, 0, false);

    ask("example.com.", DNS_TYPE_NS);
    len = reply(DNS_UDP_MAX, 1, true);
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
        0xc0, 0x0c,                                 /* 29: answer, owner -> 12 */
        0x00, 0x02, 0x00, 0x01,                     /* NS IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x06,                                 /* RDLENGTH 6 */
        3,    'n',  's',  '1',                      /* 41: "ns1" */
        0xc0, 0x0c,                                 /* -> 12 example.com. */
        0xc0, 0x29,                                 /* 47: additional -> 41 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    53,                       /* 192.0.2.53 */
    };
    EXPECT_BYTES(out, len, want_ns, sizeof want_ns);
    CHECK_REPLY(len, 1, 1, 0, 1, false);

    ask("ptr.example.com.", DNS_TYPE_PTR);
    len = reply(DNS_UDP_MAX, 1, true);
    /* PTR RDATA "www" -> example.com. inside the question (offset 16). */
    static const uint8_t ptr_rdata[] = {
        0x00, 0x06,           /* RDLENGTH 6 */
        3,    'w',  'w', 'w', /* "www" */
        0xc0, 0x10,           /* -> 16 example.com. */
    };
    CU_ASSERT_TRUE(len >= sizeof ptr_rdata);
    EXPECT_BYTES(out + len - sizeof ptr_rdata, sizeof ptr_rdata, ptr_rdata, sizeof ptr_rdata);
    CHECK_REPLY(len, 1, 1, 0, 0, false);
}

static void test_exact_soa_nxdomain(void)
{
    ask("nope.example.com.", DNS_TYPE_A);
    query.flags = 0;
    size_t len = reply(DNS_UDP_MAX, 1, true);
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
        0xc0, 0x11,                                 /* 34: authority -> 17 */
        0x00, 0x06, 0x00, 0x01,                     /* SOA IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL min(3600, 300) */
        0x00, 0x27,                                 /* RDLENGTH 39 */
        3,    'n',  's',  '1',                      /* MNAME: "ns1" */
        0xc0, 0x11,                                 /* -> 17 example.com. */
        10,   'h',  'o',  's',  't', 'm',           /* RNAME: "hostm... */
        'a',  's',  't',  'e',  'r',                /* ...aster" */
        0xc0, 0x11,                                 /* -> 17 example.com. */
        0x00, 0x00, 0x00, 0x01,                     /* SERIAL 1 */
        0x00, 0x00, 0x1c, 0x20,                     /* REFRESH 7200 */
        0x00, 0x00, 0x0e, 0x10,                     /* RETRY 3600 */
        0x00, 0x12, 0x75, 0x00,                     /* EXPIRE 1209600 */
        0x00, 0x00, 0x01, 0x2c,                     /* MINIMUM 300 */
    };
    EXPECT_BYTES(out, len, want, sizeof want);
    CHECK_REPLY(len, 1, 0, 1, 0, false);
}

static void test_rdata_never_compressed(void)
{
    /* TXT holding a name's wire form, after the question wrote that name: copied as is. */
    ask("txt.example.com.", DNS_TYPE_TXT);
    size_t len = reply(DNS_UDP_MAX, 1, true);
    static const uint8_t txt[] = {
        0x00, 0x0d,                               /* RDLENGTH 13 */
        12,                                       /* the string's length */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* its bytes, "\007example... */
        3,    'c',  'o', 'm',                     /* ...\003com": not a pointer */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof txt);
    EXPECT_BYTES(out + len - sizeof txt, sizeof txt, txt, sizeof txt);
    CHECK_REPLY(len, 1, 1, 0, 0, false);

    /* An A record whose address bytes look like a pointer. */
    ask("ptrlike.example.com.", DNS_TYPE_A);
    len = reply(DNS_UDP_MAX, 1, true);
    static const uint8_t a[] = {
        0x00, 0x04, /* RDLENGTH 4 */
        0xc0, 0x0c, /* 192.12... */
        0x00, 0x01, /* ...0.1 */
    };
    CU_ASSERT_TRUE_FATAL(len >= sizeof a);
    EXPECT_BYTES(out + len - sizeof a, sizeof a, a, sizeof a);
    CHECK_REPLY(len, 1, 1, 0, 0, false);
}

static void test_header_flags(void)
{
    /* The query's ID, OPCODE and RD; AA from the result; the rest clear. */
    ask("www.example.org.", DNS_TYPE_A); /* REFUSED, AA=0 */
    query.id = 0xBEEF;
    query.flags = HDR_RD | HDR_CD | HDR_AD | HDR_TC | HDR_RA | HDR_Z;
    size_t len = reply(DNS_UDP_MAX, 1, true);
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
    CHECK_REPLY(len, 1, 0, 0, 0, false);
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
    size_t len = reply(DNS_UDP_MAX, 2, true);
    /* The second question: "Mail" then a pointer to example.com. of the first (offset 16;
     * case differs, compression ignores it). */
    static const uint8_t q2[] = {
        4,    'M',  'a',  'i',  'l', /* "Mail" */
        0xc0, 0x10,                  /* -> 16 example.com. */
        0x00, 0x01, 0x00, 0x01,      /* A IN */
    };
    EXPECT_BYTES(out + 33, sizeof q2, q2, sizeof q2);
    CHECK_REPLY(len, 2, 2, 0, 0, false);
    for (int compress = 0; compress < 2; compress++) {
        len = reply(DNS_UDP_MAX, 2, compress);
        CHECK_REPLY(len, 2, 2, 0, 0, false);
    }
}

/* Truncation ---------------------------------------------------------------------- */

static size_t question_end(const char *name)
{
    struct name n;
    name_from_text(name, NULL, &n);
    return DNS_HEADER_SIZE + n.len + 4;
}

static void test_answer_too_big_alone(void)
{
    /* 3 x 200-byte TXT records: more than 512 bytes. The RRset is rolled back whole, TC is
     * set, and the authority and additional RRsets of the result are not written. */
    for (int compress = 0; compress < 2; compress++) {
        start("big.example.com.", DNS_TYPE_TXT);
        add_item(LOOKUP_ANSWER, "big.example.com.", DNS_TYPE_TXT);
        add_item(LOOKUP_AUTHORITY, "example.com.", DNS_TYPE_NS);
        add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
        memset(out, 0xEE, sizeof out);
        size_t len = reply(DNS_UDP_MAX, 1, compress);
        EXPECT_UINT(len, question_end("big.example.com."));
        CHECK_REPLY(len, 1, 0, 0, 0, true);
        /* It fits in a bigger buffer (as over TCP), whole. */
        len = reply(sizeof out, 1, compress);
        CU_ASSERT_TRUE(len > DNS_UDP_MAX);
        CHECK_REPLY(len, 1, 3, 1, 1, false);
    }
}

static void test_answer_rolled_back_after_one(void)
{
    /* www A fits, big TXT does not: ANCOUNT stays 1, TC, and nothing is written after www. */
    for (int compress = 0; compress < 2; compress++) {
        start("www.example.com.", DNS_TYPE_A);
        add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
        add_item(LOOKUP_ANSWER, "big.example.com.", DNS_TYPE_TXT);
        add_item(LOOKUP_ANSWER, "mail.example.com.", DNS_TYPE_A); /* would fit, after TC: not */
        add_item(LOOKUP_AUTHORITY, "example.com.", DNS_TYPE_NS);
        add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
        size_t len = reply(DNS_UDP_MAX, 1, compress);
        size_t www = compress ? 2 + 10 + 4 : 17 + 10 + 4; /* owner, fixed fields, address */
        EXPECT_UINT(len, question_end("www.example.com.") + www);
        CHECK_REPLY(len, 1, 1, 0, 0, true);
    }
}

static void test_authority_too_big(void)
{
    /* An authority RRset that does not fit also truncates (the answer stays). */
    start("www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
    add_item(LOOKUP_AUTHORITY, "big.example.com.", DNS_TYPE_TXT);
    add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
    size_t len = reply(DNS_UDP_MAX, 1, true);
    CHECK_REPLY(len, 1, 1, 0, 0, true);
}

static void test_additional_too_big(void)
{
    /* An additional RRset that does not fit is left out: no TC, and the next ones come. */
    for (int compress = 0; compress < 2; compress++) {
        start("www.example.com.", DNS_TYPE_A);
        add_item(LOOKUP_ANSWER, "www.example.com.", DNS_TYPE_A);
        add_item(LOOKUP_AUTHORITY, "example.com.", DNS_TYPE_NS);
        add_item(LOOKUP_ADDITIONAL, "big.example.com.", DNS_TYPE_TXT);
        add_item(LOOKUP_ADDITIONAL, "ns1.example.com.", DNS_TYPE_A);
        add_item(LOOKUP_ADDITIONAL, "mail.example.com.", DNS_TYPE_A);
        size_t len = reply(DNS_UDP_MAX, 1, compress);
        CU_ASSERT_TRUE(len <= DNS_UDP_MAX);
        CHECK_REPLY(len, 1, 1, 1, 2, false);
    }
}

static void test_exact_limit(void)
{
    /* A reply of exactly `max` bytes is whole; one byte less drops its last RRset. */
    for (int compress = 0; compress < 2; compress++) {
        ask("example.com.", DNS_TYPE_MX); /* answer MX, additional mail A */
        size_t full = reply(DNS_UDP_MAX, 1, compress);
        CHECK_REPLY(full, 1, 1, 0, 1, false);
        size_t len = reply(full, 1, compress);
        EXPECT_UINT(len, full);
        CHECK_REPLY(len, 1, 1, 0, 1, false);
        /* The additional A goes, quietly. */
        size_t answer_end = reply(full - 1, 1, compress);
        CU_ASSERT_TRUE(answer_end < full);
        CHECK_REPLY(answer_end, 1, 1, 0, 0, false);
        /* The answer MX goes: TC. */
        len = reply(answer_end - 1, 1, compress);
        EXPECT_UINT(len, question_end("example.com."));
        CHECK_REPLY(len, 1, 0, 0, 0, true);
        /* Header and question only just fit. */
        len = reply(question_end("example.com."), 1, compress);
        EXPECT_UINT(len, question_end("example.com."));
        CHECK_REPLY(len, 1, 0, 0, 0, true);
        /* Not even the question: 0, nothing to send. */
        EXPECT_UINT(reply(question_end("example.com.") - 1, 1, compress), 0);
        EXPECT_UINT(reply(11, 1, compress), 0);
        EXPECT_UINT(reply(0, 1, compress), 0);
    }
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
    size_t len = reply(DNS_UDP_MAX, 1, true);
    CHECK_REPLY(len, 1, 1, 0, 2, false);
    CHECK_POINTERS(len);
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
    size_t len = reply(DNS_UDP_MAX, 1, true);
    CHECK_REPLY(len, 1, 1, 0, 2, false);
    CHECK_POINTERS(len);
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
    CU_ASSERT_TRUE(len >= 49);
    if (len >= 49)
        EXPECT_BYTES(out + 49, len - 49, want, sizeof want);
}

static void test_overflow_sets_tc(void)
{
    /* The result lost RRsets (more than it holds): the reply says TC, and still parses. */
    for (int compress = 0; compress < 2; compress++) {
        ask("example.com.", DNS_TYPE_MX);
        res.overflow = true;
        size_t len = reply(DNS_UDP_MAX, 1, compress);
        CU_ASSERT_TRUE(len >= question_end("example.com."));
        struct buf_reader r;
        struct hdr h;
        buf_reader_init(&r, out, len);
        hdr_decode(&r, &h);
        CU_ASSERT_TRUE(hdr_flag(&h, HDR_TC));
        CHECK_REPLY(len, 1, h.ancount, h.nscount, h.arcount, true);
    }
}

/* Round trips -------------------------------------------------------------------- */

static void test_round_trips(void)
{
    /* Every kind of answer, written both ways, parses back to the result it came from. */
    static const struct {
        const char *name;
        uint16_t type;
    } cases[] = {
        {"www.example.com.", DNS_TYPE_A},      {"WWW.Example.COM.", DNS_TYPE_A},
        {"example.com.", DNS_TYPE_MX},         {"example.com.", DNS_TYPE_NS},
        {"example.com.", DNS_TYPE_SOA},        {"example.com.", DNS_TYPE_ANY},
        {"nope.example.com.", DNS_TYPE_A},     {"www.example.com.", DNS_TYPE_MX},
        {"web.example.com.", DNS_TYPE_A},      {"web.example.com.", DNS_TYPE_CNAME},
        {"ptr.example.com.", DNS_TYPE_PTR},    {"txt.example.com.", DNS_TYPE_TXT},
        {"a.Wild.example.com.", DNS_TYPE_TXT}, {"www.sub.example.com.", DNS_TYPE_A},
        {"y.newsfx.example.com.", DNS_TYPE_A}, {"www.example.org.", DNS_TYPE_A},
        {"big.example.com.", DNS_TYPE_TXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int compress = 0; compress < 2; compress++) {
            ask(cases[i].name, cases[i].type);
            size_t len = reply(sizeof out, 1, compress);
            CU_ASSERT_TRUE(len > 0);
            unsigned an = records_in(res.count[LOOKUP_ANSWER], res.item[LOOKUP_ANSWER]);
            unsigned ns = records_in(res.count[LOOKUP_AUTHORITY], res.item[LOOKUP_AUTHORITY]);
            unsigned ar = records_in(res.count[LOOKUP_ADDITIONAL], res.item[LOOKUP_ADDITIONAL]);
            check_reply_at(len, 1, an, ns, ar, false, __FILE__, __LINE__);
            check_pointers_at(len, __FILE__, __LINE__);
            if (compress) {
                /* Compression saves bytes whenever a name repeats. */
                size_t plain = reply(sizeof out, 1, false);
                CU_ASSERT_TRUE(an + ns + ar == 0 || len < plain);
            }
        }
    }
}

void test_resp_register(void)
{
    CU_pSuite s = CU_add_suite("resp", suite_init, suite_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "exact bytes: A without compression", test_exact_plain);
    CU_add_test(s, "exact bytes: A compressed, owner c0 0c", test_exact_compressed);
    CU_add_test(s, "exact bytes: MX and its additional A", test_exact_mx_with_additional);
    CU_add_test(s, "exact bytes: CNAME chain, NS, PTR", test_exact_cname_and_ns);
    CU_add_test(s, "exact bytes: NXDOMAIN with SOA", test_exact_soa_nxdomain);
    CU_add_test(s, "TXT and A RDATA never compressed", test_rdata_never_compressed);
    CU_add_test(s, "header: ID, RD, AA, RCODE; others clear", test_header_flags);
    CU_add_test(s, "two questions", test_several_questions);
    CU_add_test(s, "TC: answer RRset too big, rolled back", test_answer_too_big_alone);
    CU_add_test(s, "TC: second answer RRset rolled back", test_answer_rolled_back_after_one);
    CU_add_test(s, "TC: authority RRset too big", test_authority_too_big);
    CU_add_test(s, "additional RRset too big: left out, no TC", test_additional_too_big);
    CU_add_test(s, "size limit: exactly max, max - 1, question only", test_exact_limit);
    CU_add_test(s, "rollback forgets compression targets", test_rollback_forgets_compression);
    CU_add_test(s, "rollbacks do not fill the compression table",
                test_rollbacks_do_not_fill_the_table);
    CU_add_test(s, "overflow sets TC", test_overflow_sets_tc);
    CU_add_test(s, "round trips through msg_read_rr", test_round_trips);
}
