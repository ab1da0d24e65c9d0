/* test_name.c: unit tests of common/name.c — text form, reading (hostile compression), writing. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "name.h"
#include "tests.h"

/* A 12-byte header in front of every message: name pointers may not point into
 * it, and it makes offsets in these tests the same as in real packets. */
#define HEADER                                                                                     \
    0x12, 0x34,     /* ID */                                                                       \
        0x01, 0x00, /* flags: RD */                                                                \
        0x00, 0x01, /* QDCOUNT 1 */                                                                \
        0x00, 0x00, /* ANCOUNT */                                                                  \
        0x00, 0x00, /* NSCOUNT */                                                                  \
        0x00, 0x00  /* ARCOUNT */

/* Helpers --------------------------------------------------------------------- */

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

/* Checks that `n` prints as `text`. */
static void expect_text_at(const struct name *n, const char *text, const char *file, unsigned line)
{
    char out[NAME_TEXT_MAX];
    int len = name_to_text(n, out, sizeof out);
    test_expect_str(out, text, "name_to_text", file, line);
    test_expect_int(len, (long long)strlen(text), "name_to_text length", file, line);
}
#define EXPECT_TEXT(n, text) expect_text_at((n), (text), __FILE__, __LINE__)

static void expect_root_at(const struct name *n, const char *file, unsigned line)
{
    static const uint8_t root[] = {0x00};
    test_expect_bytes(n->wire, n->len, root, sizeof root, "out (must be the root)", file, line);
}
#define EXPECT_ROOT(n) expect_root_at((n), __FILE__, __LINE__)

/* Fills `n` with something that is not the root, to see name_read reset it. */
static void poison(struct name *n)
{
    memset(n, 0x5A, sizeof *n);
    n->len = 3;
    n->wire[0] = 1;
    n->wire[1] = 'z';
    n->wire[2] = 0;
}

/* Reads the name at `start` in msg[0..len) and expects the failure `want`:
 * the reader's error set and `out` the root. */
static void expect_read_fails_at(const uint8_t *msg, size_t len, size_t start,
                                 enum name_status want, const char *file, unsigned line)
{
    struct buf_reader r;
    struct name out;
    poison(&out);
    buf_reader_init(&r, msg, len);
    buf_seek(&r, start);
    enum name_status st = name_read(&r, &out);
    test_expect_status(st, want, "name_read status", file, line);
    test_expect_int(buf_reader_ok(&r), 0, "buf_reader_ok after a failed name_read", file, line);
    expect_root_at(&out, file, line);
}
#define EXPECT_READ_FAILS(msg, len, start, want)                                                   \
    expect_read_fails_at((msg), (len), (start), (want), __FILE__, __LINE__)

/* Reads the name at `start` and expects it to be `text`, with the reader
 * left at `end`. */
static void expect_read_at(const uint8_t *msg, size_t len, size_t start, const char *text,
                           size_t end, const char *file, unsigned line)
{
    struct buf_reader r;
    struct name out;
    poison(&out);
    buf_reader_init(&r, msg, len);
    buf_seek(&r, start);
    enum name_status st = name_read(&r, &out);
    test_expect_status(st, NAME_OK, "name_read status", file, line);
    test_expect_int(buf_reader_ok(&r), 1, "buf_reader_ok after name_read", file, line);
    test_expect_uint(r.pos, end, "reader pos after name_read", file, line);
    struct name want;
    if (name_from_text(text, NULL, &want) == NAME_OK)
        test_expect_bytes(out.wire, out.len, want.wire, want.len, "name read", file, line);
}
#define EXPECT_READ(msg, len, start, text, end)                                                    \
    expect_read_at((msg), (len), (start), (text), (end), __FILE__, __LINE__)

/* Text form ------------------------------------------------------------------- */

static void check_round_trip(const char *text, const uint8_t *wire, size_t wire_len)
{
    struct name n;
    char what[600];
    snprintf(what, sizeof what, "name_from_text(\"%.500s\")", text);
    enum name_status st = name_from_text(text, NULL, &n);
    test_expect_status(st, NAME_OK, what, __FILE__, __LINE__);
    if (st != NAME_OK)
        return;
    test_expect_bytes(n.wire, n.len, wire, wire_len, what, __FILE__, __LINE__);
    char out[NAME_TEXT_MAX];
    int len = name_to_text(&n, out, sizeof out);
    test_expect_str(out, text, "name_to_text of the parsed name", __FILE__, __LINE__);
    test_expect_int(len, (long long)strlen(text), "name_to_text length", __FILE__, __LINE__);
}

