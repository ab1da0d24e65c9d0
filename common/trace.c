/* trace: an annotated hex dump of a DNS message, field by field, for learners. */
#include "trace.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "name.h"
#include "rdata.h"

/*
 * One walker serves both trace_message() and trace_summary(): with `out` NULL
 * it prints nothing and only remembers the first question and why it
 * stopped, so the summary can never disagree with the dump about what is
 * wrong with a message.
 *
 * Every byte is read through a struct buf_reader and every name through
 * name_read_visit(), so the tracer has exactly the guards the server has: a
 * packet that could loop or overrun the server's parser is shown failing in
 * the same place, for the same reason.
 */

enum {
    /* Bytes shown per line: 8 keeps a line inside 100 columns with room for
     * the decoded value, and makes offsets easy to count (0000, 0008, ...). */
    TRACE_BYTES_PER_LINE = 8,
    /* "0000    " then 8 bytes as "xx" with spaces (23 chars, padded to 25),
     * then the field name padded to 10 plus one space, so that a 10-letter
     * name like PREFERENCE still has a space before its value. */
    TRACE_BYTES_WIDTH = 25,
    TRACE_FIELD_WIDTH = 10,
    TRACE_VALUE_COLUMN = 8 + TRACE_BYTES_WIDTH + TRACE_FIELD_WIDTH + 1,
    /* A value may hold two names in text form (a pointer's target and the
     * whole name), each up to NAME_TEXT_MAX. */
    TRACE_VALUE_MAX = 2 * NAME_TEXT_MAX + 128,
    /* A reason the walk stopped, and where: "additional 65535" fits. */
    TRACE_WHY_MAX = 200,
    TRACE_WHERE_MAX = 40,
    /* A character-string is a length byte and up to 255 bytes (RFC 1035
     * 3.3); escaped, each byte takes at most 4 chars (\DDD). */
    TRACE_STRING_MAX = 255,
    TRACE_STRING_TEXT_MAX = 4 * TRACE_STRING_MAX + 1,
    /* Parts of one name at one position: at most 127 labels (a longer name
     * passes 255 octets), then a root or a pointer. name.c stops before
     * that, and the collector still refuses to overflow if it did not. */
    TRACE_PARTS_MAX = NAME_LABELS_MAX + 1,
    /* Room for any summary: a name in text form, header words, counts and
     * two reasons. The caller's `cap` may be smaller; it is cut to fit. */
    TRACE_SUMMARY_MAX = NAME_TEXT_MAX + 3 * TRACE_WHY_MAX,
};

struct trace {
    FILE *out; /* NULL: walk quietly, for the summary */
    const uint8_t *msg;
    size_t len;
    struct buf_reader r;         /* the walk's position in the whole message */
    size_t shown;                /* bytes [0, shown) have been printed */
    char where[TRACE_WHERE_MAX]; /* "answer 2": starts every reason */
    unsigned entries;            /* questions and records walked so far */
    struct hdr h;
    bool have_question; /* the first question was read into q* */
    struct name qname;
    uint16_t qtype, qclass;
    char why[TRACE_WHY_MAX]; /* why the walk stopped early; "" if it did not */
    bool why_is_trailing;    /* it stopped on trailing bytes: the records were fine */
    /* The first RDATA that did not fit its RDLENGTH: "answer 2: " and a why. */
    char bad_rdata[TRACE_WHERE_MAX + 2 + TRACE_WHY_MAX];
};

#define TRACE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Output ------------------------------------------------------------------ */

static void trace_line(const struct trace *t, size_t off, const char *hex, const char *field,
                       const char *value)
{
    /* No trailing blanks: the dump is meant to be pasted into chapters. */
    if (value[0])
        fprintf(t->out, "%04zx    %-*s%-*s %s\n", off, TRACE_BYTES_WIDTH, hex, TRACE_FIELD_WIDTH,
                field, value);
    else if (field[0])
        fprintf(t->out, "%04zx    %-*s%s\n", off, TRACE_BYTES_WIDTH, hex, field);
    else
        fprintf(t->out, "%04zx    %s\n", off, hex);
}

/*
 * Prints bytes [start, end) of the message, TRACE_BYTES_PER_LINE to a line;
 * the first line also gets `field` and `value`, the others only an offset
 * and bytes. The bytes are read through a reader of its own, so an offset
 * that is wrong can at worst print fewer bytes, never read outside.
 */
