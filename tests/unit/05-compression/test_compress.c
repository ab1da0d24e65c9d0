/* test_compress.c: unit tests of steps/05-compression/compress.c — writing names with pointers. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "compress.h"
#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "rdata.h"
#include "tests.h"

/* Parses absolute `text`, recording a failure if it does not parse. */
static struct name from_text(const char *text)
{
    struct name n;
    enum name_status st = name_from_text(text, NULL, &n);
    char what[600];
    snprintf(what, sizeof what, "name_from_text(\"%.500s\")", text);
    test_expect_status(st, NAME_OK, what, __FILE__, __LINE__);
    return n;
}

/* Reads the name at `start` and expects it to be `text`, with the reader
 * left at `end`: what was written reads back. */
static void expect_read_at(const uint8_t *msg, size_t len, size_t start, const char *text,
                           size_t end, const char *file, unsigned line)
{
    struct buf_reader r;
    struct name out;
    buf_reader_init(&r, msg, len);
    buf_seek(&r, start);
    enum name_status st = name_read(&r, &out);
    test_expect_status(st, NAME_OK, "name_read status", file, line);
    test_expect_uint(r.pos, end, "reader pos after name_read", file, line);
    struct name want;
    if (name_from_text(text, NULL, &want) == NAME_OK)
        test_expect_bytes(out.wire, out.len, want.wire, want.len, "name read", file, line);
}
#define EXPECT_READ(msg, len, start, text, end)                                                    \
    expect_read_at((msg), (len), (start), (text), (end), __FILE__, __LINE__)

/* A writer with 12 header bytes already in it, and an empty table. The header makes offsets
 * here the same as in real packets, and pointers may not point into it. */
static void start_message(struct buf_writer *w, uint8_t *out, size_t cap, struct compress_table *t)
{
    static const uint8_t header[] = {
        0x12, 0x34, /* ID */
        0x01, 0x00, /* flags: RD */
        0x00, 0x01, /* QDCOUNT 1 */
        0x00, 0x00, /* ANCOUNT */
        0x00, 0x00, /* NSCOUNT */
        0x00, 0x00, /* ARCOUNT */
    };
    buf_writer_init(w, out, cap);
    buf_write_bytes(w, header, sizeof header);
    compress_init(t);
}

static void test_write_compressed_repeat(void)
{
    uint8_t out[128];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    struct name n = from_text("www.example.com.");
    compress_write_name(&w, &t, &n);
    EXPECT_UINT(w.pos, 12 + 17);
    EXPECT_BYTES(out + 12, 17, n.wire, n.len);
    size_t second = w.pos;
    compress_write_name(&w, &t, &n);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    static const uint8_t ptr[] = {0xC0, 0x0C}; /* pointer to 12 */
    EXPECT_BYTES(out + second, w.pos - second, ptr, sizeof ptr);
}

static void test_write_compressed_suffix(void)
{
    uint8_t out[128];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    struct name www = from_text("www.example.com.");
    compress_write_name(&w, &t, &www); /* 12: www, 16: example, 24: com, 28: root */

    size_t at = w.pos;
    struct name mail = from_text("mail.example.com.");
    compress_write_name(&w, &t, &mail);
    static const uint8_t mail_want[] = {4,    'm', 'a', 'i', 'l', /* label "mail" */
                                        0xC0, 0x10};              /* pointer to 16: example.com. */
    EXPECT_BYTES(out + at, w.pos - at, mail_want, sizeof mail_want);

    /* Matching keeps case: "EXAMPLE.Com." shares only the root with what
     * is there, so it is written in full (a pointer to "example.com." would
     * change its letters). */
    at = w.pos;
    struct name upper = from_text("EXAMPLE.Com.");
    compress_write_name(&w, &t, &upper);
    EXPECT_BYTES(out + at, w.pos - at, upper.wire, upper.len);

    at = w.pos;
    struct name com = from_text("com.");
    compress_write_name(&w, &t, &com);
    static const uint8_t com_want[] = {0xC0, 0x18}; /* pointer to 24: com. */
    EXPECT_BYTES(out + at, w.pos - at, com_want, sizeof com_want);

    /* Nothing in common but the root: written in full, and the root is never
     * replaced by a (longer) pointer. */
    at = w.pos;
    struct name org = from_text("example.org.");
    compress_write_name(&w, &t, &org);
    EXPECT_BYTES(out + at, w.pos - at, org.wire, org.len);

    at = w.pos;
    struct name root;
    name_root(&root);
    compress_write_name(&w, &t, &root);
    static const uint8_t root_want[] = {0};
    EXPECT_BYTES(out + at, w.pos - at, root_want, sizeof root_want);

    /* Same last label bytes but not a suffix in labels: "ample.com." must
     * point at com. only, never into the middle of the label "example". */
    at = w.pos;
    struct name ample = from_text("ample.com.");
    compress_write_name(&w, &t, &ample);
    static const uint8_t ample_want[] = {5,    'a', 'm', 'p', 'l', 'e', /* label "ample" */
                                         0xC0, 0x18};                   /* pointer to 24 */
    EXPECT_BYTES(out + at, w.pos - at, ample_want, sizeof ample_want);
    CU_ASSERT_TRUE(buf_writer_ok(&w));

    /* And everything reads back as written. */
    EXPECT_READ(out, w.pos, 29, "mail.example.com.", 36);
    EXPECT_READ(out, w.pos, 36, "EXAMPLE.Com.", 49);
}

