/* fuzz_resolve: step 8's resolver fed any replies from its name servers: it ends, within its
 * bounds, and caches nothing from outside the zone each reply came from. */
#include "fuzz.h"

/*
 * The seam. What the resolver does with a reply happens in static functions
 * (resolve_on_reply() and below), reached only from a reply to a query sent
 * through upstream.c, over real sockets. So this file includes resolve.c
 * itself (fuzz.mk links this target without resolve.o), after renaming the
 * functions of upstream.c it calls: fuzz_upstream_ask() below records the
 * query and sends nothing; the harness then calls resolve_on_reply(), as
 * upstream.c would, with a reply from the input, a timeout or a failure. The
 * loop is the real one on a clock the harness sets, so timers (the start,
 * the deadline) and the cache's TTLs run on input time.
 *
 * Acceptance (ID, question, sender) is upstream.c's job and is not redone
 * here: any message, matching or not, reaches the resolver, which must cope.
 */
#define upstream_ask    fuzz_upstream_ask
#define upstream_cancel fuzz_upstream_cancel
#define upstream_budget fuzz_upstream_budget
#include "resolve.c"
#undef upstream_ask
#undef upstream_cancel
#undef upstream_budget

enum {
    FUZZ_CACHE_MAX = 24, /* small, so that eviction happens too */
    FUZZ_NS_PORT = 5300,
    FUZZ_DEADLINE_MS = RESOLVE_DEADLINE_DEFAULT_MS,
    /* The clock moves by the high nibble of an event's byte times this. */
    FUZZ_TICK_MS = 400,
};

/* Two root servers with addresses and one without (a glueless one, looked
 * up by a sub-resolution if the others fail). */
static const char fuzz_hints_text[] = ".  3600000 NS a.root-servers.test.\n"
                                      ".  3600000 NS b.root-servers.test.\n"
                                      ".  3600000 NS c.root-servers.test.\n"
                                      "a.root-servers.test. 3600000 A 127.0.0.2\n"
                                      "b.root-servers.test. 3600000 A 127.0.0.3\n"
                                      "b.root-servers.test. 3600000 AAAA ::1\n";

static struct hints hints;
static uint64_t fuzz_clock_ms;

static uint64_t fuzz_clock(void)
{
    return fuzz_clock_ms;
}

/* The fake upstream: the one query in flight, as upstream_ask() was given it. */
static struct {
    int in_flight; /* queries asked and neither answered nor cancelled */
    struct upstream_query *handle;
    upstream_done_fn *done;
    void *ctx;
    unsigned asked;   /* queries accepted for the whole input */
    unsigned *budget; /* upstream_budget(): the count its retries would spend */
    unsigned budget_max;
    bool refuse; /* the next upstream_ask() returns NULL, as with max_pending in flight */
} up;

/* Any non-NULL pointer will do: upstream.c's queries are opaque to resolve.c. */
static char fuzz_query_token;

struct upstream_query *fuzz_upstream_ask(struct upstream *u, const struct net_addr *server,
                                         const struct msg_question *q, bool rd,
                                         upstream_done_fn *done, void *ctx)
{
    (void)u;
    struct resolution *res = ctx;
    FUZZ_CHECK(done == resolve_on_reply && res != NULL, "a query not from resolve_ask_next()");
    FUZZ_CHECK(up.in_flight == 0, "a second query while one is in flight");
    FUZZ_CHECK(!rd, "a query with RD set");
    FUZZ_CHECK(name_equal(&q->qname, &res->qname) && q->qtype == res->question.qtype &&
                   q->qclass == res->question.qclass,
               "the query is not for the name being resolved");
    FUZZ_CHECK(fuzz_name_well_formed(&q->qname), "the query's name is malformed");
    /* To an address of the current servers, on their port. */
    FUZZ_CHECK(server->ss.ss_family == AF_INET || server->ss.ss_family == AF_INET6,
               "a query to address family %d", server->ss.ss_family);
    uint16_t port = server->ss.ss_family == AF_INET
                        ? ntohs(((const struct sockaddr_in *)&server->ss)->sin_port)
                        : ntohs(((const struct sockaddr_in6 *)&server->ss)->sin6_port);
    FUZZ_CHECK(port == FUZZ_NS_PORT, "a query to port %u", port);
    if (up.refuse) {
        up.refuse = false;
        return NULL;
    }
    up.in_flight++;
    up.asked++;
    up.handle = (struct upstream_query *)&fuzz_query_token;
    up.budget = NULL;
    up.done = done;
    up.ctx = ctx;
    return up.handle;
}

