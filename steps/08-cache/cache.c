/* cache: RRsets and negative answers remembered for their TTL, bounded, least recently used first
 * out. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

enum {
    /* Buckets per entry allowed, at least: the table is sized once, at
     * init, so a lookup walks a chain of about one entry when it is full. */
    CACHE_BUCKETS_MIN = 64,
};

/* The bucket of (owner, type, class), the owner in wire form: the name's
 * hash (case aside) mixed with the type and class. */
static size_t cache_bucket(const struct cache *c, const uint8_t *owner, size_t owner_len,
                           uint16_t type, uint16_t class_)
{
    uint32_t h = name_hash(owner, owner_len);
    h ^= (uint32_t)type * 0x9E3779B1u;
    h ^= (uint32_t)class_ << 16;
    h ^= h >> 15;
    return h & (c->n_buckets - 1);
}

int cache_init(struct cache *c, size_t max_entries)
{
    memset(c, 0, sizeof *c);
    size_t n = CACHE_BUCKETS_MIN;
    /* Bounded: doubles until it reaches max_entries (at most CACHE_SIZE_MAX). */
    while (n < max_entries)
        n *= 2;
    c->bucket = calloc(n, sizeof *c->bucket);
    if (c->bucket == NULL)
        return -1;
    c->n_buckets = n;
    c->max_entries = max_entries;
    c->max_bytes = max_entries * CACHE_ENTRY_BYTES;
    return 0;
}

/* What an entry of `owner_len` and `len` bytes of records counts against
 * max_bytes: the entry, its owner, its records. */
static size_t cache_cost(size_t owner_len, size_t len)
{
    return sizeof(struct cache_entry) + owner_len + len;
}

/* Unlinks `e` from the use list. */
static void cache_lru_unlink(struct cache *c, struct cache_entry *e)
{
    if (e->lru_prev != NULL)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next != NULL)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

/* Puts `e` first in the use list: the most recently used. */
static void cache_lru_front(struct cache *c, struct cache_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head != NULL)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (c->lru_tail == NULL)
        c->lru_tail = e;
}

/* Takes `e` out of the cache and frees it. */
static void cache_drop(struct cache *c, struct cache_entry *e)
{
    struct cache_entry **link =
        &c->bucket[cache_bucket(c, e->owner, e->owner_len, e->type, e->class_)];
    /* Bounded by the chain's length: `e` is on it. */
    while (*link != e)
        link = &(*link)->hash_next;
    *link = e->hash_next;
    cache_lru_unlink(c, e);
    c->count--;
    c->bytes -= cache_cost(e->owner_len, e->len);
    free(e->data);
    free(e);
}

/* The entry for the key, fresh or not, or NULL. */
static struct cache_entry *cache_find(const struct cache *c, const struct name *owner,
                                      uint16_t type, uint16_t class_)
{
    /* Bounded by the chain's length. */
    for (struct cache_entry *e = c->bucket[cache_bucket(c, owner->wire, owner->len, type, class_)];
         e != NULL; e = e->hash_next) {
        if (e->type == type && e->class_ == class_ &&
            name_equal_wire(owner, e->owner, e->owner_len))
            return e;
    }
    return NULL;
}

const struct cache_entry *cache_get(struct cache *c, uint64_t now, const struct name *owner,
                                    uint16_t type, uint16_t class_)
{
    struct cache_entry *e = cache_find(c, owner, type, class_);
    if (e != NULL && e->expires <= now) {
        c->stats.expired++;
        cache_drop(c, e);
        e = NULL;
    }
    if (e == NULL) {
        c->stats.misses++;
        return NULL;
    }
    c->stats.hits++;
    cache_lru_unlink(c, e);
    cache_lru_front(c, e);
    return e;
}

const struct cache_entry *cache_put(struct cache *c, uint64_t now, const struct name *owner,
                                    uint16_t type, uint16_t class_, enum cache_kind kind,
                                    enum cache_rank rank, uint32_t ttl, const uint8_t *data,
                                    size_t len, uint16_t count)
{
    if (ttl == 0 || c->max_entries == 0)
        return NULL;
    if (ttl > CACHE_TTL_MAX)
        ttl = CACHE_TTL_MAX;
    struct name key = *owner;
    name_lower(&key);
    struct cache_entry *e = cache_find(c, &key, type, class_);
    if (e != NULL && e->expires > now && e->rank > rank)
        return NULL; /* fresh data we trust more stays (RFC 2181 5.4.1) */
    size_t cost = cache_cost(key.len, len);
    if (cost > c->max_bytes)
        return NULL; /* more than the whole cache may hold: not cached */
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, data, len);
    if (e != NULL) { /* replaced: out of the use list while room is made */
        c->bytes -= cache_cost(e->owner_len, e->len);
        cache_lru_unlink(c, e);
    }
    /* Room: the least recently used go, until one more entry fits (when
     * this one is new) and its bytes do. Bounded by the entries there are;
     * `e` is not in the use list, so it is not among them. */
    while (c->lru_tail != NULL &&
           ((e == NULL && c->count >= c->max_entries) || c->bytes + cost > c->max_bytes)) {
        c->stats.evictions++;
        cache_drop(c, c->lru_tail);
    }
    if (e == NULL) {
        /* The owner's bytes only, not a whole struct name. */
        e = calloc(1, sizeof *e + key.len);
        if (e == NULL) {
            free(copy);
            return NULL;
        }
        e->owner_len = key.len;
        memcpy(e->owner, key.wire, key.len);
        e->type = type;
        e->class_ = class_;
        size_t b = cache_bucket(c, key.wire, key.len, type, class_);
        e->hash_next = c->bucket[b];
        c->bucket[b] = e;
        c->count++;
    } else {
        free(e->data);
    }
    c->bytes += cost;
    e->kind = kind;
    e->rank = rank;
    e->expires = now + (uint64_t)ttl * 1000;
    e->data = copy;
    e->len = len;
    e->count = count;
    cache_lru_front(c, e);
    c->stats.inserts++;
    return e;
}

const struct name *cache_entry_owner(const struct cache_entry *e, struct name *out)
{
    out->len = e->owner_len;
    memcpy(out->wire, e->owner, e->owner_len);
    return out;
}

uint32_t cache_ttl_left(const struct cache_entry *e, uint64_t now)
{
    if (e->expires <= now)
        return 0;
    return (uint32_t)((e->expires - now) / 1000); /* rounded down: never promise too long */
}

size_t cache_sweep(struct cache *c, uint64_t now, size_t budget)
{
    size_t dropped = 0;
    struct cache_entry *e = c->lru_tail;
    /* Bounded by `budget` entries looked at, from the least recently used. */
    for (size_t looked = 0; e != NULL && looked < budget; looked++) {
        struct cache_entry *newer = e->lru_prev;
        if (e->expires <= now) {
            cache_drop(c, e);
            c->stats.expired++;
            dropped++;
        }
        e = newer;
    }
    return dropped;
}

void cache_free(struct cache *c)
{
    /* Bounded: each pass frees the least recently used entry. */
    while (c->lru_tail != NULL)
        cache_drop(c, c->lru_tail);
    free(c->bucket);
    c->bucket = NULL;
    c->n_buckets = 0;
}
