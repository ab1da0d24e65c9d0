/* compress: a compression table — where each name suffix already is in a message (RFC 1035 4.1.4).
 */
#ifndef DNS_COMPRESS_H
#define DNS_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "name.h"

/*
 * A name can end with a pointer to the same labels earlier in the message
 * instead of repeating them: "mail.example.com." after "example.com." at
 * offset 12 is written
 *
 *     04 'm' 'a' 'i' 'l' c0 0c
 *
 * The table remembers where each suffix written so far starts. It belongs to
 * one message and one writer.
 */

enum {
    /* Entries kept per message. A 512-byte reply rarely holds more than a few
     * dozen distinct suffixes; past this, names are simply written longer. */
    COMPRESS_ENTRIES_MAX = 256,
};

struct compress_table {
    size_t count;
    struct {
        uint16_t offset; /* where the suffix starts in the message */
        uint32_t hash;   /* a hash of that suffix, to skip most comparisons */
    } entry[COMPRESS_ENTRIES_MAX];
};

static inline void compress_init(struct compress_table *t)
{
    t->count = 0;
}
/* For mark -> write -> roll back: remembers how many entries there are... */
static inline size_t compress_mark(const struct compress_table *t)
{
    return t->count;
}
/* ...and forgets the entries added after the mark (their bytes are gone). */
static inline void compress_rollback(struct compress_table *t, size_t mark)
{
    if (mark < t->count)
        t->count = mark;
}

/*
 * Appends `n` to the writer, its longest suffix already in the message
 * replaced by a pointer to it, and records each suffix written out in full
 * that starts where a pointer can reach (12 to NAME_POINTER_MAX). Suffixes
 * match byte for byte, case included: a pointer repeats the earlier bytes,
 * and "ns1.example.com." must not come out as "ns1.EXAMPLE.com." because the
 * client asked for "EXAMPLE.com.". On failure (no room) the writer's error is
 * set; roll back both the writer and the table to a mark to undo.
 */
void compress_write_name(struct buf_writer *w, struct compress_table *t, const struct name *n);

#endif
