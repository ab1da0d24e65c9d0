/* test_msg.c: unit tests of common/msg.c — questions, records, and a query's verdict. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "name.h"
#include "rdata.h"
#include "tests.h"

/* A real query, captured from `dig google.com` (dig 9.18 adds an EDNS OPT
 * record and sets AD). 39 bytes. */
static const uint8_t dig_google[] = {
    0x4b, 0xdb, /* ID 0x4bdb */
    0x01, 0x20, /* flags: RD, AD */
    0x00, 0x01, /* QDCOUNT 1 */
    0x00, 0x00, /* ANCOUNT 0 */
    0x00, 0x00, /* NSCOUNT 0 */
    0x00, 0x01, /* ARCOUNT 1 */
    /* 12: question */
    0x06, 'g', 'o', 'o', 'g', 'l', 'e', /* label "google" */
    0x03, 'c', 'o', 'm',                /* label "com" */
    0x00,                               /* root */
    0x00, 0x01,                         /* QTYPE A */
    0x00, 0x01,                         /* QCLASS IN */
    /* 28: additional: OPT */
    0x00,                   /* owner: root */
    0x00, 0x29,             /* TYPE OPT (41) */
    0x10, 0x00,             /* CLASS: UDP payload size 4096 */
    0x00, 0x00, 0x00, 0x00, /* TTL: extended RCODE, version, flags */
    0x00, 0x00,             /* RDLENGTH 0 */
};

/* Same capture, as dig prints the hex, to be sure the array above is it. */
static const char dig_google_hex[] =
    "4bdb0120000100000000000106676f6f676c6503636f6d00000100010000291000000000000000";

static void test_capture_matches_hex(void)
{
    EXPECT_UINT(sizeof dig_google, (sizeof dig_google_hex - 1) / 2);
    uint8_t bytes[64];
    size_t n = 0;
    for (size_t i = 0; dig_google_hex[i] && dig_google_hex[i + 1]; i += 2) {
        unsigned v;
        sscanf(dig_google_hex + i, "%2x", &v);
        bytes[n++] = (uint8_t)v;
    }
    EXPECT_BYTES(bytes, n, dig_google, sizeof dig_google);
}

/* msg_parse_query into a zeroed struct; returns its verdict. */
static int parse(const uint8_t *data, size_t len, struct msg_query *q)
{
    memset(q, 0, sizeof *q);
    return msg_parse_query(data, len, q);
}

static void test_parse_dig_capture(void)
{
    static struct msg_query q;
    EXPECT_INT(parse(dig_google, sizeof dig_google, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.hdr.id, 0x4bdb);
    EXPECT_UINT(q.hdr.flags, 0x0120);
    EXPECT_UINT(q.hdr.qdcount, 1);
    EXPECT_UINT(q.hdr.arcount, 1);
    EXPECT_UINT(q.qdcount, 1);
    char text[NAME_TEXT_MAX];
    name_to_text(&q.question[0].qname, text, sizeof text);
    EXPECT_STR(text, "google.com.");
    EXPECT_UINT(q.question[0].qtype, DNS_TYPE_A);
    EXPECT_UINT(q.question[0].qclass, DNS_CLASS_IN);
    EXPECT_UINT(q.end, 28); /* right after the question, before the OPT record */
}

static void test_parse_reencode(void)
{
    /* Parse, write the header and question back: the same bytes (unbound's
     * round-trip check). */
    static struct msg_query q;
    EXPECT_INT(parse(dig_google, sizeof dig_google, &q), DNS_RCODE_NOERROR);
    uint8_t out[64];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    hdr_encode(&w, &q.hdr);
    msg_write_question(&w, &q.question[0]);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_BYTES(out, w.pos, dig_google, 28);
}

static void test_parse_short(void)
{
    static struct msg_query q;
    EXPECT_INT(parse(dig_google, 11, &q), MSG_DROP);
    EXPECT_INT(parse(dig_google, 0, &q), MSG_DROP);
    EXPECT_INT(parse(dig_google, 1, &q), MSG_DROP);
}

static void test_parse_response_dropped(void)
{
    uint8_t msg[sizeof dig_google];
    memcpy(msg, dig_google, sizeof msg);
    msg[2] |= 0x80; /* flags: QR = 1, a response */
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), MSG_DROP);
    /* Even a response with a bad opcode or garbage body is dropped, never
     * answered. */
    msg[2] = 0x80 | 5 << 3; /* QR, OPCODE 5 */
    EXPECT_INT(parse(msg, sizeof msg, &q), MSG_DROP);
    msg[2] = 0x80;
    msg[5] = 0; /* QDCOUNT 0 */
    EXPECT_INT(parse(msg, sizeof msg, &q), MSG_DROP);
    /* A 12-byte response header alone. */
    EXPECT_INT(parse(msg, 12, &q), MSG_DROP);
}

