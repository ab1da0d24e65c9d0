/* test_rdata.c: unit tests of common/rdata.c — the record-type table, walking and unpacking RDATA.
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "rdata.h"
#include "tests.h"

static void test_rows(void)
{
    /* Every row is found by its type, in type order, with a sane shape. */
    size_t count;
    const struct rdata_type *rows = rdata_table(&count);
    CU_ASSERT_TRUE_FATAL(count >= 10);
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_PTR_EQUAL(rdata_find(rows[i].type), &rows[i]);
        CU_ASSERT_TRUE(rows[i].count >= 1 && rows[i].count <= RDATA_FIELDS_MAX);
        CU_ASSERT_TRUE(rows[i].additional < (int)rows[i].count);
        if (rows[i].additional >= 0)
            CU_ASSERT_TRUE(rdata_is_name(rows[i].field[rows[i].additional].kind));
        if (i > 0)
            CU_ASSERT_TRUE(rows[i - 1].type < rows[i].type);
        /* Only the last field may repeat: the walk relies on it. */
        for (unsigned f = 0; f + 1 < rows[i].count; f++)
            CU_ASSERT_TRUE(rows[i].field[f].kind != RDATA_STRINGS &&
                           rows[i].field[f].kind != RDATA_OPTIONS);
    }
    CU_ASSERT_PTR_NULL(rdata_find(DNS_TYPE_DS));
    CU_ASSERT_PTR_NULL(rdata_find(65280));

    const struct rdata_type *mx = rdata_find(DNS_TYPE_MX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mx);
    EXPECT_UINT(mx->count, 2);
    EXPECT_UINT(mx->field[0].kind, RDATA_U16);
    EXPECT_STR(mx->field[0].name, "PREFERENCE");
    EXPECT_UINT(mx->field[1].kind, RDATA_NAME);
    EXPECT_INT(mx->additional, 1);
    EXPECT_INT(rdata_find(DNS_TYPE_NS)->additional, 0);
    EXPECT_INT(rdata_find(DNS_TYPE_CNAME)->additional, -1);
    /* SRV came after RFC 1035: its target is never compressed (RFC 2782). */
    EXPECT_UINT(rdata_find(DNS_TYPE_SRV)->field[3].kind, RDATA_NAME_PLAIN);
    CU_ASSERT_TRUE(rdata_find(DNS_TYPE_OPT)->pseudo);
    CU_ASSERT_FALSE(rdata_find(DNS_TYPE_A)->pseudo);
}

static void test_fixed_size(void)
{
    EXPECT_UINT(rdata_fixed_size(rdata_find(DNS_TYPE_A)), 4);
    EXPECT_UINT(rdata_fixed_size(rdata_find(DNS_TYPE_AAAA)), 16);
    EXPECT_UINT(rdata_fixed_size(rdata_find(DNS_TYPE_MX)), 0);
    EXPECT_UINT(rdata_fixed_size(rdata_find(DNS_TYPE_TXT)), 0);
    EXPECT_UINT(rdata_fixed_size(NULL), 0);
}

/* The kinds of the fields rdata_iter_next() returns over `rdata`, reading
 * each with rdata_read(); returns how many, or -1 if a read failed. */
static int walk(uint16_t type, const uint8_t *rdata, size_t len, enum rdata_kind *kinds,
                size_t *left)
{
    struct buf_reader r;
    struct rdata_iter it;
    buf_reader_init(&r, rdata, len);
    rdata_iter_init(&it, rdata_find(type));
    int n = 0;
    for (const struct rdata_field *f; (f = rdata_iter_next(&it, &r)) != NULL && n < 16;) {
        struct rdata_value v;
        kinds[n++] = f->kind;
        if (rdata_read(&r, f->kind, &v) != RDATA_OK)
            return -1;
    }
    *left = buf_remaining(&r);
    return n;
}

