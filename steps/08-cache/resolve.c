/* resolve: the iterative resolver, now with a cache: what it learns, it remembers for the TTL. */
#include "resolve.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "log.h"
#include "rdata.h"

enum {
    /* Bytes kept of the records of the answer (the CNAME chain and the
     * final RRset) and of the authority section (the SOA of a negative
     * answer), uncompressed. The client's reply is 512 bytes at most, so
     * more than this could never be sent anyway. */
    RESOLVE_ANSWER_BYTES = 4096,
    RESOLVE_AUTHORITY_BYTES = 1024,
    /* An SOA's RDATA at most: two names and five 32-bit numbers. */
    RESOLVE_SOA_RDATA_MAX = 2 * NAME_WIRE_MAX + 20,
};

/* A name server of the zone cut being asked, and the addresses known for it. */
struct resolve_server {
    struct name name;
    struct net_addr addr[RESOLVE_ADDRS_MAX];
    size_t naddr;
    size_t next;    /* the next address to try: addr[next] */
    bool looked_up; /* a sub-resolution was started for its addresses */
};

struct resolution {
    struct resolver *r;
    struct resolution *top;    /* the client's question this one works for (itself if top-level) */
    struct resolution *parent; /* who waits for this sub-resolution, or NULL */
    struct resolve_server *for_server; /* the parent's server whose addresses it looks up */
    struct resolution *prev, *next;    /* on r->active (top-level only) */
    unsigned depth;
    upstream_done_fn *done; /* top-level only: the caller's callback */
    void *ctx;

    struct msg_question question; /* as asked, for the reply */
    struct name qname;            /* the name being resolved now (after CNAMEs) */
    struct name zone;             /* the zone cut whose servers are asked */
    struct resolve_server server[RESOLVE_SERVERS_MAX];
    size_t nserver;

    struct upstream_query *asked; /* in flight, or NULL */
    struct resolution *child;     /* a sub-resolution in flight, or NULL */
    struct loop_timer start;      /* 0 ms: starts the walk from the loop, not from resolve_ask() */
    struct loop_timer deadline;   /* top-level only */

    /* Counted on the top-level resolution, for all its sub-resolutions. */
    unsigned queries, referrals;
    unsigned cnames; /* CNAME links followed by this resolution */

    unsigned rcode; /* of the final answer */
    uint8_t answer[RESOLVE_ANSWER_BYTES];
    struct buf_writer answer_w;
    uint16_t answer_count;
    uint8_t authority[RESOLVE_AUTHORITY_BYTES];
    struct buf_writer authority_w;
    uint16_t authority_count;
};

static void resolve_ask_next(struct resolution *res);
static void resolve_free_tree(struct resolution *res);

void resolver_init(struct resolver *r, struct loop *loop, struct upstream *up,
                   const struct hints *hints, struct cache *cache, uint16_t ns_port,
                   unsigned deadline_ms)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->up = up;
    r->hints = hints;
    r->cache = cache;
    r->ns_port = ns_port;
    r->deadline_ms = deadline_ms;
}

/* `a` with its port set to `port`. */
static struct net_addr resolve_with_port(const struct net_addr *a, uint16_t port)
{
    struct net_addr out = *a;
    if (out.ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&out.ss)->sin_port = htons(port);
    else if (out.ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&out.ss)->sin6_port = htons(port);
    return out;
}

/* Adds a server named `name` to the current cut (once); returns it, or NULL if the cut is full. */
static struct resolve_server *resolve_add_server(struct resolution *res, const struct name *name)
{
    for (size_t i = 0; i < res->nserver; i++) {
        if (name_equal(&res->server[i].name, name))
            return &res->server[i];
    }
    if (res->nserver == RESOLVE_SERVERS_MAX)
        return NULL;
    struct resolve_server *s = &res->server[res->nserver++];
    memset(s, 0, sizeof *s);
    s->name = *name;
    name_lower(&s->name);
    return s;
}

/* Adds an address (A or AAAA RDATA) to server `s`, once. */
static void resolve_add_address(struct resolve_server *s, uint16_t type, const uint8_t *rdata,
                                size_t len)
{
    struct net_addr a;
    memset(&a, 0, sizeof a);
    if (type == DNS_TYPE_A && len == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, rdata, 4);
        a.len = sizeof *sin;
    } else if (type == DNS_TYPE_AAAA && len == 16) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a.ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, rdata, 16);
        a.len = sizeof *sin6;
    } else {
        return;
    }
    for (size_t i = 0; i < s->naddr; i++) {
        if (s->addr[i].len == a.len && memcmp(&s->addr[i].ss, &a.ss, a.len) == 0)
            return;
    }
    if (s->naddr < RESOLVE_ADDRS_MAX)
        s->addr[s->naddr++] = a;
}

