/* test_zonefile.c: unit tests of steps/04-answer/zonefile.c — master files read into zones. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "log.h"
#include "name.h"
#include "rdata.h"
#include "tests.h"
#include "zone.h"
#include "zonefile.h"

/* The source name every zonefile_load_text() call gives, so errors read "test.zone:LINE: ...". */
#define SRC "test.zone"

/* The first three lines of most zones below: a record after HEAD is on line 4. */
#define HEAD                                                                                       \
    "$ORIGIN example.com.\n"                                                                       \
    "$TTL 3600\n"                                                                                  \
    "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"

static char err[ZONEFILE_ERROR_MAX + 64];

/* Helpers ---------------------------------------------------------------------- */

static void record(int ok, const char *message, const char *file, unsigned line)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, message, file, "", CU_FALSE);
}

/* Loads `text` into `set`; on failure records it with the reader's message. Returns the new
 * zone (the head of the set) or NULL. */
static const struct zone *load_ok_at(struct zone_set *set, const char *text, const char *origin,
                                     const char *file, unsigned line)
{
    err[0] = '\0';
    int rc = zonefile_load_text(set, text, SRC, origin, err, sizeof err);
    test_expect_str(err, "", "zonefile_load_text error", file, line);
    test_expect_int(rc, 0, "zonefile_load_text", file, line);
    return rc == 0 ? set->zones : NULL;
}
#define LOAD_OK(set, text, origin) load_ok_at((set), (text), (origin), __FILE__, __LINE__)

/* Loads `text`, which must fail with "test.zone:LINE: ..." where the message contains `what`;
 * the set must be left as it was. */
static void expect_error_at(const char *text, const char *origin, unsigned want_line,
                            const char *what, const char *file, unsigned line)
{
    struct zone_set set = {NULL};
    err[0] = '\0';
    int rc = zonefile_load_text(&set, text, SRC, origin, err, sizeof err);
    test_expect_int(rc, -1, "zonefile_load_text on a bad zone", file, line);
    char prefix[64];
    snprintf(prefix, sizeof prefix, SRC ":%u: ", want_line);
    int ok =
        strncmp(err, prefix, strlen(prefix)) == 0 && strstr(err + strlen(prefix), what) != NULL;
    char msg[1024];
    snprintf(msg, sizeof msg, "error: expected \"%s...%s...\", got \"%s\"", prefix, what, err);
    record(ok, msg, file, line);
    record(set.zones == NULL, "a failed load adds no zone", file, line);
    zone_set_free(&set);
}
#define EXPECT_ERROR(text, origin, line, what)                                                     \
    expect_error_at((text), (origin), (line), (what), __FILE__, __LINE__)

static const struct zone_node *node_at(const struct zone *z, const char *text)
{
    struct name n;
    if (z == NULL || name_from_text(text, NULL, &n) != NAME_OK)
        return NULL;
    return zone_find_node(z, &n);
}

static const struct zone_rrset *rrset_at(const struct zone *z, const char *text, uint16_t type)
{
    const struct zone_node *node = node_at(z, text);
    return node ? zone_node_rrset(node, type) : NULL;
}

/* The RDATA of record `index` (0 = first) of the RRset of `type` at `owner`, compared with
 * `want`; also checks how many records the RRset has. */
static void expect_rdata_at(const struct zone *z, const char *owner, uint16_t type, unsigned count,
                            unsigned index, const uint8_t *want, size_t want_len, const char *file,
                            unsigned line)
{
    const struct zone_rrset *s = rrset_at(z, owner, type);
    char msg[256];
    snprintf(msg, sizeof msg, "RRset %s type %u exists", owner, type);
    record(s != NULL, msg, file, line);
    if (s == NULL)
        return;
    test_expect_uint(s->count, count, "RRset count", file, line);
    const struct zone_rdata *d = s->rdata;
    for (unsigned i = 0; i < index && d != NULL; i++)
        d = d->next;
    record(d != NULL, "record index within the RRset", file, line);
    if (d != NULL)
        test_expect_bytes(d->data, d->len, want, want_len, "RDATA", file, line);
}
#define EXPECT_RDATA(z, owner, type, count, index, want)                                           \
    expect_rdata_at((z), (owner), (type), (count), (index), (want), sizeof(want), __FILE__,        \
                    __LINE__)

static void expect_ttl_at(const struct zone *z, const char *owner, uint16_t type, uint32_t ttl,
                          const char *file, unsigned line)
{
    const struct zone_rrset *s = rrset_at(z, owner, type);
    char what[300];
    snprintf(what, sizeof what, "TTL of %s type %u", owner, type);
    record(s != NULL, what, file, line);
    if (s != NULL)
        test_expect_uint(s->ttl, ttl, what, file, line);
}
#define EXPECT_TTL(z, owner, type, ttl)                                                            \
    expect_ttl_at((z), (owner), (type), (ttl), __FILE__, __LINE__)

/* Wire form of example.com. as it ends every name below. */
#define EXAMPLE_COM 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0

/* The reader's features ----------------------------------------------------------- */

static void test_multi_line_soa(void)
{
    /* The usual SOA: parentheses over five lines, a comment after every field. */
    static const char text[] = "$ORIGIN example.com.\n"
                               "$TTL 3600\n"
                               "@       IN  SOA  ns1.example.com. hostmaster.example.com. (\n"
                               "                 2026112401 ; serial\n"
                               "                 7200       ; refresh (2h)\n"
                               "                 3600       ; retry ( with parentheses\n"
                               "                 1209600    ; expire ) inside the comment\n"
                               "                 300 )      ; minimum\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t soa[] = {
        3,    'n',  's',  '1',                      /* MNAME: "ns1" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        10,   'h',  'o',  's',  't', 'm',           /* RNAME: "hostm... */
        'a',  's',  't',  'e',  'r',                /* ...aster" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x78, 0xc4, 0x05, 0x91,                     /* SERIAL 2026112401 */
        0x00, 0x00, 0x1c, 0x20,                     /* REFRESH 7200 */
        0x00, 0x00, 0x0e, 0x10,                     /* RETRY 3600 */
        0x00, 0x12, 0x75, 0x00,                     /* EXPIRE 1209600 */
        0x00, 0x00, 0x01, 0x2c,                     /* MINIMUM 300 */
    };
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_SOA, 1, 0, soa);
    EXPECT_TTL(z, "example.com.", DNS_TYPE_SOA, 3600);
    static const uint8_t origin[] = {EXAMPLE_COM};
    EXPECT_BYTES(z->origin.wire, z->origin.len, origin, sizeof origin);
    CU_ASSERT_PTR_EQUAL(z->apex, node_at(z, "example.com."));
    CU_ASSERT_PTR_EQUAL(z->soa, rrset_at(z, "example.com.", DNS_TYPE_SOA));
    EXPECT_UINT(z->node_count, 1);
    CU_ASSERT_FALSE(z->apex->is_cut);
    zone_set_free(&set);
    CU_ASSERT_PTR_NULL(set.zones);
}

static void test_origin_directives(void)
{
    static const char text[] =
        "$ORIGIN example.com.\n"
        "$TTL 60\n"
        "@ SOA ns1 hostmaster 1 2 3 4 5\n"
        "$ORIGIN sub      ; relative: sub.example.com.\n"
        "www A 192.0.2.1\n"
        "$ORIGIN deeper   ; relative to the previous: deeper.sub.example.com.\n"
        "x A 192.0.2.2\n"
        "@ A 192.0.2.3    ; @ is the current $ORIGIN, not the apex\n"
        "$ORIGIN example.com.\n"
        "y A 192.0.2.4\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "www.sub.example.com.", DNS_TYPE_A));
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "x.deeper.sub.example.com.", DNS_TYPE_A));
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "deeper.sub.example.com.", DNS_TYPE_A));
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "y.example.com.", DNS_TYPE_A));
    CU_ASSERT_PTR_NULL(node_at(z, "y.deeper.sub.example.com."));
    /* SOA names: relative to the $ORIGIN in force on their line. */
    static const uint8_t soa[] = {
        3,   'n', 's', '1',                     /* MNAME: "ns1" */
        7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,   'c', 'o', 'm', 0,                  /* "com", root */
        10,  'h', 'o', 's', 't', 'm',           /* RNAME: "hostm... */
        'a', 's', 't', 'e', 'r',                /* ...aster" */
        7,   'e', 'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,   'c', 'o', 'm', 0,                  /* "com", root */
        0,   0,   0,   1,                       /* SERIAL 1 */
        0,   0,   0,   2,                       /* REFRESH 2 */
        0,   0,   0,   3,                       /* RETRY 3 */
        0,   0,   0,   4,                       /* EXPIRE 4 */
        0,   0,   0,   5,                       /* MINIMUM 5 */
    };
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_SOA, 1, 0, soa);
    zone_set_free(&set);

    /* The origin argument stands for a first $ORIGIN. */
    z = LOAD_OK(&set, "$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\nwww A 192.0.2.1\n", "example.com.");
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "www.example.com.", DNS_TYPE_A));
    zone_set_free(&set);

    /* ...and a $ORIGIN in the file replaces it. */
    z = LOAD_OK(&set, "$ORIGIN example.net.\n$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n",
                "example.com.");
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "example.net.", DNS_TYPE_SOA));
    CU_ASSERT_PTR_NULL(rrset_at(z, "example.com.", DNS_TYPE_SOA));
    zone_set_free(&set);

    /* Without any origin, absolute names are enough. */
    z = LOAD_OK(&set,
                "example.org. 60 SOA ns1.example.org. h.example.org. 1 2 3 4 5\n"
                "www.example.org. 60 A 192.0.2.1\n",
                NULL);
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "www.example.org.", DNS_TYPE_A));
    zone_set_free(&set);
}