static void test_parse_opcodes_notimp(void)
{
    static const unsigned opcodes[] = {1, 2, 3, 4, 5, 6, 15};
    for (size_t i = 0; i < sizeof opcodes / sizeof opcodes[0]; i++) {
        uint8_t msg[sizeof dig_google];
        memcpy(msg, dig_google, sizeof msg);
        msg[2] = (uint8_t)(opcodes[i] << 3 | 0x01); /* OPCODE, RD */
        static struct msg_query q;
        char what[64];
        snprintf(what, sizeof what, "msg_parse_query with OPCODE %u", opcodes[i]);
        test_expect_int(parse(msg, sizeof msg, &q), DNS_RCODE_NOTIMP, what, __FILE__, __LINE__);
        EXPECT_UINT(q.hdr.id, 0x4bdb); /* filled, for the reply */
        EXPECT_UINT(hdr_opcode(&q.hdr), opcodes[i]);
    }
}

static void test_parse_qdcount_zero(void)
{
    static const uint8_t msg[] = {
        0xAB, 0xCD, /* ID */
        0x01, 0x00, /* flags: RD */
        0x00, 0x00, /* QDCOUNT 0 */
        0x00, 0x00, /* ANCOUNT */
        0x00, 0x00, /* NSCOUNT */
        0x00, 0x00, /* ARCOUNT */
    };
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    EXPECT_UINT(q.hdr.id, 0xABCD);
}

/* Two questions; the second name is a pointer into the first. */
static const uint8_t two_questions[] = {
    0x00,           0x02,                               /* ID */
    0x01,           0x00,                               /* flags: RD */
    0x00,           0x02,                               /* QDCOUNT 2 */
    0x00,           0x00,                               /* ANCOUNT */
    0x00,           0x00,                               /* NSCOUNT */
    0x00,           0x00,                               /* ARCOUNT */
    /* 12: */ 7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
    /* 20: */ 3,    'o',  'r', 'g',                     /* label "org" */
    /* 24: */ 0,                                        /* root */
    /* 25: */ 0x00, 0x01,                               /* QTYPE A */
    /* 27: */ 0x00, 0x01,                               /* QCLASS IN */
    /* 29: */ 3,    'w',  'w', 'w',                     /* label "www" */
    /* 33: */ 0xC0, 0x0C,                               /* pointer to 12 */
    /* 35: */ 0x00, 0x1C,                               /* QTYPE AAAA */
    /* 37: */ 0x00, 0x03,                               /* QCLASS CH */
};

