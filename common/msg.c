/* msg: questions, resource-record headers, and parsing a query into an RCODE-style verdict. */
#include "msg.h"

#include "dns.h"
#include "rdata.h"

enum name_status msg_read_question(struct buf_reader *r, struct msg_question *q)
{
    enum name_status status = name_read(r, &q->qname);
    if (status != NAME_OK)
        return status;
    q->qtype = buf_read_u16(r);
    q->qclass = buf_read_u16(r);
    return buf_reader_ok(r) ? NAME_OK : NAME_ERR_TRUNCATED;
}

void msg_write_question(struct buf_writer *w, const struct msg_question *q)
{
    name_write(w, &q->qname);
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

/* Every question a query may carry can be echoed in a reply of DNS_UDP_MAX
 * bytes: the header, then names of MSG_QUESTION_OCTETS_MAX octets in all,
 * each with its QTYPE and QCLASS. */
_Static_assert(DNS_HEADER_SIZE + MSG_QUESTION_OCTETS_MAX + MSG_QUESTIONS_MAX * DNS_QUESTION_FIXED <=
                   DNS_UDP_MAX,
               "the questions of a query must fit in a 512-byte reply");

int msg_parse_query(const uint8_t *data, size_t len, struct msg_query *q)
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

    /* The RCODE is the responder's to set; a query with one is malformed
     * (as NSD says). */
    if (hdr_rcode(&q->hdr) != DNS_RCODE_NOERROR)
        return DNS_RCODE_FORMERR;
    if (q->hdr.qdcount == 0 || q->hdr.qdcount > MSG_QUESTIONS_MAX)
        return DNS_RCODE_FORMERR;
    /* A query carries no answers (as NSD checks), no authority but the SOA
     * of an IXFR (checked below), and in the additional section an EDNS OPT
     * and a TSIG at most. */
    if (q->hdr.ancount != 0 || q->hdr.nscount > 1 || q->hdr.arcount > MSG_ADDITIONAL_MAX)
        return DNS_RCODE_FORMERR;

    /* Bounded by MSG_QUESTIONS_MAX, checked above, and by the octets the
     * names add up to: every question costs work in proportion to its name. */
    size_t octets = 0;
    for (unsigned i = 0; i < q->hdr.qdcount; i++) {
        if (msg_read_question(&r, &q->question[i]) != NAME_OK)
            return DNS_RCODE_FORMERR;
        q->qdcount = i + 1;
        octets += q->question[i].qname.len;
        if (octets > MSG_QUESTION_OCTETS_MAX)
            return DNS_RCODE_FORMERR;
    }
    q->end = r.pos;

    /* RFC 1995 3: an IXFR query carries the client's SOA in its authority
     * section, and nothing else does. */
    if (q->hdr.nscount == 1) {
        struct msg_rr rr;
        if (q->qdcount != 1 || q->question[0].qtype != DNS_TYPE_IXFR ||
            msg_read_rr(&r, &rr) != NAME_OK || rr.type != DNS_TYPE_SOA)
            return DNS_RCODE_FORMERR;
    }

    /* Additional records (a client's EDNS OPT): they must be well formed and
     * are otherwise ignored. Bounded by MSG_ADDITIONAL_MAX. */
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

const char *msg_strerror(enum msg_status status)
{
    switch (status) {
    case MSG_OK:
        return "ok";
    case MSG_ERR_HEADER:
        return "shorter than the 12-byte header";
    case MSG_ERR_TOO_LONG:
        return "longer than 65535 bytes";
    case MSG_ERR_QUESTION:
        return "a question is malformed or missing";
    case MSG_ERR_RECORD:
        return "a record is malformed or missing";
    case MSG_ERR_RDATA:
        return "a record's RDATA does not match its type";
    case MSG_ERR_TOO_MANY:
        return "more questions or records than this parser holds";
    case MSG_ERR_TRAILING:
        return "bytes after the last record";
    }
    return "unknown message error";
}

enum msg_status msg_parse(const uint8_t *data, size_t len, struct msg *m)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    m->data = data;
    m->len = len;
    m->qdcount = 0;
    for (int s = 0; s < MSG_SECTIONS; s++)
        m->count[s] = 0;
    hdr_decode(&r, &m->hdr);
    if (!buf_reader_ok(&r))
        return MSG_ERR_HEADER;
    /* The index keeps 16-bit offsets, which reach any DNS message. */
    if (len > DNS_MESSAGE_MAX)
        return MSG_ERR_TOO_LONG;

    if (m->hdr.qdcount > MSG_QUESTIONS_MAX)
        return MSG_ERR_TOO_MANY;
    /* Bounded by MSG_QUESTIONS_MAX. */
    for (unsigned i = 0; i < m->hdr.qdcount; i++) {
        if (msg_read_question(&r, &m->question[i]) != NAME_OK)
            return MSG_ERR_QUESTION;
        m->qdcount = i + 1;
    }

    const uint16_t counts[MSG_SECTIONS] = {m->hdr.ancount, m->hdr.nscount, m->hdr.arcount};
    size_t total = 0;
    for (int s = 0; s < MSG_SECTIONS; s++) {
        /* Bounded by the count, and each record consumes at least
         * DNS_RR_FIXED + 1 bytes or fails, so a lying count stops at the end
         * of the message; MSG_RECORDS_MAX bounds the index. */
        for (unsigned i = 0; i < counts[s]; i++) {
            if (total >= MSG_RECORDS_MAX)
                return MSG_ERR_TOO_MANY;
            struct msg_record *rec = &m->record[total];
            struct name owner;
            rec->owner = (uint16_t)r.pos;
            if (name_read(&r, &owner) != NAME_OK)
                return MSG_ERR_RECORD;
            rec->type = buf_read_u16(&r);
            rec->class_ = buf_read_u16(&r);
            rec->ttl = buf_read_u32(&r);
            rec->rdlength = buf_read_u16(&r);
            rec->rdata = (uint16_t)r.pos;
            if (!buf_reader_ok(&r))
                return MSG_ERR_RECORD;
            if (rdata_unpack(&r, rec->type, rec->rdlength, NULL) != RDATA_OK)
                return MSG_ERR_RDATA;
            total++;
            m->count[s]++;
        }
    }
    return buf_remaining(&r) == 0 ? MSG_OK : MSG_ERR_TRAILING;
}

size_t msg_section_start(const struct msg *m, enum msg_section section)
{
    size_t start = 0;
    for (int s = 0; s < (int)section; s++)
        start += m->count[s];
    return start;
}

void msg_record_owner(const struct msg *m, const struct msg_record *rec, struct name *out)
{
    struct buf_reader r;
    buf_reader_init(&r, m->data, m->len);
    buf_seek(&r, rec->owner);
    name_read(&r, out);
}
