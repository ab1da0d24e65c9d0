/* buf: bounds-checked reader and writer over a byte buffer, with a sticky error. */
#ifndef DNS_BUF_H
#define DNS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Every read and write is checked against the buffer's end. The first one that
 * would cross it sets `err` and does nothing; from then on every call does
 * nothing and every read returns 0 (the error is "sticky"). A parser can
 * therefore do a run of reads and check buf_ok() once at the end, and nothing
 * it does can touch memory outside the buffer. Multi-byte values are in
 * network byte order (big-endian), as on the DNS wire.
 */

/* A reader over `len` bytes at `data`. It never writes to them. */
struct buf_reader {
    const uint8_t *data; /* the whole message: name pointers are offsets into it */
    size_t len;          /* number of readable bytes */
    size_t pos;          /* offset of the next byte to read; 0 <= pos <= len */
    bool err;            /* set by the first read past `len`; sticky */
};

/* A writer into `cap` bytes at `data`. */
struct buf_writer {
    uint8_t *data;
    size_t cap; /* capacity: the writer never goes past it */
    size_t pos; /* offset of the next byte to write = length written so far */
    bool err;   /* set by the first write that did not fit; sticky */
};

/* Reader -------------------------------------------------------------------- */

/* Starts a reader at offset 0 of `data`. */
void buf_reader_init(struct buf_reader *r, const uint8_t *data, size_t len);

/* True while no read has failed. */
static inline bool buf_reader_ok(const struct buf_reader *r)
{
    return !r->err;
}

/* Bytes left between pos and the end (0 once the error is set). */
size_t buf_remaining(const struct buf_reader *r);

/* True if `n` more bytes can be read; otherwise marks the reader failed. The
 * comparison is written as n > len - pos so it cannot overflow. */
static inline bool buf_reader_has(struct buf_reader *r, size_t n)
{
    if (r->err || n > r->len - r->pos) {
        r->err = true;
        return false;
    }
    return true;
}

/* Each read advances pos by the value's size. If fewer bytes remain, the
 * error is set, pos does not move, and the read returns 0. buf_read_u8() and
 * buf_read_bytes() are inline: reading a name makes one of each per label,
 * 254 for a name of 127 one-letter labels, and a call costs more than the
 * read itself. */
static inline uint8_t buf_read_u8(struct buf_reader *r)
{
    if (!buf_reader_has(r, 1))
        return 0;
    return r->data[r->pos++];
}
uint16_t buf_read_u16(struct buf_reader *r);
uint32_t buf_read_u32(struct buf_reader *r);

/* Copies `n` bytes into `out` and advances; on failure sets the error and
 * fills `out` with zeros. */
static inline void buf_read_bytes(struct buf_reader *r, uint8_t *out, size_t n)
{
    if (!buf_reader_has(r, n)) {
        memset(out, 0, n);
        return;
    }
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

/* Advances by `n` bytes without copying them; fails as above. */
void buf_skip(struct buf_reader *r, size_t n);

/* Moves pos to `offset` (random access, e.g. to follow a name pointer). An
 * offset past the end sets the error. */
void buf_seek(struct buf_reader *r, size_t offset);

/* Marks the reader failed, for a caller that found the bytes malformed
 * (not only short): e.g. a bad label type. */
void buf_reader_fail(struct buf_reader *r);

/* Writer -------------------------------------------------------------------- */

/* Starts an empty writer over `cap` bytes at `data`. */
void buf_writer_init(struct buf_writer *w, uint8_t *data, size_t cap);

static inline bool buf_writer_ok(const struct buf_writer *w)
{
    return !w->err;
}

/* Each write appends at pos and advances. A write that does not fit sets the
 * error and writes nothing at all (no partial value). */
void buf_write_u8(struct buf_writer *w, uint8_t v);
void buf_write_u16(struct buf_writer *w, uint16_t v);
void buf_write_u32(struct buf_writer *w, uint32_t v);
void buf_write_bytes(struct buf_writer *w, const void *src, size_t n);

/* Overwrites 2 bytes already written at `offset` (e.g. a count in the header
 * or an RDLENGTH once the RDATA is known); pos does not move. Writing past
 * the bytes already written sets the error. */
void buf_write_u16_at(struct buf_writer *w, size_t offset, uint16_t v);

/* Capacity left (0 once the error is set). */
size_t buf_writer_room(const struct buf_writer *w);

/* Mark -> write -> check -> roll back: buf_writer_mark() remembers pos, and
 * buf_writer_rollback() returns to it and clears the error, forgetting
 * everything written after the mark. */
static inline size_t buf_writer_mark(const struct buf_writer *w)
{
    return w->pos;
}
void buf_writer_rollback(struct buf_writer *w, size_t mark);

#endif
