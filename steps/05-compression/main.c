/* Step 5 — compression: the step-4 server, now writing compressed names and several questions. */
#include "auth.h"
#include "server.h"

/*
 * Reading compressed names was safe from step 3 on (name_read's guards).
 * What changes here:
 *   compress.c  a compression table: where each name suffix already is in
 *               the message, so a repeat costs a 2-byte pointer;
 *   resp.c      every owner name, and the names inside RDATA that the
 *               record-type table marks compressible, go through it;
 *   auth.c      a query may carry up to MSG_QUESTIONS_MAX questions (the
 *               second name is usually a pointer into the first), each
 *               answered into the same sections.
 */
static struct auth_server server;

static size_t answer_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply, size_t cap)
{
    return auth_answer(ctx, query, len, reply, cap);
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-5",
        .summary = "Stage 5: the authoritative server with message compression.",
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
