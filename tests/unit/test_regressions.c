/* test_regressions.c: the fuzzers' hostile seeds and findings, each with its exact verdict. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "auth.h"
#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "name.h"
#include "server.h"
#include "tests.h"
#include "trace.h"
#include "zone.h"

/*
 * Every message here is a seed of tests/fuzz/corpus/ (made by tests/fuzz/seeds.py) or an input a
 * fuzzer reported. Each states what the whole server path must make of it: the verdict of
 * msg_parse_query(), the status of the first name that fails, the reply auth_answer() writes
 * with the example zone, and what the --trace summary says. docs/fuzzing.md explains how a
 * finding becomes one more entry here.
 */

/* The 12-byte header of the queries below: ID 0x1234, RD, `qd` questions, nothing else. */
#define QUERY_HEADER(qd)                                                                           \
    0x12, 0x34,     /* ID */                                                                       \
        0x01, 0x00, /* flags: RD */                                                                \
        0x00, (qd), /* QDCOUNT */                                                                  \
        0x00, 0x00, /* ANCOUNT */                                                                  \
        0x00, 0x00, /* NSCOUNT */                                                                  \
        0x00, 0x00  /* ARCOUNT */

/* dig 9.18 `dig google.com`: the question, then an EDNS OPT record. */
static const uint8_t dig_google[] = {
    0x4b, 0xdb,                            /* ID */
    0x01, 0x20,                            /* flags: RD AD */
    0x00, 0x01,                            /* QDCOUNT 1 */
    0x00, 0x00,                            /* ANCOUNT */
    0x00, 0x00,                            /* NSCOUNT */
    0x00, 0x01,                            /* ARCOUNT 1 */
    0x06, 'g',  'o',  'o',  'g', 'l', 'e', /* 12: label "google" */
    0x03, 'c',  'o',  'm',                 /* label "com" */
    0x00,                                  /* root */
    0x00, 0x01,                            /* QTYPE A */
    0x00, 0x01,                            /* QCLASS IN */
    0x00,                                  /* 28: OPT owner: root */
    0x00, 0x29,                            /* TYPE OPT */
    0x10, 0x00,                            /* CLASS: payload 4096 */
    0x00, 0x00, 0x00, 0x00,                /* TTL: extended RCODE, version, flags */
    0x00, 0x00,                            /* RDLENGTH 0 */
};

/* Three questions whose names point into each other. */
static const uint8_t multi_question[] = {
    QUERY_HEADER(3),
    0x03,
    'w',
    'w',
    'w', /* 12: label "www" */
    0x07,
    'e',
    'x',
    'a',
    'm',
    'p',
    'l',
    'e', /* 16: label "example" */
    0x03,
    'c',
    'o',
    'm',  /* 24: label "com" */
    0x00, /* 28: root */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
    0x04,
    'm',
    'a',
    'i',
    'l', /* 33: label "mail" */
    0xc0,
    0x10, /* pointer to 16: example.com. */
    0x00,
    0x0f,
    0x00,
    0x01, /* MX IN */
    0xc0,
    0x0c, /* 44: pointer to 12: www.example.com. */
    0x00,
    0x1c,
    0x00,
    0x01, /* AAAA IN */
};

