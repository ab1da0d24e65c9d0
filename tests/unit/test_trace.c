/* test_trace.c: unit tests of common/trace.c — the annotated dump, the summary, and hostile input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "trace.h"
#include "tests.h"

/* Helpers ---------------------------------------------------------------------- */

/* The dump of a message as a string (free() it), through open_memstream so
 * the test sees exactly what --trace prints. */
static char *dump(const uint8_t *msg, size_t len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    trace_message(f, msg, len);
    fclose(f);
    return text;
}

static char *dump_datagram(const char *direction, const char *peer, const uint8_t *msg, size_t len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    trace_datagram(f, direction, peer, msg, len);
    fclose(f);
    return text;
}

/* Expects `needle` in the dump; on a miss prints the whole dump, since the
 * reason is almost always visible in it. */
static void expect_contains(const char *text, const char *needle, const char *file, unsigned line)
{
    int ok = text != NULL && strstr(text, needle) != NULL;
    char msg[512];
    snprintf(msg, sizeof msg, "the trace should contain \"%s\" (the trace is printed above)",
             needle);
    if (!ok)
        printf("\n    %s:%u: the trace:\n%s\n", file, line, text ? text : "(null)");
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, file, "", CU_FALSE);
}
#define EXPECT_CONTAINS(text, needle) expect_contains((text), (needle), __FILE__, __LINE__)

static void expect_lacks(const char *text, const char *needle, const char *file, unsigned line)
{
    int ok = text != NULL && strstr(text, needle) == NULL;
    char msg[512];
    snprintf(msg, sizeof msg, "the trace should not contain \"%s\" (printed above)", needle);
    if (!ok)
        printf("\n    %s:%u: the trace:\n%s\n", file, line, text ? text : "(null)");
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, msg, file, "", CU_FALSE);
}
#define EXPECT_LACKS(text, needle) expect_lacks((text), (needle), __FILE__, __LINE__)

/* The longest line of a dump: the trace is read in an 100-column terminal. */
static size_t longest_line(const char *text)
{
    size_t longest = 0;
    while (*text) {
        size_t n = strcspn(text, "\n");
        if (n > longest)
            longest = n;
        text += n + (text[n] == '\n');
    }
    return longest;
}