static void test_write_keeps_case(void)
{
    uint8_t out[128];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    struct name a = from_text("example.com.");
    struct name b = from_text("WwW.example.com.");
    compress_write_name(&w, &t, &a);
    size_t at = w.pos;
    compress_write_name(&w, &t, &b);
    static const uint8_t want[] = {3,    'W', 'w', 'W', /* label "WwW", case kept */
                                   0xC0, 0x0C};         /* pointer to 12 */
    EXPECT_BYTES(out + at, w.pos - at, want, sizeof want);

    /* A suffix equal but for case is not reused: "ns1.example.com." after a
     * question for "EXAMPLE.com." keeps its own letters, pointing only at
     * "com." (RFC 1035 4.1.4 pointers repeat bytes, and the zone's case is
     * what the client should see). */
    start_message(&w, out, sizeof out, &t);
    struct name q = from_text("EXAMPLE.com.");
    struct name ns1 = from_text("ns1.example.com.");
    compress_write_name(&w, &t, &q); /* 12: EXAMPLE, 20: com, 24: root */
    at = w.pos;
    compress_write_name(&w, &t, &ns1);
    static const uint8_t ns1_want[] = {3,    'n', 's', '1',                     /* label "ns1" */
                                       7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
                                       0xC0, 0x14};                             /* pointer to 20 */
    EXPECT_BYTES(out + at, w.pos - at, ns1_want, sizeof ns1_want);
    EXPECT_READ(out, w.pos, at, "ns1.example.com.", w.pos);
}

static uint8_t big[0x4100];

static void test_write_past_pointer_max(void)
{
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, big, sizeof big, &t);
    static const uint8_t filler[0x4000 - 12];
    buf_write_bytes(&w, filler, sizeof filler);
    EXPECT_UINT(w.pos, 0x4000);

    struct name n = from_text("www.example.com.");
    compress_write_name(&w, &t, &n); /* at 0x4000: a pointer cannot reach it */
    EXPECT_BYTES(big + 0x4000, w.pos - 0x4000, n.wire, n.len);
    size_t at = w.pos;
    compress_write_name(&w, &t, &n);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_BYTES(big + at, w.pos - at, n.wire, n.len);
}

static void test_write_straddling_pointer_max(void)
{
    /* www.example.com. at 0x3FFC: "www..." starts at 0x3FFC and can be
     * recorded; "example.com." starts at 0x4000 and "com." at 0x4008, which a
     * 14-bit pointer cannot reach. */
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, big, sizeof big, &t);
    static const uint8_t filler[0x3FFC - 12];
    buf_write_bytes(&w, filler, sizeof filler);
    EXPECT_UINT(w.pos, 0x3FFC);

    struct name www = from_text("www.example.com.");
    compress_write_name(&w, &t, &www);
    EXPECT_BYTES(big + 0x3FFC, w.pos - 0x3FFC, www.wire, www.len);

    size_t at = w.pos;
    struct name mail = from_text("mail.example.com.");
    compress_write_name(&w, &t, &mail);
    EXPECT_BYTES(big + at, w.pos - at, mail.wire, mail.len);

    at = w.pos;
    compress_write_name(&w, &t, &www);
    static const uint8_t ptr[] = {0xFF, 0xFC}; /* pointer to 0x3FFC */
    EXPECT_BYTES(big + at, w.pos - at, ptr, sizeof ptr);

    at = w.pos;
    struct name a = from_text("a.www.example.com.");
    compress_write_name(&w, &t, &a);
    static const uint8_t a_want[] = {1, 'a', /* label "a" */ 0xFF, 0xFC /* pointer to 0x3FFC */};
    EXPECT_BYTES(big + at, w.pos - at, a_want, sizeof a_want);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
}

