/* edns: the OPT pseudo-record of EDNS(0) (RFC 6891) — read from a message, written into one. */
#include "edns.h"

#include <string.h>

#include "dns.h"
#include "name.h"

/* Where in the OPT's TTL each field is (see the diagram in edns.h). */
enum {
    EDNS_TTL_EXT_RCODE_SHIFT = 24,
    EDNS_TTL_VERSION_SHIFT = 16,
    /* The header holds the lower 4 bits of a 12-bit RCODE. */
    EDNS_RCODE_LOW_BITS = 4,
};

/*
 * Looks at one record `rr` of the message at `data`, found in the additional
 * section or not: anything but an OPT is none of our business. An OPT must be
 * the message's only one, in the additional section, owned by the root, with
 * options that fill its RDATA exactly; then it fills `e`. Returns
 * DNS_RCODE_NOERROR or DNS_RCODE_FORMERR.
 */
static int edns_take(struct edns *e, const uint8_t *data, const struct msg_rr *rr, bool additional)
{
    if (rr->type != DNS_TYPE_OPT)
        return DNS_RCODE_NOERROR;
    /* The root name is the root label alone: one octet, 0. */
    if (!additional || e->present || rr->owner.len != 1)
        return DNS_RCODE_FORMERR;
    /* A reader that ends where the RDATA ends, so an option that claims more
     * bytes than RDLENGTH left fails here instead of reading the next record. */
    struct buf_reader r;
    buf_reader_init(&r, data, rr->rdata_offset + rr->rdlength);
    buf_seek(&r, rr->rdata_offset);
    /* Bounded: each pass reads 4 bytes or more, or fails, and once it has
     * failed buf_remaining() is 0. */
    while (buf_remaining(&r) > 0) {
        (void)buf_read_u16(&r);         /* OPTION-CODE: none is known, all are ignored */
        buf_skip(&r, buf_read_u16(&r)); /* OPTION-LENGTH, then OPTION-DATA */
    }
    if (!buf_reader_ok(&r))
        return DNS_RCODE_FORMERR;
    e->present = true;
    e->payload = rr->class_;
    e->ext_rcode = (uint8_t)(rr->ttl >> EDNS_TTL_EXT_RCODE_SHIFT);
    e->version = (uint8_t)(rr->ttl >> EDNS_TTL_VERSION_SHIFT);
    e->dnssec_ok = (rr->ttl & EDNS_DO) != 0;
    return DNS_RCODE_NOERROR;
}

/*
 * Reads `others` records (answer and authority) then `additional` records
 * from `r`, looking for the OPT. Returns DNS_RCODE_NOERROR or
 * DNS_RCODE_FORMERR (a malformed record, or a misplaced or malformed OPT); on
 * FORMERR `e` says no OPT.
 */
static int edns_walk(struct buf_reader *r, unsigned others, unsigned additional, struct edns *e)
{
    memset(e, 0, sizeof(*e));
    /* Bounded by the counts (16 bits each), and by the message: every record
     * takes 11 bytes or more, and the walk stops at the first that fails. */
    for (unsigned i = 0; i < others + additional; i++) {
        struct msg_rr rr;
        int rcode = DNS_RCODE_FORMERR;
        if (msg_read_rr(r, &rr) == NAME_OK)
            rcode = edns_take(e, r->data, &rr, i >= others);
        if (rcode != DNS_RCODE_NOERROR) {
            memset(e, 0, sizeof(*e));
            return rcode;
        }
    }
    return DNS_RCODE_NOERROR;
}

int edns_parse_query(const uint8_t *data, size_t len, const struct msg_query *q, struct edns *e)
{
    struct buf_reader r;
    buf_reader_init(&r, data, len);
    buf_seek(&r, q->end);
    int rcode = edns_walk(&r, (unsigned)q->hdr.ancount + q->hdr.nscount, q->hdr.arcount, e);
    if (rcode != DNS_RCODE_NOERROR)
        return rcode;
    /* RFC 6891 6.1.3: a version we do not implement gets BADVERS, and the
     * reply's OPT says which version we do. */
    if (e->present && e->version > EDNS_VERSION)
        return EDNS_RCODE_BADVERS;
    return DNS_RCODE_NOERROR;
}