static void test_text_round_trip_simple(void)
{
    static const uint8_t root[] = {0x00};
    check_round_trip(".", root, sizeof root);

    static const uint8_t a[] = {0x01, 'a', 0x00};
    check_round_trip("a.", a, sizeof a);

    static const uint8_t www[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                  'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    check_round_trip("www.example.com.", www, sizeof www);

    /* Case is kept as written. */
    static const uint8_t mixed[] = {3, 'W', 'w', 'W', 3, 'C', 'O', 'M', 0};
    check_round_trip("WwW.COM.", mixed, sizeof mixed);
}

static void test_text_round_trip_escapes(void)
{
    /* "\." is a dot inside a label, not a separator. */
    static const uint8_t dot[] = {3, 'a', '.', 'b', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    check_round_trip("a\\.b.example.", dot, sizeof dot);

    /* \DDD: a zero byte. */
    static const uint8_t zero[] = {1, 0x00, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
    check_round_trip("\\000.example.", zero, sizeof zero);

    /* "\\" is a backslash. */
    static const uint8_t bs[] = {3, 'a', '\\', 'b', 0};
    check_round_trip("a\\\\b.", bs, sizeof bs);

    /* Non-printable and high bytes print as \DDD. */
    static const uint8_t high[] = {3, 0x7F, 0x80, 0xFF, 0};
    check_round_trip("\\127\\128\\255.", high, sizeof high);

    /* The characters a zone file would misread get a backslash, as dig
     * writes them ("a\@b."); a space is not printable there, so \032. */
    static const uint8_t specials[] = {8, ' ', '"', '(', ')', ';', '@', '$', 'x', 0};
    check_round_trip("\\032\\\"\\(\\)\\;\\@\\$x.", specials, sizeof specials);
    static const uint8_t at[] = {3, 'a', '@', 'b', 0};
    check_round_trip("a\\@b.", at, sizeof at);
    /* Their \DDD forms parse to the same bytes, and print the dig way. */
    struct name n = from_text("\\034\\040\\041\\059\\064\\036.");
    EXPECT_TEXT(&n, "\\\"\\(\\)\\;\\@\\$.");
}

static void test_text_decimal_escape_parses(void)
{
    /* \DDD of a printable character parses to it, and then prints plainly. */
    struct name n = from_text("\\065bc.\\099om.");
    static const uint8_t want[] = {3, 'A', 'b', 'c', 3, 'c', 'o', 'm', 0};
    EXPECT_BYTES(n.wire, n.len, want, sizeof want);
    EXPECT_TEXT(&n, "Abc.com.");
}

static void test_text_round_trip_63_label(void)
{
    char text[80];
    uint8_t wire[80];
    memset(text, 'x', 63);
    strcpy(text + 63, ".");
    wire[0] = 63;
    memset(wire + 1, 'x', 63);
    wire[64] = 0;
    check_round_trip(text, wire, 65);
}

/* "aaa...(63).bbb...(63).ccc...(63).ddd...(last)." */
static void make_long_text(char *text, size_t last)
{
    size_t p = 0;
    const size_t sizes[4] = {63, 63, 63, last};
    for (int l = 0; l < 4; l++) {
        memset(text + p, 'a' + l, sizes[l]);
        p += sizes[l];
        text[p++] = '.';
    }
    text[p] = '\0';
}
static size_t make_long_wire(uint8_t *wire, size_t last)
{
    size_t p = 0;
    const size_t sizes[4] = {63, 63, 63, last};
    for (int l = 0; l < 4; l++) {
        wire[p++] = (uint8_t)sizes[l];
        memset(wire + p, 'a' + l, sizes[l]);
        p += sizes[l];
    }
    wire[p++] = 0;
    return p;
}

static void test_text_round_trip_255(void)
{
    /* 3 * (1+63) + (1+61) + 1 = 255 octets: the longest name. */
    char text[300];
    uint8_t wire[300];
    make_long_text(text, 61);
    size_t len = make_long_wire(wire, 61);
    EXPECT_UINT(len, 255);
    check_round_trip(text, wire, len);
}

static void test_text_max_escaped(void)
{
    /* 255 octets, every one needing \DDD: the longest text form must fit in
     * NAME_TEXT_MAX. */
    struct name n;
    size_t p = 0;
    for (int l = 0; l < 4; l++) {
        size_t size = l < 3 ? 63 : 61;
        n.wire[p++] = (uint8_t)size;
        memset(n.wire + p, 0xFF, size);
        p += size;
    }
    n.wire[p++] = 0;
    n.len = (uint8_t)p;
    EXPECT_UINT(n.len, 255);
    char out[NAME_TEXT_MAX];
    int len = name_to_text(&n, out, sizeof out);
    EXPECT_INT(len, 4 * 250 + 4); /* 250 octets as \255, 4 dots */
    EXPECT_INT(strlen(out), 4 * 250 + 4);
    struct name back;
    EXPECT_STATUS(name_from_text(out, NULL, &back), NAME_OK);
    EXPECT_BYTES(back.wire, back.len, n.wire, n.len);
}

static void test_to_text_capacity(void)
{
    struct name n = from_text("www.example.com."); /* 16 characters */
    char out[32];
    EXPECT_INT(name_to_text(&n, out, 17), 16);
    EXPECT_STR(out, "www.example.com.");
    memset(out, 'x', sizeof out);
    EXPECT_INT(name_to_text(&n, out, 16), -1); /* no room for the NUL */
    EXPECT_STR(out, "");
    memset(out, 'x', sizeof out);
    EXPECT_INT(name_to_text(&n, out, 5), -1);
    EXPECT_STR(out, "");
    /* An escape must not be cut in half either: "\000." needs 6 bytes. */
    struct name z = from_text("\\000.");
    memset(out, 'x', sizeof out);
    EXPECT_INT(name_to_text(&z, out, 5), -1);
    EXPECT_STR(out, "");
    EXPECT_INT(name_to_text(&z, out, 6), 5);
    EXPECT_STR(out, "\\000.");

    struct name root;
    name_root(&root);
    EXPECT_INT(name_to_text(&root, out, 2), 1);
    EXPECT_STR(out, ".");
    memset(out, 'x', sizeof out);
    EXPECT_INT(name_to_text(&root, out, 1), -1);
    EXPECT_STR(out, "");
}

static void test_from_text_origin(void)
{
    struct name origin = from_text("example.com.");
    struct name out;

    EXPECT_STATUS(name_from_text("www", &origin, &out), NAME_OK);
    EXPECT_TEXT(&out, "www.example.com.");

    EXPECT_STATUS(name_from_text("a.b", &origin, &out), NAME_OK);
    EXPECT_TEXT(&out, "a.b.example.com.");

    EXPECT_STATUS(name_from_text("@", &origin, &out), NAME_OK);
    EXPECT_TEXT(&out, "example.com.");

    /* Absolute names ignore the origin. */
    EXPECT_STATUS(name_from_text("www.example.org.", &origin, &out), NAME_OK);
    EXPECT_TEXT(&out, "www.example.org.");

    /* A relative name under the root origin. */
    struct name root;
    name_root(&root);
    EXPECT_STATUS(name_from_text("com", &root, &out), NAME_OK);
    EXPECT_TEXT(&out, "com.");
    EXPECT_STATUS(name_from_text("@", &root, &out), NAME_OK);
    EXPECT_TEXT(&out, ".");
}

static void test_from_text_relative_without_origin(void)
{
    struct name out;
    EXPECT_STATUS(name_from_text("www", NULL, &out), NAME_ERR_LABEL_TYPE);
    EXPECT_STATUS(name_from_text("www.example.com", NULL, &out), NAME_ERR_LABEL_TYPE);
    EXPECT_STATUS(name_from_text("@", NULL, &out), NAME_ERR_LABEL_TYPE);
}

static void test_from_text_too_long(void)
{
    struct name out;
    char text[400];

    /* A 64-octet label. */
    memset(text, 'x', 64);
    strcpy(text + 64, ".");
    EXPECT_STATUS(name_from_text(text, NULL, &out), NAME_ERR_TOO_LONG);

    /* 63 characters plus one escaped character: 64 octets (octets count,
     * not characters). */
    memset(text, 'x', 63);
    strcpy(text + 63, "\\..");
    EXPECT_STATUS(name_from_text(text, NULL, &out), NAME_ERR_TOO_LONG);
    /* ...and 62 + 1 escaped is 63 octets, fine, although 64 characters. */
    memset(text, 'x', 62);
    strcpy(text + 62, "\\046.");
    EXPECT_STATUS(name_from_text(text, NULL, &out), NAME_OK);
    EXPECT_UINT(out.len, 65);

    /* 3 * (1+63) + (1+62) + 1 = 256 octets. */
    make_long_text(text, 62);
    EXPECT_STATUS(name_from_text(text, NULL, &out), NAME_ERR_TOO_LONG);

    /* A relative name that only gets too long once the origin is added:
     * 3 * 64 + (1+62) + 1 = 256. */
    struct name origin;
    char otext[80];
    memset(otext, 'o', 62);
    strcpy(otext + 62, ".");
    EXPECT_STATUS(name_from_text(otext, NULL, &origin), NAME_OK);
    make_long_text(text, 1);
    text[3 * 64 - 1] = '\0'; /* keep "aaa.bbb.ccc" with no final dot: relative */
    EXPECT_STATUS(name_from_text(text, &origin, &out), NAME_ERR_TOO_LONG);
    /* ...while with a 61-octet origin label it is 255 and fits. */
    otext[61] = '.';
    otext[62] = '\0';
    EXPECT_STATUS(name_from_text(otext, NULL, &origin), NAME_OK);
    EXPECT_STATUS(name_from_text(text, &origin, &out), NAME_OK);
    EXPECT_UINT(out.len, 255);
}

static void test_from_text_malformed(void)
{
    static const char *bad[] = {
        "a..b.",  /* empty label in the middle */
        ".a.",    /* empty label first */
        "..",     /* two empty labels */
        "a.b..",  /* empty label last */
        "\\256.", /* \DDD above 255 */
        "a\\12.", /* \DD: only two digits */
        "a\\",    /* backslash at the end */
        "",       /* nothing at all (relative, no origin) */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct name out;
        char what[64];
        snprintf(what, sizeof what, "name_from_text(\"%s\")", bad[i]);
        test_expect_status(name_from_text(bad[i], NULL, &out), NAME_ERR_LABEL_TYPE, what, __FILE__,
                           __LINE__);
    }
}

/* Reading from the wire ------------------------------------------------------- */

static void test_read_plain(void)
{
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 3,    'w', 'w', 'w',                     /* label "www" */
        /* 16: */ 7,    'e', 'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
        /* 24: */ 3,    'c', 'o', 'm',                     /* label "com" */
        /* 28: */ 0,                                       /* root */
        /* 29: */ 0xFF,                                    /* whatever follows the name */
    };
    EXPECT_READ(msg, sizeof msg, 12, "www.example.com.", 29);
    /* The root alone, at the end of the message. */
    static const uint8_t root[] = {HEADER, /* 12: */ 0 /* root */};
    EXPECT_READ(root, sizeof root, 12, ".", 13);
    /* Case is kept as received. */
    static const uint8_t mixed[] = {HEADER, /* 12: */ 2, 'E', 'x', /* label "Ex" */ 0 /* root */};
    EXPECT_READ(mixed, sizeof mixed, 12, "Ex.", 16);
}

static void test_read_63_label(void)
{
    uint8_t msg[12 + 1 + 63 + 1];
    static const uint8_t header[] = {HEADER};
    memcpy(msg, header, 12);
    msg[12] = 63;              /* length 63: the largest label */
    memset(msg + 13, 'q', 63); /* its 63 octets */
    msg[76] = 0;               /* root */
    char text[70];
    memset(text, 'q', 63);
    strcpy(text + 63, ".");
    EXPECT_READ(msg, sizeof msg, 12, text, sizeof msg);
}

/* A message holding example.com., www.example.com. and a bare pointer. */
static const uint8_t compressed[] = {
    HEADER,
    /* 12: */ 7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
    /* 20: */ 3,    'c',  'o', 'm',                     /* label "com" */
    /* 24: */ 0,                                        /* root */
    /* 25: */ 3,    'w',  'w', 'w',                     /* label "www" */
    /* 29: */ 0xC0, 0x0C,                               /* pointer to 12: "example.com." */
    /* 31: */ 0xC0, 0x19,                               /* pointer to 25: "www" + pointer */
    /* 33: */ 0xAA, 0xBB,                               /* whatever follows */
};

static void test_read_compressed(void)
{
    EXPECT_READ(compressed, sizeof compressed, 12, "example.com.", 25);
    /* The reader stops right after the pointer, not where the pointer led. */
    EXPECT_READ(compressed, sizeof compressed, 25, "www.example.com.", 31);
    /* A name that is only a pointer, to a name that ends in a pointer. */
    EXPECT_READ(compressed, sizeof compressed, 31, "www.example.com.", 33);
}

static void test_read_pointer_chain(void)
{
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 3,    'c',  'o', 'm',                     /* label "com" */
        /* 16: */ 0,                                        /* root */
        /* 17: */ 7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* label "example" */
        /* 25: */ 0xC0, 0x0C,                               /* pointer to 12: "com." */
        /* 27: */ 4,    'm',  'a', 'i', 'l',                /* label "mail" */
        /* 32: */ 0xC0, 0x11,                               /* pointer to 17: "example" + pointer */
        /* 34: */ 0x01,                                     /* whatever follows */
    };
    /* mail -> pointer -> example -> pointer -> com -> root: two hops. */
    EXPECT_READ(msg, sizeof msg, 27, "mail.example.com.", 34);
    EXPECT_READ(msg, sizeof msg, 17, "example.com.", 27);
}

static void test_read_pointer_loop(void)
{
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 0xC0, 0x0E, /* pointer to 14: forward, the only way to close a loop */
        /* 14: */ 0xC0, 0x0C, /* pointer to 12: backward, fine on its own */
    };
    /* Entering at 14: back to 12, then forward to 14 again. */
    EXPECT_READ_FAILS(msg, sizeof msg, 14, NAME_ERR_POINTER_FORWARD);
    /* Entering at 12: forward at once. */
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_POINTER_FORWARD);
}