static void test_write_in_header_not_recorded(void)
{
    /* A suffix written where the header is (here, a writer without one) is never a target: a
     * pointer below 12 points into the header, and readers refuse it (NAME_ERR_POINTER_HEADER).
     * Written at 0, "www.example.com." leaves only its "com." at 12 to point at. */
    uint8_t out[64];
    struct buf_writer w;
    struct compress_table t;
    buf_writer_init(&w, out, sizeof out);
    compress_init(&t);
    struct name www = from_text("www.example.com.");
    compress_write_name(&w, &t, &www); /* 0: www, 4: example, 12: com, 16: root */
    EXPECT_BYTES(out, w.pos, www.wire, www.len);
    EXPECT_UINT(t.count, 1);
    size_t at = w.pos;
    compress_write_name(&w, &t, &www);
    static const uint8_t want[] = {3,    'w', 'w', 'w',                     /* label "www" */
                                   7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
                                   0xC0, 0x0C};                             /* pointer to 12 */
    EXPECT_BYTES(out + at, w.pos - at, want, sizeof want);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
}

static void test_write_longest_name(void)
{
    /* 127 one-octet labels: 255 octets, the longest name, with the most suffixes. Written
     * again it is one pointer; any suffix of it is a pointer into it. */
    uint8_t out[12 + 255 + 16];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    char text[300] = "";
    for (int i = 0; i < 127; i++)
        strcat(text, i % 2 ? "b." : "a.");
    struct name n = from_text(text);
    EXPECT_UINT(n.len, NAME_WIRE_MAX);
    compress_write_name(&w, &t, &n);
    EXPECT_BYTES(out + 12, w.pos - 12, n.wire, n.len);
    EXPECT_UINT(t.count, 127);
    size_t at = w.pos;
    compress_write_name(&w, &t, &n);
    static const uint8_t whole[] = {0xC0, 0x0C}; /* pointer to 12 */
    EXPECT_BYTES(out + at, w.pos - at, whole, sizeof whole);
    at = w.pos;
    struct name tail = from_text(text + 2 * 100); /* the last 27 labels */
    compress_write_name(&w, &t, &tail);
    static const uint8_t tail_want[] = {0xC0, 12 + 2 * 100}; /* pointer to 212 */
    EXPECT_BYTES(out + at, w.pos - at, tail_want, sizeof tail_want);
    at = w.pos;
    struct name other = from_text("c.b.a."); /* the last two labels, behind a new one */
    compress_write_name(&w, &t, &other);
    static const uint8_t other_want[] = {1, 'c',      /* label "c" */
                                         0xC1, 0x06}; /* pointer to 262 (0x106): b.a. */
    EXPECT_BYTES(out + at, w.pos - at, other_want, sizeof other_want);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_READ(out, w.pos, at, "c.b.a.", w.pos);
}

static void test_write_rollback_forgets(void)
{
    uint8_t out[128];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    size_t wmark = buf_writer_mark(&w);
    size_t tmark = compress_mark(&t);

    struct name www = from_text("www.example.com.");
    compress_write_name(&w, &t, &www);
    buf_writer_rollback(&w, wmark);
    compress_rollback(&t, tmark);
    EXPECT_UINT(t.count, tmark);

    /* Shares "example.com." with the rolled-back name: must not point at 16. */
    struct name mail = from_text("mail.example.com.");
    compress_write_name(&w, &t, &mail);
    EXPECT_BYTES(out + 12, w.pos - 12, mail.wire, mail.len);

    buf_writer_rollback(&w, wmark);
    compress_rollback(&t, tmark);
    /* The same name again: full labels, not a pointer to itself at 12. */
    compress_write_name(&w, &t, &www);
    EXPECT_BYTES(out + 12, w.pos - 12, www.wire, www.len);
    /* ...and from now on the new copy is the one pointed at. */
    size_t at = w.pos;
    compress_write_name(&w, &t, &www);
    static const uint8_t ptr[] = {0xC0, 0x0C};
    EXPECT_BYTES(out + at, w.pos - at, ptr, sizeof ptr);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
}