static void test_ttls(void)
{
    static const char text[] = "$ORIGIN example.com.\n"
                               "$TTL 1h30m\n"
                               "@ SOA ns1 hostmaster 1 2 3 4 5\n"
                               "a 60 A 192.0.2.1\n"
                               "b A 192.0.2.2            ; $TTL, not the previous record's 60\n"
                               "c 1W2D3H4M5S A 192.0.2.3 ; upper-case units, all of them\n"
                               "d 2d A 192.0.2.4\n"
                               "e 30m1h A 192.0.2.5      ; units in any order\n"
                               "f 1h5 A 192.0.2.6        ; trailing seconds without a unit\n"
                               "g 0 A 192.0.2.7\n"
                               "h 2147483647 A 192.0.2.8 ; the largest RFC 2181 allows\n"
                               "$TTL 10\n"
                               "i A 192.0.2.9\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    EXPECT_TTL(z, "example.com.", DNS_TYPE_SOA, 5400);
    EXPECT_TTL(z, "a.example.com.", DNS_TYPE_A, 60);
    EXPECT_TTL(z, "b.example.com.", DNS_TYPE_A, 5400);
    EXPECT_TTL(z, "c.example.com.", DNS_TYPE_A, 604800 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5);
    EXPECT_TTL(z, "d.example.com.", DNS_TYPE_A, 172800);
    EXPECT_TTL(z, "e.example.com.", DNS_TYPE_A, 5400);
    EXPECT_TTL(z, "f.example.com.", DNS_TYPE_A, 3605);
    EXPECT_TTL(z, "g.example.com.", DNS_TYPE_A, 0);
    EXPECT_TTL(z, "h.example.com.", DNS_TYPE_A, 2147483647u);
    EXPECT_TTL(z, "i.example.com.", DNS_TYPE_A, 10);
    zone_set_free(&set);

    /* No $TTL: a record without a TTL takes the previous record's (RFC 1035 5.1). */
    z = LOAD_OK(&set,
                "$ORIGIN example.com.\n"
                "@ 100 SOA ns1 hostmaster 1 2 3 4 5\n"
                "a A 192.0.2.1\n"
                "b 7 A 192.0.2.2\n"
                "c A 192.0.2.3\n",
                NULL);
    EXPECT_TTL(z, "a.example.com.", DNS_TYPE_A, 100);
    EXPECT_TTL(z, "b.example.com.", DNS_TYPE_A, 7);
    EXPECT_TTL(z, "c.example.com.", DNS_TYPE_A, 7);
    zone_set_free(&set);
}

static void test_ttl_and_class_order(void)
{
    static const char text[] = HEAD "a 300 IN A 192.0.2.1\n"
                                    "b IN 300 A 192.0.2.2\n"
                                    "c IN A 192.0.2.3\n"
                                    "d 300 A 192.0.2.4\n"
                                    "e A 192.0.2.5\n"
                                    "f in a 192.0.2.6  ; class and type without case\n"
                                    "g CLASS1 A 192.0.2.7 ; RFC 3597 spelling of IN\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    EXPECT_TTL(z, "a.example.com.", DNS_TYPE_A, 300);
    EXPECT_TTL(z, "b.example.com.", DNS_TYPE_A, 300);
    EXPECT_TTL(z, "c.example.com.", DNS_TYPE_A, 3600);
    EXPECT_TTL(z, "d.example.com.", DNS_TYPE_A, 300);
    EXPECT_TTL(z, "e.example.com.", DNS_TYPE_A, 3600);
    EXPECT_TTL(z, "f.example.com.", DNS_TYPE_A, 3600);
    EXPECT_TTL(z, "g.example.com.", DNS_TYPE_A, 3600);
    static const uint8_t b[] = {192, 0, 2, 2};
    EXPECT_RDATA(z, "b.example.com.", DNS_TYPE_A, 1, 0, b);
    static const uint8_t f[] = {192, 0, 2, 6};
    EXPECT_RDATA(z, "f.example.com.", DNS_TYPE_A, 1, 0, f);
    zone_set_free(&set);
}

static void test_owners(void)
{
    static const char text[] = HEAD "www 300 IN A 192.0.2.1\n"
                                    "    300 IN A 192.0.2.2   ; blank owner: www again\n"
                                    "\n"
                                    "; a comment line does not change the previous owner\n"
                                    "\tIN AAAA 2001:db8::1    ; a tab works like spaces\n"
                                    "abs.example.com. A 192.0.2.3\n"
                                    "$ORIGIN example.net.\n"
                                    "  A 192.0.2.4            ; still abs.example.com.\n"
                                    "@ 60 IN NS ns.example.com.  ; @ is example.net. here\n";
    struct zone_set set = {NULL};
    /* The NS at example.net. is outside the zone: cut the text before it. */
    char head[sizeof text];
    memcpy(head, text, sizeof text);
    *strstr(head, "@ 60 IN NS") = '\0';
    const struct zone *z = LOAD_OK(&set, head, NULL);
    if (z == NULL)
        return;
    static const uint8_t a1[] = {192, 0, 2, 1};
    static const uint8_t a2[] = {192, 0, 2, 2};
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 2, 0, a1);
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 2, 1, a2);
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "www.example.com.", DNS_TYPE_AAAA));
    static const uint8_t a3[] = {192, 0, 2, 3};
    static const uint8_t a4[] = {192, 0, 2, 4};
    EXPECT_RDATA(z, "abs.example.com.", DNS_TYPE_A, 2, 0, a3);
    EXPECT_RDATA(z, "abs.example.com.", DNS_TYPE_A, 2, 1, a4);
    zone_set_free(&set);

    /* "@" after the $ORIGIN change is example.net., outside example.com.: line 12. */
    EXPECT_ERROR(text, NULL, 12, "'example.net.' is outside the zone 'example.com.'");
}

static void test_comments_and_parentheses(void)
{
    static const char text[] = "; a zone file may start with comments\n"
                               "\n"
                               "$ORIGIN example.com. ; after a directive\n"
                               "$TTL 3600\n"
                               "@ SOA ns1 hostmaster 1 2 3 4 5 ; after a record\n"
                               "mx MX ( 10    ; preference\n"
                               "        mail  ; exchange\n"
                               "      )\n"
                               "txt TXT \"a;b\" \"(c)\" ; ';' and parentheses in quotes are data\n"
                               "two (A) 192.0.2.1    ; parentheses around one field\n"
                               "   ; indented comment\n"
                               "late A 192.0.2.2\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t mx[] = {
        0x00, 0x0a,                               /* preference 10 */
        4,    'm',  'a', 'i', 'l',                /* "mail" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o', 'm', 0,                  /* "com", root */
    };
    EXPECT_RDATA(z, "mx.example.com.", DNS_TYPE_MX, 1, 0, mx);
    static const uint8_t txt[] = {
        3, 'a', ';', 'b', /* "a;b" */
        3, '(', 'c', ')', /* "(c)" */
    };
    EXPECT_RDATA(z, "txt.example.com.", DNS_TYPE_TXT, 1, 0, txt);
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "two.example.com.", DNS_TYPE_A));
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "late.example.com.", DNS_TYPE_A));
    zone_set_free(&set);

    /* Windows line ends: the '\r' is a space. */
    z = LOAD_OK(&set,
                "$ORIGIN example.com.\r\n$TTL 1\r\n@ SOA ns1 hm ( 1 2\r\n 3 4 5 )\r\n"
                "www A 192.0.2.1\r\n",
                NULL);
    CU_ASSERT_PTR_NOT_NULL(rrset_at(z, "www.example.com.", DNS_TYPE_A));
    zone_set_free(&set);
}

