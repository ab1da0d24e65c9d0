/* resp: writing a reply — header, questions, RRsets — within a size limit, with TC. */
#include "resp.h"

#include "buf.h"
#include "dns.h"

/* Writes every record of one RRset; the writer's error says if it fitted. */
static unsigned resp_rrset(struct buf_writer *w, const struct lookup_item *it)
{
    unsigned written = 0;
    for (const struct zone_rdata *d = it->rrset->rdata; d != NULL; d = d->next) {
        name_write(w, it->owner);
        buf_write_u16(w, it->rrset->type);
        buf_write_u16(w, DNS_CLASS_IN);
        buf_write_u32(w, it->ttl);
        /* Stored RDATA is in wire form already, and without compression a
         * record's RDATA is written exactly as stored. */
        buf_write_u16(w, d->len);
        buf_write_bytes(w, d->data, d->len);
        if (!buf_writer_ok(w))
            return written;
        written++;
    }
    return written;
}

size_t resp_write(uint8_t *out, size_t max, const struct hdr *query,
                  const struct msg_question *questions, unsigned qcount,
                  const struct lookup_result *res)
{
    struct buf_writer w;
    buf_writer_init(&w, out, max);

    struct hdr h = hdr_reply_to(query, res->rcode);
    hdr_set_flag(&h, HDR_AA, res->aa);
    h.qdcount = (uint16_t)qcount;
    hdr_encode(&w, &h);
    for (unsigned i = 0; i < qcount; i++)
        msg_write_question(&w, &questions[i]);
    if (!buf_writer_ok(&w)) {
        /* Not even the questions fit. The questions of a query always fit
         * in 512 bytes (msg_parse_query() bounds their octets), so only a
         * smaller `max` gets here: the header alone, with TC, tells the
         * client to ask over TCP. NSD does the same; silence would only make
         * it retry the same query. */
        h.qdcount = 0;
        hdr_set_flag(&h, HDR_TC, true);
        buf_writer_rollback(&w, 0);
        hdr_encode(&w, &h);
        return buf_writer_ok(&w) ? w.pos : 0;
    }

    uint16_t counts[LOOKUP_SECTIONS] = {0, 0, 0};
    bool truncated = res->overflow;
    for (int s = 0; s < LOOKUP_SECTIONS && !truncated; s++) {
        for (size_t i = 0; i < res->count[s]; i++) {
            size_t mark = buf_writer_mark(&w);
            unsigned n = resp_rrset(&w, &res->item[s][i]);
            if (buf_writer_ok(&w)) {
                counts[s] = (uint16_t)(counts[s] + n);
                continue;
            }
            buf_writer_rollback(&w, mark);
            if (s != LOOKUP_ADDITIONAL) {
                truncated = true;
                break;
            }
        }
    }

    hdr_set_flag(&h, HDR_TC, truncated);
    h.ancount = counts[LOOKUP_ANSWER];
    h.nscount = counts[LOOKUP_AUTHORITY];
    h.arcount = counts[LOOKUP_ADDITIONAL];
    size_t len = w.pos;
    buf_writer_rollback(&w, 0);
    hdr_encode(&w, &h); /* rewrite the header now that the counts are known */
    return len;
}
