/* name: domain names in wire form — reading (with compression guards), writing, text. */
#include "name.h"

#include <stdio.h>
#include <string.h>

#include "dns.h"
#include "text.h"

/* The top two bits of a length byte say what it is (RFC 1035 4.1.4, RFC 6891 5). */
enum {
    NAME_KIND_MASK = 0xC0,
    NAME_KIND_LABEL = 0x00,   /* 00: a label of 0..63 octets follows */
    NAME_KIND_POINTER = 0xC0, /* 11: a 14-bit offset, this byte's low 6 bits and the next 8 */
};

const char *name_strerror(enum name_status status)
{
    switch (status) {
    case NAME_OK:
        return "ok";
    case NAME_ERR_TRUNCATED:
        return "name runs past the end of the message";
    case NAME_ERR_LABEL_TYPE:
        return "unknown label type (length byte 0x40-0xBF)";
    case NAME_ERR_TOO_LONG:
        return "name longer than 255 octets";
    case NAME_ERR_POINTER_FORWARD:
        return "compression pointer does not point backwards";
    case NAME_ERR_POINTER_HEADER:
        return "compression pointer into the header";
    case NAME_ERR_TOO_MANY_HOPS:
        return "too many compression pointers";
    }
    return "unknown name error";
}

void name_root(struct name *out)
{
    out->len = 1;
    out->wire[0] = 0;
}

enum name_status name_read(struct buf_reader *r, struct name *out)
{
    return name_read_visit(r, out, NULL, NULL);
}

enum name_status name_read_visit(struct buf_reader *r, struct name *out, name_visit_fn *visit,
                                 void *ctx)
{
    enum name_status status = NAME_OK;
    /* Where the current run of labels began: a pointer must point before it.
     * Each pointer moves it strictly down, so the name cannot loop, and a
     * pointer into the name itself ("01 61 c0 0c" at offset 12) is refused. */
    size_t run_start = r->pos;
    size_t resume = 0; /* where the reader goes on after the first pointer */
    bool jumped = false;
    unsigned hops = 0;
    size_t len = 0;

    /* Bounded: every pass either appends a label (len grows by at least 2 and
     * may not pass NAME_WIRE_MAX) or follows a pointer (at most NAME_HOPS_MAX),
     * or returns. */
    for (;;) {
        size_t at = r->pos;
        uint8_t b = buf_read_u8(r);
        if (!buf_reader_ok(r)) {
            status = NAME_ERR_TRUNCATED;
            break;
        }
        if ((b & NAME_KIND_MASK) == NAME_KIND_LABEL) {
            if (b == 0) {
                out->wire[len++] = 0;
                if (visit && !jumped)
                    visit(ctx, NAME_PART_ROOT, at, NULL, 0, 0);
                break;
            }
            /* Counted on the wire: this length byte, the label, and the root
             * label still to come must fit in NAME_WIRE_MAX. */
            if (len + 1 + b + 1 > NAME_WIRE_MAX) {
                status = NAME_ERR_TOO_LONG;
                break;
            }
            out->wire[len] = b;
            buf_read_bytes(r, &out->wire[len + 1], b);
            if (!buf_reader_ok(r)) {
                status = NAME_ERR_TRUNCATED;
                break;
            }
            if (visit && !jumped)
                visit(ctx, NAME_PART_LABEL, at, &out->wire[len + 1], b, 0);
            len += 1 + (size_t)b;
        } else if ((b & NAME_KIND_MASK) == NAME_KIND_POINTER) {
            uint8_t low = buf_read_u8(r);
            if (!buf_reader_ok(r)) {
                status = NAME_ERR_TRUNCATED;
                break;
            }
            size_t target = (size_t)(b & ~NAME_KIND_MASK) << 8 | low;
            if (target < DNS_HEADER_SIZE) {
                status = NAME_ERR_POINTER_HEADER;
                break;
            }
            /* RFC 1035 4.1.4: a pointer refers to a *prior* occurrence. */
            if (target >= run_start) {
                status = NAME_ERR_POINTER_FORWARD;
                break;
            }
            if (++hops > NAME_HOPS_MAX) {
                status = NAME_ERR_TOO_MANY_HOPS;
                break;
            }
            if (!jumped) {
                if (visit)
                    visit(ctx, NAME_PART_POINTER, at, NULL, 0, target);
                resume = r->pos;
                jumped = true;
            }
            run_start = target;
            buf_seek(r, target);
        } else {
            /* 01 (RFC 6891's extended labels, never deployed) and 10 (reserved). */
            status = NAME_ERR_LABEL_TYPE;
            break;
        }
    }

    if (status != NAME_OK) {
        buf_reader_fail(r);
        name_root(out);
        return status;
    }
    out->len = (uint8_t)len;
    if (jumped)
        buf_seek(r, resume);
    return NAME_OK;
}

