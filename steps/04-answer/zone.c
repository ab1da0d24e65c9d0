/* zone: zones in memory — a hash of names, their RRsets and RDATA — and the rules they keep. */
#include "zone.h"

#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "rdata.h"

enum {
    /* The hash table doubles when it holds more nodes than buckets. */
    ZONE_BUCKETS_INITIAL = 64,
};

/* Tables and nodes -------------------------------------------------------------- */

/* The bucket of a hash in a table of `count` (a power of two) buckets. The
 * hash's bits are mixed first (a murmur3 finalizer): name_hash() is built for
 * walking down the tree, not for spreading its low bits. */
static size_t zone_slot(uint32_t hash, size_t count)
{
    hash ^= hash >> 16;
    hash *= 0x85ebca6bu;
    hash ^= hash >> 13;
    return hash & (count - 1);
}

static struct zone_node **zone_bucket(const struct zone *z, uint32_t hash)
{
    return &z->buckets[zone_slot(hash, z->bucket_count)];
}

const struct zone_node *zone_find_node(const struct zone *z, const struct name *name)
{
    uint32_t hash = name_hash(name->wire, name->len);
    for (const struct zone_node *n = *zone_bucket(z, hash); n != NULL; n = n->hash_next)
        if (n->hash == hash && name_equal_wire(name, n->name, n->name_len))
            return n;
    return NULL;
}

const struct zone_node *zone_find_child(const struct zone *z, const struct zone_node *parent,
                                        const uint8_t *label, uint32_t hash)
{
    /* The parent pointer and one label stand for the whole name: two nodes
     * with the same parent and the same first label are the same name. */
    for (const struct zone_node *n = *zone_bucket(z, hash); n != NULL; n = n->hash_next)
        if (n->hash == hash && n->parent == parent && name_label_equal(n->name, label))
            return n;
    return NULL;
}

const struct name *zone_node_name(const struct zone_node *node, struct name *out)
{
    out->len = node->name_len;
    memcpy(out->wire, node->name, node->name_len);
    return out;
}

const struct zone_rrset *zone_node_rrset(const struct zone_node *node, uint16_t type)
{
    for (const struct zone_rrset *s = node->rrsets; s != NULL; s = s->next)
        if (s->type == type)
            return s;
    return NULL;
}

static int zone_grow(struct zone *z)
{
    size_t count = z->bucket_count * 2;
    struct zone_node **buckets = calloc(count, sizeof *buckets);
    if (buckets == NULL)
        return -1;
    for (size_t i = 0; i < z->bucket_count; i++) {
        struct zone_node *n = z->buckets[i];
        while (n != NULL) {
            struct zone_node *next = n->hash_next;
            n->hash_next = buckets[zone_slot(n->hash, count)];
            buckets[zone_slot(n->hash, count)] = n;
            n = next;
        }
    }
    free(z->buckets);
    z->buckets = buckets;
    z->bucket_count = count;
    return 0;
}

/* The node of `name`, created with every missing ancestor up to the apex
 * (the empty non-terminals). `name` must be at or below the apex. */
static struct zone_node *zone_add_node(struct zone *z, const struct name *name)
{
    struct zone_node *found = (struct zone_node *)zone_find_node(z, name);
    if (found != NULL)
        return found;

    /* The parent first, unless this is the apex: drop the first label.
     * Recursion depth is bounded by the labels below the apex (< NAME_LABELS_MAX). */
    struct zone_node *parent = NULL;
    if (name->len > z->origin.len) {
        struct name up;
        size_t skip = 1 + (size_t)name->wire[0];
        up.len = (uint8_t)(name->len - skip);
        memcpy(up.wire, name->wire + skip, up.len);
        parent = zone_add_node(z, &up);
        if (parent == NULL)
            return NULL;
    }

