/* test_zone.c: unit tests of steps/04-answer/zone.c — nodes, RRsets and the rules a zone keeps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "name.h"
#include "rdata.h"
#include "tests.h"
#include "zone.h"

/*
 * Zones are built here with zone_new() and zone_add(), RDATA given in wire form, as the
 * zone-file reader (tested in test_zonefile.c) hands it over.
 */

/* Wire form of example.com. as it ends every name below. */
#define EXAMPLE_COM 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0

/* RDATA used below. */
static const uint8_t a1[] = {192, 0, 2, 1};
static const uint8_t a2[] = {192, 0, 2, 2};
static const uint8_t a3[] = {192, 0, 2, 3};
static const uint8_t ns1[] = {3, 'n', 's', '1', EXAMPLE_COM};   /* ns1.example.com. */
static const uint8_t www[] = {3, 'w', 'w', 'w', EXAMPLE_COM};   /* www.example.com. */
static const uint8_t other[] = {5, 'o', 't', 'h', 'e', 'r', 0}; /* other. */
static const uint8_t txt_a[] = {1, 'a'};                        /* "a" */
static const uint8_t txt_ab[] = {1, 'a', 1, 'b'};               /* "a" "b": "a" and more */
static const uint8_t soa[] = {
    3, 'n', 's', '1',                      /* MNAME: "ns1" */
    7, 'e', 'x', 'a',  'm', 'p', 'l', 'e', /* "example" */
    3, 'c', 'o', 'm',  0,                  /* "com", root */
    2, 'h', 'm',                           /* RNAME: "hm" */
    7, 'e', 'x', 'a',  'm', 'p', 'l', 'e', /* "example" */
    3, 'c', 'o', 'm',  0,                  /* "com", root */
    0, 0,   0,   1,                        /* SERIAL 1 */
    0, 0,   0,   2,                        /* REFRESH 2 */
    0, 0,   0,   3,                        /* RETRY 3 */
    0, 0,   0,   4,                        /* EXPIRE 4 */
    0, 0,   1,   0x2c,                     /* MINIMUM 300 */
};

/* Helpers ---------------------------------------------------------------------- */

static void record(int ok, const char *message, const char *file, unsigned line)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, message, file, "", CU_FALSE);
}

/* The wire form of an absolute name in text form. */
static struct name name_at(const char *text, const char *file, unsigned line)
{
    struct name n;
    char what[300];
    snprintf(what, sizeof what, "name_from_text(\"%s\")", text);
    test_expect_status(name_from_text(text, NULL, &n), NAME_OK, what, file, line);
    return n;
}
#define NAME(text) name_at((text), __FILE__, __LINE__)

/* A new zone at `origin`; the test stops if there is none. */
static struct zone *new_zone(const char *origin)
{
    struct name n = NAME(origin);
    struct zone *z = zone_new(&n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    return z;
}

static const char *zone_status_name(enum zone_status status)
{
    switch (status) {
    case ZONE_OK:
        return "ZONE_OK";
    case ZONE_ERR_OUTSIDE:
        return "ZONE_ERR_OUTSIDE";
    case ZONE_ERR_SOA_NOT_APEX:
        return "ZONE_ERR_SOA_NOT_APEX";
    case ZONE_ERR_SECOND_SOA:
        return "ZONE_ERR_SECOND_SOA";
    case ZONE_ERR_SECOND_CNAME:
        return "ZONE_ERR_SECOND_CNAME";
    case ZONE_ERR_CNAME_AND_OTHER:
        return "ZONE_ERR_CNAME_AND_OTHER";
    case ZONE_ERR_RDATA_TOO_LONG:
        return "ZONE_ERR_RDATA_TOO_LONG";
    case ZONE_ERR_NO_MEMORY:
        return "ZONE_ERR_NO_MEMORY";
    }
    return "(not a zone_status)";
}

/* zone_add() of one record at `owner` (text), which must return `want`. */
static void expect_add_at(struct zone *z, const char *owner, uint16_t type, uint32_t ttl,
                          const uint8_t *rdata, size_t len, enum zone_status want, const char *file,
                          unsigned line)
{
    struct name n = name_at(owner, file, line);
    enum zone_status got = zone_add(z, &n, type, ttl, rdata, len);
    char msg[600];
    snprintf(msg, sizeof msg, "zone_add(%s, type %u): expected %s, got %s", owner, type,
             zone_status_name(want), zone_status_name(got));
    record(got == want, msg, file, line);
}
#define EXPECT_ADD(z, owner, type, ttl, rdata, want)                                               \
    expect_add_at((z), (owner), (type), (ttl), (rdata), sizeof(rdata), (want), __FILE__, __LINE__)
#define ADD(z, owner, type, ttl, rdata) EXPECT_ADD((z), (owner), (type), (ttl), (rdata), ZONE_OK)

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

/* The types of the RRsets at a node, in the node's order, as "1 16 28". */
static const char *types_at(const struct zone *z, const char *owner)
{
    static char out[256];
    size_t used = 0;
    out[0] = '\0';
    const struct zone_node *n = node_at(z, owner);
    for (const struct zone_rrset *s = n ? n->rrsets : NULL; s != NULL; s = s->next)
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%u", used ? " " : "",
                                 (unsigned)s->type);
    return out;
}