static void test_read_self_pointer(void)
{
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 0xC0, 0x0C, /* pointer to 12: itself */
    };
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_POINTER_FORWARD);

    static const uint8_t after_label[] = {
        HEADER,
        /* 12: */ 1,    'a',  /* label "a" */
        /* 14: */ 0xC0, 0x0E, /* pointer to 14: itself */
    };
    EXPECT_READ_FAILS(after_label, sizeof after_label, 12, NAME_ERR_POINTER_FORWARD);
}

static void test_read_forward_pointer(void)
{
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 1,    'a',  /* label "a" */
        /* 14: */ 0xC0, 0x10, /* pointer to 16: later in the message */
        /* 16: */ 1,    'b',  /* label "b": a valid name... */
        /* 18: */ 0,          /* root   ...but pointers must point back */
    };
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_POINTER_FORWARD);
    EXPECT_READ(msg, sizeof msg, 16, "b.", 19);
}

static void test_read_backward_pointer_into_own_labels(void)
{
    /* The pointer points backwards, yet into the name being read, so following
     * it leads to the same pointer again. Whatever the guard that stops it
     * (pointers before where the current run started, the hop limit or the
     * 255-octet limit), it must stop with an error. */
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 1,    'a',  /* label "a" */
        /* 14: */ 0xC0, 0x0C, /* pointer to 12: back to label "a" */
    };
    struct buf_reader r;
    struct name out;
    poison(&out);
    buf_reader_init(&r, msg, sizeof msg);
    buf_seek(&r, 12);
    enum name_status st = name_read(&r, &out);
    CU_ASSERT_TRUE(st == NAME_ERR_POINTER_FORWARD || st == NAME_ERR_TOO_MANY_HOPS ||
                   st == NAME_ERR_TOO_LONG);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_ROOT(&out);
}