static size_t count_lines(const char *text)
{
    size_t n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static const char *summary(const uint8_t *msg, size_t len)
{
    static char out[1024];
    return trace_summary(msg, len, out, sizeof out);
}

/* Messages --------------------------------------------------------------------- */

/* `dig google.com` as captured on the wire: a query with RD and AD, and an
 * EDNS OPT record offering 4096 bytes. */
static const uint8_t dig_query[] = {
    0x4b, 0xdb,                                     /* ID 19419 */
    0x01, 0x20,                                     /* flags: RD, AD */
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* QD 1, AN 0, NS 0, AR 1 */
    0x06, 'g',  'o',  'o',  'g',  'l',  'e',        /* 0x0c label "google" */
    0x03, 'c',  'o',  'm',                          /* 0x13 label "com" */
    0x00,                                           /* 0x17 root */
    0x00, 0x01, 0x00, 0x01,                         /* QTYPE A, QCLASS IN */
    0x00,                                           /* 0x1c OPT owner: root */
    0x00, 0x29,                                     /* TYPE OPT */
    0x10, 0x00,                                     /* CLASS: payload size 4096 */
    0x00, 0x00, 0x00, 0x00,                         /* TTL: ext. rcode, version, flags */
    0x00, 0x00,                                     /* RDLENGTH 0 */
};

/* A reply using every decoder, with names compressed against the question. */
static const uint8_t reply[] = {
    0x12, 0x34,                                     /* ID 4660 */
    0x81, 0x80,                                     /* flags: QR RD RA, NOERROR */
    0x00, 0x01, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, /* QD 1, AN 4, NS 1, AR 0 */
    /* 0x0c question: example.com. A IN */
    0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm', 0x00, 0x00, 0x01, 0x00, 0x01,
    /* 0x1d answer 1: example.com. (pointer to 0x0c) A IN 3600 93.184.216.34 */
    0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x04, /* fixed fields */
    0x5d, 0xb8, 0xd8, 0x22,                                                 /* the address */
    /* 0x2d answer 2: example.com. MX 10 mail.example.com. */
    0xc0, 0x0c, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x09, /* fixed fields */
    0x00, 0x0a,                                                             /* preference 10 */
    0x04, 'm', 'a', 'i', 'l', 0xc0, 0x0c, /* 0x3b "mail" then pointer to example.com. */
    /* 0x42 answer 3: example.com. TXT "hello world" with a TTL of 300 */
    0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x0c, /* fixed fields */
    0x0b, 'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd',            /* one string */
    /* 0x5a answer 4: mail.example.com. (pointer to 0x3b) AAAA 2001:db8::1, TTL 1 day */
    0xc0, 0x3b, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x01, 0x51, 0x80, 0x00, 0x10, /* fixed fields */
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
    /* 0x76 authority 1: example.com. SOA ns1.example.com. hostmaster.example.com. */
    0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x27, /* RDLENGTH 39 */
    0x03, 'n', 's', '1', 0xc0, 0x0c,                                        /* MNAME */
    0x0a, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 0xc0, 0x0c,     /* RNAME */
    0x78, 0x01, 0x02, 0x03,                                                 /* SERIAL 2013331971 */
    0x00, 0x00, 0x1c, 0x20,                                                 /* REFRESH 7200 */
    0x00, 0x00, 0x0e, 0x10,                                                 /* RETRY 3600 */
    0x00, 0x12, 0x75, 0x00,                                                 /* EXPIRE 1209600 */
    0x00, 0x00, 0x01, 0x2c,                                                 /* MINIMUM 300 */
};

/* A query with EDNS: payload 1232, DO, and a client COOKIE option. */
static const uint8_t opt_query[] = {
    0xab, 0xcd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* AR 1 */
    0x00, 0x00, 0x29, 0x04, 0xd0,                   /* root, OPT, payload 1232 */
    0x00, 0x00, 0x80, 0x00,                         /* TTL: DO set */
    0x00, 0x0c,                                     /* RDLENGTH 12 */
    0x00, 0x0a, 0x00, 0x08,                         /* COOKIE, 8 bytes */
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, /* client cookie */
};

/* A reverse lookup answered with a PTR, and an NS in the authority section. */
static const uint8_t ptr_reply[] = {
    0x00, 0x0e, 0x84, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, /* QD AN NS 1 */
    /* 0x0c 4.3.2.1.in-addr.arpa. PTR IN */
    0x01, '4', 0x01, '3', 0x01, '2', 0x01, '1', 0x07, 'i', 'n', '-', 'a', 'd', 'd', 'r', 0x04, 'a',
    'r', 'p', 'a', 0x00, 0x00, 0x0c, 0x00, 0x01,
    /* 0x26 answer: pointer to the question, PTR IN 60, "host" then the root */
    0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x06, /* fixed fields */
    0x04, 'h', 'o', 's', 't', 0x00,                                         /* host. */
    /* 0x38 authority: 1.in-addr.arpa. (pointer to 0x12) NS host. (pointer to 0x32) */
    0xc0, 0x12, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x02, /* fixed fields */
    0xc0, 0x32,                                                             /* -> host. */
};

/* Tests: a well-formed query and reply -------------------------------------------- */

static void test_dig_query_fields(void)
{
    char *t = dump(dig_query, sizeof dig_query);
    EXPECT_CONTAINS(t, "0000    4b db                    ID         19419 (0x4bdb)\n");
    EXPECT_CONTAINS(t, "query, opcode QUERY, rd ad, rcode NOERROR");
    EXPECT_CONTAINS(t, "QR=0 OPCODE=0 AA=0 TC=0 RD=1 RA=0 Z=0 AD=1 CD=0 RCODE=0");
    EXPECT_CONTAINS(t, "0004    00 01                    QDCOUNT    1\n");
    EXPECT_CONTAINS(t, "000a    00 01                    ARCOUNT    1\n");
    EXPECT_CONTAINS(t, "        ; question 1\n");
    EXPECT_CONTAINS(t, "000c    06 67 6f 6f 67 6c 65     label      6 \"google\"\n");
    EXPECT_CONTAINS(t, "0013    03 63 6f 6d              label      3 \"com\"\n");
    EXPECT_CONTAINS(t, "0017    00                       root       -> google.com.\n");
    EXPECT_CONTAINS(t, "0018    00 01                    QTYPE      A (1)\n");
    EXPECT_CONTAINS(t, "001a    00 01                    QCLASS     IN (1)\n");
    EXPECT_CONTAINS(t, "        ; additional 1\n");
    EXPECT_CONTAINS(t, "001c    00                       root       -> .\n");
    EXPECT_CONTAINS(t, "001d    00 29                    TYPE       OPT (41)\n");
    EXPECT_CONTAINS(t, "CLASS      4096 (OPT:");
    EXPECT_CONTAINS(t, "TTL        OPT: extended rcode 0, version 0, flags 0x0000\n");
    EXPECT_CONTAINS(t, "0025    00 00                    RDLENGTH   0\n");
    EXPECT_LACKS(t, "undecodable");
    EXPECT_LACKS(t, "??");
    CU_ASSERT_TRUE(longest_line(t) <= 100);
    free(t);
}

static void test_reply_records(void)
{
    char *t = dump(reply, sizeof reply);
    EXPECT_CONTAINS(t, "response, opcode QUERY, rd ra, rcode NOERROR");
    EXPECT_CONTAINS(t, "        ; answer 1\n");
    /* The pointer shows where it points and the name found there. */
    EXPECT_CONTAINS(t, "001d    c0 0c                    pointer    -> 0x000c: example.com.\n");
    EXPECT_CONTAINS(t, "TTL        3600 (1h)\n");
    EXPECT_CONTAINS(t, "0027    00 04                    RDLENGTH   4\n");
    /* The 4 bytes of the address, and the address they make. */
    EXPECT_CONTAINS(t, "0029    5d b8 d8 22              ADDRESS    93.184.216.34\n");
    EXPECT_CONTAINS(t, "        ; answer 2\n");
    EXPECT_CONTAINS(t, "0039    00 0a                    PREFERENCE 10");
    EXPECT_CONTAINS(t, "003b    04 6d 61 69 6c           label      4 \"mail\"\n");
    EXPECT_CONTAINS(t,
                    "0040    c0 0c                    pointer    -> 0x000c: example.com.\n"
                    "                                            = mail.example.com. (EXCHANGE)\n");
    EXPECT_CONTAINS(t, "TTL        300 (5m)\n");
    EXPECT_CONTAINS(t, "004e    0b 68 65 6c 6c 6f 20 77  string     11 \"hello world\"\n");
    EXPECT_CONTAINS(t, "0056    6f 72 6c 64\n");
    /* An owner name that is only a pointer into RDATA. */
    EXPECT_CONTAINS(t,
                    "005a    c0 3b                    pointer    -> 0x003b: mail.example.com.\n");
    EXPECT_CONTAINS(t, "TTL        86400 (1d)\n");
    EXPECT_CONTAINS(t, "0066    20 01 0d b8 00 00 00 00  ADDRESS    2001:db8::1\n");
    EXPECT_CONTAINS(t, "006e    00 00 00 00 00 00 00 01\n");
    EXPECT_CONTAINS(t, "        ; authority 1\n");
    EXPECT_CONTAINS(t, "SOA (6)");
    EXPECT_CONTAINS(t, "= ns1.example.com. (MNAME)\n");
    EXPECT_CONTAINS(t, "= hostmaster.example.com. (RNAME)\n");
    EXPECT_CONTAINS(t, "SERIAL     2013331971\n");
    EXPECT_CONTAINS(t, "REFRESH    7200 (2h:");
    EXPECT_CONTAINS(t, "RETRY      3600 (1h:");
    EXPECT_CONTAINS(t, "EXPIRE     1209600 (2w:");
    EXPECT_CONTAINS(t, "MINIMUM    300 (5m:");
    EXPECT_LACKS(t, "undecodable");
    EXPECT_LACKS(t, "does not match RDLENGTH");
    EXPECT_LACKS(t, "??");
    CU_ASSERT_TRUE(longest_line(t) <= 100);
    free(t);
}

static void test_long_label_wraps(void)
{
    /* A 63-octet label takes 64 bytes: 8 lines, only the first one named. */
    uint8_t m[12 + 64 + 1 + 4] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x01}; /* ID 1, QD 1 */
    m[12] = 63;
    memset(m + 13, 'x', 63);
    m[76] = 0x00;                          /* root */
    memcpy(m + 77, "\x00\x01\x00\x01", 4); /* QTYPE A, QCLASS IN */
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "000c    3f 78 78 78 78 78 78 78  label      63 \"xxxx");
    EXPECT_CONTAINS(t, "\n0014    78 78 78 78 78 78 78 78\n");
    EXPECT_CONTAINS(t, "\n0044    78 78 78 78 78 78 78 78\n");
    EXPECT_CONTAINS(t, "004c    00                       root       -> xxx");
    free(t);
}