/* Starts (again) from the root: the servers of the hints file. */
static void resolve_from_root(struct resolution *res)
{
    name_root(&res->zone);
    res->nserver = 0;
    for (size_t i = 0; i < res->r->hints->count; i++) {
        const struct hints_server *h = &res->r->hints->server[i];
        struct resolve_server *s = resolve_add_server(res, &h->name);
        if (s == NULL)
            break;
        for (size_t k = 0; k < h->naddr && s->naddr < RESOLVE_ADDRS_MAX; k++)
            s->addr[s->naddr++] = h->addr[k];
    }
}

/* The cache ------------------------------------------------------------------- */

/* Cuts the first label off `n` ("www.example.com." -> "example.com.");
 * false at the root. */
static bool resolve_parent(struct name *n)
{
    if (n->len <= 1)
        return false;
    size_t skip = 1 + (size_t)n->wire[0];
    memmove(n->wire, n->wire + skip, n->len - skip);
    n->len -= skip;
    return true;
}

/* Appends the records of positive entry `e` to `w` with the TTL they have
 * left. Returns false (and writes nothing) if they do not fit. */
static bool resolve_write_cached(struct buf_writer *w, const struct cache_entry *e, uint64_t now)
{
    size_t mark = buf_writer_mark(w);
    uint32_t ttl = cache_ttl_left(e, now);
    struct name owner;
    cache_entry_owner(e, &owner);
    struct buf_reader r;
    buf_reader_init(&r, e->data, e->len);
    /* Bounded by the entry's count of records. */
    for (uint16_t i = 0; i < e->count; i++) {
        uint16_t rdlength = buf_read_u16(&r);
        size_t at = r.pos;
        buf_skip(&r, rdlength);
        if (!buf_reader_ok(&r))
            break;
        name_write(w, &owner);
        buf_write_u16(w, e->type);
        buf_write_u16(w, e->class_);
        buf_write_u32(w, ttl);
        buf_write_u16(w, rdlength);
        buf_write_bytes(w, e->data + at, rdlength);
    }
    if (buf_reader_ok(&r) && buf_writer_ok(w))
        return true;
    buf_writer_rollback(w, mark);
    return false;
}

/* Appends the SOA of negative entry `e` (stored as its owner's name, then
 * RDLENGTH and RDATA) to `w`, with the TTL the entry has left. */
static bool resolve_write_cached_soa(struct buf_writer *w, const struct cache_entry *e,
                                     uint64_t now)
{
    size_t mark = buf_writer_mark(w);
    struct buf_reader r;
    buf_reader_init(&r, e->data, e->len);
    struct name owner;
    if (name_read(&r, &owner) != NAME_OK)
        return false;
    uint16_t rdlength = buf_read_u16(&r);
    size_t at = r.pos;
    buf_skip(&r, rdlength);
    name_write(w, &owner);
    buf_write_u16(w, DNS_TYPE_SOA);
    buf_write_u16(w, e->class_);
    buf_write_u32(w, cache_ttl_left(e, now));
    buf_write_u16(w, rdlength);
    buf_write_bytes(w, e->data + at, rdlength);
    if (buf_reader_ok(&r) && buf_writer_ok(w))
        return true;
    buf_writer_rollback(w, mark);
    return false;
}

enum resolve_cached { RESOLVE_CACHED_NONE, RESOLVE_CACHED_DONE, RESOLVE_CACHED_FAILED };

/*
 * Answers what the cache can of res->qname: follows cached CNAME links
 * (appending each to the answer, res->qname moving to the target) and ends
 * with a cached RRset or negative answer for the type asked. Returns DONE
 * (res->rcode set), FAILED (a CNAME loop or too many links), or NONE: the
 * rest must be asked of the name servers.
 */