static void test_iter(void)
{
    enum rdata_kind k[16];
    size_t left;
    /* TXT: three strings, then the end. */
    static const uint8_t txt[] = {1, 'a', 0, 2, 'b', 'c'};
    EXPECT_INT(walk(DNS_TYPE_TXT, txt, sizeof txt, k, &left), 3);
    EXPECT_UINT(left, 0);
    /* TXT needs one string even when there are no bytes: the read fails. */
    EXPECT_INT(walk(DNS_TYPE_TXT, txt, 0, k, &left), -1);
    /* OPT: options may be none at all. */
    EXPECT_INT(walk(DNS_TYPE_OPT, txt, 0, k, &left), 0);
    static const uint8_t opt[] = {
        0x00, 0x0a, 0x00, 0x02, 0xAB, 0xCD, /* COOKIE, 2 bytes */
        0x00, 0x0c, 0x00, 0x00,             /* PADDING, 0 bytes */
    };
    EXPECT_INT(walk(DNS_TYPE_OPT, opt, sizeof opt, k, &left), 2);
    EXPECT_UINT(k[1], RDATA_OPTIONS);
    /* A type without a row: one opaque field, whatever its size. */
    EXPECT_INT(walk(65280, txt, sizeof txt, k, &left), 1);
    EXPECT_UINT(k[0], RDATA_OPAQUE);
    EXPECT_UINT(left, 0);
    EXPECT_INT(walk(65280, txt, 0, k, &left), 1);
    /* A: one field; what is left is the caller's to refuse. */
    static const uint8_t a5[] = {192, 0, 2, 1, 9};
    EXPECT_INT(walk(DNS_TYPE_A, a5, sizeof a5, k, &left), 1);
    EXPECT_UINT(left, 1);
}

static void test_read_values(void)
{
    static const uint8_t srv[] = {
        0x00, 0x0a,              /* PRIORITY 10 */
        0x00, 0x05,              /* WEIGHT 5 */
        0x14, 0xe9,              /* PORT 5353 */
        3,    'w',  'w', 'w', 0, /* TARGET www. */
    };
    struct buf_reader r;
    struct rdata_value v;
    buf_reader_init(&r, srv, sizeof srv);
    EXPECT_UINT(rdata_read(&r, RDATA_U16, &v), RDATA_OK);
    EXPECT_UINT(v.number, 10);
    EXPECT_UINT(v.start, 0);
    EXPECT_UINT(v.end, 2);
    rdata_read(&r, RDATA_U16, &v);
    EXPECT_UINT(rdata_read(&r, RDATA_U16, &v), RDATA_OK);
    EXPECT_UINT(v.number, 5353);
    EXPECT_UINT(rdata_read(&r, RDATA_NAME_PLAIN, &v), RDATA_OK);
    EXPECT_UINT(v.name.len, 5);
    EXPECT_UINT(v.start, 6);
    EXPECT_UINT(v.end, 11);
    /* Past the end: short, and the reader's error set. */
    EXPECT_UINT(rdata_read(&r, RDATA_U32, &v), RDATA_ERR_SHORT);
    CU_ASSERT_FALSE(buf_reader_ok(&r));

    /* A string longer than what is left. */
    static const uint8_t str[] = {5, 'a', 'b'};
    buf_reader_init(&r, str, sizeof str);
    EXPECT_UINT(rdata_read(&r, RDATA_STRING, &v), RDATA_ERR_SHORT);
    /* A name with a label type 01: not short, bad. */
    static const uint8_t bad[] = {0x41, 'a', 0};
    buf_reader_init(&r, bad, sizeof bad);
    EXPECT_UINT(rdata_read(&r, RDATA_NAME, &v), RDATA_ERR_NAME);
}

/* A reply whose MX RDATA points back into the question: what rdata_unpack
 * is for. */
static const uint8_t mx_reply[] = {
    0x12,           0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* header */
    /* 12: */ 7,    'e',  'x',  'a',  'm',  'p',  'l',  'e', /* "example" */
    /* 20: */ 3,    'c',  'o',  'm',  0,                     /* "com", root */
    /* 25: */ 0x00, 0x0f, 0x00, 0x01,                        /* MX IN */
    /* 29: */ 0xc0, 0x0c,                                    /* owner -> 12 */
    /* 31: */ 0x00, 0x0f, 0x00, 0x01,                        /* MX IN */
    /* 35: */ 0x00, 0x00, 0x0e, 0x10,                        /* TTL 3600 */
    /* 39: */ 0x00, 0x09,                                    /* RDLENGTH 9 */
    /* 41: */ 0x00, 0x0a,                                    /* PREFERENCE 10 */
    /* 43: */ 4,    'm',  'a',  'i',  'l',                   /* "mail" */
    /* 48: */ 0xc0, 0x0c,                                    /* -> 12 */
};

