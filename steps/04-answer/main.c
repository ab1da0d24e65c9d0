/* Step 4 — answer: an authoritative server that answers from zone files. */
#include "auth.h"
#include "server.h"

/*
 * The stage's code is in this directory, one concept per file:
 *   zone.c      zones in memory: a hash of names, their RRsets (zone_add);
 *   zonefile.c  reads RFC 1035 master files into zones (zonefile_load_files);
 *   lookup.c    decides the answer: RFC 1034 4.3.2, as NSD does (lookup_answer);
 *   resp.c      writes it into at most 512 bytes, whole RRsets, TC when an
 *               answer does not fit (resp_write);
 *   auth.c      the --zone option, and a query in, a reply out (auth_answer).
 * This step answers one question per query and writes names uncompressed.
 */
static struct auth_server server;

static size_t answer_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply, size_t cap)
{
    return auth_answer(ctx, query, len, reply, cap);
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-4",
        .summary = "Stage 4: an authoritative server answering from zone files.",
        .handle = answer_handle,
        .ctx = &server,
        .extras = &auth_zone_option,
        .n_extras = 1,
        .setup = auth_setup,
    };
    int status = server_main(&step, argc, argv);
    zone_set_free(&server.zones);
    return status;
}