static enum resolve_cached resolve_try_cache(struct resolution *res, uint64_t now)
{
    struct cache *c = res->r->cache;
    uint16_t qtype = res->question.qtype, qclass = res->question.qclass;
    /* Bounded: each pass follows one more CNAME link, at most RESOLVE_CNAME_MAX. */
    for (;;) {
        const struct cache_entry *e = cache_get(c, now, &res->qname, qtype, qclass);
        if (e != NULL && e->kind == CACHE_POSITIVE) {
            if (!resolve_write_cached(&res->answer_w, e, now))
                return RESOLVE_CACHED_NONE;
            res->answer_count = (uint16_t)(res->answer_count + e->count);
            res->rcode = DNS_RCODE_NOERROR;
            return RESOLVE_CACHED_DONE;
        }
        bool nodata = e != NULL && e->kind == CACHE_NODATA;
        if (!nodata)
            e = cache_get(c, now, &res->qname, 0, qclass);
        if (e != NULL && (nodata || e->kind == CACHE_NXDOMAIN)) {
            if (resolve_write_cached_soa(&res->authority_w, e, now))
                res->authority_count++;
            res->rcode = nodata ? DNS_RCODE_NOERROR : DNS_RCODE_NXDOMAIN;
            return RESOLVE_CACHED_DONE;
        }
        if (qtype == DNS_TYPE_CNAME)
            return RESOLVE_CACHED_NONE;
        e = cache_get(c, now, &res->qname, DNS_TYPE_CNAME, qclass);
        if (e == NULL || e->kind != CACHE_POSITIVE || e->count == 0)
            return RESOLVE_CACHED_NONE;
        struct buf_reader r;
        struct name target;
        buf_reader_init(&r, e->data, e->len);
        buf_skip(&r, 2); /* RDLENGTH: a CNAME's RDATA is one name */
        if (name_read(&r, &target) != NAME_OK)
            return RESOLVE_CACHED_NONE;
        if (++res->cnames > RESOLVE_CNAME_MAX || name_equal(&target, &res->question.qname))
            return RESOLVE_CACHED_FAILED;
        if (!resolve_write_cached(&res->answer_w, e, now))
            return RESOLVE_CACHED_NONE;
        res->answer_count = (uint16_t)(res->answer_count + e->count);
        res->qname = target;
    }
}

/* Adds the cached addresses of server `s` (A and AAAA entries of its name). */
static void resolve_cached_addresses(struct resolution *res, struct resolve_server *s, uint64_t now)
{
    static const uint16_t types[] = {DNS_TYPE_A, DNS_TYPE_AAAA};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        const struct cache_entry *e =
            cache_get(res->r->cache, now, &s->name, types[t], DNS_CLASS_IN);
        if (e == NULL || e->kind != CACHE_POSITIVE)
            continue;
        struct buf_reader r;
        buf_reader_init(&r, e->data, e->len);
        /* Bounded by the entry's count of records. */
        for (uint16_t i = 0; i < e->count; i++) {
            uint16_t rdlength = buf_read_u16(&r);
            size_t at = r.pos;
            buf_skip(&r, rdlength);
            if (!buf_reader_ok(&r))
                break;
            resolve_add_address(s, types[t], e->data + at, rdlength);
        }
    }
}

/* Starts at the deepest zone cut the cache knows for res->qname (its NS
 * RRset, and the addresses of those servers it has), or at the root. A cut
 * none of whose servers has a fresh address is passed over for its parent:
 * finding an address would start at that same cut again, and again, until
 * RESOLVE_DEPTH_MAX ends it (the NS RRset of a referral often outlives the
 * glue that came with it). */
static void resolve_from_closest_cut(struct resolution *res, uint64_t now)
{
    struct name cut = res->qname;
    /* Bounded by the name's labels: each pass cuts one off. */
    do {
        const struct cache_entry *e =
            cache_get(res->r->cache, now, &cut, DNS_TYPE_NS, DNS_CLASS_IN);
        if (e == NULL || e->kind != CACHE_POSITIVE || cut.len <= 1)
            continue;
        res->zone = cut;
        res->nserver = 0;
        struct buf_reader r;
        buf_reader_init(&r, e->data, e->len);
        for (uint16_t i = 0; i < e->count; i++) {
            struct name target;
            buf_skip(&r, 2); /* RDLENGTH: an NS's RDATA is one name */
            if (name_read(&r, &target) != NAME_OK)
                break;
            struct resolve_server *s = resolve_add_server(res, &target);
            if (s != NULL)
                resolve_cached_addresses(res, s, now);
        }
        bool reachable = false;
        for (size_t i = 0; i < res->nserver && !reachable; i++)
            reachable = res->server[i].naddr > 0;
        if (reachable) {
            res->r->stats.cut_from_cache++;
            return;
        }
    } while (resolve_parent(&cut));
    resolve_from_root(res);
}

static void resolve_ask_next(struct resolution *res);
static void resolve_finish(struct resolution *res, bool ok);

/* (Re)starts `res` for res->qname: from the cache if it knows the answer,
 * else from the closest cut it knows. */
static void resolve_restart(struct resolution *res)
{
    uint64_t now = loop_now(res->r->loop);
    switch (resolve_try_cache(res, now)) {
    case RESOLVE_CACHED_DONE:
        resolve_finish(res, true);
        return;
    case RESOLVE_CACHED_FAILED:
        resolve_finish(res, false);
        return;
    case RESOLVE_CACHED_NONE:
        break;
    }
    resolve_from_closest_cut(res, now);
    resolve_ask_next(res);
}

/* Caches the RRsets of section `s` of `m` whose owners are inside
 * `bailiwick` (among its first RESOLVE_CACHE_RECORDS_MAX records), each as
 * one entry of `rank`, its TTL the lowest of its records' (RFC 2181 5.2).
 * SOA records are left to resolve_cache_negative(); `glue_only` keeps only
 * addresses (the additional section of a referral). */
