/* test_edns.c: unit tests of steps/09-edns-tcp/edns.c — the OPT record read and written. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "edns.h"
#include "hdr.h"
#include "msg.h"
#include "tests.h"

/* Every query here starts with this: a header whose ARCOUNT (and NSCOUNT)
 * query() sets, and the question "example.com. A IN". 29 bytes. */
static const uint8_t head[] = {
    0x12, 0x34,                               /* ID */
    0x01, 0x00,                               /* flags: RD */
    0x00, 0x01,                               /* QDCOUNT 1 */
    0x00, 0x00,                               /* ANCOUNT */
    0x00, 0x00,                               /* NSCOUNT: set by query() */
    0x00, 0x00,                               /* ARCOUNT: set by query() */
    0x07, 'e',  'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
    0x03, 'c',  'o', 'm',                     /* label "com" */
    0x00,                                     /* root */
    0x00, 0x01,                               /* QTYPE A */
    0x00, 0x01,                               /* QCLASS IN */
};

/* The OPT dig sends: payload 4096, no options. 11 bytes. */
static const uint8_t opt_4096[] = {
    0x00,                   /* owner: the root */
    0x00, 0x29,             /* TYPE OPT (41) */
    0x10, 0x00,             /* CLASS: UDP payload size 4096 */
    0x00, 0x00, 0x00, 0x00, /* TTL: EXTENDED-RCODE 0, VERSION 0, DO clear */
    0x00, 0x00,             /* RDLENGTH 0 */
};

/* head + `tail` into `out`, with `nscount` authority and `arcount`
 * additional records said to be in `tail`; returns the length. */
static size_t query(uint8_t *out, size_t cap, const uint8_t *tail, size_t tail_len,
                    uint16_t nscount, uint16_t arcount)
{
    CU_ASSERT_TRUE_FATAL(sizeof head + tail_len <= cap);
    memcpy(out, head, sizeof head);
    if (tail_len > 0) /* memcpy() wants a real pointer even for 0 bytes */
        memcpy(out + sizeof head, tail, tail_len);
    out[9] = (uint8_t)nscount;
    out[11] = (uint8_t)arcount;
    return sizeof head + tail_len;
}

/* head + `tail` (arcount additional records), which msg_parse_query() must
 * accept, then edns_parse_query(); returns its verdict. */
static int parse(const uint8_t *tail, size_t tail_len, uint16_t arcount, struct edns *e)
{
    uint8_t msg[512];
    size_t len = query(msg, sizeof msg, tail, tail_len, 0, arcount);
    static struct msg_query q;
    EXPECT_INT(msg_parse_query(msg, len, &q), DNS_RCODE_NOERROR);
    memset(e, 0xA5, sizeof *e); /* garbage: edns_parse_query() must set every field */
    return edns_parse_query(msg, len, &q, e);
}

/* edns_parse_query() ------------------------------------------------------------- */

