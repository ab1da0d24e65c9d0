/* auth: the authoritative server — the --zone option, loading zones, answering a query. */
#include "auth.h"

#include <stdio.h>

#include "dns.h"
#include "log.h"
#include "msg.h"
#include "resp.h"
#include "server.h"
#include "zonefile.h"

static const char *auth_add_zone(void *ctx, const char *value)
{
    struct auth_server *srv = ctx;
    if (srv->zone_file_count >= AUTH_ZONES_MAX)
        return "too many zones (at most 64)";
    srv->zone_files[srv->zone_file_count++] = value;
    return NULL;
}

const struct cli_extra auth_zone_option = {
    .name = "zone",
    .arg = "FILE",
    .help = "serve the zone in this master file (repeatable; at least one)",
    .apply = auth_add_zone,
};

int auth_setup(void *ctx)
{
    struct auth_server *srv = ctx;
    char err[ZONEFILE_ERROR_MAX + 64];
    if (srv->zone_file_count == 0) {
        fprintf(stderr, "%s: no zone to serve: give at least one --zone FILE\n", log_program());
        return 2;
    }
    size_t count = srv->zone_file_count;
    if (zonefile_load_files(&srv->zones, srv->zone_files, count, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    return 0;
}

size_t auth_answer(struct auth_server *srv, const uint8_t *query, size_t len, uint8_t *reply,
                   size_t cap)
{
    struct msg_query q;
    int verdict = msg_parse_query(query, len, &q);
    if (verdict == MSG_DROP)
        return SERVER_NO_REPLY;
    if (verdict != DNS_RCODE_NOERROR) {
        size_t n = msg_write_header_reply(&q.hdr, (unsigned)verdict, reply, cap);
        return n > 0 ? n : SERVER_NO_REPLY;
    }
    struct lookup_result *res = &srv->result;
    lookup_init(res);
    /* Every question is answered into the same sections. The reply has one
     * RCODE for all of them: the first one that is not NOERROR. */
    for (unsigned i = 0; i < q.qdcount; i++)
        lookup_answer(&srv->zones, &q.question[i], res);
    size_t n = resp_write(reply, cap, &q.hdr, q.question, q.qdcount, res);
    return n > 0 ? n : SERVER_NO_REPLY;
}