static void resolve_cache_section(struct resolution *res, const struct msg *m, enum msg_section s,
                                  const struct name *bailiwick, enum cache_rank rank,
                                  bool glue_only)
{
    size_t first = msg_section_start(m, s);
    size_t n = m->count[s] < RESOLVE_CACHE_RECORDS_MAX ? m->count[s] : RESOLVE_CACHE_RECORDS_MAX;
    uint64_t now = loop_now(res->r->loop);
    static uint8_t data[RESOLVE_ANSWER_BYTES];
    /* Bounded: n records, each compared with those before it (n x n). */
    for (size_t i = 0; i < n; i++) {
        const struct msg_record *rec = &m->record[first + i];
        struct name owner;
        msg_record_owner(m, rec, &owner);
        if (rec->type == DNS_TYPE_OPT || rec->type == DNS_TYPE_SOA ||
            !name_is_subdomain(&owner, bailiwick))
            continue;
        if (glue_only && rec->type != DNS_TYPE_A && rec->type != DNS_TYPE_AAAA)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            const struct msg_record *before = &m->record[first + k];
            struct name other;
            msg_record_owner(m, before, &other);
            seen = before->type == rec->type && before->class_ == rec->class_ &&
                   name_equal(&other, &owner);
        }
        if (seen) /* cached with the first record of its RRset */
            continue;
        struct buf_writer w;
        buf_writer_init(&w, data, sizeof data);
        uint16_t count = 0;
        uint32_t ttl = rec->ttl;
        for (size_t k = i; k < n; k++) {
            const struct msg_record *same = &m->record[first + k];
            struct name other;
            msg_record_owner(m, same, &other);
            if (same->type != rec->type || same->class_ != rec->class_ ||
                !name_equal(&other, &owner))
                continue;
            size_t len_at = w.pos;
            buf_write_u16(&w, 0);
            struct buf_reader r;
            buf_reader_init(&r, m->data, m->len);
            buf_seek(&r, same->rdata);
            if (rdata_unpack(&r, same->type, same->rdlength, &w) != RDATA_OK)
                break;
            buf_write_u16_at(&w, len_at, (uint16_t)(w.pos - len_at - 2));
            ttl = same->ttl < ttl ? same->ttl : ttl;
            count++;
        }
        if (buf_writer_ok(&w) && count > 0)
            cache_put(res->r->cache, now, &owner, rec->type, rec->class_, CACHE_POSITIVE, rank, ttl,
                      data, w.pos, count);
    }
}

/* Caches a negative answer for res->qname (NXDOMAIN: any type; else NODATA
 * for the type asked) from the SOA in the authority section of `m`, for
 * min(SOA TTL, SOA MINIMUM) (RFC 2308 5). */
static void resolve_cache_negative(struct resolution *res, const struct msg *m, bool nxdomain)
{
    size_t first = msg_section_start(m, MSG_AUTHORITY);
    for (size_t i = first; i < first + m->count[MSG_AUTHORITY]; i++) {
        const struct msg_record *rec = &m->record[i];
        struct name owner;
        msg_record_owner(m, rec, &owner);
        if (rec->type != DNS_TYPE_SOA || !name_is_subdomain(&owner, &res->zone) ||
            !name_is_subdomain(&res->qname, &owner))
            continue;
        uint8_t data[NAME_WIRE_MAX + 2 + RESOLVE_SOA_RDATA_MAX];
        struct buf_writer w;
        buf_writer_init(&w, data, sizeof data);
        name_write(&w, &owner);
        size_t len_at = w.pos;
        buf_write_u16(&w, 0);
        size_t rdata_at = w.pos;
        struct buf_reader r;
        buf_reader_init(&r, m->data, m->len);
        buf_seek(&r, rec->rdata);
        if (rdata_unpack(&r, DNS_TYPE_SOA, rec->rdlength, &w) != RDATA_OK || w.pos < rdata_at + 4)
            return;
        buf_write_u16_at(&w, len_at, (uint16_t)(w.pos - rdata_at));
        /* MINIMUM is the SOA's last field: 32 bits at the end of its RDATA. */
        struct buf_reader minimum;
        buf_reader_init(&minimum, data + w.pos - 4, 4);
        uint32_t ttl = buf_read_u32(&minimum);
        ttl = rec->ttl < ttl ? rec->ttl : ttl;
        cache_put(res->r->cache, loop_now(res->r->loop), &res->qname,
                  nxdomain ? 0 : res->question.qtype, res->question.qclass,
                  nxdomain ? CACHE_NXDOMAIN : CACHE_NODATA, CACHE_RANK_ANSWER, ttl, data, w.pos, 1);
        return;
    }
}

/* Appends record `rec` of `m` to `w`, uncompressed: names inside its RDATA
 * are unpacked from wherever their pointers lead in `m`. */
