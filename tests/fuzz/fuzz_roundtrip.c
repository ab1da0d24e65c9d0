/* fuzz_roundtrip: parse a message, write it again plainly and with compression, parse: the same. */
#include "compress.h"
#include "fuzz.h"

enum {
    /* Records kept per message. A message of 65535 bytes holds at most
     * 65535 / 11 records (root owner + 10 fixed bytes); past this many the
     * rest is ignored, which costs nothing but coverage. */
    FUZZ_RECORDS_MAX = 512,
    /* Worst case a record grows to when re-written: an owner of 255 octets,
     * the fixed fields, and SOA RDATA of two 255-octet names + 20. */
    FUZZ_RECORD_GROWTH = NAME_WIRE_MAX + DNS_RR_FIXED + 2 * NAME_WIRE_MAX + 20,
};

/* One record as parsed: the fields, and its RDATA either as names (the
 * types whose names are compressed) or as the bytes themselves. */
struct rec {
    struct msg_rr rr;
    bool has_names;
    struct name names[2];
    const uint8_t *rdata; /* into the message it was read from */
};

struct parsed {
    struct hdr hdr;
    unsigned qdcount, rrcount;
    struct msg_question question[FUZZ_RECORDS_MAX];
    struct rec rec[FUZZ_RECORDS_MAX];
};

/* Parses the header, every question and every record; false at the first
 * thing that does not parse (or past FUZZ_RECORDS_MAX). */
static bool parse(const uint8_t *msg, size_t len, struct parsed *p)
{
    struct buf_reader r;
    buf_reader_init(&r, msg, len);
    hdr_decode(&r, &p->hdr);
    p->qdcount = p->hdr.qdcount;
    p->rrcount = (unsigned)p->hdr.ancount + p->hdr.nscount + p->hdr.arcount;
    if (!buf_reader_ok(&r) || p->qdcount > FUZZ_RECORDS_MAX || p->rrcount > FUZZ_RECORDS_MAX)
        return false;
    for (unsigned i = 0; i < p->qdcount; i++)
        if (msg_read_question(&r, &p->question[i]) != NAME_OK)
            return false;
    for (unsigned i = 0; i < p->rrcount; i++) {
        struct rec *e = &p->rec[i];
        if (msg_read_rr(&r, &e->rr) != NAME_OK)
            return false;
        e->rdata = msg + e->rr.rdata_offset;
        e->has_names = fuzz_rdata_names(msg, len, &e->rr, e->names);
    }
    return true;
}

/* A name with compression (step 5's writer) if `t` is not NULL, else plainly. */
static void write_name(struct buf_writer *w, struct compress_table *t, const struct name *n)
{
    if (t != NULL)
        compress_write_name(w, t, n);
    else
        name_write(w, n);
}

/* Writes `p` again; names through `t` if not NULL. Returns the length. */
static size_t encode(const struct parsed *p, uint8_t *out, size_t cap, struct compress_table *t)
{
    struct buf_writer w;
    buf_writer_init(&w, out, cap);
    if (t != NULL)
        compress_init(t);
    hdr_encode(&w, &p->hdr);
    for (unsigned i = 0; i < p->qdcount; i++) {
        write_name(&w, t, &p->question[i].qname);
        buf_write_u16(&w, p->question[i].qtype);
        buf_write_u16(&w, p->question[i].qclass);
    }
    for (unsigned i = 0; i < p->rrcount; i++) {
        const struct rec *e = &p->rec[i];
        write_name(&w, t, &e->rr.owner);
        buf_write_u16(&w, e->rr.type);
        buf_write_u16(&w, e->rr.class_);
        buf_write_u32(&w, e->rr.ttl);
        size_t rdlength_at = w.pos;
        buf_write_u16(&w, 0);
        size_t prefix, suffix;
        unsigned count;
        if (e->has_names && fuzz_rdata_layout(e->rr.type, &prefix, &count, &suffix)) {
            buf_write_bytes(&w, e->rdata, prefix);
            for (unsigned k = 0; k < count; k++)
                write_name(&w, t, &e->names[k]);
            /* The fixed fields follow the names in the original RDATA. */
            buf_write_bytes(&w, e->rdata + e->rr.rdlength - suffix, suffix);
        } else {
            /* Opaque RDATA, or names that do not parse: copied as it is. */
            buf_write_bytes(&w, e->rdata, e->rr.rdlength);
        }
        FUZZ_CHECK(buf_writer_ok(&w), "record %u does not fit %zu bytes", i, cap);
        FUZZ_CHECK(w.pos - rdlength_at - 2 <= 0xFFFF, "record %u: RDATA over 65535 bytes", i);
        buf_write_u16_at(&w, rdlength_at, (uint16_t)(w.pos - rdlength_at - 2));
    }
    FUZZ_CHECK(buf_writer_ok(&w), "%u questions and %u records do not fit %zu bytes", p->qdcount,
               p->rrcount, cap);
    return w.pos;
}