static void test_label_escapes(void)
{
    /* A label holding a dot, a quote-free control byte and a space, escaped
     * as name_to_text() does it, so the dump and the logs agree. */
    static const uint8_t m[] = {
        0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* QD 1 */
        0x04, 'a',  '.',  0x01, ' ',                                            /* label */
        0x00, 0x00, 0x10, 0x00, 0x01,                                           /* TXT IN */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "label      4 \"a\\.\\001\\032\"\n");
    EXPECT_CONTAINS(t, "root       -> a\\.\\001\\032.\n");
    EXPECT_CONTAINS(t, "QTYPE      TXT (16)\n");
    free(t);
}

static void test_opt_options(void)
{
    char *t = dump(opt_query, sizeof opt_query);
    EXPECT_CONTAINS(t, "CLASS      1232 (OPT:");
    EXPECT_CONTAINS(t, "flags 0x8000 (do)\n");
    EXPECT_CONTAINS(t, "0017    00 0a                    OPT-CODE   COOKIE (10)\n");
    EXPECT_CONTAINS(t, "0019    00 08                    OPT-LEN    8\n");
    EXPECT_CONTAINS(t, "001b    01 02 03 04 05 06 07 08  OPT-DATA   8 bytes\n");
    EXPECT_LACKS(t, "undecodable");
    free(t);
}