static bool resolve_keep(struct buf_writer *w, const struct msg *m, const struct msg_record *rec)
{
    size_t mark = buf_writer_mark(w);
    struct name owner;
    msg_record_owner(m, rec, &owner);
    name_write(w, &owner);
    buf_write_u16(w, rec->type);
    buf_write_u16(w, rec->class_);
    buf_write_u32(w, rec->ttl);
    size_t rdlength_at = w->pos;
    buf_write_u16(w, 0);
    struct buf_reader r;
    buf_reader_init(&r, m->data, m->len);
    buf_seek(&r, rec->rdata);
    if (rdata_unpack(&r, rec->type, rec->rdlength, w) != RDATA_OK || !buf_writer_ok(w)) {
        buf_writer_rollback(w, mark); /* no room: the reply would not hold it either */
        return false;
    }
    buf_write_u16_at(w, rdlength_at, (uint16_t)(w->pos - rdlength_at - 2));
    return true;
}

/* Writes the reply for the question of `res` alone: its RCODE, the answer
 * records, the authority records. Returns its length, or 0 if it does not
 * fit in `cap`. */
static size_t resolve_write_reply(const struct resolution *res, uint8_t *out, size_t cap)
{
    struct buf_writer w;
    buf_writer_init(&w, out, cap);
    struct hdr h = {.qdcount = 1};
    hdr_set_flag(&h, HDR_QR, true);
    hdr_set_rcode(&h, res->rcode);
    h.ancount = res->answer_count;
    h.nscount = res->authority_count;
    hdr_encode(&w, &h);
    msg_write_question(&w, &res->question);
    buf_write_bytes(&w, res->answer, res->answer_w.pos);
    buf_write_bytes(&w, res->authority, res->authority_w.pos);
    return buf_writer_ok(&w) ? w.pos : 0;
}

enum {
    RESOLVE_REPLY_MAX = DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED +
                        RESOLVE_ANSWER_BYTES + RESOLVE_AUTHORITY_BYTES,
};

/* Ends the whole tree of `top`: for a top-level resolution, calls the
 * client's callback with the reply (or UPSTREAM_FAILED), then frees it. */
static void resolve_finish_top(struct resolution *top, bool ok)
{
    struct resolver *r = top->r;
    static uint8_t out[RESOLVE_REPLY_MAX];
    size_t len = ok ? resolve_write_reply(top, out, sizeof out) : 0;
    if (ok) {
        if (top->rcode == DNS_RCODE_NXDOMAIN)
            r->stats.nxdomain++;
        else if (top->answer_count == 0)
            r->stats.nodata++;
        else
            r->stats.answered++;
    } else {
        r->stats.servfail++;
    }
    upstream_done_fn *done = top->done;
    void *ctx = top->ctx;
    resolve_free_tree(top);
    done(ctx, ok ? UPSTREAM_REPLY : UPSTREAM_FAILED, ok ? out : NULL, len);
}

/* A sub-resolution ended: the parent's server gets the addresses it found
 * (the A and AAAA records of its answer), and the parent goes on. */
static void resolve_finish_child(struct resolution *child, bool ok)
{
    struct resolution *parent = child->parent;
    if (ok) {
        struct buf_reader rd;
        buf_reader_init(&rd, child->answer, child->answer_w.pos);
        /* Bounded by answer_count records, each read or failing. */
        for (unsigned i = 0; i < child->answer_count; i++) {
            struct msg_rr rr;
            if (msg_read_rr(&rd, &rr) != NAME_OK)
                break;
            resolve_add_address(child->for_server, rr.type, child->answer + rr.rdata_offset,
                                rr.rdlength);
        }
    }
    parent->child = NULL;
    free(child);
    resolve_ask_next(parent);
}

/* Ends `res` (a top-level one or a sub-resolution). */
static void resolve_finish(struct resolution *res, bool ok)
{
    if (res->parent == NULL)
        resolve_finish_top(res, ok);
    else
        resolve_finish_child(res, ok);
}

/* Starts a sub-resolution for the addresses of server `s` of `res`. */
static bool resolve_start_child(struct resolution *res, struct resolve_server *s)
{
    struct resolution *child = calloc(1, sizeof *child);
    if (child == NULL)
        return false;
    child->r = res->r;
    child->top = res->top;
    child->parent = res;
    child->for_server = s;
    child->depth = res->depth + 1;
    child->question =
        (struct msg_question){.qname = s->name, .qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN};
    child->qname = s->name;
    buf_writer_init(&child->answer_w, child->answer, sizeof child->answer);
    buf_writer_init(&child->authority_w, child->authority, sizeof child->authority);
    loop_timer_init(&child->start);
    loop_timer_init(&child->deadline);
    res->child = child;
    resolve_restart(child); /* may end it (and go on with `res`) at once: touch neither after */
    return true;
}

