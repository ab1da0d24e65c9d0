/* msg: questions, resource-record headers, and parsing a query into an RCODE-style verdict. */
#include "msg.h"

#include "dns.h"

enum name_status msg_read_question(struct buf_reader *r, struct msg_question *q)
{
    enum name_status status = name_read(r, &q->qname);
    if (status != NAME_OK)
        return status;
    q->qtype = buf_read_u16(r);
    q->qclass = buf_read_u16(r);
    return buf_reader_ok(r) ? NAME_OK : NAME_ERR_TRUNCATED;
}

void msg_write_question(struct buf_writer *w, const struct msg_question *q, struct name_ctable *t)
{
    name_write(w, &q->qname, t);
    buf_write_u16(w, q->qtype);
    buf_write_u16(w, q->qclass);
}

enum name_status msg_read_rr(struct buf_reader *r, struct msg_rr *rr)
{
    enum name_status status = name_read(r, &rr->owner);
    if (status != NAME_OK)
        return status;
    rr->type = buf_read_u16(r);
    rr->class_ = buf_read_u16(r);
    rr->ttl = buf_read_u32(r);
    rr->rdlength = buf_read_u16(r);
    rr->rdata_offset = r->pos;
    buf_skip(r, rr->rdlength);
    return buf_reader_ok(r) ? NAME_OK : NAME_ERR_TRUNCATED;
}

int msg_parse_query(const uint8_t *data, size_t len, unsigned max_questions, struct msg_query *q)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &q->hdr);
    q->qdcount = 0;
    q->end = DNS_HEADER_SIZE;

    /* Too short to hold an ID, so there is nobody to answer. */
    if (!buf_reader_ok(&r))
        return MSG_DROP;
    /* A response is never answered: two servers answering each other's
     * answers would ping-pong forever. */
    if (hdr_flag(&q->hdr, HDR_QR))
        return MSG_DROP;
    /* Other opcodes have other formats: do not parse further. */
    if (hdr_opcode(&q->hdr) != DNS_OPCODE_QUERY)
        return DNS_RCODE_NOTIMP;

    if (max_questions > MSG_QUESTIONS_MAX)
        max_questions = MSG_QUESTIONS_MAX;
    if (q->hdr.qdcount == 0 || q->hdr.qdcount > max_questions)
        return DNS_RCODE_FORMERR;
    /* A query carries no answers or authority (as NSD checks). */
    if (q->hdr.ancount != 0 || q->hdr.nscount != 0)
        return DNS_RCODE_FORMERR;

    /* Bounded by max_questions (<= MSG_QUESTIONS_MAX). */
    for (unsigned i = 0; i < q->hdr.qdcount; i++) {
        if (msg_read_question(&r, &q->question[i]) != NAME_OK)
            return DNS_RCODE_FORMERR;
        q->qdcount = i + 1;
    }
    q->end = r.pos;

    /* Additional records (a client's EDNS OPT): they must be well formed and
     * are otherwise ignored. Bounded by ARCOUNT, and each record consumes at
     * least DNS_RR_FIXED + 1 bytes, so a lying count stops at the end. */
    for (unsigned i = 0; i < q->hdr.arcount; i++) {
        struct msg_rr rr;
        if (msg_read_rr(&r, &rr) != NAME_OK)
            return DNS_RCODE_FORMERR;
    }
    /* Bytes beyond the last record mean the counts or the lengths lie. */
    if (buf_remaining(&r) != 0)
        return DNS_RCODE_FORMERR;
    return DNS_RCODE_NOERROR;
}

size_t msg_write_header_reply(const struct hdr *query, unsigned rcode, uint8_t *out, size_t cap)
{
    struct buf_writer w;
    struct hdr reply = hdr_reply_to(query, rcode);
    buf_writer_init(&w, out, cap);
    hdr_encode(&w, &reply);
    return buf_writer_ok(&w) ? w.pos : 0;
}