static void test_ptr_and_ns(void)
{
    char *t = dump(ptr_reply, sizeof ptr_reply);
    EXPECT_CONTAINS(t, "root       -> 4.3.2.1.in-addr.arpa.\n");
    EXPECT_CONTAINS(t, "QTYPE      PTR (12)\n");
    EXPECT_CONTAINS(t, "0032    04 68 6f 73 74           label      4 \"host\"\n");
    EXPECT_CONTAINS(t, "0037    00                       root       -> host. (PTRDNAME)\n");
    EXPECT_CONTAINS(t, "0038    c0 12                    pointer    -> 0x0012: 1.in-addr.arpa.\n");
    EXPECT_CONTAINS(t, "0044    c0 32                    pointer    -> 0x0032: host. (NSDNAME)\n");
    EXPECT_LACKS(t, "undecodable");
    EXPECT_LACKS(t, "does not match");
    free(t);
    EXPECT_STR(
        summary(ptr_reply, sizeof ptr_reply),
        "reply id 14 QUERY NOERROR qr aa | 4.3.2.1.in-addr.arpa. IN PTR | qd 1 an 1 ns 1 ar 0");
}

static void test_soa_cut_short(void)
{
    /* RDLENGTH 10 holds both names and SERIAL, REFRESH, then half of RETRY. */
    static const uint8_t m[] = {
        0x00, 0x0f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, /* NS 1 */
        0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x0c, /* . SOA, RDLENGTH 12 */
        0x00, 0x00,                                                       /* MNAME . RNAME . */
        0x00, 0x00, 0x00, 0x01,                                           /* SERIAL 1 */
        0x00, 0x00, 0x00, 0x3c,                                           /* REFRESH 60 */
        0x00, 0x00,                                                       /* half a RETRY */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "root       -> . (MNAME)\n");
    EXPECT_CONTAINS(t, "root       -> . (RNAME)\n");
    EXPECT_CONTAINS(t, "SERIAL     1\n");
    EXPECT_CONTAINS(t, "REFRESH    60 (1m:");
    EXPECT_CONTAINS(t, "RDATA does not match RDLENGTH 12: RETRY runs past the end of the RDATA\n");
    EXPECT_CONTAINS(t, "0021    00 00                    ??         2 bytes not decoded\n");
    EXPECT_LACKS(t, "undecodable");
    free(t);
}

static void test_opt_option_cut_short(void)
{
    static const uint8_t m[] = {
        0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, /* AR 1 */
        0x00, 0x00, 0x29, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, /* OPT, RDLENGTH 8 */
        0x00, 0x03, 0x00, 0x0a,                                           /* NSID, 10 bytes */
        'n',  's',  '1',  '!',                                            /* only 4 */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "OPT-CODE   NSID (3)\n");
    EXPECT_CONTAINS(t, "OPT-LEN    10\n");
    EXPECT_CONTAINS(t,
                    "RDATA does not match RDLENGTH 8: option data of 10 bytes runs past the RDATA");
    EXPECT_CONTAINS(
        t, "001b    6e 73 31 21              ??         4 bytes not decoded, as text \"ns1!\"\n");
    free(t);
}

static void test_unknown_type_as_hex(void)
{
    static const uint8_t m[] = {
        0x00, 0x07, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* AN 1 */
        0x00, 0xff, 0x00, 0x00, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, /* TYPE65280 CLASS254 */
        0xaa, 0xbb, 0xcc,                                                 /* RDATA */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "TYPE       TYPE65280 (unknown)\n");
    EXPECT_CONTAINS(t, "CLASS      CLASS254 (unknown)\n");
    EXPECT_CONTAINS(t, "0017    aa bb cc                 rdata      3 bytes of TYPE65280");
    EXPECT_CONTAINS(t, "response, opcode QUERY, aa, rcode NOERROR");
    free(t);
}

static void test_srv_and_hinfo(void)
{
    /* Types decoded from the record-type table alone: SRV's numbers and its
     * target, HINFO's two character-strings. */
    static const uint8_t m[] = {
        0x00, 0x08, 0x84, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* AN 2 */
        0x00, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x0b,       /* . SRV */
        0x00, 0x0a, 0x00, 0x05, 0x14, 0xe9,                                     /* 10 5 5353 */
        0x03, 'w',  'w',  'w',  0x00,                                           /* www. */
        0x00, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x08,       /* . HINFO */
        0x03, 'A',  'R',  'M',  0x03, 'B',  'S',  'D',                          /* "ARM" "BSD" */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "0017    00 0a                    PRIORITY   10 (lower is tried first)\n");
    EXPECT_CONTAINS(t, "WEIGHT     5 (share among equal priorities)\n");
    EXPECT_CONTAINS(t, "001b    14 e9                    PORT       5353\n");
    EXPECT_CONTAINS(t, "root       -> www. (TARGET)\n");
    EXPECT_CONTAINS(t, "002d    03 41 52 4d              CPU        3 \"ARM\"\n");
    EXPECT_CONTAINS(t, "0031    03 42 53 44              OS         3 \"BSD\"\n");
    EXPECT_LACKS(t, "undecodable");
    EXPECT_LACKS(t, "RDATA does not match");
    free(t);
}

