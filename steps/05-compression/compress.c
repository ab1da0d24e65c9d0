/* compress: a compression table — where each name suffix already is in a message (RFC 1035 4.1.4).
 */
#include "compress.h"

#include <string.h>

#include "dns.h"

enum {
    /* A pointer is two bytes, the top two bits 11 and then the 14-bit offset. */
    COMPRESS_POINTER = 0xC000,
};

void compress_init(struct compress_table *t)
{
    t->count = 0;
    t->misses = 0;
    for (size_t i = 0; i < COMPRESS_BUCKETS; i++)
        t->bucket[i] = -1;
}

void compress_rollback(struct compress_table *t, size_t mark)
{
    /* Entries are added at the head of their bucket, so removing them newest
     * first puts every head back where it was at the mark. */
    while (t->count > mark) {
        t->count--;
        t->bucket[t->entry[t->count].hash & (COMPRESS_BUCKETS - 1)] = t->entry[t->count].next;
    }
}

/* The offset of an earlier name equal to the suffix (wire, len), or -1. */
static int compress_find(const struct buf_writer *w, struct compress_table *t, const uint8_t *wire,
                         size_t len, uint32_t hash)
{
    /* Bounded by the entries in the bucket, and the reads by the misses. */
    for (int i = t->bucket[hash & (COMPRESS_BUCKETS - 1)]; i >= 0; i = t->entry[i].next) {
        if (t->entry[i].hash != hash)
            continue;
        if (t->misses >= COMPRESS_MISSES_MAX)
            return -1;
        /* Read the earlier name back from the message (it may itself end in a
         * pointer) and compare: the hash alone could collide, and it ignores
         * case while the match must not. */
        struct buf_reader r;
        struct name earlier;
        buf_reader_init(&r, w->data, w->pos);
        buf_seek(&r, t->entry[i].offset);
        if (name_read(&r, &earlier) == NAME_OK && earlier.len == len &&
            memcmp(earlier.wire, wire, len) == 0)
            return t->entry[i].offset;
        t->misses++;
    }
    return -1;
}

/* Records that a suffix with this hash starts at `offset` of the message. */
static void compress_add(struct compress_table *t, size_t offset, uint32_t hash)
{
    /* Pointers reach only 14 bits, and a reader refuses pointers into the
     * header, so offsets outside [12, 0x3FFF] are useless as targets. */
    if (t->count >= COMPRESS_ENTRIES_MAX || offset < DNS_HEADER_SIZE || offset > NAME_POINTER_MAX)
        return;
    size_t b = hash & (COMPRESS_BUCKETS - 1);
    t->entry[t->count].offset = (uint16_t)offset;
    t->entry[t->count].hash = hash;
    t->entry[t->count].next = t->bucket[b];
    t->bucket[b] = (int16_t)t->count;
    t->count++;
}

void compress_write_name(struct buf_writer *w, struct compress_table *t, const struct name *n)
{
    size_t offset[NAME_LABELS_MAX];
    uint32_t hash[NAME_LABELS_MAX];
    size_t labels = name_suffix_hashes(n, offset, hash);

    /* Find the longest suffix already in the message: try the whole name,
     * then drop one label at a time. Bounded by the labels. */
    size_t first = 0; /* the label where the suffix found starts */
    int target = -1;
    for (; first < labels; first++) {
        size_t off = offset[first];
        target = compress_find(w, t, n->wire + off, n->len - off, hash[first]);
        if (target >= 0)
            break;
    }
    /* Write the labels before that suffix in one piece, then record each
     * new suffix where it now starts. */
    size_t start = w->pos;
    buf_write_bytes(w, n->wire, first < labels ? offset[first] : n->len - 1u);
    for (size_t i = 0; i < first && buf_writer_ok(w); i++)
        compress_add(t, start + offset[i], hash[i]);
    if (target >= 0)
        buf_write_u16(w, (uint16_t)(COMPRESS_POINTER | target));
    else
        buf_write_u8(w, 0);
}