/* The resolver's budget for what upstream.c sends by itself (another try,
 * TCP after TC): the query in flight must spend the top-level count, up to
 * RESOLVE_QUERIES_MAX. A timeout then spends one, as a second try would. */
void fuzz_upstream_budget(struct upstream_query *q, unsigned *used, unsigned max)
{
    FUZZ_CHECK(up.in_flight == 1 && q == up.handle, "a budget for a query not in flight");
    struct resolution *res = up.ctx;
    FUZZ_CHECK(used == &res->top->queries && max == RESOLVE_QUERIES_MAX,
               "a budget other than the client question's");
    up.budget = used;
    up.budget_max = max;
}

void fuzz_upstream_cancel(struct upstream *u, struct upstream_query *q)
{
    (void)u;
    FUZZ_CHECK(up.in_flight == 1 && q == up.handle, "cancelling a query not in flight");
    up.in_flight = 0;
    up.handle = NULL;
}

/* The client's side: how the resolution ended. */
static struct {
    unsigned calls;
    enum upstream_result result;
    struct msg_question question; /* what was asked */
} client;

static struct msg reply_msg;

static void fuzz_done(void *ctx, enum upstream_result result, const uint8_t *reply, size_t len)
{
    (void)ctx;
    client.calls++;
    client.result = result;
    FUZZ_CHECK(client.calls == 1, "the client's callback called %u times", client.calls);
    FUZZ_CHECK(result == UPSTREAM_REPLY || result == UPSTREAM_FAILED, "result %d", result);
    if (result != UPSTREAM_REPLY)
        return;
    /* The reply for the client's question alone: it parses whole, QR set,
     * NOERROR or NXDOMAIN, one question, the client's, byte for byte. */
    FUZZ_CHECK(reply != NULL && len >= DNS_HEADER_SIZE, "a reply of %zu bytes", len);
    enum msg_status st = msg_parse(reply, len, &reply_msg);
    FUZZ_CHECK(st == MSG_OK, "the client's reply does not parse: %s", msg_strerror(st));
    unsigned rcode = hdr_rcode(&reply_msg.hdr);
    FUZZ_CHECK(hdr_flag(&reply_msg.hdr, HDR_QR) &&
                   (rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN),
               "flags %04x", reply_msg.hdr.flags);
    FUZZ_CHECK(reply_msg.qdcount == 1 &&
                   fuzz_name_same(&reply_msg.question[0].qname, &client.question.qname) &&
                   reply_msg.question[0].qtype == client.question.qtype &&
                   reply_msg.question[0].qclass == client.question.qclass,
               "the reply's question is not the client's");
    FUZZ_CHECK(reply_msg.count[MSG_ADDITIONAL] == 0, "additional records in the reply");
}

/* A snapshot of the cache: which entries were there before a reply. */
struct fuzz_entry {
    const struct cache_entry *e;
    struct name owner;
    uint16_t type;
    uint64_t expires;
};
static struct fuzz_entry before[FUZZ_CACHE_MAX];
static size_t n_before;

/*
 * Walks the cache: its count matches its list and stays within the bound,
 * and every entry is well formed (its records fill its data exactly). With
 * `zone`, every entry that was not there at the last snapshot must be owned
 * by a name inside it: what one server says is only believed of its zone.
 * Then takes a new snapshot.
 */
