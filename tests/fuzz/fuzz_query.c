/* fuzz_query: msg_parse_query() on any datagram, with 1 and 16 questions allowed. */
#include "fuzz.h"

/* The verdict's contract (msg.h), checked against the raw bytes. */
static void check_verdict(const uint8_t *data, size_t size, unsigned max, int verdict,
                          const struct msg_query *q)
{
    FUZZ_CHECK(verdict == MSG_DROP || verdict == DNS_RCODE_NOERROR ||
                   verdict == DNS_RCODE_FORMERR || verdict == DNS_RCODE_NOTIMP,
               "max %u: verdict %d is none of DROP, NOERROR, FORMERR, NOTIMP", max, verdict);
    if (size < DNS_HEADER_SIZE) {
        FUZZ_CHECK(verdict == MSG_DROP, "max %u: %zu bytes (no header) got verdict %d", max, size,
                   verdict);
        return;
    }
    bool qr = (data[2] & 0x80) != 0;
    unsigned opcode = (data[2] >> 3) & 0x0F;
    unsigned qdcount = (unsigned)data[4] << 8 | data[5];
    FUZZ_CHECK((verdict == MSG_DROP) == qr, "max %u: QR=%d but verdict %d", max, qr, verdict);
    if (qr)
        return;
    FUZZ_CHECK((verdict == DNS_RCODE_NOTIMP) == (opcode != DNS_OPCODE_QUERY),
               "max %u: OPCODE %u but verdict %d", max, opcode, verdict);
    FUZZ_CHECK(q->hdr.qdcount == qdcount && q->hdr.id == ((unsigned)data[0] << 8 | data[1]),
               "max %u: q->hdr does not hold the header's ID and QDCOUNT", max);
    if (verdict != DNS_RCODE_NOERROR)
        return;

    /* NOERROR: every question is there, and the message had nothing else
     * than a header, questions and well-formed additional records. */
    FUZZ_CHECK(qdcount >= 1 && qdcount <= max, "max %u: NOERROR with QDCOUNT %u", max, qdcount);
    FUZZ_CHECK(q->qdcount == qdcount, "max %u: %u questions kept of QDCOUNT %u", max, q->qdcount,
               qdcount);
    FUZZ_CHECK(q->hdr.ancount == 0 && q->hdr.nscount == 0, "max %u: NOERROR with answers", max);
    FUZZ_CHECK(q->end >= DNS_HEADER_SIZE + qdcount * (1 + DNS_QUESTION_FIXED) && q->end <= size,
               "max %u: question section ends at %zu of %zu", max, q->end, size);

    /* Re-read the question section from offset 12: the same questions, byte
     * for byte (case kept), ending at q->end. */
    struct buf_reader r;
    buf_reader_init(&r, data, size);
    buf_seek(&r, DNS_HEADER_SIZE);
    for (unsigned i = 0; i < q->qdcount; i++) {
        const struct msg_question *qi = &q->question[i];
        FUZZ_CHECK(qi->qname.len <= NAME_WIRE_MAX && fuzz_name_well_formed(&qi->qname),
                   "max %u: question %u: malformed name (len %u)", max, i, qi->qname.len);
        struct msg_question again;
        FUZZ_CHECK(msg_read_question(&r, &again) == NAME_OK, "max %u: question %u re-read fails",
                   max, i);
        FUZZ_CHECK(fuzz_name_same(&again.qname, &qi->qname) && again.qtype == qi->qtype &&
                       again.qclass == qi->qclass,
                   "max %u: question %u reads differently the second time", max, i);

        /* Written out uncompressed after a header, it reads back the same. */
        uint8_t buf[DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED];
        struct buf_writer w;
        buf_writer_init(&w, buf, sizeof buf);
        struct hdr h = {0};
        hdr_encode(&w, &h);
        msg_write_question(&w, qi, NULL);
        FUZZ_CHECK(buf_writer_ok(&w), "max %u: question %u does not fit %zu bytes", max, i,
                   sizeof buf);
        struct buf_reader r2;
        buf_reader_init(&r2, buf, w.pos);
        buf_seek(&r2, DNS_HEADER_SIZE);
        FUZZ_CHECK(msg_read_question(&r2, &again) == NAME_OK && buf_remaining(&r2) == 0 &&
                       fuzz_name_same(&again.qname, &qi->qname),
                   "max %u: question %u written plainly does not read back", max, i);
    }
    FUZZ_CHECK(r.pos == q->end, "max %u: questions end at %zu, q->end says %zu", max, r.pos,
               q->end);
}

/* The header-only reply of a FORMERR or NOTIMP: 12 bytes, QR=1, the query's ID. */
static void check_header_reply(const struct msg_query *q, int verdict)
{
    uint8_t out[DNS_HEADER_SIZE];
    FUZZ_CHECK(msg_write_header_reply(&q->hdr, (unsigned)verdict, out, sizeof out) ==
                   DNS_HEADER_SIZE,
               "header reply does not fit 12 bytes");
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, out, sizeof out);
    hdr_decode(&r, &h);
    FUZZ_CHECK(h.id == q->hdr.id && hdr_flag(&h, HDR_QR) && hdr_rcode(&h) == (unsigned)verdict &&
                   hdr_opcode(&h) == hdr_opcode(&q->hdr) && h.qdcount == 0 && h.ancount == 0 &&
                   h.nscount == 0 && h.arcount == 0,
               "header reply: id %u flags %04x counts %u/%u/%u/%u", h.id, h.flags, h.qdcount,
               h.ancount, h.nscount, h.arcount);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Static: a struct msg_query holds 16 names (over 4 KB). */
    static struct msg_query one, sixteen;
    memset(&one, 0xA5, sizeof one); /* garbage in, so stale fields cannot pass */
    memset(&sixteen, 0xA5, sizeof sixteen);
    int v1 = msg_parse_query(data, size, 1, &one);
    int v16 = msg_parse_query(data, size, MSG_QUESTIONS_MAX, &sixteen);
    check_verdict(data, size, 1, v1, &one);
    check_verdict(data, size, MSG_QUESTIONS_MAX, v16, &sixteen);

    /* Allowing more questions changes the verdict only for QDCOUNT 2..16. */
    if (v1 == DNS_RCODE_NOERROR)
        FUZZ_CHECK(v16 == DNS_RCODE_NOERROR && sixteen.qdcount == 1 &&
                       fuzz_name_same(&one.question[0].qname, &sixteen.question[0].qname),
                   "NOERROR with max 1 but %d with max 16", v16);
    if (v16 == DNS_RCODE_NOERROR && sixteen.qdcount == 1)
        FUZZ_CHECK(v1 == DNS_RCODE_NOERROR, "one question: NOERROR with max 16 but %d with max 1",
                   v1);
    if (v1 != DNS_RCODE_NOERROR && v1 != MSG_DROP)
        check_header_reply(&one, v1);
    if (v16 != DNS_RCODE_NOERROR && v16 != MSG_DROP)
        check_header_reply(&sixteen, v16);
    return 0;
}
