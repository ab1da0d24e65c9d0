/* lookup: the authoritative answer to a question from our zones (RFC 1034 4.3.2). */
#include "lookup.h"

#include <string.h>

#include "buf.h"
#include "dns.h"
#include "rdata.h"

void lookup_init(struct lookup_result *res)
{
    res->rcode = DNS_RCODE_NOERROR;
    res->aa = true;
    res->overflow = false;
    for (int s = 0; s < LOOKUP_SECTIONS; s++)
        res->count[s] = 0;
    res->name_count = 0;
}

/*
 * Adds an RRset to a section unless it is there already. As NSD does, an
 * RRset appears once per reply, in its lowest section: two questions, or an
 * MX and an NS with the same target, must not repeat records, and an RRset
 * that becomes an answer leaves the additional section.
 */
static bool lookup_add(struct lookup_result *res, enum lookup_section section,
                       const struct zone_rrset *rrset, const struct name *owner, uint32_t ttl)
{
    for (int s = 0; s < LOOKUP_SECTIONS; s++) {
        for (size_t i = 0; i < res->count[s]; i++) {
            const struct lookup_item *it = &res->item[s][i];
            if (it->rrset != rrset || !name_equal(it->owner, owner))
                continue;
            if (s <= (int)section)
                return false;
            /* In a higher section: remove it there, add it here. */
            memmove(&res->item[s][i], &res->item[s][i + 1],
                    (res->count[s] - i - 1) * sizeof res->item[s][0]);
            res->count[s]--;
            break;
        }
    }
    if (res->count[section] >= LOOKUP_ITEMS_MAX) {
        res->overflow = true;
        return false;
    }
    res->item[section][res->count[section]++] = (struct lookup_item){rrset, owner, ttl};
    return true;
}

/* lookup_add() of an RRset under the name of its node. The node keeps its
 * name at its exact length, so the name is copied into the result, and the
 * copy stays only if the item does. */
static void lookup_add_node(struct lookup_result *res, enum lookup_section section,
                            const struct zone_rrset *rrset, const struct zone_node *node,
                            uint32_t ttl)
{
    if (res->name_count >= LOOKUP_NAMES_MAX) {
        res->overflow = true;
        return;
    }
    const struct name *owner = zone_node_name(node, &res->names[res->name_count]);
    if (lookup_add(res, section, rrset, owner, ttl))
        res->name_count++;
}

/* The SOA's MINIMUM field: the last 4 bytes of its RDATA (RFC 1035 3.3.13). */
static uint32_t lookup_soa_minimum(const struct zone_rrset *soa)
{
    struct buf_reader r;
    buf_reader_init(&r, soa->rdata->data, soa->rdata->len);
    buf_seek(&r, soa->rdata->len >= 4 ? soa->rdata->len - 4u : soa->rdata->len);
    return buf_read_u32(&r);
}

/* RFC 2308 3: a negative answer carries the SOA, whose TTL is the lesser of
 * its own TTL and its MINIMUM field. */
static void lookup_negative(struct lookup_result *res, const struct zone *z)
{
    uint32_t minimum = lookup_soa_minimum(z->soa);
    uint32_t ttl = z->soa->ttl < minimum ? z->soa->ttl : minimum;
    /* The apex's name is the origin's: a node is made with the name that
     * first needs it, and the apex is made by zone_new() from the origin. */
    lookup_add(res, LOOKUP_AUTHORITY, z->soa, &z->origin, ttl);
}

/* What a walk down from the apex finds on the way to a name. */
struct lookup_walk {
    const struct zone_node *cut;      /* the first zone cut on the way, or NULL */
    const struct zone_node *node;     /* the name's own node, or NULL */
    const struct zone_node *encloser; /* the deepest node found: the name's closest encloser */
};

/*
 * Walks down from the apex of `z` towards `name` (which is at or below it),
 * one label at a time, and stops at the first zone cut above the name (the
 * highest cut wins: a lower one would be inside the child zone) or where the
 * next name does not exist (then neither does anything below it, and the
 * last node found is the closest encloser of RFC 4592). With `glue`, the
 * walk goes on below the cut, to find the addresses a referral carries. Each
 * step hashes one more label in front of its parent's hash and compares one
 * label, so a 127-label name costs one pass, whatever the zone holds.
 */
