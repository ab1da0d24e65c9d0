/* fuzz.h: what the fuzz targets share: a check that aborts, checkers of names and replies. */
#ifndef DNS_FUZZ_H
#define DNS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "name.h"

/* The entry point every target defines; libFuzzer calls it once per input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * A broken invariant is a finding like a sanitizer report: say which one, in
 * plain words, and abort, so libFuzzer saves the input as a crash-* file.
 */
#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "\n%s:%d: check failed: %s\n    ", __FILE__, __LINE__, #cond);         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/*
 * True if `n` is a name in the form name.h promises: 1..255 octets, labels of
 * 1..63 octets, and the root label exactly at the end (no earlier 0, no
 * length byte that runs past len).
 */
static inline bool fuzz_name_well_formed(const struct name *n)
{
    if (n->len < 1 || n->len > NAME_WIRE_MAX)
        return false;
    size_t off = 0;
    /* Bounded by n->len: each pass moves past one label. */
    while (off < n->len && n->wire[off] != 0) {
        if (n->wire[off] > NAME_LABEL_MAX)
            return false;
        off += 1 + (size_t)n->wire[off];
    }
    return off == (size_t)n->len - 1u;
}

/* Byte-for-byte equality, case included (name_equal() ignores case). */
static inline bool fuzz_name_same(const struct name *a, const struct name *b)
{
    return a->len == b->len && memcmp(a->wire, b->wire, a->len) == 0;
}

/*
 * Where names sit in the RDATA of the types whose names step 5 compresses
 * (RFC 1035 3.3; the RDATA_NAME fields of rdata.c's table): `prefix` fixed
 * bytes, then `names` names, then exactly `suffix` fixed bytes. Returns false
 * for other types (opaque RDATA). Written out here, not read from the table,
 * so that a mistake in the table cannot hide one in the writer.
 */
static inline bool fuzz_rdata_layout(uint16_t type, size_t *prefix, unsigned *names, size_t *suffix)
{
    switch (type) {
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
    case DNS_TYPE_PTR:
        *prefix = 0, *names = 1, *suffix = 0;
        return true;
    case DNS_TYPE_MX:
        *prefix = 2, *names = 1, *suffix = 0; /* PREFERENCE, EXCHANGE */
        return true;
    case DNS_TYPE_SOA:
        *prefix = 0, *names = 2, *suffix = 20; /* MNAME RNAME, 5 x 32 bits */
        return true;
    default:
        return false;
    }
}

/*
 * Reads the names of a record's RDATA (a type fuzz_rdata_layout() knows)
 * from the whole message, into names[]. True if the RDATA is exactly that
 * shape: every name reads, and prefix + names + suffix is RDLENGTH.
 */
static inline bool fuzz_rdata_names(const uint8_t *msg, size_t len, const struct msg_rr *rr,
                                    struct name names[2])
{
    size_t prefix, suffix;
    unsigned count;
    if (!fuzz_rdata_layout(rr->type, &prefix, &count, &suffix))
        return false;
    size_t end = rr->rdata_offset + rr->rdlength;
    if (end > len)
        return false;
    /* A reader over the whole message (pointers count from its start) that
     * stops at the end of this RDATA: a name may not run past it. */
    struct buf_reader r;
    buf_reader_init(&r, msg, end);
    buf_seek(&r, rr->rdata_offset);
    buf_skip(&r, prefix);
    for (unsigned i = 0; i < count; i++)
        if (name_read(&r, &names[i]) != NAME_OK)
            return false;
    buf_skip(&r, suffix);
    return buf_reader_ok(&r) && r.pos == end;
}

/*
 * Checks a reply our server wrote: it parses completely — header, every
 * question, every record via msg_read_rr() — with no bytes left over, every
 * name is well formed, and the RDATA of NS, CNAME, PTR, MX and SOA holds
 * exactly its names and fields. Returns the decoded header.
 */
static inline struct hdr fuzz_check_reply(const uint8_t *msg, size_t len)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, msg, len);
    hdr_decode(&r, &h);
    FUZZ_CHECK(buf_reader_ok(&r), "reply of %zu bytes is shorter than a header", len);
    for (unsigned i = 0; i < h.qdcount; i++) {
        struct msg_question q;
        enum name_status st = msg_read_question(&r, &q);
        FUZZ_CHECK(st == NAME_OK, "reply question %u does not parse: %s", i, name_strerror(st));
        FUZZ_CHECK(fuzz_name_well_formed(&q.qname), "reply question %u: malformed name", i);
    }
    unsigned records = (unsigned)h.ancount + h.nscount + h.arcount;
    for (unsigned i = 0; i < records; i++) {
        struct msg_rr rr;
        enum name_status st = msg_read_rr(&r, &rr);
        FUZZ_CHECK(st == NAME_OK, "reply record %u of %u does not parse: %s", i, records,
                   name_strerror(st));
        FUZZ_CHECK(fuzz_name_well_formed(&rr.owner), "reply record %u: malformed owner", i);
        size_t prefix, suffix;
        unsigned count;
        struct name names[2];
        if (fuzz_rdata_layout(rr.type, &prefix, &count, &suffix))
            FUZZ_CHECK(fuzz_rdata_names(msg, len, &rr, names),
                       "reply record %u (type %u): RDATA is not its names and fields", i,
                       (unsigned)rr.type);
    }
    FUZZ_CHECK(buf_remaining(&r) == 0, "%zu bytes after the last record of the reply",
               buf_remaining(&r));
    return h;
}

#endif