static void trace_bytes(struct trace *t, size_t start, size_t end, const char *field,
                        const char *value)
{
    if (end > t->len)
        end = t->len;
    if (end > t->shown)
        t->shown = end;
    if (!t->out || start >= end)
        return;

    struct buf_reader p;
    buf_reader_init(&p, t->msg, t->len);
    buf_seek(&p, start);
    bool first = true;
    size_t off = start;
    while (off < end && buf_reader_ok(&p)) {
        char hex[3 * TRACE_BYTES_PER_LINE + 1];
        size_t n = 0, used = 0;
        hex[0] = '\0';
        for (; n < TRACE_BYTES_PER_LINE && off + n < end; n++) {
            uint8_t b = buf_read_u8(&p);
            if (!buf_reader_ok(&p))
                break;
            used += (size_t)snprintf(hex + used, sizeof(hex) - used, n ? " %02x" : "%02x", b);
        }
        if (n == 0)
            break;
        trace_line(t, off, hex, first ? field : "", first ? value : "");
        first = false;
        off += n;
    }
}

/* trace_bytes() with a printf-style value. */
TRACE_PRINTF(5, 6)
static void trace_field(struct trace *t, size_t start, size_t end, const char *field,
                        const char *fmt, ...)
{
    char value[TRACE_VALUE_MAX];
    value[0] = '\0';
    if (t->out) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(value, sizeof(value), fmt, ap);
        va_end(ap);
    }
    trace_bytes(t, start, end, field, value);
}

/* A line under the value column, for a value too long for one line. */
TRACE_PRINTF(2, 3)
static void trace_more(const struct trace *t, const char *fmt, ...)
{
    if (!t->out)
        return;
    fprintf(t->out, "%*s", TRACE_VALUE_COLUMN, "");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->out, fmt, ap);
    va_end(ap);
    fputc('\n', t->out);
}

/* A comment line ("; answer 1") in the bytes column, where no bytes are. */
TRACE_PRINTF(2, 3)
static void trace_note(const struct trace *t, const char *fmt, ...)
{
    if (!t->out)
        return;
    fputs("        ; ", t->out);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(t->out, fmt, ap);
    va_end(ap);
    fputc('\n', t->out);
}

/*
 * Stops the walk: remembers why, prints it, and shows every byte not yet
 * shown as "??" so nothing in the datagram is hidden from the reader.
 * Returns false, for `return trace_stop(...)`.
 */
TRACE_PRINTF(2, 3)
static bool trace_stop(struct trace *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->why, sizeof(t->why), fmt, ap);
    va_end(ap);
    trace_note(t, "%s%s", t->why_is_trailing ? "" : "undecodable: ", t->why);
    size_t left = t->len - t->shown;
    trace_field(t, t->shown, t->len, "??", "%zu byte%s not decoded", left, left == 1 ? "" : "s");
    return false;
}

/* Text helpers -------------------------------------------------------------- */

/* "1w2d3h4m5s" from seconds, as dig +ttlunits writes TTLs; "0s" for 0. */
static const char *trace_duration(uint32_t secs, char *out, size_t cap)
{
    static const struct {
        uint32_t secs;
        char unit;
    } units[] = {{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        uint32_t n = secs / units[i].secs;
        secs %= units[i].secs;
        if (n > 0 && used < cap)
            used += (size_t)snprintf(out + used, cap - used, "%u%c", (unsigned)n, units[i].unit);
    }
    if (out[0] == '\0')
        snprintf(out, cap, "0s");
    return out;
}

/* A character-string in quotes: '"' and '\' escaped with '\', bytes outside
 * printable ASCII as \DDD, the way dig and zone files write them. */
static const char *trace_quote(const uint8_t *s, size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < cap; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            used += (size_t)snprintf(out + used, cap - used, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            used += (size_t)snprintf(out + used, cap - used, "%c", c);
        else
            used += (size_t)snprintf(out + used, cap - used, "\\%03u", c);
    }
    return out;
}

/* A label in text form, escaped exactly as name_to_text() escapes it: the
 * label is made into a one-label name and its final dot dropped. */
static const char *trace_label_text(const uint8_t *label, size_t n, char *out, size_t cap)
{
    struct name one;
    out[0] = '\0';
    if (n > NAME_LABEL_MAX)
        return out;
    one.wire[0] = (uint8_t)n;
    memcpy(one.wire + 1, label, n);
    one.wire[n + 1] = 0;
    one.len = (uint8_t)(n + 2);
    int tlen = name_to_text(&one, out, cap);
    if (tlen > 0 && out[tlen - 1] == '.')
        out[tlen - 1] = '\0';
    return out;
}

static const char *trace_name_text(const struct name *n, char *out, size_t cap)
{
    if (name_to_text(n, out, cap) < 0)
        snprintf(out, cap, "(name too long to print)");
    return out;
}

/* "A (1)", or "TYPE65280 (unknown)" in the RFC 3597 form dig uses. */
static const char *trace_type_text(uint16_t type, char *out, size_t cap)
{
    const char *known = dns_type_name(type);
    if (known)
        snprintf(out, cap, "%s (%u)", known, (unsigned)type);
    else
        snprintf(out, cap, "TYPE%u (unknown)", (unsigned)type);
    return out;
}

static const char *trace_class_text(uint16_t class_, char *out, size_t cap)
{
    const char *known = dns_class_name(class_);
    if (known)
        snprintf(out, cap, "%s (%u)", known, (unsigned)class_);
    else
        snprintf(out, cap, "CLASS%u (unknown)", (unsigned)class_);
    return out;
}

/* "rd ad": the flags that are set, lower case, in header order. */
static const char *trace_flag_words(uint16_t flags, bool with_qr, char *out, size_t cap)
{
    static const struct {
        uint16_t mask;
        const char *word;
    } bits[] = {{HDR_QR, "qr"}, {HDR_AA, "aa"}, {HDR_TC, "tc"}, {HDR_RD, "rd"},
                {HDR_RA, "ra"}, {HDR_Z, "z"},   {HDR_AD, "ad"}, {HDR_CD, "cd"}};
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        if (!(flags & bits[i].mask) || (bits[i].mask == HDR_QR && !with_qr) || used >= cap)
            continue;
        used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? " " : "", bits[i].word);
    }
    return out;
}

