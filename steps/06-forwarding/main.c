/* Step 6 — forwarding: local zones first, everything else asked of an upstream resolver. */
#include "forward.h"
#include "loop.h"
#include "server.h"

/*
 * What changes here:
 *   server.c    the receive loop becomes an event loop (loop.c): one thread
 *               waiting in poll() on the client socket, the upstream
 *               sockets, a self-pipe for signals, and timers. A handler may
 *               now keep a request and answer it later (server_defer);
 *   upstream.c  a question asked of another server: a random ID from a
 *               fresh random port, checked replies, timeout and retry;
 *   relay.c     the upstream's answers rewritten into the client's reply;
 *   forward.c   what is local is answered as in step 5, the rest forwarded.
 */
static struct forward forwarder;

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-6",
        .summary = "Stage 6: a forwarder: local zones first, every other question asked of "
                   "--resolver.",
        .handle = forward_handle,
        .ctx = &forwarder,
        .extras = forward_options,
        .n_extras = FORWARD_OPTIONS,
        .setup = forward_setup,
        .report = forward_report,
    };
    forward_init(&forwarder);
    int status = server_main(&step, argc, argv);
    forward_free(&forwarder); /* before the loop its sockets are watched by */
    loop_free(server_loop());
    return status;
}
