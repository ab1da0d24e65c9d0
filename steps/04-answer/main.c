/* Step 4 — answer: an authoritative server that answers from zone files. */
#include "auth.h"
#include "server.h"

/*
 * Three pieces, each in common/ because step 5 (and step 7's sandbox
 * internet) use them too:
 *   zone.c    reads RFC 1035 master files into a hash of names (zone_load_file);
 *   lookup.c  decides the answer: RFC 1034 4.3.2, as NSD does (lookup_answer);
 *   resp.c    writes it into at most 512 bytes, whole RRsets, TC when an
 *             answer does not fit (resp_write).
 * This step answers one question per query and writes names uncompressed.
 */
static struct auth_server answer_server;

static size_t answer_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply, size_t cap)
{
    return auth_answer(ctx, query, len, reply, cap, 1, false);
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-4",
        .summary = "Stage 4: an authoritative server answering from zone files.",
        .handle = answer_handle,
        .ctx = &answer_server,
        .extras = &auth_zone_option,
        .n_extras = 1,
        .setup = auth_setup,
    };
    int status = server_main(&step, argc, argv);
    zone_set_free(&answer_server.zones);
    return status;
}