static void check_cache(struct cache *c, const struct name *zone, uint64_t now)
{
    FUZZ_CHECK(c->count <= c->max_entries, "%zu entries in a cache of %zu", c->count,
               c->max_entries);
    size_t n = 0;
    struct fuzz_entry after[FUZZ_CACHE_MAX];
    /* Bounded by count, checked on the way. */
    for (const struct cache_entry *e = c->lru_head; e != NULL; e = e->lru_next) {
        FUZZ_CHECK(n < c->count, "the LRU list is longer than the count %zu", c->count);
        struct name eowner;
        cache_entry_owner(e, &eowner);
        FUZZ_CHECK(fuzz_name_well_formed(&eowner), "a cached owner is malformed");
        FUZZ_CHECK(e->expires <= now + (uint64_t)CACHE_TTL_MAX * 1000,
                   "an entry expires %llu ms from now", (unsigned long long)(e->expires - now));
        if (e->kind == CACHE_POSITIVE) {
            struct buf_reader r;
            buf_reader_init(&r, e->data, e->len);
            for (uint16_t i = 0; i < e->count; i++)
                buf_skip(&r, buf_read_u16(&r));
            FUZZ_CHECK(buf_reader_ok(&r) && buf_remaining(&r) == 0 && e->count > 0,
                       "a cached RRset's data is not its %u records", e->count);
        } else {
            FUZZ_CHECK(e->type == (e->kind == CACHE_NXDOMAIN ? 0 : e->type) && e->count == 1,
                       "a negative entry of type %u, %u records", e->type, e->count);
        }
        bool old = false;
        for (size_t i = 0; i < n_before && !old; i++)
            old = before[i].e == e && before[i].type == e->type &&
                  before[i].expires == e->expires && fuzz_name_same(&before[i].owner, &eowner);
        if (zone != NULL && !old) {
            char owner[NAME_TEXT_MAX], z[NAME_TEXT_MAX];
            if (!name_is_subdomain(&eowner, zone)) {
                name_to_text(&eowner, owner, sizeof owner);
                name_to_text(zone, z, sizeof z);
                FUZZ_CHECK(false, "%s (type %u) cached from a server of %s", owner, e->type, z);
            }
        }
        after[n++] =
            (struct fuzz_entry){.e = e, .owner = eowner, .type = e->type, .expires = e->expires};
    }
    FUZZ_CHECK(n == c->count, "%zu entries on the LRU list, count %zu", n, c->count);
    memcpy(before, after, n * sizeof after[0]);
    n_before = n;
}

/* Moves the clock on and fires what is due (the start, the deadline). */
static void fuzz_tick(struct loop *l, uint64_t ms)
{
    fuzz_clock_ms += ms;
    loop_fire_timers(l);
}

/* After every event: the client has its answer, or exactly one query is in
 * flight for it (the resolution never just stops), within the bounds. */
static void check_progress(const struct resolver *r)
{
    FUZZ_CHECK(up.asked <= RESOLVE_QUERIES_MAX, "%u queries for one question", up.asked);
    FUZZ_CHECK(r->active == NULL || r->active->queries <= RESOLVE_QUERIES_MAX,
               "%u queries counted for one question", r->active->queries);
    if (client.calls == 0)
        FUZZ_CHECK(up.in_flight == 1 && r->pending == 1,
                   "no answer, and %d queries in flight (%zu resolutions)", up.in_flight,
                   r->pending);
    else
        FUZZ_CHECK(up.in_flight == 0 && r->pending == 0,
                   "answered, but %d queries in flight (%zu resolutions)", up.in_flight,
                   r->pending);
}

