/* name: domain names in wire form — reading (with compression guards), writing, text. */
#ifndef DNS_NAME_H
#define DNS_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Inside the program a name is always kept in uncompressed wire form: a run
 * of labels, each a length byte then that many bytes, ending with the root
 * label (a single 0). "www.example.com." is
 *
 *     03 'w' 'w' 'w' 07 'e' 'x' 'a' 'm' 'p' 'l' 'e' 03 'c' 'o' 'm' 00
 *
 * Letter case is kept as received (a reply echoes the question's case);
 * comparisons and hashes ignore ASCII case (RFC 4343). Text form is only for
 * logs, traces and zone files.
 */

enum {
    /* RFC 1035 2.3.4: a label is 1..63 octets; the length byte's top two bits
     * are 00, because 11 marks a pointer and 01/10 are other label types. */
    NAME_LABEL_MAX = 63,
    /* RFC 1035 2.3.4: a name is at most 255 octets on the wire, counting every
     * length byte and the final root label. */
    NAME_WIRE_MAX = 255,
    /* A name of 255 octets has at most 127 labels plus the root (1+1 each). */
    NAME_LABELS_MAX = 128,
    /* Pointers followed while reading one name. Pointers must point strictly
     * backwards, so a chain always ends, but a chain of pointers to pointers
     * adds no bytes and could still cost thousands of hops; a compressor
     * never needs more than one pointer per label. */
    NAME_HOPS_MAX = NAME_LABELS_MAX,
    /* A compression pointer is 14 bits (RFC 1035 4.1.4): it cannot reach an
     * offset above 0x3FFF. */
    NAME_POINTER_MAX = 0x3FFF,
    /* Longest text form: every octet written as \DDD (4 chars) plus a dot per
     * label, bounded generously, and the terminating NUL. */
    NAME_TEXT_MAX = 4 * NAME_WIRE_MAX + 2,
};

struct name {
    uint8_t len;                 /* octets used in wire[], including the root label */
    uint8_t wire[NAME_WIRE_MAX]; /* uncompressed wire form */
};

/* Why a name could not be read. NAME_OK is 0. */
enum name_status {
    NAME_OK = 0,
    NAME_ERR_TRUNCATED,       /* a label or pointer runs past the end of the message */
    NAME_ERR_LABEL_TYPE,      /* length byte 01xxxxxx or 10xxxxxx: label types we do not know */
    NAME_ERR_TOO_LONG,        /* more than NAME_WIRE_MAX octets once pointers are followed */
    NAME_ERR_POINTER_FORWARD, /* a pointer that does not point before the labels it ends
                                 (to itself, forwards, or into its own name: it could loop) */
    NAME_ERR_POINTER_HEADER,  /* a pointer into the 12-byte header, where no name can start */
    NAME_ERR_TOO_MANY_HOPS,   /* more pointers than a legal name can need */
};

/* A short English phrase for a status ("pointer does not point backwards"). */
const char *name_strerror(enum name_status status);

/* What name_read_visit() reports while it reads, for the tracer. Only the
 * bytes of the name at the reader's position are reported, up to and
 * including the first pointer; what a pointer leads to is not. */
enum name_part { NAME_PART_LABEL, NAME_PART_POINTER, NAME_PART_ROOT };
typedef void name_visit_fn(void *ctx, enum name_part part, size_t offset, const uint8_t *label,
                           size_t label_len, size_t pointer_target);

/*
 * Reads the (possibly compressed) name at the reader's position into `out`.
 * Pointers are offsets from the start of r->data. On success the reader is
 * left just past the name's bytes at that position: past the root label, or
 * past the first pointer. On failure the reader's error is set, `out` is the
 * root name, and the status says why.
 */
enum name_status name_read(struct buf_reader *r, struct name *out);

/* name_read(), calling visit() (if not NULL) for each part as it goes. */
enum name_status name_read_visit(struct buf_reader *r, struct name *out, name_visit_fn *visit,
                                 void *ctx);

/* Appends `n` uncompressed (its wire form as it is). On failure (no room)
 * the writer's error is set; roll back to a mark to undo. Writing names
 * with compression pointers is stage 5's work (steps/05-compression). */
void name_write(struct buf_writer *w, const struct name *n);

/*
 * Text form, as dig prints it: labels separated by dots, a final dot, the root
 * as ".". Inside a label, the characters that mean something in a zone file
 * ('.', '\', '"', '(', ')', ';', '@', '$') get a backslash ("a\@b."), and
 * bytes outside printable ASCII, space included, are written \DDD ("a\032b.").
 * Writes at most `cap` bytes including the NUL; returns the length of the
 * text, or -1 (with `out` holding "") if it does not fit.
 */
int name_to_text(const struct name *n, char *out, size_t cap);

/*
 * Parses the text form into wire form. A name not ending in '.' is relative
 * and gets `origin` appended (or is an error if `origin` is NULL); "@" is
 * `origin` itself. Escapes: "\." "\\" and \DDD (three decimal digits <= 255).
 * Returns NAME_OK, NAME_ERR_TOO_LONG for an over-long label or name, or
 * NAME_ERR_LABEL_TYPE for anything else malformed (empty label, bad escape,
 * relative name without origin).
 */
enum name_status name_from_text(const char *text, const struct name *origin, struct name *out);

/* The root name ".". */
void name_root(struct name *out);

/* Number of labels, not counting the root ("www.example.com." has 3). */
unsigned name_label_count(const struct name *n);

/* Equality ignoring ASCII case. */
bool name_equal(const struct name *a, const struct name *b);

/* Equality of two labels (each a length byte, then its bytes), ignoring
 * ASCII case. */
bool name_label_equal(const uint8_t *a, const uint8_t *b);

/* Equality of `n` and the wire form of `len` octets at `wire`, ignoring ASCII
 * case: for names kept at their exact length instead of in a struct name
 * (zone nodes, cache entries). */
bool name_equal_wire(const struct name *n, const uint8_t *wire, size_t len);

/* Lower-cases the ASCII letters of `n` in place (for keys; never for echoing). */
void name_lower(struct name *n);

/* A hash of the wire form that ignores ASCII case, so Example.COM and
 * example.com hash alike. It is built from the right, so that a name's hash
 * follows from its parent's (name_hash_prepend) and all the suffixes of a
 * name hash in one pass (name_suffix_hashes). */
uint32_t name_hash(const uint8_t *wire, size_t len);

/* name_hash() of `label` (its length byte, then its bytes) put in front of
 * a name of `len` octets whose name_hash() is `hash`. */
uint32_t name_hash_prepend(uint32_t hash, size_t len, const uint8_t *label);

/* Fills offset[i] with where the i-th label of `n` starts and hash[i] with
 * name_hash() of the suffix from there, in one pass. Returns the number of
 * labels, the root not counted (0 for the root name). */
size_t name_suffix_hashes(const struct name *n, size_t offset[NAME_LABELS_MAX],
                          uint32_t hash[NAME_LABELS_MAX]);

/* True if `n` is `ancestor` or below it ("www.example.com." is below
 * "example.com." and below "."). */
bool name_is_subdomain(const struct name *n, const struct name *ancestor);

#endif