static const char *trace_opcode_text(unsigned opcode, char *out, size_t cap)
{
    const char *known = dns_opcode_name(opcode);
    if (known)
        snprintf(out, cap, "%s", known);
    else
        snprintf(out, cap, "OPCODE%u", opcode);
    return out;
}

static const char *trace_rcode_text(unsigned rcode, char *out, size_t cap)
{
    const char *known = dns_rcode_name(rcode);
    if (known)
        snprintf(out, cap, "%s", known);
    else
        snprintf(out, cap, "RCODE%u", rcode);
    return out;
}

/* Names -------------------------------------------------------------------- */

struct trace_part {
    enum name_part part;
    size_t offset;
    size_t label_len;
    size_t target;
};

struct trace_parts {
    size_t count;
    struct trace_part part[TRACE_PARTS_MAX];
};

static name_visit_fn trace_collect;

/* Only remembers the parts: a pointer's line shows the whole name, which is
 * known only once name_read_visit() has returned. */
static void trace_collect(void *ctx, enum name_part part, size_t offset, const uint8_t *label,
                          size_t label_len, size_t pointer_target)
{
    struct trace_parts *parts = ctx;
    (void)label; /* re-read through a reader when printed */
    if (parts->count >= TRACE_PARTS_MAX)
        return;
    parts->part[parts->count++] = (struct trace_part){part, offset, label_len, pointer_target};
}

/*
 * Reads the name at r's position and prints each of its parts: labels,
 * then the root or a pointer (with the name it leads to). `role` ("MNAME")
 * is added to the last line for names inside RDATA. Returns the status;
 * on failure the parts read before the failure are printed, and the caller
 * decides whether the walk can go on.
 */
static enum name_status trace_name(struct trace *t, struct buf_reader *r, const char *role,
                                   struct name *out)
{
    struct trace_parts parts;
    parts.count = 0;
    enum name_status st = name_read_visit(r, out, trace_collect, &parts);

    char tag[32] = "";
    if (role)
        snprintf(tag, sizeof(tag), " (%s)", role);
    size_t prefix = 0; /* octets of labels before a pointer */
    for (size_t i = 0; i < parts.count; i++) {
        const struct trace_part *p = &parts.part[i];
        char full[NAME_TEXT_MAX];
        if (p->part == NAME_PART_LABEL) {
            uint8_t label[NAME_LABEL_MAX];
            char text[NAME_TEXT_MAX];
            size_t n = p->label_len <= NAME_LABEL_MAX ? p->label_len : NAME_LABEL_MAX;
            struct buf_reader lr;
            buf_reader_init(&lr, t->msg, t->len);
            buf_seek(&lr, p->offset + 1);
            buf_read_bytes(&lr, label, n);
            trace_field(t, p->offset, p->offset + 1 + n, "label", "%zu \"%s\"", n,
                        trace_label_text(label, n, text, sizeof(text)));
            prefix += 1 + n;
        } else if (p->part == NAME_PART_ROOT) {
            if (st == NAME_OK)
                trace_field(t, p->offset, p->offset + 1, "root", "-> %s%s",
                            trace_name_text(out, full, sizeof(full)), tag);
            else
                trace_field(t, p->offset, p->offset + 1, "root", "(end of the name)");
        } else if (st != NAME_OK || prefix >= out->len) {
            trace_field(t, p->offset, p->offset + 2, "pointer", "-> 0x%04zx", p->target);
        } else {
            /* The target's labels are the end of the whole name, so its text
             * is the suffix of `out` after the labels seen here. */
            struct name suffix;
            char stext[NAME_TEXT_MAX];
            suffix.len = (uint8_t)(out->len - prefix);
            memcpy(suffix.wire, out->wire + prefix, suffix.len);
            trace_name_text(&suffix, stext, sizeof(stext));
            trace_field(t, p->offset, p->offset + 2, "pointer", "-> 0x%04zx: %s%s", p->target,
                        stext, prefix ? "" : tag);
            /* With labels before the pointer, the whole name is worth a line
             * of its own: it is what a reader of the record wants to know. */
            if (prefix)
                trace_more(t, "= %s%s", trace_name_text(out, full, sizeof(full)), tag);
        }
    }
    return st;
}

