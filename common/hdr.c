/* hdr: the 12-byte message header — encode and decode. */
#include "hdr.h"

#include <string.h>

void hdr_decode(struct buf_reader *r, struct hdr *h)
{
    h->id = buf_read_u16(r);
    h->flags = buf_read_u16(r);
    h->qdcount = buf_read_u16(r);
    h->ancount = buf_read_u16(r);
    h->nscount = buf_read_u16(r);
    h->arcount = buf_read_u16(r);
    /* One check for the six reads: the error is sticky. */
    if (!buf_reader_ok(r))
        memset(h, 0, sizeof(*h));
}

void hdr_encode(struct buf_writer *w, const struct hdr *h)
{
    buf_write_u16(w, h->id);
    buf_write_u16(w, h->flags);
    buf_write_u16(w, h->qdcount);
    buf_write_u16(w, h->ancount);
    buf_write_u16(w, h->nscount);
    buf_write_u16(w, h->arcount);
}

struct hdr hdr_reply_to(const struct hdr *query, unsigned rcode)
{
    struct hdr reply = {.id = query->id};
    hdr_set_flag(&reply, HDR_QR, true);
    hdr_set_opcode(&reply, hdr_opcode(query));
    hdr_set_flag(&reply, HDR_RD, hdr_flag(query, HDR_RD));
    hdr_set_rcode(&reply, rcode);
    return reply;
}