/* Nodes ---------------------------------------------------------------------------- */

static void test_new_zone(void)
{
    struct zone *z = new_zone("Example.COM.");
    static const uint8_t origin[] = {7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0};
    EXPECT_BYTES(z->origin.wire, z->origin.len, origin, sizeof origin);
    /* The apex is a node from the start, without RRsets, and no SOA yet. */
    EXPECT_UINT(z->node_count, 1);
    CU_ASSERT_PTR_NOT_NULL(z->apex);
    CU_ASSERT_PTR_EQUAL(node_at(z, "example.com."), z->apex);
    CU_ASSERT_PTR_NULL(z->apex->rrsets);
    CU_ASSERT_FALSE(z->apex->is_cut);
    CU_ASSERT_PTR_NULL(z->soa);
    CU_ASSERT_PTR_NULL(z->next);
    CU_ASSERT_TRUE(z->bucket_count > 0 && (z->bucket_count & (z->bucket_count - 1)) == 0);
    CU_ASSERT_PTR_NULL(node_at(z, "www.example.com."));
    CU_ASSERT_PTR_NULL(node_at(z, "com."));
    zone_free(z);

    /* The root can be a zone's apex: every name is in it. */
    z = new_zone(".");
    ADD(z, "a.b.", DNS_TYPE_A, 1, a1);
    EXPECT_UINT(z->node_count, 3);
    zone_free(z);
}

static void test_add_and_find(void)
{
    struct zone *z = new_zone("example.com.");
    ADD(z, "example.com.", DNS_TYPE_SOA, 3600, soa);
    ADD(z, "www.example.com.", DNS_TYPE_A, 300, a1);
    CU_ASSERT_PTR_EQUAL(z->soa, rrset_at(z, "example.com.", DNS_TYPE_SOA));
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_SOA, 1, 0, soa);
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 1, 0, a1);
    EXPECT_UINT(z->node_count, 2);

    /* Found in any letter case; the node's name is the owner as added. */
    const struct zone_node *n = node_at(z, "WWW.eXaMpLe.CoM.");
    CU_ASSERT_PTR_EQUAL(n, node_at(z, "www.example.com."));
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    static const uint8_t name[] = {3, 'w', 'w', 'w', EXAMPLE_COM};
    EXPECT_BYTES(n->name, n->name_len, name, sizeof name);
    EXPECT_UINT(n->hash, name_hash(n->name, n->name_len));
    const struct zone_rrset *s = zone_node_rrset(n, DNS_TYPE_A);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    EXPECT_UINT(s->type, DNS_TYPE_A);
    EXPECT_UINT(s->ttl, 300);
    CU_ASSERT_PTR_NULL(zone_node_rrset(n, DNS_TYPE_AAAA));
    CU_ASSERT_PTR_NULL(zone_node_rrset(z->apex, DNS_TYPE_A));

    /* Names that are not there: a sibling, a child, a name that shares only a suffix of the
     * bytes, and names outside the zone. */
    CU_ASSERT_PTR_NULL(node_at(z, "ww.example.com."));
    CU_ASSERT_PTR_NULL(node_at(z, "a.www.example.com."));
    CU_ASSERT_PTR_NULL(node_at(z, "xwww.example.com."));
    CU_ASSERT_PTR_NULL(node_at(z, "www.example.net."));
    CU_ASSERT_PTR_NULL(node_at(z, "."));
    zone_free(z);
}

/* zone_find_child() of `label` under `parent`, with the hash a walk down computes for it. */
static const struct zone_node *child_of(const struct zone *z, const struct zone_node *parent,
                                        const uint8_t *label)
{
    uint32_t hash = name_hash_prepend(parent->hash, parent->name_len, label);
    return zone_find_child(z, parent, label, hash);
}

