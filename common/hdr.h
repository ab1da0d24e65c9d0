/* hdr: the 12-byte message header — struct, flag accessors, encode and decode. */
#ifndef DNS_HDR_H
#define DNS_HDR_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"

/*
 * RFC 1035 4.1.1. Byte offsets on the left; every field is big-endian.
 *
 *            0  1  2  3  4  5  6  7  0  1  2  3  4  5  6  7
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   0 -  1 |                      ID                       |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   2 -  3 |QR|   OPCODE  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   4 -  5 |                    QDCOUNT                    |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   6 -  7 |                    ANCOUNT                    |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   8 -  9 |                    NSCOUNT                    |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *  10 - 11 |                    ARCOUNT                    |
 *          +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * RFC 1035 calls the three bits Z|AD|CD just "Z (reserved)"; RFC 4035 later
 * gave two of them to DNSSEC (AD, CD).
 */

/* Masks of the flag bits in the 16-bit flags word (bytes 2-3). */
enum {
    HDR_QR = 0x8000,          /* 1 = response, 0 = query */
    HDR_OPCODE_MASK = 0x7800, /* kind of query; 0 = standard QUERY */
    HDR_OPCODE_SHIFT = 11,
    HDR_AA = 0x0400, /* authoritative answer */
    HDR_TC = 0x0200, /* truncated: the reply did not fit */
    HDR_RD = 0x0100, /* recursion desired (set by the client, copied back) */
    HDR_RA = 0x0080, /* recursion available (set by the server) */
    HDR_Z = 0x0040,  /* reserved, must be 0 */
    HDR_AD = 0x0020, /* authentic data (DNSSEC) */
    HDR_CD = 0x0010, /* checking disabled (DNSSEC) */
    HDR_RCODE_MASK = 0x000F,
};

struct hdr {
    uint16_t id;
    uint16_t flags;
    uint16_t qdcount; /* entries in the question section */
    uint16_t ancount; /* records in the answer section */
    uint16_t nscount; /* records in the authority section */
    uint16_t arcount; /* records in the additional section */
};

/* Reads 12 bytes into `h`; on a short buffer sets the reader's error and
 * leaves `h` zeroed. */
void hdr_decode(struct buf_reader *r, struct hdr *h);

/* Appends the 12 header bytes; sets the writer's error if they do not fit. */
void hdr_encode(struct buf_writer *w, const struct hdr *h);

/* Flag accessors: `flag` is one of HDR_QR, HDR_AA, ... */
static inline bool hdr_flag(const struct hdr *h, uint16_t flag)
{
    return (h->flags & flag) != 0;
}
static inline void hdr_set_flag(struct hdr *h, uint16_t flag, bool on)
{
    h->flags = on ? (uint16_t)(h->flags | flag) : (uint16_t)(h->flags & ~flag);
}
static inline unsigned hdr_opcode(const struct hdr *h)
{
    return (h->flags & HDR_OPCODE_MASK) >> HDR_OPCODE_SHIFT;
}
static inline void hdr_set_opcode(struct hdr *h, unsigned opcode)
{
    h->flags = (uint16_t)((h->flags & ~HDR_OPCODE_MASK) |
                          ((opcode << HDR_OPCODE_SHIFT) & HDR_OPCODE_MASK));
}
static inline unsigned hdr_rcode(const struct hdr *h)
{
    return h->flags & HDR_RCODE_MASK;
}
static inline void hdr_set_rcode(struct hdr *h, unsigned rcode)
{
    h->flags = (uint16_t)((h->flags & ~HDR_RCODE_MASK) | (rcode & HDR_RCODE_MASK));
}

/*
 * The header of a reply to `query`: same ID, QR=1, OPCODE and RD copied,
 * AA=TC=RA=Z=AD=CD=0, the given RCODE, all counts 0 (the writer of each
 * section sets its count).
 */
struct hdr hdr_reply_to(const struct hdr *query, unsigned rcode);

#endif
