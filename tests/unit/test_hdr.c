/* test_hdr.c: unit tests of common/hdr.c — the 12-byte header, its flags and the reply header. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "hdr.h"
#include "tests.h"

/* Every field distinct, so a field read from or written to the wrong bytes
 * shows (the classic mistake: ANCOUNT from buf[5] instead of buf[6]). */
static const uint8_t distinct[] = {
    0x12, 0x34, /* ID 0x1234 */
    0x81, 0xA3, /* flags: QR, OPCODE 0, RD, RA, AD, RCODE 3 */
    0x01, 0x02, /* QDCOUNT 0x0102 */
    0x03, 0x04, /* ANCOUNT 0x0304 */
    0x05, 0x06, /* NSCOUNT 0x0506 */
    0x07, 0x08, /* ARCOUNT 0x0708 */
};

static void test_decode(void)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, distinct, sizeof distinct);
    hdr_decode(&r, &h);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, DNS_HEADER_SIZE);
    EXPECT_UINT(h.id, 0x1234);
    EXPECT_UINT(h.flags, 0x81A3);
    EXPECT_UINT(h.qdcount, 0x0102);
    EXPECT_UINT(h.ancount, 0x0304);
    EXPECT_UINT(h.nscount, 0x0506);
    EXPECT_UINT(h.arcount, 0x0708);
    CU_ASSERT_TRUE(hdr_flag(&h, HDR_QR));
    CU_ASSERT_TRUE(hdr_flag(&h, HDR_RD));
    CU_ASSERT_TRUE(hdr_flag(&h, HDR_RA));
    CU_ASSERT_TRUE(hdr_flag(&h, HDR_AD));
    CU_ASSERT_FALSE(hdr_flag(&h, HDR_AA));
    CU_ASSERT_FALSE(hdr_flag(&h, HDR_TC));
    CU_ASSERT_FALSE(hdr_flag(&h, HDR_Z));
    CU_ASSERT_FALSE(hdr_flag(&h, HDR_CD));
    EXPECT_UINT(hdr_opcode(&h), 0);
    EXPECT_UINT(hdr_rcode(&h), 3);
}

static void test_decode_leaves_the_rest(void)
{
    /* hdr_decode reads 12 bytes and not one more. */
    uint8_t longer[16];
    memcpy(longer, distinct, 12);
    memcpy(longer + 12, "\xAA\xBB\xCC\xDD", 4);
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, longer, sizeof longer);
    hdr_decode(&r, &h);
    EXPECT_UINT(r.pos, 12);
    EXPECT_UINT(buf_read_u8(&r), 0xAA);
}

static void test_encode(void)
{
    struct hdr h = {
        .id = 0x1234,
        .flags = 0x81A3,
        .qdcount = 0x0102,
        .ancount = 0x0304,
        .nscount = 0x0506,
        .arcount = 0x0708,
    };
    uint8_t out[14];
    memset(out, 0xEE, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    hdr_encode(&w, &h);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 12);
    EXPECT_BYTES(out, w.pos, distinct, sizeof distinct);
    EXPECT_UINT(out[12], 0xEE);
}

static void test_round_trip(void)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, distinct, sizeof distinct);
    hdr_decode(&r, &h);
    uint8_t out[12];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    hdr_encode(&w, &h);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_BYTES(out, w.pos, distinct, sizeof distinct);
}

static void test_encode_no_room(void)
{
    struct hdr h = {.id = 1};
    uint8_t out[11];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    hdr_encode(&w, &h);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
}

static void test_decode_short(void)
{
    struct buf_reader r;
    struct hdr h;
    memset(&h, 0xAB, sizeof h);
    buf_reader_init(&r, distinct, 11);
    hdr_decode(&r, &h);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    /* Left zeroed, not half filled. */
    EXPECT_UINT(h.id, 0);
    EXPECT_UINT(h.flags, 0);
    EXPECT_UINT(h.qdcount, 0);
    EXPECT_UINT(h.ancount, 0);
    EXPECT_UINT(h.nscount, 0);
    EXPECT_UINT(h.arcount, 0);

    buf_reader_init(&r, distinct, 0);
    hdr_decode(&r, &h);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(h.id, 0);
}

/* Encodes `h` and returns its flags bytes 2-3 as a number. */
static unsigned wire_flags(const struct hdr *h)
{
    uint8_t out[12];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    hdr_encode(&w, h);
    return (unsigned)out[2] << 8 | out[3];
}