static void resolve_on_reply(void *ctx, enum upstream_result result, const uint8_t *reply,
                             size_t len);

/* Asks the next address of the current servers, or looks up a server's
 * addresses, or gives up. */
static void resolve_ask_next(struct resolution *res)
{
    struct resolution *top = res->top;
    struct resolver *r = res->r;
    if (top->queries >= RESOLVE_QUERIES_MAX) {
        log_debug("resolve: %u queries for one question: giving up", top->queries);
        resolve_finish(res, false);
        return;
    }
    /* Bounded: each pass either sends to an address not tried before (next
     * only grows) or moves to the next server. */
    for (size_t i = 0; i < res->nserver; i++) {
        struct resolve_server *s = &res->server[i];
        while (s->next < s->naddr) {
            struct net_addr to = resolve_with_port(&s->addr[s->next++], r->ns_port);
            struct msg_question q = {
                .qname = res->qname, .qtype = res->question.qtype, .qclass = res->question.qclass};
            res->asked = upstream_ask(r->up, &to, &q, false, resolve_on_reply, res);
            if (res->asked == NULL)
                continue; /* too many queries in flight: this address counts as failed */
            top->queries++;
            /* The same query again over TCP after TC counts too. */
            upstream_budget(res->asked, &top->queries, RESOLVE_QUERIES_MAX);
            return;
        }
    }
    /* No address left: the servers that came without glue. A sub-resolution
     * may itself need one (the NS name's zone may be glueless too), down to
     * RESOLVE_DEPTH_MAX: past that, a delegation that needs itself fails. */
    if (res->depth < RESOLVE_DEPTH_MAX) {
        for (size_t i = 0; i < res->nserver; i++) {
            struct resolve_server *s = &res->server[i];
            if (s->naddr == 0 && !s->looked_up) {
                s->looked_up = true;
                if (resolve_start_child(res, s))
                    return;
            }
        }
    }
    resolve_finish(res, false);
}

/* Whether `n` is inside the zone whose servers we asked: only such records
 * can be believed from them (a com. server has no say about example.org.). */
static bool resolve_in_bailiwick(const struct resolution *res, const struct name *n)
{
    return name_is_subdomain(n, &res->zone);
}

/* The first SOA of the authority section of `m` in bailiwick, kept for a
 * negative answer. Returns whether there was one. */
static bool resolve_keep_soa(struct resolution *res, const struct msg *m)
{
    size_t first = msg_section_start(m, MSG_AUTHORITY);
    for (size_t i = first; i < first + m->count[MSG_AUTHORITY]; i++) {
        const struct msg_record *rec = &m->record[i];
        struct name owner;
        msg_record_owner(m, rec, &owner);
        if (rec->type != DNS_TYPE_SOA || !resolve_in_bailiwick(res, &owner) ||
            !name_is_subdomain(&res->qname, &owner))
            continue;
        if (resolve_keep(&res->authority_w, m, rec))
            res->authority_count++;
        return true;
    }
    return false;
}

/* Follows the answer section of `m` from res->qname: CNAME links, then the
 * RRset asked for. Returns true if that RRset was found (and kept). */
static bool resolve_follow_answer(struct resolution *res, const struct msg *m, bool *moved,
                                  bool *failed)
{
    size_t first = msg_section_start(m, MSG_ANSWER);
    size_t n = m->count[MSG_ANSWER];
    uint16_t qtype = res->question.qtype;
    /* Bounded: each pass follows one more CNAME link, at most RESOLVE_CNAME_MAX. */
    for (;;) {
        bool found = false;
        const struct msg_record *cname = NULL;
        for (size_t i = first; i < first + n; i++) {
            const struct msg_record *rec = &m->record[i];
            struct name owner;
            msg_record_owner(m, rec, &owner);
            if (rec->class_ != res->question.qclass || !name_equal(&owner, &res->qname))
                continue;
            if (!resolve_in_bailiwick(res, &owner)) {
                res->r->stats.out_of_bailiwick++;
                continue;
            }
            if (rec->type == qtype || qtype == DNS_TYPE_ANY) {
                if (resolve_keep(&res->answer_w, m, rec))
                    res->answer_count++;
                found = true;
            } else if (rec->type == DNS_TYPE_CNAME && cname == NULL) {
                cname = rec;
            }
        }
        if (found)
            return true;
        if (cname == NULL || qtype == DNS_TYPE_CNAME)
            return false;
        struct name target; /* a CNAME's RDATA is one name, maybe compressed */
        struct buf_reader rd;
        buf_reader_init(&rd, m->data, m->len);
        buf_seek(&rd, cname->rdata);
        if (name_read(&rd, &target) != NAME_OK) {
            *failed = true;
            return false;
        }
        if (++res->cnames > RESOLVE_CNAME_MAX || name_equal(&target, &res->question.qname)) {
            log_debug("resolve: too many CNAME links, or a loop");
            *failed = true;
            return false;
        }
        if (resolve_keep(&res->answer_w, m, cname))
            res->answer_count++;
        res->qname = target;
        *moved = true;
    }
}