static void test_write_no_room(void)
{
    uint8_t out[12 + 16];
    struct buf_writer w;
    struct compress_table t;
    struct name www = from_text("www.example.com."); /* 17 octets */

    start_message(&w, out, sizeof out, &t); /* 16 bytes of room */
    compress_write_name(&w, &t, &www);
    CU_ASSERT_FALSE(buf_writer_ok(&w));

    /* The new label fits but the pointer after it does not. */
    start_message(&w, out, sizeof out, &t);
    struct name com = from_text("com.");
    compress_write_name(&w, &t, &com); /* 5 bytes: 11 left */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    struct name long_label = from_text("abcdefghi.com."); /* 10 + pointer 2 = 12 */
    compress_write_name(&w, &t, &long_label);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
}

static void test_write_many_names(void)
{
    /* More distinct suffixes than the table holds: names past that are
     * written longer, but every one still reads back the same. */
    enum { COUNT = COMPRESS_ENTRIES_MAX + 50 };
    static uint8_t out[COUNT * 24 + 12];
    static size_t where[COUNT];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    char text[64];
    for (int i = 0; i < COUNT; i++) {
        snprintf(text, sizeof text, "h%d.Zone%d.example.", i, i % 7);
        struct name n = from_text(text);
        where[i] = w.pos;
        compress_write_name(&w, &t, &n);
    }
    CU_ASSERT_TRUE_FATAL(buf_writer_ok(&w));
    CU_ASSERT_TRUE(t.count <= COMPRESS_ENTRIES_MAX);
    for (int i = 0; i < COUNT; i++) {
        snprintf(text, sizeof text, "h%d.Zone%d.example.", i, i % 7);
        struct buf_reader r;
        struct name got;
        buf_reader_init(&r, out, w.pos);
        buf_seek(&r, where[i]);
        enum name_status st = name_read(&r, &got);
        if (st != NAME_OK) {
            EXPECT_STATUS(st, NAME_OK);
            break;
        }
        char back[NAME_TEXT_MAX];
        name_to_text(&got, back, sizeof back);
        if (strcmp(back, text) != 0) {
            EXPECT_STR(back, text);
            break;
        }
    }
}

/* `n` with the letters of its first label upper-cased where `mask` has a bit (bit k: letter k). */
static struct name spelled(const struct name *n, unsigned mask)
{
    struct name out = *n;
    for (unsigned k = 0; k < out.wire[0]; k++) /* the first label's letters */
        if (mask & (1u << k))
            out.wire[1 + k] = (uint8_t)(out.wire[1 + k] - ('a' - 'A'));
    return out;
}

static void test_write_misses_bounded(void)
{
    /* Spellings of one name that differ only in letter case hash alike (the hash ignores case)
     * but are other bytes, and a pointer repeats bytes: each earlier spelling is a hash match
     * that costs a read and fails. Spelling k meets k of them, so the misses add up fast:
     * 1 + 2 + ... + 7 = 28 after seven, 32 during the eighth, where the table stops reading. */
    static uint8_t out[1024];
    struct buf_writer w;
    struct compress_table t;
    start_message(&w, out, sizeof out, &t);
    struct name first = from_text("abcdef.example.com.");
    compress_write_name(&w, &t, &first);
    EXPECT_UINT(t.misses, 0);
    static const uint8_t to_example[] = {0xC0, 12 + 7}; /* -> "example.com." inside the first */
    unsigned mask = 1;
    /* Bounded by the 63 other spellings of "abcdef"; the misses stop it after eight. */
    for (; mask < 64 && t.misses < COMPRESS_MISSES_MAX; mask++) {
        struct name n = spelled(&first, mask);
        unsigned before = t.misses;
        size_t at = w.pos;
        compress_write_name(&w, &t, &n);
        CU_ASSERT_TRUE(t.misses > before); /* one read at least, and it failed */
        /* Its own first label, then a pointer to the suffix it shares byte for byte; the name
         * that reaches the bound, whole (the table stops looking at once). */
        EXPECT_BYTES(out + at, 7, n.wire, 7);
        if (t.misses < COMPRESS_MISSES_MAX)
            EXPECT_BYTES(out + at + 7, w.pos - at - 7, to_example, sizeof to_example);
        else
            EXPECT_BYTES(out + at, w.pos - at, n.wire, n.len);
        char text[NAME_TEXT_MAX];
        name_to_text(&n, text, sizeof text);
        EXPECT_READ(out, w.pos, at, text, w.pos); /* it reads back as spelled */
    }
    EXPECT_UINT(mask, 9);
    EXPECT_UINT(t.misses, COMPRESS_MISSES_MAX);

    /* Past the bound nothing is read back, not even a true repeat: the first spelling again,
     * and another, come out whole, longer but never wrong. */
    static const unsigned after[] = {0, 9};
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) { /* two names */
        struct name n = spelled(&first, after[i]);
        size_t at = w.pos;
        compress_write_name(&w, &t, &n);
        EXPECT_BYTES(out + at, w.pos - at, n.wire, n.len);
    }
    EXPECT_UINT(t.misses, COMPRESS_MISSES_MAX);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
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

