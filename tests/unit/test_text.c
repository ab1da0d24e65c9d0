/* test_text.c: unit tests of common/text.c — the \X and \DDD escapes of master-file text. */
#include <CUnit/CUnit.h>

#include "tests.h"
#include "text.h"

/* Decodes `text` whole, byte by byte, into `out`; returns the count or the
 * first negative status. */
static int decode_all(const char *text, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const char *p = text;
    while (*p != '\0' && n < cap) {
        const char *before = p;
        int c = text_unescape(&p);
        if (c < 0) {
            /* A failure leaves the position where it was. */
            EXPECT_UINT((size_t)(p - before), 0);
            return c;
        }
        out[n++] = (uint8_t)c;
    }
    return (int)n;
}

static void test_plain_and_escaped(void)
{
    uint8_t out[16];
    /* a, \. \\ \" (a character after a backslash is itself), \032 (space),
     * \000, \255, \045 ('-': exactly three digits, so the '7' after it is a
     * byte of its own), z. */
    int n = decode_all("a\\.\\\\\\\"\\032\\000\\255\\0457z", out, sizeof out);
    static const uint8_t want[] = {'a', '.', '\\', '"', ' ', 0, 255, '-', '7', 'z'};
    EXPECT_INT(n, (int)sizeof want);
    if (n == (int)sizeof want)
        EXPECT_BYTES(out, (size_t)n, want, sizeof want);
}

static void test_errors(void)
{
    uint8_t out[8];
    EXPECT_INT(decode_all("\\", out, sizeof out), TEXT_ERR_LONE);
    EXPECT_INT(decode_all("ab\\", out, sizeof out), TEXT_ERR_LONE);
    EXPECT_INT(decode_all("\\1", out, sizeof out), TEXT_ERR_DDD_DIGITS);
    EXPECT_INT(decode_all("\\12", out, sizeof out), TEXT_ERR_DDD_DIGITS);
    EXPECT_INT(decode_all("\\12x", out, sizeof out), TEXT_ERR_DDD_DIGITS);
    EXPECT_INT(decode_all("\\256", out, sizeof out), TEXT_ERR_DDD_RANGE);
    EXPECT_INT(decode_all("\\999", out, sizeof out), TEXT_ERR_DDD_RANGE);
    EXPECT_STR(text_strerror(TEXT_ERR_LONE), "a lone backslash at the end");
    EXPECT_STR(text_strerror(TEXT_ERR_DDD_DIGITS), "\\DDD needs three digits");
    EXPECT_STR(text_strerror(TEXT_ERR_DDD_RANGE), "\\DDD is above 255");
}

void test_text_register(void)
{
    CU_pSuite s = CU_add_suite("text", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "plain bytes, \\X and \\DDD", test_plain_and_escaped);
    CU_add_test(s, "bad escapes", test_errors);
}
