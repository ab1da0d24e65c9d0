/* text: the escapes of master-file text (RFC 1035 5.1), shared by names and character-strings. */
#include "text.h"

static int text_digit(char c)
{
    return c >= '0' && c <= '9';
}

int text_unescape(const char **p)
{
    const char *s = *p;
    if (s[0] != '\\') {
        *p = s + 1;
        return (unsigned char)s[0];
    }
    if (s[1] == '\0')
        return TEXT_ERR_LONE;
    if (!text_digit(s[1])) {
        *p = s + 2;
        return (unsigned char)s[1];
    }
    /* \DDD: the digits are checked one by one, so a NUL stops the scan. */
    if (!text_digit(s[2]) || !text_digit(s[3]))
        return TEXT_ERR_DDD_DIGITS;
    int value = (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    if (value > 255)
        return TEXT_ERR_DDD_RANGE;
    *p = s + 4;
    return value;
}

const char *text_strerror(int status)
{
    switch (status) {
    case TEXT_ERR_DDD_DIGITS:
        return "\\DDD needs three digits";
    case TEXT_ERR_DDD_RANGE:
        return "\\DDD is above 255";
    case TEXT_ERR_LONE:
        return "a lone backslash at the end";
    }
    return "not an escape error";
}