/* A name that is only a pointer to itself: the shortest loop. */
static const uint8_t self_pointer[] = {
    QUERY_HEADER(1),
    0xc0,
    0x0c, /* 12: pointer to 12 */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A label, then a pointer back to the start of the same name. */
static const uint8_t pointer_into_own_name[] = {
    QUERY_HEADER(1),
    0x01,
    'a', /* 12: label "a" */
    0xc0,
    0x0c, /* 14: pointer to 12: the name itself */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A pointer to a name written later in the message. */
static const uint8_t forward_pointer[] = {
    QUERY_HEADER(1),
    0xc0,
    0x12, /* 12: pointer to 18, ahead */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
    0x07,
    'e',
    'x',
    'a',
    'm',
    'p',
    'l',
    'e', /* 18: label "example" */
    0x03,
    'c',
    'o',
    'm',  /* label "com" */
    0x00, /* root */
};

/* Two names pointing at each other: the first points ahead, so the loop is never entered. */
static const uint8_t pointer_loop[] = {
    QUERY_HEADER(2),
    0x01,
    'a', /* 12: label "a" */
    0xc0,
    0x16, /* pointer to 22: the second name */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
    0x01,
    'b', /* 22: label "b" */
    0xc0,
    0x0c, /* pointer to 12: the first name */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A pointer into the header, where no name can start. */
static const uint8_t pointer_into_header[] = {
    QUERY_HEADER(1),
    0xc0,
    0x04, /* 12: pointer to 4: QDCOUNT */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* Length byte 0x40 (64): top bits 01, an extended label type, not a 64-octet label. */
static const uint8_t label_type_01[] = {
    QUERY_HEADER(1),
    0x40,
    'x',
    'x',
    'x',
    'x',  /* 12: "label" of 64 (the bytes are not read) */
    0x00, /* root */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* Length byte 0x80: top bits 10, reserved. */
static const uint8_t label_type_10[] = {
    QUERY_HEADER(1),
    0x80,
    0x00, /* 12: reserved label type */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A pointer cut off after its first byte. */
static const uint8_t truncated_pointer[] = {
    QUERY_HEADER(1), 0xc0, /* 12: first byte of a pointer, then the end */
};

/* A label longer than what is left. */
static const uint8_t truncated_label[] = {
    QUERY_HEADER(1), 0x07, 'e', 'x', 'a', 'm', 'p', /* 12: label of 7, 5 bytes present */
};

/* A response: never answered. */
static const uint8_t qr_set[] = {
    0x12, 0x34,             /* ID */
    0x81, 0x00,             /* flags: QR RD */
    0x00, 0x01,             /* QDCOUNT 1 */
    0x00, 0x00,             /* ANCOUNT */
    0x00, 0x00,             /* NSCOUNT */
    0x00, 0x00,             /* ARCOUNT */
    0x00,                   /* 12: root */
    0x00, 0x01, 0x00, 0x01, /* A IN */
};

/* OPCODE 4 (NOTIFY): not parsed past the header. */
static const uint8_t opcode_notify[] = {
    0x12, 0x34,             /* ID */
    0x24, 0x00,             /* flags: OPCODE 4, AA */
    0x00, 0x01,             /* QDCOUNT 1 */
    0x00, 0x00,             /* ANCOUNT */
    0x00, 0x00,             /* NSCOUNT */
    0x00, 0x00,             /* ARCOUNT */
    0xc0, 0x0c,             /* 12: a self pointer, never looked at */
    0x00, 0x06, 0x00, 0x01, /* SOA IN */
};

/* Five bytes: no header, nobody to answer. */
static const uint8_t short_5[] = {
    0x12, 0x34, /* ID */
    0x01, 0x00, /* flags: RD */
    0x00,       /* half of QDCOUNT */
};

/* A good question, then one byte nothing accounts for. */
static const uint8_t trailing_byte[] = {
    QUERY_HEADER(1),
    0x00, /* 12: root */
    0x00,
    0x02,
    0x00,
    0x01, /* NS IN */
    0x00, /* 17: trailing */
};

/* A query carrying an answer record. */
static const uint8_t answer_in_query[] = {
    0x12, 0x34,             /* ID */
    0x01, 0x00,             /* flags: RD */
    0x00, 0x01,             /* QDCOUNT 1 */
    0x00, 0x01,             /* ANCOUNT 1 */
    0x00, 0x00,             /* NSCOUNT */
    0x00, 0x00,             /* ARCOUNT */
    0x00,                   /* 12: root */
    0x00, 0x01, 0x00, 0x01, /* A IN */
    0xc0, 0x0c,             /* 17: owner: pointer to 12 */
    0x00, 0x01, 0x00, 0x01, /* A IN */
    0x00, 0x00, 0x00, 0x3c, /* TTL 60 */
    0x00, 0x04,             /* RDLENGTH 4 */
    0xc0, 0x00, 0x02, 0x01, /* 192.0.2.1 */
};

/* What each message must give. `status` is that of the first question that does not read
 * (NAME_OK: they all read); `check_names` is false when the parser never reaches them. */
struct hostile {
    const char *what;
    const uint8_t *msg;
    size_t len;
    int verdict; /* msg_parse_query() allowing 16 questions */
    bool check_names;
    enum name_status status;
};

#define HOSTILE(m, v, check, st)                                                                   \
    {                                                                                              \
#m, m, sizeof m, (v), (check), (st)                                                        \
    }
static const struct hostile hostile[] = {
    HOSTILE(dig_google, DNS_RCODE_NOERROR, true, NAME_OK),
    HOSTILE(multi_question, DNS_RCODE_NOERROR, true, NAME_OK),
    HOSTILE(self_pointer, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(pointer_into_own_name, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(forward_pointer, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(pointer_loop, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(pointer_into_header, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_HEADER),
    HOSTILE(label_type_01, DNS_RCODE_FORMERR, true, NAME_ERR_LABEL_TYPE),
    HOSTILE(label_type_10, DNS_RCODE_FORMERR, true, NAME_ERR_LABEL_TYPE),
    HOSTILE(truncated_pointer, DNS_RCODE_FORMERR, true, NAME_ERR_TRUNCATED),
    HOSTILE(truncated_label, DNS_RCODE_FORMERR, true, NAME_ERR_TRUNCATED),
    HOSTILE(qr_set, MSG_DROP, false, NAME_OK),
    HOSTILE(opcode_notify, DNS_RCODE_NOTIMP, false, NAME_OK),
    HOSTILE(short_5, MSG_DROP, false, NAME_OK),
    HOSTILE(trailing_byte, DNS_RCODE_FORMERR, true, NAME_OK),
    HOSTILE(answer_in_query, DNS_RCODE_FORMERR, true, NAME_OK),
};
#define HOSTILE_COUNT (sizeof hostile / sizeof hostile[0])

/* The server every reply test asks: step 5's zones, loaded from zones/. */
static struct auth_server server;

static int suite_init(void)
{
    char err[ZONE_ERROR_MAX + 64];
    if (zone_load_file(&server.zones, "zones/example.com.zone", NULL, err, sizeof err) != 0) {
        fprintf(stderr, "test_regressions: %s (run from the repository's root)\n", err);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    zone_set_free(&server.zones);
    return 0;
}

/* "what: detail", for failure messages. */
static const char *label(const struct hostile *h, const char *detail)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s: %s", h->what, detail);
    return buf;
}

/* Reads every record of a reply; true if it parses to the end exactly. */
static bool reply_parses(const uint8_t *msg, size_t len, struct hdr *h)
{
    struct buf_reader r;
    buf_reader_init(&r, msg, len);
    hdr_decode(&r, h);
    for (unsigned i = 0; i < h->qdcount; i++) {
        struct msg_question q;
        if (msg_read_question(&r, &q) != NAME_OK)
            return false;
    }
    unsigned records = (unsigned)h->ancount + h->nscount + h->arcount;
    for (unsigned i = 0; i < records; i++) {
        struct msg_rr rr;
        if (msg_read_rr(&r, &rr) != NAME_OK)
            return false;
    }
    return buf_reader_ok(&r) && buf_remaining(&r) == 0;
}

/* Tests ------------------------------------------------------------------------ */

static void test_verdicts(void)
{
    static struct msg_query q;
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        int verdict = msg_parse_query(h->msg, h->len, MSG_QUESTIONS_MAX, &q);
        test_expect_int(verdict, h->verdict, label(h, "msg_parse_query verdict"), __FILE__,
                        __LINE__);
    }
}

static void test_name_statuses(void)
{
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        if (!h->check_names)
            continue;
        struct buf_reader r;
        struct hdr hd;
        buf_reader_init(&r, h->msg, h->len);
        hdr_decode(&r, &hd);
        enum name_status st = NAME_OK;
        for (unsigned k = 0; k < hd.qdcount && st == NAME_OK; k++) {
            struct msg_question q;
            st = msg_read_question(&r, &q);
        }
        test_expect_status(st, h->status, label(h, "first question that fails"), __FILE__,
                           __LINE__);
    }
}

static void test_replies(void)
{
    static uint8_t reply[DNS_RECV_BUFFER];
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        size_t n =
            auth_answer(&server, h->msg, h->len, reply, sizeof reply, MSG_QUESTIONS_MAX, true);
        if (h->verdict == MSG_DROP) {
            test_expect_uint(n, SERVER_NO_REPLY, label(h, "auth_answer (no reply)"), __FILE__,
                             __LINE__);
            continue;
        }
        struct hdr r;
        test_expect_int(n != SERVER_NO_REPLY && reply_parses(reply, n, &r), 1,
                        label(h, "reply parses to its last byte"), __FILE__, __LINE__);
        if (n == SERVER_NO_REPLY)
            continue;
        test_expect_uint(r.id, (unsigned)h->msg[0] << 8 | h->msg[1], label(h, "reply ID"), __FILE__,
                         __LINE__);
        test_expect_int(hdr_flag(&r, HDR_QR), 1, label(h, "reply QR"), __FILE__, __LINE__);
        test_expect_int(n <= DNS_UDP_MAX, 1, label(h, "reply within 512 bytes"), __FILE__,
                        __LINE__);
        if (h->verdict != DNS_RCODE_NOERROR) {
            /* FORMERR and NOTIMP: the header alone (as NSD does). */
            test_expect_uint(n, DNS_HEADER_SIZE, label(h, "header-only reply length"), __FILE__,
                             __LINE__);
            test_expect_uint(hdr_rcode(&r), (unsigned)h->verdict, label(h, "reply RCODE"), __FILE__,
                             __LINE__);
        }
    }
}

static void test_trace_summaries(void)
{
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        char full[512];
        trace_summary(h->msg, h->len, full, sizeof full);
        /* The reason a name failed is in the summary, in name_strerror()'s words. */
        if (h->check_names && h->status != NAME_OK)
            test_expect_int(strstr(full, name_strerror(h->status)) != NULL, 1,
                            label(h, "summary names the reason"), __FILE__, __LINE__);
        /* A short buffer gets the start of the same text, terminated. */
        for (size_t cap = 1; cap <= 16; cap++) {
            char cut[16];
            trace_summary(h->msg, h->len, cut, cap);
            test_expect_int(strlen(cut) == cap - 1 && strncmp(cut, full, cap - 1) == 0, 1,
                            label(h, "summary cut to a short buffer"), __FILE__, __LINE__);
        }
    }
}

/*
 * The pointer-hop limit on a whole query: a root question at 12; an additional record whose
 * RDATA is a chain of pointers, each to the one before (the first to 12); then an additional
 * record whose owner points at the last. Reading that owner takes links + 1 hops.
 */
static size_t chain_query(uint8_t *msg, size_t links)
{
    struct buf_writer w;
    buf_writer_init(&w, msg, 12 + 5 + 11 + 2 * links + 12);
    struct hdr h = {.id = 0x1234, .qdcount = 1, .arcount = 2};
    hdr_encode(&w, &h);
    buf_write_u8(&w, 0);                      /* 12: root */
    buf_write_u16(&w, DNS_TYPE_A);            /* QTYPE */
    buf_write_u16(&w, DNS_CLASS_IN);          /* QCLASS */
    buf_write_u8(&w, 0);                      /* 17: owner: root */
    buf_write_u16(&w, DNS_TYPE_TXT);          /* TYPE (RDATA is opaque to the parser) */
    buf_write_u16(&w, DNS_CLASS_IN);          /* CLASS */
    buf_write_u32(&w, 0);                     /* TTL */
    buf_write_u16(&w, (uint16_t)(2 * links)); /* RDLENGTH */
    size_t prev = 12;
    for (size_t i = 0; i < links; i++) { /* 28 + 2i: pointer to the previous link */
        size_t at = w.pos;
        buf_write_u16(&w, (uint16_t)(0xC000 | prev));
        prev = at;
    }
    buf_write_u16(&w, (uint16_t)(0xC000 | prev)); /* owner: pointer to the last link */
    buf_write_u16(&w, DNS_TYPE_TXT);
    buf_write_u16(&w, DNS_CLASS_IN);
    buf_write_u32(&w, 0);
    buf_write_u16(&w, 0); /* RDLENGTH 0 */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

static void test_hop_limit_in_a_query(void)
{
    static struct msg_query q;
    static uint8_t msg[12 + 5 + 11 + 2 * NAME_HOPS_MAX + 12];
    /* NAME_HOPS_MAX - 1 links: NAME_HOPS_MAX hops, the limit itself. */
    size_t len = chain_query(msg, NAME_HOPS_MAX - 1);
    EXPECT_INT(msg_parse_query(msg, len, 1, &q), DNS_RCODE_NOERROR);
    /* One link more: one hop too many, and the query is malformed. */
    len = chain_query(msg, NAME_HOPS_MAX);
    EXPECT_INT(msg_parse_query(msg, len, 1, &q), DNS_RCODE_FORMERR);
    struct buf_reader r;
    struct name n;
    buf_reader_init(&r, msg, len);
    buf_seek(&r, len - 12);
    EXPECT_STATUS(name_read(&r, &n), NAME_ERR_TOO_MANY_HOPS);
}

/* build/step-5's reply to "example.com. MX", captured by tests/fuzz/seeds.py. */
static const uint8_t reply_apex_mx[] = {
    0x12, 0x34,                                 /* ID */
    0x85, 0x00,                                 /* flags: QR AA RD */
    0x00, 0x01,                                 /* QDCOUNT 1 */
    0x00, 0x02,                                 /* ANCOUNT 2 */
    0x00, 0x00,                                 /* NSCOUNT 0 */
    0x00, 0x02,                                 /* ARCOUNT 2 */
    0x07, 'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 12: label "example" */
    0x03, 'c',  'o',  'm',                      /* 20: label "com" */
    0x00,                                       /* root */
    0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
    0xc0, 0x0c,                                 /* 29: answer 1: owner -> 12 */
    0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
    0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
    0x00, 0x09,                                 /* RDLENGTH 9 */
    0x00, 0x0a,                                 /* PREFERENCE 10 */
    0x04, 'm',  'a',  'i',  'l',                /* 43: label "mail" */
    0xc0, 0x0c,                                 /* -> 12: mail.example.com. */
    0xc0, 0x0c,                                 /* 50: answer 2: owner -> 12 */
    0x00, 0x0f, 0x00, 0x01,                     /* MX IN */
    0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
    0x00, 0x0a,                                 /* RDLENGTH 10 */
    0x00, 0x14,                                 /* PREFERENCE 20 */
    0x05, 'm',  'a',  'i',  'l', '2',           /* 64: label "mail2" */
    0xc0, 0x0c,                                 /* -> 12: mail2.example.com. */
    0xc0, 0x2b,                                 /* 72: additional 1: owner -> 43 */
    0x00, 0x01, 0x00, 0x01,                     /* A IN */
    0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
    0x00, 0x04,                                 /* RDLENGTH 4 */
    0xc0, 0x00, 0x02, 0x19,                     /* 192.0.2.25 */
    0xc0, 0x40,                                 /* 88: additional 2: owner -> 64 */
    0x00, 0x01, 0x00, 0x01,                     /* A IN */
    0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
    0x00, 0x04,                                 /* RDLENGTH 4 */
    0xc6, 0x33, 0x64, 0x19,                     /* 198.51.100.25 */
};

/* What fuzz_roundtrip does, on one reply: parse every record, write it again with a
 * compression table (MX names through it, as resp.c does), and get the same bytes back. */
static void test_reply_round_trip(void)
{
    struct buf_reader r;
    struct buf_writer w;
    static struct name_ctable table;
    struct hdr h;
    uint8_t out[sizeof reply_apex_mx + 64];

    buf_reader_init(&r, reply_apex_mx, sizeof reply_apex_mx);
    buf_writer_init(&w, out, sizeof out);
    name_ctable_init(&table);
    hdr_decode(&r, &h);
    hdr_encode(&w, &h);
    struct msg_question q;
    EXPECT_STATUS(msg_read_question(&r, &q), NAME_OK);
    msg_write_question(&w, &q, &table);
    for (unsigned i = 0; i < 4u; i++) {
        struct msg_rr rr;
        EXPECT_STATUS(msg_read_rr(&r, &rr), NAME_OK);
        name_write(&w, &rr.owner, &table);
        buf_write_u16(&w, rr.type);
        buf_write_u16(&w, rr.class_);
        buf_write_u32(&w, rr.ttl);
        size_t rdlength_at = w.pos;
        buf_write_u16(&w, 0);
        if (rr.type == DNS_TYPE_MX) {
            struct buf_reader rd;
            struct name exchange;
            buf_reader_init(&rd, reply_apex_mx, rr.rdata_offset + rr.rdlength);
            buf_seek(&rd, rr.rdata_offset);
            buf_write_u16(&w, buf_read_u16(&rd));
            EXPECT_STATUS(name_read(&rd, &exchange), NAME_OK);
            EXPECT_UINT(buf_remaining(&rd), 0);
            name_write(&w, &exchange, &table);
        } else {
            buf_write_bytes(&w, reply_apex_mx + rr.rdata_offset, rr.rdlength);
        }
        buf_write_u16_at(&w, rdlength_at, (uint16_t)(w.pos - rdlength_at - 2));
    }
    EXPECT_UINT(buf_remaining(&r), 0);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_BYTES(out, w.pos, reply_apex_mx, sizeof reply_apex_mx);
}

void test_regressions_register(void)
{
    CU_pSuite s = CU_add_suite("regressions", suite_init, suite_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "hostile seeds: msg_parse_query verdicts", test_verdicts);
    CU_add_test(s, "hostile seeds: status of the first bad name", test_name_statuses);
    CU_add_test(s, "hostile seeds: auth_answer replies", test_replies);
    CU_add_test(s, "hostile seeds: trace summaries", test_trace_summaries);
    CU_add_test(s, "pointer-hop limit in a whole query", test_hop_limit_in_a_query);
    CU_add_test(s, "step-5 reply: parse, re-compress, same bytes", test_reply_round_trip);
}