static void test_parse_two_questions(void)
{
    static struct msg_query q;
    /* Parsed whole: answering one question only (RFC 9619) is the caller's
     * rule, as steps 3 and 4 do. */
    EXPECT_INT(parse(two_questions, sizeof two_questions, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.hdr.id, 2);
    EXPECT_UINT(q.qdcount, 2);
    char text[NAME_TEXT_MAX];
    name_to_text(&q.question[0].qname, text, sizeof text);
    EXPECT_STR(text, "example.org.");
    EXPECT_UINT(q.question[0].qtype, DNS_TYPE_A);
    EXPECT_UINT(q.question[0].qclass, DNS_CLASS_IN);
    name_to_text(&q.question[1].qname, text, sizeof text);
    EXPECT_STR(text, "www.example.org.");
    EXPECT_UINT(q.question[1].qtype, DNS_TYPE_AAAA);
    EXPECT_UINT(q.question[1].qclass, DNS_CLASS_CH);
    EXPECT_UINT(q.end, sizeof two_questions);
}

/* A query with `count` questions: example.org. A IN, then (count - 1) times a
 * pointer to it. Returns the length. */
static size_t make_questions(uint8_t *msg, unsigned count)
{
    static const uint8_t first[] = {
        0x00, 0x10,                               /* ID */
        0x00, 0x00,                               /* flags */
        0x00, 0x00,                               /* QDCOUNT: set below */
        0x00, 0x00,                               /* ANCOUNT */
        0x00, 0x00,                               /* NSCOUNT */
        0x00, 0x00,                               /* ARCOUNT */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
        3,    'o',  'r', 'g',                     /* label "org" */
        0,                                        /* root */
        0x00, 0x01,                               /* QTYPE A */
        0x00, 0x01,                               /* QCLASS IN */
    };
    memcpy(msg, first, sizeof first);
    msg[4] = (uint8_t)(count >> 8);
    msg[5] = (uint8_t)count;
    size_t at = sizeof first;
    for (unsigned i = 1; i < count; i++) {
        static const uint8_t more[] = {
            0xC0, 0x0C, /* pointer to 12 */
            0x00, 0x10, /* QTYPE TXT */
            0x00, 0x01, /* QCLASS IN */
        };
        memcpy(msg + at, more, sizeof more);
        at += sizeof more;
    }
    return at;
}

static void test_parse_too_many_questions(void)
{
    static uint8_t msg[512];
    static struct msg_query q;
    size_t len = make_questions(msg, MSG_QUESTIONS_MAX);
    EXPECT_INT(parse(msg, len, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.qdcount, MSG_QUESTIONS_MAX);
    EXPECT_UINT(q.question[MSG_QUESTIONS_MAX - 1].qtype, DNS_TYPE_TXT);
    EXPECT_UINT(q.end, len);

    len = make_questions(msg, MSG_QUESTIONS_MAX + 1);
    EXPECT_INT(parse(msg, len, &q), DNS_RCODE_FORMERR);
    EXPECT_UINT(q.hdr.id, 0x10);

    /* QDCOUNT 65535 with one question: rejected on the count alone. */
    len = make_questions(msg, 1);
    msg[4] = 0xFF;
    msg[5] = 0xFF;
    EXPECT_INT(parse(msg, len, &q), DNS_RCODE_FORMERR);
}

static void test_parse_answer_or_authority(void)
{
    /* A question and one A record, announced as an answer, then as an
     * authority record. */
    uint8_t msg[] = {
        0x00,           0x20,             /* ID */
        0x00,           0x00,             /* flags */
        0x00,           0x01,             /* QDCOUNT 1 */
        0x00,           0x01,             /* ANCOUNT 1 */
        0x00,           0x00,             /* NSCOUNT 0 */
        0x00,           0x00,             /* ARCOUNT 0 */
        /* 12: */ 1,    'a',  0,          /* QNAME "a." */
        /* 15: */ 0x00, 0x01, 0x00, 0x01, /* QTYPE A, QCLASS IN */
        /* 19: */ 0xC0, 0x0C,             /* NAME: pointer to 12 */
        /* 21: */ 0x00, 0x01, 0x00, 0x01, /* TYPE A, CLASS IN */
        /* 25: */ 0x00, 0x00, 0x0E, 0x10, /* TTL 3600 */
        /* 29: */ 0x00, 0x04,             /* RDLENGTH 4 */
        /* 31: */ 192,  0,    2,    1,    /* RDATA 192.0.2.1 */
    };
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    EXPECT_UINT(q.hdr.id, 0x20);
    msg[7] = 0; /* ANCOUNT 0 */
    msg[9] = 1; /* NSCOUNT 1 */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    /* No record behind the counts: still FORMERR (otherwise only the "bytes
     * after the last record" check would catch the above). */
    EXPECT_INT(parse(msg, 19, &q), DNS_RCODE_FORMERR); /* NSCOUNT 1, nothing after */
    msg[7] = 1;                                        /* ANCOUNT 1 */
    msg[9] = 0;                                        /* NSCOUNT 0 */
    EXPECT_INT(parse(msg, 19, &q), DNS_RCODE_FORMERR); /* ANCOUNT 1, nothing after */
    /* Nor can the record pass as an additional one while ANCOUNT or NSCOUNT
     * is set: ARCOUNT 1 accounts for every byte. */
    msg[11] = 1; /* ARCOUNT 1, ANCOUNT 1 */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    msg[7] = 0; /* ANCOUNT 0 */
    msg[9] = 1; /* NSCOUNT 1 */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    /* The same record in the additional section is checked and ignored. */
    msg[9] = 0; /* NSCOUNT 0; ANCOUNT 0, ARCOUNT 1 */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.end, 19);
}

static void test_parse_ixfr_authority(void)
{
    /* RFC 1995 3: an IXFR query carries the client's SOA (its serial) in the authority
     * section; it is the one query with an authority record. */
    uint8_t msg[] = {
        0x00,
        0x21, /* ID */
        0x00,
        0x00, /* flags */
        0x00,
        0x01, /* QDCOUNT 1 */
        0x00,
        0x00, /* ANCOUNT 0 */
        0x00,
        0x01, /* NSCOUNT 1 */
        0x00,
        0x00, /* ARCOUNT 0 */
        /* 12: */ 1,
        'a',
        0, /* QNAME "a." */
        /* 15: */ 0x00,
        0xFB,
        0x00,
        0x01, /* QTYPE IXFR (251), QCLASS IN */
        /* 19: */ 0xC0,
        0x0C, /* NAME: pointer to 12 */
        /* 21: */ 0x00,
        0x06,
        0x00,
        0x01, /* TYPE SOA, CLASS IN */
        /* 25: */ 0x00,
        0x00,
        0x00,
        0x00, /* TTL 0 */
        /* 29: */ 0x00,
        0x16, /* RDLENGTH 22 */
        /* 31: */ 0,
        0, /* MNAME ".", RNAME "." */
        0,
        0,
        0,
        7, /* SERIAL 7 */
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0, /* the timers */
    };
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.question[0].qtype, DNS_TYPE_IXFR);
    msg[16] = 0xFC; /* AXFR: no authority record allowed */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    msg[16] = 0xFB;
    msg[22] = 0x01; /* an A record in the authority section, not the SOA */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    msg[22] = 0x06;
    msg[9] = 2; /* NSCOUNT 2 */
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
}