static void test_find_child(void)
{
    struct zone *z = new_zone("example.com.");
    ADD(z, "www.example.com.", DNS_TYPE_A, 300, a1);
    ADD(z, "www.b.example.com.", DNS_TYPE_A, 300, a2); /* b.example.com.: a node with no data */
    const struct zone_node *www_node = node_at(z, "www.example.com.");
    const struct zone_node *b = node_at(z, "b.example.com.");
    const struct zone_node *www_b = node_at(z, "www.b.example.com.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(www_node);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(www_b);

    static const uint8_t www_label[] = {3, 'w', 'w', 'w'};
    static const uint8_t www_upper[] = {3, 'W', 'w', 'W'};
    static const uint8_t b_label[] = {1, 'b'};
    static const uint8_t ftp_label[] = {3, 'f', 't', 'p'};
    static const uint8_t ww_label[] = {2, 'w', 'w'};
    /* Hits, one level and two levels down, and without letter case. */
    CU_ASSERT_PTR_EQUAL(child_of(z, z->apex, www_label), www_node);
    CU_ASSERT_PTR_EQUAL(child_of(z, z->apex, www_upper), www_node);
    CU_ASSERT_PTR_EQUAL(child_of(z, z->apex, b_label), b);
    CU_ASSERT_PTR_EQUAL(child_of(z, b, www_label), www_b);
    CU_ASSERT_PTR_EQUAL(child_of(z, b, www_upper), www_b);
    /* Misses: a label nobody has, a shorter one, a child of a leaf. */
    CU_ASSERT_PTR_NULL(child_of(z, z->apex, ftp_label));
    CU_ASSERT_PTR_NULL(child_of(z, z->apex, ww_label));
    CU_ASSERT_PTR_NULL(child_of(z, www_node, www_label));
    /* The parent counts, not only the hash and the label: www.example.com.'s own hash, asked
     * under b.example.com., finds nothing (www.b.example.com. has another hash). */
    CU_ASSERT_PTR_NULL(zone_find_child(z, b, www_label, www_node->hash));
    zone_free(z);
}

static void test_owner_case_kept(void)
{
    struct zone *z = new_zone("example.com.");
    ADD(z, "WwW.example.com.", DNS_TYPE_A, 60, a1);
    ADD(z, "www.EXAMPLE.com.", DNS_TYPE_A, 60, a2);
    ADD(z, "WWW.example.com.", DNS_TYPE_TXT, 60, txt_a);
    /* One node, named as first written. */
    EXPECT_UINT(z->node_count, 2);
    const struct zone_node *n = node_at(z, "www.example.com.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    static const uint8_t want[] = {3, 'W', 'w', 'W', EXAMPLE_COM};
    EXPECT_BYTES(n->name, n->name_len, want, sizeof want);
    EXPECT_UINT(zone_node_rrset(n, DNS_TYPE_A)->count, 2);
    EXPECT_STR(types_at(z, "www.example.com."), "1 16");
    zone_free(z);
}

static void test_empty_non_terminals(void)
{
    struct zone *z = new_zone("example.com.");
    ADD(z, "a.b.c.example.com.", DNS_TYPE_A, 60, a1);
    ADD(z, "x.b.c.example.com.", DNS_TYPE_A, 60, a2);
    /* apex, c, b.c, a.b.c, x.b.c */
    EXPECT_UINT(z->node_count, 5);
    const struct zone_node *bc = node_at(z, "b.c.example.com.");
    const struct zone_node *c = node_at(z, "c.example.com.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(bc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_PTR_NULL(bc->rrsets);
    CU_ASSERT_PTR_NULL(c->rrsets);
    /* An empty non-terminal takes the case of the name that made it. */
    static const uint8_t bc_name[] = {1, 'b', 1, 'c', EXAMPLE_COM};
    EXPECT_BYTES(bc->name, bc->name_len, bc_name, sizeof bc_name);
    CU_ASSERT_PTR_NULL(node_at(z, "b.example.com."));
    CU_ASSERT_PTR_NULL(node_at(z, "com."));
    CU_ASSERT_PTR_NULL(node_at(z, "y.b.c.example.com."));

    /* Data at an empty non-terminal: the same node gets an RRset, no node is added. */
    ADD(z, "b.c.example.com.", DNS_TYPE_TXT, 60, txt_a);
    CU_ASSERT_PTR_EQUAL(node_at(z, "b.c.example.com."), bc);
    EXPECT_UINT(z->node_count, 5);
    EXPECT_STR(types_at(z, "b.c.example.com."), "16");

    /* A name deep below the apex: every ancestor down to it is made. 120 labels "a" under
     * example.com.: 120 * 2 + 13 = 253 octets, near the 255-octet limit. */
    char deep[300] = "";
    for (int i = 0; i < 120; i++)
        strcat(deep, "a.");
    strcat(deep, "example.com.");
    ADD(z, deep, DNS_TYPE_A, 60, a3);
    EXPECT_UINT(z->node_count, 5 + 120);
    CU_ASSERT_PTR_NOT_NULL(node_at(z, "a.a.a.example.com."));
    zone_free(z);
}

/* A name of `len` octets (3 to 255) in wire form, in labels of up to 63 octets, its letters in
 * both cases and shifted by `len`, so that names of two lengths differ. */
static struct name name_of_length(size_t len)
{
    struct name n = {0};
    size_t left = len - 1; /* the octets before the root label */
    /* Bounded: each pass takes 2 to 64 octets of `left`. */
    while (left > 0) {
        size_t take = left < 64 ? left : 64; /* a length byte and up to 63 octets */
        if (left - take == 1)
            take--; /* a lone octet left over could not be a label */
        n.wire[n.len++] = (uint8_t)(take - 1);
        for (size_t i = 1; i < take; i++)
            n.wire[n.len++] = (uint8_t)((i % 2 ? 'a' : 'A') + (len + i) % 26);
        left -= take;
    }
    n.wire[n.len++] = 0;
    return n;
}

static void test_node_names_exact(void)
{
    /* A node keeps its name at its exact length. Under the root every length fits: the root
     * itself (1 octet), then 3 to 255 (2 cannot be: a label has at least one octet). */
    struct zone *z = new_zone(".");
    static const uint8_t root[] = {0};
    EXPECT_BYTES(z->apex->name, z->apex->name_len, root, sizeof root);
    struct name out;
    memset(&out, 0xA5, sizeof out);
    CU_ASSERT_PTR_EQUAL(zone_node_name(z->apex, &out), &out);
    EXPECT_BYTES(out.wire, out.len, root, sizeof root);

    for (size_t len = 3; len <= NAME_WIRE_MAX; len++) {
        struct name n = name_of_length(len);
        EXPECT_UINT(n.len, len);
        EXPECT_UINT(zone_add(z, &n, DNS_TYPE_A, 60, a1, sizeof a1), ZONE_OK);
    }
    /* Each name comes back byte for byte, case kept, found in another case; so does each
     * ancestor the long names made, down from the first label. */
    for (size_t len = 3; len <= NAME_WIRE_MAX; len++) {
        struct name n = name_of_length(len);
        struct name lower = n;
        name_lower(&lower);
        const struct zone_node *node = zone_find_node(z, &lower);
        CU_ASSERT_PTR_NOT_NULL_FATAL(node);
        EXPECT_BYTES(node->name, node->name_len, n.wire, n.len);
        EXPECT_UINT(node->hash, name_hash(n.wire, n.len));
        memset(&out, 0xA5, sizeof out);
        CU_ASSERT_PTR_EQUAL(zone_node_name(node, &out), &out);
        EXPECT_BYTES(out.wire, out.len, n.wire, n.len);
        CU_ASSERT_PTR_NOT_NULL(zone_node_rrset(node, DNS_TYPE_A));
        /* The parent's name is this one without its first label. */
        CU_ASSERT_PTR_NOT_NULL_FATAL(node->parent);
        size_t skip = 1 + (size_t)n.wire[0];
        EXPECT_BYTES(node->parent->name, node->parent->name_len, n.wire + skip, n.len - skip);
    }
    zone_free(z);
}

static void test_cuts(void)
{
    struct zone *z = new_zone("example.com.");
    ADD(z, "example.com.", DNS_TYPE_SOA, 60, soa);
    ADD(z, "example.com.", DNS_TYPE_NS, 60, ns1);
    ADD(z, "ns1.example.com.", DNS_TYPE_A, 60, a1);
    static const uint8_t ns_sub[] = {2, 'n', 's', 3, 's', 'u', 'b', EXAMPLE_COM};
    ADD(z, "sub.example.com.", DNS_TYPE_NS, 60, ns_sub);
    ADD(z, "ns.sub.example.com.", DNS_TYPE_A, 60, a2); /* glue below the cut */
    ADD(z, "deep.er.example.com.", DNS_TYPE_NS, 60, other);
    ADD(z, "txt.example.com.", DNS_TYPE_TXT, 60, txt_a);
    /* A DS, the parent's other data at a cut (RFC 4035 2.4), leaves it a cut. */
    static const uint8_t ds[] = {0xec, 0x45, 8, 2, 0x12, 0x34};
    ADD(z, "sub.example.com.", DNS_TYPE_DS, 60, ds);

    CU_ASSERT_FALSE(z->apex->is_cut); /* NS at the apex: the zone's own servers */
    const struct zone_node *n = node_at(z, "sub.example.com.");
    CU_ASSERT_TRUE(n != NULL && n->is_cut);
    n = node_at(z, "ns.sub.example.com.");
    CU_ASSERT_TRUE(n != NULL && !n->is_cut);
    n = node_at(z, "deep.er.example.com.");
    CU_ASSERT_TRUE(n != NULL && n->is_cut);
    n = node_at(z, "er.example.com."); /* the empty non-terminal above a cut */
    CU_ASSERT_TRUE(n != NULL && !n->is_cut);
    n = node_at(z, "ns1.example.com.");
    CU_ASSERT_TRUE(n != NULL && !n->is_cut);
    n = node_at(z, "txt.example.com.");
    CU_ASSERT_TRUE(n != NULL && !n->is_cut);
    EXPECT_UINT(z->node_count, 7);
    zone_free(z);
}

/* RRsets ---------------------------------------------------------------------------- */

static void test_rrset_rules(void)
{
    struct zone *z = new_zone("example.com.");
    ADD(z, "www.example.com.", DNS_TYPE_A, 300, a1);
    ADD(z, "www.example.com.", DNS_TYPE_A, 600, a2); /* RFC 2181 5.2: the first TTL stays */
    ADD(z, "www.example.com.", DNS_TYPE_A, 900, a1); /* RFC 2181 5: a duplicate, dropped */
    ADD(z, "www.example.com.", DNS_TYPE_A, 60, a3);
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 3, 0, a1); /* in the order added */
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 3, 1, a2);
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, 3, 2, a3);
    EXPECT_UINT(rrset_at(z, "www.example.com.", DNS_TYPE_A)->ttl, 300);

    /* Duplicates compare whole RDATA: one that starts like another is a record of its own,
     * either way round. */
    ADD(z, "t.example.com.", DNS_TYPE_TXT, 60, txt_ab);
    ADD(z, "t.example.com.", DNS_TYPE_TXT, 60, txt_a);
    ADD(z, "t.example.com.", DNS_TYPE_TXT, 60, txt_ab);
    EXPECT_RDATA(z, "t.example.com.", DNS_TYPE_TXT, 2, 0, txt_ab);
    EXPECT_RDATA(z, "t.example.com.", DNS_TYPE_TXT, 2, 1, txt_a);

    /* One RRset per type at a node, kept in the order their types first came (an ANY answer
     * lists them so). */
    static const uint8_t aaaa[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    ADD(z, "www.example.com.", DNS_TYPE_AAAA, 60, aaaa);
    ADD(z, "www.example.com.", DNS_TYPE_TXT, 60, txt_a);
    ADD(z, "www.example.com.", DNS_TYPE_AAAA, 60, aaaa);
    EXPECT_STR(types_at(z, "www.example.com."), "1 28 16");
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_AAAA, 1, 0, aaaa);

    /* A record with empty RDATA is stored as such. */
    static const uint8_t empty[1] = {0};
    struct name n = NAME("e.example.com.");
    EXPECT_INT(zone_add(z, &n, 65280, 60, empty, 0), ZONE_OK);
    const struct zone_rrset *s = rrset_at(z, "e.example.com.", 65280);
    CU_ASSERT_TRUE(s != NULL && s->count == 1 && s->rdata->len == 0);
    zone_free(z);
}