static void test_unpack(void)
{
    struct buf_reader r;
    struct buf_writer w;
    uint8_t out[64];
    buf_reader_init(&r, mx_reply, sizeof mx_reply);
    buf_seek(&r, 41);
    buf_writer_init(&w, out, sizeof out);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_MX, 9, &w), RDATA_OK);
    EXPECT_UINT(r.pos, sizeof mx_reply);
    static const uint8_t want[] = {
        0x00, 0x0a,                               /* PREFERENCE 10 */
        4,    'm',  'a', 'i', 'l',                /* "mail" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example", decompressed */
        3,    'c',  'o', 'm', 0,                  /* "com", root */
    };
    EXPECT_BYTES(out, w.pos, want, sizeof want);

    /* Checking only (no writer) gives the same verdict. */
    buf_seek(&r, 41);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_MX, 9, NULL), RDATA_OK);

    /* RDLENGTH one short: the name runs past the RDATA, though the message
     * goes on. */
    buf_reader_init(&r, mx_reply, sizeof mx_reply);
    buf_seek(&r, 41);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_MX, 8, NULL), RDATA_ERR_SHORT);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    /* RDLENGTH past the message. */
    buf_reader_init(&r, mx_reply, sizeof mx_reply);
    buf_seek(&r, 41);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_MX, 10, NULL), RDATA_ERR_SHORT);
    /* No room for the decompressed form. */
    buf_reader_init(&r, mx_reply, sizeof mx_reply);
    buf_seek(&r, 41);
    buf_writer_init(&w, out, 10);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_MX, 9, &w), RDATA_ERR_ROOM);

    /* An A record of 5 bytes: one left over. */
    static const uint8_t a5[] = {192, 0, 2, 1, 9};
    buf_reader_init(&r, a5, sizeof a5);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_A, 5, NULL), RDATA_ERR_LEFTOVER);
    /* A name whose pointer points forward (at itself). */
    static const uint8_t self[] = {
        0x12, 0x34, 0x81, 0x80, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* header */
        0xc0, 0x0c, /* 12: CNAME RDATA: a pointer to itself */
    };
    buf_reader_init(&r, self, sizeof self);
    buf_seek(&r, 12);
    EXPECT_UINT(rdata_unpack(&r, DNS_TYPE_CNAME, 2, NULL), RDATA_ERR_NAME);
    /* A type without a row is copied as it is. */
    buf_reader_init(&r, a5, sizeof a5);
    buf_writer_init(&w, out, sizeof out);
    EXPECT_UINT(rdata_unpack(&r, 65280, 5, &w), RDATA_OK);
    EXPECT_BYTES(out, w.pos, a5, sizeof a5);
    EXPECT_STR(rdata_strerror(RDATA_ERR_LEFTOVER), "bytes left over after the RDATA fields");
}

static void test_name_at(void)
{
    static const uint8_t mx[] = {0x00, 0x0a, 4, 'm', 'a', 'i', 'l', 0};
    const struct rdata_type *row = rdata_find(DNS_TYPE_MX);
    struct name n;
    CU_ASSERT_TRUE(rdata_name_at(row, mx, sizeof mx, 1, &n));
    static const uint8_t mail[] = {4, 'm', 'a', 'i', 'l', 0};
    EXPECT_BYTES(n.wire, n.len, mail, sizeof mail);
    CU_ASSERT_FALSE(rdata_name_at(row, mx, sizeof mx, 0, &n));  /* a number */
    CU_ASSERT_FALSE(rdata_name_at(row, mx, sizeof mx, 2, &n));  /* no such field */
    CU_ASSERT_FALSE(rdata_name_at(row, mx, sizeof mx, -1, &n)); /* "none" */
    CU_ASSERT_FALSE(rdata_name_at(row, mx, 5, 1, &n));          /* cut short */
    CU_ASSERT_FALSE(rdata_name_at(NULL, mx, sizeof mx, 0, &n));
}

void test_rdata_register(void)
{
    CU_pSuite s = CU_add_suite("rdata", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "rows: found by type, sane shapes", test_rows);
    CU_add_test(s, "fixed sizes", test_fixed_size);
    CU_add_test(s, "iterating fields: repeats, none, opaque", test_iter);
    CU_add_test(s, "reading values of each kind", test_read_values);
    CU_add_test(s, "unpack: decompressed, short, leftover, room", test_unpack);
    CU_add_test(s, "name_at", test_name_at);
}