static void test_each_flag_alone(void)
{
    static const struct {
        uint16_t flag;
        uint8_t byte2, byte3; /* where it lands on the wire, per RFC 1035 4.1.1 */
    } flags[] = {
        {HDR_QR, 0x80, 0x00}, {HDR_AA, 0x04, 0x00}, {HDR_TC, 0x02, 0x00}, {HDR_RD, 0x01, 0x00},
        {HDR_RA, 0x00, 0x80}, {HDR_Z, 0x00, 0x40},  {HDR_AD, 0x00, 0x20}, {HDR_CD, 0x00, 0x10},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        struct hdr h;
        memset(&h, 0, sizeof h);
        hdr_set_flag(&h, flags[i].flag, true);
        EXPECT_UINT(h.flags, flags[i].flag);
        CU_ASSERT_TRUE(hdr_flag(&h, flags[i].flag));
        EXPECT_UINT(wire_flags(&h), (unsigned)flags[i].byte2 << 8 | flags[i].byte3);
        /* ...and read back from the wire it is that flag and no other. */
        uint8_t in[12] = {0};
        in[2] = flags[i].byte2;
        in[3] = flags[i].byte3;
        struct buf_reader r;
        struct hdr back;
        buf_reader_init(&r, in, sizeof in);
        hdr_decode(&r, &back);
        EXPECT_UINT(back.flags, flags[i].flag);

        /* Cleared alone, from all ones. */
        h.flags = 0xFFFF;
        hdr_set_flag(&h, flags[i].flag, false);
        EXPECT_UINT(h.flags, 0xFFFFu & ~(unsigned)flags[i].flag);
        CU_ASSERT_FALSE(hdr_flag(&h, flags[i].flag));
    }
}

static void test_opcode_rcode_accessors(void)
{
    struct hdr h;
    memset(&h, 0, sizeof h);
    h.flags = HDR_QR | HDR_AA | HDR_RD | HDR_CD;
    hdr_set_opcode(&h, DNS_OPCODE_UPDATE);
    EXPECT_UINT(hdr_opcode(&h), 5);
    EXPECT_UINT(h.flags, HDR_QR | HDR_AA | HDR_RD | HDR_CD | 5u << 11);
    hdr_set_rcode(&h, DNS_RCODE_REFUSED);
    EXPECT_UINT(hdr_rcode(&h), 5);
    EXPECT_UINT(hdr_opcode(&h), 5);
    EXPECT_UINT(h.flags, HDR_QR | HDR_AA | HDR_RD | HDR_CD | 5u << 11 | 5u);
    /* The largest values fill their fields exactly... */
    hdr_set_opcode(&h, 15);
    hdr_set_rcode(&h, 15);
    EXPECT_UINT(h.flags, HDR_QR | HDR_AA | HDR_RD | HDR_CD | 0x7800u | 0x000Fu);
    /* ...and values too big are cut to the field, never spilling into flags. */
    h.flags = 0;
    hdr_set_opcode(&h, 0x1F);
    EXPECT_UINT(h.flags, 0x7800);
    h.flags = 0;
    hdr_set_rcode(&h, 0x1F);
    EXPECT_UINT(h.flags, 0x000F);
    /* Setting back to 0 clears only the field. */
    h.flags = 0xFFFF;
    hdr_set_opcode(&h, 0);
    EXPECT_UINT(h.flags, 0x87FF);
    h.flags = 0xFFFF;
    hdr_set_rcode(&h, 0);
    EXPECT_UINT(h.flags, 0xFFF0);
    /* On the wire: OPCODE 2 (STATUS) is 0x10 in byte 2. */
    memset(&h, 0, sizeof h);
    hdr_set_opcode(&h, DNS_OPCODE_STATUS);
    EXPECT_UINT(wire_flags(&h), 0x1000);
}

static void test_reply_to(void)
{
    struct hdr q = {
        .id = 0xBEEF,
        .flags = 0,
        .qdcount = 1,
        .ancount = 2,
        .nscount = 3,
        .arcount = 4,
    };
    /* A query with every flag set, OPCODE 5 and RCODE 15 (nonsense, but
     * it shows which bits are copied). */
    q.flags = HDR_AA | HDR_TC | HDR_RD | HDR_RA | HDR_Z | HDR_AD | HDR_CD | 0x000F;
    hdr_set_opcode(&q, DNS_OPCODE_UPDATE);
    struct hdr r = hdr_reply_to(&q, DNS_RCODE_NXDOMAIN);
    EXPECT_UINT(r.id, 0xBEEF);
    EXPECT_UINT(r.flags, HDR_QR | 5u << 11 | HDR_RD | DNS_RCODE_NXDOMAIN);
    EXPECT_UINT(r.qdcount, 0);
    EXPECT_UINT(r.ancount, 0);
    EXPECT_UINT(r.nscount, 0);
    EXPECT_UINT(r.arcount, 0);

    /* RD clear in the query stays clear. */
    struct hdr q2;
    memset(&q2, 0, sizeof q2);
    q2.id = 7;
    struct hdr r2 = hdr_reply_to(&q2, DNS_RCODE_NOERROR);
    EXPECT_UINT(r2.id, 7);
    EXPECT_UINT(r2.flags, HDR_QR);
}

void test_hdr_register(void)
{
    CU_pSuite s = CU_add_suite("hdr", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "decode: every field from its bytes", test_decode);
    CU_add_test(s, "decode reads exactly 12 bytes", test_decode_leaves_the_rest);
    CU_add_test(s, "encode: every field to its bytes", test_encode);
    CU_add_test(s, "decode/encode round trip", test_round_trip);
    CU_add_test(s, "encode without room", test_encode_no_room);
    CU_add_test(s, "decode short input", test_decode_short);
    CU_add_test(s, "each flag set and cleared alone", test_each_flag_alone);
    CU_add_test(s, "opcode and rcode accessors", test_opcode_rcode_accessors);
    CU_add_test(s, "reply_to", test_reply_to);
}