/* The rules a zone keeps, as zone_add() statuses ------------------------------------- */

static void test_outside(void)
{
    struct zone *z = new_zone("example.com.");
    static const char *const outside[] = {"www.example.net.", "com.", ".", "xexample.com.",
                                          "example.com.example.net."};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
        EXPECT_ADD(z, outside[i], DNS_TYPE_A, 60, a1, ZONE_ERR_OUTSIDE);
    /* Nothing was made for them. */
    EXPECT_UINT(z->node_count, 1);
    CU_ASSERT_PTR_NULL(z->apex->rrsets);
    /* The apex in another case is inside. */
    ADD(z, "EXAMPLE.COM.", DNS_TYPE_A, 60, a1);
    zone_free(z);
}

static void test_soa_rules(void)
{
    struct zone *z = new_zone("example.com.");
    EXPECT_ADD(z, "www.example.com.", DNS_TYPE_SOA, 60, soa, ZONE_ERR_SOA_NOT_APEX);
    CU_ASSERT_PTR_NULL(node_at(z, "www.example.com.")); /* refused before the node was made */
    CU_ASSERT_PTR_NULL(z->soa);
    ADD(z, "Example.Com.", DNS_TYPE_SOA, 60, soa);
    const struct zone_rrset *first = z->soa;
    CU_ASSERT_PTR_NOT_NULL(first);
    /* Exactly one SOA record: a second is refused even when identical (not dropped as a
     * duplicate), as it would be a second SOA in the file. */
    static const uint8_t soa2[] = {
        0,          /* MNAME: the root */
        0,          /* RNAME: the root */
        0, 0, 0, 2, /* SERIAL 2 */
        0, 0, 0, 2, /* REFRESH 2 */
        0, 0, 0, 3, /* RETRY 3 */
        0, 0, 0, 4, /* EXPIRE 4 */
        0, 0, 0, 5, /* MINIMUM 5 */
    };
    EXPECT_ADD(z, "example.com.", DNS_TYPE_SOA, 60, soa2, ZONE_ERR_SECOND_SOA);
    EXPECT_ADD(z, "example.com.", DNS_TYPE_SOA, 60, soa, ZONE_ERR_SECOND_SOA);
    CU_ASSERT_PTR_EQUAL(z->soa, first);
    EXPECT_RDATA(z, "example.com.", DNS_TYPE_SOA, 1, 0, soa);
    zone_free(z);
}