static void test_name_escapes(void)
{
    static const char text[] = HEAD "a\\.b A 192.0.2.1        ; one label \"a.b\"\n"
                                    "back\\\\slash A 192.0.2.2 ; one label with a backslash\n"
                                    "\\065bc A 192.0.2.3       ; \\065 is 'A'\n"
                                    "sp\\032ace A 192.0.2.4    ; a space inside a label\n"
                                    "x\\;y A 192.0.2.5         ; an escaped ';' is not a comment\n"
                                    "alias CNAME a\\.b\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t adotb[] = {3, 'a', '.', 'b', EXAMPLE_COM};
    const struct zone_node *n = node_at(z, "a\\.b.example.com.");
    CU_ASSERT_PTR_NOT_NULL(n);
    if (n != NULL)
        EXPECT_BYTES(n->name, n->name_len, adotb, sizeof adotb);
    CU_ASSERT_PTR_NULL(node_at(z, "a.b.example.com.")); /* not two labels */
    EXPECT_RDATA(z, "alias.example.com.", DNS_TYPE_CNAME, 1, 0, adotb);

    static const uint8_t slash[] = {10,  'b', 'a', 'c', 'k', '\\',
                                    's', 'l', 'a', 's', 'h', EXAMPLE_COM};
    n = node_at(z, "back\\\\slash.example.com.");
    CU_ASSERT_PTR_NOT_NULL(n);
    if (n != NULL)
        EXPECT_BYTES(n->name, n->name_len, slash, sizeof slash);

    static const uint8_t abc[] = {3, 'A', 'b', 'c', EXAMPLE_COM};
    n = node_at(z, "abc.example.com."); /* found without case */
    CU_ASSERT_PTR_NOT_NULL(n);
    if (n != NULL)
        EXPECT_BYTES(n->name, n->name_len, abc, sizeof abc);

    static const uint8_t space[] = {6, 's', 'p', ' ', 'a', 'c', 'e', EXAMPLE_COM};
    n = node_at(z, "sp\\032ace.example.com.");
    CU_ASSERT_PTR_NOT_NULL(n);
    if (n != NULL)
        EXPECT_BYTES(n->name, n->name_len, space, sizeof space);

    static const uint8_t semi[] = {3, 'x', ';', 'y', EXAMPLE_COM};
    n = node_at(z, "x\\;y.example.com.");
    CU_ASSERT_PTR_NOT_NULL(n);
    if (n != NULL)
        EXPECT_BYTES(n->name, n->name_len, semi, sizeof semi);
    zone_set_free(&set);
}

static void test_absolute_name_ending_in_escaped_backslash(void)
{
    /* "x\\." is the one-label name x\ followed by the root: absolute, as its final dot is not
     * escaped (the backslash before it is itself escaped). No $ORIGIN is needed. */
    static const char text[] = "x\\\\. 60 IN SOA ns.x\\\\. hm.x\\\\. 1 2 3 4 5\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z != NULL) {
        static const uint8_t origin[] = {2, 'x', '\\', 0};
        EXPECT_BYTES(z->origin.wire, z->origin.len, origin, sizeof origin);
    }
    zone_set_free(&set);
}

static void test_string_escapes(void)
{
    static const char text[] =
        HEAD "t TXT \"q\\\"uote\" \"back\\\\slash\" \"\\065\\000\\255\" \"\"\n"
             "u TXT word \"two words\" w\\\"x\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t t[] = {
        6,   'q',  '"',  'u',  'o', 't',  'e', /* "q\"uote" */
        10,  'b',  'a',  'c',  'k', '\\',      /* "back\\... */
        's', 'l',  'a',  's',  'h',            /* ...slash" */
        3,   0x41, 0x00, 0xff,                 /* "\065\000\255" */
        0,                                     /* "": an empty string */
    };
    EXPECT_RDATA(z, "t.example.com.", DNS_TYPE_TXT, 1, 0, t);
    static const uint8_t u[] = {
        4,   'w', 'o', 'r', 'd', /* an unquoted word */
        9,   't', 'w', 'o', ' ', /* a quoted string with a space: "two ... */
        'w', 'o', 'r', 'd', 's', /* ...words" */
        3,   'w', '"', 'x',      /* w\"x: an escaped quote in a word */
    };
    EXPECT_RDATA(z, "u.example.com.", DNS_TYPE_TXT, 1, 0, u);
    zone_set_free(&set);
}

static void test_txt_lengths(void)
{
    /* 255 bytes is the most a character-string holds; escapes count as one byte. */
    char text[2048];
    char s255[256], s254[255];
    memset(s255, 'x', 255);
    s255[255] = '\0';
    memset(s254, 'y', 254);
    s254[254] = '\0';
    snprintf(text, sizeof text, HEAD "max TXT \"%s\"\nesc TXT \"%s\\065\"\n", s255, s254);
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    const struct zone_rrset *s = rrset_at(z, "max.example.com.", DNS_TYPE_TXT);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s != NULL) {
        EXPECT_UINT(s->rdata->len, 256);
        EXPECT_UINT(s->rdata->data[0], 255);
        EXPECT_UINT(s->rdata->data[255], 'x');
    }
    s = rrset_at(z, "esc.example.com.", DNS_TYPE_TXT);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s != NULL) {
        EXPECT_UINT(s->rdata->len, 256);
        EXPECT_UINT(s->rdata->data[0], 255);
        EXPECT_UINT(s->rdata->data[255], 'A');
    }
    zone_set_free(&set);

    /* One more byte, either way, is refused on the record's line. */
    snprintf(text, sizeof text, HEAD "\nbig TXT \"%sx\"\n", s255);
    EXPECT_ERROR(text, NULL, 5, "character-string longer than 255 bytes");
    snprintf(text, sizeof text, HEAD "big TXT \"%s\\065\\066\"\n", s254);
    EXPECT_ERROR(text, NULL, 4, "character-string longer than 255 bytes");
    snprintf(text, sizeof text, HEAD "big TXT %sx\n", s255); /* unquoted */
    EXPECT_ERROR(text, NULL, 4, "character-string longer than 255 bytes");
}

static void test_txt_backslash_at_end_of_word(void)
{
    /* A word ending in a lone backslash at the end of a line (inside parentheses, so the entry
     * goes on). The backslash escapes nothing in the word: the reader must not decode past the
     * word's end and pull the next field "def" into the first character-string. Either the
     * record is refused, or its first string is "abc" (plus at most the escaped line end). */
    static const char text[] = HEAD "t TXT ( abc\\\n"
                                    "        def )\n";
    struct zone_set set = {NULL};
    err[0] = '\0';
    int rc = zonefile_load_text(&set, text, SRC, NULL, err, sizeof err);
    if (rc != 0) {
        /* Refused: at the entry's line. */
        CU_ASSERT_PTR_NOT_NULL(strstr(err, SRC ":4: "));
        return;
    }
    const struct zone_rrset *s = rrset_at(set.zones, "t.example.com.", DNS_TYPE_TXT);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s != NULL) {
        /* The first string's length byte: "abc" is 3, an escaped newline could make it 4; 7
         * means "abc" NUL "def" was read through the end of the word. */
        char msg[128];
        snprintf(msg, sizeof msg, "first character-string: expected 3 or 4 bytes, got %u",
                 s->rdata->data[0]);
        record(s->rdata->len >= 1 && s->rdata->data[0] >= 3 && s->rdata->data[0] <= 4, msg,
               __FILE__, __LINE__);
    }
    zone_set_free(&set);
}

static void test_rdata_of_each_type(void)
{
    static const char text[] = HEAD "a A 192.0.2.1\n"
                                    "aaaa AAAA 2001:db8::1\n"
                                    "v4 AAAA ::ffff:192.0.2.1\n"
                                    "@ NS ns1\n"
                                    "cname CNAME www.example.net.\n"
                                    "ptr PTR host\n"
                                    "@ MX 65535 mail\n"
                                    "mx0 MX 0 mail.example.net.\n"
                                    "txt TXT \"hi\"\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t a[] = {0xc0, 0x00, 0x02, 0x01}; /* 192.0.2.1 */
    EXPECT_RDATA(z, "a.example.com.", DNS_TYPE_A, 1, 0, a);
    static const uint8_t aaaa[] = {
        0x20, 0x01, 0x0d, 0xb8, /* 2001:db8 */
        0,    0,    0,    0,    /* :: */
        0,    0,    0,    0,    /* (64 zero bits) */
        0,    0,    0,    1,    /* ::1 */
    };
    EXPECT_RDATA(z, "aaaa.example.com.", DNS_TYPE_AAAA, 1, 0, aaaa);
    static const uint8_t v4[] = {
        0,    0,    0, 0, 0, /* ::  */
        0,    0,    0, 0, 0, /* (80 zero bits) */
        0xff, 0xff,          /* ffff: IPv4-mapped */
        192,  0,    2, 1,    /* the dotted quad */
    };
    EXPECT_RDATA(z, "v4.example.com.", DNS_TYPE_AAAA, 1, 0, v4);
    static const uint8_t ns[] = {3, 'n', 's', '1', EXAMPLE_COM};
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_NS, 1, 0, ns);
    static const uint8_t cname[] = {3,   'w', 'w', 'w', 7,   'e', 'x', 'a', 'm',
                                    'p', 'l', 'e', 3,   'n', 'e', 't', 0};
    EXPECT_RDATA(z, "cname.example.com.", DNS_TYPE_CNAME, 1, 0, cname);
    static const uint8_t ptr[] = {4, 'h', 'o', 's', 't', EXAMPLE_COM};
    EXPECT_RDATA(z, "ptr.example.com.", DNS_TYPE_PTR, 1, 0, ptr);
    static const uint8_t mx[] = {
        0xff, 0xff,                               /* preference 65535 */
        4,    'm',  'a', 'i', 'l',                /* exchange: "mail" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o', 'm', 0,                  /* "com", root */
    };
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_MX, 1, 0, mx);
    static const uint8_t mx0[] = {
        0x00, 0x00,                               /* preference 0 */
        4,    'm',  'a', 'i', 'l',                /* "mail" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,    'n',  'e', 't', 0,                  /* "net", root */
    };
    EXPECT_RDATA(z, "mx0.example.com.", DNS_TYPE_MX, 1, 0, mx0);
    static const uint8_t txt[] = {2, 'h', 'i'};
    EXPECT_RDATA(z, "txt.example.com.", DNS_TYPE_TXT, 1, 0, txt);
    CU_ASSERT_PTR_NULL(rrset_at(z, "a.example.com.", DNS_TYPE_AAAA));
    zone_set_free(&set);
}