/* `b` must hold what `a` holds, every name byte for byte: compression points
 * only at suffixes of the same case (compress.h), so it keeps case too. */
static void compare(const struct parsed *a, const struct parsed *b, const char *what)
{
    FUZZ_CHECK(memcmp(&a->hdr, &b->hdr, sizeof a->hdr) == 0, "%s: header differs", what);
    for (unsigned i = 0; i < a->qdcount; i++)
        FUZZ_CHECK(fuzz_name_same(&a->question[i].qname, &b->question[i].qname) &&
                       a->question[i].qtype == b->question[i].qtype &&
                       a->question[i].qclass == b->question[i].qclass,
                   "%s: question %u differs", what, i);
    for (unsigned i = 0; i < a->rrcount; i++) {
        const struct rec *x = &a->rec[i], *y = &b->rec[i];
        FUZZ_CHECK(fuzz_name_same(&x->rr.owner, &y->rr.owner), "%s: record %u: owner differs", what,
                   i);
        FUZZ_CHECK(x->rr.type == y->rr.type && x->rr.class_ == y->rr.class_ &&
                       x->rr.ttl == y->rr.ttl,
                   "%s: record %u: TYPE, CLASS or TTL differs", what, i);
        /* Only one way: opaque RDATA copied as it is may hold bytes that
         * happen to read as a name at its new offset. */
        if (x->has_names) {
            FUZZ_CHECK(y->has_names, "%s: record %u (type %u): its RDATA names no longer read",
                       what, i, (unsigned)x->rr.type);
            size_t prefix, suffix;
            unsigned count;
            fuzz_rdata_layout(x->rr.type, &prefix, &count, &suffix);
            for (unsigned k = 0; k < count; k++)
                FUZZ_CHECK(fuzz_name_same(&x->names[k], &y->names[k]),
                           "%s: record %u: RDATA name %u", what, i, k);
            FUZZ_CHECK(memcmp(x->rdata, y->rdata, prefix) == 0 &&
                           memcmp(x->rdata + x->rr.rdlength - suffix,
                                  y->rdata + y->rr.rdlength - suffix, suffix) == 0,
                       "%s: record %u: RDATA fields around the names differ", what, i);
        } else {
            FUZZ_CHECK(x->rr.rdlength == y->rr.rdlength &&
                           memcmp(x->rdata, y->rdata, x->rr.rdlength) == 0,
                       "%s: record %u: RDATA differs", what, i);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct parsed first, plain, packed;
    static struct compress_table table;
    if (!parse(data, size, &first))
        return 0;

    /* Each record may grow by FUZZ_RECORD_GROWTH; opaque RDATA is copied,
     * and all of it together is shorter than the input. */
    size_t cap =
        DNS_HEADER_SIZE + (size_t)(first.qdcount + first.rrcount) * FUZZ_RECORD_GROWTH + size;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL, "out of memory");

    /* Plainly: every name byte for byte. */
    size_t n = encode(&first, out, cap, NULL);
    FUZZ_CHECK(parse(out, n, &plain), "the message written plainly does not parse");
    compare(&first, &plain, "plain");
    size_t plain_len = n;

    /* Compressed: the same, and never longer. */
    n = encode(&first, out, cap, &table);
    FUZZ_CHECK(parse(out, n, &packed), "the message written compressed does not parse");
    compare(&first, &packed, "compressed");
    FUZZ_CHECK(n <= plain_len, "compressed %zu bytes, plain %zu", n, plain_len);
    free(out);
    return 0;
}