static void test_rdata_length_mismatch_goes_on(void)
{
    /* The mistake from a published tutorial: the address written as the text
     * "8.8.8.8" (7 bytes) instead of 4 bytes. RDLENGTH still frames the
     * record, so the next record is decoded. */
    static const uint8_t m[] = {
        0x00, 0x02, 0x80, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* AN 2 */
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x07,       /* . A IN 60 */
        '8',  '.',  '8',  '.',  '8',  '.',  '8',                                /* text! */
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04,       /* . A IN 60 */
        8,    8,    8,    8,                                                    /* right */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "RDATA does not match RDLENGTH 7: A RDATA is 4 bytes, but RDLENGTH is 7");
    EXPECT_CONTAINS(
        t,
        "0017    38 2e 38 2e 38 2e 38     ??         7 bytes not decoded, as text \"8.8.8.8\"\n");
    EXPECT_CONTAINS(t, "        ; answer 2\n");
    EXPECT_CONTAINS(t, "0029    08 08 08 08              ADDRESS    8.8.8.8\n");
    EXPECT_LACKS(t, "undecodable");
    EXPECT_STR(summary(m, sizeof m),
               "reply id 2 QUERY NOERROR qr | no question | qd 0 an 2 ns 0 ar 0"
               " | bad RDATA: answer 1: A RDATA is 4 bytes, but RDLENGTH is 7");
    free(t);
}

static void test_rdata_name_past_rdlength(void)
{
    /* A CNAME whose RDLENGTH (3) stops inside its name: the name reader is
     * held to the RDATA, and the record after it is still found. */
    static const uint8_t m[] = {
        0x00, 0x03, 0x80, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* AN 2 */
        0x00, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x03,       /* . CNAME */
        0x03, 'a',  'b',                                                        /* cut short */
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04,       /* . A */
        1,    2,    3,    4,
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "RDATA does not match RDLENGTH 3: CNAME runs past the end of the RDATA");
    EXPECT_CONTAINS(t, "0017    03 61 62                 ??         3 bytes not decoded\n");
    EXPECT_CONTAINS(t, "ADDRESS    1.2.3.4\n");
    free(t);
}

static void test_rdata_left_over(void)
{
    /* An MX with two bytes after its name, inside RDLENGTH. */
    static const uint8_t m[] = {
        0x00, 0x04, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, /* AN 1 */
        0x00, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x05,       /* . MX */
        0x00, 0x05, 0x00,                                                       /* 5 . */
        0xde, 0xad,                                                             /* extra */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "PREFERENCE 5 (");
    EXPECT_CONTAINS(t, "root       -> . (EXCHANGE)\n");
    EXPECT_CONTAINS(t, "RDATA does not match RDLENGTH 5: 2 bytes left over after the RDATA fields");
    EXPECT_CONTAINS(t, "001a    de ad                    ??         2 bytes not decoded\n");
    free(t);
}

static void test_datagram_framing(void)
{
    char *t = dump_datagram("received", "127.0.0.1:53124", dig_query, sizeof dig_query);
    const char *first = ">>> received 39 bytes from 127.0.0.1:53124\n"
                        "offset  bytes                    field      value\n"
                        "0000    4b db ";
    CU_ASSERT_EQUAL(strncmp(t, first, strlen(first)), 0);
    EXPECT_CONTAINS(t, "\n    summary: query id 19419 QUERY rd ad | google.com. IN A |"
                       " qd 1 an 0 ns 0 ar 1\n\n");
    size_t len = strlen(t);
    CU_ASSERT_TRUE(len >= 2 && strcmp(t + len - 2, "\n\n") == 0);
    free(t);

    t = dump_datagram("sent", "[::1]:2053", reply, sizeof reply);
    EXPECT_CONTAINS(t, "<<< sent 169 bytes to [::1]:2053\n");
    free(t);
}

/* Tests: undecodable input -------------------------------------------------------- */

static void test_empty(void)
{
    char *t = dump((const uint8_t *)"", 0);
    EXPECT_UINT(count_lines(t), 1);
    EXPECT_CONTAINS(t, "undecodable: empty datagram");
    free(t);
    t = dump(NULL, 0);
    EXPECT_CONTAINS(t, "undecodable: empty datagram");
    free(t);
    EXPECT_STR(summary(NULL, 0), "undecodable (0 bytes): empty datagram");
}

static void test_short_header(void)
{
    static const uint8_t m[] = {0x4b, 0xdb, 0x01, 0x20, 0x00};
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "        ; undecodable: shorter than the 12-byte header\n");
    EXPECT_CONTAINS(t, "0000    4b db 01 20 00           ??         5 bytes not decoded\n");
    EXPECT_LACKS(t, "ID ");
    free(t);
    EXPECT_STR(summary(m, sizeof m), "undecodable (5 bytes): shorter than the 12-byte header");
    EXPECT_STR(summary(m, 1), "undecodable (1 byte): shorter than the 12-byte header");
}

