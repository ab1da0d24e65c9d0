/* test_buf.c: unit tests of common/buf.c — the checked reader and writer and their sticky error. */
#include <string.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "tests.h"

/* Reader ---------------------------------------------------------------------- */

/* Every byte distinct, so a swapped or repeated byte shows in the value. */
static const uint8_t seven[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD};

static void test_read_big_endian(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    EXPECT_UINT(r.pos, 0);
    EXPECT_UINT(buf_remaining(&r), 7);

    EXPECT_UINT(buf_read_u8(&r), 0x01);
    EXPECT_UINT(r.pos, 1);
    EXPECT_UINT(buf_read_u16(&r), 0x2345);
    EXPECT_UINT(r.pos, 3);
    EXPECT_UINT(buf_read_u32(&r), 0x6789ABCDu);
    EXPECT_UINT(r.pos, 7);
    EXPECT_UINT(buf_remaining(&r), 0);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
}

static void test_read_u32_high_bit(void)
{
    /* 0xFF in the top byte must not sign-extend through int on the way. */
    static const uint8_t ff[] = {0xFF, 0xFE, 0xFD, 0xFC};
    struct buf_reader r;
    buf_reader_init(&r, ff, sizeof ff);
    EXPECT_UINT(buf_read_u32(&r), 0xFFFEFDFCu);
    buf_reader_init(&r, ff, sizeof ff);
    EXPECT_UINT(buf_read_u16(&r), 0xFFFE);
    EXPECT_UINT(buf_read_u16(&r), 0xFDFC);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
}

static void test_read_exact_end_is_ok(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, 4);
    EXPECT_UINT(buf_read_u32(&r), 0x01234567u);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
    EXPECT_UINT(buf_remaining(&r), 0);
}

static void test_read_past_end_u16(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, 3);
    EXPECT_UINT(buf_read_u16(&r), 0x0123);
    /* One byte left: a u16 does not fit. */
    EXPECT_UINT(buf_read_u16(&r), 0);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 2);
    EXPECT_UINT(buf_remaining(&r), 0);
}

static void test_read_past_end_u32(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, 3);
    EXPECT_UINT(buf_read_u32(&r), 0);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 0);
}

static void test_read_past_end_u8(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, 0);
    EXPECT_UINT(buf_read_u8(&r), 0);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 0);
}

static void test_read_error_is_sticky(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    buf_skip(&r, 5);
    EXPECT_UINT(buf_read_u32(&r), 0); /* 2 left: fails */
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 5);
    /* Both of these would fit in the 2 bytes left, but the error is sticky. */
    EXPECT_UINT(buf_read_u8(&r), 0);
    EXPECT_UINT(buf_read_u16(&r), 0);
    EXPECT_UINT(r.pos, 5);
    uint8_t out[1] = {0x55};
    buf_read_bytes(&r, out, 1);
    EXPECT_UINT(out[0], 0);
    buf_skip(&r, 1);
    EXPECT_UINT(r.pos, 5);
    buf_seek(&r, 0);
    EXPECT_UINT(r.pos, 5);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(buf_remaining(&r), 0);
}

static void test_read_bytes(void)
{
    struct buf_reader r;
    uint8_t out[4];
    buf_reader_init(&r, seven, sizeof seven);
    buf_skip(&r, 1);
    buf_read_bytes(&r, out, 4);
    static const uint8_t want[] = {0x23, 0x45, 0x67, 0x89};
    EXPECT_BYTES(out, sizeof out, want, sizeof want);
    EXPECT_UINT(r.pos, 5);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
}

static void test_read_bytes_zero_fills_on_failure(void)
{
    struct buf_reader r;
    uint8_t out[8];
    memset(out, 0xEE, sizeof out);
    buf_reader_init(&r, seven, sizeof seven);
    buf_skip(&r, 2);
    buf_read_bytes(&r, out, 6); /* 5 left */
    static const uint8_t zeros[8] = {0};
    EXPECT_BYTES(out, 6, zeros, 6);
    /* Only the `n` bytes asked for are touched. */
    EXPECT_UINT(out[6], 0xEE);
    EXPECT_UINT(out[7], 0xEE);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 2);
}

static void test_read_huge_length_does_not_wrap(void)
{
    /* pos + n would overflow size_t: the check must be n > len - pos. */
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    buf_skip(&r, 3);
    buf_skip(&r, SIZE_MAX - 1);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 3);
}

static void test_skip(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    buf_skip(&r, 6);
    EXPECT_UINT(r.pos, 6);
    EXPECT_UINT(buf_read_u8(&r), 0xCD);
    buf_skip(&r, 0);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
    buf_skip(&r, 1);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 7);
}

static void test_seek(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    buf_seek(&r, 5);
    EXPECT_UINT(r.pos, 5);
    EXPECT_UINT(buf_read_u8(&r), 0xAB);
    buf_seek(&r, 1);
    EXPECT_UINT(buf_read_u8(&r), 0x23);
    /* The end itself is a valid position: nothing left to read. */
    buf_seek(&r, 7);
    CU_ASSERT_TRUE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 7);
    EXPECT_UINT(buf_remaining(&r), 0);
}

