/* fuzz_relay: an upstream's reply, whatever it holds, relayed to a client: a valid message, in
 * bounds. */
#include "fuzz.h"
#include "relay.h"

/* Large: the parsed parts, reused for every input. */
static struct relay rl;
static struct msg out_msg;

/*
 * The input is the upstream's reply to one question. The client's query is
 * made from the reply's own first question when it has one (so the relay
 * sees a matching reply, as upstream.c would hand it over), else it asks
 * "example.com. A". Relayed into 512 bytes and into 64 KiB, the client's
 * reply must parse whole, carry the client's ID and question, and fit.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct msg_query q;
    memset(&q, 0, sizeof q);
    q.hdr.id = 0x4242;
    q.hdr.flags = HDR_RD;
    q.qdcount = 1;
    q.question[0].qtype = DNS_TYPE_A;
    q.question[0].qclass = DNS_CLASS_IN;
    name_from_text("example.com.", NULL, &q.question[0].qname);
    struct buf_reader r;
    buf_reader_init(&r, data, size);
    struct hdr h;
    hdr_decode(&r, &h);
    struct msg_question first;
    if (buf_reader_ok(&r) && h.qdcount >= 1 && msg_read_question(&r, &first) == NAME_OK)
        q.question[0] = first;

    static uint8_t out[DNS_MESSAGE_MAX];
    const size_t limits[] = {DNS_UDP_MAX, sizeof out};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct relay_part part = {.reply = data, .len = size, .local = (size & 1) != 0};
        size_t n = relay_write(&rl, &q, &part, out, limits[i]);
        FUZZ_CHECK(n >= DNS_HEADER_SIZE && n <= limits[i], "reply of %zu bytes, limit %zu", n,
                   limits[i]);
        enum msg_status st = msg_parse(out, n, &out_msg);
        FUZZ_CHECK(st == MSG_OK, "the relayed reply does not parse: %s", msg_strerror(st));
        FUZZ_CHECK(out_msg.hdr.id == 0x4242, "the reply's ID is %u", out_msg.hdr.id);
        FUZZ_CHECK(hdr_flag(&out_msg.hdr, HDR_QR) && hdr_flag(&out_msg.hdr, HDR_RA),
                   "QR or RA missing: flags %04x", out_msg.hdr.flags);
        if (out_msg.qdcount == 1)
            FUZZ_CHECK(name_equal(&out_msg.question[0].qname, &q.question[0].qname),
                       "the question was not the client's");
        else
            FUZZ_CHECK(out_msg.qdcount == 0 && hdr_flag(&out_msg.hdr, HDR_TC),
                       "%u questions without TC", out_msg.qdcount);
    }
    return 0;
}
