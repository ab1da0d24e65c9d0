/* test_cache.c: steps/08-cache/cache.c — lookup, expiry, trust ranking, LRU eviction. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "cache.h"
#include "dns.h"
#include "name.h"
#include "tests.h"

/* A name from its text form. */
static struct name N(const char *text) {
    struct name n;
    CU_ASSERT_FATAL(name_from_text(text, NULL, &n) == NAME_OK);
    return n;
}

/* One A record as cache data: RDLENGTH 4, then the address. */
static const uint8_t a80[] = {0, 4, 192, 0, 2, 80},
                     a81[] = {0, 4, 192, 0, 2, 81};

static const struct cache_entry *put_a(struct cache *c, uint64_t now, const char *owner,
                                       const uint8_t *data, enum cache_rank rank, uint32_t ttl)
{
    struct name n = N(owner);
    return cache_put(c, now, &n, DNS_TYPE_A, DNS_CLASS_IN, CACHE_POSITIVE, rank, ttl, data, 6, 1);
}

static const struct cache_entry *get_a(struct cache *c, uint64_t now, const char *owner)
{
    struct name n = N(owner);
    return cache_get(c, now, &n, DNS_TYPE_A, DNS_CLASS_IN);
}

/* Found by name (case aside), type and class; the TTL counts down and the
 * entry is gone once it reaches 0. */
static void test_get_and_expiry(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 10) == 0);
    CU_ASSERT_PTR_NOT_NULL(put_a(&c, 1000, "www.example.com.", a80, CACHE_RANK_ANSWER, 300));
    const struct cache_entry *e = get_a(&c, 1000, "WWW.Example.COM.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT_UINT(e->count, 1);
    EXPECT_BYTES(e->data, e->len, a80, sizeof a80);
    EXPECT_UINT(cache_ttl_left(e, 1000), 300);
    EXPECT_UINT(cache_ttl_left(e, 1000 + 1500), 298); /* rounded down: never too long */
    struct name www = N("www.example.com.");
    CU_ASSERT_PTR_NULL(cache_get(&c, 1000, &www, DNS_TYPE_AAAA, DNS_CLASS_IN));
    CU_ASSERT_PTR_NULL(cache_get(&c, 1000, &www, DNS_TYPE_A, 3 /* CH */));
    CU_ASSERT_PTR_NOT_NULL(get_a(&c, 1000 + 299999, "www.example.com."));
    CU_ASSERT_PTR_NULL(get_a(&c, 1000 + 300000, "www.example.com.")); /* expired: dropped */
    EXPECT_UINT(c.count, 0);
    EXPECT_UINT(c.stats.expired, 1);
    /* TTL 0: not cached at all (RFC 1035 3.2.1). */
    CU_ASSERT_PTR_NULL(put_a(&c, 1000, "zero.example.com.", a80, CACHE_RANK_ANSWER, 0));
    EXPECT_UINT(c.count, 0);
    cache_free(&c);
}

/* RFC 2181 5.4.1: fresh data of a higher rank is not replaced by a lower
 * one; an equal or higher rank replaces it; once expired, anything does. */
static void test_trust_ranking(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 10) == 0);
    put_a(&c, 0, "ns.example.com.", a80, CACHE_RANK_ANSWER, 60);
    CU_ASSERT_PTR_NULL(put_a(&c, 0, "ns.example.com.", a81, CACHE_RANK_GLUE, 60));
    const struct cache_entry *e = get_a(&c, 0, "ns.example.com.");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT_BYTES(e->data, e->len, a80, sizeof a80);
    CU_ASSERT_PTR_NOT_NULL(put_a(&c, 0, "ns.example.com.", a81, CACHE_RANK_ANSWER, 60));
    e = get_a(&c, 0, "ns.example.com.");
    EXPECT_BYTES(e->data, e->len, a81, sizeof a81);
    put_a(&c, 0, "glue.example.com.", a80, CACHE_RANK_GLUE, 60);
    CU_ASSERT_PTR_NOT_NULL(put_a(&c, 0, "glue.example.com.", a81, CACHE_RANK_ANSWER, 60));
    /* Expired answer data: glue may take its place. */
    CU_ASSERT_PTR_NOT_NULL(put_a(&c, 61000, "ns.example.com.", a80, CACHE_RANK_GLUE, 60));
    EXPECT_UINT(c.count, 2);
    cache_free(&c);
}