/* Fixed-size fields of the walk ---------------------------------------------- */

/* Reads a 16-bit field for the walk, or stops it naming the field. */
static bool trace_u16(struct trace *t, const char *field, uint16_t *v, size_t *start)
{
    *start = t->r.pos;
    *v = buf_read_u16(&t->r);
    if (!buf_reader_ok(&t->r))
        return trace_stop(t, "%s: %s runs past the end of the message", t->where, field);
    return true;
}

static bool trace_u32(struct trace *t, const char *field, uint32_t *v, size_t *start)
{
    *start = t->r.pos;
    *v = buf_read_u32(&t->r);
    if (!buf_reader_ok(&t->r))
        return trace_stop(t, "%s: %s runs past the end of the message", t->where, field);
    return true;
}

/* Header ---------------------------------------------------------------------- */

static void trace_header(struct trace *t)
{
    const struct hdr *h = &t->h;
    char words[64], opcode[16], rcode[16];
    trace_field(t, 0, 2, "ID", "%u (0x%04x)", (unsigned)h->id, (unsigned)h->id);
    trace_flag_words(h->flags, false, words, sizeof(words));
    trace_field(
        t, 2, 4, "flags", "%s, opcode %s, %s, rcode %s", hdr_flag(h, HDR_QR) ? "response" : "query",
        trace_opcode_text(hdr_opcode(h), opcode, sizeof(opcode)), words[0] ? words : "no flags",
        trace_rcode_text(hdr_rcode(h), rcode, sizeof(rcode)));
    trace_more(t, "QR=%d OPCODE=%u AA=%d TC=%d RD=%d RA=%d Z=%d AD=%d CD=%d RCODE=%u",
               hdr_flag(h, HDR_QR), hdr_opcode(h), hdr_flag(h, HDR_AA), hdr_flag(h, HDR_TC),
               hdr_flag(h, HDR_RD), hdr_flag(h, HDR_RA), hdr_flag(h, HDR_Z), hdr_flag(h, HDR_AD),
               hdr_flag(h, HDR_CD), hdr_rcode(h));
    trace_field(t, 4, 6, "QDCOUNT", "%u", (unsigned)h->qdcount);
    trace_field(t, 6, 8, "ANCOUNT", "%u", (unsigned)h->ancount);
    trace_field(t, 8, 10, "NSCOUNT", "%u", (unsigned)h->nscount);
    trace_field(t, 10, 12, "ARCOUNT", "%u", (unsigned)h->arcount);
}

/* RDATA ------------------------------------------------------------------------ */

/*
 * RDATA is decoded field by field from the record-type table (rdata.h), the
 * same table the zone reader and the reply writer use. It reads from `r`, a
 * reader over the message that ends where the RDATA ends: a field that would
 * cross RDLENGTH fails like one that crosses the end of the message, while
 * compression pointers (which point backwards) still reach the earlier
 * names. A decoder returns false after writing why into `why`.
 */
struct trace_rdata {
    struct trace *t;
    struct buf_reader *r;
    uint16_t rdlength;
    char why[TRACE_WHY_MAX];
};

static bool trace_rdata_name(struct trace_rdata *d, const char *role)
{
    struct name n;
    enum name_status st = trace_name(d->t, d->r, role, &n);
    if (st == NAME_OK)
        return true;
    if (st == NAME_ERR_TRUNCATED)
        snprintf(d->why, sizeof(d->why), "%s runs past the end of the RDATA", role);
    else
        snprintf(d->why, sizeof(d->why), "%s: %s", role, name_strerror(st));
    return false;
}

/* Reads a 16-bit number inside RDATA that is not a field of its own (an
 * option's code or length). */
