/* cache: RRsets and negative answers remembered for their TTL, bounded, least recently used first
 * out. */
#ifndef DNS_CACHE_H
#define DNS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "name.h"

/*
 * A resolver without a cache walks from the root for every question. With
 * one, it remembers every RRset it learns (the answer, the CNAME links, the
 * NS RRsets and glue of referrals) for as long as its TTL allows, and the
 * negative answers too (RFC 2308): a name that does not exist, or a type a
 * name does not have.
 *
 * An entry is keyed by owner name (case aside), type and class, and holds
 * the RRset's records in wire form, names uncompressed, with the instant it
 * expires (loop time, in milliseconds). Not all data is equally believable
 * (RFC 2181 5.4.1): an authoritative answer outranks the NS records of a
 * referral, which outrank glue; data of a lower rank never replaces data of
 * a higher one that is still fresh.
 *
 * Bounded: at most `max_entries` entries, and at most CACHE_ENTRY_BYTES
 * bytes per entry allowed in all (cache_cost() in cache.c says what counts).
 * A full cache drops the entries used least recently (a list kept in order
 * of use) until the new one fits; an expired entry is dropped when it is
 * found, and by cache_sweep().
 */

enum cache_rank {
    CACHE_RANK_GLUE = 1,     /* addresses from the additional section of a referral */
    CACHE_RANK_REFERRAL = 2, /* the NS RRset of a referral (the parent's copy) */
    CACHE_RANK_ANSWER = 3,   /* the answer section of an authoritative reply */
};

enum cache_kind {
    CACHE_POSITIVE, /* an RRset */
    CACHE_NODATA,   /* the name exists, this type does not: `data` holds the SOA */
    CACHE_NXDOMAIN, /* the name does not exist (any type): stored with type 0 */
};

enum {
    CACHE_SIZE_DEFAULT = 100000,
    CACHE_SIZE_MAX = 10000000,
    /* Bytes per entry allowed, in all: a cache of N entries holds at most
     * N x 512 bytes of entries, owners and records. An ordinary entry takes
     * about 100 (an A or NS RRset under a 20-octet owner), so this bound
     * only bites when many entries are large: without it a client that can
     * make the resolver fetch large RRsets from servers it controls (4 KiB
     * each, RESOLVE_ANSWER_BYTES) could fill N entries with 4 KiB each,
     * 425 MiB for the default N. */
    CACHE_ENTRY_BYTES = 512,
    /* The longest a record is kept, whatever its TTL says: a week, as
     * unbound's cache-max-ttl default of a day is for resolvers, but the
     * sandbox's zones are small. RFC 2181 8 caps a TTL at 2^31 - 1 s. */
    CACHE_TTL_MAX = 7 * 24 * 3600,
};

/* One cached RRset or negative answer. */
struct cache_entry {
    struct cache_entry *hash_next;           /* the next entry of its hash bucket */
    struct cache_entry *lru_prev, *lru_next; /* most recently used first */
    uint64_t expires;                        /* loop time (ms) at which it is no longer used */
    /* The records, each as RDLENGTH (16 bits) then its RDATA, names
     * uncompressed; for a negative entry, the SOA record whole (owner,
     * type, class, TTL, RDLENGTH, RDATA), to put in the reply's authority
     * section. */
    size_t len;
    uint8_t *data;
    uint16_t type, class_;
    enum cache_kind kind;
    enum cache_rank rank;
    uint16_t count; /* records in `data` */
    /* The owner, lower-cased, in wire form at its exact length: a struct
     * name would take 256 bytes for a name of 20, most of an entry.
     * cache_entry_owner() gives it as a struct name. */
    uint8_t owner_len;
    uint8_t owner[];
};

struct cache_stats {
    uint64_t hits, misses, inserts, evictions, expired;
};

struct cache {
    struct cache_entry **bucket;
    size_t n_buckets; /* a power of two */
    size_t count, max_entries;
    size_t bytes, max_bytes; /* what the entries take (cache_cost), and the bound */
    struct cache_entry *lru_head, *lru_tail;
    struct cache_stats stats;
};

/* An empty cache for at most `max_entries` entries and max_entries x
 * CACHE_ENTRY_BYTES bytes. Returns 0, or -1 if memory ran out. */
int cache_init(struct cache *c, size_t max_entries);

/* Frees every entry and the table. */
void cache_free(struct cache *c);

/*
 * The fresh entry for (owner, type, class), or NULL. A found entry becomes
 * the most recently used; an expired one is dropped and not returned. For a
 * name that does not exist, ask with type 0 (CACHE_NXDOMAIN entries).
 */
const struct cache_entry *cache_get(struct cache *c, uint64_t now, const struct name *owner,
                                    uint16_t type, uint16_t class_);

/*
 * Stores an RRset or a negative answer, `ttl` seconds from `now`, unless a
 * fresh entry of a higher rank is there (then nothing changes). `data` (of
 * `len` bytes, `count` records) is copied, in the form struct cache_entry
 * describes. A TTL of 0 stores nothing (RFC 1035 3.2.1: do not cache), and
 * neither does an entry larger than the whole cache may hold.
 * Returns the entry, or NULL if nothing was stored.
 */
const struct cache_entry *cache_put(struct cache *c, uint64_t now, const struct name *owner,
                                    uint16_t type, uint16_t class_, enum cache_kind kind,
                                    enum cache_rank rank, uint32_t ttl, const uint8_t *data,
                                    size_t len, uint16_t count);

/* Copies the owner name of `e` (lower-cased) into `out`, the form the codec
 * takes; returns `out`. */
const struct name *cache_entry_owner(const struct cache_entry *e, struct name *out);

/* The seconds `e` has left at `now` (0 once expired): the TTL a reply from
 * the cache carries. */
uint32_t cache_ttl_left(const struct cache_entry *e, uint64_t now);

/* Drops up to `budget` expired entries, oldest use first. Returns how many. */
size_t cache_sweep(struct cache *c, uint64_t now, size_t budget);

#endif
