/* fuzz_answer: a step's answer path, auth_answer() over the example zones, and its reply. */
#include "auth.h"
#include "fuzz.h"
#include "server.h"
#include "zonefile.h"

/* fuzz.mk builds this target against step 4 and against step 5, and says
 * which: step 4 answers a query of exactly one question (RFC 9619; any
 * other count is FORMERR), step 5 up to MSG_QUESTIONS_MAX (chapter 5). */
#ifndef FUZZ_STEP
#error "FUZZ_STEP (4 or 5) is the step whose auth_answer() this target runs"
#endif
enum { QUESTIONS_ANSWERED = FUZZ_STEP >= 5 ? MSG_QUESTIONS_MAX : 1 };

/* The Makefile passes the absolute path of the repository's zones/, so the
 * target runs from any directory and always serves the zones `make step-N`
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
        char err[ZONEFILE_ERROR_MAX + 64];
        if (zonefile_load_file(&server.zones, files[i], NULL, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_answer: cannot load the zone the target answers from: %s\n", err);
            exit(1);
        }
    }
    return 0;
}

/* Checks the reply to one query. */
static void check(const uint8_t *data, size_t size, const uint8_t *reply, size_t n)
{
    static struct msg_query q;
    int verdict = msg_parse_query(data, size, &q);
    if (verdict == DNS_RCODE_NOERROR && q.qdcount > QUESTIONS_ANSWERED)
        verdict = DNS_RCODE_FORMERR;
    /* Only a datagram to drop gets no reply. */
    FUZZ_CHECK((n == SERVER_NO_REPLY) == (verdict == MSG_DROP), "verdict %d, but %s reply", verdict,
               n == SERVER_NO_REPLY ? "no" : "a");
    if (n == SERVER_NO_REPLY)
        return;
    FUZZ_CHECK(n >= DNS_HEADER_SIZE && n <= DNS_UDP_MAX, "reply of %zu bytes (12..512 allowed)", n);

    struct hdr h = fuzz_check_reply(reply, n);
    FUZZ_CHECK(hdr_flag(&h, HDR_QR), "QR=0 in the reply");
    FUZZ_CHECK(h.id == q.hdr.id, "reply ID %u, query ID %u", h.id, q.hdr.id);
    FUZZ_CHECK(hdr_opcode(&h) == hdr_opcode(&q.hdr) &&
                   hdr_flag(&h, HDR_RD) == hdr_flag(&q.hdr, HDR_RD) && !hdr_flag(&h, HDR_RA) &&
                   !hdr_flag(&h, HDR_Z),
               "reply flags %04x to query flags %04x", h.flags, q.hdr.flags);
    if (verdict != DNS_RCODE_NOERROR) {
        FUZZ_CHECK(n == DNS_HEADER_SIZE && hdr_rcode(&h) == (unsigned)verdict,
                   "verdict %d but a reply of %zu bytes with RCODE %u", verdict, n, hdr_rcode(&h));
        return;
    }
    /* NOTIMP only for a zone transfer (AXFR, IXFR) among the questions. */
    bool transfer = false;
    for (unsigned i = 0; i < q.qdcount; i++)
        transfer = transfer || q.question[i].qtype == DNS_TYPE_AXFR ||
                   q.question[i].qtype == DNS_TYPE_IXFR;
    unsigned rcode = hdr_rcode(&h);
    FUZZ_CHECK(rcode == DNS_RCODE_NOERROR || rcode == DNS_RCODE_NXDOMAIN ||
                   rcode == DNS_RCODE_REFUSED || (rcode == DNS_RCODE_NOTIMP && transfer),
               "RCODE %u for a well-formed query", rcode);

    /* resp.h: when not even the questions fit in 512 bytes, the header alone
     * with TC. One question always fits (12 + 255 + 4 bytes); several long
     * ones may not. */
    if (h.qdcount == 0) {
        FUZZ_CHECK(q.qdcount > 1 && n == DNS_HEADER_SIZE && hdr_flag(&h, HDR_TC),
                   "%u questions asked, none in a reply of %zu bytes, TC=%d", q.qdcount, n,
                   hdr_flag(&h, HDR_TC));
        return;
    }
    /* Otherwise the questions come back as asked, byte for byte: step 5
     * compresses only against suffixes of the same case (compress.h). */
    FUZZ_CHECK(h.qdcount == q.qdcount, "%u questions asked, %u in the reply", q.qdcount, h.qdcount);
    struct buf_reader r;
    buf_reader_init(&r, reply, n);
    buf_seek(&r, DNS_HEADER_SIZE);
    for (unsigned i = 0; i < h.qdcount; i++) {
        struct msg_question back;
        msg_read_question(&r, &back);
        FUZZ_CHECK(fuzz_name_same(&back.qname, &q.question[i].qname) &&
                       back.qtype == q.question[i].qtype && back.qclass == q.question[i].qclass,
                   "question %u is not echoed as asked", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t reply[DNS_RECV_BUFFER];
    size_t n = auth_answer(&server, data, size, reply, sizeof reply);
    check(data, size, reply, n);
    return 0;
}
