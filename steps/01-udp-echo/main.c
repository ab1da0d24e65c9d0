/* Step 1 — UDP echo: send every datagram back, byte for byte, to whoever sent it. */
#include <string.h>

#include "server.h"

/*
 * No DNS yet: this step is about the transport. A UDP server receives whole
 * datagrams (never half of one, never two glued together) and answers each
 * with sendto() to the address recvfrom() reported. server_main() does the
 * socket work; the step's whole job is this function.
 */
static size_t echo_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply, size_t cap)
{
    (void)ctx;
    /* The reply buffer holds any datagram (DNS_RECV_BUFFER), so this never
     * fails; a 0-byte datagram gets a 0-byte reply. */
    if (len > cap)
        return SERVER_NO_REPLY;
    memcpy(reply, query, len);
    return len;
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-1",
        .summary = "Stage 1: a UDP echo server. Replies to every datagram with the same bytes.",
        .handle = echo_handle,
    };
    return server_main(&step, argc, argv);
}