static bool trace_rdata_u16(struct trace_rdata *d, const char *field, uint32_t *v, size_t *start)
{
    *start = d->r->pos;
    *v = buf_read_u16(d->r);
    if (buf_reader_ok(d->r))
        return true;
    snprintf(d->why, sizeof(d->why), "%s runs past the end of the RDATA", field);
    return false;
}

static const char *trace_option_name(uint16_t code)
{
    switch (code) {
    case 3:
        return "NSID";
    case 8:
        return "CLIENT-SUBNET";
    case 9:
        return "EXPIRE";
    case 10:
        return "COOKIE";
    case 11:
        return "TCP-KEEPALIVE";
    case 12:
        return "PADDING";
    case 15:
        return "EDE";
    default:
        return NULL;
    }
}

/* One EDNS option (RFC 6891 6.1.2): a code, a length and that many bytes. */
static bool trace_rdata_option(struct trace_rdata *d)
{
    uint32_t code, olen;
    size_t start;
    if (!trace_rdata_u16(d, "OPTION-CODE", &code, &start))
        return false;
    const char *name = trace_option_name((uint16_t)code);
    trace_field(d->t, start, d->r->pos, "OPT-CODE", "%s (%u)", name ? name : "unknown",
                (unsigned)code);
    if (!trace_rdata_u16(d, "OPTION-LENGTH", &olen, &start))
        return false;
    trace_field(d->t, start, d->r->pos, "OPT-LEN", "%u", (unsigned)olen);
    start = d->r->pos;
    buf_skip(d->r, olen);
    if (!buf_reader_ok(d->r)) {
        snprintf(d->why, sizeof(d->why), "option data of %u bytes runs past the RDATA",
                 (unsigned)olen);
        return false;
    }
    trace_field(d->t, start, d->r->pos, "OPT-DATA", "%u byte%s", (unsigned)olen,
                olen == 1 ? "" : "s");
    return true;
}

/* One character-string: a length byte, then that many bytes. */
static bool trace_rdata_string(struct trace_rdata *d, const struct rdata_field *f)
{
    size_t start = d->r->pos;
    if (buf_remaining(d->r) == 0) {
        snprintf(d->why, sizeof(d->why), "%s runs past the end of the RDATA", f->name);
        return false;
    }
    uint8_t n = buf_read_u8(d->r);
    uint8_t s[TRACE_STRING_MAX];
    buf_read_bytes(d->r, s, n);
    if (!buf_reader_ok(d->r)) {
        snprintf(d->why, sizeof(d->why),
                 "a character-string of %u bytes runs past the end of the RDATA", (unsigned)n);
        return false;
    }
    char text[TRACE_STRING_TEXT_MAX];
    trace_field(d->t, start, d->r->pos, f->name, "%u \"%s\"", (unsigned)n,
                trace_quote(s, n, text, sizeof(text)));
    return true;
}

/* One field of the row; names are shown label by label like any other name. */
static bool trace_rdata_field(struct trace_rdata *d, uint16_t type, const struct rdata_field *f)
{
    if (rdata_is_name(f->kind))
        return trace_rdata_name(d, f->name);
    if (f->kind == RDATA_STRING || f->kind == RDATA_STRINGS)
        return trace_rdata_string(d, f);
    if (f->kind == RDATA_OPTIONS)
        return trace_rdata_option(d);

    struct rdata_value v;
    if (rdata_read(d->r, f->kind, &v) != RDATA_OK) {
        snprintf(d->why, sizeof(d->why), "%s runs past the end of the RDATA", f->name);
        return false;
    }
    char text[INET6_ADDRSTRLEN], human[32], ttext[32];
    uint8_t addr[16];
    struct buf_reader bytes;
    buf_reader_init(&bytes, d->r->data, v.end);
    buf_seek(&bytes, v.start);
    switch (f->kind) {
    case RDATA_IPV4:
    case RDATA_IPV6:
        buf_read_bytes(&bytes, addr, v.end - v.start);
        if (!inet_ntop(f->kind == RDATA_IPV4 ? AF_INET : AF_INET6, addr, text, sizeof(text)))
            snprintf(text, sizeof(text), "?");
        trace_field(d->t, v.start, v.end, f->name, "%s", text);
        break;
    case RDATA_SECONDS:
        trace_duration(v.number, human, sizeof(human));
        if (f->note)
            trace_field(d->t, v.start, v.end, f->name, "%lu (%s: %s)", (unsigned long)v.number,
                        human, f->note);
        else
            trace_field(d->t, v.start, v.end, f->name, "%lu (%s)", (unsigned long)v.number, human);
        break;
    case RDATA_OPAQUE:
        trace_field(d->t, v.start, v.end, f->name, "%u byte%s of %s, not decoded here",
                    (unsigned)d->rdlength, d->rdlength == 1 ? "" : "s",
                    trace_type_text(type, ttext, sizeof(ttext)));
        break;
    default: /* the numbers */
        if (f->note)
            trace_field(d->t, v.start, v.end, f->name, "%lu (%s)", (unsigned long)v.number,
                        f->note);
        else
            trace_field(d->t, v.start, v.end, f->name, "%lu", (unsigned long)v.number);
        break;
    }
    return true;
}

