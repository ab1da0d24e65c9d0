/* zone: zones in memory — names, RRsets and RDATA — loaded from RFC 1035 master files. */
#include "zone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "dns.h"

enum {
    /* Tokens on one logical line (parentheses can join many physical lines).
     * An SOA needs 9 plus owner, TTL, class and type; TXT records with many
     * strings need more; beyond this the line is refused, not cut. */
    ZONE_TOKENS_MAX = 512,
    /* RDATA is at most 65535 bytes (RDLENGTH is 16 bits). */
    ZONE_RDATA_MAX = 65535,
    /* A character-string is a length byte and at most 255 bytes (RFC 1035 3.3). */
    ZONE_STRING_MAX = 255,
    /* The hash table doubles when it holds more nodes than buckets. */
    ZONE_BUCKETS_INITIAL = 64,
};

/* Tables and nodes -------------------------------------------------------------- */

static struct zone_node **zone_bucket(const struct zone *z, uint32_t hash)
{
    return &z->buckets[hash & (z->bucket_count - 1)];
}

const struct zone_node *zone_find_node(const struct zone *z, const struct name *name)
{
    uint32_t hash = name_hash(name->wire, name->len);
    for (const struct zone_node *n = *zone_bucket(z, hash); n != NULL; n = n->hash_next)
        if (n->hash == hash && name_equal(&n->name, name))
            return n;
    return NULL;
}

const struct zone_rrset *zone_node_rrset(const struct zone_node *node, uint16_t type)
{
    for (const struct zone_rrset *s = node->rrsets; s != NULL; s = s->next)
        if (s->type == type)
            return s;
    return NULL;
}

static int zone_grow(struct zone *z)
{
    size_t count = z->bucket_count * 2;
    struct zone_node **buckets = calloc(count, sizeof *buckets);
    if (buckets == NULL)
        return -1;
    for (size_t i = 0; i < z->bucket_count; i++) {
        struct zone_node *n = z->buckets[i];
        while (n != NULL) {
            struct zone_node *next = n->hash_next;
            n->hash_next = buckets[n->hash & (count - 1)];
            buckets[n->hash & (count - 1)] = n;
            n = next;
        }
    }
    free(z->buckets);
    z->buckets = buckets;
    z->bucket_count = count;
    return 0;
}

/* The node of `name`, created with every missing ancestor up to the apex
 * (the empty non-terminals). `name` must be at or below the apex. */
static struct zone_node *zone_add_node(struct zone *z, const struct name *name)
{
    struct zone_node *found = (struct zone_node *)zone_find_node(z, name);
    if (found != NULL)
        return found;
    if (z->node_count >= z->bucket_count && zone_grow(z) != 0)
        return NULL;
    struct zone_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->name = *name;
    n->hash = name_hash(name->wire, name->len);
    struct zone_node **bucket = zone_bucket(z, n->hash);
    n->hash_next = *bucket;
    *bucket = n;
    z->node_count++;

    /* The parent, unless this is the apex: drop the first label. Recursion
     * depth is bounded by the labels below the apex (< NAME_LABELS_MAX). */
    if (name->len > z->origin.len) {
        struct name parent;
        size_t skip = 1 + (size_t)name->wire[0];
        parent.len = (uint8_t)(name->len - skip);
        memcpy(parent.wire, name->wire + skip, parent.len);
        if (zone_add_node(z, &parent) == NULL)
            return NULL;
    }
    return n;
}

static struct zone *zone_new(const struct name *origin)
{
    struct zone *z = calloc(1, sizeof *z);
    if (z == NULL)
        return NULL;
    z->origin = *origin;
    z->bucket_count = ZONE_BUCKETS_INITIAL;
    z->buckets = calloc(z->bucket_count, sizeof *z->buckets);
    if (z->buckets == NULL) {
        free(z);
        return NULL;
    }
    z->apex = zone_add_node(z, origin);
    if (z->apex == NULL) {
        free(z->buckets);
        free(z);
        return NULL;
    }
    return z;
}