static void lookup_descend(const struct zone *z, const struct name *name, bool glue,
                           struct lookup_walk *w)
{
    size_t offset[NAME_LABELS_MAX];
    uint32_t hash[NAME_LABELS_MAX];
    size_t labels = name_suffix_hashes(name, offset, hash);
    size_t below = labels - name_label_count(&z->origin);
    w->cut = NULL;
    w->node = NULL;
    w->encloser = z->apex;
    /* Bounded by the labels of `name` under the apex (< NAME_LABELS_MAX). */
    for (size_t i = below; i-- > 0;) {
        const struct zone_node *child =
            zone_find_child(z, w->encloser, name->wire + offset[i], hash[i]);
        if (child == NULL)
            return;
        w->encloser = child;
        if (child->is_cut && w->cut == NULL) {
            w->cut = child;
            if (i > 0 && !glue)
                return; /* a referral: what is below the cut is the child's */
        }
    }
    w->node = w->encloser;
}

/*
 * The A and AAAA records of `target`, if one of our zones has them. At or
 * below a zone cut they are glue: not our data but the child's, kept only so
 * a resolver can reach the child's servers. Glue goes out with a referral
 * and nowhere else (as NSD does): an MX target that happens to sit in a
 * delegated subzone gets no address from us.
 */
static void lookup_addresses(const struct zone_set *set, const struct name *target, bool referral,
                             struct lookup_result *res)
{
    const struct zone *z = zone_set_find(set, target);
    if (z == NULL)
        return;
    struct lookup_walk w;
    lookup_descend(z, target, referral, &w);
    const struct zone_node *node = w.node;
    if (node == NULL || (!referral && w.cut != NULL))
        return;
    static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const struct zone_rrset *s = zone_node_rrset(node, types[i]);
        if (s != NULL)
            lookup_add_node(res, LOOKUP_ADDITIONAL, s, node, s->ttl);
    }
}

/* Additional-section processing (RFC 1035 3.3.9, 3.3.11): the addresses of
 * the hosts an NS, MX or SRV RRset names; the record-type table says which
 * field names the host. `referral`: the RRset is a delegation's NS. */
static void lookup_additional(const struct zone_set *set, const struct zone_rrset *s, bool referral,
                              struct lookup_result *res)
{
    const struct rdata_type *row = rdata_find(s->type);
    if (row == NULL || row->additional < 0)
        return;
    for (const struct zone_rdata *d = s->rdata; d != NULL; d = d->next) {
        struct name target;
        if (rdata_name_at(row, d->data, d->len, row->additional, &target))
            lookup_addresses(set, &target, referral, res);
    }
}

/* The wildcard node "*.<closest encloser>" for a name that does not exist,
 * or NULL: one more probe below the encloser the walk stopped at. */
static const struct zone_node *lookup_wildcard(const struct zone *z,
                                               const struct zone_node *encloser)
{
    static const uint8_t star[] = {1, '*'};
    if (encloser->name_len + sizeof star > NAME_WIRE_MAX)
        return NULL;
    uint32_t hash = name_hash_prepend(encloser->hash, encloser->name_len, star);
    return zone_find_child(z, encloser, star, hash);
}

/* The zone that answers about `name`: the one with the longest apex that
 * contains it, except that a DS question at the apex of a zone whose parent
 * we also serve goes to the parent (RFC 4035 3.1.4.1). */
static const struct zone *lookup_zone(const struct zone_set *set, const struct name *name,
                                      uint16_t qtype)
{
    const struct zone *z = zone_set_find(set, name);
    if (z == NULL || qtype != DNS_TYPE_DS || !name_equal(name, &z->origin) || name->len <= 1)
        return z;
    struct name parent;
    size_t skip = 1 + (size_t)name->wire[0];
    parent.len = (uint8_t)(name->len - skip);
    memcpy(parent.wire, name->wire + skip, parent.len);
    const struct zone *above = zone_set_find(set, &parent);
    return above != NULL ? above : z;
}

/* Merges one question's RCODE and AA into the result. */
static void lookup_verdict(struct lookup_result *res, unsigned rcode, bool aa)
{
    if (res->rcode == DNS_RCODE_NOERROR)
        res->rcode = rcode;
    res->aa = res->aa && aa;
}