static void test_qdcount_65535_nothing_after(void)
{
    static const uint8_t m[] = {
        0x12, 0x34, 0x01, 0x00, /* ID, RD */
        0xff, 0xff,             /* QDCOUNT 65535 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "QDCOUNT    65535\n");
    EXPECT_CONTAINS(t, "undecodable: QDCOUNT says 65535 questions but the message ends after 0\n");
    /* One failure, then nothing: not 65535 attempts. */
    EXPECT_LACKS(t, "; question 1");
    CU_ASSERT_TRUE(count_lines(t) < 12);
    free(t);
    EXPECT_STR(summary(m, sizeof m), "query id 4660 QUERY rd | ? | qd 65535 an 0 ns 0 ar 0"
                                     " | undecodable: QDCOUNT says 65535 questions but the"
                                     " message ends after 0");
}

static void test_ancount_too_large(void)
{
    /* ANCOUNT 65535 after one complete record: the walk stops at the second. */
    static const uint8_t m[] = {
        0x00, 0x05, 0x80, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 1,    2,    3,    4,
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "ADDRESS    1.2.3.4\n");
    EXPECT_CONTAINS(t, "undecodable: ANCOUNT says 65535 records but the message ends after 1\n");
    free(t);
}

static void test_pointer_loops(void)
{
    /* A name that is a pointer to itself: followed blindly, it never ends. */
    static const uint8_t self[] = {
        0x00, 0x06, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* QD 1 */
        0xc0, 0x0c,                                                             /* -> 0x0c */
        0x00, 0x01, 0x00, 0x01,
    };
    /* Two pointers pointing at each other. */
    static const uint8_t pair[] = {
        0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* QD 1 */
        0xc0, 0x0e,                                                             /* -> 0x0e */
        0xc0, 0x0c,                                                             /* -> 0x0c */
    };
    /* A label then a pointer back to that label: "a.a.a.a..." forever. */
    static const uint8_t own[] = {
        0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* QD 1 */
        0x01, 'a',  0xc0, 0x0c,                                                 /* a -> 0x0c */
        0x00, 0x01, 0x00, 0x01,
    };
    char *t = dump(self, sizeof self);
    EXPECT_CONTAINS(t, "undecodable: question 1: compression pointer does not point backwards");
    EXPECT_CONTAINS(t, "000c    c0 0c 00 01 00 01        ??         6 bytes not decoded\n");
    free(t);
    t = dump(pair, sizeof pair);
    EXPECT_CONTAINS(t, "undecodable: question 1: compression pointer does not point backwards");
    free(t);
    t = dump(own, sizeof own);
    EXPECT_CONTAINS(t, "000c    01 61                    label      1 \"a\"\n");
    EXPECT_CONTAINS(t, "undecodable: question 1: compression pointer does not point backwards");
    EXPECT_CONTAINS(t, "000e    c0 0c 00 01 00 01        ??         6 bytes not decoded\n");
    free(t);
    EXPECT_STR(summary(own, sizeof own),
               "query id 8 QUERY | ? | qd 1 an 0 ns 0 ar 0 | undecodable: question 1:"
               " compression pointer does not point backwards");
}

static void test_label_past_end(void)
{
    static const uint8_t m[] = {
        0x00, 0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* QD 1 */
        0x03, 'c',  'o',  'm',                                                  /* com */
        0x05, 'a',  'b',                                                        /* 5, has 2 */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "label      3 \"com\"\n");
    EXPECT_CONTAINS(t, "undecodable: question 1: name runs past the end of the message");
    EXPECT_CONTAINS(t, "0010    05 61 62                 ??         3 bytes not decoded\n");
    free(t);
}

static void test_bad_label_type_and_pointer_into_header(void)
{
    static const uint8_t type[] = {
        0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x41, 0x00, 0x00, 0x01, 0x00, 0x01, /* 01xxxxxx: extended label type */
    };
    static const uint8_t header[] = {
        0x00, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0xc0, 0x04, 0x00, 0x01, 0x00, 0x01, /* pointer to offset 4 */
    };
    char *t = dump(type, sizeof type);
    EXPECT_CONTAINS(t, "undecodable: question 1: unknown label type");
    free(t);
    t = dump(header, sizeof header);
    EXPECT_CONTAINS(t, "undecodable: question 1: compression pointer into the header");
    free(t);
}

static void test_fixed_fields_cut(void)
{
    /* The name is whole but QTYPE has one byte of two. */
    static const uint8_t m[] = {
        0x00, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* root */
        0x00, /* half a QTYPE */
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "root       -> .\n");
    EXPECT_CONTAINS(t, "undecodable: question 1: QTYPE runs past the end of the message\n");
    EXPECT_CONTAINS(t, "000d    00                       ??         1 byte not decoded\n");
    free(t);
}

static void test_rdata_past_end(void)
{
    static const uint8_t m[] = {
        0x00, 0x0d, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x64, /* RDLENGTH 100 */
        1,    2,
    };
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "undecodable: answer 1: RDATA runs past the end of the message"
                       " (RDLENGTH 100, 2 left)");
    EXPECT_CONTAINS(t, "0017    01 02                    ??         2 bytes not decoded\n");
    free(t);
}

