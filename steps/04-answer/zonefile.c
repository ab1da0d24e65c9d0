/* zonefile: reading RFC 1035 master files (zone files) into zones. */
#include "zonefile.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dns.h"
#include "log.h"
#include "rdata.h"
#include "text.h"

enum {
    /* Tokens on one logical line (parentheses can join many physical lines).
     * An SOA needs 9 plus owner, TTL, class and type; TXT records with many
     * strings need more; beyond this the line is refused, not cut. */
    ZONEFILE_TOKENS_MAX = 512,
};

struct zonefile_token {
    const char *text; /* NUL-terminated copy; quoted strings without their quotes */
    bool quoted;
    unsigned line; /* where it is written, for messages */
};

struct zonefile_reader {
    const char *source;  /* file name for messages */
    const char *p;       /* next character of the text */
    unsigned line;       /* line of the next character */
    unsigned entry_line; /* line where the current entry started */
    char *err;
    size_t errcap;
    /* The current entry's tokens; their text lives in `store`. */
    struct zonefile_token tok[ZONEFILE_TOKENS_MAX];
    size_t ntok;
    bool blank_owner; /* the entry's line began with a space or tab */
    char *store;
    size_t store_len, store_cap;

    struct name origin;
    bool have_origin;
    uint32_t default_ttl; /* $TTL */
    bool have_default_ttl;
    uint32_t last_ttl; /* the previous record's TTL (RFC 1035 5.1) */
    bool have_last_ttl;
    struct name last_owner;
    bool have_last_owner;
    struct zone *zone; /* created at the SOA, the first record */
};

/*
 * Writes "source:line: what is wrong" into rd->err and returns -1. `line` is
 * where the fault is written; when parentheses made the entry start on an
 * earlier line, the message says where, as the reader may look for a record
 * by its owner.
 */
