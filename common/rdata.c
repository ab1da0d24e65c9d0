/* rdata: the record-type table — for each type, the layout of its RDATA, field by field. */
#include "rdata.h"

#include "dns.h"

/* Sorted by type, so rdata_table() lists them in the order dig's manual would. */
static const struct rdata_type rdata_rows[] = {
    {DNS_TYPE_A, false, -1, 1, {{RDATA_IPV4, "ADDRESS", NULL}}},
    {DNS_TYPE_NS, false, 0, 1, {{RDATA_NAME, "NSDNAME", NULL}}},
    {DNS_TYPE_CNAME, false, -1, 1, {{RDATA_NAME, "CNAME", NULL}}},
    {DNS_TYPE_SOA,
     false,
     -1,
     7,
     {
         {RDATA_NAME, "MNAME", NULL},
         {RDATA_NAME, "RNAME", NULL},
         {RDATA_U32, "SERIAL", NULL},
         {RDATA_SECONDS, "REFRESH", "secondaries check the serial this often"},
         {RDATA_SECONDS, "RETRY", "after a failed refresh"},
         {RDATA_SECONDS, "EXPIRE", "secondaries stop answering after"},
         {RDATA_SECONDS, "MINIMUM", "TTL of negative answers, RFC 2308"},
     }},
    {DNS_TYPE_PTR, false, -1, 1, {{RDATA_NAME, "PTRDNAME", NULL}}},
    {DNS_TYPE_HINFO, false, -1, 2, {{RDATA_STRING, "CPU", NULL}, {RDATA_STRING, "OS", NULL}}},
    {DNS_TYPE_MX,
     false,
     1,
     2,
     {{RDATA_U16, "PREFERENCE", "lower is tried first"}, {RDATA_NAME, "EXCHANGE", NULL}}},
    {DNS_TYPE_TXT, false, -1, 1, {{RDATA_STRINGS, "string", NULL}}},
    {DNS_TYPE_AAAA, false, -1, 1, {{RDATA_IPV6, "ADDRESS", NULL}}},
    {DNS_TYPE_SRV,
     false,
     3,
     4,
     {
         {RDATA_U16, "PRIORITY", "lower is tried first"},
         {RDATA_U16, "WEIGHT", "share among equal priorities"},
         {RDATA_U16, "PORT", NULL},
         {RDATA_NAME_PLAIN, "TARGET", NULL},
     }},
    {DNS_TYPE_OPT, true, -1, 1, {{RDATA_OPTIONS, "option", NULL}}},
};

/* What a type without a row is: bytes (RFC 3597). */
static const struct rdata_field rdata_opaque_field = {RDATA_OPAQUE, "rdata", NULL};

const struct rdata_type *rdata_find(uint16_t type)
{
    for (size_t i = 0; i < sizeof rdata_rows / sizeof rdata_rows[0]; i++)
        if (rdata_rows[i].type == type)
            return &rdata_rows[i];
    return NULL;
}

const struct rdata_type *rdata_table(size_t *count)
{
    *count = sizeof rdata_rows / sizeof rdata_rows[0];
    return rdata_rows;
}

/* The size of a field of fixed size, or 0. */
static size_t rdata_kind_size(enum rdata_kind kind)
{
    switch (kind) {
    case RDATA_U16:
        return 2;
    case RDATA_U32:
    case RDATA_SECONDS:
    case RDATA_IPV4:
        return 4;
    case RDATA_IPV6:
        return 16;
    default:
        return 0;
    }
}

size_t rdata_fixed_size(const struct rdata_type *row)
{
    if (row == NULL)
        return 0;
    size_t total = 0;
    for (unsigned i = 0; i < row->count; i++) {
        size_t n = rdata_kind_size(row->field[i].kind);
        if (n == 0)
            return 0;
        total += n;
    }
    return total;
}

static bool rdata_kind_repeats(enum rdata_kind kind)
{
    return kind == RDATA_STRINGS || kind == RDATA_OPTIONS;
}

void rdata_iter_init(struct rdata_iter *it, const struct rdata_type *row)
{
    it->row = row;
    it->index = 0;
    it->repeats = 0;
}

const struct rdata_field *rdata_iter_next(struct rdata_iter *it, const struct buf_reader *r)
{
    if (it->row == NULL) {
        /* One OPAQUE field takes everything, even nothing. */
        if (it->index++ > 0)
            return NULL;
        return &rdata_opaque_field;
    }
    if (it->index >= it->row->count)
        return NULL;
    const struct rdata_field *f = &it->row->field[it->index];
    if (!rdata_kind_repeats(f->kind)) {
        it->index++;
        return f;
    }
    /* A repeating field goes on while bytes remain; STRINGS needs at least
     * one string (RFC 1035 3.3.14), OPTIONS may be empty. */
    if (buf_remaining(r) > 0 || (f->kind == RDATA_STRINGS && it->repeats == 0)) {
        it->repeats++;
        return f;
    }
    it->index++;
    return NULL;
}

