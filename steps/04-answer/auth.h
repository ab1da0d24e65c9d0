/* auth: what the authoritative steps share — the --zone option, loading zones, the answer. */
#ifndef DNS_AUTH_H
#define DNS_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lookup.h"
#include "opt.h"
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
extern const struct opt_extra auth_zone_option;

/*
 * A server_step setup(): loads every zone file given. A bad file stops the
 * program: prints "file:line: what is wrong" on stderr and returns 1. No
 * --zone at all: prints why and returns 2.
 */
int auth_setup(void *ctx);

/*
 * Answers the query at `query`: parses it accepting up to `max_questions`
 * questions, looks each up, and writes the reply (at most DNS_UDP_MAX bytes,
 * compressed if `compress`). Returns the reply's length or SERVER_NO_REPLY.
 */
size_t auth_answer(struct auth_server *srv, const uint8_t *query, size_t len, uint8_t *reply,
                   size_t cap, unsigned max_questions, bool compress);

#endif