/* Full: the least recently used entry goes, and a lookup counts as a use. */
static void test_lru_eviction(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 2) == 0);
    put_a(&c, 0, "a.example.", a80, CACHE_RANK_ANSWER, 60);
    put_a(&c, 0, "b.example.", a80, CACHE_RANK_ANSWER, 60);
    CU_ASSERT_PTR_NOT_NULL(get_a(&c, 0, "a.example.")); /* a is now the most recent */
    put_a(&c, 0, "c.example.", a80, CACHE_RANK_ANSWER, 60);
    EXPECT_UINT(c.count, 2);
    EXPECT_UINT(c.stats.evictions, 1);
    CU_ASSERT_PTR_NOT_NULL(get_a(&c, 0, "a.example."));
    CU_ASSERT_PTR_NULL(get_a(&c, 0, "b.example."));
    CU_ASSERT_PTR_NOT_NULL(get_a(&c, 0, "c.example."));
    /* Replacing an entry does not evict another. */
    put_a(&c, 0, "c.example.", a81, CACHE_RANK_ANSWER, 60);
    EXPECT_UINT(c.count, 2);
    EXPECT_UINT(c.stats.evictions, 1);
    cache_free(&c);
}

/* An RRset of `len` bytes (records of 100 bytes or less each, as RDLENGTH
 * then RDATA) under `owner`. */
static const struct cache_entry *put_big(struct cache *c, const char *owner, size_t len)
{
    static uint8_t data[8192];
    CU_ASSERT_FATAL(len <= sizeof data);
    uint16_t count = 0;
    for (size_t at = 0; at < len; count++) { /* bounded: each record takes at least 2 bytes */
        size_t rdlen = len - at - 2 < 98 ? len - at - 2 : 98;
        data[at] = 0;
        data[at + 1] = (uint8_t)rdlen;
        memset(data + at + 2, 'x', rdlen);
        at += 2 + rdlen;
    }
    struct name n = N(owner);
    return cache_put(c, 0, &n, DNS_TYPE_TXT, DNS_CLASS_IN, CACHE_POSITIVE, CACHE_RANK_ANSWER, 60,
                     data, len, count);
}

/* The byte bound: max_entries x CACHE_ENTRY_BYTES in all. Large entries
 * push out the least recently used ones long before the count is reached;
 * one larger than the whole cache is not stored; replacing an entry counts
 * its new size, not both. */
static void test_byte_bound(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 10) == 0);
    EXPECT_UINT(c.max_bytes, 10 * CACHE_ENTRY_BYTES);
    put_a(&c, 0, "small.example.", a80, CACHE_RANK_ANSWER, 60);
    size_t small = c.bytes;
    CU_ASSERT(small > 0 && small < CACHE_ENTRY_BYTES); /* an ordinary entry is well inside */
    /* 1,000 bytes each: the fifth no longer fits beside the four before
     * it and the small one, so the small one (the oldest) goes first. */
    const char *owners[] = {"b1.example.", "b2.example.", "b3.example.", "b4.example.",
                            "b5.example."};
    for (int i = 0; i < 5; i++)
        CU_ASSERT_PTR_NOT_NULL(put_big(&c, owners[i], 1000));
    CU_ASSERT(c.bytes <= c.max_bytes);
    CU_ASSERT_PTR_NULL(get_a(&c, 0, "small.example."));
    EXPECT_UINT(c.count, 4); /* b2..b5: 4 x ~1,075 bytes; with b1 it would not fit */
    EXPECT_UINT(c.stats.evictions, 2);
    struct name b1 = N("b1.example."), b5 = N("b5.example.");
    CU_ASSERT_PTR_NULL(cache_get(&c, 0, &b1, DNS_TYPE_TXT, DNS_CLASS_IN));
    CU_ASSERT_PTR_NOT_NULL(cache_get(&c, 0, &b5, DNS_TYPE_TXT, DNS_CLASS_IN));
    /* Larger than the whole cache: not stored, nothing evicted for it. */
    CU_ASSERT_PTR_NULL(put_big(&c, "huge.example.", 10 * CACHE_ENTRY_BYTES));
    EXPECT_UINT(c.count, 4);
    EXPECT_UINT(c.stats.evictions, 2);
    /* Replaced by a small one: its bytes go down, and the freed room is there. */
    size_t before = c.bytes;
    CU_ASSERT_PTR_NOT_NULL(put_big(&c, "b5.example.", 10));
    EXPECT_UINT(c.bytes, before - 990);
    EXPECT_UINT(c.count, 4);
    cache_free(&c);
}