static void test_seek_past_end(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    buf_skip(&r, 2);
    buf_seek(&r, 8);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(r.pos, 2);
    EXPECT_UINT(buf_read_u8(&r), 0);
}

static void test_reader_fail(void)
{
    struct buf_reader r;
    buf_reader_init(&r, seven, sizeof seven);
    buf_reader_fail(&r);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_UINT(buf_read_u8(&r), 0);
    EXPECT_UINT(buf_remaining(&r), 0);
    EXPECT_UINT(r.pos, 0);
}

/* Writer ---------------------------------------------------------------------- */

enum { CANARY = 0xA5 };

static void test_write_big_endian(void)
{
    uint8_t out[16];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    EXPECT_UINT(buf_writer_room(&w), 16);
    buf_write_u8(&w, 0x01);
    buf_write_u16(&w, 0x2345);
    buf_write_u32(&w, 0x6789ABCDu);
    buf_write_bytes(&w, "\xEF\x10", 2);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 9);
    EXPECT_UINT(buf_writer_room(&w), 7);
    static const uint8_t want[] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0x10, CANARY};
    EXPECT_BYTES(out, 10, want, sizeof want);
}

static void test_write_exact_fit(void)
{
    uint8_t out[8];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, 7);
    buf_write_u16(&w, 0x0102);
    buf_write_u8(&w, 0x03);
    buf_write_u32(&w, 0x04050607);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 7);
    EXPECT_UINT(buf_writer_room(&w), 0);
    static const uint8_t want[] = {1, 2, 3, 4, 5, 6, 7, CANARY};
    EXPECT_BYTES(out, sizeof out, want, sizeof want);
}

/* Fills 5 of 8 bytes, then tries a write one byte too big for what is left. */
static void write_one_over(int kind)
{
    uint8_t out[12];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    size_t room_needed[] = {1, 2, 4, 4};
    size_t cap = 5 + room_needed[kind] - 1;
    buf_writer_init(&w, out, cap);
    buf_write_bytes(&w, "\x11\x22\x33\x44\x55", 5);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    switch (kind) {
    case 0:
        /* cap 5: no room at all */
        buf_write_u8(&w, 0x99);
        break;
    case 1:
        buf_write_u16(&w, 0x9999);
        break;
    case 2:
        buf_write_u32(&w, 0x99999999u);
        break;
    default:
        buf_write_bytes(&w, "\x99\x99\x99\x99", 4);
        break;
    }
    CU_ASSERT_FALSE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 5);
    EXPECT_UINT(buf_writer_room(&w), 0);
    /* Nothing partial: every byte after the last good write is untouched. */
    static const uint8_t want[] = {0x11,   0x22,   0x33,   0x44,   0x55,   CANARY,
                                   CANARY, CANARY, CANARY, CANARY, CANARY, CANARY};
    EXPECT_BYTES(out, sizeof out, want, sizeof want);
}

static void test_write_u8_over(void)
{
    write_one_over(0);
}
static void test_write_u16_over(void)
{
    write_one_over(1);
}
static void test_write_u32_over(void)
{
    write_one_over(2);
}
static void test_write_bytes_over(void)
{
    write_one_over(3);
}

static void test_write_error_is_sticky(void)
{
    uint8_t out[8];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, 4);
    buf_write_u8(&w, 0x01);
    buf_write_u32(&w, 0x02030405); /* 3 left: fails */
    CU_ASSERT_FALSE(buf_writer_ok(&w));
    /* These would fit in the 3 bytes left, but the error is sticky. */
    buf_write_u8(&w, 0x06);
    buf_write_u16(&w, 0x0708);
    buf_write_bytes(&w, "\x09", 1);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 1);
    static const uint8_t want[] = {0x01, CANARY, CANARY, CANARY, CANARY};
    EXPECT_BYTES(out, 5, want, sizeof want);
}

static void test_write_huge_length_does_not_wrap(void)
{
    uint8_t out[4];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    buf_write_u8(&w, 1);
    /* Never dereferenced: the length check must fail first. */
    buf_write_bytes(&w, out, SIZE_MAX);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 1);
}

static void test_write_u16_at(void)
{
    uint8_t out[8];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    buf_write_u32(&w, 0);
    buf_write_u16(&w, 0);
    buf_write_u16_at(&w, 0, 0x0102);
    buf_write_u16_at(&w, 4, 0x0506); /* the last two bytes written */
    buf_write_u16_at(&w, 1, 0xABCD); /* overlapping, unaligned */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 6);
    static const uint8_t want[] = {0x01, 0xAB, 0xCD, 0x00, 0x05, 0x06, CANARY, CANARY};
    EXPECT_BYTES(out, sizeof out, want, sizeof want);
}