void lookup_answer(const struct zone_set *set, const struct msg_question *q,
                   struct lookup_result *res)
{
    const struct name *owner = &q->qname;
    const struct name *visited[LOOKUP_CNAME_MAX + 1];
    unsigned links = 0;
    bool first = true;

    /* Our zones are class IN; a question about another class (CH, HS) is
     * not about data we have, as NSD and BIND also say. */
    if (q->qclass != DNS_CLASS_IN && q->qclass != DNS_CLASS_ANY) {
        lookup_verdict(res, DNS_RCODE_REFUSED, false);
        return;
    }
    /* A zone transfer is a TCP conversation (RFC 5936 4.2), and this server
     * speaks UDP only: AXFR and IXFR are not implemented. (RFC 1995 4 would
     * let an IXFR over UDP be answered with the SOA alone; NSD does that, this
     * server keeps it simple.) */
    if (q->qtype == DNS_TYPE_AXFR || q->qtype == DNS_TYPE_IXFR) {
        lookup_verdict(res, DNS_RCODE_NOTIMP, false);
        return;
    }

    /* One pass per name in the CNAME chain; bounded by LOOKUP_CNAME_MAX. */
    for (;;) {
        const struct zone *z = lookup_zone(set, owner, q->qtype);
        if (z == NULL) {
            /* Not ours. For the question itself that is a refusal; for a
             * CNAME target outside our zones the answer so far stands. */
            if (first)
                lookup_verdict(res, DNS_RCODE_REFUSED, false);
            return;
        }
        visited[links] = owner;

        struct lookup_walk w;
        lookup_descend(z, owner, false, &w);
        const struct zone_node *cut = w.cut;
        /* RFC 4035 3.1.4.1: the DS RRset of a delegation is the parent's
         * data, so a DS question for the cut's own name is answered here
         * (NODATA when we have none), not referred to the child. */
        if (cut != NULL && q->qtype == DNS_TYPE_DS && cut == w.node)
            cut = NULL;
        if (cut != NULL) {
            const struct zone_rrset *ns = zone_node_rrset(cut, DNS_TYPE_NS);
            lookup_add_node(res, LOOKUP_AUTHORITY, ns, cut, ns->ttl);
            lookup_additional(set, ns, true, res);
            lookup_verdict(res, DNS_RCODE_NOERROR, !first);
            return;
        }

        const struct zone_node *node = w.node;
        if (node == NULL)
            node = lookup_wildcard(z, w.encloser);
        if (node == NULL) {
            lookup_negative(res, z);
            lookup_verdict(res, DNS_RCODE_NXDOMAIN, true);
            return;
        }

        /* ANY gets one RRset, the name's first (RFC 8482 4.1): all of them
         * would turn a 30-byte question into a reply ten times its size, the
         * lever of reflection attacks, and nothing that resolves names needs
         * them (RFC 8482 2). */
        const struct zone_rrset *s =
            q->qtype == DNS_TYPE_ANY ? node->rrsets : zone_node_rrset(node, q->qtype);
        if (s != NULL) {
            lookup_add(res, LOOKUP_ANSWER, s, owner, s->ttl);
            lookup_additional(set, s, false, res);
            lookup_verdict(res, DNS_RCODE_NOERROR, true);
            return;
        }
        const struct zone_rrset *cname = zone_node_rrset(node, DNS_TYPE_CNAME);
        if (cname == NULL) {
            lookup_negative(res, z);
            lookup_verdict(res, DNS_RCODE_NOERROR, true);
            return;
        }

        /* A CNAME: answer with it, then look for the same type at its target. */
        lookup_add(res, LOOKUP_ANSWER, cname, owner, cname->ttl);
        if (first)
            lookup_verdict(res, DNS_RCODE_NOERROR, true);
        first = false;
        if (++links > LOOKUP_CNAME_MAX || res->name_count >= LOOKUP_NAMES_MAX)
            return;
        struct name *target = &res->names[res->name_count];
        /* Stored RDATA is uncompressed, so this reads no pointer. */
        if (!rdata_name_at(rdata_find(DNS_TYPE_CNAME), cname->rdata->data, cname->rdata->len, 0,
                           target))
            return;
        for (unsigned i = 0; i < links; i++)
            if (name_equal(visited[i], target))
                return; /* a loop: the chain so far is the answer */
        res->name_count++;
        owner = target;
    }
}