static void test_srv_and_hinfo(void)
{
    /* The two rows the record-type table added: SRV (RFC 2782) and HINFO (RFC 1035 3.3.2). */
    static const char text[] = HEAD "_sip._udp SRV 10 60 5060 sip    ; a relative target\n"
                                    "_sip._udp SRV 0 0 0 .           ; \".\": no service here\n"
                                    "_ldap._tcp SRV 65535 65535 65535 Ldap.Example.NET.\n"
                                    "h HINFO \"INTEL-386\" \"Unix\"\n"
                                    "w HINFO PDP-11 TOPS-20          ; unquoted words\n"
                                    "e HINFO \"\" \"a \\\"b\\\" \\099\"    ; empty, escapes\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t sip[] = {
        0x00, 0x0a,                               /* PRIORITY 10 */
        0x00, 0x3c,                               /* WEIGHT 60 */
        0x13, 0xc4,                               /* PORT 5060 */
        3,    's',  'i', 'p',                     /* TARGET: "sip" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o', 'm', 0,                  /* "com", root */
    };
    EXPECT_RDATA(z, "_sip._udp.example.com.", DNS_TYPE_SRV, 2, 0, sip);
    static const uint8_t none[] = {
        0x00, 0x00, /* PRIORITY 0 */
        0x00, 0x00, /* WEIGHT 0 */
        0x00, 0x00, /* PORT 0 */
        0,          /* TARGET: the root */
    };
    EXPECT_RDATA(z, "_sip._udp.example.com.", DNS_TYPE_SRV, 2, 1, none);
    static const uint8_t ldap[] = {
        0xff, 0xff,                               /* PRIORITY 65535 */
        0xff, 0xff,                               /* WEIGHT 65535 */
        0xff, 0xff,                               /* PORT 65535 */
        4,    'L',  'd', 'a', 'p',                /* TARGET: "Ldap", case kept */
        7,    'E',  'x', 'a', 'm', 'p', 'l', 'e', /* "Example" */
        3,    'N',  'E', 'T', 0,                  /* "NET", root */
    };
    EXPECT_RDATA(z, "_ldap._tcp.example.com.", DNS_TYPE_SRV, 1, 0, ldap);
    static const uint8_t h[] = {
        9,   'I', 'N', 'T', 'E', 'L', /* CPU: "INTEL... */
        '-', '3', '8', '6',           /* ...-386" */
        4,   'U', 'n', 'i', 'x',      /* OS: "Unix" */
    };
    EXPECT_RDATA(z, "h.example.com.", DNS_TYPE_HINFO, 1, 0, h);
    static const uint8_t w[] = {
        6, 'P', 'D', 'P', '-', '1', '1',     /* CPU: "PDP-11" */
        7, 'T', 'O', 'P', 'S', '-', '2', '0' /* OS: "TOPS-20" */
    };
    EXPECT_RDATA(z, "w.example.com.", DNS_TYPE_HINFO, 1, 0, w);
    static const uint8_t e[] = {
        0,                                 /* CPU: "" */
        7,   'a', ' ', '"', 'b', '"', ' ', /* OS: a "b" ... */
        'c',                               /* ...\099 is 'c' */
    };
    EXPECT_RDATA(z, "e.example.com.", DNS_TYPE_HINFO, 1, 0, e);
    /* The service names' parents are empty non-terminals. */
    const struct zone_node *udp = node_at(z, "_udp.example.com.");
    CU_ASSERT_TRUE(udp != NULL && udp->rrsets == NULL);
    zone_set_free(&set);
}

static void test_soa_timers_with_units(void)
{
    /* REFRESH, RETRY, EXPIRE and MINIMUM are seconds and take TTL units, as BIND writes them;
     * SERIAL is a plain number (see test_error_table_fields). */
    static const char text[] = "$ORIGIN example.com.\n"
                               "$TTL 1h\n"
                               "@ SOA ns1 hm ( 4294967295 ; the largest serial\n"
                               "               2h         ; refresh\n"
                               "               30M        ; retry\n"
                               "               2w1d       ; expire\n"
                               "               5m )       ; minimum\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t soa[] = {
        3,    'n',  's',  '1',                      /* MNAME: "ns1" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        2,    'h',  'm',                            /* RNAME: "hm" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0xff, 0xff, 0xff, 0xff,                     /* SERIAL 4294967295 */
        0x00, 0x00, 0x1c, 0x20,                     /* REFRESH 2h = 7200 */
        0x00, 0x00, 0x07, 0x08,                     /* RETRY 30M = 1800 */
        0x00, 0x13, 0xc6, 0x80,                     /* EXPIRE 2w1d = 1296000 */
        0x00, 0x00, 0x01, 0x2c,                     /* MINIMUM 5m = 300 */
    };
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_SOA, 1, 0, soa);
    zone_set_free(&set);
}

static void test_rrsets_from_text(void)
{
    /* The storage rules are tested on zone_add() in test_zone.c; here, that records written
     * differently in the file are the same RDATA once parsed. */
    static const char text[] = HEAD "www 300 A 192.0.2.1\n"
                                    "www 600 A 192.0.2.2  ; RRset TTL stays the first's\n"
                                    "www 900 A 192.0.2.1  ; a duplicate: dropped\n"
                                    "@ NS ns1\n"
                                    "@ NS ns1.example.com. ; the same NS written absolute\n"
                                    "@ NS NS2\n"
                                    "t TXT \"a\" \"b\"\n"
                                    "t TXT a b            ; the same strings, unquoted\n"
                                    "t TXT \"\\097\" \\098  ; and escaped\n"
                                    "t TXT \"ab\"         ; different RDATA\n";
    struct zone_set set = {NULL};
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z == NULL)
        return;
    static const uint8_t a2[] = {192, 0, 2, 2};
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 2, 1, a2);
    EXPECT_TTL(z, "www.example.com.", DNS_TYPE_A, 300);
    static const uint8_t ns2[] = {3, 'N', 'S', '2', EXAMPLE_COM}; /* case kept */
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_NS, 2, 1, ns2);
    static const uint8_t t2[] = {2, 'a', 'b'};
    EXPECT_RDATA(z, "t.example.com.", DNS_TYPE_TXT, 2, 1, t2);
    zone_set_free(&set);

    /* An owner keeps the letters it was first written with. */
    z = LOAD_OK(&set, HEAD "WwW A 192.0.2.1\nwww A 192.0.2.2\n", NULL);
    const struct zone_node *n = node_at(z, "WWW.EXAMPLE.COM.");
    CU_ASSERT_PTR_NOT_NULL(n);
    if (n != NULL) {
        static const uint8_t want[] = {3, 'W', 'w', 'W', EXAMPLE_COM};
        EXPECT_BYTES(n->name, n->name_len, want, sizeof want);
    }
    zone_set_free(&set);
}

static void test_load_file(void)
{
    char path[] = "/tmp/test_zonefile_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    static const char text[] = HEAD "www A 192.0.2.1\n";
    CU_ASSERT_TRUE(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    struct zone_set set = {NULL};
    err[0] = '\0';
    EXPECT_INT(zonefile_load_file(&set, path, NULL, err, sizeof err), 0);
    EXPECT_STR(err, "");
    CU_ASSERT_PTR_NOT_NULL(rrset_at(set.zones, "www.example.com.", DNS_TYPE_A));
    zone_set_free(&set);

    /* An error names the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    static const char bad[] = HEAD "www A 192.0.2.300\n";
    CU_ASSERT_TRUE(write(fd, bad, sizeof bad - 1) == (ssize_t)(sizeof bad - 1));
    close(fd);
    EXPECT_INT(zonefile_load_file(&set, path, NULL, err, sizeof err), -1);
    char want[128];
    snprintf(want, sizeof want, "%s:4: bad IPv4 address '192.0.2.300'", path);
    EXPECT_STR(err, want);
    CU_ASSERT_PTR_NULL(set.zones);
    unlink(path);

    /* A missing file: the system's reason, no line. */
    EXPECT_INT(zonefile_load_file(&set, "/nonexistent/dir/example.zone", NULL, err, sizeof err),
               -1);
    EXPECT_STR(err, "/nonexistent/dir/example.zone: No such file or directory");
    CU_ASSERT_PTR_NULL(set.zones);
}

/* Files for the tests below, in a directory of their own ------------------------------- */

/* Makes a new directory under /tmp; its name in `dir`, a mkdtemp() template. */
static void make_dir(char *dir)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
}

/* `dir`/`name` in `out`. */
static const char *path_in(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
    return out;
}

