/* resp: writing a reply — header, questions, RRsets — within a size limit, with TC. */
#include "resp.h"

#include "buf.h"
#include "dns.h"

/* Writes one RDATA, passing the names inside the types RFC 1035 defines
 * with names (and that RFC 3597 allows to compress) through `t`. Other
 * RDATA is copied as it is: compressing it would break clients that do not
 * know the type. */
static void resp_rdata(struct buf_writer *w, struct name_ctable *t, uint16_t type,
                       const struct zone_rdata *d)
{
    struct buf_reader r;
    struct name n;
    buf_reader_init(&r, d->data, d->len);
    switch (type) {
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        name_read(&r, &n);
        name_write(w, &n, t);
        return;
    case DNS_TYPE_MX:
        buf_write_u16(w, buf_read_u16(&r));
        name_read(&r, &n);
        name_write(w, &n, t);
        return;
    case DNS_TYPE_SOA:
        name_read(&r, &n); /* MNAME */
        name_write(w, &n, t);
        name_read(&r, &n); /* RNAME */
        name_write(w, &n, t);
        /* SERIAL REFRESH RETRY EXPIRE MINIMUM: 5 x 32 bits */
        buf_write_bytes(w, d->data + r.pos, buf_remaining(&r));
        return;
    default:
        buf_write_bytes(w, d->data, d->len);
        return;
    }
}

/* Writes every record of one RRset; the writer's error says if it fitted. */
static unsigned resp_rrset(struct buf_writer *w, struct name_ctable *t,
                           const struct lookup_item *it)
{
    unsigned written = 0;
    for (const struct zone_rdata *d = it->rrset->rdata; d != NULL; d = d->next) {
        name_write(w, it->owner, t);
        buf_write_u16(w, it->rrset->type);
        buf_write_u16(w, DNS_CLASS_IN);
        buf_write_u32(w, it->ttl);
        size_t rdlength_at = w->pos;
        buf_write_u16(w, 0); /* RDLENGTH, patched once the RDATA is written */
        resp_rdata(w, t, it->rrset->type, d);
        if (!buf_writer_ok(w))
            return written;
        buf_write_u16_at(w, rdlength_at, (uint16_t)(w->pos - rdlength_at - 2));
        written++;
    }
    return written;
}

size_t resp_write(uint8_t *out, size_t max, const struct hdr *query,
                  const struct msg_question *questions, unsigned qcount,
                  const struct lookup_result *res, bool compress)
{
    struct buf_writer w;
    struct name_ctable table;
    struct name_ctable *t = compress ? &table : NULL;
    if (compress)
        name_ctable_init(&table);
    buf_writer_init(&w, out, max);

    struct hdr h = hdr_reply_to(query, res->rcode);
    hdr_set_flag(&h, HDR_AA, res->aa);
    h.qdcount = (uint16_t)qcount;
    hdr_encode(&w, &h);
    for (unsigned i = 0; i < qcount; i++)
        msg_write_question(&w, &questions[i], t);
    if (!buf_writer_ok(&w))
        return 0;

    uint16_t counts[LOOKUP_SECTIONS] = {0, 0, 0};
    bool truncated = res->overflow;
    for (int s = 0; s < LOOKUP_SECTIONS && !truncated; s++) {
        for (size_t i = 0; i < res->count[s]; i++) {
            size_t mark = buf_writer_mark(&w);
            size_t table_mark = compress ? name_ctable_mark(&table) : 0;
            unsigned n = resp_rrset(&w, t, &res->item[s][i]);
            if (buf_writer_ok(&w)) {
                counts[s] = (uint16_t)(counts[s] + n);
                continue;
            }
            buf_writer_rollback(&w, mark);
            if (compress)
                name_ctable_rollback(&table, table_mark);
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
