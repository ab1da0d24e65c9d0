/* Step 9 — EDNS(0) and TCP: the resolver a person can really use. */
#include "forward.h"
#include "loop.h"
#include "server.h"

/*
 * What changes here:
 *   edns.c      the OPT pseudo-record (RFC 6891): read from a query, written
 *               into a reply with our payload size, BADVERS, extended RCODEs;
 *   loop.c      the loop learns to wait for a socket to become writable;
 *   tcp.c       TCP connections: length-prefixed messages in and out,
 *               pipelined, idle ones closed, at most --tcp-max of them;
 *   server.c    listens on TCP beside UDP, in the same loop;
 *   upstream.c  queries to name servers carry an OPT; a server that does
 *               not understand it is asked again without, and remembered;
 *   forward.c   each reply as large as its client takes: 512 bytes, the
 *               client's EDNS size (up to ours), or 65535 over TCP;
 *               without --root-hints, an authoritative server only.
 */
static struct forward resolver;

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-9",
        .summary = "Stage 9: a caching recursive resolver with EDNS(0) and TCP: local zones, then "
                   "the cache, then resolution from the root servers of --root-hints.",
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
