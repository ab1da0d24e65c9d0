/* compress: a compression table — where each name suffix already is in a message (RFC 1035 4.1.4).
 */
#include "compress.h"

#include <string.h>

#include "dns.h"

enum {
    /* A pointer is two bytes, the top two bits 11 and then the 14-bit offset. */
    COMPRESS_POINTER = 0xC000,
    /* The multiplier of the suffix hash (any odd number mixes well enough:
     * a match is always confirmed byte by byte). */
    COMPRESS_HASH_BASE = 0x01000193,
};

/*
 * Hashes every suffix of `n` that starts on a label, in one pass from the
 * right: offset[i] is where the i-th label starts and hash[i] the hash of the
 * suffix from there. With h(s) = sum of s[k] * B^(len - 1 - k), putting a
 * byte c in front of s gives c * B^len + h(s), so each suffix costs only its
 * own first label, and a 127-label name costs 255 steps, not 127 x 255.
 * Returns the number of labels (the root not counted).
 */
static size_t compress_suffix_hashes(const struct name *n, size_t offset[NAME_LABELS_MAX],
                                     uint32_t hash[NAME_LABELS_MAX])
{
    size_t count = 0;
    /* Bounded by n->len: each pass moves past one label. */
    for (size_t off = 0; off < n->len && n->wire[off] != 0; off += 1 + (size_t)n->wire[off])
        offset[count++] = off;
    uint32_t h = 0, power = COMPRESS_HASH_BASE; /* the root byte 0 adds nothing */
    for (size_t i = count; i-- > 0;) {
        size_t end = i + 1 < count ? offset[i + 1] : n->len - 1u;
        for (size_t k = end; k-- > offset[i];) {
            h += n->wire[k] * power;
            power *= COMPRESS_HASH_BASE;
        }
        hash[i] = h;
    }
    return count;
}

/* The offset of an earlier name equal to the suffix (wire, len), or -1. */
static int compress_find(const struct buf_writer *w, const struct compress_table *t,
                         const uint8_t *wire, size_t len, uint32_t hash)
{
    for (size_t i = 0; i < t->count; i++) {
        if (t->entry[i].hash != hash)
            continue;
        /* Read the earlier name back from the message (it may itself end in a
         * pointer) and compare: the hash alone could collide. */
        struct buf_reader r;
        struct name earlier;
        buf_reader_init(&r, w->data, w->pos);
        buf_seek(&r, t->entry[i].offset);
        if (name_read(&r, &earlier) == NAME_OK && earlier.len == len &&
            memcmp(earlier.wire, wire, len) == 0)
            return t->entry[i].offset;
    }
    return -1;
}

/* Records that a suffix with this hash starts at the writer's position. */
static void compress_add(const struct buf_writer *w, struct compress_table *t, uint32_t hash)
{
    /* Pointers reach only 14 bits, and a reader refuses pointers into the
     * header, so offsets outside [12, 0x3FFF] are useless as targets. */
    if (t->count >= COMPRESS_ENTRIES_MAX || w->pos < DNS_HEADER_SIZE || w->pos > NAME_POINTER_MAX)
        return;
    t->entry[t->count].offset = (uint16_t)w->pos;
    t->entry[t->count].hash = hash;
    t->count++;
}

void compress_write_name(struct buf_writer *w, struct compress_table *t, const struct name *n)
{
    size_t offset[NAME_LABELS_MAX];
    uint32_t hash[NAME_LABELS_MAX];
    size_t labels = compress_suffix_hashes(n, offset, hash);

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
    /* Write the labels before that suffix, recording each new suffix. */
    for (size_t i = 0; i < first; i++) {
        if (buf_writer_ok(w))
            compress_add(w, t, hash[i]);
        buf_write_bytes(w, n->wire + offset[i], 1 + (size_t)n->wire[offset[i]]);
    }
    if (target >= 0)
        buf_write_u16(w, (uint16_t)(COMPRESS_POINTER | target));
    else
        buf_write_u8(w, 0);
}