static void test_read_pointer_into_header(void)
{
    static const uint8_t msg[] = {
        HEADER,
        /* 12: */ 1,    'a',  /* label "a" */
        /* 14: */ 0xC0, 0x05, /* pointer to 5: inside the header */
    };
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_POINTER_HEADER);

    static const uint8_t to_zero[] = {
        HEADER,
        /* 12: */ 0xC0, 0x00, /* pointer to 0: the ID */
    };
    EXPECT_READ_FAILS(to_zero, sizeof to_zero, 12, NAME_ERR_POINTER_HEADER);

    static const uint8_t to_eleven[] = {
        HEADER,
        /* 12: */ 0xC0, 0x0B, /* pointer to 11: last header byte (0x00 looks like a root!) */
    };
    EXPECT_READ_FAILS(to_eleven, sizeof to_eleven, 12, NAME_ERR_POINTER_HEADER);
}

/* A message with a root label at 12 followed by `hops` pointers, each to the
 * one before it (the first to the root); returns the offset of the last. */
static size_t make_pointer_chain(uint8_t *msg, size_t hops)
{
    static const uint8_t header[] = {HEADER};
    memcpy(msg, header, 12);
    msg[12] = 0; /* 12: root */
    size_t prev = 12;
    size_t at = 13;
    for (size_t i = 0; i < hops; i++) {
        msg[at] = (uint8_t)(0xC0 | prev >> 8); /* pointer ... */
        msg[at + 1] = (uint8_t)prev;           /* ... to the previous one */
        prev = at;
        at += 2;
    }
    return prev;
}

static void test_read_short_pointer_chain(void)
{
    /* Ten pointers that each add nothing: strictly backwards, well within any
     * hop limit a legal name needs, so accepted as the root. */
    uint8_t msg[12 + 1 + 2 * 10];
    size_t start = make_pointer_chain(msg, 10);
    EXPECT_READ(msg, sizeof msg, start, ".", start + 2);

    /* Exactly NAME_HOPS_MAX pointers: the limit itself is allowed. */
    static uint8_t at_limit[12 + 1 + 2 * NAME_HOPS_MAX];
    start = make_pointer_chain(at_limit, NAME_HOPS_MAX);
    EXPECT_READ(at_limit, sizeof at_limit, start, ".", sizeof at_limit);
}

static void test_read_long_pointer_chain(void)
{
    /* Pointers only, each strictly backwards, so the "points backwards" guard
     * never fires and no octet is added: only the hop limit stops this.
     * NAME_HOPS_MAX pointers are allowed (see above), one more is not. */
    static uint8_t msg[12 + 1 + 2 * 1000];
    size_t start = make_pointer_chain(msg, NAME_HOPS_MAX + 1);
    EXPECT_READ_FAILS(msg, 12 + 1 + 2 * (NAME_HOPS_MAX + 1), start, NAME_ERR_TOO_MANY_HOPS);
    start = make_pointer_chain(msg, 1000);
    EXPECT_READ_FAILS(msg, sizeof msg, start, NAME_ERR_TOO_MANY_HOPS);
}

static void test_read_legal_name_with_most_pointers(void)
{
    /* The worst a legal name can do: 127 one-octet labels (255 octets with
     * the root), each behind its own pointer, and a pointer to start with:
     * 128 = NAME_LABELS_MAX hops. The hop limit (NAME_HOPS_MAX) must still
     * let it through: a name legal under RFC 1035 may not be refused.
     *
     *   12: 00               root
     *   13: 01 'a' C0 0C     label "a", pointer to 12      (piece 1)
     *   17: 01 'a' C0 0D     label "a", pointer to 13      (piece 2)
     *   ...                  piece k at 13 + 4(k-1), pointing at piece k-1
     *   then C0 xx           pointer to piece 127: where reading starts
     */
    static uint8_t msg[12 + 1 + 4 * 127 + 2];
    static const uint8_t header[] = {HEADER};
    memcpy(msg, header, 12);
    msg[12] = 0;
    size_t prev = 12;
    size_t at = 13;
    for (int k = 1; k <= 127; k++) {
        msg[at] = 1;                               /* length 1 */
        msg[at + 1] = 'a';                         /* "a" */
        msg[at + 2] = (uint8_t)(0xC0 | prev >> 8); /* pointer ... */
        msg[at + 3] = (uint8_t)prev;               /* ... to the previous piece */
        prev = at;
        at += 4;
    }
    msg[at] = (uint8_t)(0xC0 | prev >> 8); /* the starting pointer ... */
    msg[at + 1] = (uint8_t)prev;           /* ... to piece 127 */
    EXPECT_UINT(at + 2, sizeof msg);

    struct buf_reader r;
    struct name out;
    buf_reader_init(&r, msg, sizeof msg);
    buf_seek(&r, at);
    EXPECT_STATUS(name_read(&r, &out), NAME_OK);
    EXPECT_UINT(out.len, 255);
    EXPECT_UINT(name_label_count(&out), 127);
    EXPECT_UINT(r.pos, sizeof msg);
}