/* Negative entries: NXDOMAIN under type 0, NODATA under its type; they
 * are told apart from RRsets by their kind. */
static void test_negative_entries(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 10) == 0);
    struct name nx = N("nosuch.example.com."), mail = N("mail.example.com.");
    static const uint8_t soa[] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 2, 0, 0};
    CU_ASSERT_PTR_NOT_NULL(cache_put(&c, 0, &nx, 0, DNS_CLASS_IN, CACHE_NXDOMAIN, CACHE_RANK_ANSWER,
                                     30, soa, sizeof soa, 1));
    CU_ASSERT_PTR_NOT_NULL(cache_put(&c, 0, &mail, DNS_TYPE_AAAA, DNS_CLASS_IN, CACHE_NODATA,
                                     CACHE_RANK_ANSWER, 30, soa, sizeof soa, 1));
    const struct cache_entry *e = cache_get(&c, 0, &nx, 0, DNS_CLASS_IN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT_UINT(e->kind, CACHE_NXDOMAIN);
    e = cache_get(&c, 0, &mail, DNS_TYPE_AAAA, DNS_CLASS_IN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT_UINT(e->kind, CACHE_NODATA);
    CU_ASSERT_PTR_NULL(cache_get(&c, 0, &mail, DNS_TYPE_A, DNS_CLASS_IN));
    CU_ASSERT_PTR_NULL(cache_get(&c, 30000, &nx, 0, DNS_CLASS_IN));
    cache_free(&c);
}

/* The sweep drops expired entries, within its budget, and nothing fresh. */
static void test_sweep(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 100) == 0);
    char name[32];
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "n%d.example.", i);
        put_a(&c, 0, name, a80, CACHE_RANK_ANSWER, i < 40 ? 1 : 100);
    }
    EXPECT_UINT(cache_sweep(&c, 2000, 10), 10);
    EXPECT_UINT(c.count, 40);
    EXPECT_UINT(cache_sweep(&c, 2000, 1000), 30);
    EXPECT_UINT(c.count, 10);
    EXPECT_UINT(cache_sweep(&c, 2000, 1000), 0);
    cache_free(&c);
}

/* Many names: every one found, the table's chains stay short enough that
 * 10,000 inserts and lookups are quick (no timing asserted: only that all
 * are there). */
static void test_many(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 10000) == 0);
    char name[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "h%d.example.", i);
        put_a(&c, 0, name, a80, CACHE_RANK_ANSWER, 60);
    }
    int found = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(name, sizeof name, "H%d.EXAMPLE.", i);
        found += get_a(&c, 0, name) != NULL;
    }
    EXPECT_UINT(found, 10000);
    EXPECT_UINT(c.stats.evictions, 0);
    cache_free(&c);
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

