/* Step 5 — compression: the step-4 server, now reading and writing compressed names. */
#include "auth.h"
#include "msg.h"
#include "server.h"

/*
 * Reading compressed names was safe from step 3 on (name_read's guards).
 * What changes here:
 *  - a query may carry up to MSG_QUESTIONS_MAX questions, and the second
 *    name is usually a pointer into the first; each is answered into the
 *    same sections (an online DNS challenge does this; real servers
 *    usually refuse QDCOUNT > 1);
 *  - every owner name, and the names inside NS, CNAME, PTR, MX and SOA RDATA,
 *    go through a compression table (name_write with a struct name_ctable),
 *    so a repeated suffix costs 2 bytes instead of its labels.
 */
static struct auth_server compression_server;

static size_t compression_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply,
                                 size_t cap)
{
    return auth_answer(ctx, query, len, reply, cap, MSG_QUESTIONS_MAX, true);
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-5",
        .summary = "Stage 5: the authoritative server with message compression.",
        .handle = compression_handle,
        .ctx = &compression_server,
        .extras = &auth_zone_option,
        .n_extras = 1,
        .setup = auth_setup,
    };
    int status = server_main(&step, argc, argv);
    zone_set_free(&compression_server.zones);
    return status;
}