static void test_parse_bad_opt(void)
{
    uint8_t msg[sizeof dig_google];
    memcpy(msg, dig_google, sizeof msg);
    msg[sizeof msg - 1] = 0x10; /* OPT RDLENGTH 16, and no RDATA follows */
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
    EXPECT_UINT(q.hdr.id, 0x4bdb);

    /* ARCOUNT 2 but only one record. */
    memcpy(msg, dig_google, sizeof msg);
    msg[11] = 2;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);

    /* OPT cut in the middle of its fixed fields. */
    EXPECT_INT(parse(dig_google, sizeof dig_google - 3, &q), DNS_RCODE_FORMERR);
}

static void test_parse_work_bounds(void)
{
    static struct msg_query q;
    uint8_t msg[sizeof dig_google];

    /* An RCODE in a query: the responder's field, so malformed. */
    memcpy(msg, dig_google, sizeof msg);
    msg[3] |= DNS_RCODE_NXDOMAIN;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);

    /* ARCOUNT 3: more than an OPT and a TSIG, refused on the count alone. */
    memcpy(msg, dig_google, sizeof msg);
    msg[11] = MSG_ADDITIONAL_MAX + 1;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);

    /* Questions whose names add up to more than MSG_QUESTION_OCTETS_MAX (300): a 255-octet name
     * "a.a.a...", then pointers into it, each a name of its own. */
    static uint8_t many[12 + 255 + 4 + 15 * 6];
    size_t len = 0;
    static const uint8_t header[] = {
        0x00, 0x30, /* ID */
        0x00, 0x00, /* flags */
        0x00, 0x02, /* QDCOUNT 2 */
        0x00, 0x00, /* ANCOUNT */
        0x00, 0x00, /* NSCOUNT */
        0x00, 0x00, /* ARCOUNT */
    };
    memcpy(many, header, sizeof header);
    len = sizeof header;
    for (int i = 0; i < 127; i++) { /* 127 labels "a": 254 octets, then the root */
        many[len++] = 1;
        many[len++] = 'a';
    }
    many[len++] = 0;
    static const uint8_t a_in[] = {0x00, 0x01, 0x00, 0x01};
    memcpy(many + len, a_in, sizeof a_in);
    len += sizeof a_in;
    size_t second = len; /* where the second question starts */
    static const uint8_t suffix_45[] = {
        0xC0, 12 + 210, /* -> the last 22 labels and the root: 45 octets */
        0x00, 0x01,     /* QTYPE A */
        0x00, 0x01,     /* QCLASS IN */
    };
    memcpy(many + second, suffix_45, sizeof suffix_45);
    len = second + sizeof suffix_45;
    /* 255 + 45 = 300 octets: the most there may be. */
    EXPECT_INT(parse(many, len, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.qdcount, 2);
    EXPECT_UINT(q.question[1].qname.len, 45);
    /* One label more, 255 + 47: FORMERR. */
    many[second + 1] = 12 + 208;
    EXPECT_INT(parse(many, len, &q), DNS_RCODE_FORMERR);
    EXPECT_UINT(q.qdcount, 2); /* it stopped at the name that went over */
    /* 16 names of 255 octets in 361 bytes, 15 of them a pointer to the first: refused at the
     * second, before the other 14 are read. */
    many[5] = 16;
    len = second;
    for (int i = 1; i < 16; i++) {
        static const uint8_t again[] = {0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01}; /* -> 12, A IN */
        memcpy(many + len, again, sizeof again);
        len += sizeof again;
    }
    EXPECT_UINT(len, 361);
    EXPECT_INT(parse(many, len, &q), DNS_RCODE_FORMERR);
    EXPECT_UINT(q.qdcount, 2);
}

static void test_parse_trailing_garbage(void)
{
    uint8_t msg[sizeof dig_google + 1];
    memcpy(msg, dig_google, sizeof dig_google);
    msg[sizeof dig_google] = 0x00; /* one byte after the last record */
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);

    /* Without the OPT record (ARCOUNT 0), the OPT bytes are garbage. */
    memcpy(msg, dig_google, sizeof dig_google);
    msg[11] = 0;
    EXPECT_INT(parse(msg, sizeof dig_google, &q), DNS_RCODE_FORMERR);
    /* ...and cut right after the question, it is fine. */
    EXPECT_INT(parse(msg, 28, &q), DNS_RCODE_NOERROR);
    EXPECT_UINT(q.end, 28);
}

static void test_parse_truncated_question(void)
{
    uint8_t msg[sizeof dig_google];
    memcpy(msg, dig_google, sizeof msg);
    msg[11] = 0; /* ARCOUNT 0 */
    static struct msg_query q;
    EXPECT_INT(parse(msg, 26, &q), DNS_RCODE_FORMERR); /* QCLASS missing */
    EXPECT_UINT(q.hdr.id, 0x4bdb);
    EXPECT_INT(parse(msg, 27, &q), DNS_RCODE_FORMERR); /* half a QCLASS */
    EXPECT_INT(parse(msg, 24, &q), DNS_RCODE_FORMERR); /* QTYPE and QCLASS missing */
    EXPECT_INT(parse(msg, 20, &q), DNS_RCODE_FORMERR); /* name cut short */
    EXPECT_INT(parse(msg, 12, &q), DNS_RCODE_FORMERR); /* header only, QDCOUNT 1 */
}