static void test_read_label_types(void)
{
    /* 0x40 = 01 000000: "a label of 64" is really the extended label type 01. */
    uint8_t msg[12 + 1 + 64 + 1];
    static const uint8_t header[] = {HEADER};
    memcpy(msg, header, 12);
    msg[12] = 0x40;            /* length byte 0x40: type 01, not a length */
    memset(msg + 13, 'x', 64); /* 64 octets, so nothing is short */
    msg[77] = 0;               /* root */
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_LABEL_TYPE);

    msg[12] = 0x80; /* type 10: reserved */
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_LABEL_TYPE);
    msg[12] = 0x7F; /* type 01, largest */
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_LABEL_TYPE);
    msg[12] = 0xBF; /* type 10, largest */
    EXPECT_READ_FAILS(msg, sizeof msg, 12, NAME_ERR_LABEL_TYPE);

    /* Also after a good label. */
    static const uint8_t later[] = {
        HEADER,
        /* 12: */ 1,    'a', /* label "a" */
        /* 14: */ 0x41, 'b', /* length byte 0x41: type 01 */
        /* 16: */ 0,         /* root */
    };
    EXPECT_READ_FAILS(later, sizeof later, 12, NAME_ERR_LABEL_TYPE);
}

/* Labels of 63,63,63,`last` octets at `at`, then a root label if `root`. */
static size_t put_long_labels(uint8_t *msg, size_t at, size_t last, int root)
{
    const size_t sizes[4] = {63, 63, 63, last};
    for (int l = 0; l < 4; l++) {
        msg[at++] = (uint8_t)sizes[l];       /* length */
        memset(msg + at, 'a' + l, sizes[l]); /* octets */
        at += sizes[l];
    }
    if (root)
        msg[at++] = 0; /* root */
    return at;
}

static void test_read_too_long(void)
{
    static uint8_t msg[12 + 300];
    static const uint8_t header[] = {HEADER};
    memcpy(msg, header, 12);

    /* 3 * (1+63) + (1+62) + 1 = 256 octets, with no pointer at all. */
    size_t end = put_long_labels(msg, 12, 62, 1);
    EXPECT_UINT(end - 12, 256);
    EXPECT_READ_FAILS(msg, end, 12, NAME_ERR_TOO_LONG);

    /* One octet less is the longest legal name. */
    end = put_long_labels(msg, 12, 61, 1);
    EXPECT_UINT(end - 12, 255);
    struct buf_reader r;
    struct name out;
    buf_reader_init(&r, msg, end);
    buf_seek(&r, 12);
    EXPECT_STATUS(name_read(&r, &out), NAME_OK);
    EXPECT_UINT(out.len, 255);
    EXPECT_UINT(r.pos, end);
}

static void test_read_too_long_across_pointer(void)
{
    /*   12: 63 'a'x63  63 'b'x63  00          "aaa.bbb." = 129 octets
     *  141: 63 'c'x63  LAST 'd'xLAST  C0 0C   two labels, pointer to 12
     * With LAST = 62: 64 + 63 + 129 = 256 octets once the pointer is followed. */
    static uint8_t msg[12 + 400];
    static const uint8_t header[] = {HEADER};
    for (size_t last = 61; last <= 62; last++) {
        memcpy(msg, header, 12);
        size_t at = 12;
        msg[at++] = 63;            /* length */
        memset(msg + at, 'a', 63); /* "aaa..." */
        at += 63;
        msg[at++] = 63;            /* length */
        memset(msg + at, 'b', 63); /* "bbb..." */
        at += 63;
        msg[at++] = 0; /* root */
        EXPECT_UINT(at, 141);
        msg[at++] = 63;            /* length */
        memset(msg + at, 'c', 63); /* "ccc..." */
        at += 63;
        msg[at++] = (uint8_t)last;   /* length */
        memset(msg + at, 'd', last); /* "ddd..." */
        at += last;
        msg[at++] = 0xC0; /* pointer ... */
        msg[at++] = 0x0C; /* ... to 12 */
        if (last == 62) {
            EXPECT_READ_FAILS(msg, at, 141, NAME_ERR_TOO_LONG);
        } else {
            struct buf_reader r;
            struct name out;
            buf_reader_init(&r, msg, at);
            buf_seek(&r, 141);
            EXPECT_STATUS(name_read(&r, &out), NAME_OK);
            EXPECT_UINT(out.len, 255);
            EXPECT_UINT(r.pos, at);
        }
    }
}

static void test_read_truncated(void)
{
    static const uint8_t label[] = {
        HEADER,
        /* 12: */ 5, 'a', 'b', /* length 5 but only 2 octets left */
    };
    EXPECT_READ_FAILS(label, sizeof label, 12, NAME_ERR_TRUNCATED);

    static const uint8_t pointer[] = {
        HEADER,
        /* 12: */ 1, 'a', /* label "a" */
        /* 14: */ 0xC0,   /* first byte of a pointer, and the message ends */
    };
    EXPECT_READ_FAILS(pointer, sizeof pointer, 12, NAME_ERR_TRUNCATED);

    static const uint8_t no_root[] = {
        HEADER,
        /* 12: */ 1, 'a', /* label "a", and no root label after it */
    };
    EXPECT_READ_FAILS(no_root, sizeof no_root, 12, NAME_ERR_TRUNCATED);

    static const uint8_t nothing[] = {HEADER};
    EXPECT_READ_FAILS(nothing, sizeof nothing, 12, NAME_ERR_TRUNCATED);

    /* The label a pointer leads to may run out too. */
    static const uint8_t target_short[] = {
        HEADER,
        /* 12: */ 5,    'a',  'b', /* length 5: covers 13..17, but the message ends at 16 */
        /* 15: */ 0xC0, 0x0C,      /* pointer to 12 */
    };
    EXPECT_READ_FAILS(target_short, sizeof target_short, 15, NAME_ERR_TRUNCATED);
}

