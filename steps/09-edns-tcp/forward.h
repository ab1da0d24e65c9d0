/* forward: local zones first, then the cache, then our own resolver (resolve.c); EDNS and TCP. */
#ifndef DNS_FORWARD_H
#define DNS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "cli.h"
#include "net.h"
#include "relay.h"
#include "server.h"
#include "hints.h"
#include "resolve.h"
#include "upstream.h"

enum {
    /* --zone, --root-hints, --ns-port, --ns-timeout, --deadline, --cache-size */
    FORWARD_OPTIONS = 6,
    /* Questions being resolved at once, at most: beyond it, SERVFAIL at once.
     * Each holds about 20 KiB while it runs (resolve.c): 80 MiB at most. */
    FORWARD_PENDING_MAX = 4096,
};

struct forward_stats {
    uint64_t queries;   /* datagrams handed to forward_handle() */
    uint64_t local;     /* answered from the local zones alone (or REFUSED: RD=0) */
    uint64_t forwarded; /* client queries with at least one question to resolve */
    uint64_t servfail;  /* replies that are SERVFAIL because a question got no answer */
    uint64_t cached;    /* answered at once, every question local or from the cache */
};

struct forward_job; /* one client query waiting for its questions' resolutions (forward.c) */

struct forward {
    struct auth_server auth; /* the local zones, answered as step 5 does */
    const char *hints_file;  /* --root-hints, or NULL: authoritative only */
    struct hints hints;
    uint16_t ns_port;
    unsigned ns_timeout_ms, deadline_ms;
    struct upstream up;
    struct resolver resolver;
    size_t cache_size; /* --cache-size */
    struct cache cache;
    bool cache_ready;         /* cache_init() done */
    struct loop_timer sweep;  /* drops expired cache entries now and then */
    bool up_ready;            /* upstream_init() done */
    struct forward_job *jobs; /* waiting, newest first */
    size_t waiting;           /* how many */
    struct forward_stats stats;
    struct msg_query query; /* scratch for the datagram being handled */
    struct relay relay;     /* scratch for writing a relayed reply */
};

/* The step's options; ctx is a struct forward. */
extern const struct cli_extra forward_options[FORWARD_OPTIONS];

/* Sets the defaults: call before the command line is parsed. */
void forward_init(struct forward *fw);

/*
 * A server_step setup(): loads the zone files given and the root hints (a
 * bad one: "file:line: what is wrong", returns 1) and starts the resolver
 * on the server's loop. Without --root-hints the server is authoritative
 * only, as step 5 with EDNS and TCP (the sandbox internet's name servers
 * run so): it needs a --zone then (returns 2 if there is none).
 */
int forward_setup(void *ctx);

/*
 * A server_handler_fn. Answers at once what it can: a malformed query, a
 * query whose every question is in a local zone, a query with RD=0 (local
 * answer or REFUSED). Otherwise resolves each question that is not local,
 * keeps the request, and answers once every question has its answer
 * (relay.h) — or SERVFAIL for those that got none. Every reply is as large
 * as its client takes (512 bytes, its EDNS payload size up to ours, or
 * 65535 over TCP) and carries our OPT when the query had one (edns.h).
 */
size_t forward_handle(void *ctx, const struct server_request *req, const uint8_t *query, size_t len,
                      uint8_t *reply, size_t cap);

/* A server_step report(): logs the counters, after `when` ("SIGUSR1"). */
void forward_report(void *ctx, const char *when);

/* Drops every request still waiting and frees everything. */
void forward_free(struct forward *fw);

#endif