/* Handles a referral in `m`: NS records in its authority section for a
 * zone below the current cut and above the name. Returns false if it is
 * not one (lame, or a referral up or sideways). */
static bool resolve_follow_referral(struct resolution *res, const struct msg *m)
{
    size_t first = msg_section_start(m, MSG_AUTHORITY);
    struct name cut;
    bool have_cut = false;
    for (size_t i = first; i < first + m->count[MSG_AUTHORITY]; i++) {
        const struct msg_record *rec = &m->record[i];
        if (rec->type != DNS_TYPE_NS)
            continue;
        msg_record_owner(m, rec, &cut);
        have_cut = true;
        break;
    }
    /* Down only: a server that refers us to its own zone, to a parent or to
     * a zone beside it (an upward referral) is lame for this name. */
    if (!have_cut || name_equal(&cut, &res->zone) || !name_is_subdomain(&cut, &res->zone) ||
        !name_is_subdomain(&res->qname, &cut))
        return false;
    struct resolution *top = res->top;
    if (++top->referrals > RESOLVE_REFERRALS_MAX)
        return false;
    res->r->stats.referrals++;

    struct name delegating = res->zone; /* glue is believed only inside it */
    resolve_cache_section(res, m, MSG_AUTHORITY, &delegating, CACHE_RANK_REFERRAL, false);
    resolve_cache_section(res, m, MSG_ADDITIONAL, &delegating, CACHE_RANK_GLUE, true);
    res->zone = cut;
    name_lower(&res->zone);
    res->nserver = 0;
    for (size_t i = first; i < first + m->count[MSG_AUTHORITY]; i++) {
        const struct msg_record *rec = &m->record[i];
        struct name owner, target;
        msg_record_owner(m, rec, &owner);
        if (rec->type != DNS_TYPE_NS || !name_equal(&owner, &cut))
            continue;
        struct buf_reader rd;
        buf_reader_init(&rd, m->data, m->len);
        buf_seek(&rd, rec->rdata);
        if (name_read(&rd, &target) == NAME_OK)
            resolve_add_server(res, &target);
    }
    size_t add = msg_section_start(m, MSG_ADDITIONAL);
    for (size_t i = add; i < add + m->count[MSG_ADDITIONAL]; i++) {
        const struct msg_record *rec = &m->record[i];
        if (rec->type != DNS_TYPE_A && rec->type != DNS_TYPE_AAAA)
            continue;
        struct name owner;
        msg_record_owner(m, rec, &owner);
        /* Glue from outside the delegating zone is what cache poisoning
         * looks like (a com. server naming the address of ns.example.org.). */
        if (!name_is_subdomain(&owner, &delegating)) {
            res->r->stats.out_of_bailiwick++;
            continue;
        }
        for (size_t k = 0; k < res->nserver; k++) {
            if (name_equal(&res->server[k].name, &owner))
                resolve_add_address(&res->server[k], rec->type, m->data + rec->rdata,
                                    rec->rdlength);
        }
    }
    return res->nserver > 0;
}

/* What a reply from the current servers means for `res`. */
static void resolve_handle(struct resolution *res, const struct msg *m)
{
    unsigned rcode = hdr_rcode(&m->hdr);
    if (rcode != DNS_RCODE_NOERROR && rcode != DNS_RCODE_NXDOMAIN) {
        res->r->stats.lame++; /* SERVFAIL, REFUSED, FORMERR...: another server may do better */
        resolve_ask_next(res);
        return;
    }
    /* What an authoritative server says of its own zone is the best data
     * there is; anything else in an answer section only as good as a
     * referral. Out-of-bailiwick records are never cached. */
    resolve_cache_section(res, m, MSG_ANSWER, &res->zone,
                          hdr_flag(&m->hdr, HDR_AA) ? CACHE_RANK_ANSWER : CACHE_RANK_REFERRAL,
                          false);
    bool moved = false, failed = false;
    if (resolve_follow_answer(res, m, &moved, &failed)) {
        res->rcode = DNS_RCODE_NOERROR;
        resolve_finish(res, true);
        return;
    }
    if (failed) {
        resolve_finish(res, false);
        return;
    }
    /* The chain left this server's zone: its servers know nothing more;
     * the new name starts again, from the cache or the closest cut it knows. */
    if (moved && !resolve_in_bailiwick(res, &res->qname)) {
        resolve_restart(res);
        return;
    }
    bool authoritative = hdr_flag(&m->hdr, HDR_AA);
    if (rcode == DNS_RCODE_NXDOMAIN) {
        resolve_cache_negative(res, m, true);
        resolve_keep_soa(res, m);
        res->rcode = DNS_RCODE_NXDOMAIN;
        resolve_finish(res, true);
        return;
    }
    if (resolve_keep_soa(res, m) || (authoritative && m->count[MSG_ANSWER] == 0 && !moved)) {
        resolve_cache_negative(res, m, false);
        res->rcode = DNS_RCODE_NOERROR; /* NODATA: the name is there, the type is not */
        resolve_finish(res, true);
        return;
    }
    if (!moved && resolve_follow_referral(res, m)) {
        resolve_ask_next(res);
        return;
    }
    if (moved) { /* a CNAME to a name of the same zone, without its data: ask again */
        resolve_restart(res);
        return;
    }
    res->r->stats.lame++;
    resolve_ask_next(res);
}