static void test_read_after_reader_error(void)
{
    /* A reader already failed reads nothing, even a valid name. */
    struct buf_reader r;
    struct name out;
    poison(&out);
    buf_reader_init(&r, compressed, sizeof compressed);
    buf_seek(&r, 12);
    buf_reader_fail(&r);
    CU_ASSERT_NOT_EQUAL(name_read(&r, &out), NAME_OK);
    CU_ASSERT_FALSE(buf_reader_ok(&r));
    EXPECT_ROOT(&out);
}

struct visit_log {
    int count;
    enum name_part part[16];
    size_t offset[16];
    char label[16][64];
    size_t label_len[16];
    size_t target[16];
};

static void visit_record(void *ctx, enum name_part part, size_t offset, const uint8_t *label,
                         size_t label_len, size_t pointer_target)
{
    struct visit_log *v = ctx;
    if (v->count >= 16)
        return;
    int i = v->count++;
    v->part[i] = part;
    v->offset[i] = offset;
    v->label_len[i] = label_len;
    v->target[i] = pointer_target;
    if (part == NAME_PART_LABEL && label != NULL && label_len < 64) {
        memcpy(v->label[i], label, label_len);
        v->label[i][label_len] = '\0';
    }
}

static void test_read_visit(void)
{
    struct visit_log v;
    memset(&v, 0, sizeof v);
    struct buf_reader r;
    struct name out;

    /* Plain: example, com, root. */
    buf_reader_init(&r, compressed, sizeof compressed);
    buf_seek(&r, 12);
    EXPECT_STATUS(name_read_visit(&r, &out, visit_record, &v), NAME_OK);
    EXPECT_INT(v.count, 3);
    EXPECT_INT(v.part[0], NAME_PART_LABEL);
    EXPECT_UINT(v.offset[0], 12);
    EXPECT_UINT(v.label_len[0], 7);
    EXPECT_STR(v.label[0], "example");
    EXPECT_INT(v.part[1], NAME_PART_LABEL);
    EXPECT_UINT(v.offset[1], 20);
    EXPECT_UINT(v.label_len[1], 3);
    EXPECT_STR(v.label[1], "com");
    EXPECT_INT(v.part[2], NAME_PART_ROOT);
    EXPECT_UINT(v.offset[2], 24);

    /* Compressed: www, then the pointer; what it leads to is not reported. */
    memset(&v, 0, sizeof v);
    buf_reader_init(&r, compressed, sizeof compressed);
    buf_seek(&r, 25);
    EXPECT_STATUS(name_read_visit(&r, &out, visit_record, &v), NAME_OK);
    EXPECT_TEXT(&out, "www.example.com.");
    EXPECT_INT(v.count, 2);
    EXPECT_INT(v.part[0], NAME_PART_LABEL);
    EXPECT_UINT(v.offset[0], 25);
    EXPECT_STR(v.label[0], "www");
    EXPECT_INT(v.part[1], NAME_PART_POINTER);
    EXPECT_UINT(v.offset[1], 29);
    EXPECT_UINT(v.target[1], 12);

    /* A bare pointer to a name that itself ends in a pointer: one part. */
    memset(&v, 0, sizeof v);
    buf_reader_init(&r, compressed, sizeof compressed);
    buf_seek(&r, 31);
    EXPECT_STATUS(name_read_visit(&r, &out, visit_record, &v), NAME_OK);
    EXPECT_INT(v.count, 1);
    EXPECT_INT(v.part[0], NAME_PART_POINTER);
    EXPECT_UINT(v.offset[0], 31);
    EXPECT_UINT(v.target[0], 25);

    /* A NULL visitor is allowed. */
    buf_reader_init(&r, compressed, sizeof compressed);
    buf_seek(&r, 25);
    EXPECT_STATUS(name_read_visit(&r, &out, NULL, NULL), NAME_OK);
    EXPECT_UINT(r.pos, 31);
}