    if (z->node_count >= z->bucket_count && zone_grow(z) != 0)
        return NULL;
    /* The name's bytes only, not a whole struct name: most of the memory a
     * large zone takes is its nodes. */
    struct zone_node *n = calloc(1, sizeof *n + name->len);
    if (n == NULL)
        return NULL;
    n->name_len = name->len;
    memcpy(n->name, name->wire, name->len);
    n->hash = name_hash(name->wire, name->len);
    n->parent = parent;
    struct zone_node **bucket = zone_bucket(z, n->hash);
    n->hash_next = *bucket;
    *bucket = n;
    z->node_count++;
    return n;
}

struct zone *zone_new(const struct name *origin)
{
    struct zone *z = calloc(1, sizeof *z);
    if (z == NULL)
        return NULL;
    z->origin = *origin;
    z->bucket_count = ZONE_BUCKETS_INITIAL;
    z->buckets = calloc(z->bucket_count, sizeof *z->buckets);
    if (z->buckets == NULL) {
        free(z);
        return NULL;
    }
    z->apex = zone_add_node(z, origin);
    if (z->apex == NULL) {
        free(z->buckets);
        free(z);
        return NULL;
    }
    return z;
}

void zone_free(struct zone *z)
{
    for (size_t i = 0; i < z->bucket_count; i++) {
        struct zone_node *n = z->buckets[i];
        while (n != NULL) {
            struct zone_node *next_node = n->hash_next;
            struct zone_rrset *s = n->rrsets;
            while (s != NULL) {
                struct zone_rrset *next_set = s->next;
                struct zone_rdata *d = s->rdata;
                while (d != NULL) {
                    struct zone_rdata *next_rdata = d->next;
                    free(d);
                    d = next_rdata;
                }
                free(s->index);
                free(s);
                s = next_set;
            }
            free(n);
            n = next_node;
        }
    }
    free(z->buckets);
    free(z);
}

void zone_set_add(struct zone_set *set, struct zone *z)
{
    z->next = set->zones;
    set->zones = z;
}

void zone_set_free(struct zone_set *set)
{
    while (set->zones != NULL) {
        struct zone *next = set->zones->next;
        zone_free(set->zones);
        set->zones = next;
    }
}

const struct zone *zone_set_find(const struct zone_set *set, const struct name *name)
{
    const struct zone *best = NULL;
    for (const struct zone *z = set->zones; z != NULL; z = z->next)
        if (name_is_subdomain(name, &z->origin) &&
            (best == NULL || z->origin.len > best->origin.len))
            best = z;
    return best;
}

/* Adding records -------------------------------------------------------------------- */

/* A hash of RDATA bytes (FNV-1a, then a murmur3 finalizer so that the low
 * bits, which pick the slot, depend on every bit of every byte). Duplicates
 * are equal byte for byte, so equal RDATA hash alike. */