static void test_parse_no_opt(void)
{
    struct edns e;
    EXPECT_INT(parse(NULL, 0, 0, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_FALSE(e.present);
    EXPECT_UINT(edns_udp_limit(&e), DNS_UDP_MAX);
}

static void test_parse_one_opt(void)
{
    struct edns e;
    EXPECT_INT(parse(opt_4096, sizeof opt_4096, 1, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.payload, 4096);
    EXPECT_UINT(e.version, 0);
    CU_ASSERT_FALSE(e.dnssec_ok);
    EXPECT_UINT(e.ext_rcode, 0);
    /* 4096 asked, but we never send more than our own size. */
    EXPECT_UINT(edns_udp_limit(&e), EDNS_PAYLOAD);
}

static void test_parse_do_bit(void)
{
    static const uint8_t opt[] = {
        0x00,                   /* owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x04, 0xd0,             /* CLASS: payload 1232 */
        0x00, 0x00, 0x80, 0x00, /* TTL: EXTENDED-RCODE 0, VERSION 0, DO set */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    struct edns e;
    EXPECT_INT(parse(opt, sizeof opt, 1, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    CU_ASSERT_TRUE(e.dnssec_ok);
    EXPECT_UINT(e.payload, 1232);
    EXPECT_UINT(edns_udp_limit(&e), 1232);
}

static void test_parse_two_opts_formerr(void)
{
    uint8_t two[2 * sizeof opt_4096];
    memcpy(two, opt_4096, sizeof opt_4096);
    memcpy(two + sizeof opt_4096, opt_4096, sizeof opt_4096);
    struct edns e;
    /* RFC 6891 6.1.1: at most one OPT; msg_parse_query() let two through. */
    EXPECT_INT(parse(two, sizeof two, 2, &e), DNS_RCODE_FORMERR);
    CU_ASSERT_FALSE(e.present);
}

static void test_parse_owner_not_root_formerr(void)
{
    static const uint8_t named[] = {
        0x01, 'a',  0x00,       /* owner: "a." */
        0x00, 0x29,             /* TYPE OPT */
        0x10, 0x00,             /* CLASS: payload 4096 */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    struct edns e;
    EXPECT_INT(parse(named, sizeof named, 1, &e), DNS_RCODE_FORMERR);
    CU_ASSERT_FALSE(e.present);

    static const uint8_t pointed[] = {
        0xC0, 0x0C,             /* owner: pointer to the question's name, example.com. */
        0x00, 0x29,             /* TYPE OPT */
        0x10, 0x00,             /* CLASS: payload 4096 */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    EXPECT_INT(parse(pointed, sizeof pointed, 1, &e), DNS_RCODE_FORMERR);
}

static void test_parse_version_1_badvers(void)
{
    static const uint8_t opt[] = {
        0x00,                   /* owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x03, 0xe8,             /* CLASS: payload 1000 */
        0x00, 0x01, 0x00, 0x00, /* TTL: EXTENDED-RCODE 0, VERSION 1 */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    struct edns e;
    EXPECT_INT(parse(opt, sizeof opt, 1, &e), EDNS_RCODE_BADVERS);
    /* Filled all the same: the BADVERS reply goes by its payload size. */
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.version, 1);
    EXPECT_UINT(e.payload, 1000);
    EXPECT_UINT(edns_udp_limit(&e), 1000);
}

/* The payload a client asks for, and what a UDP reply to it may hold. */
static void test_udp_limit(void)
{
    static const struct {
        uint16_t payload;
        size_t limit;
    } cases[] = {
        {0, DNS_UDP_MAX},      /* RFC 6891 6.2.5: under 512 counts as 512 */
        {100, DNS_UDP_MAX},    /* likewise */
        {511, DNS_UDP_MAX},    /* likewise */
        {512, 512},            /* from here on, what the client asks for */
        {513, 513},            /* ... */
        {1000, 1000},          /* ... */
        {1232, 1232},          /* ... up to our own size */
        {1233, EDNS_PAYLOAD},  /* over our own size: ours */
        {4096, EDNS_PAYLOAD},  /* what dig asks for */
        {65535, EDNS_PAYLOAD}, /* the most there is */
    };
    /* Bounded by the table. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t opt[sizeof opt_4096];
        memcpy(opt, opt_4096, sizeof opt);
        opt[3] = (uint8_t)(cases[i].payload >> 8);
        opt[4] = (uint8_t)cases[i].payload;
        struct edns e;
        EXPECT_INT(parse(opt, sizeof opt, 1, &e), DNS_RCODE_NOERROR);
        EXPECT_UINT(e.payload, cases[i].payload);
        EXPECT_UINT(edns_udp_limit(&e), cases[i].limit);
    }
}

static void test_parse_options_ignored(void)
{
    static const uint8_t opt[] = {
        0x00,                               /* owner: the root */
        0x00, 0x29,                         /* TYPE OPT */
        0x04, 0xd0,                         /* CLASS: payload 1232 */
        0x00, 0x00, 0x00, 0x00,             /* TTL */
        0x00, 0x10,                         /* RDLENGTH 16 */
        0x00, 0x0a,                         /* OPTION-CODE 10: COOKIE (RFC 7873) */
        0x00, 0x08,                         /* OPTION-LENGTH 8: a client cookie */
        1,    2,    3,    4,    5, 6, 7, 8, /* the cookie */
        0xfd, 0xe9,                         /* OPTION-CODE 65001: local use */
        0x00, 0x00,                         /* OPTION-LENGTH 0 */
    };
    struct edns e;
    EXPECT_INT(parse(opt, sizeof opt, 1, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.payload, 1232);
}

/* An option that claims more than RDLENGTH holds, with the bytes it claims
 * there all the same (the next record's): the options end at RDLENGTH. */
static void test_parse_option_past_rdlength_formerr(void)
{
    static const uint8_t tail[] = {
        0x00,                   /* OPT owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x04, 0xd0,             /* CLASS: payload 1232 */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x06,             /* RDLENGTH 6 */
        0x00, 0x0a,             /* OPTION-CODE 10 */
        0x00, 0x08,             /* OPTION-LENGTH 8: 6 more bytes than RDLENGTH has */
        0xAA, 0xBB,             /* the 2 bytes of it that RDLENGTH covers */
        /* A second additional record, 13 bytes, that the option would run into. */
        0x00,                   /* owner: the root */
        0x00, 0x10,             /* TYPE TXT */
        0x00, 0x01,             /* CLASS IN */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x02,             /* RDLENGTH 2 */
        0x01, 'x',              /* one string "x" */
    };
    struct edns e;
    EXPECT_INT(parse(tail, sizeof tail, 2, &e), DNS_RCODE_FORMERR);
    CU_ASSERT_FALSE(e.present);

    /* An option cut inside its own 4-byte header. */
    static const uint8_t cut[] = {
        0x00,                   /* owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x04, 0xd0,             /* CLASS: payload 1232 */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x03,             /* RDLENGTH 3 */
        0x00, 0x0a,             /* OPTION-CODE 10 */
        0x00,                   /* half an OPTION-LENGTH */
    };
    EXPECT_INT(parse(cut, sizeof cut, 1, &e), DNS_RCODE_FORMERR);
}

/* The OPT after another additional record (a TSIG comes last, RFC 8945):
 * found all the same. */
static void test_parse_opt_second(void)
{
    static const uint8_t tail[] = {
        0x00,                   /* owner: the root */
        0x00, 0x10,             /* TYPE TXT */
        0x00, 0x01,             /* CLASS IN */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x02,             /* RDLENGTH 2 */
        0x01, 'x',              /* one string "x" */
        0x00,                   /* OPT owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x02, 0x00,             /* CLASS: payload 512 */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    struct edns e;
    EXPECT_INT(parse(tail, sizeof tail, 2, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.payload, 512);
}

/* An IXFR query carries a SOA in its authority section (RFC 1995 3): read
 * past, and the OPT after it found. */
static void test_parse_ixfr_soa_then_opt(void)
{
    static const uint8_t tail[] = {
        /* authority: the client's SOA, 34 bytes */
        0xC0, 0x0C,             /* owner: pointer to example.com. */
        0x00, 0x06,             /* TYPE SOA */
        0x00, 0x01,             /* CLASS IN */
        0x00, 0x00, 0x0e, 0x10, /* TTL 3600 */
        0x00, 0x16,             /* RDLENGTH 22 */
        0x00,                   /* MNAME: the root */
        0x00,                   /* RNAME: the root */
        0x00, 0x00, 0x00, 0x01, /* SERIAL */
        0x00, 0x00, 0x00, 0x02, /* REFRESH */
        0x00, 0x00, 0x00, 0x03, /* RETRY */
        0x00, 0x00, 0x00, 0x04, /* EXPIRE */
        0x00, 0x00, 0x00, 0x05, /* MINIMUM */
        /* additional: the OPT */
        0x00,                   /* owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x04, 0xd0,             /* CLASS: payload 1232 */
        0x00, 0x00, 0x00, 0x00, /* TTL */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    uint8_t msg[512];
    size_t len = query(msg, sizeof msg, tail, sizeof tail, 1, 1);
    msg[sizeof head - 3] = DNS_TYPE_IXFR; /* QTYPE's low byte */
    static struct msg_query q;
    EXPECT_INT(msg_parse_query(msg, len, &q), DNS_RCODE_NOERROR);
    struct edns e;
    EXPECT_INT(edns_parse_query(msg, len, &q, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.payload, 1232);
}

/* Replies: edns_parse_reply(), edns_from_msg(), edns_rcode() -------------------- */

/* A reply to the question of `head`: its RCODE's lower 4 bits in the header,
 * an A record in the answer, and an OPT with EXTENDED-RCODE `ext` in the
 * section `opt_in` (or none, if `opt_in` is MSG_SECTIONS). Returns its length. */
static size_t reply(uint8_t *out, size_t cap, unsigned rcode, uint8_t ext, enum msg_section opt_in)
{
    static const uint8_t answer[] = {
        0xC0, 0x0C,             /* owner: pointer to example.com. */
        0x00, 0x01,             /* TYPE A */
        0x00, 0x01,             /* CLASS IN */
        0x00, 0x00, 0x01, 0x2c, /* TTL 300 */
        0x00, 0x04,             /* RDLENGTH 4 */
        192,  0,    2,    1,    /* 192.0.2.1 */
    };
    uint8_t opt[sizeof opt_4096];
    memcpy(opt, opt_4096, sizeof opt);
    opt[5] = ext; /* the TTL's first byte: EXTENDED-RCODE */
    uint8_t tail[sizeof answer + sizeof opt];
    size_t tail_len = 0;
    if (opt_in == MSG_ANSWER) {
        memcpy(tail, opt, sizeof opt);
        tail_len += sizeof opt;
    }
    memcpy(tail + tail_len, answer, sizeof answer);
    tail_len += sizeof answer;
    if (opt_in == MSG_AUTHORITY || opt_in == MSG_ADDITIONAL) {
        memcpy(tail + tail_len, opt, sizeof opt);
        tail_len += sizeof opt;
    }
    size_t len = query(out, cap, tail, tail_len, opt_in == MSG_AUTHORITY, opt_in == MSG_ADDITIONAL);
    out[2] |= 0x80;                                         /* QR */
    out[3] = (uint8_t)(rcode & HDR_RCODE_MASK);             /* RCODE */
    out[7] = (uint8_t)(1 + (opt_in == MSG_ANSWER ? 1 : 0)); /* ANCOUNT */
    return len;
}

static void test_reply_rcode(void)
{
    uint8_t msg[512];
    size_t len = reply(msg, sizeof msg, 0, 1, MSG_ADDITIONAL);
    struct edns e;
    struct hdr h = {.flags = HDR_QR};
    EXPECT_INT(edns_parse_reply(msg, len, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.ext_rcode, 1);
    /* 1 << 4 | 0: BADVERS. */
    EXPECT_UINT(edns_rcode(&h, &e), EDNS_RCODE_BADVERS);

    static struct msg m;
    CU_ASSERT_EQUAL_FATAL(msg_parse(msg, len, &m), MSG_OK);
    EXPECT_INT(edns_from_msg(&m, &e), DNS_RCODE_NOERROR);
    EXPECT_UINT(edns_rcode(&m.hdr, &e), EDNS_RCODE_BADVERS);

    /* FORMERR from a server that knows no EDNS: the header alone. */
    len = reply(msg, sizeof msg, DNS_RCODE_FORMERR, 0, MSG_SECTIONS);
    EXPECT_INT(edns_parse_reply(msg, len, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_FALSE(e.present);
    hdr_set_rcode(&h, DNS_RCODE_FORMERR);
    EXPECT_UINT(edns_rcode(&h, &e), DNS_RCODE_FORMERR);
    CU_ASSERT_EQUAL_FATAL(msg_parse(msg, len, &m), MSG_OK);
    EXPECT_INT(edns_from_msg(&m, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_FALSE(e.present);
    EXPECT_UINT(edns_rcode(&m.hdr, &e), DNS_RCODE_FORMERR);

    /* An extended RCODE with lower bits too: 0x12 << 4 | 3 = 291. */
    len = reply(msg, sizeof msg, 3, 0x12, MSG_ADDITIONAL);
    CU_ASSERT_EQUAL_FATAL(msg_parse(msg, len, &m), MSG_OK);
    EXPECT_INT(edns_from_msg(&m, &e), DNS_RCODE_NOERROR);
    EXPECT_UINT(edns_rcode(&m.hdr, &e), 291);
}

static void test_reply_opt_outside_additional_formerr(void)
{
    uint8_t msg[512];
    static struct msg m;
    struct edns e;
    static const enum msg_section wrong[] = {MSG_ANSWER, MSG_AUTHORITY};
    /* Bounded by the table. */
    for (size_t i = 0; i < 2; i++) {
        size_t len = reply(msg, sizeof msg, 0, 0, wrong[i]);
        EXPECT_INT(edns_parse_reply(msg, len, &e), DNS_RCODE_FORMERR);
        CU_ASSERT_FALSE(e.present);
        CU_ASSERT_EQUAL_FATAL(msg_parse(msg, len, &m), MSG_OK);
        EXPECT_INT(edns_from_msg(&m, &e), DNS_RCODE_FORMERR);
        CU_ASSERT_FALSE(e.present);
    }
}

static void test_reply_malformed_formerr(void)
{
    uint8_t msg[512];
    size_t len = reply(msg, sizeof msg, 0, 0, MSG_ADDITIONAL);
    struct edns e;
    /* Every cut short of the whole: the walk fails somewhere, never reads past. */
    for (size_t cut = 0; cut < len; cut++) /* bounded by len */
        EXPECT_INT(edns_parse_reply(msg, cut, &e), DNS_RCODE_FORMERR);
    EXPECT_INT(edns_parse_reply(msg, len, &e), DNS_RCODE_NOERROR);
}

/* Writing: edns_write_opt(), edns_add_opt() ------------------------------------- */

static void test_write_opt(void)
{
    uint8_t out[EDNS_OPT_SIZE];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    edns_write_opt(&w, EDNS_PAYLOAD);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    static const uint8_t expected[] = {
        0x00,                   /* owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x04, 0xd0,             /* CLASS: payload 1232 */
        0x00, 0x00, 0x00, 0x00, /* TTL: EXTENDED-RCODE 0, VERSION 0, DO clear */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    EXPECT_BYTES(out, w.pos, expected, sizeof expected);

    /* One byte short: an error, and nothing written. */
    buf_writer_init(&w, out, sizeof out - 1);
    edns_write_opt(&w, EDNS_PAYLOAD);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 0);
}

/* A header-only reply, as a server sends one: ID 0x1234, QR RD, RCODE `rcode`,
 * ARCOUNT `arcount`. */
static size_t header_reply(uint8_t *out, unsigned rcode, uint8_t arcount)
{
    const uint8_t h[DNS_HEADER_SIZE] = {
        0x12, 0x34,           /* ID */
        0x81, (uint8_t)rcode, /* flags: QR RD, RCODE */
        0x00, 0x00,           /* QDCOUNT */
        0x00, 0x00,           /* ANCOUNT */
        0x00, 0x00,           /* NSCOUNT */
        0x00, arcount,        /* ARCOUNT */
    };
    memcpy(out, h, sizeof h);
    return sizeof h;
}

static void test_add_opt(void)
{
    uint8_t msg[64];
    size_t len = header_reply(msg, DNS_RCODE_NOERROR, 0);
    EXPECT_UINT(edns_add_opt(msg, len, sizeof msg, 0), len + EDNS_OPT_SIZE);
    static const uint8_t expected[] = {
        0x12, 0x34,             /* ID */
        0x81, 0x00,             /* flags: QR RD, RCODE 0 */
        0x00, 0x00,             /* QDCOUNT */
        0x00, 0x00,             /* ANCOUNT */
        0x00, 0x00,             /* NSCOUNT */
        0x00, 0x01,             /* ARCOUNT: 1, the OPT */
        0x00,                   /* owner: the root */
        0x00, 0x29,             /* TYPE OPT */
        0x04, 0xd0,             /* CLASS: payload 1232 */
        0x00, 0x00, 0x00, 0x00, /* TTL: EXTENDED-RCODE 0, VERSION 0, DO clear */
        0x00, 0x00,             /* RDLENGTH 0 */
    };
    EXPECT_BYTES(msg, len + EDNS_OPT_SIZE, expected, sizeof expected);

    /* Read back as a reply: the OPT is found with what was put in. */
    struct edns e;
    EXPECT_INT(edns_parse_reply(msg, len + EDNS_OPT_SIZE, &e), DNS_RCODE_NOERROR);
    CU_ASSERT_TRUE(e.present);
    EXPECT_UINT(e.payload, EDNS_PAYLOAD);
    EXPECT_UINT(e.version, 0);
}

static void test_add_opt_badvers(void)
{
    uint8_t msg[64];
    /* BADVERS = 16: 0 in the header's 4 bits, 1 in the OPT's 8. */
    size_t len = header_reply(msg, EDNS_RCODE_BADVERS & HDR_RCODE_MASK, 0);
    size_t n = edns_add_opt(msg, len, sizeof msg, EDNS_RCODE_BADVERS >> 4);
    EXPECT_UINT(n, len + EDNS_OPT_SIZE);
    EXPECT_UINT(msg[3], 0x00);                /* header RCODE: 0 */
    EXPECT_UINT(msg[DNS_HEADER_SIZE + 5], 1); /* EXTENDED-RCODE: 1 */
    EXPECT_UINT(msg[DNS_HEADER_SIZE + 6], 0); /* VERSION: 0, the one we do */
    struct edns e;
    struct hdr h;
    struct buf_reader r;
    buf_reader_init(&r, msg, n);
    hdr_decode(&r, &h);
    EXPECT_INT(edns_parse_reply(msg, n, &e), DNS_RCODE_NOERROR);
    EXPECT_UINT(edns_rcode(&h, &e), EDNS_RCODE_BADVERS);
}

static void test_add_opt_counts_on(void)
{
    uint8_t msg[64];
    size_t len = header_reply(msg, DNS_RCODE_NOERROR, 1); /* say, one glue record already */
    EXPECT_UINT(edns_add_opt(msg, len, sizeof msg, 0), len + EDNS_OPT_SIZE);
    EXPECT_UINT(msg[10], 0);
    EXPECT_UINT(msg[11], 2);
}

static void test_add_opt_no_room(void)
{
    uint8_t msg[64], before[64];
    size_t len = header_reply(msg, DNS_RCODE_NOERROR, 0);
    memset(msg + len, 0xEE, sizeof msg - len);
    memcpy(before, msg, sizeof msg);
    /* One byte short of the OPT: nothing changes, ARCOUNT included. */
    EXPECT_UINT(edns_add_opt(msg, len, len + EDNS_OPT_SIZE - 1, 0), len);
    EXPECT_BYTES(msg, sizeof msg, before, sizeof before);
    /* Exactly enough room. */
    EXPECT_UINT(edns_add_opt(msg, len, len + EDNS_OPT_SIZE, 0), len + EDNS_OPT_SIZE);
    /* Not even a header, or a length past the capacity: nothing. */
    memcpy(msg, before, sizeof msg);
    EXPECT_UINT(edns_add_opt(msg, DNS_HEADER_SIZE - 1, sizeof msg, 0), DNS_HEADER_SIZE - 1);
    EXPECT_UINT(edns_add_opt(msg, 40, 30, 0), 40);
    EXPECT_BYTES(msg, sizeof msg, before, sizeof before);
    /* ARCOUNT 65535 cannot count one more. */
    msg[10] = 0xFF;
    msg[11] = 0xFF;
    memcpy(before, msg, sizeof msg);
    EXPECT_UINT(edns_add_opt(msg, len, sizeof msg, 0), len);
    EXPECT_BYTES(msg, sizeof msg, before, sizeof before);
}

void test_edns_register(void)
{
    CU_pSuite s = CU_add_suite("edns", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "parse: no OPT, limit 512", test_parse_no_opt);
    CU_add_test(s, "parse: dig's OPT, payload 4096, limit 1232", test_parse_one_opt);
    CU_add_test(s, "parse: the DO bit", test_parse_do_bit);
    CU_add_test(s, "parse: two OPTs are FORMERR", test_parse_two_opts_formerr);
    CU_add_test(s, "parse: an OPT not owned by the root is FORMERR",
                test_parse_owner_not_root_formerr);
    CU_add_test(s, "parse: version 1 is BADVERS, e filled", test_parse_version_1_badvers);
    CU_add_test(s, "the UDP limit: at least 512, at most 1232", test_udp_limit);
    CU_add_test(s, "parse: unknown options are ignored", test_parse_options_ignored);
    CU_add_test(s, "parse: an option past RDLENGTH is FORMERR",
                test_parse_option_past_rdlength_formerr);
    CU_add_test(s, "parse: the OPT after another additional record", test_parse_opt_second);
    CU_add_test(s, "parse: an IXFR's SOA, then the OPT", test_parse_ixfr_soa_then_opt);
    CU_add_test(s, "replies: the 12-bit RCODE, from bytes and from msg_parse()", test_reply_rcode);
    CU_add_test(s, "replies: an OPT in answer or authority is FORMERR",
                test_reply_opt_outside_additional_formerr);
    CU_add_test(s, "replies: cut anywhere, FORMERR", test_reply_malformed_formerr);
    CU_add_test(s, "write_opt: the bytes, and nothing when short", test_write_opt);
    CU_add_test(s, "add_opt: ARCOUNT + 1, the bytes exact", test_add_opt);
    CU_add_test(s, "add_opt: BADVERS's upper bits in the OPT", test_add_opt_badvers);
    CU_add_test(s, "add_opt: ARCOUNT counts on from what it was", test_add_opt_counts_on);
    CU_add_test(s, "add_opt: no room, nothing changes", test_add_opt_no_room);
}