static int zonefile_vfail(struct zonefile_reader *rd, unsigned line, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static int zonefile_vfail(struct zonefile_reader *rd, unsigned line, const char *fmt, va_list ap)
{
    char what[ZONEFILE_ERROR_MAX];
    vsnprintf(what, sizeof what, fmt, ap);
    if (line == rd->entry_line)
        snprintf(rd->err, rd->errcap, "%s:%u: %s", rd->source, line, what);
    else
        snprintf(rd->err, rd->errcap, "%s:%u: %s (in the entry that starts at line %u)", rd->source,
                 line, what, rd->entry_line);
    return -1;
}

/* An error of the entry as a whole, at the line where it starts. */
static int zonefile_fail(struct zonefile_reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int zonefile_fail(struct zonefile_reader *rd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zonefile_vfail(rd, rd->entry_line, fmt, ap);
    va_end(ap);
    return -1;
}

/* An error at one line of the entry: the line of a token, or of a parenthesis. */
static int zonefile_fail_at(struct zonefile_reader *rd, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int zonefile_fail_at(struct zonefile_reader *rd, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zonefile_vfail(rd, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends one character to the token being built in `store`. */
static int zonefile_store_char(struct zonefile_reader *rd, char c)
{
    if (rd->store_len + 1 >= rd->store_cap) {
        size_t cap = rd->store_cap ? rd->store_cap * 2 : 4096;
        char *grown = realloc(rd->store, cap);
        if (grown == NULL)
            return zonefile_fail(rd, "out of memory");
        rd->store = grown;
        rd->store_cap = cap;
    }
    rd->store[rd->store_len++] = c;
    return 0;
}

/*
 * Reads the next entry: the tokens of one line, or of several lines joined
 * by parentheses. Comments (';' to the end of the line) and the parentheses
 * themselves are dropped. Returns 1 with rd->tok filled (no tokens at all
 * for an entry of only parentheses, "( )"), 0 at the end of the text, -1 on
 * an error.
 */
static int zonefile_next_entry(struct zonefile_reader *rd)
{
    /* Token offsets into `store`, turned into pointers once it stops moving. */
    size_t offsets[ZONEFILE_TOKENS_MAX];
    unsigned depth = 0, open_line = 0; /* open_line: where the outermost '(' is */
    rd->ntok = 0;
    rd->store_len = 0;

    /* Skip lines that hold nothing (blank or comment only); bounded by the
     * text's length, as every pass consumes at least one character. */
    for (;;) {
        if (*rd->p == '\0')
            return 0;
        rd->entry_line = rd->line;
        rd->blank_owner = (*rd->p == ' ' || *rd->p == '\t');
        const char *q = rd->p;
        while (*q == ' ' || *q == '\t' || *q == '\r')
            q++;
        if (*q == '\n' || *q == ';' || *q == '\0') {
            while (*q != '\n' && *q != '\0')
                q++;
            if (*q == '\n') {
                q++;
                rd->line++;
            }
            rd->p = q;
            continue;
        }
        break;
    }

    /* Bounded by the text's length: every pass consumes at least one character. */
    for (;;) {
        char c = *rd->p;
        if (c == '\0') {
            if (depth > 0)
                return zonefile_fail_at(rd, open_line,
                                        "'(' without a matching ')' before the end of the file");
            break;
        }
        if (c == '\n') {
            rd->p++;
            rd->line++;
            if (depth == 0)
                break;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            rd->p++;
            continue;
        }
        if (c == ';') {
            while (*rd->p != '\n' && *rd->p != '\0')
                rd->p++;
            continue;
        }
        if (c == '(') {
            if (depth == 0)
                open_line = rd->line;
            depth++;
            rd->p++;
            continue;
        }
        if (c == ')') {
            if (depth == 0)
                return zonefile_fail_at(rd, rd->line, "')' without a matching '('");
            depth--;
            rd->p++;
            continue;
        }
        if (rd->ntok >= ZONEFILE_TOKENS_MAX)
            return zonefile_fail_at(rd, rd->line, "more than %d fields in one record",
                                    ZONEFILE_TOKENS_MAX);
        offsets[rd->ntok] = rd->store_len;
        rd->tok[rd->ntok].quoted = (c == '"');
        rd->tok[rd->ntok].line = rd->line;
        if (c == '"') {
            /* A quoted string: kept with its escapes, decoded by its user. */
            rd->p++;
            while (*rd->p != '"') {
                if (*rd->p == '\0' || *rd->p == '\n')
                    return zonefile_fail_at(rd, rd->line, "quoted string not closed on its line");
                if (*rd->p == '\\' && rd->p[1] != '\0' && rd->p[1] != '\n') {
                    if (zonefile_store_char(rd, *rd->p++) != 0)
                        return -1;
                }
                if (zonefile_store_char(rd, *rd->p++) != 0)
                    return -1;
            }
            rd->p++;
        } else {
            /* A word: up to a space, a comment, a parenthesis or a quote. A
             * backslash keeps the next character in the word, escapes intact. */
            while (*rd->p != '\0' && strchr(" \t\r\n;()\"", *rd->p) == NULL) {
                if (*rd->p == '\\' && rd->p[1] != '\0' && rd->p[1] != '\n') {
                    if (zonefile_store_char(rd, *rd->p++) != 0)
                        return -1;
                }
                if (zonefile_store_char(rd, *rd->p++) != 0)
                    return -1;
            }
        }
        if (zonefile_store_char(rd, '\0') != 0)
            return -1;
        rd->ntok++;
    }
    for (size_t i = 0; i < rd->ntok; i++)
        rd->tok[i].text = rd->store + offsets[i];
    return 1;
}

/* A TTL: seconds, or with units as BIND writes them ("1h30m", "2d", "1w"). */
static int zonefile_parse_ttl(const char *text, uint32_t *out)
{
    uint64_t total = 0, value = 0;
    bool digits = false;
    if (*text == '\0')
        return -1;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p >= '0' && *p <= '9') {
            value = value * 10 + (uint64_t)(*p - '0');
            digits = true;
            if (value > UINT32_MAX)
                return -1;
            continue;
        }
        uint64_t unit;
        switch (*p) {
        case 's':
        case 'S':
            unit = 1;
            break;
        case 'm':
        case 'M':
            unit = 60;
            break;
        case 'h':
        case 'H':
            unit = 3600;
            break;
        case 'd':
        case 'D':
            unit = 86400;
            break;
        case 'w':
        case 'W':
            unit = 604800;
            break;
        default:
            return -1;
        }
        if (!digits)
            return -1;
        total += value * unit;
        value = 0;
        digits = false;
        if (total > UINT32_MAX)
            return -1;
    }
    total += value;
    if (total > UINT32_MAX)
        return -1;
    *out = (uint32_t)total;
    return 0;
}

static bool zonefile_is_ttl(const char *text)
{
    uint32_t ignored;
    return text[0] >= '0' && text[0] <= '9' && zonefile_parse_ttl(text, &ignored) == 0;
}

/* True if a name in text form ends with an unescaped dot ("a.", but not
 * "a\." whose dot is part of the label, while "a\\." ends in a backslash
 * label byte and then a real dot). */
static bool zonefile_name_is_absolute(const char *text)
{
    bool dot = false;
    /* Bounded by the text: every pass consumes at least one character. */
    for (const char *p = text; *p != '\0';) {
        if (*p == '\\') {
            p++;
            /* \DDD is one byte written as three digits; \X is X. */
            size_t skip = (p[0] >= '0' && p[0] <= '9') ? strspn(p, "0123456789") : 1;
            p += (*p == '\0') ? 0 : (skip > 3 ? 3 : skip);
            dot = false;
        } else {
            dot = (*p == '.');
            p++;
        }
    }
    return dot;
}

static int zonefile_parse_name(struct zonefile_reader *rd, const struct zonefile_token *t,
                               struct name *out, const char *what)
{
    const char *text = t->text;
    if (!rd->have_origin && !zonefile_name_is_absolute(text))
        return zonefile_fail_at(rd, t->line, "relative %s '%s' but no $ORIGIN is set", what, text);
    enum name_status st = name_from_text(text, rd->have_origin ? &rd->origin : NULL, out);
    if (st == NAME_ERR_TOO_LONG)
        return zonefile_fail_at(
            rd, t->line, "%s '%s' is too long (labels <= 63, names <= 255 octets)", what, text);
    if (st != NAME_OK)
        return zonefile_fail_at(rd, t->line, "bad %s '%s'", what, text);
    return 0;
}

/* RDATA -------------------------------------------------------------------------- */

/* Appends one character-string, decoding \X and \DDD escapes. */
static int zonefile_put_string(struct zonefile_reader *rd, struct buf_writer *w,
                               const struct zonefile_token *t)
{
    const char *text = t->text;
    uint8_t bytes[RDATA_STRING_MAX];
    size_t n = 0;
    /* Bounded by the text: every pass consumes at least one character. */
    for (const char *p = text; *p != '\0';) {
        int c = text_unescape(&p);
        if (c < 0)
            return zonefile_fail_at(rd, t->line, "bad escape '%.4s' in '%s': %s", p, text,
                                    text_strerror(c));
        if (n >= RDATA_STRING_MAX)
            return zonefile_fail_at(rd, t->line, "character-string longer than 255 bytes");
        bytes[n++] = (uint8_t)c;
    }
    buf_write_u8(w, (uint8_t)n);
    buf_write_bytes(w, bytes, n);
    return 0;
}

/* A decimal number from 0 to `max`, digits only. */
static int zonefile_parse_number(const char *text, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (*text == '\0')
        return -1;
    /* Bounded by the text, and by `max` long before the value overflows. */
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* "MX PREFERENCE", or just "CNAME" when the field is named after its type. */
static const char *zonefile_field_label(uint16_t type, const struct rdata_field *f, char *out,
                                        size_t cap)
{
    char type_text[16];
    dns_type_text(type, type_text, sizeof type_text);
    if (strcmp(type_text, f->name) == 0)
        snprintf(out, cap, "%s", type_text);
    else
        snprintf(out, cap, "%s %s", type_text, f->name);
    return out;
}

/* Encodes one RDATA field of `kind` from its text. */
static int zonefile_put_field(struct zonefile_reader *rd, struct buf_writer *w, uint16_t type,
                              const struct rdata_field *f, const struct zonefile_token *t)
{
    char what[64];
    zonefile_field_label(type, f, what, sizeof what);
    if (t->quoted && f->kind != RDATA_STRING && f->kind != RDATA_STRINGS) {
        char type_text[16];
        return zonefile_fail_at(rd, t->line, "unexpected quoted string in %s data",
                                dns_type_text(type, type_text, sizeof type_text));
    }
    uint32_t v;
    uint8_t addr[16];
    struct name n;
    switch (f->kind) {
    case RDATA_NAME:
    case RDATA_NAME_PLAIN:
        if (zonefile_parse_name(rd, t, &n, what) != 0)
            return -1;
        name_write(w, &n);
        return 0;
    case RDATA_U16:
        if (zonefile_parse_number(t->text, 0xFFFF, &v) != 0)
            return zonefile_fail_at(rd, t->line, "bad %s '%s' (0-65535)", what, t->text);
        buf_write_u16(w, (uint16_t)v);
        return 0;
    case RDATA_U32:
        if (zonefile_parse_number(t->text, UINT32_MAX, &v) != 0)
            return zonefile_fail_at(rd, t->line, "bad %s '%s' (0-4294967295)", what, t->text);
        buf_write_u32(w, v);
        return 0;
    case RDATA_SECONDS:
        if (zonefile_parse_ttl(t->text, &v) != 0)
            return zonefile_fail_at(rd, t->line, "bad %s '%s' (seconds, or e.g. 1h30m)", what,
                                    t->text);
        buf_write_u32(w, v);
        return 0;
    case RDATA_IPV4:
        if (inet_pton(AF_INET, t->text, addr) != 1)
            return zonefile_fail_at(rd, t->line, "bad IPv4 address '%s'", t->text);
        buf_write_bytes(w, addr, 4);
        return 0;
    case RDATA_IPV6:
        if (inet_pton(AF_INET6, t->text, addr) != 1)
            return zonefile_fail_at(rd, t->line, "bad IPv6 address '%s'", t->text);
        buf_write_bytes(w, addr, 16);
        return 0;
    case RDATA_STRING:
    case RDATA_STRINGS:
        return zonefile_put_string(rd, w, t);
    case RDATA_OPTIONS:
    case RDATA_OPAQUE:
        break;
    }
    return zonefile_fail_at(rd, t->line, "%s cannot be written in a zone file", what);
}

/* "A, NS, CNAME, ...": the types a zone file may hold, from the table. */
static const char *zonefile_known_types(char *out, size_t cap)
{
    size_t count, used = 0;
    const struct rdata_type *rows = rdata_table(&count);
    out[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        char type_text[16];
        if (rows[i].pseudo)
            continue;
        int n = snprintf(out + used, cap - used, "%s%s", used ? ", " : "",
                         dns_type_text(rows[i].type, type_text, sizeof type_text));
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
    return out;
}

/* Encodes the RDATA tokens tok[first..] of a record of `type`, field by
 * field as the record-type table lays them out. */
static int zonefile_rdata(struct zonefile_reader *rd, uint16_t type, size_t first,
                          struct buf_writer *w)
{
    const struct zonefile_token *t = rd->tok + first;
    size_t n = rd->ntok - first;
    char type_text[16], known[256];
    dns_type_text(type, type_text, sizeof type_text);

    const struct rdata_type *row = rdata_find(type);
    if (row == NULL || row->pseudo)
        return zonefile_fail_at(rd, rd->tok[first - 1].line, /* the type's own token */
                                "unsupported type '%s' (this server knows %s)", type_text,
                                zonefile_known_types(known, sizeof known));
    /* Every field takes one token, but a last STRINGS field takes all the
     * tokens that are left (at least one). */
    bool repeats = row->field[row->count - 1].kind == RDATA_STRINGS;
    if (repeats && n < row->count)
        return zonefile_fail(rd, "%s needs at least one character-string", type_text);
    if (!repeats && n != row->count)
        return zonefile_fail(rd, "%s needs %u field%s after the type, found %zu", type_text,
                             row->count, row->count == 1 ? "" : "s", n);
    for (size_t i = 0; i < n; i++) {
        const struct rdata_field *f = &row->field[i < row->count ? i : row->count - 1];
        if (zonefile_put_field(rd, w, type, f, &t[i]) != 0)
            return -1;
    }
    return 0;
}

/* Adds the record, saying what is wrong with it if the zone refuses it. */
static int zonefile_add_record(struct zonefile_reader *rd, const struct name *owner, uint16_t type,
                               uint32_t ttl, const uint8_t *data, size_t len)
{
    char owner_text[NAME_TEXT_MAX], origin_text[NAME_TEXT_MAX];
    switch (zone_add(rd->zone, owner, type, ttl, data, len)) {
    case ZONE_OK:
        return 0;
    case ZONE_ERR_OUTSIDE:
        name_to_text(owner, owner_text, sizeof owner_text);
        name_to_text(&rd->zone->origin, origin_text, sizeof origin_text);
        return zonefile_fail(rd, "'%s' is outside the zone '%s'", owner_text, origin_text);
    case ZONE_ERR_SOA_NOT_APEX:
        name_to_text(owner, owner_text, sizeof owner_text);
        return zonefile_fail(rd, "SOA record at '%s', not at the zone's apex", owner_text);
    case ZONE_ERR_SECOND_SOA:
        return zonefile_fail(rd, "a second SOA record: a zone has exactly one");
    case ZONE_ERR_SECOND_CNAME:
        name_to_text(owner, owner_text, sizeof owner_text);
        return zonefile_fail(rd, "a second CNAME at '%s': a name has at most one", owner_text);
    case ZONE_ERR_CNAME_AND_OTHER:
        name_to_text(owner, owner_text, sizeof owner_text);
        return zonefile_fail(rd, "CNAME and other data at '%s': a CNAME must be alone at its name",
                             owner_text);
    case ZONE_ERR_RDATA_TOO_LONG:
        return zonefile_fail(rd, "record data longer than 65535 bytes");
    case ZONE_ERR_NO_MEMORY:
        break;
    }
    return zonefile_fail(rd, "out of memory");
}

/* One entry: a $ directive or a record. */
static int zonefile_entry(struct zonefile_reader *rd)
{
    const struct zonefile_token *t = rd->tok;
    size_t i = 0;

    if (!rd->blank_owner && t[0].text[0] == '$' && !t[0].quoted) {
        if (strcmp(t[0].text, "$ORIGIN") == 0) {
            if (rd->ntok != 2)
                return zonefile_fail(rd, "$ORIGIN takes one name");
            struct name origin;
            if (zonefile_parse_name(rd, &t[1], &origin, "$ORIGIN") != 0)
                return -1;
            rd->origin = origin;
            rd->have_origin = true;
            return 0;
        }
        if (strcmp(t[0].text, "$TTL") == 0) {
            if (rd->ntok != 2 || zonefile_parse_ttl(t[1].text, &rd->default_ttl) != 0)
                return zonefile_fail(rd, "$TTL takes one TTL (seconds, or e.g. 1h30m)");
            rd->have_default_ttl = true;
            return 0;
        }
        return zonefile_fail(rd, "unsupported directive '%s' (this reader knows $ORIGIN and $TTL)",
                             t[0].text);
    }

    /* The owner: blank means the previous record's. */
    struct name owner;
    if (rd->blank_owner) {
        if (!rd->have_last_owner)
            return zonefile_fail(rd, "record with a blank owner but no record before it");
        owner = rd->last_owner;
    } else {
        if (zonefile_parse_name(rd, &t[i], &owner, "owner name") != 0)
            return -1;
        i++;
    }

    /* [TTL] [class] or [class] [TTL], both optional. */
    uint32_t ttl = 0;
    unsigned ttl_line = rd->entry_line;
    bool have_ttl = false, have_class = false;
    for (int k = 0; k < 2 && i < rd->ntok; k++) {
        uint16_t class_;
        if (!have_ttl && zonefile_is_ttl(t[i].text)) {
            zonefile_parse_ttl(t[i].text, &ttl);
            ttl_line = t[i].line;
            have_ttl = true;
            i++;
        } else if (!have_class && dns_class_from_text(t[i].text, &class_) == 0) {
            if (class_ != DNS_CLASS_IN)
                return zonefile_fail_at(rd, t[i].line, "class '%s' is not supported: only IN",
                                        t[i].text);
            have_class = true;
            i++;
        }
    }
    if (i >= rd->ntok)
        return zonefile_fail(rd, "record without a type");
    /* Only RDATA may be a quoted string: "www" as an owner or "A" as a type
     * is a mistake to report, not a name or a type. */
    for (size_t k = 0; k <= i; k++)
        if (t[k].quoted)
            return zonefile_fail_at(rd, t[k].line,
                                    "unexpected quoted string \"%s\" before the RDATA", t[k].text);
    uint16_t type;
    if (dns_type_from_text(t[i].text, &type) != 0) {
        /* No type or class starts with a digit: this was meant as a TTL. */
        if (t[i].text[0] >= '0' && t[i].text[0] <= '9')
            return zonefile_fail_at(
                rd, t[i].line, "bad TTL '%s' (seconds up to 2147483647, or e.g. 1h30m)", t[i].text);
        return zonefile_fail_at(rd, t[i].line, "unknown type '%s'", t[i].text);
    }
    i++;

    if (!have_ttl) {
        if (rd->have_default_ttl)
            ttl = rd->default_ttl;
        else if (rd->have_last_ttl)
            ttl = rd->last_ttl;
        else
            return zonefile_fail(rd, "no TTL: give one on the record or set $TTL first");
    }
    if (ttl > DNS_TTL_MAX)
        return zonefile_fail_at(rd, ttl_line, "TTL %u is above 2147483647 (RFC 2181 8)",
                                (unsigned)ttl);

    static uint8_t rdata[RDATA_MAX];
    struct buf_writer w;
    buf_writer_init(&w, rdata, sizeof rdata);
    if (zonefile_rdata(rd, type, i, &w) != 0)
        return -1;
    if (!buf_writer_ok(&w))
        return zonefile_fail(rd, "record data longer than 65535 bytes");

    /* The first record makes the zone, and must be its SOA. */
    if (rd->zone == NULL) {
        if (type != DNS_TYPE_SOA)
            return zonefile_fail(rd, "the first record must be the zone's SOA");
        rd->zone = zone_new(&owner);
        if (rd->zone == NULL)
            return zonefile_fail(rd, "out of memory");
    }
    if (zonefile_add_record(rd, &owner, type, ttl, rdata, w.pos) != 0)
        return -1;
    rd->last_owner = owner;
    rd->have_last_owner = true;
    rd->last_ttl = ttl;
    rd->have_last_ttl = true;
    return 0;
}

int zonefile_load_text(struct zone_set *set, const char *text, const char *source,
                       const char *origin, char *err, size_t errcap)
{
    struct zonefile_reader *rd = calloc(1, sizeof *rd);
    if (rd == NULL) {
        snprintf(err, errcap, "%s: out of memory", source);
        return -1;
    }
    rd->source = source;
    rd->p = text;
    rd->line = 1;
    rd->entry_line = 1;
    rd->err = err;
    rd->errcap = errcap;
    if (origin != NULL) {
        if (name_from_text(origin, NULL, &rd->origin) != NAME_OK) {
            snprintf(err, errcap, "%s: bad origin '%s'", source, origin);
            free(rd);
            return -1;
        }
        rd->have_origin = true;
    }

    int status = 0;
    /* Bounded by the text: every entry consumes at least one line. */
    for (;;) {
        int got = zonefile_next_entry(rd);
        if (got < 0) {
            status = -1;
            break;
        }
        if (got == 0)
            break;
        if (rd->ntok == 0)
            continue;
        if (zonefile_entry(rd) != 0) {
            status = -1;
            break;
        }
    }
    if (status == 0 && rd->zone == NULL) {
        /* Blame the last line of the file (the reader stands after its newline). */
        size_t tlen = strlen(text);
        rd->entry_line =
            (tlen > 0 && text[tlen - 1] == '\n' && rd->line > 1) ? rd->line - 1 : rd->line;
        status = zonefile_fail(rd, "no SOA record: a zone file starts with its zone's SOA");
    }
    if (status == 0) {
        zone_set_add(set, rd->zone);
    } else if (rd->zone != NULL) {
        zone_free(rd->zone);
    }
    free(rd->store);
    free(rd);
    return status;
}

/* What a file that is not a regular file is, for the message that refuses it. */
static const char *zonefile_file_type(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO (a named pipe)";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "a special file";
}

/*
 * Reads the open regular file `fd`, whose size was `size` when it was
 * checked, into a buffer of its own, NUL-terminated. Returns the buffer and
 * its length in *len, or NULL with "path: what is wrong" in `err`. A file
 * that grows while it is read is still cut at ZONEFILE_SIZE_MAX.
 */
static char *zonefile_read_fd(int fd, const char *path, size_t size, size_t *len, char *err,
                              size_t errcap)
{
    /* One byte more than the size, so the end is seen as a read of 0 bytes
     * into room already there; plus one for the NUL. */
    size_t cap = size + 1, used = 0;
    char *text = malloc(cap + 1);
    if (text == NULL) {
        snprintf(err, errcap, "%s: out of memory", path);
        return NULL;
    }
    /* Bounded: every pass reads at least one byte, or ends, and `used`
     * never passes ZONEFILE_SIZE_MAX + 1. */
    for (;;) {
        if (used > ZONEFILE_SIZE_MAX) {
            snprintf(err, errcap, "%s: too large for a zone file (more than %d MiB)", path,
                     ZONEFILE_SIZE_MAX >> 20);
            break;
        }
        if (used == cap) {
            size_t grown_cap = cap * 2;
            if (grown_cap > (size_t)ZONEFILE_SIZE_MAX + 1)
                grown_cap = (size_t)ZONEFILE_SIZE_MAX + 1;
            char *grown = realloc(text, grown_cap + 1);
            if (grown == NULL) {
                snprintf(err, errcap, "%s: out of memory", path);
                break;
            }
            text = grown;
            cap = grown_cap;
        }
        ssize_t got = read(fd, text + used, cap - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errcap, "%s: %s", path, strerror(errno));
            break;
        }
        if (got == 0) {
            text[used] = '\0';
            *len = used;
            return text;
        }
        used += (size_t)got;
    }
    free(text);
    return NULL;
}

int zonefile_load_file(struct zone_set *set, const char *path, const char *origin, char *err,
                       size_t errcap)
{
    /* O_NONBLOCK: opening a FIFO to read waits for a writer, maybe forever;
     * with it, open() returns at once and the FIFO is refused below.
     * O_NOCTTY: a terminal opened by mistake must not become the program's
     * controlling terminal. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* The open descriptor is checked, not the path: what is read is what
     * was checked, even if the path is renamed in between. Only a regular
     * file has an end: /dev/zero or /dev/urandom would be read forever. */
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    if (fstat(fd, &st) != 0)
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errcap, "%s: is %s, not a regular file", path,
                 zonefile_file_type(st.st_mode));
    else if (st.st_size > ZONEFILE_SIZE_MAX)
        snprintf(err, errcap, "%s: too large for a zone file (more than %d MiB)", path,
                 ZONEFILE_SIZE_MAX >> 20);
    else
        text = zonefile_read_fd(fd, path, (size_t)st.st_size, &len, err, errcap);
    close(fd);
    if (text == NULL)
        return -1;
    if (memchr(text, '\0', len) != NULL) {
        free(text);
        snprintf(err, errcap, "%s: contains a NUL byte: not a zone file", path);
        return -1;
    }
    int status = zonefile_load_text(set, text, path, origin, err, errcap);
    free(text);
    return status;
}

int zonefile_load_files(struct zone_set *set, const char *const *paths, size_t count, char *err,
                        size_t errcap)
{
    /* Read into a set of their own, so that a failure leaves `set` as it was. */
    struct zone_set fresh = {NULL};
    for (size_t i = 0; i < count; i++) {
        if (zonefile_load_file(&fresh, paths[i], NULL, err, errcap) != 0) {
            zone_set_free(&fresh);
            return -1;
        }
        /* The newest zone is the head of the set; the ones before it are
         * those of paths[i - 1], paths[i - 2], ... */
        const struct zone *z = fresh.zones;
        char origin[NAME_TEXT_MAX];
        name_to_text(&z->origin, origin, sizeof origin);
        /* Two files of one zone: which is meant? One would shadow the other
         * unseen. NSD's checker refuses them too. */
        const char *first = NULL;
        size_t k = i;
        for (const struct zone *o = z->next; o != NULL && first == NULL; o = o->next) {
            k--;
            if (name_equal(&o->origin, &z->origin))
                first = paths[k];
        }
        bool in_set = false;
        for (const struct zone *o = set->zones; o != NULL && !in_set; o = o->next)
            in_set = name_equal(&o->origin, &z->origin);
        if (first != NULL || in_set) {
            snprintf(err, errcap, "%s: zone '%s' is already loaded%s%s", paths[i], origin,
                     first != NULL ? " from " : "", first != NULL ? first : "");
            zone_set_free(&fresh);
            return -1;
        }
        log_info("loaded zone %s from %s (%zu name%s)", origin, paths[i], z->node_count,
                 z->node_count == 1 ? "" : "s");
    }
    /* Every file read: their zones join the set, the last file's first. */
    struct zone **tail = &fresh.zones;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = set->zones;
    set->zones = fresh.zones;
    return 0;
}