static void test_cname_rules(void)
{
    /* RFC 1034 3.6.2, RFC 2181 10.1: a CNAME is the only data at its name, and there is one. */
    struct zone *z = new_zone("example.com.");
    ADD(z, "example.com.", DNS_TYPE_SOA, 60, soa);
    ADD(z, "www.example.com.", DNS_TYPE_A, 60, a1);
    ADD(z, "alias.example.com.", DNS_TYPE_CNAME, 60, www);

    EXPECT_ADD(z, "www.example.com.", DNS_TYPE_CNAME, 60, other, ZONE_ERR_CNAME_AND_OTHER);
    EXPECT_ADD(z, "alias.example.com.", DNS_TYPE_A, 60, a1, ZONE_ERR_CNAME_AND_OTHER);
    EXPECT_ADD(z, "ALIAS.example.com.", DNS_TYPE_TXT, 60, txt_a, ZONE_ERR_CNAME_AND_OTHER);
    EXPECT_ADD(z, "example.com.", DNS_TYPE_CNAME, 60, www, ZONE_ERR_CNAME_AND_OTHER); /* SOA */
    EXPECT_ADD(z, "alias.example.com.", DNS_TYPE_CNAME, 60, other, ZONE_ERR_SECOND_CNAME);
    /* Like the SOA, even the same CNAME again is a second one. */
    EXPECT_ADD(z, "alias.example.com.", DNS_TYPE_CNAME, 60, www, ZONE_ERR_SECOND_CNAME);

    /* The refused records changed nothing. */
    EXPECT_STR(types_at(z, "www.example.com."), "1");
    EXPECT_STR(types_at(z, "alias.example.com."), "5");
    EXPECT_RDATA(z, "alias.example.com.", DNS_TYPE_CNAME, 1, 0, www);
    EXPECT_STR(types_at(z, "example.com."), "6");
    EXPECT_UINT(z->node_count, 3);

    /* A CNAME at an empty non-terminal is alone at its name (its children are other names). */
    ADD(z, "a.b.example.com.", DNS_TYPE_A, 60, a1);
    ADD(z, "b.example.com.", DNS_TYPE_CNAME, 60, www);
    zone_free(z);
}