static void test_trailing_bytes(void)
{
    uint8_t m[sizeof dig_query + 3];
    memcpy(m, dig_query, sizeof dig_query);
    memcpy(m + sizeof dig_query, "\x01\x02\x03", 3);
    char *t = dump(m, sizeof m);
    EXPECT_CONTAINS(t, "        ; trailing bytes: 3 after the last record\n");
    EXPECT_CONTAINS(t, "0027    01 02 03                 ??         3 bytes not decoded\n");
    free(t);
    EXPECT_STR(summary(m, sizeof m), "query id 19419 QUERY rd ad | google.com. IN A |"
                                     " qd 1 an 0 ns 0 ar 1 | trailing bytes: 3 after the last"
                                     " record");
}

/* Tests: summaries ---------------------------------------------------------------- */

static void test_summaries(void)
{
    EXPECT_STR(summary(dig_query, sizeof dig_query),
               "query id 19419 QUERY rd ad | google.com. IN A | qd 1 an 0 ns 0 ar 1");
    EXPECT_STR(summary(reply, sizeof reply),
               "reply id 4660 QUERY NOERROR qr rd ra | example.com. IN A | qd 1 an 4 ns 1 ar 0");
    /* A header-only reply, as a server sends for FORMERR or NXDOMAIN. */
    static const uint8_t nx[] = {0x00, 0x2a, 0x85, 0x03, 0, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_STR(summary(nx, sizeof nx),
               "reply id 42 QUERY NXDOMAIN qr aa rd | no question | qd 0 an 0 ns 0 ar 0");
    /* An opcode and rcode without names, and a second question. */
    static const uint8_t odd[] = {
        0x00, 0x01, 0x18, 0x0b, 0x00, 0x02, 0, 0, 0, 0, 0, 0, /* OPCODE 3, RCODE 11, QD 2 */
        0x00, 0x00, 0x1c, 0x00, 0x03,                         /* . CH AAAA */
        0x00, 0x00, 0x01, 0x00, 0x01,                         /* . IN A */
    };
    EXPECT_STR(summary(odd, sizeof odd),
               "query id 1 OPCODE3 RCODE11 | . CH AAAA (+1 more) | qd 2 an 0 ns 0 ar 0");
}

static void test_summary_cap(void)
{
    char out[64];
    memset(out, 'X', sizeof out);
    /* cap 10: nine characters and the NUL, nothing written past them. */
    CU_ASSERT_PTR_EQUAL(trace_summary(dig_query, sizeof dig_query, out, 10), out);
    EXPECT_STR(out, "query id ");
    CU_ASSERT_EQUAL(out[10], 'X');
    memset(out, 'X', sizeof out);
    trace_summary(dig_query, sizeof dig_query, out, 1);
    EXPECT_STR(out, "");
    CU_ASSERT_EQUAL(out[1], 'X');
    /* cap 0: there is no room even for the NUL, so nothing is written. */
    out[0] = 'Y';
    trace_summary(dig_query, sizeof dig_query, out, 0);
    CU_ASSERT_EQUAL(out[0], 'Y');
    trace_summary((const uint8_t *)"\x01\x02\x03\x04\x05", 5, out, 16);
    EXPECT_STR(out, "undecodable (5 ");
}

/* Tests: anything at all ------------------------------------------------------------ */

/* xorshift32 with a fixed seed: the same "random" bytes on every run, so a
 * failure can be reproduced. */
static uint32_t fuzz_state = 2463534242u;
static uint32_t fuzz_next(void)
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 17;
    fuzz_state ^= fuzz_state << 5;
    return fuzz_state;
}

/* Dumps and summarises `m`; the sanitizers catch any read outside it. */
static void fuzz_one(const uint8_t *m, size_t len, unsigned *undecodable)
{
    char *t = dump_datagram("received", "fuzz", m, len);
    CU_ASSERT_PTR_NOT_NULL(t);
    if (t == NULL)
        return;
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "    summary: "));
    if (len < 12)
        CU_ASSERT_PTR_NOT_NULL(strstr(t, "undecodable"));
    if (strstr(t, "undecodable"))
        (*undecodable)++;
    free(t);

    char s[48];
    memset(s, 'X', sizeof s);
    size_t cap = 1 + fuzz_next() % 40;
    trace_summary(m, len, s, cap);
    CU_ASSERT_TRUE(memchr(s, '\0', cap) != NULL);
    CU_ASSERT_EQUAL(s[cap], 'X');
}