/* What fuzz_roundtrip does, on one reply written by step 5: parse it (msg_parse()), write it
 * again with a compression table, field by field as the record-type table lays each RDATA out
 * (RDATA_NAME through the table, as resp.c does), and get the same bytes back. */
static void test_reply_round_trip(void)
{
    static struct msg m; /* large */
    struct buf_writer w;
    static struct compress_table table;
    uint8_t out[sizeof reply_apex_mx + 64];

    CU_ASSERT_EQUAL_FATAL(msg_parse(reply_apex_mx, sizeof reply_apex_mx, &m), MSG_OK);
    buf_writer_init(&w, out, sizeof out);
    compress_init(&table);
    hdr_encode(&w, &m.hdr);
    EXPECT_UINT(m.qdcount, 1);
    compress_write_name(&w, &table, &m.question[0].qname);
    buf_write_u16(&w, m.question[0].qtype);
    buf_write_u16(&w, m.question[0].qclass);
    size_t records = m.count[MSG_ANSWER] + m.count[MSG_AUTHORITY] + m.count[MSG_ADDITIONAL];
    EXPECT_UINT(records, 4);
    for (size_t i = 0; i < records; i++) {
        const struct msg_record *rec = &m.record[i];
        struct name owner;
        msg_record_owner(&m, rec, &owner);
        compress_write_name(&w, &table, &owner);
        buf_write_u16(&w, rec->type);
        buf_write_u16(&w, rec->class_);
        buf_write_u32(&w, rec->ttl);
        size_t rdlength_at = w.pos;
        buf_write_u16(&w, 0);
        struct buf_reader r; /* ends where the RDATA ends; names may point before it */
        buf_reader_init(&r, reply_apex_mx, (size_t)rec->rdata + rec->rdlength);
        buf_seek(&r, rec->rdata);
        struct rdata_iter it;
        rdata_iter_init(&it, rdata_find(rec->type));
        for (const struct rdata_field *f; (f = rdata_iter_next(&it, &r)) != NULL;) {
            struct rdata_value v;
            EXPECT_INT(rdata_read(&r, f->kind, &v), RDATA_OK);
            if (f->kind == RDATA_NAME)
                compress_write_name(&w, &table, &v.name);
            else
                buf_write_bytes(&w, reply_apex_mx + v.start, v.end - v.start);
        }
        EXPECT_UINT(buf_remaining(&r), 0);
        buf_write_u16_at(&w, rdlength_at, (uint16_t)(w.pos - rdlength_at - 2));
    }
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_BYTES(out, w.pos, reply_apex_mx, sizeof reply_apex_mx);
}

void test_compress_register(void)
{
    CU_pSuite s = CU_add_suite("compress", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "write: repeat is a pointer", test_write_compressed_repeat);
    CU_add_test(s, "write: shared suffix is a pointer", test_write_compressed_suffix);
    CU_add_test(s, "write: case kept, suffixes match with case", test_write_keeps_case);
    CU_add_test(s, "write: names past 0x3FFF not recorded", test_write_past_pointer_max);
    CU_add_test(s, "write: name straddling 0x3FFF", test_write_straddling_pointer_max);
    CU_add_test(s, "write: nothing below offset 12 recorded", test_write_in_header_not_recorded);
    CU_add_test(s, "write: the longest name, its suffixes", test_write_longest_name);
    CU_add_test(s, "write: rollback forgets entries", test_write_rollback_forgets);
    CU_add_test(s, "write: no room sets the error", test_write_no_room);
    CU_add_test(s, "write: more names than the table holds", test_write_many_names);
    CU_add_test(s, "write: at most COMPRESS_MISSES_MAX failed reads", test_write_misses_bounded);
    CU_add_test(s, "step-5 reply: parse, re-compress, same bytes", test_reply_round_trip);
}
