/* msg: questions, resource-record headers, and parsing a query into an RCODE-style verdict. */
#ifndef DNS_MSG_H
#define DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hdr.h"
#include "name.h"

/*
 * A question (RFC 1035 4.1.2):        A resource record (RFC 1035 4.1.3):
 *
 *   QNAME   a name                      NAME      a name
 *   QTYPE   16 bits                     TYPE      16 bits
 *   QCLASS  16 bits                     CLASS     16 bits
 *                                       TTL       32 bits
 *                                       RDLENGTH  16 bits
 *                                       RDATA     RDLENGTH bytes
 */

struct msg_question {
    struct name qname; /* as the client sent it (case kept) */
    uint16_t qtype;
    uint16_t qclass;
};

/* A resource record as found in a message; its RDATA stays in the message. */
struct msg_rr {
    struct name owner;
    uint16_t type;
    uint16_t class_;
    uint32_t ttl;
    uint16_t rdlength;
    size_t rdata_offset; /* where the RDATA starts in the message */
};

/* Reads a question; on failure the reader's error is set and the name
 * status (or NAME_ERR_TRUNCATED for missing QTYPE/QCLASS) returned. */
enum name_status msg_read_question(struct buf_reader *r, struct msg_question *q);

/* Appends a question; the name goes through `t` if not NULL. */
void msg_write_question(struct buf_writer *w, const struct msg_question *q, struct name_ctable *t);

/* Reads a record's owner name and fixed fields and skips its RDATA, leaving
 * the reader after the record. Fails like msg_read_question(), also when the
 * RDATA runs past the end. */
enum name_status msg_read_rr(struct buf_reader *r, struct msg_rr *rr);

/* Parsing a query ------------------------------------------------------------ */

/* Returned instead of an RCODE when a datagram gets no reply at all. */
enum { MSG_DROP = -1 };

enum {
    /* How many questions msg_parse_query() keeps. Steps 3-4 take exactly one;
     * a later step takes up to this many (real servers take one). */
    MSG_QUESTIONS_MAX = 16,
};

struct msg_query {
    struct hdr hdr;
    unsigned qdcount; /* questions parsed into question[] */
    struct msg_question question[MSG_QUESTIONS_MAX];
    size_t end; /* offset just past the question section */
};

/*
 * Parses a query of `len` bytes, accepting between 1 and `max_questions`
 * questions (at most MSG_QUESTIONS_MAX). Returns
 *   MSG_DROP            datagram under 12 bytes, or QR=1 (a response: never
 *                       answer one, or two servers could bounce packets forever);
 *   DNS_RCODE_NOTIMP    OPCODE is not QUERY (q->hdr is filled);
 *   DNS_RCODE_FORMERR   QDCOUNT out of range, records in the answer or
 *                       authority section, a malformed question or record,
 *                       or bytes after the last record (q->hdr is filled);
 *   DNS_RCODE_NOERROR   q is filled and can be answered.
 * Records in the additional section (e.g. a client's EDNS OPT) are checked
 * for shape and otherwise ignored. This is the one place where a codec error
 * becomes an RCODE.
 */
int msg_parse_query(const uint8_t *data, size_t len, unsigned max_questions, struct msg_query *q);

/*
 * Writes a reply that is only a header: hdr_reply_to(query, rcode) with all
 * counts 0. Returns the number of bytes written (DNS_HEADER_SIZE), or 0 if
 * `cap` is too small.
 */
size_t msg_write_header_reply(const struct hdr *query, unsigned rcode, uint8_t *out, size_t cap);

#endif
