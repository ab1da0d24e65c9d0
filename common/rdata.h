/* rdata: the record-type table — for each type, the layout of its RDATA, field by field. */
#ifndef DNS_RDATA_H
#define DNS_RDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "name.h"

/*
 * RDATA is a run of fields whose layout depends on the record's type: an MX
 * is a 16-bit preference then a name, an SOA two names then five 32-bit
 * numbers (RFC 1035 3.3). One row per type says which, and everything that
 * looks inside RDATA reads the same row: the zone-file reader (text to wire),
 * the reply writer (which names it may compress), the lookup (which name gets
 * its addresses in the additional section), the tracer (what to call each
 * field) and rdata_unpack() (RDATA from the network, decompressed). A new
 * type is one new row.
 *
 *   MX (RFC 1035 3.3.9)                     SOA (RFC 1035 3.3.13)
 *   +--+--+--+--+--+--+--+--+               +--+--+--+--+--+--+--+--+
 *   |      PREFERENCE (16)  |               /    MNAME (a name)     /
 *   +--+--+--+--+--+--+--+--+               /    RNAME (a name)     /
 *   /   EXCHANGE (a name)   /               |   SERIAL       (32)   |
 *   +--+--+--+--+--+--+--+--+               |   REFRESH      (32)   |
 *                                           |   RETRY        (32)   |
 *                                           |   EXPIRE       (32)   |
 *                                           |   MINIMUM      (32)   |
 *                                           +--+--+--+--+--+--+--+--+
 */

enum rdata_kind {
    /* A domain name a writer may compress: the types of RFC 1035, whose names
     * every implementation decompresses (RFC 3597 4). */
    RDATA_NAME,
    /* A domain name never compressed when written: later types (SRV), which
     * old software would not know to decompress (RFC 3597 4, RFC 2782). */
    RDATA_NAME_PLAIN,
    RDATA_U16,     /* a 16-bit number */
    RDATA_U32,     /* a 32-bit number */
    RDATA_SECONDS, /* a 32-bit number of seconds (the SOA's timers) */
    RDATA_IPV4,    /* 4 bytes, network order */
    RDATA_IPV6,    /* 16 bytes, network order */
    RDATA_STRING,  /* one character-string: a length byte, then that many bytes */
    RDATA_STRINGS, /* one or more character-strings, up to the end of the RDATA */
    RDATA_OPTIONS, /* EDNS options up to the end (RFC 6891 6.1.2): code, length, data */
    RDATA_OPAQUE,  /* the rest of the RDATA, not interpreted: a type not in the table */
};

enum {
    /* Fields in one row: SOA has the most (MNAME RNAME SERIAL REFRESH RETRY
     * EXPIRE MINIMUM). */
    RDATA_FIELDS_MAX = 7,
    /* A character-string is a length byte and at most 255 bytes (RFC 1035 3.3). */
    RDATA_STRING_MAX = 255,
    /* RDLENGTH is 16 bits. */
    RDATA_MAX = 65535,
};

struct rdata_field {
    enum rdata_kind kind;
    const char *name; /* as the RFC calls it: "PREFERENCE", "EXCHANGE" */
    const char *note; /* what --trace says about the value, or NULL */
};

struct rdata_type {
    uint16_t type;
    /* Not data: a pseudo-record that never appears in a zone (OPT). */
    bool pseudo;
    /* The field naming a host whose A and AAAA records a reply adds to the
     * additional section (RFC 1035 3.3.9 for MX, 3.3.11 for NS; RFC 2782 for
     * SRV), or -1 for none. */
    int additional;
    unsigned count; /* fields in field[]; the last may repeat (STRINGS, OPTIONS) */
    struct rdata_field field[RDATA_FIELDS_MAX];
};

/* The row of `type`, or NULL for a type the table does not describe. */
const struct rdata_type *rdata_find(uint16_t type);

/* The rows, in type order, for whoever lists them ("this server knows ..."). */
const struct rdata_type *rdata_table(size_t *count);

/* True for the two kinds of domain name. */
static inline bool rdata_is_name(enum rdata_kind kind)
{
    return kind == RDATA_NAME || kind == RDATA_NAME_PLAIN;
}

/* The size of the RDATA when every field has a fixed size (A: 4, AAAA: 16),
 * or 0 when it varies. A NULL row varies. */
size_t rdata_fixed_size(const struct rdata_type *row);

/* Walking the fields ----------------------------------------------------------- */

/*
 * Visits the fields of one RDATA in order:
 *
 *     struct rdata_iter it;
 *     rdata_iter_init(&it, rdata_find(type));
 *     for (const struct rdata_field *f; (f = rdata_iter_next(&it, &r)) != NULL;)
 *         ... read one value of f->kind from r ...
 *
 * `r` is a reader that ends where the RDATA ends. A repeating last field
 * (STRINGS, OPTIONS) is returned again while bytes remain (STRINGS at least
 * once); a type without a row gets one OPAQUE field. When it returns NULL,
 * bytes still left in `r` are more than the type's fields hold.
 */
struct rdata_iter {
    const struct rdata_type *row; /* NULL: opaque */
    unsigned index;               /* the next field of the row */
    unsigned repeats;             /* values of the current (repeating) field so far */
};

void rdata_iter_init(struct rdata_iter *it, const struct rdata_type *row);
const struct rdata_field *rdata_iter_next(struct rdata_iter *it, const struct buf_reader *r);

/* One field's value, as rdata_read() found it. */
struct rdata_value {
    size_t start, end; /* its bytes, [start, end) of the reader's data (for a
                          name, up to and including its first pointer) */
    uint32_t number;   /* U16, U32, SECONDS; OPTIONS: the option's code */
    struct name name;  /* NAME, NAME_PLAIN: the whole name, pointers followed */
};

enum rdata_status {
    RDATA_OK = 0,
    RDATA_ERR_SHORT,    /* a field runs past the end of the RDATA */
    RDATA_ERR_NAME,     /* a name in it cannot be read (see name_read()) */
    RDATA_ERR_LEFTOVER, /* bytes are left after the type's last field */
    RDATA_ERR_ROOM,     /* the unpacked RDATA does not fit the writer */
};

/* A short English phrase for a status. */
const char *rdata_strerror(enum rdata_status status);

/* Reads one value of `kind` at the reader's position and advances past it.
 * On failure the reader's error is set and the status says why. */
enum rdata_status rdata_read(struct buf_reader *r, enum rdata_kind kind, struct rdata_value *v);

/*
 * Reads the RDATA of a record of `type` that starts at the reader's position
 * and is `rdlength` bytes long. Names in it may be compressed (pointers into
 * the message before them); they are written to `w` uncompressed, so the
 * result is the form RDATA is stored and compared in. `w` may be NULL, to
 * check the RDATA only. Returns RDATA_OK with the reader just past the RDATA,
 * or why not (the reader's error set).
 */
enum rdata_status rdata_unpack(struct buf_reader *r, uint16_t type, uint16_t rdlength,
                               struct buf_writer *w);

/* The value of field `index` of uncompressed RDATA (as stored), which must be
 * a name; false if the RDATA is too short or that field is not a name. */
bool rdata_name_at(const struct rdata_type *row, const uint8_t *rdata, size_t len, int index,
                   struct name *out);

#endif