/*
 * The input is what the name servers do, one event after another. Each
 * event is a byte: its low 2 bits say what happens to the query in flight
 * (0 or 1: a reply, whose length follows in 2 bytes and then its bytes; 2:
 * it times out; 3: it fails), bit 2 that the next query the resolver asks is
 * refused by upstream.c (NULL), and the high nibble how far the clock moves
 * (in FUZZ_TICK_MS) before the event. The client's question is the first
 * reply's own (as upstream.c would only deliver a matching one), or
 * "www.example.com. A". After the last event the deadline passes.
 *
 * Checked: no crash, leak or undefined behaviour; the client's callback is
 * called exactly once, by the deadline, with a reply that parses and holds
 * its question, or with a failure; until then exactly one query is in flight
 * (to an address of the zone's servers, on their port, for the name being
 * resolved, RD clear), never two, each given the client question's budget
 * (upstream_budget()); at most RESOLVE_QUERIES_MAX in all, counted by the
 * harness and by the resolver; the
 * cache stays within its size, its entries well formed, and every entry a
 * reply adds is owned by a name inside the zone of the server that sent it.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_threshold = LOG_ERROR;
    memset(&up, 0, sizeof up);
    memset(&client, 0, sizeof client);
    n_before = 0;
    fuzz_clock_ms = 1000000;

    /* The client's question. */
    client.question = (struct msg_question){.qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN};
    name_from_text("www.example.com.", NULL, &client.question.qname);
    if (size >= 3) {
        struct buf_reader r;
        struct hdr h;
        struct msg_question first;
        buf_reader_init(&r, data + 3, size - 3);
        hdr_decode(&r, &h);
        if (buf_reader_ok(&r) && h.qdcount >= 1 && msg_read_question(&r, &first) == NAME_OK)
            client.question = first;
    }

    struct loop loop;
    loop_init(&loop, fuzz_clock);
    struct cache cache;
    FUZZ_CHECK(cache_init(&cache, FUZZ_CACHE_MAX) == 0, "no memory for the cache");
    struct upstream upstream; /* only passed to the fakes above */
    memset(&upstream, 0, sizeof upstream);
    struct resolver r;
    resolver_init(&r, &loop, &upstream, &hints, &cache, FUZZ_NS_PORT, FUZZ_DEADLINE_MS);
    FUZZ_CHECK(resolve_ask(&r, &client.question, fuzz_done, NULL) != NULL, "resolve_ask() failed");
    FUZZ_CHECK(client.calls == 0 && up.in_flight == 0, "resolve_ask() did something at once");
    fuzz_tick(&loop, 0); /* the start timer: the first query */
    check_progress(&r);

    size_t at = 0;
    /* Bounded: each pass consumes at least the event's byte. */
    while (at < size && client.calls == 0) {
        uint8_t ev = data[at++];
        up.refuse = (ev & 4) != 0;
        fuzz_tick(&loop, (uint64_t)(ev >> 4) * FUZZ_TICK_MS);
        check_progress(&r);
        if (client.calls != 0)
            break; /* the deadline passed */
        struct resolution *res = up.ctx;
        struct name zone = res->zone; /* the servers the query went to */
        upstream_done_fn *done = up.done;
        /* The query ends before its callback, as in upstream.c. */
        up.in_flight = 0;
        up.handle = NULL;
        switch (ev & 3) {
        case 0:
        case 1: {
            size_t len = 0;
            if (at + 2 <= size)
                len = (size_t)data[at] << 8 | data[at + 1];
            at = at + 2 <= size ? at + 2 : size;
            if (len > size - at)
                len = size - at;
            /* A copy of its own, so a read past it is caught. */
            uint8_t *reply = malloc(len ? len : 1);
            FUZZ_CHECK(reply != NULL, "no memory");
            memcpy(reply, data + at, len);
            at += len;
            done(res, UPSTREAM_REPLY, reply, len);
            free(reply);
            break;
        }
        case 2:
            /* Every try timed out: the second spent one more of the budget. */
            if (up.budget != NULL && *up.budget < up.budget_max)
                (*up.budget)++;
            done(res, UPSTREAM_TIMEOUT, NULL, 0);
            break;
        default:
            done(res, UPSTREAM_FAILED, NULL, 0);
            break;
        }
        check_cache(&cache, &zone, fuzz_clock_ms);
        check_progress(&r);
    }
    if (client.calls == 0) {
        fuzz_tick(&loop, FUZZ_DEADLINE_MS);
        FUZZ_CHECK(client.calls == 1 && client.result == UPSTREAM_FAILED,
                   "the deadline passed without a failure (%u calls)", client.calls);
    }
    check_progress(&r);
    check_cache(&cache, NULL, fuzz_clock_ms);
    /* FUZZ_RESOLVE_SHOW=1 says how each input ended: to check what a seed reaches. */
    if (getenv("FUZZ_RESOLVE_SHOW") != NULL)
        fprintf(stderr, "fuzz_resolve: %s after %u queries, %zu cached, %zu of %zu bytes read\n",
                client.result == UPSTREAM_REPLY ? "answered" : "failed", up.asked, cache.count, at,
                size);
    resolver_free(&r);
    FUZZ_CHECK(loop.n_timers == 0, "%zu timers left running", loop.n_timers);
    cache_free(&cache);
    loop_free(&loop);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[HINTS_ERROR_MAX];
    if (hints_load_text(fuzz_hints_text, "fuzz hints", &hints, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_resolve: %s\n", err);
        abort();
    }
    return 0;
}
