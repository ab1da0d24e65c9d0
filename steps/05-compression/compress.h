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
    /* Hash buckets, a power of two: a suffix is found in one probe or two,
     * not by scanning every entry (a 121-label name has 121 suffixes to try). */
    COMPRESS_BUCKETS = 256,
    /* Suffixes whose hash matched but whose bytes did not, per message. Each
     * costs a name read back from the message, and a sender choosing names
     * can make a polynomial hash collide at will; past this many the table
     * stops looking (names come out longer, never wrong), so no message can
     * cost more than this many reads. */
    COMPRESS_MISSES_MAX = 32,
};

struct compress_table {
    size_t count;
    unsigned misses;                  /* failed comparisons so far, up to COMPRESS_MISSES_MAX */
    int16_t bucket[COMPRESS_BUCKETS]; /* the newest entry of each bucket, or -1 */
    struct {
        uint16_t offset; /* where the suffix starts in the message */
        int16_t next;    /* the next older entry in the same bucket, or -1 */
        uint32_t hash;   /* name_hash() of that suffix, to skip most comparisons */
    } entry[COMPRESS_ENTRIES_MAX];
};

/* Starts an empty table for a new message. */
void compress_init(struct compress_table *t);

/* For mark -> write -> roll back: remembers how many entries there are... */
static inline size_t compress_mark(const struct compress_table *t)
{
    return t->count;
}
/* ...and forgets the entries added after the mark (their bytes are gone). */
void compress_rollback(struct compress_table *t, size_t mark);

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
