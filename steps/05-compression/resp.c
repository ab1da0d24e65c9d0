/* resp: writing a reply — header, questions, RRsets — within a size limit, with TC. */
#include "resp.h"

#include "buf.h"
#include "compress.h"
#include "dns.h"
#include "rdata.h"

/* Names the table marks compressible (those of RFC 1035's types) go through
 * the compression table; other names, and everything else, are copied:
 * compressing the names of a type a client may not know would break it
 * (RFC 3597 4). */
void resp_write_rdata(struct buf_writer *w, struct compress_table *t, uint16_t type,
                      const uint8_t *rdata, size_t len)
{
    if (!buf_writer_ok(w))
        return;
    size_t mark = buf_writer_mark(w);
    size_t table_mark = compress_mark(t);
    struct buf_reader r;
    buf_reader_init(&r, rdata, len);
    struct rdata_iter it;
    rdata_iter_init(&it, rdata_find(type));
    bool ok = true;
    /* Bounded: each field consumes bytes of the RDATA or fails. */
    for (const struct rdata_field *f; ok && (f = rdata_iter_next(&it, &r)) != NULL;) {
        struct rdata_value v;
        ok = rdata_read(&r, f->kind, &v) == RDATA_OK;
        if (!ok)
            break;
        if (f->kind == RDATA_NAME)
            compress_write_name(w, t, &v.name);
        else if (f->kind == RDATA_NAME_PLAIN)
            name_write(w, &v.name);
        else
            buf_write_bytes(w, rdata + v.start, v.end - v.start);
    }
    if (ok && buf_remaining(&r) == 0)
        return;
    /* RDATA that does not match its type's layout (a zone file never makes
     * any, but a cache fed from the network might) is written as stored:
     * uncompressed wire form is always a correct copy. */
    buf_writer_rollback(w, mark);
    compress_rollback(t, table_mark);
    buf_write_bytes(w, rdata, len);
}

/* Writes every record of one RRset; the writer's error says if it fitted. */
static unsigned resp_rrset(struct buf_writer *w, struct compress_table *t,
                           const struct lookup_item *it)
{
    unsigned written = 0;
    for (const struct zone_rdata *d = it->rrset->rdata; d != NULL; d = d->next) {
        compress_write_name(w, t, it->owner);
        buf_write_u16(w, it->rrset->type);
        buf_write_u16(w, DNS_CLASS_IN);
        buf_write_u32(w, it->ttl);
        /* RDLENGTH is known only once the RDATA is written, compressed. */
        size_t rdlength_at = w->pos;
        buf_write_u16(w, 0);
        resp_write_rdata(w, t, it->rrset->type, d->data, d->len);
        if (!buf_writer_ok(w))
            return written;
        buf_write_u16_at(w, rdlength_at, (uint16_t)(w->pos - rdlength_at - 2));
        written++;
    }
    return written;
}

size_t resp_write(uint8_t *out, size_t max, const struct hdr *query,
                  const struct msg_question *questions, unsigned qcount,
                  const struct lookup_result *res)
{
    struct buf_writer w;
    struct compress_table table;
    buf_writer_init(&w, out, max);
    compress_init(&table);

    struct hdr h = hdr_reply_to(query, res->rcode);
    hdr_set_flag(&h, HDR_AA, res->aa);
    h.qdcount = (uint16_t)qcount;
    hdr_encode(&w, &h);
    for (unsigned i = 0; i < qcount; i++) {
        compress_write_name(&w, &table, &questions[i].qname);
        buf_write_u16(&w, questions[i].qtype);
        buf_write_u16(&w, questions[i].qclass);
    }
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
            size_t table_mark = compress_mark(&table);
            unsigned n = resp_rrset(&w, &table, &res->item[s][i]);
            if (buf_writer_ok(&w)) {
                counts[s] = (uint16_t)(counts[s] + n);
                continue;
            }
            buf_writer_rollback(&w, mark);
            compress_rollback(&table, table_mark);
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