static uint32_t zone_rdata_hash(const uint8_t *data, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= data[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* The slot of an index of `size` slots that holds the record of these
 * RDATA, or else the empty slot where it goes. The loop ends: the index is
 * never more than half full, so an empty slot is always met. */
static struct zone_rdata **zone_index_slot(struct zone_rdata **index, size_t size,
                                           const uint8_t *rdata, size_t len)
{
    size_t i = zone_rdata_hash(rdata, len) & (size - 1);
    while (index[i] != NULL && !(index[i]->len == len && memcmp(index[i]->data, rdata, len) == 0))
        i = (i + 1) & (size - 1);
    return &index[i];
}

/* True if the RRset holds a record of exactly these RDATA. */
static bool zone_rrset_has(const struct zone_rrset *set, const uint8_t *rdata, size_t len)
{
    if (set->index != NULL)
        return *zone_index_slot(set->index, set->index_size, rdata, len) != NULL;
    for (const struct zone_rdata *d = set->rdata; d != NULL; d = d->next)
        if (d->len == len && memcmp(d->data, rdata, len) == 0)
            return true;
    return false;
}

/* Makes room in the RRset's index for one more record: builds the index
 * when the RRset reaches ZONE_RRSET_INDEX_MIN records, doubles it before it
 * would be more than half full. Returns 0, or -1 out of memory (the RRset as
 * it was). Doubling keeps the cost of building linear in the records. */
static int zone_rrset_reserve(struct zone_rrset *set)
{
    size_t count = (size_t)set->count + 1;
    if (count < ZONE_RRSET_INDEX_MIN || (set->index != NULL && 2 * count <= set->index_size))
        return 0;
    size_t size = set->index != NULL ? 2 * set->index_size : 4 * ZONE_RRSET_INDEX_MIN;
    struct zone_rdata **index = calloc(size, sizeof *index);
    if (index == NULL)
        return -1;
    for (struct zone_rdata *d = set->rdata; d != NULL; d = d->next)
        *zone_index_slot(index, size, d->data, d->len) = d;
    free(set->index);
    set->index = index;
    set->index_size = size;
    return 0;
}

enum zone_status zone_add(struct zone *z, const struct name *owner, uint16_t type, uint32_t ttl,
                          const uint8_t *rdata, size_t len)
{
    if (len > RDATA_MAX)
        return ZONE_ERR_RDATA_TOO_LONG;
    if (!name_is_subdomain(owner, &z->origin))
        return ZONE_ERR_OUTSIDE;
    if (type == DNS_TYPE_SOA && !name_equal(owner, &z->origin))
        return ZONE_ERR_SOA_NOT_APEX;
    if (type == DNS_TYPE_SOA && z->soa != NULL)
        return ZONE_ERR_SECOND_SOA;

    struct zone_node *node = zone_add_node(z, owner);
    if (node == NULL)
        return ZONE_ERR_NO_MEMORY;

    /* RFC 1034 3.6.2 and RFC 2181 10.1: a CNAME is the only data at its name. */
    bool has_cname = zone_node_rrset(node, DNS_TYPE_CNAME) != NULL;
    bool has_other = false;
    for (const struct zone_rrset *s = node->rrsets; s != NULL; s = s->next)
        has_other = has_other || s->type != DNS_TYPE_CNAME;
    if (type == DNS_TYPE_CNAME && has_cname)
        return ZONE_ERR_SECOND_CNAME;
    if ((type == DNS_TYPE_CNAME && has_other) || (type != DNS_TYPE_CNAME && has_cname))
        return ZONE_ERR_CNAME_AND_OTHER;

    struct zone_rrset *set = (struct zone_rrset *)zone_node_rrset(node, type);
    if (set == NULL) {
        set = calloc(1, sizeof *set);
        if (set == NULL)
            return ZONE_ERR_NO_MEMORY;
        set->type = type;
        set->ttl = ttl; /* RFC 2181 5.2: the RRset's TTL is its first record's */
        set->rdata_tail = &set->rdata;
        /* Appended, so RRsets keep the zone file's order (an ANY answer
         * lists them as written). Nodes hold a handful of RRsets. */
        struct zone_rrset **tail = &node->rrsets;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = set;
    }
    /* RFC 2181 5: an RRset holds no duplicate records. */
    if (zone_rrset_has(set, rdata, len))
        return ZONE_OK;
    if (zone_rrset_reserve(set) != 0)
        return ZONE_ERR_NO_MEMORY;
    struct zone_rdata *d = malloc(sizeof *d + len);
    if (d == NULL)
        return ZONE_ERR_NO_MEMORY;
    d->next = NULL;
    d->len = (uint16_t)len;
    memcpy(d->data, rdata, len);
    *set->rdata_tail = d;
    set->rdata_tail = &d->next;
    set->count++;
    if (set->index != NULL)
        *zone_index_slot(set->index, set->index_size, d->data, d->len) = d;

    if (type == DNS_TYPE_SOA)
        z->soa = set;
    if (type == DNS_TYPE_NS && node != z->apex)
        node->is_cut = true;
    return ZONE_OK;
}