static void test_strerror(void)
{
    const char *seen[7];
    for (int s = NAME_OK; s <= NAME_ERR_TOO_MANY_HOPS; s++) {
        const char *text = name_strerror((enum name_status)s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_TRUE(text[0] != '\0');
        for (int t = 0; t < s; t++)
            CU_ASSERT_STRING_NOT_EQUAL(text, seen[t]);
        seen[s] = text;
    }
}

/* Comparisons ------------------------------------------------------------------ */

static void test_equal_ignores_case(void)
{
    struct name a = from_text("WWW.Example.com.");
    struct name b = from_text("www.example.COM.");
    struct name c = from_text("www.example.org.");
    struct name d = from_text("www.example.com.x.");
    CU_ASSERT_TRUE(name_equal(&a, &b));
    CU_ASSERT_TRUE(name_equal(&b, &a));
    CU_ASSERT_FALSE(name_equal(&a, &c));
    CU_ASSERT_FALSE(name_equal(&a, &d));
    /* Only ASCII letters fold: '[' (0x5B) and '{' (0x7B) differ by 0x20 too. */
    struct name e = from_text("a[.");
    struct name f = from_text("a{.");
    CU_ASSERT_FALSE(name_equal(&e, &f));
    /* Nor do bytes above 0x7F: 0xC1 and 0xE1 are Á and á in Latin-1, not ASCII. */
    struct name g = from_text("\\193.");
    struct name h = from_text("\\225.");
    CU_ASSERT_FALSE(name_equal(&g, &h));
    /* Same octets, different label boundaries. */
    struct name i = from_text("ab.c.");
    struct name j = from_text("a.bc.");
    CU_ASSERT_FALSE(name_equal(&i, &j));
}

static void test_equal_wire(void)
{
    /* A name against the bytes of one kept at its exact length (no struct name around them):
     * the same verdicts as name_equal(), and no byte read past `len`. */
    struct name a = from_text("WWW.Example.com.");
    static const uint8_t lower[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                    'p', 'l', 'e', 3,   'c', 'o', 'm', 0};
    CU_ASSERT_TRUE(name_equal_wire(&a, lower, sizeof lower));
    CU_ASSERT_FALSE(name_equal_wire(&a, lower, sizeof lower - 1));     /* a length differs */
    CU_ASSERT_FALSE(name_equal_wire(&a, lower + 4, sizeof lower - 4)); /* its parent */
    static const uint8_t other[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                    'p', 'l', 'e', 3,   'o', 'r', 'g', 0};
    CU_ASSERT_FALSE(name_equal_wire(&a, other, sizeof other));
    static const uint8_t brackets[] = {2, 'a', '{', 0};
    struct name b = from_text("A[.");
    CU_ASSERT_FALSE(name_equal_wire(&b, brackets, sizeof brackets));
    struct name root;
    name_root(&root);
    static const uint8_t root_wire[] = {0};
    CU_ASSERT_TRUE(name_equal_wire(&root, root_wire, sizeof root_wire));
    CU_ASSERT_FALSE(name_equal_wire(&a, root_wire, sizeof root_wire));
    /* Names as long as names go, the last octet apart. */
    char text[NAME_TEXT_MAX] = "";
    for (int i = 0; i < 127; i++)
        strcat(text, i % 2 ? "B." : "a.");
    struct name longest = from_text(text);
    EXPECT_UINT(longest.len, NAME_WIRE_MAX);
    uint8_t copy[NAME_WIRE_MAX];
    memcpy(copy, longest.wire, sizeof copy);
    name_lower(&longest);
    CU_ASSERT_TRUE(name_equal_wire(&longest, copy, sizeof copy));
    copy[NAME_WIRE_MAX - 2] = 'c';
    CU_ASSERT_FALSE(name_equal_wire(&longest, copy, sizeof copy));
}

static void test_hash_ignores_case(void)
{
    struct name a = from_text("WWW.Example.com.");
    struct name b = from_text("www.example.COM.");
    EXPECT_UINT(name_hash(a.wire, a.len), name_hash(b.wire, b.len));
    /* Not a constant: different names should (and for these, do) differ. */
    struct name c = from_text("www.example.net.");
    CU_ASSERT_NOT_EQUAL(name_hash(a.wire, a.len), name_hash(c.wire, c.len));
    struct name d = from_text("com.");
    struct name e = from_text("org.");
    CU_ASSERT_NOT_EQUAL(name_hash(d.wire, d.len), name_hash(e.wire, e.len));
}

/* Checks name_suffix_hashes() on `n`: one entry per label, offset[i] where label i starts,
 * hash[i] what name_hash() says of the suffix from there. */
static void expect_suffix_hashes(const struct name *n)
{
    size_t offset[NAME_LABELS_MAX];
    uint32_t hash[NAME_LABELS_MAX];
    size_t count = name_suffix_hashes(n, offset, hash);
    EXPECT_UINT(count, name_label_count(n));
    size_t off = 0;
    /* Bounded by count (at most 127 labels). */
    for (size_t i = 0; i < count && off < n->len; i++) {
        EXPECT_UINT(offset[i], off);
        EXPECT_UINT(hash[i], name_hash(n->wire + off, n->len - off));
        off += 1 + (size_t)n->wire[off];
    }
}

static void test_suffix_hashes(void)
{
    /* Labels of 1 to 63 octets, letter case mixed, the deepest name there is (127 labels). */
    static const char *const texts[] = {
        "a.",
        "www.Example.COM.",
        "x.yy.zzz.WWWW.",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b.",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) { /* four names */
        struct name n = from_text(texts[i]);
        expect_suffix_hashes(&n);
    }
    char deep[2 * 127 + 1];
    for (int i = 0; i < 127; i++) { /* "a.a. ... a.": 127 labels, 255 octets */
        deep[2 * i] = 'a';
        deep[2 * i + 1] = '.';
    }
    deep[2 * 127] = '\0';
    struct name n = from_text(deep);
    EXPECT_UINT(n.len, NAME_WIRE_MAX);
    expect_suffix_hashes(&n);
    /* The root has no label, so no suffix hash. */
    struct name root = from_text(".");
    size_t offset[NAME_LABELS_MAX];
    uint32_t hash[NAME_LABELS_MAX];
    EXPECT_UINT(name_suffix_hashes(&root, offset, hash), 0);
}

static void test_hash_prepend(void)
{
    /* The walk down the tree hashes each child from its parent: a label put in front of a
     * name's hash gives the longer name's hash, as name_hash() computes it whole. From the root
     * down to a.Example.COM., then a 63-octet label in front of that. */
    struct name n = from_text("a.Example.COM.");
    size_t len = 1;                                   /* the root */
    uint32_t hash = name_hash(n.wire + n.len - 1, 1); /* its byte is 0, which adds nothing */
    EXPECT_UINT(hash, 0);
    static const size_t starts[] = {10, 2, 0};                      /* COM, Example, a */
    for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) { /* three labels */
        hash = name_hash_prepend(hash, len, n.wire + starts[i]);
        len = n.len - starts[i];
        EXPECT_UINT(hash, name_hash(n.wire + starts[i], len));
    }
    struct name lower = from_text("a.example.com.");
    EXPECT_UINT(hash, name_hash(lower.wire, lower.len)); /* letter case aside */
    struct name longer =
        from_text("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.a.example.com.");
    EXPECT_UINT(name_hash_prepend(hash, len, longer.wire), name_hash(longer.wire, longer.len));
}

static void test_lower(void)
{
    struct name n = from_text("WwW.ExAmPle.COM.");
    name_lower(&n);
    struct name want = from_text("www.example.com.");
    EXPECT_BYTES(n.wire, n.len, want.wire, want.len);
    /* Only A-Z change. */
    struct name odd = from_text("A[@Z\\193\\200.");
    name_lower(&odd);
    static const uint8_t odd_want[] = {6, 'a', '[', '@', 'z', 0xC1, 0xC8, 0};
    EXPECT_BYTES(odd.wire, odd.len, odd_want, sizeof odd_want);
}

