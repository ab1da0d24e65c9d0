/* fuzz_answer: step 5's answer path, auth_answer() over the example zones, and its reply. */
#include "auth.h"
#include "fuzz.h"
#include "server.h"

/* The Makefile passes the absolute path of the repository's zones/, so the
 * target runs from any directory and always serves the zones `make step-5`
 * serves. */
#ifndef FUZZ_ZONE_DIR
#define FUZZ_ZONE_DIR "zones"
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct auth_server server; /* loaded once: the zones never change */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char *const files[] = {FUZZ_ZONE_DIR "/example.com.zone",
                                        FUZZ_ZONE_DIR "/2.0.192.in-addr.arpa.zone"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char err[ZONE_ERROR_MAX + 64];
        if (zone_load_file(&server.zones, files[i], NULL, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_answer: cannot load the zone the target answers from: %s\n", err);
            exit(1);
        }
    }
    return 0;
}

/* True if the header and the questions of `q` fit in a UDP reply. */
static bool questions_fit(const struct msg_query *q, bool compress)
{
    static struct name_ctable table;
    uint8_t out[DNS_UDP_MAX];
    struct buf_writer w;
    buf_writer_init(&w, out, sizeof out);
    name_ctable_init(&table);
    hdr_encode(&w, &q->hdr);
    for (unsigned i = 0; i < q->qdcount; i++)
        msg_write_question(&w, &q->question[i], compress ? &table : NULL);
    return buf_writer_ok(&w);
}

/* Checks one reply against the query it answers. */
static void check(const uint8_t *data, size_t size, unsigned max, bool compress,
                  const uint8_t *reply, size_t n)
{
    static struct msg_query q;
    int verdict = msg_parse_query(data, size, max, &q);
    if (n == SERVER_NO_REPLY) {
        /* Only a datagram to drop, or (resp.h) a query whose questions alone
         * do not fit in 512 bytes: possible with several long questions in a
         * query that was itself over 512 bytes. */
        FUZZ_CHECK(verdict == MSG_DROP ||
                       (verdict == DNS_RCODE_NOERROR && !questions_fit(&q, compress)),
                   "max %u: no reply, but the query's verdict is %d", max, verdict);
        return;
    }
    FUZZ_CHECK(verdict != MSG_DROP, "max %u: a reply of %zu bytes to a datagram to drop", max, n);
    FUZZ_CHECK(n >= DNS_HEADER_SIZE && n <= DNS_UDP_MAX,
               "max %u compress %d: reply of %zu bytes (12..512 allowed)", max, compress, n);

    struct hdr h = fuzz_check_reply(reply, n);
    FUZZ_CHECK(hdr_flag(&h, HDR_QR), "max %u: QR=0 in the reply", max);
    FUZZ_CHECK(h.id == q.hdr.id, "max %u: reply ID %u, query ID %u", max, h.id, q.hdr.id);
    FUZZ_CHECK(hdr_opcode(&h) == hdr_opcode(&q.hdr) &&
                   hdr_flag(&h, HDR_RD) == hdr_flag(&q.hdr, HDR_RD) && !hdr_flag(&h, HDR_RA) &&
                   !hdr_flag(&h, HDR_Z),
               "max %u: reply flags %04x to query flags %04x", max, h.flags, q.hdr.flags);
    if (verdict != DNS_RCODE_NOERROR) {
        FUZZ_CHECK(n == DNS_HEADER_SIZE && hdr_rcode(&h) == (unsigned)verdict,
                   "max %u: verdict %d but a reply of %zu bytes with RCODE %u", max, verdict, n,
                   hdr_rcode(&h));
        return;
    }

    /* The questions come back as asked: byte for byte when written plainly
     * and for the first question; a later question written compressed may
     * point at an earlier one that differs only in case (chapter 5:
     * suffixes are compared without case), so there only without case. */
    FUZZ_CHECK(h.qdcount == q.qdcount, "max %u: %u questions asked, %u in the reply", max,
               q.qdcount, h.qdcount);
    struct buf_reader r;
    buf_reader_init(&r, reply, n);
    buf_seek(&r, DNS_HEADER_SIZE);
    for (unsigned i = 0; i < h.qdcount; i++) {
        struct msg_question back;
        msg_read_question(&r, &back);
        bool same = (compress && i > 0) ? name_equal(&back.qname, &q.question[i].qname)
                                        : fuzz_name_same(&back.qname, &q.question[i].qname);
        FUZZ_CHECK(same && back.qtype == q.question[i].qtype && back.qclass == q.question[i].qclass,
                   "max %u: question %u is not echoed as asked", max, i);
    }
    unsigned rcode = hdr_rcode(&h);
    FUZZ_CHECK(rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN ||
                   rcode == DNS_RCODE_REFUSED,
               "max %u: RCODE %u for a well-formed query", max, rcode);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t reply[DNS_RECV_BUFFER];
    /* Step 5: up to 16 questions, compressed. Step 4: one question, plain. */
    size_t n = auth_answer(&server, data, size, reply, sizeof reply, MSG_QUESTIONS_MAX, true);
    check(data, size, MSG_QUESTIONS_MAX, true, reply, n);
    n = auth_answer(&server, data, size, reply, sizeof reply, 1, false);
    check(data, size, 1, false, reply, n);
    return 0;
}
