/* zone: zones in memory — names, RRsets and RDATA — loaded from RFC 1035 master files. */
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
};

struct zone_node {
    struct zone_node *hash_next;
    struct name name; /* as written in the zone file (case kept, for owner names) */
    uint32_t hash;    /* name_hash() of name */
    bool is_cut;      /* NS records at a name other than the apex: a delegation */
    struct zone_rrset *rrsets;
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
    /* Error messages: "zones/example.zone:12: unknown type 'AAA'" and room for
     * a quoted token. */
    ZONE_ERROR_MAX = 512,
};

/*
 * Reads the master file at `path` into a new zone added to `set`. `origin`,
 * if not NULL, is the starting $ORIGIN (text); otherwise the file must set
 * $ORIGIN before its first relative name, or the first record's owner must
 * be absolute. Returns 0, or -1 with "path:line: what is wrong" in `err`.
 */
int zone_load_file(struct zone_set *set, const char *path, const char *origin, char *err,
                   size_t errcap);

/* The same from text in memory; `source` names it in error messages. */
int zone_load_text(struct zone_set *set, const char *text, const char *source, const char *origin,
                   char *err, size_t errcap);

/* Frees every zone of the set. */
void zone_set_free(struct zone_set *set);

/* The zone with the longest apex that contains `name`, or NULL. */
const struct zone *zone_set_find(const struct zone_set *set, const struct name *name);

/* The node of exactly `name` (compared without case), or NULL. */
const struct zone_node *zone_find_node(const struct zone *z, const struct name *name);

/* The RRset of `type` at `node`, or NULL. */
const struct zone_rrset *zone_node_rrset(const struct zone_node *node, uint16_t type);

#endif