static void test_label_count(void)
{
    struct name root;
    name_root(&root);
    EXPECT_UINT(root.len, 1);
    EXPECT_UINT(root.wire[0], 0);
    EXPECT_UINT(name_label_count(&root), 0);
    struct name a = from_text("a.");
    EXPECT_UINT(name_label_count(&a), 1);
    struct name www = from_text("www.example.com.");
    EXPECT_UINT(name_label_count(&www), 3);
    struct name dots = from_text("a\\.b\\.c.d.");
    EXPECT_UINT(name_label_count(&dots), 2);
}

static void test_is_subdomain(void)
{
    struct name www = from_text("www.example.com.");
    struct name ex = from_text("example.com.");
    struct name ample = from_text("ample.com.");
    struct name com = from_text("com.");
    struct name org = from_text("org.");
    struct name upper = from_text("EXAMPLE.Com.");
    struct name root;
    name_root(&root);

    CU_ASSERT_TRUE(name_is_subdomain(&www, &ex));
    CU_ASSERT_TRUE(name_is_subdomain(&www, &com));
    CU_ASSERT_TRUE(name_is_subdomain(&www, &root));
    CU_ASSERT_TRUE(name_is_subdomain(&ex, &ex));
    CU_ASSERT_TRUE(name_is_subdomain(&root, &root));
    CU_ASSERT_TRUE(name_is_subdomain(&www, &upper));
    CU_ASSERT_FALSE(name_is_subdomain(&ex, &www));
    CU_ASSERT_FALSE(name_is_subdomain(&com, &ex));
    CU_ASSERT_FALSE(name_is_subdomain(&root, &com));
    CU_ASSERT_FALSE(name_is_subdomain(&www, &org));
    /* Labels, not characters: "example.com." is not below "ample.com." */
    CU_ASSERT_FALSE(name_is_subdomain(&ex, &ample));
    /* Not even when the wire bytes happen to end the same way: the label
     * "x\005ample" is 07 'x' 05 'a' 'm' 'p' 'l' 'e', so the name's last 11
     * octets are exactly the wire form of "ample.com.". */
    struct name trick = from_text("x\\005ample.com.");
    CU_ASSERT_FALSE(name_is_subdomain(&trick, &ample));
    CU_ASSERT_TRUE(name_is_subdomain(&trick, &com));
}

/* Writing ----------------------------------------------------------------------- */

static void test_write_plain(void)
{
    uint8_t out[64];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    struct name n = from_text("www.example.com.");
    name_write(&w, &n);
    name_write(&w, &n); /* written in full again: no compression here */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    EXPECT_UINT(w.pos, 34);
    EXPECT_BYTES(out, 17, n.wire, n.len);
    EXPECT_BYTES(out + 17, 17, n.wire, n.len);

    struct name root;
    name_root(&root);
    buf_writer_init(&w, out, sizeof out);
    name_write(&w, &root);
    static const uint8_t zero[] = {0};
    EXPECT_BYTES(out, w.pos, zero, 1);
}

void test_name_register(void)
{
    CU_pSuite s = CU_add_suite("name", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "text round trip: root, a., www.example.com.", test_text_round_trip_simple);
    CU_add_test(s, "text round trip: escapes", test_text_round_trip_escapes);
    CU_add_test(s, "text: \\DDD of a printable character", test_text_decimal_escape_parses);
    CU_add_test(s, "text round trip: 63-octet label", test_text_round_trip_63_label);
    CU_add_test(s, "text round trip: 255-octet name", test_text_round_trip_255);
    CU_add_test(s, "text: longest escaped form fits", test_text_max_escaped);
    CU_add_test(s, "to_text capacity", test_to_text_capacity);
    CU_add_test(s, "from_text with origin and @", test_from_text_origin);
    CU_add_test(s, "from_text relative without origin", test_from_text_relative_without_origin);
    CU_add_test(s, "from_text too long", test_from_text_too_long);
    CU_add_test(s, "from_text malformed", test_from_text_malformed);
    CU_add_test(s, "read plain names", test_read_plain);
    CU_add_test(s, "read a 63-octet label", test_read_63_label);
    CU_add_test(s, "read compressed names", test_read_compressed);
    CU_add_test(s, "read through a chain of two pointers", test_read_pointer_chain);
    CU_add_test(s, "hostile: pointer loop", test_read_pointer_loop);
    CU_add_test(s, "hostile: self pointer", test_read_self_pointer);
    CU_add_test(s, "hostile: forward pointer", test_read_forward_pointer);
    CU_add_test(s, "hostile: backward pointer into own labels",
                test_read_backward_pointer_into_own_labels);
    CU_add_test(s, "hostile: pointer into the header", test_read_pointer_into_header);
    CU_add_test(s, "chains of empty pointers up to the hop limit", test_read_short_pointer_chain);
    CU_add_test(s, "hostile: long chain of empty pointers", test_read_long_pointer_chain);
    CU_add_test(s, "legal name with 128 pointers", test_read_legal_name_with_most_pointers);
    CU_add_test(s, "hostile: label types 01 and 10", test_read_label_types);
    CU_add_test(s, "hostile: 256-octet name", test_read_too_long);
    CU_add_test(s, "hostile: 256-octet name across a pointer", test_read_too_long_across_pointer);
    CU_add_test(s, "hostile: truncated label and pointer", test_read_truncated);
    CU_add_test(s, "read after a reader error", test_read_after_reader_error);
    CU_add_test(s, "read_visit reports parts in order", test_read_visit);
    CU_add_test(s, "strerror", test_strerror);
    CU_add_test(s, "equal ignores ASCII case only", test_equal_ignores_case);
    CU_add_test(s, "name_equal_wire: a name against bytes of their own length", test_equal_wire);
    CU_add_test(s, "hash ignores case", test_hash_ignores_case);
    CU_add_test(s, "suffix hashes: each is name_hash() of its suffix", test_suffix_hashes);
    CU_add_test(s, "hash prepend: parent's hash + label = the child's", test_hash_prepend);
    CU_add_test(s, "lower", test_lower);
    CU_add_test(s, "label count", test_label_count);
    CU_add_test(s, "is_subdomain", test_is_subdomain);
    CU_add_test(s, "write plain", test_write_plain);
}
