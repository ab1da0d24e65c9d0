/* resp: writing a reply — header, questions, RRsets — within a size limit, with TC. */
#ifndef DNS_RESP_H
#define DNS_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compress.h"
#include "lookup.h"
#include "msg.h"

/*
 * Writes the reply to `query` (its header and `qcount` questions) carrying
 * `res`, into `out`, using at most `max` bytes (DNS_UDP_MAX for UDP without
 * EDNS). Whole RRsets are added one at a time, mark -> write -> check:
 *  - an answer or authority RRset that does not fit is rolled back, TC is
 *    set, and nothing more is added (the client should retry over TCP);
 *  - an additional RRset that does not fit is simply left out (no TC: the
 *    additional section is a courtesy, RFC 2181 9).
 * If not even the header and questions fit, the reply is the header alone
 * with TC set and QDCOUNT 0. Names go through one compression table for the
 * whole reply: owners and questions, and the names inside RDATA that the
 * record-type table marks compressible; a rolled-back RRset also drops the
 * table entries it added. Returns the reply's length, or 0 if `max` is under
 * 12 bytes.
 */
size_t resp_write(uint8_t *out, size_t max, const struct hdr *query,
                  const struct msg_question *questions, unsigned qcount,
                  const struct lookup_result *res);

/*
 * Appends one RDATA of `type` (`len` bytes, uncompressed, as stored) field by
 * field as the record-type table lays it out, its compressible names through
 * `t`. RDATA that does not match its type's layout is copied as it is. The
 * caller writes RDLENGTH (known only afterwards).
 */
void resp_write_rdata(struct buf_writer *w, struct compress_table *t, uint16_t type,
                      const uint8_t *rdata, size_t len);

#endif