static void test_rdata_too_long(void)
{
    /* RDLENGTH is 16 bits: 65535 bytes of RDATA are the most a record holds. */
    static uint8_t big[RDATA_MAX + 1];
    struct zone *z = new_zone("example.com.");
    ADD(z, "example.com.", DNS_TYPE_SOA, 60, soa);
    struct name n = name_at("big.example.com.", __FILE__, __LINE__);
    EXPECT_UINT(zone_add(z, &n, 65280, 60, big, sizeof big), ZONE_ERR_RDATA_TOO_LONG);
    EXPECT_UINT(zone_add(z, &n, 65280, 60, big, RDATA_MAX), ZONE_OK);
    zone_free(z);
}

/* Size ------------------------------------------------------------------------------ */

static void test_many_names(void)
{
    /* 5000 names under 50 empty non-terminals: the table grows many times while nodes (and
     * their parents, created recursively) are being added. */
    enum { NAMES = 5000, GROUPS = 50 };
    struct zone *z = new_zone("example.com.");
    for (int i = 0; i < NAMES; i++) {
        char name[64];
        snprintf(name, sizeof name, "h%d.g%d.example.com.", i, i % GROUPS);
        struct name n = NAME(name);
        uint8_t rdata[4] = {192, 0, (uint8_t)(i / 256 % 256), (uint8_t)(i % 256)};
        if (zone_add(z, &n, DNS_TYPE_A, 60, rdata, sizeof rdata) != ZONE_OK) {
            CU_FAIL("zone_add");
            break;
        }
    }
    EXPECT_UINT(z->node_count, 1 + GROUPS + NAMES);
    CU_ASSERT_TRUE(z->bucket_count >= z->node_count);
    CU_ASSERT_TRUE((z->bucket_count & (z->bucket_count - 1)) == 0);
    unsigned missing = 0, wrong = 0;
    for (int i = 0; i < NAMES; i++) {
        char name[64];
        snprintf(name, sizeof name, "H%d.G%d.EXAMPLE.COM.", i, i % GROUPS); /* other case */
        const struct zone_rrset *s = rrset_at(z, name, DNS_TYPE_A);
        if (s == NULL) {
            missing++;
            continue;
        }
        uint8_t want[4] = {192, 0, (uint8_t)(i / 256 % 256), (uint8_t)(i % 256)};
        if (s->count != 1 || s->rdata->len != 4 || memcmp(s->rdata->data, want, 4) != 0)
            wrong++;
    }
    EXPECT_UINT(missing, 0);
    EXPECT_UINT(wrong, 0);
    unsigned bad_groups = 0;
    for (int g = 0; g < GROUPS; g++) {
        char name[64];
        snprintf(name, sizeof name, "g%d.example.com.", g);
        const struct zone_node *n = node_at(z, name);
        bad_groups += n == NULL || n->rrsets != NULL;
    }
    EXPECT_UINT(bad_groups, 0);
    CU_ASSERT_PTR_NULL(node_at(z, "h5000.g0.example.com."));
    CU_ASSERT_PTR_NULL(node_at(z, "h1.g2.example.com.")); /* h1 is under g1 */
    zone_free(z);
}