static void zone_free(struct zone *z)
{
    for (size_t i = 0; i < z->bucket_count; i++) {
        struct zone_node *n = z->buckets[i];
        while (n != NULL) {
            struct zone_node *next_node = n->hash_next;
            struct zone_rrset *s = n->rrsets;
            while (s != NULL) {
                struct zone_rrset *next_set = s->next;
                struct zone_rdata *d = s->rdata;
                while (d != NULL) {
                    struct zone_rdata *next_rdata = d->next;
                    free(d);
                    d = next_rdata;
                }
                free(s);
                s = next_set;
            }
            free(n);
            n = next_node;
        }
    }
    free(z->buckets);
    free(z);
}

void zone_set_free(struct zone_set *set)
{
    while (set->zones != NULL) {
        struct zone *next = set->zones->next;
        zone_free(set->zones);
        set->zones = next;
    }
}

const struct zone *zone_set_find(const struct zone_set *set, const struct name *name)
{
    const struct zone *best = NULL;
    for (const struct zone *z = set->zones; z != NULL; z = z->next)
        if (name_is_subdomain(name, &z->origin) &&
            (best == NULL || z->origin.len > best->origin.len))
            best = z;
    return best;
}

/* The master-file reader ----------------------------------------------------------- */

struct zone_token {
    const char *text; /* NUL-terminated copy; quoted strings without their quotes */
    bool quoted;
};

