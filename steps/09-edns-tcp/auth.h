/* auth: the authoritative server — the --zone option, loading zones, answering a query. */
#ifndef DNS_AUTH_H
#define DNS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lookup.h"
#include "cli.h"
#include "zone.h"

enum {
    AUTH_ZONES_MAX = 64, /* --zone options one server takes */
};

struct auth_server {
    const char *zone_files[AUTH_ZONES_MAX];
    size_t zone_file_count;
    struct zone_set zones;
    struct lookup_result result; /* reused for every reply: it is large */
};

/* The --zone FILE option (repeatable); ctx is a struct auth_server. */
extern const struct cli_extra auth_zone_option;

/*
 * A server_step setup(): loads every zone file given. A bad file stops the
 * program: prints "file:line: what is wrong" on stderr and returns 1. No
 * --zone at all: prints why and returns 2.
 */
int auth_setup(void *ctx);

/*
 * Answers the query at `query`: parses it, looks each of its questions up
 * (at most MSG_QUESTIONS_MAX), and writes the reply into `reply`, compressed,
 * in at most `cap` bytes: the caller's limit, which from step 9 on is not
 * always 512 (the client's EDNS payload size, or 65535 over TCP); what does
 * not fit is cut and TC set (resp.h). Returns the reply's length or
 * SERVER_NO_REPLY.
 */
size_t auth_answer(struct auth_server *srv, const uint8_t *query, size_t len, uint8_t *reply,
                   size_t cap);

#endif