static bool trace_rdata_decode(struct trace_rdata *d, uint16_t type)
{
    /* An empty RDATA is legal for some types in UPDATE and for OPT; there is
     * nothing to show and nothing to check. */
    if (d->rdlength == 0)
        return true;
    const struct rdata_type *row = rdata_find(type);
    /* Fixed-size RDATA (A, AAAA) of the wrong size is checked first: the
     * usual cause is an address written as text, which the caller shows. */
    size_t fixed = rdata_fixed_size(row);
    if (fixed != 0 && d->rdlength != fixed) {
        char ttext[32];
        snprintf(d->why, sizeof(d->why), "%s RDATA is %zu bytes, but RDLENGTH is %u",
                 dns_type_text(type, ttext, sizeof(ttext)), fixed, (unsigned)d->rdlength);
        return false;
    }
    struct rdata_iter it;
    rdata_iter_init(&it, row);
    /* Bounded: each field consumes bytes of the RDATA or fails. */
    for (const struct rdata_field *f; (f = rdata_iter_next(&it, d->r)) != NULL;)
        if (!trace_rdata_field(d, type, f))
            return false;
    return true;
}

/*
 * ", as text \"8.8.8.8\"" when bytes [start, end) are all printable ASCII:
 * the usual reason an address's RDATA has the wrong length is that it was
 * written as text, and this makes the mistake plain. "" otherwise.
 */
static const char *trace_text_hint(const struct trace *t, size_t start, size_t end, char *out,
                                   size_t cap)
{
    uint8_t bytes[TRACE_STRING_MAX];
    char quoted[TRACE_STRING_TEXT_MAX];
    size_t n = end - start;
    out[0] = '\0';
    if (start >= end || n > sizeof(bytes))
        return out;
    struct buf_reader p;
    buf_reader_init(&p, t->msg, t->len);
    buf_seek(&p, start);
    buf_read_bytes(&p, bytes, n);
    if (!buf_reader_ok(&p))
        return out;
    for (size_t i = 0; i < n; i++)
        if (bytes[i] < 0x20 || bytes[i] >= 0x7f)
            return out;
    snprintf(out, cap, ", as text \"%s\"", trace_quote(bytes, n, quoted, sizeof(quoted)));
    return out;
}

/*
 * Decodes RDATA [start, start + rdlength), which the caller has checked
 * lies inside the message. RDLENGTH frames the record, so whatever is wrong
 * inside, the walk goes on after it.
 */
static void trace_rdata(struct trace *t, uint16_t type, size_t start, uint16_t rdlength)
{
    size_t end = start + rdlength;
    struct buf_reader r;
    buf_reader_init(&r, t->msg, end);
    buf_seek(&r, start);
    struct trace_rdata d = {.t = t, .r = &r, .rdlength = rdlength, .why = ""};
    bool ok = trace_rdata_decode(&d, type);
    if (ok && r.pos < end)
        snprintf(d.why, sizeof(d.why), "%zu byte%s left over after the RDATA fields", end - r.pos,
                 end - r.pos == 1 ? "" : "s");
    if (d.why[0]) {
        trace_note(t, "RDATA does not match RDLENGTH %u: %s", (unsigned)rdlength, d.why);
        if (t->shown < end) {
            size_t left = end - t->shown;
            char text[TRACE_STRING_TEXT_MAX];
            trace_field(t, t->shown, end, "??", "%zu byte%s not decoded%s", left,
                        left == 1 ? "" : "s",
                        trace_text_hint(t, t->shown, end, text, sizeof(text)));
        }
        if (!t->bad_rdata[0])
            snprintf(t->bad_rdata, sizeof(t->bad_rdata), "%s: %s", t->where, d.why);
    }
    t->shown = end;
}

/* Sections ---------------------------------------------------------------------- */

static bool trace_question(struct trace *t)
{
    struct name n;
    char text[40];
    enum name_status st = trace_name(t, &t->r, NULL, &n);
    if (st != NAME_OK)
        return trace_stop(t, "%s: %s", t->where, name_strerror(st));
    t->shown = t->r.pos;
    uint16_t qtype, qclass;
    size_t start;
    if (!trace_u16(t, "QTYPE", &qtype, &start))
        return false;
    trace_field(t, start, t->r.pos, "QTYPE", "%s", trace_type_text(qtype, text, sizeof(text)));
    if (!trace_u16(t, "QCLASS", &qclass, &start))
        return false;
    trace_field(t, start, t->r.pos, "QCLASS", "%s", trace_class_text(qclass, text, sizeof(text)));
    if (!t->have_question) {
        t->have_question = true;
        t->qname = n;
        t->qtype = qtype;
        t->qclass = qclass;
    }
    return true;
}

