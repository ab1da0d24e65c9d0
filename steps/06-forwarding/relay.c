/* relay: the client's reply built from the replies to its questions — upstream or local. */
#include "relay.h"

#include "buf.h"
#include "compress.h"
#include "dns.h"
#include "hdr.h"
#include "log.h"
#include "name.h"
#include "rdata.h"
#include "resp.h"

/* Writes one record of `m` again: its owner compressed, its RDATA
 * unpacked from `m` (where names may point anywhere before them) and written
 * through the table. Returns false if it did not fit. */
static bool relay_record(struct buf_writer *w, struct compress_table *t, const struct msg *m,
                         const struct msg_record *rec)
{
    struct name owner;
    msg_record_owner(m, rec, &owner);
    compress_write_name(w, t, &owner);
    buf_write_u16(w, rec->type);
    buf_write_u16(w, rec->class_);
    buf_write_u32(w, rec->ttl);
    size_t rdlength_at = w->pos;
    buf_write_u16(w, 0); /* RDLENGTH, known once the RDATA is written */

    /* msg_parse() checked the RDATA against its type, so unpacking fails
     * only when its names, pointers followed, pass RDATA_MAX bytes (a
     * pointer of 2 bytes can stand for a name of 255): a record that big
     * does not fit any reply of ours either. Static: 64 KiB is a lot of
     * stack, and there is one thread. */
    static uint8_t rdata[RDATA_MAX];
    struct buf_reader r;
    struct buf_writer plain;
    buf_reader_init(&r, m->data, m->len);
    buf_seek(&r, rec->rdata);
    buf_writer_init(&plain, rdata, sizeof rdata);
    if (rdata_unpack(&r, rec->type, rec->rdlength, &plain) != RDATA_OK)
        return false;
    resp_write_rdata(w, t, rec->type, rdata, plain.pos);
    if (!buf_writer_ok(w))
        return false;
    buf_write_u16_at(w, rdlength_at, (uint16_t)(w->pos - rdlength_at - 2));
    return true;
}

/* Whether records a and b of `m` belong to one RRset: same owner (case aside), type and class. */
static bool relay_same_rrset(const struct msg *m, const struct msg_record *a,
                             const struct msg_record *b)
{
    if (a->type != b->type || a->class_ != b->class_)
        return false;
    struct name na, nb;
    msg_record_owner(m, a, &na);
    msg_record_owner(m, b, &nb);
    return name_equal(&na, &nb);
}

/* Where the writing of the sections stands. */
struct relay_out {
    struct buf_writer w;
    struct compress_table table;
    uint16_t count[MSG_SECTIONS];
    bool truncated;
};

/* Appends section `s` of `m`, RRset by RRset (consecutive records with the
 * same owner, type and class), mark -> write -> check. */
static void relay_section(struct relay_out *o, const struct msg *m, enum msg_section s)
{
    const struct msg_record *rec = &m->record[msg_section_start(m, s)];
    size_t n = m->count[s];
    /* Bounded by the section's records: each pass takes at least one. */
    for (size_t i = 0; i < n && !o->truncated;) {
        size_t end = i + 1;
        while (end < n && relay_same_rrset(m, &rec[i], &rec[end]))
            end++;
        if (rec[i].type == DNS_TYPE_OPT) { /* the upstream's EDNS is not ours to pass on */
            i = end;
            continue;
        }
        size_t mark = buf_writer_mark(&o->w);
        size_t table_mark = compress_mark(&o->table);
        bool fitted = true;
        for (size_t k = i; k < end && fitted; k++)
            fitted = relay_record(&o->w, &o->table, m, &rec[k]);
        if (fitted) {
            o->count[s] = (uint16_t)(o->count[s] + (end - i));
        } else {
            buf_writer_rollback(&o->w, mark);
            compress_rollback(&o->table, table_mark);
            if (s != MSG_ADDITIONAL) /* the additional section is a courtesy (RFC 2181 9) */
                o->truncated = true;
        }
        i = end;
    }
}

size_t relay_write(struct relay *rl, const struct msg_query *query, const struct relay_part *parts,
                   uint8_t *out, size_t max)
{
    unsigned n = query->qdcount;
    bool ok[MSG_QUESTIONS_MAX];
    unsigned rcode = DNS_RCODE_NOERROR;
    bool aa = true, tc = false;
    for (unsigned i = 0; i < n; i++) {
        ok[i] = parts[i].reply != NULL;
        if (ok[i]) {
            enum msg_status st = msg_parse(parts[i].reply, parts[i].len, &rl->parsed[i]);
            if (st != MSG_OK) {
                log_debug("an answer to question %u cannot be relayed: %s", i + 1,
                          msg_strerror(st));
                ok[i] = false;
            }
        }
        const struct hdr *h = &rl->parsed[i].hdr;
        unsigned part_rcode = ok[i] ? hdr_rcode(h) : DNS_RCODE_SERVFAIL;
        if (rcode == DNS_RCODE_NOERROR)
            rcode = part_rcode;
        aa = aa && ok[i] && parts[i].local && hdr_flag(h, HDR_AA);
        tc = tc || (ok[i] && hdr_flag(h, HDR_TC));
    }

    struct relay_out o = {.truncated = false};
    buf_writer_init(&o.w, out, max);
    compress_init(&o.table);
    struct hdr h = hdr_reply_to(&query->hdr, rcode);
    hdr_set_flag(&h, HDR_RA, true);
    hdr_set_flag(&h, HDR_AA, aa);
    h.qdcount = (uint16_t)n;
    hdr_encode(&o.w, &h);
    for (unsigned i = 0; i < n; i++) {
        compress_write_name(&o.w, &o.table, &query->question[i].qname);
        buf_write_u16(&o.w, query->question[i].qtype);
        buf_write_u16(&o.w, query->question[i].qclass);
    }
    if (!buf_writer_ok(&o.w)) {
        /* The questions alone pass the limit: the header with TC (as resp_write). */
        h.qdcount = 0;
        hdr_set_flag(&h, HDR_TC, true);
        buf_writer_rollback(&o.w, 0);
        hdr_encode(&o.w, &h);
        return buf_writer_ok(&o.w) ? o.w.pos : 0;
    }
    /* A truncated upstream reply is passed on as it came, TC and all: its
     * records may be a useful start, and the client retries over TCP. */
    for (int s = 0; s < MSG_SECTIONS && !o.truncated; s++) {
        for (unsigned i = 0; i < n && !o.truncated; i++) {
            if (ok[i])
                relay_section(&o, &rl->parsed[i], (enum msg_section)s);
        }
    }
    hdr_set_flag(&h, HDR_TC, tc || o.truncated);
    h.ancount = o.count[MSG_ANSWER];
    h.nscount = o.count[MSG_AUTHORITY];
    h.arcount = o.count[MSG_ADDITIONAL];
    size_t len = o.w.pos;
    buf_writer_rollback(&o.w, 0);
    hdr_encode(&o.w, &h); /* again, now that the counts are known */
    return len;
}
