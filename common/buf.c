/* buf: bounds-checked reader and writer over a byte buffer, with a sticky error. */
#include "buf.h"

#include <string.h>

void buf_reader_init(struct buf_reader *r, const uint8_t *data, size_t len)
{
    r->data = data;
    r->len = len;
    r->pos = 0;
    r->err = false;
}

size_t buf_remaining(const struct buf_reader *r)
{
    return r->err ? 0 : r->len - r->pos;
}

uint16_t buf_read_u16(struct buf_reader *r)
{
    if (!buf_reader_has(r, 2))
        return 0;
    const uint8_t *p = r->data + r->pos;
    r->pos += 2;
    return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t buf_read_u32(struct buf_reader *r)
{
    if (!buf_reader_has(r, 4))
        return 0;
    const uint8_t *p = r->data + r->pos;
    r->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void buf_skip(struct buf_reader *r, size_t n)
{
    if (buf_reader_has(r, n))
        r->pos += n;
}

void buf_seek(struct buf_reader *r, size_t offset)
{
    if (r->err || offset > r->len) {
        r->err = true;
        return;
    }
    r->pos = offset;
}

void buf_reader_fail(struct buf_reader *r)
{
    r->err = true;
}

void buf_writer_init(struct buf_writer *w, uint8_t *data, size_t cap)
{
    w->data = data;
    w->cap = cap;
    w->pos = 0;
    w->err = false;
}

size_t buf_writer_room(const struct buf_writer *w)
{
    return w->err ? 0 : w->cap - w->pos;
}

/* True if `n` more bytes fit; otherwise marks the writer failed. */
static bool writer_has(struct buf_writer *w, size_t n)
{
    if (w->err || n > w->cap - w->pos) {
        w->err = true;
        return false;
    }
    return true;
}

void buf_write_u8(struct buf_writer *w, uint8_t v)
{
    if (writer_has(w, 1))
        w->data[w->pos++] = v;
}

void buf_write_u16(struct buf_writer *w, uint16_t v)
{
    if (!writer_has(w, 2))
        return;
    w->data[w->pos++] = (uint8_t)(v >> 8);
    w->data[w->pos++] = (uint8_t)v;
}

void buf_write_u32(struct buf_writer *w, uint32_t v)
{
    if (!writer_has(w, 4))
        return;
    w->data[w->pos++] = (uint8_t)(v >> 24);
    w->data[w->pos++] = (uint8_t)(v >> 16);
    w->data[w->pos++] = (uint8_t)(v >> 8);
    w->data[w->pos++] = (uint8_t)v;
}

void buf_write_bytes(struct buf_writer *w, const void *src, size_t n)
{
    if (!writer_has(w, n))
        return;
    if (n > 0)
        memcpy(w->data + w->pos, src, n);
    w->pos += n;
}

void buf_write_u16_at(struct buf_writer *w, size_t offset, uint16_t v)
{
    /* Only bytes already written may be patched: offset + 2 <= pos. */
    if (w->err || w->pos < 2 || offset > w->pos - 2) {
        w->err = true;
        return;
    }
    w->data[offset] = (uint8_t)(v >> 8);
    w->data[offset + 1] = (uint8_t)v;
}

void buf_writer_rollback(struct buf_writer *w, size_t mark)
{
    if (mark <= w->cap)
        w->pos = mark;
    w->err = false;
}