/* ASCII-only lower case: DNS names compare without case for A-Z only (RFC 4343). */
static inline uint8_t name_fold(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

/*
 * A polynomial hash over the case-folded bytes, built from the right:
 * h(s) = sum of fold(s[k]) * B^(len - 1 - k). Putting a label in front of a
 * name multiplies nothing that is already there, it only adds the label's
 * terms, so the hashes of all the suffixes of a name (the name, its parent,
 * its grandparent, ...) come out of one pass, and a walk down the tree hashes
 * each name from its parent's hash in the time of one label. (FNV, the usual
 * choice, runs left to right: every suffix would cost a pass of its own,
 * n^2/2 byte steps for a 127-label name.) A hash is only ever a filter:
 * every match is confirmed by comparing the names.
 */
enum { NAME_HASH_BASE = 0x01000193 };

uint32_t name_hash(const uint8_t *wire, size_t len)
{
    uint32_t h = 0, power = 1;
    for (size_t k = len; k-- > 0;) {
        h += name_fold(wire[k]) * power;
        power *= NAME_HASH_BASE;
    }
    return h;
}

/* B^n, by squaring: O(log n) multiplications. */
static uint32_t name_hash_power(size_t n)
{
    uint32_t result = 1, base = NAME_HASH_BASE;
    /* Bounded: n halves every pass. */
    for (; n > 0; n >>= 1) {
        if (n & 1)
            result *= base;
        base *= base;
    }
    return result;
}

uint32_t name_hash_prepend(uint32_t hash, size_t len, const uint8_t *label)
{
    uint32_t power = name_hash_power(len);
    for (size_t k = 1 + (size_t)label[0]; k-- > 0;) {
        hash += name_fold(label[k]) * power;
        power *= NAME_HASH_BASE;
    }
    return hash;
}

size_t name_suffix_hashes(const struct name *n, size_t offset[NAME_LABELS_MAX],
                          uint32_t hash[NAME_LABELS_MAX])
{
    size_t count = 0;
    /* Bounded by n->len: each pass moves past one label, and a name of at
     * most 255 octets has fewer than NAME_LABELS_MAX labels. A label must end
     * before the name's last byte (the root), so the loop below reads only
     * bytes of the name. */
    for (size_t off = 0; n->wire[off] != 0 && off + 1u + n->wire[off] < n->len &&
                         count < NAME_LABELS_MAX;
         off += 1 + (size_t)n->wire[off])
        offset[count++] = off;
    /* One pass over the bytes from the root up, a label at a time: the hash
     * so far is that of the suffix after the current label, so once the
     * label's bytes are in it is that label's suffix hash. The root's byte
     * is 0 and adds nothing, but it is a place: the powers start at B. */
    uint32_t h = 0, power = NAME_HASH_BASE;
    /* Bounded by count, then by each label's length byte (at most 63). */
    for (size_t i = count; i-- > 0;) {
        const uint8_t *label = n->wire + offset[i];
        for (size_t k = 1 + (size_t)label[0]; k-- > 0;) {
            h += name_fold(label[k]) * power;
            power *= NAME_HASH_BASE;
        }
        hash[i] = h;
    }
    return count;
}

/* Equal wire forms, ignoring case. Length bytes are below 64 and so never
 * change under name_fold(), which lets the whole form be compared at once.
 * Equal bytes need no folding, and most names compared equal are the same
 * bytes (a question asked twice, a name and the zone's copy of it). */
static bool name_wire_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i] && name_fold(a[i]) != name_fold(b[i]))
            return false;
    return true;
}

bool name_label_equal(const uint8_t *a, const uint8_t *b)
{
    return a[0] == b[0] && name_wire_equal(a + 1, b + 1, a[0]);
}

bool name_equal(const struct name *a, const struct name *b)
{
    return a->len == b->len && name_wire_equal(a->wire, b->wire, a->len);
}

bool name_equal_wire(const struct name *n, const uint8_t *wire, size_t len)
{
    return n->len == len && name_wire_equal(n->wire, wire, len);
}

void name_lower(struct name *n)
{
    for (size_t i = 0; i < n->len; i++)
        n->wire[i] = name_fold(n->wire[i]);
}

unsigned name_label_count(const struct name *n)
{
    unsigned count = 0;
    /* Bounded by n->len: each pass moves past one label. */
    for (size_t off = 0; off < n->len && n->wire[off] != 0; off += 1 + (size_t)n->wire[off])
        count++;
    return count;
}

