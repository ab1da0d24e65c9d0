/* forward: the forwarder — local zones first, every other question asked of a resolver. */
#include "forward.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "log.h"
#include "msg.h"
#include "zone.h"

/* One question of a waiting query, and its answer once it comes. */
struct forward_part {
    struct forward_job *job;
    struct upstream_query *asked; /* in flight upstream, or NULL */
    uint8_t *reply;               /* the answer (malloc'd), or NULL: none, SERVFAIL */
    size_t len;
    bool local;
};

/*
 * A client query waiting for the answers to its questions. Its life:
 *
 *   datagram -> forward_handle: parse, ask upstream -> SERVER_DEFERRED
 *                 ... the loop goes on with other clients ...
 *   reply or timeout -> forward_on_answer: one part done
 *                 ... until every part is done ...
 *   forward_finish: relay_write() -> server_reply() -> freed
 */
struct forward_job {
    struct forward *fw;
    struct server_request *req;
    struct forward_job *prev, *next; /* in fw->jobs */
    unsigned waiting;                /* parts not answered yet */
    struct msg_query query;          /* the client's query, parsed */
    struct forward_part part[MSG_QUESTIONS_MAX];
};

/* Options ------------------------------------------------------------------ */

enum {
    FORWARD_RESOLVER_PORT = 53, /* when --resolver gives no port */
};

static const char *forward_opt_zone(void *ctx, const char *value)
{
    struct auth_server *auth = &((struct forward *)ctx)->auth;
    if (auth->zone_file_count >= AUTH_ZONES_MAX)
        return "too many zones (at most 64)";
    auth->zone_files[auth->zone_file_count++] = value;
    return NULL;
}

static const char *forward_opt_resolver(void *ctx, const char *value)
{
    struct forward *fw = ctx;
    /* A numeric address only: a name would need a resolver to find the resolver. */
    if (net_addr_parse_hostport(value, FORWARD_RESOLVER_PORT, &fw->resolver) != 0)
        return "not an IP:PORT address (e.g. 127.0.0.1:53 or [::1]:53)";
    char text[NET_ADDR_TEXT_MAX];
    const char *port = strrchr(net_addr_text(&fw->resolver, text, sizeof text), ':');
    if (port != NULL && strcmp(port, ":0") == 0)
        return "port 0 is not a port one can send to";
    fw->have_resolver = true;
    return NULL;
}

static const char *forward_opt_timeout(void *ctx, const char *value)
{
    unsigned long n;
    const char *why = cli_number(value, UPSTREAM_TIMEOUT_MIN_MS, UPSTREAM_TIMEOUT_MAX_MS, &n);
    if (why == NULL)
        ((struct forward *)ctx)->timeout_ms = (unsigned)n;
    return why;
}

static const char *forward_opt_tries(void *ctx, const char *value)
{
    unsigned long n;
    const char *why = cli_number(value, 1, UPSTREAM_TRIES_MAX, &n);
    if (why == NULL)
        ((struct forward *)ctx)->tries = (unsigned)n;
    return why;
}

static const char *forward_opt_pending(void *ctx, const char *value)
{
    unsigned long n;
    const char *why = cli_number(value, 1, UPSTREAM_PENDING_MAX, &n);
    if (why == NULL)
        ((struct forward *)ctx)->max_pending = n;
    return why;
}

const struct cli_extra forward_options[FORWARD_OPTIONS] = {
    {"zone", "FILE", "answer for the zone in this master file (repeatable; optional)",
     forward_opt_zone},
    {"resolver", "IP:PORT", "the upstream resolver to forward to (required)", forward_opt_resolver},
    {"upstream-timeout", "MS", "how long one try waits for the resolver (default 2000)",
     forward_opt_timeout},
    {"upstream-tries", "N", "tries per question before SERVFAIL (default 2)", forward_opt_tries},
    {"max-pending", "N", "questions in flight upstream at most (default 4096)",
     forward_opt_pending},
};

void forward_init(struct forward *fw)
{
    memset(fw, 0, sizeof *fw);
    fw->timeout_ms = UPSTREAM_TIMEOUT_DEFAULT_MS;
    fw->tries = UPSTREAM_TRIES_DEFAULT;
    fw->max_pending = UPSTREAM_PENDING_DEFAULT;
}