const char *rdata_strerror(enum rdata_status status)
{
    switch (status) {
    case RDATA_OK:
        return "ok";
    case RDATA_ERR_SHORT:
        return "a field runs past the end of the RDATA";
    case RDATA_ERR_NAME:
        return "a name in the RDATA cannot be read";
    case RDATA_ERR_LEFTOVER:
        return "bytes left over after the RDATA fields";
    case RDATA_ERR_ROOM:
        return "no room for the RDATA";
    }
    return "unknown RDATA error";
}

enum rdata_status rdata_read(struct buf_reader *r, enum rdata_kind kind, struct rdata_value *v)
{
    v->start = r->pos;
    v->number = 0;
    switch (kind) {
    case RDATA_NAME:
    case RDATA_NAME_PLAIN: {
        enum name_status st = name_read(r, &v->name);
        v->end = r->pos;
        if (st == NAME_ERR_TRUNCATED)
            return RDATA_ERR_SHORT;
        return st == NAME_OK ? RDATA_OK : RDATA_ERR_NAME;
    }
    case RDATA_U16:
        v->number = buf_read_u16(r);
        break;
    case RDATA_U32:
    case RDATA_SECONDS:
        v->number = buf_read_u32(r);
        break;
    case RDATA_IPV4:
    case RDATA_IPV6:
        buf_skip(r, rdata_kind_size(kind));
        break;
    case RDATA_STRING:
    case RDATA_STRINGS:
        buf_skip(r, buf_read_u8(r));
        break;
    case RDATA_OPTIONS:
        v->number = buf_read_u16(r);
        buf_skip(r, buf_read_u16(r));
        break;
    case RDATA_OPAQUE:
        buf_skip(r, buf_remaining(r));
        break;
    }
    v->end = r->pos;
    return buf_reader_ok(r) ? RDATA_OK : RDATA_ERR_SHORT;
}

enum rdata_status rdata_unpack(struct buf_reader *r, uint16_t type, uint16_t rdlength,
                               struct buf_writer *w)
{
    if (rdlength > buf_remaining(r)) {
        buf_reader_fail(r);
        return RDATA_ERR_SHORT;
    }
    /* A reader that ends where the RDATA ends, so no field can read past it,
     * while names can still point back into the whole message. */
    size_t end = r->pos + rdlength;
    struct buf_reader in;
    buf_reader_init(&in, r->data, end);
    buf_seek(&in, r->pos);

    struct rdata_iter it;
    rdata_iter_init(&it, rdata_find(type));
    enum rdata_status status = RDATA_OK;
    /* Bounded: every field consumes at least one byte of a finite RDATA, or
     * fails, and a fixed row has at most RDATA_FIELDS_MAX fields. */
    for (const struct rdata_field *f; status == RDATA_OK && (f = rdata_iter_next(&it, &in));) {
        struct rdata_value v;
        status = rdata_read(&in, f->kind, &v);
        if (status != RDATA_OK || w == NULL)
            continue;
        if (rdata_is_name(f->kind))
            name_write(w, &v.name);
        else
            buf_write_bytes(w, in.data + v.start, v.end - v.start);
        if (!buf_writer_ok(w))
            status = RDATA_ERR_ROOM;
    }
    if (status == RDATA_OK && in.pos != end)
        status = RDATA_ERR_LEFTOVER;
    if (status != RDATA_OK) {
        buf_reader_fail(r);
        return status;
    }
    buf_seek(r, end);
    return RDATA_OK;
}

bool rdata_name_at(const struct rdata_type *row, const uint8_t *rdata, size_t len, int index,
                   struct name *out)
{
    if (row == NULL || index < 0 || (unsigned)index >= row->count ||
        !rdata_is_name(row->field[index].kind))
        return false;
    struct buf_reader r;
    buf_reader_init(&r, rdata, len);
    /* The fields before `index` are never repeating ones (only the last
     * field repeats), so each is read exactly once. */
    for (int i = 0; i <= index; i++) {
        struct rdata_value v;
        if (rdata_read(&r, row->field[i].kind, &v) != RDATA_OK)
            return false;
        if (i == index)
            *out = v.name;
    }
    return true;
}
