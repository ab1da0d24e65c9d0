/* fuzz_query: msg_parse_query() on any datagram, and the header-only reply to what it refuses. */
#include "fuzz.h"

/* The verdict's contract (msg.h), checked against the raw bytes. */
static void check_verdict(const uint8_t *data, size_t size, int verdict, const struct msg_query *q)
{
    FUZZ_CHECK(verdict == MSG_DROP || verdict == DNS_RCODE_NOERROR ||
                   verdict == DNS_RCODE_FORMERR || verdict == DNS_RCODE_NOTIMP,
               "verdict %d is none of DROP, NOERROR, FORMERR, NOTIMP", verdict);
    if (size < DNS_HEADER_SIZE) {
        FUZZ_CHECK(verdict == MSG_DROP, "%zu bytes (no header) got verdict %d", size, verdict);
        return;
    }
    bool qr = (data[2] & 0x80) != 0;
    unsigned opcode = (data[2] >> 3) & 0x0F;
    unsigned qdcount = (unsigned)data[4] << 8 | data[5];
    unsigned ancount = (unsigned)data[6] << 8 | data[7];
    unsigned nscount = (unsigned)data[8] << 8 | data[9];
    FUZZ_CHECK((verdict == MSG_DROP) == qr, "QR=%d but verdict %d", qr, verdict);
    if (qr)
        return;
    FUZZ_CHECK((verdict == DNS_RCODE_NOTIMP) == (opcode != DNS_OPCODE_QUERY),
               "OPCODE %u but verdict %d", opcode, verdict);
    FUZZ_CHECK(q->hdr.qdcount == qdcount && q->hdr.id == ((unsigned)data[0] << 8 | data[1]),
               "q->hdr does not hold the header's ID and QDCOUNT");
    if (verdict == DNS_RCODE_NOTIMP)
        return;
    /* The one exception (RFC 1995 3): an IXFR query carries the client's SOA
     * in its authority section. Accepted only as exactly that: one IXFR
     * question, no answer, one authority record, and it is an SOA. */
    bool ixfr_soa = false;
    if (verdict == DNS_RCODE_NOERROR && qdcount == 1 && ancount == 0 && nscount == 1) {
        FUZZ_CHECK(q->question[0].qtype == DNS_TYPE_IXFR,
                   "an authority record accepted with a question of type %u", q->question[0].qtype);
        struct buf_reader r;
        struct msg_rr rr;
        buf_reader_init(&r, data, size);
        buf_seek(&r, q->end);
        FUZZ_CHECK(msg_read_rr(&r, &rr) == NAME_OK && rr.type == DNS_TYPE_SOA,
                   "an IXFR query's authority record accepted that is no SOA");
        ixfr_soa = true;
    }
    bool records = (ancount != 0 || nscount != 0) && !ixfr_soa;
    if (qdcount < 1 || qdcount > MSG_QUESTIONS_MAX || records)
        FUZZ_CHECK(verdict == DNS_RCODE_FORMERR,
                   "QDCOUNT %u, answers %u or authority %u: verdict %d", qdcount, ancount, nscount,
                   verdict);
    if (verdict != DNS_RCODE_NOERROR)
        return;

    /* NOERROR: every question is there, and the message had nothing else
     * than a header, questions and well-formed additional records. */
    FUZZ_CHECK(q->qdcount == qdcount, "%u questions kept of QDCOUNT %u", q->qdcount, qdcount);
    FUZZ_CHECK(q->end >= DNS_HEADER_SIZE + qdcount * (1 + DNS_QUESTION_FIXED) && q->end <= size,
               "question section ends at %zu of %zu", q->end, size);

    /* Re-read the question section from offset 12: the same questions, byte
     * for byte (case kept), ending at q->end. */
    struct buf_reader r;
    buf_reader_init(&r, data, size);
    buf_seek(&r, DNS_HEADER_SIZE);
    for (unsigned i = 0; i < q->qdcount; i++) {
        const struct msg_question *qi = &q->question[i];
        FUZZ_CHECK(qi->qname.len <= NAME_WIRE_MAX && fuzz_name_well_formed(&qi->qname),
                   "question %u: malformed name (len %u)", i, qi->qname.len);
        struct msg_question again;
        FUZZ_CHECK(msg_read_question(&r, &again) == NAME_OK, "question %u re-read fails", i);
        FUZZ_CHECK(fuzz_name_same(&again.qname, &qi->qname) && again.qtype == qi->qtype &&
                       again.qclass == qi->qclass,
                   "question %u reads differently the second time", i);

        /* Written out after a header (uncompressed), it reads back the same. */
        uint8_t buf[DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED];
        struct buf_writer w;
        buf_writer_init(&w, buf, sizeof buf);
        struct hdr h = {0};
        hdr_encode(&w, &h);
        msg_write_question(&w, qi);
        FUZZ_CHECK(buf_writer_ok(&w), "question %u does not fit %zu bytes", i, sizeof buf);
        struct buf_reader r2;
        buf_reader_init(&r2, buf, w.pos);
        buf_seek(&r2, DNS_HEADER_SIZE);
        FUZZ_CHECK(msg_read_question(&r2, &again) == NAME_OK && buf_remaining(&r2) == 0 &&
                       fuzz_name_same(&again.qname, &qi->qname),
                   "question %u written plainly does not read back", i);
    }
    FUZZ_CHECK(r.pos == q->end, "questions end at %zu, q->end says %zu", r.pos, q->end);
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
    static struct msg_query q;
    memset(&q, 0xA5, sizeof q); /* garbage in, so stale fields cannot pass */
    int verdict = msg_parse_query(data, size, &q);
    check_verdict(data, size, verdict, &q);
    if (verdict != DNS_RCODE_NOERROR && verdict != MSG_DROP)
        check_header_reply(&q, verdict);
    return 0;
}