/* An entry keeps its owner at its exact length, lower-cased: the root (1 octet) and every
 * length from 3 to 255 come back byte for byte, are found in any case, and are dropped
 * (evicted, then freed) from the bucket their bytes hash to. */
static void test_owner_exact(void)
{
    struct cache c;
    CU_ASSERT_FATAL(cache_init(&c, 300) == 0);
    struct name root;
    name_root(&root);
    CU_ASSERT_PTR_NOT_NULL(cache_put(&c, 0, &root, DNS_TYPE_NS, DNS_CLASS_IN, CACHE_POSITIVE,
                                     CACHE_RANK_ANSWER, 60, a80, sizeof a80, 1));
    for (size_t len = 3; len <= NAME_WIRE_MAX; len++) {
        struct name n = name_of_length(len);
        CU_ASSERT_PTR_NOT_NULL(cache_put(&c, 0, &n, DNS_TYPE_A, DNS_CLASS_IN, CACHE_POSITIVE,
                                         CACHE_RANK_ANSWER, 60, a80, sizeof a80, 1));
    }
    EXPECT_UINT(c.count, 1 + NAME_WIRE_MAX - 2);

    const struct cache_entry *e = cache_get(&c, 0, &root, DNS_TYPE_NS, DNS_CLASS_IN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT_BYTES(e->owner, e->owner_len, root.wire, root.len);
    struct name out;
    memset(&out, 0xA5, sizeof out);
    CU_ASSERT_PTR_EQUAL(cache_entry_owner(e, &out), &out);
    EXPECT_BYTES(out.wire, out.len, root.wire, root.len);
    for (size_t len = 3; len <= NAME_WIRE_MAX; len++) {
        struct name n = name_of_length(len);
        struct name lower = n;
        name_lower(&lower);
        e = cache_get(&c, 0, &n, DNS_TYPE_A, DNS_CLASS_IN); /* asked in mixed case */
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        EXPECT_BYTES(e->owner, e->owner_len, lower.wire, lower.len);
        memset(&out, 0xA5, sizeof out);
        cache_entry_owner(e, &out);
        EXPECT_BYTES(out.wire, out.len, lower.wire, lower.len);
        EXPECT_BYTES(e->data, e->len, a80, sizeof a80);
    }

    /* A smaller cache: every insert past the 8th evicts one, found by its owner's hash. */
    cache_free(&c);
    CU_ASSERT_FATAL(cache_init(&c, 8) == 0);
    for (size_t len = 3; len <= NAME_WIRE_MAX; len++) {
        struct name n = name_of_length(len);
        cache_put(&c, 0, &n, DNS_TYPE_A, DNS_CLASS_IN, CACHE_POSITIVE, CACHE_RANK_ANSWER, 60, a80,
                  sizeof a80, 1);
    }
    EXPECT_UINT(c.count, 8);
    EXPECT_UINT(c.stats.evictions, NAME_WIRE_MAX - 2 - 8);
    struct name longest = name_of_length(NAME_WIRE_MAX);
    e = cache_get(&c, 0, &longest, DNS_TYPE_A, DNS_CLASS_IN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    EXPECT_UINT(e->owner_len, NAME_WIRE_MAX);
    cache_free(&c);
}

void test_cache_register(void)
{
    CU_pSuite s = CU_add_suite("cache", NULL, NULL);
    CU_add_test(s, "get by name, type and class; TTL counts down; expiry", test_get_and_expiry);
    CU_add_test(s, "trust ranking (RFC 2181 5.4.1)", test_trust_ranking);
    CU_add_test(s, "least recently used evicted when full", test_lru_eviction);
    CU_add_test(s, "at most CACHE_ENTRY_BYTES per entry in all", test_byte_bound);
    CU_add_test(s, "NXDOMAIN and NODATA entries", test_negative_entries);
    CU_add_test(s, "sweep of expired entries", test_sweep);
    CU_add_test(s, "10,000 names", test_many);
    CU_add_test(s, "owners at their exact length: the root, 3 to 255 octets", test_owner_exact);
}