/* Writes `text` to a new file at `path`. */
static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    size_t len = strlen(text);
    CU_ASSERT_TRUE(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

/*
 * zonefile_load_file(path) run in a child process, which a watchdog stops after 10 s: without
 * the checks under test, opening a FIFO waits for a writer forever and /dev/zero is read
 * forever. Returns the message (or "(loaded)"), or what became of a child that did not finish.
 */
static const char *load_in_child(const char *path)
{
    static char got[ZONEFILE_ERROR_MAX + 128];
    int fds[2];
    CU_ASSERT_TRUE_FATAL(pipe(fds) == 0);
    fflush(stdout);
    pid_t pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        alarm(10);
        struct zone_set set = {NULL};
        char child_err[ZONEFILE_ERROR_MAX + 64] = "";
        if (zonefile_load_file(&set, path, NULL, child_err, sizeof child_err) == 0)
            snprintf(child_err, sizeof child_err, "(loaded)");
        zone_set_free(&set);
        _exit(write(fds[1], child_err, strlen(child_err)) >= 0 ? 0 : 1);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof got - 1 && (n = read(fds[0], got + len, sizeof got - 1 - len)) > 0)
        len += (size_t)n;
    got[len] = '\0';
    close(fds[0]);
    int status = 0;
    CU_ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        snprintf(got, sizeof got, "(killed by signal %d: still reading %s after 10 s)",
                 WTERMSIG(status), path);
    return got;
}