static bool trace_rr(struct trace *t)
{
    struct name n;
    char text[40], human[32];
    enum name_status st = trace_name(t, &t->r, NULL, &n);
    if (st != NAME_OK)
        return trace_stop(t, "%s: %s", t->where, name_strerror(st));
    t->shown = t->r.pos;

    uint16_t type, class_, rdlength;
    uint32_t ttl;
    size_t start;
    if (!trace_u16(t, "TYPE", &type, &start))
        return false;
    trace_field(t, start, t->r.pos, "TYPE", "%s", trace_type_text(type, text, sizeof(text)));
    bool opt = type == DNS_TYPE_OPT;

    if (!trace_u16(t, "CLASS", &class_, &start))
        return false;
    /* OPT reuses CLASS and TTL for EDNS fields (RFC 6891 6.1.3). */
    if (opt)
        trace_field(t, start, t->r.pos, "CLASS", "%u (OPT: largest UDP payload the sender takes)",
                    (unsigned)class_);
    else
        trace_field(t, start, t->r.pos, "CLASS", "%s",
                    trace_class_text(class_, text, sizeof(text)));

    if (!trace_u32(t, "TTL", &ttl, &start))
        return false;
    if (opt)
        trace_field(t, start, t->r.pos, "TTL",
                    "OPT: extended rcode %lu, version %lu, flags 0x%04lx%s",
                    (unsigned long)(ttl >> 24), (unsigned long)(ttl >> 16 & 0xFF),
                    (unsigned long)(ttl & 0xFFFF), ttl & 0x8000 ? " (do)" : "");
    else
        trace_field(t, start, t->r.pos, "TTL", "%lu (%s)%s", (unsigned long)ttl,
                    trace_duration(ttl, human, sizeof(human)),
                    ttl > DNS_TTL_MAX ? ", above 2^31-1: read as 0 (RFC 2181 8)" : "");

    if (!trace_u16(t, "RDLENGTH", &rdlength, &start))
        return false;
    trace_field(t, start, t->r.pos, "RDLENGTH", "%u", (unsigned)rdlength);
    size_t rdata = t->r.pos;
    if (rdlength > buf_remaining(&t->r))
        return trace_stop(t, "%s: RDATA runs past the end of the message (RDLENGTH %u, %zu left)",
                          t->where, (unsigned)rdlength, buf_remaining(&t->r));
    trace_rdata(t, type, rdata, rdlength);
    buf_skip(&t->r, rdlength);
    return true;
}

/*
 * Walks `count` entries of one section. Every entry takes at least one byte
 * (a root label or a pointer) or stops the walk, so a count of 65535 with
 * nothing behind it costs one failed read, not 65535.
 */
static bool trace_section(struct trace *t, const char *section, const char *count_field,
                          unsigned count, bool questions)
{
    for (unsigned i = 0; i < count; i++) {
        if (buf_remaining(&t->r) == 0)
            return trace_stop(t, "%s says %u %s but the message ends after %u", count_field, count,
                              questions ? (count == 1 ? "question" : "questions")
                                        : (count == 1 ? "record" : "records"),
                              i);
        snprintf(t->where, sizeof(t->where), "%s %u", section, i + 1);
        trace_note(t, "%s", t->where);
        if (!(questions ? trace_question(t) : trace_rr(t)))
            return false;
        t->entries++;
    }
    return true;
}

/* Walks the whole message; false if it stopped early (t->why says why). */
static bool trace_walk(struct trace *t)
{
    buf_reader_init(&t->r, t->msg, t->len);
    if (t->len == 0) {
        snprintf(t->why, sizeof(t->why), "empty datagram");
        trace_note(t, "undecodable: empty datagram (0 bytes)");
        return false;
    }
    if (t->len < DNS_HEADER_SIZE)
        return trace_stop(t, "shorter than the %d-byte header", DNS_HEADER_SIZE);
    hdr_decode(&t->r, &t->h);
    trace_header(t);
    if (!trace_section(t, "question", "QDCOUNT", t->h.qdcount, true) ||
        !trace_section(t, "answer", "ANCOUNT", t->h.ancount, false) ||
        !trace_section(t, "authority", "NSCOUNT", t->h.nscount, false) ||
        !trace_section(t, "additional", "ARCOUNT", t->h.arcount, false))
        return false;
    size_t left = buf_remaining(&t->r);
    if (left > 0) {
        t->why_is_trailing = true;
        return trace_stop(t, "trailing bytes: %zu after the %s", left,
                          t->entries ? "last record" : "header");
    }
    return true;
}