static void test_large_rrset(void)
{
    /* 200000 records in one RRset, each second one followed by a duplicate of an earlier one.
     * A scan of the RRset per record (the duplicate check of RFC 2181 5) would make this
     * 2 * 10^10 comparisons, minutes of CPU; the RRset's index makes it one probe each. The
     * checks are of structure, not of time: every record kept once, in the order added, and
     * an index holding each of them, at most half full, with no long runs of used slots (a
     * probe never goes past the end of its run). */
    enum { RECORDS = 200000, RUN_MAX = 200 };
    struct zone *z = new_zone("example.com.");
    struct name n = NAME("many.example.com.");
    unsigned failed = 0;
    for (uint32_t i = 0; i < RECORDS; i++) {
        if (i == 1000 && rrset_at(z, "many.example.com.", DNS_TYPE_A)->index == NULL) {
            CU_FAIL("no index after 1000 records: the rest would take minutes");
            break;
        }
        uint8_t rdata[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        failed += zone_add(z, &n, DNS_TYPE_A, 60, rdata, sizeof rdata) != ZONE_OK;
        uint32_t again = i / 2;
        uint8_t dup[4] = {10, (uint8_t)(again >> 16), (uint8_t)(again >> 8), (uint8_t)again};
        if (i % 2 == 1)
            failed += zone_add(z, &n, DNS_TYPE_A, 60, dup, sizeof dup) != ZONE_OK;
    }
    EXPECT_UINT(failed, 0);
    const struct zone_rrset *s = rrset_at(z, "many.example.com.", DNS_TYPE_A);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    EXPECT_UINT(s->count, RECORDS);
    unsigned out_of_order = 0, listed = 0;
    for (const struct zone_rdata *d = s->rdata; d != NULL; d = d->next, listed++) {
        uint8_t want[4] = {10, (uint8_t)(listed >> 16), (uint8_t)(listed >> 8), (uint8_t)listed};
        out_of_order += d->len != 4 || memcmp(d->data, want, 4) != 0;
    }
    EXPECT_UINT(listed, RECORDS);
    EXPECT_UINT(out_of_order, 0);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s->index);
    CU_ASSERT_TRUE((s->index_size & (s->index_size - 1)) == 0);
    CU_ASSERT_TRUE(s->index_size >= 2 * (size_t)s->count);
    size_t used = 0, run = 0, longest = 0;
    unsigned strangers = 0;
    for (size_t i = 0; i < s->index_size; i++) {
        if (s->index[i] == NULL) {
            run = 0;
            continue;
        }
        used++;
        run++;
        longest = run > longest ? run : longest;
        strangers += s->index[i]->len != 4 || s->index[i]->data[0] != 10;
    }
    EXPECT_UINT(used, RECORDS);
    EXPECT_UINT(strangers, 0);
    char msg[128];
    snprintf(msg, sizeof msg, "longest run of used index slots: %zu (at most %d)", longest,
             RUN_MAX);
    record(longest <= RUN_MAX, msg, __FILE__, __LINE__);
    zone_free(z);
}

