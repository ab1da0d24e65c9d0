/* relay: the client's reply built from the replies to its questions — upstream or local. */
#ifndef DNS_RELAY_H
#define DNS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "msg.h"

/*
 * A forwarder answers with what the upstream said, but in its own reply to
 * its own client: the client's ID, the question exactly as the client wrote
 * it (case included: it may be checking, RFC 5452 9.1), the client's RD,
 * and RA=1 because this server recurses for it. Everything else is the
 * upstream's: the records of each section with their TTLs, the RCODE, TC.
 *
 * The reply is rewritten, not patched: each part is parsed whole (a reply
 * that does not parse is a failed part), and its records are written again
 * through step 5's compression, as whole RRsets within 512 bytes. That is
 * also how the answers to a two-question query are merged into one reply.
 */

/* The answer to one of the client's questions. */
struct relay_part {
    const uint8_t *reply; /* a whole reply to that question alone, or NULL: SERVFAIL */
    size_t len;
    bool local; /* our own zone's answer: its AA stands (an upstream's never does) */
};

struct relay {
    struct msg parsed[MSG_QUESTIONS_MAX]; /* large: one per part, reused for every reply */
};

/*
 * Writes into `out` (at most `max` bytes, at least 12) the reply to `query`
 * made of `parts` (one per question, in question order):
 *   header   the client's ID, OPCODE and RD; QR=1, RA=1; AA if every part
 *            is local and authoritative; TC if a part has TC or a record did
 *            not fit; the RCODE of the first part whose RCODE is not NOERROR
 *            (a failed part counts as SERVFAIL), as step 5 does;
 *   sections each part's records in turn, answer then authority then
 *            additional, an OPT record left out (EDNS is hop by hop). An
 *            answer or authority RRset that does not fit is left out with
 *            everything after it, and TC set; an additional one is only
 *            left out.
 * Returns the reply's length, or 0 if `max` is under 12 bytes.
 */
size_t relay_write(struct relay *rl, const struct msg_query *query, const struct relay_part *parts,
                   uint8_t *out, size_t max);

#endif