static void test_write_u16_at_out_of_range(void)
{
    uint8_t out[8];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    buf_write_u16(&w, 0x1111);
    buf_write_u8(&w, 0x22);
    /* Offset 2 would cover bytes 2 and 3, but only 0..2 are written. */
    buf_write_u16_at(&w, 2, 0x9999);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 3);
    static const uint8_t want[] = {0x11, 0x11, 0x22, CANARY, CANARY};
    EXPECT_BYTES(out, 5, want, sizeof want);

    /* Far past the end (and an offset that would wrap offset + 2). */
    buf_writer_init(&w, out, sizeof out);
    buf_write_u32(&w, 0);
    buf_write_u16_at(&w, SIZE_MAX, 0x9999);
    CU_ASSERT_FALSE(buf_writer_ok(&w));

    /* Nothing written yet: no offset is valid. */
    buf_writer_init(&w, out, sizeof out);
    buf_write_u16_at(&w, 0, 0x9999);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
}

static void test_write_mark_rollback(void)
{
    uint8_t out[6];
    memset(out, CANARY, sizeof out);
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    buf_write_u16(&w, 0x0102);
    size_t mark = buf_writer_mark(&w);
    EXPECT_UINT(mark, 2);
    buf_write_u16(&w, 0x0304);
    buf_write_u32(&w, 0x05060708); /* does not fit */
    CU_ASSERT_FALSE(buf_writer_ok(&w));

    buf_writer_rollback(&w, mark);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 2);
    EXPECT_UINT(buf_writer_room(&w), 4);
    /* Writing goes on from the mark, over what was rolled back. */
    buf_write_u32(&w, 0x0A0B0C0D);
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    static const uint8_t want[] = {0x01, 0x02, 0x0A, 0x0B, 0x0C, 0x0D};
    EXPECT_BYTES(out, sizeof out, want, sizeof want);
    /* A count patched after a rollback may only reach the bytes before pos. */
    buf_writer_rollback(&w, mark);
    buf_write_u16_at(&w, 2, 0xFFFF);
    CU_ASSERT_FALSE(buf_writer_ok(&w));
}

static void test_writer_room(void)
{
    uint8_t out[10];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    EXPECT_UINT(buf_writer_room(&w), 10);
    buf_write_u32(&w, 1);
    EXPECT_UINT(buf_writer_room(&w), 6);
    buf_write_bytes(&w, out, 7);
    EXPECT_UINT(buf_writer_room(&w), 0);
    EXPECT_UINT(w.pos, 4);
    buf_writer_init(&w, out, 0);
    EXPECT_UINT(buf_writer_room(&w), 0);
    buf_write_bytes(&w, out, 0); /* an empty write fits anywhere */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
}

void test_buf_register(void)
{
    CU_pSuite s = CU_add_suite("buf", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "reads are big-endian", test_read_big_endian);
    CU_add_test(s, "u32 with the top bit set", test_read_u32_high_bit);
    CU_add_test(s, "read up to the exact end", test_read_exact_end_is_ok);
    CU_add_test(s, "u16 past the end fails, pos stays", test_read_past_end_u16);
    CU_add_test(s, "u32 past the end fails, pos stays", test_read_past_end_u32);
    CU_add_test(s, "u8 from an empty buffer fails", test_read_past_end_u8);
    CU_add_test(s, "read error is sticky", test_read_error_is_sticky);
    CU_add_test(s, "read_bytes copies and advances", test_read_bytes);
    CU_add_test(s, "read_bytes zero-fills on failure", test_read_bytes_zero_fills_on_failure);
    CU_add_test(s, "huge skip does not wrap", test_read_huge_length_does_not_wrap);
    CU_add_test(s, "skip", test_skip);
    CU_add_test(s, "seek, including to the end", test_seek);
    CU_add_test(s, "seek past the end fails", test_seek_past_end);
    CU_add_test(s, "reader_fail sets the error", test_reader_fail);
    CU_add_test(s, "writes are big-endian", test_write_big_endian);
    CU_add_test(s, "writes fit exactly", test_write_exact_fit);
    CU_add_test(s, "u8 one over capacity writes nothing", test_write_u8_over);
    CU_add_test(s, "u16 one over capacity writes nothing", test_write_u16_over);
    CU_add_test(s, "u32 one over capacity writes nothing", test_write_u32_over);
    CU_add_test(s, "bytes one over capacity writes nothing", test_write_bytes_over);
    CU_add_test(s, "write error is sticky", test_write_error_is_sticky);
    CU_add_test(s, "huge write does not wrap", test_write_huge_length_does_not_wrap);
    CU_add_test(s, "write_u16_at patches written bytes", test_write_u16_at);
    CU_add_test(s, "write_u16_at out of range fails", test_write_u16_at_out_of_range);
    CU_add_test(s, "mark and rollback", test_write_mark_rollback);
    CU_add_test(s, "writer_room", test_writer_room);
}