static void test_rrset_index_threshold(void)
{
    /* Small RRsets, which are nearly all of them, have no index: a scan of a few records costs
     * less than a hash, and no memory. The index comes with the ZONE_RRSET_INDEX_MIN-th
     * record, and duplicates are still dropped on either side of it. */
    struct zone *z = new_zone("example.com.");
    struct name n = NAME("www.example.com.");
    for (uint8_t i = 1; i < ZONE_RRSET_INDEX_MIN; i++) {
        uint8_t rdata[4] = {192, 0, 2, i};
        EXPECT_INT(zone_add(z, &n, DNS_TYPE_A, 60, rdata, sizeof rdata), ZONE_OK);
        EXPECT_INT(zone_add(z, &n, DNS_TYPE_A, 60, rdata, sizeof rdata), ZONE_OK);
    }
    const struct zone_rrset *s = rrset_at(z, "www.example.com.", DNS_TYPE_A);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    EXPECT_UINT(s->count, ZONE_RRSET_INDEX_MIN - 1);
    CU_ASSERT_PTR_NULL(s->index);
    uint8_t last[4] = {192, 0, 2, ZONE_RRSET_INDEX_MIN};
    EXPECT_INT(zone_add(z, &n, DNS_TYPE_A, 60, last, sizeof last), ZONE_OK);
    CU_ASSERT_PTR_NOT_NULL(s->index);
    for (uint8_t i = 1; i <= ZONE_RRSET_INDEX_MIN; i++) {
        uint8_t rdata[4] = {192, 0, 2, i};
        EXPECT_INT(zone_add(z, &n, DNS_TYPE_A, 60, rdata, sizeof rdata), ZONE_OK);
    }
    EXPECT_UINT(s->count, ZONE_RRSET_INDEX_MIN);
    static const uint8_t first[] = {192, 0, 2, 1};
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, ZONE_RRSET_INDEX_MIN, 0, first);
    EXPECT_RDATA(z, "www.example.com.", DNS_TYPE_A, ZONE_RRSET_INDEX_MIN, ZONE_RRSET_INDEX_MIN - 1,
                 last);
    zone_free(z);
}

/* Sets of zones ------------------------------------------------------------------------ */

static void test_set_find_longest(void)
{
    struct zone_set set = {NULL};
    CU_ASSERT_PTR_NULL(zone_set_find(&set, &(struct name){1, {0}})); /* an empty set */
    /* Added out of length order, so the set's list is not sorted by apex length. */
    static const char *const apexes[] = {"example.com.", "sub.example.com.", "com.",
                                         "example.net."};
    for (size_t i = 0; i < sizeof apexes / sizeof apexes[0]; i++) {
        struct zone *z = new_zone(apexes[i]);
        zone_set_add(&set, z);
        CU_ASSERT_PTR_EQUAL(set.zones, z); /* the newest first */
    }
    static const struct {
        const char *name, *zone; /* zone NULL: none */
    } cases[] = {
        {"www.sub.example.com.", "sub.example.com."},
        {"SUB.Example.COM.", "sub.example.com."},
        {"a.b.c.sub.example.com.", "sub.example.com."},
        {"www.example.com.", "example.com."},
        {"xsub.example.com.", "example.com."},
        {"example.com.", "example.com."},
        {"other.com.", "com."},
        {"com.", "com."},
        {"www.example.net.", "example.net."},
        {"net.", NULL},
        {"example.org.", NULL},
        {".", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct name n = NAME(cases[i].name);
        const struct zone *z = zone_set_find(&set, &n);
        char got[NAME_TEXT_MAX] = "(none)";
        if (z != NULL)
            name_to_text(&z->origin, got, sizeof got);
        char what[128];
        snprintf(what, sizeof what, "zone_set_find(%s)", cases[i].name);
        test_expect_str(got, cases[i].zone ? cases[i].zone : "(none)", what, __FILE__, __LINE__);
    }
    zone_set_free(&set);
    CU_ASSERT_PTR_NULL(set.zones);
    zone_set_free(&set); /* an empty set: nothing to do */
}

void test_zone_register(void)
{
    CU_pSuite s = CU_add_suite("zone", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "RDATA over 65535 bytes refused", test_rdata_too_long);
    CU_add_test(s, "zone_new: the apex alone", test_new_zone);
    CU_add_test(s, "zone_add, zone_find_node, zone_node_rrset", test_add_and_find);
    CU_add_test(s, "zone_find_child: hit, miss, letter case", test_find_child);
    CU_add_test(s, "owner case kept, found without case", test_owner_case_kept);
    CU_add_test(s, "empty non-terminals are nodes", test_empty_non_terminals);
    CU_add_test(s, "node names at their exact length: the root, 3 to 255 octets",
                test_node_names_exact);
    CU_add_test(s, "is_cut below the apex only", test_cuts);
    CU_add_test(s, "RRsets: first TTL, duplicates dropped, order", test_rrset_rules);
    CU_add_test(s, "outside the zone: ZONE_ERR_OUTSIDE", test_outside);
    CU_add_test(s, "SOA: at the apex, exactly one", test_soa_rules);
    CU_add_test(s, "CNAME: alone at its name, only one", test_cname_rules);
    CU_add_test(s, "5000 names: growth, lookup without case", test_many_names);
    CU_add_test(s, "200000 records in one RRset: kept in order, indexed", test_large_rrset);
    CU_add_test(s, "RRset index from ZONE_RRSET_INDEX_MIN records", test_rrset_index_threshold);
    CU_add_test(s, "zone_set_find: longest apex", test_set_find_longest);
}
