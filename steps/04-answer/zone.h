/* zone: zones in memory — a hash of names, their RRsets and RDATA — and the rules they keep. */
#ifndef DNS_ZONE_H
#define DNS_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "name.h"

/*
 * A zone is a tree of names under its apex (the origin). Each name that
 * exists in the zone is a node; a node holds RRsets (all records of one type
 * at that name), and an RRset holds the RDATA of each record in wire form,
 * uncompressed, exactly as it would be written without compression.
 *
 * Nodes are found by a hash of the lower-cased name, so a lookup costs one
 * hash probe per label walked, never a scan of the zone. Every ancestor of a
 * name, up to the apex, is a node too (possibly with no RRsets: an "empty
 * non-terminal"), so "does this name exist?" is one probe.
 */

struct zone_rdata {
    struct zone_rdata *next;
    uint16_t len;
    uint8_t data[]; /* wire form */
};

struct zone_rrset {
    struct zone_rrset *next; /* the node's other RRsets */
    uint16_t type;
    uint32_t ttl;   /* RFC 2181 5.2: one TTL per RRset (the first record's) */
    unsigned count; /* records in the list */
    struct zone_rdata *rdata;
    struct zone_rdata **rdata_tail;
    /* Once the RRset has ZONE_RRSET_INDEX_MIN records: its records again, in a
     * hash table by RDATA (open addressing, at most half full), so that the
     * duplicate check of the next one is a probe, not a scan. NULL before. */
    struct zone_rdata **index;
    size_t index_size; /* slots: a power of two */
};

struct zone_node {
    struct zone_node *hash_next;
    const struct zone_node *parent; /* the node one label up; NULL at the apex */
    struct zone_rrset *rrsets;
    uint32_t hash; /* name_hash() of the name */
    bool is_cut;   /* NS records at a name other than the apex: a delegation */
    /* The name as written in the zone file (case kept, for owner names), in
     * wire form at its exact length: a struct name would take 256 bytes for
     * a name of 20. zone_node_name() gives it as a struct name. */
    uint8_t name_len;
    uint8_t name[];
};

struct zone {
    struct zone *next;  /* zones of a zone_set */
    struct name origin; /* the apex */
    struct zone_node *apex;
    const struct zone_rrset *soa;
    size_t node_count;
    size_t bucket_count; /* a power of two */
    struct zone_node **buckets;
};

/* The zones a server serves. */
struct zone_set {
    struct zone *zones;
};

enum {
    /* RRsets of fewer records are checked for duplicates by a scan of their
     * list, as fast as a hash for a handful and free of memory; from this many
     * on, they get an index, so an RRset of 100k records loads in linear time. */
    ZONE_RRSET_INDEX_MIN = 16,
};

/* Why a record could not be added. ZONE_OK is 0. */
enum zone_status {
    ZONE_OK = 0,
    ZONE_ERR_OUTSIDE,         /* the owner is not at or below the apex */
    ZONE_ERR_SOA_NOT_APEX,    /* an SOA anywhere but at the apex */
    ZONE_ERR_SECOND_SOA,      /* a zone has exactly one SOA record */
    ZONE_ERR_SECOND_CNAME,    /* a name has at most one CNAME */
    ZONE_ERR_CNAME_AND_OTHER, /* a CNAME must be alone at its name (RFC 1034 3.6.2) */
    ZONE_ERR_RDATA_TOO_LONG,  /* RDATA over 65535 bytes: RDLENGTH is 16 bits */
    ZONE_ERR_NO_MEMORY,
};

/* A new, empty zone whose apex is `origin` (a node with no RRsets yet), or
 * NULL when out of memory. */
struct zone *zone_new(const struct name *origin);

/* Frees a zone that is not in a set. */
void zone_free(struct zone *z);

/*
 * Adds one record (RDATA in wire form, uncompressed) to the RRset of `type`
 * at `owner`, creating the node, its missing ancestors and the RRset as
 * needed. The RRset keeps its first record's TTL (RFC 2181 5.2) and drops
 * a record equal to one it has (RFC 2181 5). Returns ZONE_OK or why not.
 */
enum zone_status zone_add(struct zone *z, const struct name *owner, uint16_t type, uint32_t ttl,
                          const uint8_t *rdata, size_t len);

/* Adds a complete zone to a set, which frees it with the others. */
void zone_set_add(struct zone_set *set, struct zone *z);

/* Frees every zone of the set. */
void zone_set_free(struct zone_set *set);

/* The zone with the longest apex that contains `name`, or NULL. */
const struct zone *zone_set_find(const struct zone_set *set, const struct name *name);

/* The node of exactly `name` (compared without case), or NULL. */
const struct zone_node *zone_find_node(const struct zone *z, const struct name *name);

/*
 * The child of `parent` whose first label is `label` (a length byte, then its
 * bytes; compared without case), where `hash` is name_hash() of the child's
 * whole name (name_hash_prepend() of the label and the parent's hash). One
 * probe and one label compared, whatever the depth: a walk down from the apex
 * costs one label per step, not one name.
 */
const struct zone_node *zone_find_child(const struct zone *z, const struct zone_node *parent,
                                        const uint8_t *label, uint32_t hash);

/* Copies the name of `node` into `out`, the form the codec takes; returns
 * `out`. */
const struct name *zone_node_name(const struct zone_node *node, struct name *out);

/* The RRset of `type` at `node`, or NULL. */
const struct zone_rrset *zone_node_rrset(const struct zone_node *node, uint16_t type);

#endif