static void trace_init(struct trace *t, FILE *out, const uint8_t *msg, size_t len)
{
    memset(t, 0, sizeof(*t));
    t->out = out;
    /* A NULL message can only be empty; the reader never touches it then. */
    t->msg = msg;
    t->len = msg ? len : 0;
}

/* API ------------------------------------------------------------------------------ */

void trace_message(FILE *out, const uint8_t *msg, size_t len)
{
    if (!out)
        return;
    struct trace t;
    trace_init(&t, out, msg, len);
    if (t.len > 0)
        fprintf(out, "offset  %-*s%-*s %s\n", TRACE_BYTES_WIDTH, "bytes", TRACE_FIELD_WIDTH,
                "field", "value");
    trace_walk(&t);
}

/* Appends to a summary being built, never past its end. */
TRACE_PRINTF(3, 4)
static void trace_append(char *buf, size_t *used, const char *fmt, ...)
{
    if (*used >= TRACE_SUMMARY_MAX - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, TRACE_SUMMARY_MAX - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n < TRACE_SUMMARY_MAX - *used ? (size_t)n : TRACE_SUMMARY_MAX - 1 - *used;
}

const char *trace_summary(const uint8_t *msg, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0)
        return out;
    struct trace t;
    trace_init(&t, NULL, msg, len);
    bool whole = trace_walk(&t);

    char buf[TRACE_SUMMARY_MAX];
    size_t used = 0;
    buf[0] = '\0';
    if (t.len < DNS_HEADER_SIZE) {
        trace_append(buf, &used, "undecodable (%zu byte%s): %s", t.len, t.len == 1 ? "" : "s",
                     t.why);
    } else {
        const struct hdr *h = &t.h;
        bool reply = hdr_flag(h, HDR_QR);
        char word[16], flags[64];
        trace_append(buf, &used, "%s id %u %s", reply ? "reply" : "query", (unsigned)h->id,
                     trace_opcode_text(hdr_opcode(h), word, sizeof(word)));
        /* A query's RCODE is 0 and says nothing; show it only if it is not. */
        if (reply || hdr_rcode(h) != 0)
            trace_append(buf, &used, " %s", trace_rcode_text(hdr_rcode(h), word, sizeof(word)));
        if (trace_flag_words(h->flags, true, flags, sizeof(flags))[0])
            trace_append(buf, &used, " %s", flags);

        if (t.have_question) {
            char name[NAME_TEXT_MAX], ctext[16], ttext[16];
            trace_append(buf, &used, " | %s %s %s", trace_name_text(&t.qname, name, sizeof(name)),
                         dns_class_text(t.qclass, ctext, sizeof(ctext)),
                         dns_type_text(t.qtype, ttext, sizeof(ttext)));
            if (h->qdcount > 1)
                trace_append(buf, &used, " (+%u more)", (unsigned)h->qdcount - 1);
        } else {
            trace_append(buf, &used, " | %s", h->qdcount ? "?" : "no question");
        }
        trace_append(buf, &used, " | qd %u an %u ns %u ar %u", (unsigned)h->qdcount,
                     (unsigned)h->ancount, (unsigned)h->nscount, (unsigned)h->arcount);
        if (!whole)
            trace_append(buf, &used, " | %s%s", t.why_is_trailing ? "" : "undecodable: ", t.why);
        if (t.bad_rdata[0])
            trace_append(buf, &used, " | bad RDATA: %s", t.bad_rdata);
    }
    snprintf(out, cap, "%s", buf);
    return out;
}

void trace_datagram(FILE *out, const char *direction, const char *peer, const uint8_t *msg,
                    size_t len)
{
    if (!out)
        return;
    const char *dir = direction ? direction : "datagram";
    const char *arrow = "---", *prep = "peer";
    if (strcmp(dir, "received") == 0) {
        arrow = ">>>";
        prep = "from";
    } else if (strcmp(dir, "sent") == 0) {
        arrow = "<<<";
        prep = "to";
    }
    fprintf(out, "%s %s %zu byte%s", arrow, dir, len, len == 1 ? "" : "s");
    if (peer)
        fprintf(out, " %s %s", prep, peer);
    fputc('\n', out);
    trace_message(out, msg, len);
    char summary[TRACE_SUMMARY_MAX];
    fprintf(out, "    summary: %s\n\n", trace_summary(msg, len, summary, sizeof(summary)));
}