static void test_random_bytes(void)
{
    enum { ITERATIONS = 10000, BIG = 65535 };
    unsigned undecodable = 0;
    for (unsigned i = 0; i < ITERATIONS; i++) {
        size_t len;
        switch (i % 4) {
        case 0:
            len = fuzz_next() % 24;
            break; /* around the header */
        case 1:
            len = fuzz_next() % 128;
            break;
        case 2:
            len = fuzz_next() % 600;
            break;
        default:
            len = i % 1000 == 3 ? BIG - fuzz_next() % 8 : fuzz_next() % 2048;
            break;
        }
        /* A malloc'd copy of exactly `len` bytes: ASan then flags a read
         * of even one byte past the datagram. */
        uint8_t *exact = malloc(len ? len : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(exact);
        for (size_t j = 0; j < len; j++)
            exact[j] = (uint8_t)fuzz_next();
        /* Half the time, small counts, so records get parsed rather than
         * the walk stopping at a count of thousands. */
        if (len >= 12 && i % 2) {
            for (size_t j = 4; j < 12; j += 2) {
                exact[j] = 0;
                exact[j + 1] = (uint8_t)(fuzz_next() % 4);
            }
        }
        fuzz_one(exact, len, &undecodable);
        free(exact);
    }
    CU_ASSERT_TRUE(undecodable > ITERATIONS / 2);
}

static void test_mutated_reply(void)
{
    /* Valid messages with a few bytes changed and cut anywhere reach every
     * decoder with values that are almost right, which random bytes rarely do. */
    static const struct {
        const uint8_t *msg;
        size_t len;
    } bases[] = {
        {reply, sizeof reply},
        {dig_query, sizeof dig_query},
        {opt_query, sizeof opt_query},
        {ptr_reply, sizeof ptr_reply},
    };
    unsigned undecodable = 0;
    for (unsigned i = 0; i < 10000; i++) {
        const uint8_t *base = bases[i % 4].msg;
        size_t base_len = bases[i % 4].len;
        size_t len = fuzz_next() % (base_len + 1);
        uint8_t *m = malloc(len ? len : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        if (len)
            memcpy(m, base, len);
        for (unsigned k = fuzz_next() % 4; k > 0 && len > 0; k--)
            m[fuzz_next() % len] = (uint8_t)fuzz_next();
        fuzz_one(m, len, &undecodable);
        free(m);
    }
}

void test_trace_register(void)
{
    CU_pSuite s = CU_add_suite("trace", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "dig query: every field", test_dig_query_fields);
    CU_add_test(s, "reply: A MX TXT AAAA SOA and pointers", test_reply_records);
    CU_add_test(s, "a 63-octet label wraps over 8 lines", test_long_label_wraps);
    CU_add_test(s, "labels escaped like name_to_text", test_label_escapes);
    CU_add_test(s, "OPT options and the DO bit", test_opt_options);
    CU_add_test(s, "PTR and NS", test_ptr_and_ns);
    CU_add_test(s, "SOA cut short by RDLENGTH", test_soa_cut_short);
    CU_add_test(s, "OPT option cut short by RDLENGTH", test_opt_option_cut_short);
    CU_add_test(s, "unknown type shown as hex", test_unknown_type_as_hex);
    CU_add_test(s, "SRV and HINFO from the type table", test_srv_and_hinfo);
    CU_add_test(s, "RDATA shorter or longer than RDLENGTH", test_rdata_length_mismatch_goes_on);
    CU_add_test(s, "a name in RDATA held to RDLENGTH", test_rdata_name_past_rdlength);
    CU_add_test(s, "bytes left over in RDATA", test_rdata_left_over);
    CU_add_test(s, "trace_datagram framing", test_datagram_framing);
    CU_add_test(s, "empty datagram", test_empty);
    CU_add_test(s, "shorter than the header", test_short_header);
    CU_add_test(s, "QDCOUNT 65535 with nothing after", test_qdcount_65535_nothing_after);
    CU_add_test(s, "ANCOUNT larger than the records", test_ancount_too_large);
    CU_add_test(s, "pointer loops", test_pointer_loops);
    CU_add_test(s, "label past the end", test_label_past_end);
    CU_add_test(s, "bad label type, pointer into the header",
                test_bad_label_type_and_pointer_into_header);
    CU_add_test(s, "QTYPE cut short", test_fixed_fields_cut);
    CU_add_test(s, "RDATA past the end", test_rdata_past_end);
    CU_add_test(s, "trailing bytes", test_trailing_bytes);
    CU_add_test(s, "summaries", test_summaries);
    CU_add_test(s, "summary cut to its cap", test_summary_cap);
    CU_add_test(s, "10000 random datagrams", test_random_bytes);
    CU_add_test(s, "10000 mutated messages", test_mutated_reply);
}