/* An upstream_done_fn: the reply to the current query, or its failure. */
static void resolve_on_reply(void *ctx, enum upstream_result result, const uint8_t *reply,
                             size_t len)
{
    struct resolution *res = ctx;
    res->asked = NULL;
    static struct msg m; /* large; one reply is handled at a time */
    if (result != UPSTREAM_REPLY || msg_parse(reply, len, &m) != MSG_OK ||
        hdr_flag(&m.hdr, HDR_TC)) {
        /* No answer, an unreadable one, or one still truncated over TCP. */
        resolve_ask_next(res);
        return;
    }
    resolve_handle(res, &m);
}

/* The deadline of a top-level resolution. */
static void resolve_on_deadline(void *ctx)
{
    struct resolution *top = ctx;
    log_debug("resolve: deadline reached after %u queries", top->queries);
    resolve_finish_top(top, false);
}

static void resolve_on_start(void *ctx)
{
    resolve_restart(ctx);
}

struct resolution *resolve_ask(struct resolver *r, const struct msg_question *q,
                               upstream_done_fn *done, void *ctx)
{
    struct resolution *res = calloc(1, sizeof *res);
    if (res == NULL)
        return NULL;
    res->r = r;
    res->top = res;
    res->done = done;
    res->ctx = ctx;
    res->question = *q;
    res->qname = q->qname;
    buf_writer_init(&res->answer_w, res->answer, sizeof res->answer);
    buf_writer_init(&res->authority_w, res->authority, sizeof res->authority);
    loop_timer_init(&res->start);
    loop_timer_init(&res->deadline);
    if (loop_timer_start(r->loop, &res->start, 0, resolve_on_start, res) != 0 ||
        loop_timer_start(r->loop, &res->deadline, r->deadline_ms, resolve_on_deadline, res) != 0) {
        loop_timer_stop(r->loop, &res->start);
        free(res);
        return NULL;
    }
    res->next = r->active;
    if (r->active != NULL)
        r->active->prev = res;
    r->active = res;
    r->pending++;
    r->stats.started++;
    return res;
}

/* Stops and frees `res` and its sub-resolutions; a top-level one leaves r->active. */
static void resolve_free_tree(struct resolution *res)
{
    struct resolver *r = res->r;
    /* Bounded by RESOLVE_DEPTH_MAX: one child per level. */
    while (res != NULL) {
        struct resolution *child = res->child;
        if (res->asked != NULL)
            upstream_cancel(r->up, res->asked);
        loop_timer_stop(r->loop, &res->start);
        loop_timer_stop(r->loop, &res->deadline);
        if (res->parent == NULL) {
            if (res->prev != NULL)
                res->prev->next = res->next;
            else
                r->active = res->next;
            if (res->next != NULL)
                res->next->prev = res->prev;
            r->pending--;
        }
        free(res);
        res = child;
    }
}

void resolve_cancel(struct resolver *r, struct resolution *res)
{
    (void)r;
    resolve_free_tree(res);
}

void resolver_free(struct resolver *r)
{
    /* Bounded: each pass frees the first resolution of the list. */
    while (r->active != NULL)
        resolve_free_tree(r->active);
}

size_t resolve_from_cache(struct resolver *r, const struct msg_question *q, uint8_t *out,
                          size_t cap)
{
    /* Static: a resolution is large, and the hot path allocates nothing.
     * Only what resolve_try_cache() and resolve_write_reply() use is set. */
    static struct resolution scratch;
    scratch.r = r;
    scratch.question = *q;
    scratch.qname = q->qname;
    scratch.cnames = 0;
    scratch.answer_count = scratch.authority_count = 0;
    buf_writer_init(&scratch.answer_w, scratch.answer, sizeof scratch.answer);
    buf_writer_init(&scratch.authority_w, scratch.authority, sizeof scratch.authority);
    if (resolve_try_cache(&scratch, loop_now(r->loop)) != RESOLVE_CACHED_DONE)
        return 0;
    size_t len = resolve_write_reply(&scratch, out, cap);
    if (len > 0)
        r->stats.from_cache++;
    return len;
}