static void test_parse_bad_qname(void)
{
    static const uint8_t msg[] = {
        0x00,           0x30, /* ID */
        0x00,           0x00, /* flags */
        0x00,           0x01, /* QDCOUNT 1 */
        0x00,           0x00, /* ANCOUNT */
        0x00,           0x00, /* NSCOUNT */
        0x00,           0x00, /* ARCOUNT */
        /* 12: */ 0xC0, 0x0C, /* QNAME: pointer to itself */
        /* 14: */ 0x00, 0x01, /* QTYPE A */
        /* 16: */ 0x00, 0x01, /* QCLASS IN */
    };
    static struct msg_query q;
    EXPECT_INT(parse(msg, sizeof msg, &q), DNS_RCODE_FORMERR);
}

/* Reading and writing pieces ---------------------------------------------------- */

static const uint8_t one_rr[] = {
    0x00,           0x00, 0x80, 0x00, 0x00, 0x00,
    0x00,           0x01, 0x00, 0x00, 0x00, 0x00, /* header, AN 1 */
    /* 12: */ 1,    'a',  0,                      /* NAME "a." */
    /* 15: */ 0x00, 0x10,                         /* TYPE TXT */
    /* 17: */ 0x00, 0x03,                         /* CLASS CH */
    /* 19: */ 0x01, 0x02, 0x03, 0x04,             /* TTL 0x01020304 */
    /* 23: */ 0x00, 0x04,                         /* RDLENGTH 4 */
    /* 25: */ 0x03, 'a',  'b',  'c',              /* RDATA: a TXT string "abc" */
    /* 29: */ 0xEE,                               /* whatever follows */
};

static void test_read_rr(void)
{
    struct buf_reader r;
    struct msg_rr rr;
    buf_reader_init(&r, one_rr, sizeof one_rr);
    buf_seek(&r, 12);
    EXPECT_STATUS(msg_read_rr(&r, &rr), NAME_OK);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
    EXPECT_UINT(rr.owner.len, 3);
    EXPECT_UINT(rr.type, DNS_TYPE_TXT);
    EXPECT_UINT(rr.class_, DNS_CLASS_CH);
    EXPECT_UINT(rr.ttl, 0x01020304u);
    EXPECT_UINT(rr.rdlength, 4);
    EXPECT_UINT(rr.rdata_offset, 25);
    EXPECT_UINT(r.pos, 29); /* after the RDATA */
    EXPECT_UINT(buf_read_u8(&r), 0xEE);
}

static void test_read_rr_truncated(void)
{
    struct buf_reader r;
    struct msg_rr rr;
    /* RDATA one byte short. */
    buf_reader_init(&r, one_rr, 28);
    buf_seek(&r, 12);
    EXPECT_STATUS(msg_read_rr(&r, &rr), NAME_ERR_TRUNCATED);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    /* Fixed fields cut short (no RDLENGTH). */
    buf_reader_init(&r, one_rr, 24);
    buf_seek(&r, 12);
    EXPECT_STATUS(msg_read_rr(&r, &rr), NAME_ERR_TRUNCATED);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    /* Bad owner name: its status comes through. */
    static const uint8_t bad[] = {
        0x00,           0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00,           0x00, /* header */
        /* 12: */ 0x40,       /* length byte 0x40: label type 01 */
        /* 13: */ 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* fixed */
    };
    buf_reader_init(&r, bad, sizeof bad);
    buf_seek(&r, 12);
    EXPECT_STATUS(msg_read_rr(&r, &rr), NAME_ERR_LABEL_TYPE);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
}

static void test_read_question(void)
{
    struct buf_reader r;
    struct msg_question mq;
    buf_reader_init(&r, dig_google, sizeof dig_google);
    buf_seek(&r, 12);
    EXPECT_STATUS(msg_read_question(&r, &mq), NAME_OK);
    EXPECT_UINT(mq.qtype, DNS_TYPE_A);
    EXPECT_UINT(mq.qclass, DNS_CLASS_IN);
    EXPECT_UINT(r.pos, 28);
    /* No QCLASS. */
    buf_reader_init(&r, dig_google, 26);
    buf_seek(&r, 12);
    EXPECT_STATUS(msg_read_question(&r, &mq), NAME_ERR_TRUNCATED);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
}