struct zone_reader {
    const char *source;  /* file name for messages */
    const char *p;       /* next character of the text */
    unsigned line;       /* line of the next character */
    unsigned entry_line; /* line where the current entry started */
    char *err;
    size_t errcap;
    /* The current entry's tokens; their text lives in `store`. */
    struct zone_token tok[ZONE_TOKENS_MAX];
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

static int zone_fail(struct zone_reader *rd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int zone_fail(struct zone_reader *rd, const char *fmt, ...)
{
    char what[ZONE_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(rd->err, rd->errcap, "%s:%u: %s", rd->source, rd->entry_line, what);
    return -1;
}

/* Appends one character to the token being built in `store`. */
static int zone_store_char(struct zone_reader *rd, char c)
{
    if (rd->store_len + 1 >= rd->store_cap) {
        size_t cap = rd->store_cap ? rd->store_cap * 2 : 4096;
        char *grown = realloc(rd->store, cap);
        if (grown == NULL)
            return zone_fail(rd, "out of memory");
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
static int zone_next_entry(struct zone_reader *rd)
{
    /* Token offsets into `store`, turned into pointers once it stops moving. */
    size_t offsets[ZONE_TOKENS_MAX];
    unsigned depth = 0;
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
                return zone_fail(rd, "'(' without a matching ')' before the end of the file");
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
            depth++;
            rd->p++;
            continue;
        }
        if (c == ')') {
            if (depth == 0)
                return zone_fail(rd, "')' without a matching '('");
            depth--;
            rd->p++;
            continue;
        }
        if (rd->ntok >= ZONE_TOKENS_MAX)
            return zone_fail(rd, "more than %d fields in one record", ZONE_TOKENS_MAX);
        offsets[rd->ntok] = rd->store_len;
        rd->tok[rd->ntok].quoted = (c == '"');
        if (c == '"') {
            /* A quoted string: kept with its escapes, decoded by its user. */
            rd->p++;
            while (*rd->p != '"') {
                if (*rd->p == '\0' || *rd->p == '\n')
                    return zone_fail(rd, "quoted string not closed on its line");
                if (*rd->p == '\\' && rd->p[1] != '\0' && rd->p[1] != '\n') {
                    if (zone_store_char(rd, *rd->p++) != 0)
                        return -1;
                }
                if (zone_store_char(rd, *rd->p++) != 0)
                    return -1;
            }
            rd->p++;
        } else {
            /* A word: up to a space, a comment, a parenthesis or a quote. A
             * backslash keeps the next character in the word, escapes intact. */
            while (*rd->p != '\0' && strchr(" \t\r\n;()\"", *rd->p) == NULL) {
                if (*rd->p == '\\' && rd->p[1] != '\0' && rd->p[1] != '\n') {
                    if (zone_store_char(rd, *rd->p++) != 0)
                        return -1;
                }
                if (zone_store_char(rd, *rd->p++) != 0)
                    return -1;
            }
        }
        if (zone_store_char(rd, '\0') != 0)
            return -1;
        rd->ntok++;
    }
    for (size_t i = 0; i < rd->ntok; i++)
        rd->tok[i].text = rd->store + offsets[i];
    return 1;
}

/* A TTL: seconds, or with units as BIND writes them ("1h30m", "2d", "1w"). */
static int zone_parse_ttl(const char *text, uint32_t *out)
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

static bool zone_is_ttl(const char *text)
{
    uint32_t ignored;
    return text[0] >= '0' && text[0] <= '9' && zone_parse_ttl(text, &ignored) == 0;
}

/* True if a name in text form ends with an unescaped dot ("a.", but not
 * "a\." whose dot is part of the label, while "a\\." ends in a backslash
 * label byte and then a real dot). */
static bool zone_name_is_absolute(const char *text)
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

static int zone_parse_name(struct zone_reader *rd, const char *text, struct name *out,
                           const char *what)
{
    if (!rd->have_origin && !zone_name_is_absolute(text))
        return zone_fail(rd, "relative %s '%s' but no $ORIGIN is set", what, text);
    enum name_status st = name_from_text(text, rd->have_origin ? &rd->origin : NULL, out);
    if (st == NAME_ERR_TOO_LONG)
        return zone_fail(rd, "%s '%s' is too long (labels <= 63, names <= 255 octets)", what, text);
    if (st != NAME_OK)
        return zone_fail(rd, "bad %s '%s'", what, text);
    return 0;
}

/* RDATA -------------------------------------------------------------------------- */

/* Appends one character-string, decoding \X and \DDD escapes. */
static int zone_put_string(struct zone_reader *rd, struct buf_writer *w, const char *text)
{
    uint8_t bytes[ZONE_STRING_MAX];
    size_t n = 0;
    for (const char *p = text; *p != '\0';) {
        unsigned c = (unsigned char)*p++;
        if (c == '\\') {
            if (p[0] >= '0' && p[0] <= '9') {
                if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9'))
                    return zone_fail(rd, "bad escape in '%s': \\DDD needs three digits", text);
                c = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
                    (unsigned)(p[2] - '0');
                if (c > 255)
                    return zone_fail(rd, "bad escape in '%s': \\%.3s is above 255", text, p);
                p += 3;
            } else if (*p != '\0') {
                c = (unsigned char)*p++;
            } else {
                return zone_fail(rd, "a lone backslash at the end of '%s'", text);
            }
        }
        if (n >= ZONE_STRING_MAX)
            return zone_fail(rd, "character-string longer than 255 bytes");
        bytes[n++] = (uint8_t)c;
    }
    buf_write_u8(w, (uint8_t)n);
    buf_write_bytes(w, bytes, n);
    return 0;
}

static int zone_put_u32(struct zone_reader *rd, struct buf_writer *w, const char *text,
                        const char *what)
{
    uint32_t v;
    if (zone_parse_ttl(text, &v) != 0)
        return zone_fail(rd, "bad %s '%s'", what, text);
    buf_write_u32(w, v);
    return 0;
}

static int zone_put_name(struct zone_reader *rd, struct buf_writer *w, const char *text,
                         const char *what)
{
    struct name n;
    if (zone_parse_name(rd, text, &n, what) != 0)
        return -1;
    name_write(w, &n, NULL);
    return 0;
}

/* Encodes the RDATA tokens tok[first..] of a record of `type`. */
static int zone_rdata(struct zone_reader *rd, uint16_t type, size_t first, struct buf_writer *w)
{
    const struct zone_token *t = rd->tok + first;
    size_t n = rd->ntok - first;
    char type_text[16];
    dns_type_text(type, type_text, sizeof type_text);

    size_t want = 0;
    switch (type) {
    case DNS_TYPE_A:
    case DNS_TYPE_AAAA:
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        want = 1;
        break;
    case DNS_TYPE_MX:
        want = 2;
        break;
    case DNS_TYPE_SOA:
        want = 7;
        break;
    case DNS_TYPE_TXT:
        if (n == 0)
            return zone_fail(rd, "TXT needs at least one character-string");
        for (size_t i = 0; i < n; i++)
            if (zone_put_string(rd, w, t[i].text) != 0)
                return -1;
        return 0;
    default:
        return zone_fail(rd,
                         "unsupported type '%s' (this server knows A, AAAA, NS, CNAME, SOA, "
                         "PTR, MX, TXT)",
                         type_text);
    }
    if (n != want)
        return zone_fail(rd, "%s needs %zu field%s after the type, found %zu", type_text, want,
                         want == 1 ? "" : "s", n);
    for (size_t i = 0; i < n; i++)
        if (t[i].quoted)
            return zone_fail(rd, "unexpected quoted string in %s data", type_text);

    switch (type) {
    case DNS_TYPE_A: {
        uint8_t addr[4];
        if (inet_pton(AF_INET, t[0].text, addr) != 1)
            return zone_fail(rd, "bad IPv4 address '%s'", t[0].text);
        buf_write_bytes(w, addr, sizeof addr);
        return 0;
    }
    case DNS_TYPE_AAAA: {
        uint8_t addr[16];
        if (inet_pton(AF_INET6, t[0].text, addr) != 1)
            return zone_fail(rd, "bad IPv6 address '%s'", t[0].text);
        buf_write_bytes(w, addr, sizeof addr);
        return 0;
    }
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        return zone_put_name(rd, w, t[0].text, "target name");
    case DNS_TYPE_MX: {
        uint32_t pref;
        if (zone_parse_ttl(t[0].text, &pref) != 0 || pref > 0xFFFF ||
            t[0].text[strspn(t[0].text, "0123456789")] != '\0')
            return zone_fail(rd, "bad MX preference '%s' (0-65535)", t[0].text);
        buf_write_u16(w, (uint16_t)pref);
        return zone_put_name(rd, w, t[1].text, "mail exchange name");
    }
    case DNS_TYPE_SOA: {
        static const char *const fields[] = {"serial", "refresh", "retry", "expire", "minimum"};
        if (zone_put_name(rd, w, t[0].text, "SOA primary server name") != 0 ||
            zone_put_name(rd, w, t[1].text, "SOA mailbox name") != 0)
            return -1;
        for (size_t i = 0; i < 5; i++)
            if (zone_put_u32(rd, w, t[2 + i].text, fields[i]) != 0)
                return -1;
        return 0;
    }
    }
    return 0;
}

/* Adding records ------------------------------------------------------------------ */

static int zone_add_record(struct zone_reader *rd, const struct name *owner, uint16_t type,
                           uint32_t ttl, const uint8_t *data, size_t len)
{
    struct zone *z = rd->zone;
    char owner_text[NAME_TEXT_MAX];
    name_to_text(owner, owner_text, sizeof owner_text);

    if (!name_is_subdomain(owner, &z->origin)) {
        char origin_text[NAME_TEXT_MAX];
        name_to_text(&z->origin, origin_text, sizeof origin_text);
        return zone_fail(rd, "'%s' is outside the zone '%s'", owner_text, origin_text);
    }
    if (type == DNS_TYPE_SOA && !name_equal(owner, &z->origin))
        return zone_fail(rd, "SOA record at '%s', not at the zone's apex", owner_text);
    if (type == DNS_TYPE_SOA && z->soa != NULL)
        return zone_fail(rd, "a second SOA record: a zone has exactly one");

    struct zone_node *node = zone_add_node(z, owner);
    if (node == NULL)
        return zone_fail(rd, "out of memory");

    /* RFC 1034 3.6.2 and RFC 2181 10.1: a CNAME is the only data at its name. */
    bool has_cname = zone_node_rrset(node, DNS_TYPE_CNAME) != NULL;
    bool has_other = false;
    for (const struct zone_rrset *s = node->rrsets; s != NULL; s = s->next)
        has_other = has_other || s->type != DNS_TYPE_CNAME;
    if (type == DNS_TYPE_CNAME && has_cname)
        return zone_fail(rd, "a second CNAME at '%s': a name has at most one", owner_text);
    if ((type == DNS_TYPE_CNAME && has_other) || (type != DNS_TYPE_CNAME && has_cname))
        return zone_fail(rd, "CNAME and other data at '%s': a CNAME must be alone at its name",
                         owner_text);

    struct zone_rrset *set = (struct zone_rrset *)zone_node_rrset(node, type);
    if (set == NULL) {
        set = calloc(1, sizeof *set);
        if (set == NULL)
            return zone_fail(rd, "out of memory");
        set->type = type;
        set->ttl = ttl; /* RFC 2181 5.2: the RRset's TTL is its first record's */
        set->rdata_tail = &set->rdata;
        /* Appended, so RRsets keep the zone file's order (an ANY answer
         * lists them as written). Nodes hold a handful of RRsets. */
        struct zone_rrset **tail = &node->rrsets;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = set;
    }
    /* RFC 2181 5: an RRset holds no duplicate records. */
    for (const struct zone_rdata *d = set->rdata; d != NULL; d = d->next)
        if (d->len == len && memcmp(d->data, data, len) == 0)
            return 0;
    struct zone_rdata *d = malloc(sizeof *d + len);
    if (d == NULL)
        return zone_fail(rd, "out of memory");
    d->next = NULL;
    d->len = (uint16_t)len;
    memcpy(d->data, data, len);
    *set->rdata_tail = d;
    set->rdata_tail = &d->next;
    set->count++;

    if (type == DNS_TYPE_SOA)
        z->soa = set;
    if (type == DNS_TYPE_NS && node != z->apex)
        node->is_cut = true;
    return 0;
}

/* One entry: a $ directive or a record. */
static int zone_entry(struct zone_reader *rd)
{
    const struct zone_token *t = rd->tok;
    size_t i = 0;

    if (!rd->blank_owner && t[0].text[0] == '$' && !t[0].quoted) {
        if (strcmp(t[0].text, "$ORIGIN") == 0) {
            if (rd->ntok != 2)
                return zone_fail(rd, "$ORIGIN takes one name");
            struct name origin;
            if (zone_parse_name(rd, t[1].text, &origin, "$ORIGIN") != 0)
                return -1;
            rd->origin = origin;
            rd->have_origin = true;
            return 0;
        }
        if (strcmp(t[0].text, "$TTL") == 0) {
            if (rd->ntok != 2 || zone_parse_ttl(t[1].text, &rd->default_ttl) != 0)
                return zone_fail(rd, "$TTL takes one TTL (seconds, or e.g. 1h30m)");
            rd->have_default_ttl = true;
            return 0;
        }
        return zone_fail(rd, "unsupported directive '%s' (this reader knows $ORIGIN and $TTL)",
                         t[0].text);
    }

    /* The owner: blank means the previous record's. */
    struct name owner;
    if (rd->blank_owner) {
        if (!rd->have_last_owner)
            return zone_fail(rd, "record with a blank owner but no record before it");
        owner = rd->last_owner;
    } else {
        if (zone_parse_name(rd, t[i].text, &owner, "owner name") != 0)
            return -1;
        i++;
    }

    /* [TTL] [class] or [class] [TTL], both optional. */
    uint32_t ttl = 0;
    bool have_ttl = false, have_class = false;
    for (int k = 0; k < 2 && i < rd->ntok; k++) {
        uint16_t class_;
        if (!have_ttl && zone_is_ttl(t[i].text)) {
            zone_parse_ttl(t[i].text, &ttl);
            have_ttl = true;
            i++;
        } else if (!have_class && dns_class_from_text(t[i].text, &class_) == 0) {
            if (class_ != DNS_CLASS_IN)
                return zone_fail(rd, "class '%s' is not supported: only IN", t[i].text);
            have_class = true;
            i++;
        }
    }
    if (i >= rd->ntok)
        return zone_fail(rd, "record without a type");
    uint16_t type;
    if (dns_type_from_text(t[i].text, &type) != 0) {
        /* No type or class starts with a digit: this was meant as a TTL. */
        if (t[i].text[0] >= '0' && t[i].text[0] <= '9')
            return zone_fail(rd, "bad TTL '%s' (seconds up to 2147483647, or e.g. 1h30m)",
                             t[i].text);
        return zone_fail(rd, "unknown type '%s'", t[i].text);
    }
    i++;

    if (!have_ttl) {
        if (rd->have_default_ttl)
            ttl = rd->default_ttl;
        else if (rd->have_last_ttl)
            ttl = rd->last_ttl;
        else
            return zone_fail(rd, "no TTL: give one on the record or set $TTL first");
    }
    if (ttl > DNS_TTL_MAX)
        return zone_fail(rd, "TTL %u is above 2147483647 (RFC 2181 8)", (unsigned)ttl);

    static uint8_t rdata[ZONE_RDATA_MAX];
    struct buf_writer w;
    buf_writer_init(&w, rdata, sizeof rdata);
    if (zone_rdata(rd, type, i, &w) != 0)
        return -1;
    if (!buf_writer_ok(&w))
        return zone_fail(rd, "record data longer than 65535 bytes");

    /* The first record makes the zone, and must be its SOA. */
    if (rd->zone == NULL) {
        if (type != DNS_TYPE_SOA)
            return zone_fail(rd, "the first record must be the zone's SOA");
        rd->zone = zone_new(&owner);
        if (rd->zone == NULL)
            return zone_fail(rd, "out of memory");
    }
    if (zone_add_record(rd, &owner, type, ttl, rdata, w.pos) != 0)
        return -1;
    rd->last_owner = owner;
    rd->have_last_owner = true;
    rd->last_ttl = ttl;
    rd->have_last_ttl = true;
    return 0;
}

int zone_load_text(struct zone_set *set, const char *text, const char *source, const char *origin,
                   char *err, size_t errcap)
{
    struct zone_reader *rd = calloc(1, sizeof *rd);
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
        int got = zone_next_entry(rd);
        if (got < 0) {
            status = -1;
            break;
        }
        if (got == 0)
            break;
        if (rd->ntok == 0)
            continue;
        if (zone_entry(rd) != 0) {
            status = -1;
            break;
        }
    }
    if (status == 0 && rd->zone == NULL) {
        /* Blame the last line of the file (the reader stands after its newline). */
        size_t tlen = strlen(text);
        rd->entry_line =
            (tlen > 0 && text[tlen - 1] == '\n' && rd->line > 1) ? rd->line - 1 : rd->line;
        status = zone_fail(rd, "no SOA record: a zone file starts with its zone's SOA");
    }
    if (status == 0) {
        rd->zone->next = set->zones;
        set->zones = rd->zone;
    } else if (rd->zone != NULL) {
        zone_free(rd->zone);
    }
    free(rd->store);
    free(rd);
    return status;
}

int zone_load_file(struct zone_set *set, const char *path, const char *origin, char *err,
                   size_t errcap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    /* Read the whole file; bounded by its size. */
    for (;;) {
        if (cap - len < 65536) {
            cap = cap ? cap * 2 : 1 << 20;
            char *grown = realloc(text, cap + 1);
            if (grown == NULL) {
                free(text);
                fclose(f);
                snprintf(err, errcap, "%s: out of memory", path);
                return -1;
            }
            text = grown;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f) != 0;
    fclose(f);
    if (failed) {
        free(text);
        snprintf(err, errcap, "%s: read error", path);
        return -1;
    }
    text[len] = '\0';
    if (memchr(text, '\0', len) != NULL) {
        free(text);
        snprintf(err, errcap, "%s: contains a NUL byte: not a zone file", path);
        return -1;
    }
    int status = zone_load_text(set, text, path, origin, err, errcap);
    free(text);
    return status;
}