int edns_parse_reply(const uint8_t *data, size_t len, struct edns *e)
{
    memset(e, 0, sizeof(*e));
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, data, len);
    hdr_decode(&r, &h);
    /* Bounded by QDCOUNT, and by the message: every question takes 5 bytes
     * or more, and the walk stops at the first that fails. */
    for (unsigned i = 0; i < h.qdcount && buf_reader_ok(&r); i++) {
        struct msg_question question;
        (void)msg_read_question(&r, &question);
    }
    if (!buf_reader_ok(&r))
        return DNS_RCODE_FORMERR;
    return edns_walk(&r, (unsigned)h.ancount + h.nscount, h.arcount, e);
}

int edns_from_msg(const struct msg *m, struct edns *e)
{
    memset(e, 0, sizeof(*e));
    size_t additional = msg_section_start(m, MSG_ADDITIONAL);
    size_t total = additional + m->count[MSG_ADDITIONAL];
    /* Bounded by MSG_RECORDS_MAX, the most a parsed message holds. */
    for (size_t i = 0; i < total; i++) {
        const struct msg_record *rec = &m->record[i];
        if (rec->type != DNS_TYPE_OPT)
            continue; /* no need to read the owner of every other record */
        struct msg_rr rr = {.type = rec->type,
                            .class_ = rec->class_,
                            .ttl = rec->ttl,
                            .rdlength = rec->rdlength,
                            .rdata_offset = rec->rdata};
        msg_record_owner(m, rec, &rr.owner);
        if (edns_take(e, m->data, &rr, i >= additional) != DNS_RCODE_NOERROR) {
            memset(e, 0, sizeof(*e));
            return DNS_RCODE_FORMERR;
        }
    }
    return DNS_RCODE_NOERROR;
}

unsigned edns_rcode(const struct hdr *h, const struct edns *e)
{
    unsigned rcode = hdr_rcode(h);
    if (e->present)
        rcode |= (unsigned)e->ext_rcode << EDNS_RCODE_LOW_BITS;
    return rcode;
}

size_t edns_udp_limit(const struct edns *e)
{
    if (!e->present)
        return DNS_UDP_MAX;
    if (e->payload < DNS_UDP_MAX)
        return DNS_UDP_MAX; /* RFC 6891 6.2.5: less than 512 is taken as 512 */
    if (e->payload > EDNS_PAYLOAD)
        return EDNS_PAYLOAD; /* more than we ever send, whatever it can take */
    return e->payload;
}

/* Appends an OPT with no options and the given fields, whole or not at all:
 * it is put together first, then written in one buf_write_bytes(). */
static void edns_write(struct buf_writer *w, uint16_t payload, uint8_t ext_rcode)
{
    uint8_t opt[EDNS_OPT_SIZE];
    struct buf_writer o;
    buf_writer_init(&o, opt, sizeof opt);
    buf_write_u8(&o, 0); /* NAME: the root */
    buf_write_u16(&o, DNS_TYPE_OPT);
    buf_write_u16(&o, payload); /* CLASS: the UDP payload size */
    /* TTL: EXTENDED-RCODE, VERSION 0, DO clear, Z 0. */
    buf_write_u32(&o, (uint32_t)ext_rcode << EDNS_TTL_EXT_RCODE_SHIFT |
                          (uint32_t)EDNS_VERSION << EDNS_TTL_VERSION_SHIFT);
    buf_write_u16(&o, 0); /* RDLENGTH: no options */
    buf_write_bytes(w, opt, o.pos);
}

void edns_write_opt(struct buf_writer *w, uint16_t payload)
{
    edns_write(w, payload, 0);
}

size_t edns_add_opt(uint8_t *msg, size_t len, size_t cap, uint8_t ext_rcode)
{
    if (len < DNS_HEADER_SIZE || len > cap)
        return len;
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, msg, len);
    hdr_decode(&r, &h);
    if (h.arcount == UINT16_MAX)
        return len; /* one more would not count */
    struct buf_writer w;
    buf_writer_init(&w, msg + len, cap - len);
    edns_write(&w, EDNS_PAYLOAD, ext_rcode);
    if (!buf_writer_ok(&w))
        return len;
    /* Only now that the OPT is in: the header is rewritten with one more
     * additional record, everything else as it was. */
    h.arcount++;
    buf_writer_init(&w, msg, DNS_HEADER_SIZE);
    hdr_encode(&w, &h);
    return len + EDNS_OPT_SIZE;
}
