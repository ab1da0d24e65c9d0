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

/* Appends a question, its name uncompressed. */
void msg_write_question(struct buf_writer *w, const struct msg_question *q);

/* Reads a record's owner name and fixed fields and skips its RDATA, leaving
 * the reader after the record. Fails like msg_read_question(), also when the
 * RDATA runs past the end. */
enum name_status msg_read_rr(struct buf_reader *r, struct msg_rr *rr);

/* Parsing a query ------------------------------------------------------------ */

/* Returned instead of an RCODE when a datagram gets no reply at all. */
enum { MSG_DROP = -1 };

enum {
    /* Questions one message may carry for us. RFC 9619 says a query has
     * exactly one, and steps 3 and 4 answer anything else with FORMERR; step 5
     * answers up to this many, as an online DNS challenge asks. */
    MSG_QUESTIONS_MAX = 16,
    /* The octets all the questions' names of one query may add up to, once
     * their pointers are followed. Each question costs work in proportion to
     * its name (reading it, looking it up, writing it back, twice for a
     * wildcard's answer), and 16 names of 255 octets made of pointers into
     * one another fit in a 361-byte query. A real query has one question
     * (RFC 9619) of at most 255 octets; 300 leaves room for a second short
     * one, or for 16 names of 18 (www.example.com. is 17), which is what
     * several questions are for here. With 1024, four 255-octet names under
     * a wildcard cost step 5 38 normal queries of instructions and 2.3 to
     * 2.7 of CPU; with 300, no query it answers costs more CPU than the
     * deepest single name (docs/performance.md, "The worst query"). And the
     * questions always fit in a 512-byte reply, to be echoed there (msg.c
     * checks it). */
    MSG_QUESTION_OCTETS_MAX = 300,
    /* Records a query may carry in its additional section: an EDNS OPT (RFC
     * 6891) and a TSIG (RFC 8945). More is malformed, and each would be one
     * more name to read. */
    MSG_ADDITIONAL_MAX = 2,
};

struct msg_query {
    struct hdr hdr;
    unsigned qdcount; /* questions parsed into question[] */
    struct msg_question question[MSG_QUESTIONS_MAX];
    size_t end; /* offset just past the question section */
};

/*
 * Parses a query of `len` bytes with up to MSG_QUESTIONS_MAX questions (the
 * caller decides how many it answers). Returns
 *   MSG_DROP            datagram under 12 bytes, or QR=1 (a response: never
 *                       answer one, or two servers could bounce packets forever);
 *   DNS_RCODE_NOTIMP    OPCODE is not QUERY (q->hdr is filled);
 *   DNS_RCODE_FORMERR   an RCODE already set, no question or more than
 *                       MSG_QUESTIONS_MAX, names adding up to more than
 *                       MSG_QUESTION_OCTETS_MAX, records in the answer
 *                       section, any in the authority section but an IXFR's
 *                       SOA (RFC 1995 3), more than MSG_ADDITIONAL_MAX
 *                       additional records, a malformed question or record, or
 *                       bytes after the last record (q->hdr is filled);
 *   DNS_RCODE_NOERROR   q is filled and can be answered.
 * Records in the additional section (e.g. a client's EDNS OPT) are checked
 * for shape and otherwise ignored. This is the one place where a codec error
 * in a query becomes an RCODE.
 */
int msg_parse_query(const uint8_t *data, size_t len, struct msg_query *q);

/*
 * Writes a reply that is only a header: hdr_reply_to(query, rcode) with all
 * counts 0. Returns the number of bytes written (DNS_HEADER_SIZE), or 0 if
 * `cap` is too small.
 */
size_t msg_write_header_reply(const struct hdr *query, unsigned rcode, uint8_t *out, size_t cap);

/* Parsing a whole message ----------------------------------------------------- */

/*
 * A message read once and indexed: the header, the questions, and for every
 * record its fixed fields and where its owner and RDATA are. Names stay in the
 * message (msg_record_owner() and rdata_unpack() read them), so the index is
 * small and nothing is copied until someone needs it. A forwarder or resolver
 * reads each reply this way, then never walks its bytes again.
 */

enum msg_section { MSG_ANSWER, MSG_AUTHORITY, MSG_ADDITIONAL, MSG_SECTIONS };

enum {
    /* Records one parsed message may hold. A 64 KiB message of the smallest
     * records (11 bytes each) could claim almost 6,000; no reply a server
     * needs comes near this, and more is refused, not cut. */
    MSG_RECORDS_MAX = 1024,
};

struct msg_record {
    uint16_t owner; /* offset of the owner name in the message */
    uint16_t type;
    uint16_t class_;
    uint32_t ttl;
    uint16_t rdlength;
    uint16_t rdata; /* offset of the RDATA */
};

struct msg {
    const uint8_t *data; /* the message, which must outlive the index */
    size_t len;
    struct hdr hdr;
    unsigned qdcount;
    struct msg_question question[MSG_QUESTIONS_MAX];
    /* Records in message order: answer, then authority, then additional. */
    size_t count[MSG_SECTIONS];
    struct msg_record record[MSG_RECORDS_MAX];
};

/* Why a message could not be parsed. */
enum msg_status {
    MSG_OK = 0,
    MSG_ERR_HEADER,   /* shorter than the 12-byte header */
    MSG_ERR_TOO_LONG, /* longer than DNS_MESSAGE_MAX: no DNS message is */
    MSG_ERR_QUESTION, /* a question is malformed or missing */
    MSG_ERR_RECORD,   /* a record's owner or fixed fields are malformed or missing */
    MSG_ERR_RDATA,    /* a record's RDATA does not match its type's layout */
    MSG_ERR_TOO_MANY, /* more than MSG_QUESTIONS_MAX questions or MSG_RECORDS_MAX records */
    MSG_ERR_TRAILING, /* bytes after the last record */
};

const char *msg_strerror(enum msg_status status);

/*
 * Reads and checks the whole message: every name (owners, and the names
 * inside RDATA of the types rdata.h knows) and every RDATA against its
 * type's layout. On MSG_OK, `m` indexes it; on failure, m->hdr is filled if
 * there was a header, and the status says what was wrong.
 */
enum msg_status msg_parse(const uint8_t *data, size_t len, struct msg *m);

/* The first record of a section: m->record[msg_section_start(m, s)] and the
 * m->count[s] records after it. */
size_t msg_section_start(const struct msg *m, enum msg_section section);

/* Reads a record's owner name (checked by msg_parse(), so this succeeds). */
void msg_record_owner(const struct msg *m, const struct msg_record *rec, struct name *out);

#endif