bool name_is_subdomain(const struct name *n, const struct name *ancestor)
{
    if (ancestor->len > n->len)
        return false;
    /* The ancestor must be a suffix of `n` that starts on a label boundary,
     * so walk n's labels until the lengths match. */
    size_t off = 0;
    while (n->len - off > ancestor->len)
        off += 1 + (size_t)n->wire[off];
    return n->len - off == ancestor->len &&
           name_wire_equal(n->wire + off, ancestor->wire, ancestor->len);
}

/* Writing --------------------------------------------------------------------- */

void name_write(struct buf_writer *w, const struct name *n)
{
    buf_write_bytes(w, n->wire, n->len);
}

/* Text form ------------------------------------------------------------------- */

/* How dig (BIND's name_totext) writes a byte of a label: characters that mean
 * something in a zone file get a backslash ("\.", "\@"), bytes that are not
 * printable ASCII (space included) become \DDD, the rest stay as they are. */
enum name_text_form { NAME_TEXT_PLAIN, NAME_TEXT_BACKSLASH, NAME_TEXT_DDD };
static enum name_text_form name_text_form(uint8_t c)
{
    if (c <= ' ' || c >= 0x7F)
        return NAME_TEXT_DDD;
    if (strchr("\".();\\@$", c) != NULL)
        return NAME_TEXT_BACKSLASH;
    return NAME_TEXT_PLAIN;
}

int name_to_text(const struct name *n, char *out, size_t cap)
{
    size_t o = 0;
    /* Appends a string, or fails if it (and a NUL after it) does not fit. */
#define NAME_PUT(s)                                                                                \
    do {                                                                                           \
        size_t slen_ = strlen(s);                                                                  \
        if (slen_ + 1 > cap - o)                                                                   \
            goto overflow;                                                                         \
        memcpy(out + o, (s), slen_);                                                               \
        o += slen_;                                                                                \
    } while (0)
    if (cap == 0)
        return -1;
    if (n->len <= 1) {
        NAME_PUT(".");
    } else {
        /* Bounded by n->len: each pass consumes one label. */
        for (size_t off = 0; off < n->len && n->wire[off] != 0; off += 1 + (size_t)n->wire[off]) {
            uint8_t llen = n->wire[off];
            for (size_t i = 0; i < llen && off + 1 + i < n->len; i++) {
                uint8_t c = n->wire[off + 1 + i];
                char piece[5];
                switch (name_text_form(c)) {
                case NAME_TEXT_BACKSLASH:
                    snprintf(piece, sizeof piece, "\\%c", c);
                    break;
                case NAME_TEXT_DDD:
                    snprintf(piece, sizeof piece, "\\%03u", c);
                    break;
                case NAME_TEXT_PLAIN:
                    snprintf(piece, sizeof piece, "%c", c);
                    break;
                }
                NAME_PUT(piece);
            }
            NAME_PUT(".");
        }
    }
    out[o] = '\0';
    return (int)o;
overflow:
    out[0] = '\0';
    return -1;
#undef NAME_PUT
}

enum name_status name_from_text(const char *text, const struct name *origin, struct name *out)
{
    size_t len = 0;
    const char *p = text;

    if (strcmp(text, "@") == 0) {
        if (origin == NULL)
            return NAME_ERR_LABEL_TYPE;
        *out = *origin;
        return NAME_OK;
    }
    if (strcmp(text, ".") == 0) {
        name_root(out);
        return NAME_OK;
    }
    if (*p == '\0' || *p == '.')
        return NAME_ERR_LABEL_TYPE; /* empty name or empty first label */

    /* One label per pass; bounded by the text's length. */
    while (*p != '\0') {
        size_t label_at = len++;
        size_t llen = 0;
        while (*p != '\0' && *p != '.') {
            int c = text_unescape(&p);
            if (c < 0)
                return NAME_ERR_LABEL_TYPE; /* a bad escape */
            /* Keep room for the root label (1) at the end. */
            if (llen + 1 > NAME_LABEL_MAX || len + 1 + 1 > NAME_WIRE_MAX)
                return NAME_ERR_TOO_LONG;
            out->wire[len++] = (uint8_t)c;
            llen++;
        }
        if (llen == 0)
            return NAME_ERR_LABEL_TYPE; /* "a..b": an empty label */
        out->wire[label_at] = (uint8_t)llen;
        if (*p == '.') {
            p++;
            if (*p == '\0') {
                out->wire[len++] = 0; /* a final dot: absolute name */
                out->len = (uint8_t)len;
                return NAME_OK;
            }
        }
    }
    /* A relative name: append the origin (its root label ends the name). */
    if (origin == NULL)
        return NAME_ERR_LABEL_TYPE;
    if (len + origin->len > NAME_WIRE_MAX)
        return NAME_ERR_TOO_LONG;
    memcpy(out->wire + len, origin->wire, origin->len);
    out->len = (uint8_t)(len + origin->len);
    return NAME_OK;
}
