/* Step 7 — recursion: every question not in a local zone resolved from the root, by ourselves. */
#include "forward.h"
#include "loop.h"
#include "server.h"

/*
 * What changes here:
 *   hints.c     the root hints file: the root servers' names and addresses,
 *               where every resolution starts;
 *   resolve.c   the iterative resolver: one state machine per question,
 *               from the root down referral by referral, with glue,
 *               glueless delegations, CNAMEs and limits;
 *   upstream.c  a truncated reply from a name server is asked again over TCP;
 *   forward.c   hands each question to resolve.c instead of a resolver
 *               elsewhere; its options change (--root-hints, --ns-port,
 *               --ns-timeout, --deadline).
 */
static struct forward resolver;

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-7",
        .summary = "Stage 7: a recursive resolver: local zones first, everything else resolved "
                   "from the root servers of --root-hints.",
        .handle = forward_handle,
        .ctx = &resolver,
        .extras = forward_options,
        .n_extras = FORWARD_OPTIONS,
        .setup = forward_setup,
        .report = forward_report,
    };
    forward_init(&resolver);
    int status = server_main(&step, argc, argv);
    forward_free(&resolver); /* before the loop its sockets are watched by */
    loop_free(server_loop());
    return status;
}