static void test_load_file_not_regular(void)
{
    /* Only a regular file has an end: a directory, a FIFO or a device is refused from the
     * open descriptor's type, before any reading, with the file's name. */
    char dir[] = "/tmp/test_zonefile_XXXXXX", path[128], want[256];
    make_dir(dir);
    struct zone_set set = {NULL};
    EXPECT_INT(zonefile_load_file(&set, dir, NULL, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: is a directory, not a regular file", dir);
    EXPECT_STR(err, want);
    CU_ASSERT_PTR_NULL(set.zones);

    /* A FIFO with no writer: open() must not wait for one. */
    path_in(path, sizeof path, dir, "fifo");
    CU_ASSERT_TRUE_FATAL(mkfifo(path, 0600) == 0);
    snprintf(want, sizeof want, "%s: is a FIFO (a named pipe), not a regular file", path);
    EXPECT_STR(load_in_child(path), want);
    unlink(path);

    /* A device that never ends. */
    if (access("/dev/zero", R_OK) == 0)
        EXPECT_STR(load_in_child("/dev/zero"),
                   "/dev/zero: is a character device, not a regular file");
    rmdir(dir);
}

static void test_load_file_size_limit(void)
{
    /* A file over ZONEFILE_SIZE_MAX is refused from its size, before a byte is read: a sparse
     * file (ftruncate) of one byte more tests that in no time and no disk space. */
    char dir[] = "/tmp/test_zonefile_XXXXXX", path[128], want[256];
    make_dir(dir);
    path_in(path, sizeof path, dir, "big.zone");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    int sized = ftruncate(fd, (off_t)ZONEFILE_SIZE_MAX + 1);
    close(fd);
    CU_ASSERT_TRUE(sized == 0);
    struct zone_set set = {NULL};
    if (sized == 0) {
        EXPECT_INT(zonefile_load_file(&set, path, NULL, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s: too large for a zone file (more than 512 MiB)", path);
        EXPECT_STR(err, want);
        CU_ASSERT_PTR_NULL(set.zones);
    }
    EXPECT_INT(ZONEFILE_SIZE_MAX, 512 * 1024 * 1024); /* the figure the message gives */
    unlink(path);
    rmdir(dir);
}

static void test_load_files(void)
{
    char dir[] = "/tmp/test_zonefile_XXXXXX", a[128], b[128], c[128], net[128], bad[128];
    char want[512];
    make_dir(dir);
    write_text(path_in(a, sizeof a, dir, "a.zone"), HEAD "www A 192.0.2.1\n");
    write_text(path_in(b, sizeof b, dir, "b.zone"), HEAD "www A 192.0.2.2\n");
    write_text(path_in(c, sizeof c, dir, "c.zone"),
               "$ORIGIN Example.COM.\n$TTL 60\n@ SOA ns1 hm 1 2 3 4 5\n");
    write_text(path_in(net, sizeof net, dir, "net.zone"),
               "$ORIGIN example.net.\n$TTL 60\n@ SOA ns1 hm 1 2 3 4 5\n");
    write_text(path_in(bad, sizeof bad, dir, "bad.zone"),
               "$ORIGIN example.org.\n$TTL 60\n@ SOA ns1 hm 1 2 3 4 5\nwww AAA x\n");
    enum log_level threshold = log_threshold;
    log_threshold = LOG_ERROR; /* no "loaded zone" lines in the test's output */

    /* Two zones: both in the set, the last file's first. */
    struct zone_set set = {NULL};
    const char *good[] = {a, net};
    EXPECT_INT(zonefile_load_files(&set, good, 2, err, sizeof err), 0);
    CU_ASSERT_PTR_NOT_NULL(rrset_at(set.zones, "example.net.", DNS_TYPE_SOA));
    CU_ASSERT_PTR_NOT_NULL(
        rrset_at(set.zones ? set.zones->next : NULL, "www.example.com.", DNS_TYPE_A));
    zone_set_free(&set);

    /* Two files of one zone: an error naming both, as NSD's checker gives. Before, the second
     * silently hid the first. Nothing is left loaded. */
    const char *same[] = {a, b};
    EXPECT_INT(zonefile_load_files(&set, same, 2, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: zone 'example.com.' is already loaded from %s", b, a);
    EXPECT_STR(err, want);
    CU_ASSERT_PTR_NULL(set.zones);
    /* Origins compare without case; the first file of the zone is named, not the one before. */
    const char *cased[] = {a, net, c};
    EXPECT_INT(zonefile_load_files(&set, cased, 3, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: zone 'Example.COM.' is already loaded from %s", c, a);
    EXPECT_STR(err, want);
    CU_ASSERT_PTR_NULL(set.zones);
    /* The same file twice. */
    const char *twice[] = {net, net};
    EXPECT_INT(zonefile_load_files(&set, twice, 2, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: zone 'example.net.' is already loaded from %s", net, net);
    EXPECT_STR(err, want);

    /* A zone the set had before the call counts too; a failure leaves the set as it was. */
    const struct zone *before = LOAD_OK(&set, HEAD, NULL);
    const char *again[] = {net, a};
    EXPECT_INT(zonefile_load_files(&set, again, 2, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: zone 'example.com.' is already loaded", a);
    EXPECT_STR(err, want);
    const char *broken[] = {net, bad};
    EXPECT_INT(zonefile_load_files(&set, broken, 2, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:4: unknown type 'AAA'", bad);
    EXPECT_STR(err, want);
    CU_ASSERT_PTR_EQUAL(set.zones, before);
    CU_ASSERT_PTR_NULL(set.zones ? set.zones->next : NULL);
    zone_set_free(&set);

    log_threshold = threshold;
    unlink(a);
    unlink(b);
    unlink(c);
    unlink(net);
    unlink(bad);
    rmdir(dir);
}

static void test_parentheses_only_entries(void)
{
    /* Entries holding nothing but "()" are skipped. 100000 of them must not cost one stack
     * frame each (a hostile or generated file would overflow the stack). Run in a child so
     * a crash fails this test instead of killing the whole run. */
    enum { LINES = 100000 };
    size_t cap = sizeof HEAD + (size_t)LINES * 3 + 64;
    char *text = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t len = (size_t)snprintf(text, cap, "%s", HEAD);
    for (int i = 0; i < LINES; i++) {
        memcpy(text + len, "()\n", 3);
        len += 3;
    }
    snprintf(text + len, cap - len, "www A 192.0.2.1\n");
    fflush(stdout);
    pid_t pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0) {
        struct zone_set set = {NULL};
        char child_err[ZONEFILE_ERROR_MAX + 64];
        int rc = zonefile_load_text(&set, text, SRC, NULL, child_err, sizeof child_err);
        int ok = rc == 0 && rrset_at(set.zones, "www.example.com.", DNS_TYPE_A) != NULL;
        zone_set_free(&set);
        free(text);
        _exit(ok ? 0 : 1);
    }
    free(text);
    int status = 0;
    CU_ASSERT_TRUE(waitpid(pid, &status, 0) == pid);
    CU_ASSERT_FALSE(WIFSIGNALED(status)); /* e.g. SIGSEGV from a stack overflow */
    CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Errors, each at its line ------------------------------------------------------------ */

static void test_error_types_and_addresses(void)
{
    EXPECT_ERROR(HEAD "www IN AAA 192.0.2.1\n", NULL, 4, "unknown type 'AAA'");
    EXPECT_ERROR(HEAD "\n; comment\ncaa IN CAA 0 issue ca.example.net\n", NULL, 6,
                 "unsupported type 'CAA' (this server knows ");
    EXPECT_ERROR(HEAD "ds DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118\n", NULL, 4,
                 "unsupported type 'DS'");
    EXPECT_ERROR(HEAD "x TYPE99 \\# 0\n", NULL, 4, "unsupported type 'TYPE99'");
    EXPECT_ERROR(HEAD "www A 192.0.2.256\n", NULL, 4, "bad IPv4 address '192.0.2.256'");
    EXPECT_ERROR(HEAD "www A 1.2.3\n", NULL, 4, "bad IPv4 address '1.2.3'");
    EXPECT_ERROR(HEAD "www A 2001:db8::1\n", NULL, 4, "bad IPv4 address '2001:db8::1'");
    EXPECT_ERROR(HEAD "www AAAA 2001:db8::1::2\n", NULL, 4, "bad IPv6 address '2001:db8::1::2'");
    EXPECT_ERROR(HEAD "www AAAA 192.0.2.1\n", NULL, 4, "bad IPv6 address '192.0.2.1'");
    EXPECT_ERROR(HEAD "www A \"192.0.2.1\"\n", NULL, 4, "unexpected quoted string in A data");
    EXPECT_ERROR(HEAD "www\n", NULL, 4, "record without a type");
    EXPECT_ERROR(HEAD "www 300 IN\n", NULL, 4, "record without a type");
    EXPECT_ERROR(HEAD "t TXT\n", NULL, 4, "TXT needs at least one character-string");
    EXPECT_ERROR(HEAD "t TXT \"\\25\"\n", NULL, 4,
                 "bad escape '\\25' in '\\25': \\DDD needs three digits");
    EXPECT_ERROR(HEAD "t TXT \"a\\300\"\n", NULL, 4,
                 "bad escape '\\300' in 'a\\300': \\DDD is above 255");
    EXPECT_ERROR(HEAD "h HINFO \\1x y\n", NULL, 4,
                 "bad escape '\\1x' in '\\1x': \\DDD needs three digits");
    /* Quoted strings are RDATA only. */
    EXPECT_ERROR(HEAD "\"www\" A 192.0.2.1\n", NULL, 4,
                 "unexpected quoted string \"www\" before the RDATA");
    EXPECT_ERROR(HEAD "www \"A\" 192.0.2.1\n", NULL, 4,
                 "unexpected quoted string \"A\" before the RDATA");
    EXPECT_ERROR(HEAD "www \"300\" A 192.0.2.1\n", NULL, 4,
                 "unexpected quoted string \"300\" before the RDATA");
}

static void test_error_soa(void)
{
    EXPECT_ERROR("", NULL, 1, "no SOA record");
    EXPECT_ERROR("; only a comment\n\n", "example.com.", 2, "no SOA record");
    /* No SOA in a file of directives: at its last line, not past it. */
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL 1\n", NULL, 2, "no SOA record");
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL 1\n\nwww A 192.0.2.1\n", NULL, 4,
                 "the first record must be the zone's SOA");
    EXPECT_ERROR(HEAD "@ IN SOA ns2 hm 2 1 1 1 1\n", NULL, 4, "a second SOA record");
    EXPECT_ERROR(HEAD "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n", NULL, 4,
                 "a second SOA record"); /* even an identical one */
    EXPECT_ERROR(HEAD "www IN SOA ns1 hm 1 2 3 4 5\n", NULL, 4,
                 "SOA record at 'www.example.com.', not at the zone's apex");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 1 2 3 4\n", NULL, 2,
                 "SOA needs 7 fields after the type, found 6");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 1 2 3 4 5 6\n", NULL, 2,
                 "SOA needs 7 fields after the type, found 8");
    /* A bad field of a multi-line SOA: at its own line, and where the entry starts. */
    EXPECT_ERROR(
        "$ORIGIN example.com.\n"
        "@ 1 SOA ns1 hm (\n"
        "   1   ; serial\n"
        "   2h  ; refresh\n"
        "   x3  ; retry\n"
        "   4 5 )\n",
        NULL, 5,
        "bad SOA RETRY 'x3' (seconds, or e.g. 1h30m) (in the entry that starts at line 2)");
    /* Lines inside parentheses still count: the record after them is on line 9. */
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL 1\n@ SOA ns1 hm (\n1\n2\n3\n4\n5 )\nwww AAA x\n", NULL,
                 9, "unknown type 'AAA'");
    EXPECT_ERROR("$ORIGIN example.com.\r\n$TTL 1\r\n@ SOA ns1 hm 1 2 3 4 5\r\nwww AAA x\r\n", NULL,
                 4, "unknown type 'AAA'");
}

static void test_error_cname(void)
{
    EXPECT_ERROR(HEAD "www A 192.0.2.1\nwww CNAME other\n", NULL, 5,
                 "CNAME and other data at 'www.example.com.'");
    EXPECT_ERROR(HEAD "www CNAME other\n\nwww A 192.0.2.1\n", NULL, 6,
                 "CNAME and other data at 'www.example.com.'");
    EXPECT_ERROR(HEAD "www CNAME other\n  TXT \"x\"\n", NULL, 5, "CNAME and other data");
    EXPECT_ERROR(HEAD "@ CNAME other\n", NULL, 4, "CNAME and other data at 'example.com.'");
    EXPECT_ERROR(HEAD "www CNAME a\nwww CNAME b\n", NULL, 5,
                 "a second CNAME at 'www.example.com.'");
}

static void test_error_names(void)
{
    EXPECT_ERROR(HEAD "www.example.net. A 192.0.2.1\n", NULL, 4,
                 "'www.example.net.' is outside the zone 'example.com.'");
    EXPECT_ERROR(HEAD "$ORIGIN example.net.\nwww A 192.0.2.1\n", NULL, 5,
                 "'www.example.net.' is outside the zone 'example.com.'");
    EXPECT_ERROR("$TTL 1\n@ SOA ns1 hm 1 2 3 4 5\n", NULL, 2,
                 "relative owner name '@' but no $ORIGIN is set");
    EXPECT_ERROR("$TTL 1\nexample.com. SOA ns1 hm.example.com. 1 2 3 4 5\n", NULL, 2,
                 "relative SOA MNAME 'ns1' but no $ORIGIN is set");
    EXPECT_ERROR("$ORIGIN com\n", NULL, 1, "relative $ORIGIN 'com' but no $ORIGIN is set");
    EXPECT_ERROR(HEAD "a..b A 192.0.2.1\n", NULL, 4, "bad owner name 'a..b'");
    EXPECT_ERROR(HEAD "www CNAME a..b\n", NULL, 4, "bad CNAME 'a..b'");
    EXPECT_ERROR(HEAD "@ NS a..b\n", NULL, 4, "bad NS NSDNAME 'a..b'");
    EXPECT_ERROR(HEAD "p PTR .a\n", NULL, 4, "bad PTR PTRDNAME '.a'");
    EXPECT_ERROR(HEAD "mx MX 1 a..b\n", NULL, 4, "bad MX EXCHANGE 'a..b'");
    EXPECT_ERROR(HEAD "s SRV 1 2 3 a..b\n", NULL, 4, "bad SRV TARGET 'a..b'");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm..x 1 2 3 4 5\n", NULL, 2,
                 "bad SOA RNAME 'hm..x'");

    char label64[65], text[1200];
    memset(label64, 'a', 64);
    label64[64] = '\0';
    snprintf(text, sizeof text, HEAD "%s A 192.0.2.1\n", label64);
    EXPECT_ERROR(text, NULL, 4, "is too long");
    snprintf(text, sizeof text, HEAD "mx MX 10 %s\n", label64);
    char want[200];
    snprintf(want, sizeof want, "MX EXCHANGE '%s' is too long (labels <= 63, names <= 255 octets)",
             label64);
    EXPECT_ERROR(text, NULL, 4, want);
    /* A 63-octet label is fine. */
    struct zone_set set = {NULL};
    snprintf(text, sizeof text, HEAD "%.63s A 192.0.2.1\n", label64);
    LOAD_OK(&set, text, NULL);
    zone_set_free(&set);

    /* Names of 255 octets (in a zone at com.) load; 256 do not. Labels of 63, 63, 63, 57, then
     * com: 4 * 64 - 6 + 4 + 1 = 255 octets. */
    char l63[64], l57[58];
    memset(l63, 'b', 63);
    l63[63] = '\0';
    memset(l57, 'c', 57);
    l57[57] = '\0';
    snprintf(text, sizeof text,
             "$ORIGIN com.\n$TTL 1\n@ SOA ns hm 1 2 3 4 5\n%s.%s.%s.%s A 192.0.2.1\n", l63, l63,
             l63, l57);
    const struct zone *z = LOAD_OK(&set, text, NULL);
    if (z != NULL) {
        char name[300];
        snprintf(name, sizeof name, "%s.%s.%s.%s.com.", l63, l63, l63, l57);
        const struct zone_node *n = node_at(z, name);
        CU_ASSERT_PTR_NOT_NULL(n);
        EXPECT_UINT(n ? n->name_len : 0, 255);
    }
    zone_set_free(&set);
    snprintf(text, sizeof text,
             "$ORIGIN com.\n$TTL 1\n@ SOA ns hm 1 2 3 4 5\n%s.%s.%s.%sc A 192.0.2.1\n", l63, l63,
             l63, l57);
    EXPECT_ERROR(text, NULL, 4, "is too long");
    /* The same written absolute. */
    snprintf(text, sizeof text,
             "$ORIGIN com.\n$TTL 1\n@ SOA ns hm 1 2 3 4 5\n%s.%s.%s.%sc.com. A 192.0.2.1\n", l63,
             l63, l63, l57);
    EXPECT_ERROR(text, NULL, 4, "is too long");
}

static void test_error_lines_in_parentheses(void)
{
    /* An error inside a parenthesised entry is at the line of what is wrong, with the line
     * the entry starts at beside it. */
    struct zone_set set = {NULL};
    static const char text[] = HEAD "www A 192.0.2.1\n" /* line 4 */
                                    "x A (\n"           /* line 5: the entry starts */
                                    "\n"                /* line 6 */
                                    "  1.2.3 )\n";      /* line 7: the bad address */
    EXPECT_INT(zonefile_load_text(&set, text, "example.zone", NULL, err, sizeof err), -1);
    EXPECT_STR(err,
               "example.zone:7: bad IPv4 address '1.2.3' (in the entry that starts at line 5)");
    CU_ASSERT_PTR_NULL(set.zones);

    /* Each kind of field, on the entry's second line (5). */
    EXPECT_ERROR(HEAD "mx MX ( 10\n  a..b )\n", NULL, 5,
                 "bad MX EXCHANGE 'a..b' (in the entry that starts at line 4)");
    EXPECT_ERROR(HEAD "mx MX ( 10\n  \"mail\" )\n", NULL, 5, "unexpected quoted string in MX data");
    EXPECT_ERROR(HEAD "s SRV ( 0\n 0 65536 x )\n", NULL, 5, "bad SRV PORT '65536'");
    EXPECT_ERROR(HEAD "w AAAA (\n 2001:db8::1::2 )\n", NULL, 5, "bad IPv6 address");
    EXPECT_ERROR(HEAD "t TXT ( \"a\"\n  \"b\\25\" )\n", NULL, 5, "bad escape '\\25'");
    EXPECT_ERROR(HEAD "www (\n  IN AAA x )\n", NULL, 5,
                 "unknown type 'AAA' (in the entry that starts at line 4)");
    EXPECT_ERROR(HEAD "caa (\n  CAA 0 issue x )\n", NULL, 5, "unsupported type 'CAA'");
    EXPECT_ERROR(HEAD "www (\n  CH A 192.0.2.1 )\n", NULL, 5, "class 'CH' is not supported");
    EXPECT_ERROR(HEAD "www (\n  2147483648 A 192.0.2.1 )\n", NULL, 5, "above 2147483647");
    EXPECT_ERROR(HEAD "www (\n  1x A 192.0.2.1 )\n", NULL, 5, "bad TTL '1x'");
    EXPECT_ERROR(HEAD "www (\n  \"A\" 192.0.2.1 )\n", NULL, 5, "unexpected quoted string \"A\"");
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL 1\n@ SOA ns1 (\n  hm..x 1 2 3 4 5 )\n", NULL, 4,
                 "bad SOA RNAME 'hm..x' (in the entry that starts at line 3)");
    /* The tokenizer's own errors: at the quote or the parenthesis at fault. */
    EXPECT_ERROR(HEAD "t TXT ( \"a\"\n  \"b )\n", NULL, 5,
                 "quoted string not closed on its line (in the entry that starts at line 4)");
    EXPECT_ERROR(HEAD "www ( A\n  192.0.2.1 ) )\n", NULL, 5,
                 "')' without a matching '(' (in the entry that starts at line 4)");
    EXPECT_ERROR(HEAD "www ( A\n  192.0.2.1 ) (\n\n", NULL, 5,
                 "'(' without a matching ')' before the end of the file (in the entry that "
                 "starts at line 4)");

    /* What is wrong with the entry as a whole is at its first line, without the note; so is
     * any error on a one-line entry. */
    EXPECT_INT(zonefile_load_text(&set, HEAD "mx MX ( 10\n  a b )\n", SRC, NULL, err, sizeof err),
               -1);
    EXPECT_STR(err, "test.zone:4: MX needs 2 fields after the type, found 3");
    EXPECT_INT(zonefile_load_text(&set, HEAD "www A 1.2.3\nwww ( CNAME\n other )\n", SRC, NULL, err,
                                  sizeof err),
               -1);
    EXPECT_STR(err, "test.zone:4: bad IPv4 address '1.2.3'");
    EXPECT_INT(zonefile_load_text(&set, HEAD "www A 192.0.2.1\nwww ( CNAME\n other )\n", SRC, NULL,
                                  err, sizeof err),
               -1);
    EXPECT_STR(err, "test.zone:5: CNAME and other data at 'www.example.com.': a CNAME must be "
                    "alone at its name");
    CU_ASSERT_PTR_NULL(set.zones);
}

static void test_error_syntax(void)
{
    EXPECT_ERROR(HEAD "\nwww ( A\n  192.0.2.1\n", NULL, 5,
                 "'(' without a matching ')' before the end of the file");
    EXPECT_ERROR(HEAD "www A 192.0.2.1 )\n", NULL, 4, "')' without a matching '('");
    EXPECT_ERROR(HEAD "www A ( 192.0.2.1 ) )\n", NULL, 4, "')' without a matching '('");
    EXPECT_ERROR(HEAD "t TXT \"abc\n\"\n", NULL, 4, "quoted string not closed on its line");
    EXPECT_ERROR(HEAD "t TXT \"abc\\\"\n", NULL, 4, "quoted string not closed"); /* \" escaped */
    EXPECT_ERROR(HEAD "t TXT \"abc", NULL, 4, "quoted string not closed");
    EXPECT_ERROR(HEAD "$INCLUDE other.zone\n", NULL, 4, "unsupported directive '$INCLUDE'");
    EXPECT_ERROR(HEAD "$GENERATE 1-2 a$ A 192.0.2.$\n", NULL, 4, "unsupported directive");
    EXPECT_ERROR("$ORIGIN\n", NULL, 1, "$ORIGIN takes one name");
    EXPECT_ERROR("$ORIGIN a. b.\n", NULL, 1, "$ORIGIN takes one name");
    EXPECT_ERROR(" IN A 192.0.2.1\n", NULL, 1, "blank owner but no record before it");
    EXPECT_ERROR("$ORIGIN example.com.\n\n  1 SOA ns1 hm 1 2 3 4 5\n", NULL, 3,
                 "blank owner but no record before it");
}

static void test_error_ttl(void)
{
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL\n", NULL, 2, "$TTL takes one TTL");
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL abc\n", NULL, 2, "$TTL takes one TTL");
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL 1x\n", NULL, 2, "$TTL takes one TTL");
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL h\n", NULL, 2, "$TTL takes one TTL");
    EXPECT_ERROR("$ORIGIN example.com.\n$TTL 4294967296\n", NULL, 2, "$TTL takes one TTL");
    EXPECT_ERROR(HEAD "www 2147483648 A 192.0.2.1\n", NULL, 4, "above 2147483647");
    EXPECT_ERROR("$ORIGIN example.com.\n@ SOA ns1 hm 1 2 3 4 5\n", NULL, 2, "no TTL");
}

static void test_error_bad_record_ttl(void)
{
    /* A field that starts with a digit can only be a TTL (no type or class does): the message
     * should say the TTL is bad, not call "1x" an unknown type. */
    EXPECT_ERROR(HEAD "www 1x A 192.0.2.1\n", NULL, 4, "TTL");
    EXPECT_ERROR(HEAD "www 99999999999 A 192.0.2.1\n", NULL, 4, "TTL");
}

static void test_error_class_and_fields(void)
{
    EXPECT_ERROR(HEAD "www CH A 192.0.2.1\n", NULL, 4, "class 'CH' is not supported: only IN");
    EXPECT_ERROR(HEAD "www 300 HS TXT \"x\"\n", NULL, 4, "class 'HS' is not supported");
    EXPECT_ERROR("$ORIGIN example.com.\n@ CH 1 SOA ns1 hm 1 2 3 4 5\n", NULL, 2,
                 "class 'CH' is not supported");
    EXPECT_ERROR(HEAD "mx MX 10\n", NULL, 4, "MX needs 2 fields after the type, found 1");
    EXPECT_ERROR(HEAD "mx MX 10 a b\n", NULL, 4, "MX needs 2 fields after the type, found 3");
    EXPECT_ERROR(HEAD "www A 192.0.2.1 192.0.2.2\n", NULL, 4,
                 "A needs 1 field after the type, found 2");
    EXPECT_ERROR(HEAD "ns NS\n", NULL, 4, "NS needs 1 field after the type, found 0");
    EXPECT_ERROR(HEAD "mx MX 70000 mail\n", NULL, 4, "bad MX PREFERENCE '70000' (0-65535)");
    EXPECT_ERROR(HEAD "mx MX 65536 mail\n", NULL, 4, "bad MX PREFERENCE '65536' (0-65535)");
    EXPECT_ERROR(HEAD "mx MX 1h mail\n", NULL, 4, "bad MX PREFERENCE '1h' (0-65535)");
    EXPECT_ERROR(HEAD "mx MX -1 mail\n", NULL, 4, "bad MX PREFERENCE '-1' (0-65535)");
}

static void test_error_table_fields(void)
{
    /* The RDATA fields are parsed as the record-type table lays them out: each kind of field
     * has one parser and one message, naming the type and the field. */

    /* U16: 0 to 65535, digits only. */
    EXPECT_ERROR(HEAD "s SRV 65536 0 53 x\n", NULL, 4, "bad SRV PRIORITY '65536' (0-65535)");
    EXPECT_ERROR(HEAD "s SRV 0 99999 53 x\n", NULL, 4, "bad SRV WEIGHT '99999' (0-65535)");
    EXPECT_ERROR(HEAD "s SRV 0 0 65536 x\n", NULL, 4, "bad SRV PORT '65536' (0-65535)");
    EXPECT_ERROR(HEAD "s SRV 0 0 +53 x\n", NULL, 4, "bad SRV PORT '+53' (0-65535)");
    EXPECT_ERROR(HEAD "s SRV 0 0 0x35 x\n", NULL, 4, "bad SRV PORT '0x35' (0-65535)");
    /* A value far past 65535 must not wrap around to a small one. */
    EXPECT_ERROR(HEAD "mx MX 18446744073709551626 mail\n", NULL, 4,
                 "bad MX PREFERENCE '18446744073709551626' (0-65535)");

    /* A quoted string where a name (or a number) is expected. */
    EXPECT_ERROR(HEAD "www CNAME \"other\"\n", NULL, 4, "unexpected quoted string in CNAME data");
    EXPECT_ERROR(HEAD "mx MX 10 \"mail\"\n", NULL, 4, "unexpected quoted string in MX data");
    EXPECT_ERROR(HEAD "mx MX \"10\" mail\n", NULL, 4, "unexpected quoted string in MX data");
    EXPECT_ERROR(HEAD "s SRV 0 0 53 \"x.example.net.\"\n", NULL, 4,
                 "unexpected quoted string in SRV data");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA \"ns1\" hm 1 2 3 4 5\n", NULL, 2,
                 "unexpected quoted string in SOA data");

    /* SERIAL is a number (RFC 1982 arithmetic works on it), not a duration: no units. */
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 1h 2 3 4 5\n", NULL, 2,
                 "bad SOA SERIAL '1h' (0-4294967295)");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 4294967296 2 3 4 5\n", NULL, 2,
                 "bad SOA SERIAL '4294967296' (0-4294967295)");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm -1 2 3 4 5\n", NULL, 2,
                 "bad SOA SERIAL '-1' (0-4294967295)");
    /* The timers take units, but not any text. */
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 1 2x 3 4 5\n", NULL, 2,
                 "bad SOA REFRESH '2x' (seconds, or e.g. 1h30m)");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 1 2 3 h 5\n", NULL, 2,
                 "bad SOA EXPIRE 'h' (seconds, or e.g. 1h30m)");
    EXPECT_ERROR("$ORIGIN example.com.\n@ 1 SOA ns1 hm 1 2 3 4 4294967296\n", NULL, 2,
                 "bad SOA MINIMUM '4294967296' (seconds, or e.g. 1h30m)");

    /* Field counts come from the table too. */
    EXPECT_ERROR(HEAD "s SRV 0 0 53\n", NULL, 4, "SRV needs 4 fields after the type, found 3");
    EXPECT_ERROR(HEAD "h HINFO \"only-cpu\"\n", NULL, 4,
                 "HINFO needs 2 fields after the type, found 1");
    EXPECT_ERROR(HEAD "h HINFO a b c\n", NULL, 4, "HINFO needs 2 fields after the type, found 3");
    char text[600], s256[257];
    memset(s256, 's', 256);
    s256[256] = '\0';
    snprintf(text, sizeof text, HEAD "h HINFO \"%s\" os\n", s256);
    EXPECT_ERROR(text, NULL, 4, "character-string longer than 255 bytes");

    /* A pseudo-type of the table (OPT, RFC 6891) never appears in a zone. */
    EXPECT_ERROR(HEAD "o OPT x\n", NULL, 4, "unsupported type 'OPT'");
}

static void test_error_lists_known_types(void)
{
    /* The types "this server knows" are the table's rows, pseudo-types left out. */
    char known[512] = "";
    size_t count, used = 0;
    const struct rdata_type *rows = rdata_table(&count);
    for (size_t i = 0; i < count; i++) {
        char type_text[16];
        if (rows[i].pseudo)
            continue;
        used += (size_t)snprintf(known + used, sizeof known - used, "%s%s", used ? ", " : "",
                                 dns_type_text(rows[i].type, type_text, sizeof type_text));
    }
    char want[600];
    snprintf(want, sizeof want, "unsupported type 'CAA' (this server knows %s)", known);
    EXPECT_ERROR(HEAD "caa CAA 0 issue ca.example.net\n", NULL, 4, want);
    /* What that list holds today: every type this reader writes RDATA for, and not OPT. */
    static const char *const types[] = {"A",     "NS", "CNAME", "SOA",  "PTR",
                                        "HINFO", "MX", "TXT",   "AAAA", "SRV"};
    char padded[520];
    snprintf(padded, sizeof padded, " %s,", known);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char needle[16], msg[700];
        snprintf(needle, sizeof needle, " %s,", types[i]);
        snprintf(msg, sizeof msg, "\"%s\" lists %s", known, types[i]);
        record(strstr(padded, needle) != NULL, msg, __FILE__, __LINE__);
    }
    record(strstr(known, "OPT") == NULL, "the known types leave out OPT", __FILE__, __LINE__);
}

static void test_error_keeps_other_zones(void)
{
    /* A failed load leaves the zones already loaded as they were. */
    struct zone_set set = {NULL};
    const struct zone *first = LOAD_OK(&set, HEAD, NULL);
    EXPECT_INT(zonefile_load_text(&set, HEAD "www AAA x\n", SRC, NULL, err, sizeof err), -1);
    CU_ASSERT_PTR_EQUAL(set.zones, first);
    CU_ASSERT_PTR_NULL(set.zones ? set.zones->next : NULL);
    /* The message is cut to the buffer, NUL-terminated. */
    char small[12];
    memset(small, 'Z', sizeof small);
    EXPECT_INT(zonefile_load_text(&set, HEAD "www AAA x\n", SRC, NULL, small, sizeof small), -1);
    EXPECT_STR(small, "test.zone:4");
    zone_set_free(&set);
}

void test_zonefile_register(void)
{
    CU_pSuite s = CU_add_suite("zonefile", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "multi-line SOA: RDATA bytes", test_multi_line_soa);
    CU_add_test(s, "$ORIGIN absolute and relative, @", test_origin_directives);
    CU_add_test(s, "$TTL, TTL units, previous TTL", test_ttls);
    CU_add_test(s, "TTL and class in either order", test_ttl_and_class_order);
    CU_add_test(s, "owners: blank, absolute, after $ORIGIN", test_owners);
    CU_add_test(s, "comments and parentheses", test_comments_and_parentheses);
    CU_add_test(s, "escapes in names", test_name_escapes);
    CU_add_test(s, "absolute name ending in an escaped backslash",
                test_absolute_name_ending_in_escaped_backslash);
    CU_add_test(s, "escapes in character-strings", test_string_escapes);
    CU_add_test(s, "TXT: 255 bytes fit, 256 do not", test_txt_lengths);
    CU_add_test(s, "TXT: word ending in a lone backslash", test_txt_backslash_at_end_of_word);
    CU_add_test(s, "RDATA of A AAAA NS CNAME PTR MX TXT", test_rdata_of_each_type);
    CU_add_test(s, "RDATA of SRV and HINFO", test_srv_and_hinfo);
    CU_add_test(s, "SOA timers with units", test_soa_timers_with_units);
    CU_add_test(s, "RRsets: the same record written differently", test_rrsets_from_text);
    CU_add_test(s, "zonefile_load_file", test_load_file);
    CU_add_test(s, "zonefile_load_file: a directory, a FIFO, a device", test_load_file_not_regular);
    CU_add_test(s, "zonefile_load_file: ZONEFILE_SIZE_MAX", test_load_file_size_limit);
    CU_add_test(s, "zonefile_load_files: two files of one zone", test_load_files);
    CU_add_test(s, "100000 entries of only parentheses", test_parentheses_only_entries);
    CU_add_test(s, "errors: types, addresses, RDATA", test_error_types_and_addresses);
    CU_add_test(s, "errors: SOA", test_error_soa);
    CU_add_test(s, "errors: CNAME", test_error_cname);
    CU_add_test(s, "errors: names", test_error_names);
    CU_add_test(s, "errors: inside parentheses, at the line of the fault",
                test_error_lines_in_parentheses);
    CU_add_test(s, "errors: syntax and directives", test_error_syntax);
    CU_add_test(s, "errors: TTL", test_error_ttl);
    CU_add_test(s, "errors: bad TTL on a record", test_error_bad_record_ttl);
    CU_add_test(s, "errors: class and field counts", test_error_class_and_fields);
    CU_add_test(s, "errors: table-driven fields (U16, names, SOA numbers)",
                test_error_table_fields);
    CU_add_test(s, "errors: the known types come from the table", test_error_lists_known_types);
    CU_add_test(s, "errors: other zones kept, message cut", test_error_keeps_other_zones);
}
