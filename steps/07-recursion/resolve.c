/* resolve: the iterative resolver — one question walked down from the root, as a state machine. */
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
                   const struct hints *hints, uint16_t ns_port, unsigned deadline_ms)
{
    memset(r, 0, sizeof *r);
    r->loop = loop;
    r->up = up;
    r->hints = hints;
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

/* Ends the whole tree of `top`: for a top-level resolution, calls the
 * client's callback with the reply (or UPSTREAM_FAILED), then frees it. */
static void resolve_finish_top(struct resolution *top, bool ok)
{
    struct resolver *r = top->r;
    static uint8_t out[DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED + RESOLVE_ANSWER_BYTES +
                       RESOLVE_AUTHORITY_BYTES];
    size_t len = 0;
    if (ok) {
        struct buf_writer w;
        buf_writer_init(&w, out, sizeof out);
        struct hdr h = {.qdcount = 1};
        hdr_set_flag(&h, HDR_QR, true);
        hdr_set_rcode(&h, top->rcode);
        h.ancount = top->answer_count;
        h.nscount = top->authority_count;
        hdr_encode(&w, &h);
        msg_write_question(&w, &top->question);
        buf_write_bytes(&w, top->answer, top->answer_w.pos);
        buf_write_bytes(&w, top->authority, top->authority_w.pos);
        len = w.pos; /* `out` is sized for all of it */
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
    resolve_from_root(child);
    res->child = child;
    resolve_ask_next(child);
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
     * the new name is resolved from the root (there is no cache yet). */
    if (moved && !resolve_in_bailiwick(res, &res->qname)) {
        resolve_from_root(res);
        resolve_ask_next(res);
        return;
    }
    bool authoritative = hdr_flag(&m->hdr, HDR_AA);
    if (rcode == DNS_RCODE_NXDOMAIN) {
        resolve_keep_soa(res, m);
        res->rcode = DNS_RCODE_NXDOMAIN;
        resolve_finish(res, true);
        return;
    }
    if (resolve_keep_soa(res, m) || (authoritative && m->count[MSG_ANSWER] == 0 && !moved)) {
        res->rcode = DNS_RCODE_NOERROR; /* NODATA: the name is there, the type is not */
        resolve_finish(res, true);
        return;
    }
    if (!moved && resolve_follow_referral(res, m)) {
        resolve_ask_next(res);
        return;
    }
    if (moved) { /* a CNAME to a name of the same zone, without its data: ask again */
        resolve_from_root(res);
        resolve_ask_next(res);
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
    resolve_ask_next(ctx);
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
    resolve_from_root(res);
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