int forward_setup(void *ctx)
{
    struct forward *fw = ctx;
    if (!fw->have_resolver) {
        fprintf(stderr, "%s: no resolver to forward to: give --resolver IP:PORT\n", log_program());
        return 2;
    }
    if (fw->auth.zone_file_count > 0) {
        int status = auth_setup(&fw->auth);
        if (status != 0)
            return status;
    }
    if (upstream_init(&fw->up, server_loop(), fw->timeout_ms, fw->tries, fw->max_pending) != 0) {
        log_error("cannot start the upstream client: %s", strerror(errno));
        return 1;
    }
    fw->up_ready = true;
    char text[NET_ADDR_TEXT_MAX];
    log_info("forwarding to %s (timeout %u ms, %u tries, at most %zu pending)",
             net_addr_text(&fw->resolver, text, sizeof text), fw->timeout_ms, fw->tries,
             fw->max_pending);
    return 0;
}

/* Answering ------------------------------------------------------------------ */

/* Sets RA in the header of a reply already written: this server recurses. */
static void forward_set_ra(uint8_t *reply, size_t len)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, reply, len);
    hdr_decode(&r, &h);
    if (!buf_reader_ok(&r))
        return;
    hdr_set_flag(&h, HDR_RA, true);
    struct buf_writer w;
    buf_writer_init(&w, reply, DNS_HEADER_SIZE);
    hdr_encode(&w, &h);
}

/* Whether question `q` is for a name inside one of our zones. */
static bool forward_is_local(const struct forward *fw, const struct msg_question *q)
{
    return zone_set_find(&fw->auth.zones, &q->qname) != NULL;
}

/* The local answer to question `i` of `query` alone, as a reply of its own
 * (what relay_write() merges): a query with that one question is made and
 * answered as step 5 would. Returns its length, 0 if it could not be made. */
static size_t forward_local_part(struct forward *fw, const struct msg_query *query, unsigned i,
                                 uint8_t *out, size_t cap)
{
    uint8_t one[DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED];
    struct buf_writer w;
    buf_writer_init(&w, one, sizeof one);
    struct hdr h = query->hdr;
    h.qdcount = 1;
    h.ancount = h.nscount = h.arcount = 0;
    hdr_encode(&w, &h);
    msg_write_question(&w, &query->question[i]);
    if (!buf_writer_ok(&w))
        return 0;
    size_t n = auth_answer(&fw->auth, one, w.pos, out, cap);
    return n == SERVER_NO_REPLY ? 0 : n;
}

/* Writes the client's reply from the parts of `job` (relay.h). */
static size_t forward_write(struct forward *fw, const struct forward_job *job, uint8_t *out,
                            size_t max)
{
    struct relay_part parts[MSG_QUESTIONS_MAX];
    bool failed = false;
    for (unsigned i = 0; i < job->query.qdcount; i++) {
        const struct forward_part *p = &job->part[i];
        parts[i] = (struct relay_part){.reply = p->reply, .len = p->len, .local = p->local};
        failed = failed || p->reply == NULL;
    }
    if (failed)
        fw->stats.servfail++;
    return relay_write(&fw->relay, &job->query, parts, out, max);
}

/* Frees a job that is no longer in fw->jobs, and its answers. */
static void forward_job_free(struct forward_job *job)
{
    for (unsigned i = 0; i < job->query.qdcount; i++)
        free(job->part[i].reply);
    free(job);
}

/* Every part has its answer: sends the client's reply, frees the job. */
static void forward_finish(struct forward_job *job)
{
    struct forward *fw = job->fw;
    static uint8_t out[DNS_UDP_MAX]; /* no EDNS yet: 512 bytes is the most a client takes */
    server_reply(job->req, out, forward_write(fw, job, out, sizeof out));
    if (job->prev != NULL)
        job->prev->next = job->next;
    else
        fw->jobs = job->next;
    if (job->next != NULL)
        job->next->prev = job->prev;
    fw->waiting--;
    forward_job_free(job);
}

/* An upstream_done_fn: one part has its answer, or has none. */
static void forward_on_answer(void *ctx, enum upstream_result result, const uint8_t *reply,
                              size_t len)
{
    struct forward_part *part = ctx;
    part->asked = NULL; /* upstream.c frees it after this call */
    if (result == UPSTREAM_REPLY) {
        part->reply = malloc(len);
        if (part->reply != NULL) {
            memcpy(part->reply, reply, len);
            part->len = len;
        }
    }
    if (--part->job->waiting == 0)
        forward_finish(part->job);
}

/* Answers `query` at once with a header and `rcode` (and RA). */
static size_t forward_header_reply(const struct hdr *query, unsigned rcode, uint8_t *reply,
                                   size_t cap)
{
    size_t n = msg_write_header_reply(query, rcode, reply, cap);
    if (n == 0)
        return SERVER_NO_REPLY;
    forward_set_ra(reply, n);
    return n;
}

/* Starts a job for the parsed query in fw->query. Returns SERVER_DEFERRED,
 * or the length of a reply written at once (nothing had to wait). */