static void test_write_question(void)
{
    struct msg_question in;
    CU_ASSERT_EQUAL_FATAL(name_from_text("WWW.example.com.", NULL, &in.qname), NAME_OK);
    in.qtype = DNS_TYPE_AAAA;
    in.qclass = DNS_CLASS_IN;

    uint8_t out[64];
    static const uint8_t header[12] = {0};
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    buf_write_bytes(&w, header, sizeof header); /* room for a header */
    msg_write_question(&w, &in);
    size_t second = w.pos;
    msg_write_question(&w, &in);
    CU_ASSERT_TRUE(buf_writer_ok(&w));

    static const uint8_t one[] = {
        3,    'W',  'W', 'W', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, /* QNAME */
        0x00, 0x1C,                                                                      /* AAAA */
        0x00, 0x01,                                                                      /* IN */
    };
    /* Both in full: names are written uncompressed here. */
    EXPECT_BYTES(out + 12, sizeof one, one, sizeof one);
    EXPECT_BYTES(out + second, w.pos - second, one, sizeof one);

    struct buf_reader r;
    struct msg_question back;
    buf_reader_init(&r, out, w.pos);
    buf_seek(&r, second);
    EXPECT_STATUS(msg_read_question(&r, &back), NAME_OK);
    CU_ASSERT_TRUE(name_equal(&back.qname, &in.qname));
    EXPECT_BYTES(back.qname.wire, back.qname.len, in.qname.wire, in.qname.len); /* case too */
    EXPECT_UINT(back.qtype, DNS_TYPE_AAAA);
    EXPECT_UINT(back.qclass, DNS_CLASS_IN);
    EXPECT_UINT(r.pos, w.pos);

    /* Without room: the writer's error. */
    buf_writer_init(&w, out, 20);
    msg_write_question(&w, &in);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
}

static void test_write_header_reply(void)
{
    struct hdr q;
    memset(&q, 0, sizeof q);
    q.id = 0xBEEF;
    q.flags = HDR_RD | HDR_AD | HDR_CD | HDR_TC;
    q.qdcount = 1;
    q.arcount = 1;
    uint8_t out[16];
    memset(out, 0xEE, sizeof out);
    EXPECT_UINT(msg_write_header_reply(&q, DNS_RCODE_FORMERR, out, sizeof out), 12);
    static const uint8_t want[] = {
        0xBE, 0xEF, /* ID copied */
        0x81, 0x01, /* QR, OPCODE 0, RD copied; AD/CD/TC cleared; RCODE 1 */
        0x00, 0x00, /* QDCOUNT 0 */
        0x00, 0x00, /* ANCOUNT 0 */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0 */
        0xEE,       /* untouched */
    };
    EXPECT_BYTES(out, 13, want, sizeof want);

    /* OPCODE is copied (a NOTIMP reply says which opcode it refuses). */
    q.flags = (uint16_t)(DNS_OPCODE_NOTIFY << 11);
    EXPECT_UINT(msg_write_header_reply(&q, DNS_RCODE_NOTIMP, out, 12), 12);
    EXPECT_UINT(out[2], 0x80 | DNS_OPCODE_NOTIFY << 3);
    EXPECT_UINT(out[3], DNS_RCODE_NOTIMP);

    EXPECT_UINT(msg_write_header_reply(&q, DNS_RCODE_FORMERR, out, 11), 0);
    EXPECT_UINT(msg_write_header_reply(&q, DNS_RCODE_FORMERR, out, 0), 0);
}

/* The whole-message parser ------------------------------------------------------ */

/* A reply as an upstream server sends one: a CNAME in the answer whose target
 * points into the question, an NS in authority, an A and an OPT in additional. */
static const uint8_t reply_msg[] = {
    0xab,           0xcd,                                 /* ID */
    0x81,           0x80,                                 /* QR RD RA */
    0x00,           0x01,                                 /* QDCOUNT 1 */
    0x00,           0x01,                                 /* ANCOUNT 1 */
    0x00,           0x01,                                 /* NSCOUNT 1 */
    0x00,           0x02,                                 /* ARCOUNT 2 */
    /* 12: */ 3,    'w',  'w',  'w',                      /* question: "www" */
    /* 16: */ 7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
    /* 24: */ 3,    'c',  'o',  'm',  0,                  /* "com", root */
    /* 29: */ 0x00, 0x01, 0x00, 0x01,                     /* A IN */
    /* 33: */ 0xc0, 0x0c,                                 /* answer: owner -> 12 */
    /* 35: */ 0x00, 0x05, 0x00, 0x01,                     /* CNAME IN */
    /* 39: */ 0x00, 0x00, 0x00, 0x3c,                     /* TTL 60 */
    /* 43: */ 0x00, 0x06,                                 /* RDLENGTH 6 */
    /* 45: */ 3,    'w',  'e',  'b',                      /* "web" */
    /* 49: */ 0xc0, 0x10,                                 /* -> 16 example.com. */
    /* 51: */ 0xc0, 0x10,                                 /* authority: owner -> 16 */
    /* 53: */ 0x00, 0x02, 0x00, 0x01,                     /* NS IN */
    /* 57: */ 0x00, 0x01, 0x51, 0x80,                     /* TTL 86400 */
    /* 61: */ 0x00, 0x06,                                 /* RDLENGTH 6 */
    /* 63: */ 3,    'n',  's',  '1',                      /* "ns1" */
    /* 67: */ 0xc0, 0x10,                                 /* -> 16 */
    /* 69: */ 0xc0, 0x3f,                                 /* additional: owner -> 63 */
    /* 71: */ 0x00, 0x01, 0x00, 0x01,                     /* A IN */
    /* 75: */ 0x00, 0x01, 0x51, 0x80,                     /* TTL 86400 */
    /* 79: */ 0x00, 0x04,                                 /* RDLENGTH 4 */
    /* 81: */ 192,  0,    2,    53,                       /* 192.0.2.53 */
    /* 85: */ 0,                                          /* OPT: owner root */
    /* 86: */ 0x00, 0x29, 0x04, 0xd0,                     /* OPT, payload 1232 */
    /* 90: */ 0x00, 0x00, 0x00, 0x00,                     /* ext. RCODE, version, flags */
    /* 94: */ 0x00, 0x00,                                 /* RDLENGTH 0 */
};

