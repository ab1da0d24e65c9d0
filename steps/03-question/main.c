/* Step 3 — question: parse the question and echo it back under the step-2 header. */
#include "dns.h"
#include "msg.h"
#include "server.h"

/*
 * The reply now repeats the question, exactly as the client wrote it (same
 * letter case): that is how a client checks the reply is for its question.
 * msg_parse_query() does the parsing, with every guard on names, and turns any
 * malformed input into one verdict: drop it, or an RCODE. A query that cannot
 * be parsed gets FORMERR with the header only, since there is no question we
 * could trust to repeat.
 */
static size_t question_handle(void *ctx, const uint8_t *query, size_t len, uint8_t *reply,
                              size_t cap)
{
    (void)ctx;
    struct msg_query q;
    int verdict = msg_parse_query(query, len, &q);
    if (verdict == MSG_DROP)
        return SERVER_NO_REPLY;
    /* RFC 9619: a query has exactly one question. */
    if (verdict == DNS_RCODE_NOERROR && q.qdcount != 1)
        verdict = DNS_RCODE_FORMERR;
    if (verdict != DNS_RCODE_NOERROR) {
        size_t n = msg_write_header_reply(&q.hdr, (unsigned)verdict, reply, cap);
        return n > 0 ? n : SERVER_NO_REPLY;
    }

    struct buf_writer w;
    struct hdr h = hdr_reply_to(&q.hdr, DNS_RCODE_NOERROR);
    h.qdcount = 1;
    buf_writer_init(&w, reply, cap);
    hdr_encode(&w, &h);
    msg_write_question(&w, &q.question[0]); /* plain: compression is step 5 */
    return buf_writer_ok(&w) ? w.pos : SERVER_NO_REPLY;
}

int main(int argc, char **argv)
{
    static const struct server_step step = {
        .program = "step-3",
        .summary = "Stage 3: replies with the header and the question echoed as it was sent.",
        .handle = question_handle,
    };
    return server_main(&step, argc, argv);
}
