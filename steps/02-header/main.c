/* Step 2 — header: answer every query with a 12-byte header that says "I heard you". */
#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "server.h"

/*
 * The first DNS rules: a reply carries the query's ID (the client matches
 * replies to queries by it), QR=1 (this is a response), the OPCODE and the RD
 * bit copied back, and an RCODE: NOERROR for a standard query, NOTIMP for any
 * other opcode. Nothing else yet: all four counts are 0.
 */
static size_t header_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply, size_t cap)
{
    (void)ctx;
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, query, len);
    hdr_decode(&r, &h);

    /* Under 12 bytes there is not even an ID to answer to. */
    if (!buf_reader_ok(&r))
        return SERVER_NO_REPLY;
    /* Never answer a response: two servers could bounce packets forever. */
    if (hdr_flag(&h, HDR_QR))
        return SERVER_NO_REPLY;

    unsigned rcode = hdr_opcode(&h) == DNS_OPCODE_QUERY ? DNS_RCODE_NOERROR : DNS_RCODE_NOTIMP;
    size_t n = msg_write_header_reply(&h, rcode, reply, cap);
    return n > 0 ? n : SERVER_NO_REPLY;
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-2",
        .summary = "Stage 2: replies to each query with a header (ID, QR, OPCODE, RD, RCODE).",
        .handle = header_handle,
    };
    return server_main(&step, argc, argv);
}