static size_t forward_start(struct forward *fw, const struct server_request *req, uint8_t *reply,
                            size_t cap)
{
    struct forward_job *job = calloc(1, sizeof *job);
    if (job == NULL)
        return forward_header_reply(&fw->query.hdr, DNS_RCODE_SERVFAIL, reply, cap);
    job->fw = fw;
    job->query = fw->query;
    fw->stats.forwarded++;
    for (unsigned i = 0; i < job->query.qdcount; i++) {
        struct forward_part *part = &job->part[i];
        part->job = job;
        if (forward_is_local(fw, &job->query.question[i])) {
            size_t n = forward_local_part(fw, &job->query, i, reply, cap);
            part->local = true;
            part->reply = n > 0 ? malloc(n) : NULL;
            if (part->reply != NULL) {
                memcpy(part->reply, reply, n);
                part->len = n;
            }
            continue;
        }
        /* NULL when --max-pending questions are in flight already: this
         * part has no answer, and the reply will say SERVFAIL at once. */
        part->asked = upstream_ask(&fw->up, &fw->resolver, &job->query.question[i], true,
                                   forward_on_answer, part);
        if (part->asked != NULL)
            job->waiting++;
    }
    if (job->waiting > 0)
        job->req = server_defer(req);
    if (job->waiting > 0 && job->req == NULL) { /* out of memory: give up on it now */
        for (unsigned i = 0; i < job->query.qdcount; i++) {
            if (job->part[i].asked != NULL)
                upstream_cancel(&fw->up, job->part[i].asked);
            job->part[i].asked = NULL;
        }
        job->waiting = 0;
    }
    if (job->waiting == 0) { /* nothing to wait for: the reply goes now */
        size_t n = forward_write(fw, job, reply, cap < DNS_UDP_MAX ? cap : DNS_UDP_MAX);
        forward_job_free(job);
        return n > 0 ? n : SERVER_NO_REPLY;
    }
    job->next = fw->jobs;
    if (fw->jobs != NULL)
        fw->jobs->prev = job;
    fw->jobs = job;
    fw->waiting++;
    return SERVER_DEFERRED;
}

size_t forward_handle(void *ctx, const struct server_request *req, const uint8_t *query, size_t len,
                      uint8_t *reply, size_t cap)
{
    struct forward *fw = ctx;
    fw->stats.queries++;
    struct msg_query *q = &fw->query;
    int verdict = msg_parse_query(query, len, q);
    if (verdict == MSG_DROP)
        return SERVER_NO_REPLY;
    if (verdict != DNS_RCODE_NOERROR)
        return forward_header_reply(&q->hdr, (unsigned)verdict, reply, cap);

    bool all_local = true;
    for (unsigned i = 0; i < q->qdcount && all_local; i++)
        all_local = forward_is_local(fw, &q->question[i]);
    /* RD=0: the client asks for what we know ourselves, nothing more (RFC
     * 1035 4.1.1); a name outside our zones then gets REFUSED, as in step 5. */
    if (all_local || !hdr_flag(&q->hdr, HDR_RD)) {
        fw->stats.local++;
        size_t n = auth_answer(&fw->auth, query, len, reply, cap);
        if (n != SERVER_NO_REPLY)
            forward_set_ra(reply, n);
        return n;
    }
    return forward_start(fw, req, reply, cap);
}

void forward_report(void *ctx, const char *when)
{
    struct forward *fw = ctx;
    const struct upstream_stats *u = &fw->up.stats;
    log_info("%s: queries %llu, answered locally %llu, forwarded %llu, upstream timeouts "
             "%llu, forged replies ignored %llu, SERVFAIL %llu, waiting %zu, upstream pending %zu",
             when, (unsigned long long)fw->stats.queries, (unsigned long long)fw->stats.local,
             (unsigned long long)fw->stats.forwarded, (unsigned long long)u->timeouts,
             (unsigned long long)u->forged, (unsigned long long)fw->stats.servfail, fw->waiting,
             fw->up.pending);
}

void forward_free(struct forward *fw)
{
    /* Bounded: each pass frees the first job of the list. */
    while (fw->jobs != NULL) {
        struct forward_job *job = fw->jobs;
        fw->jobs = job->next;
        for (unsigned i = 0; i < job->query.qdcount; i++) {
            if (job->part[i].asked != NULL)
                upstream_cancel(&fw->up, job->part[i].asked);
        }
        server_drop(job->req);
        forward_job_free(job);
    }
    fw->waiting = 0;
    if (fw->up_ready)
        upstream_free(&fw->up);
    fw->up_ready = false;
    zone_set_free(&fw->auth.zones);
}