static struct msg parsed;

static void test_parse_whole(void)
{
    EXPECT_UINT(msg_parse(reply_msg, sizeof reply_msg, &parsed), MSG_OK);
    EXPECT_UINT(parsed.hdr.id, 0xabcd);
    EXPECT_UINT(parsed.qdcount, 1);
    EXPECT_UINT(parsed.question[0].qtype, DNS_TYPE_A);
    EXPECT_UINT(parsed.count[MSG_ANSWER], 1);
    EXPECT_UINT(parsed.count[MSG_AUTHORITY], 1);
    EXPECT_UINT(parsed.count[MSG_ADDITIONAL], 2);
    EXPECT_UINT(msg_section_start(&parsed, MSG_ANSWER), 0);
    EXPECT_UINT(msg_section_start(&parsed, MSG_AUTHORITY), 1);
    EXPECT_UINT(msg_section_start(&parsed, MSG_ADDITIONAL), 2);

    const struct msg_record *cname = &parsed.record[0];
    EXPECT_UINT(cname->owner, 33);
    EXPECT_UINT(cname->type, DNS_TYPE_CNAME);
    EXPECT_UINT(cname->class_, DNS_CLASS_IN);
    EXPECT_UINT(cname->ttl, 60);
    EXPECT_UINT(cname->rdlength, 6);
    EXPECT_UINT(cname->rdata, 45);
    struct name owner;
    char text[NAME_TEXT_MAX];
    msg_record_owner(&parsed, cname, &owner);
    name_to_text(&owner, text, sizeof text);
    EXPECT_STR(text, "www.example.com.");

    /* The NS record's RDATA, read out decompressed. */
    const struct msg_record *ns = &parsed.record[1];
    struct buf_reader r;
    struct buf_writer w;
    uint8_t flat[64];
    buf_reader_init(&r, parsed.data, parsed.len);
    buf_seek(&r, ns->rdata);
    buf_writer_init(&w, flat, sizeof flat);
    EXPECT_UINT(rdata_unpack(&r, ns->type, ns->rdlength, &w), RDATA_OK);
    static const uint8_t ns1[] = {3,   'n', 's', '1', 7,   'e', 'x', 'a', 'm',
                                  'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    EXPECT_BYTES(flat, w.pos, ns1, sizeof ns1);

    msg_record_owner(&parsed, &parsed.record[2], &owner);
    name_to_text(&owner, text, sizeof text);
    EXPECT_STR(text, "ns1.example.com.");
    EXPECT_UINT(parsed.record[3].type, DNS_TYPE_OPT);
    EXPECT_UINT(parsed.record[3].class_, 1232);
}

static void test_parse_whole_errors(void)
{
    static uint8_t msg[sizeof reply_msg + 1];
    EXPECT_UINT(msg_parse(reply_msg, 11, &parsed), MSG_ERR_HEADER);
    /* Cut inside each part. */
    EXPECT_UINT(msg_parse(reply_msg, 20, &parsed), MSG_ERR_QUESTION);
    EXPECT_UINT(msg_parse(reply_msg, 40, &parsed), MSG_ERR_RECORD);
    EXPECT_UINT(msg_parse(reply_msg, 48, &parsed), MSG_ERR_RDATA);
    EXPECT_UINT(parsed.hdr.id, 0xabcd); /* the header is there for a reply */
    /* One byte too many. */
    memcpy(msg, reply_msg, sizeof reply_msg);
    msg[sizeof reply_msg] = 0;
    EXPECT_UINT(msg_parse(msg, sizeof msg, &parsed), MSG_ERR_TRAILING);
    /* The A record's RDLENGTH 5: its RDATA no longer matches its type. */
    memcpy(msg, reply_msg, sizeof reply_msg);
    msg[80] = 5;
    EXPECT_UINT(msg_parse(msg, sizeof reply_msg + 1, &parsed), MSG_ERR_RDATA);
    /* The CNAME's target pointer aimed forward, at itself. */
    memcpy(msg, reply_msg, sizeof reply_msg);
    msg[50] = 49;
    EXPECT_UINT(msg_parse(msg, sizeof reply_msg, &parsed), MSG_ERR_RDATA);
    /* An owner pointer into the header. */
    memcpy(msg, reply_msg, sizeof reply_msg);
    msg[34] = 0x02;
    EXPECT_UINT(msg_parse(msg, sizeof reply_msg, &parsed), MSG_ERR_RECORD);
    /* QDCOUNT above what the index holds. */
    memcpy(msg, reply_msg, sizeof reply_msg);
    msg[5] = MSG_QUESTIONS_MAX + 1;
    EXPECT_UINT(msg_parse(msg, sizeof reply_msg, &parsed), MSG_ERR_TOO_MANY);
    EXPECT_STR(msg_strerror(MSG_ERR_TRAILING), "bytes after the last record");
}

static void test_parse_whole_limits(void)
{
    /* MSG_RECORDS_MAX records of 11 bytes each (root owner, TYPE 65280, no
     * RDATA) parse; one more is refused rather than cut. */
    enum { RR = 11 };
    static uint8_t msg[DNS_HEADER_SIZE + (MSG_RECORDS_MAX + 1) * RR];
    memset(msg, 0, sizeof msg);
    for (size_t i = 0; i <= MSG_RECORDS_MAX; i++) {
        uint8_t *rr = msg + DNS_HEADER_SIZE + i * RR;
        rr[1] = 0xff; /* TYPE 65280: not in the table, RDATA opaque */
        rr[4] = 0x01; /* CLASS IN */
    }
    msg[6] = MSG_RECORDS_MAX >> 8; /* ANCOUNT */
    msg[7] = MSG_RECORDS_MAX & 0xff;
    size_t len = DNS_HEADER_SIZE + MSG_RECORDS_MAX * RR;
    EXPECT_UINT(msg_parse(msg, len, &parsed), MSG_OK);
    EXPECT_UINT(parsed.count[MSG_ANSWER], MSG_RECORDS_MAX);
    msg[9] = 1; /* NSCOUNT 1: one more record */
    EXPECT_UINT(msg_parse(msg, len + RR, &parsed), MSG_ERR_TOO_MANY);
    /* A count that lies: stops at the end of the message. */
    msg[6] = 0xff;
    msg[7] = 0xff;
    msg[9] = 0;
    EXPECT_UINT(msg_parse(msg, DNS_HEADER_SIZE + 3 * RR, &parsed), MSG_ERR_RECORD);
    /* Longer than any DNS message. */
    static uint8_t huge[DNS_MESSAGE_MAX + 1];
    EXPECT_UINT(msg_parse(huge, sizeof huge, &parsed), MSG_ERR_TOO_LONG);
}

void test_msg_register(void)
{
    CU_pSuite s = CU_add_suite("msg", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "the dig capture is what it claims", test_capture_matches_hex);
    CU_add_test(s, "parse: dig google.com capture", test_parse_dig_capture);
    CU_add_test(s, "parse then re-encode: same bytes", test_parse_reencode);
    CU_add_test(s, "parse: under 12 bytes is dropped", test_parse_short);
    CU_add_test(s, "parse: QR=1 is dropped", test_parse_response_dropped);
    CU_add_test(s, "parse: opcodes other than QUERY", test_parse_opcodes_notimp);
    CU_add_test(s, "parse: QDCOUNT 0", test_parse_qdcount_zero);
    CU_add_test(s, "parse: two questions", test_parse_two_questions);
    CU_add_test(s, "parse: too many questions", test_parse_too_many_questions);
    CU_add_test(s, "parse: answer or authority records", test_parse_answer_or_authority);
    CU_add_test(s, "parse: an IXFR's SOA in the authority section", test_parse_ixfr_authority);
    CU_add_test(s, "parse: malformed OPT", test_parse_bad_opt);
    CU_add_test(s, "parse: RCODE set, ARCOUNT, question octets", test_parse_work_bounds);
    CU_add_test(s, "parse: trailing garbage", test_parse_trailing_garbage);
    CU_add_test(s, "parse: truncated question", test_parse_truncated_question);
    CU_add_test(s, "parse: bad QNAME", test_parse_bad_qname);
    CU_add_test(s, "read_rr leaves the reader after RDATA", test_read_rr);
    CU_add_test(s, "read_rr truncated or malformed", test_read_rr_truncated);
    CU_add_test(s, "read_question", test_read_question);
    CU_add_test(s, "write_question round trip", test_write_question);
    CU_add_test(s, "write_header_reply", test_write_header_reply);
    CU_add_test(s, "msg_parse: a whole reply indexed", test_parse_whole);
    CU_add_test(s, "msg_parse: malformed parts", test_parse_whole_errors);
    CU_add_test(s, "msg_parse: record limit, lying counts", test_parse_whole_limits);
}
