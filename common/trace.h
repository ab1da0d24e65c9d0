/* trace: an annotated hex dump of a DNS message, field by field, for learners. */
#ifndef DNS_TRACE_H
#define DNS_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Writes one line per field: offset, bytes in hex, field name, decoded value.
 * The header (ID, each flag, the counts), every label of every name, pointers
 * with their target, TYPE/CLASS by name, TTL, RDLENGTH, and RDATA decoded for
 * the types it knows (A, AAAA, NS, CNAME, PTR, MX, SOA, TXT, OPT; others as
 * hex). Bytes that cannot be decoded are shown as such with the reason; any
 * input is safe, including garbage and lengths from 0 to 65535.
 */
void trace_message(FILE *out, const uint8_t *msg, size_t len);

/*
 * A one-line, dig-like summary:
 *   "query id 19419 QUERY rd ad | google.com. IN A | qd 1 an 0 ns 0 ar 1"
 * Under 12 bytes: "undecodable (5 bytes): shorter than the 12-byte header".
 * With a header but a problem later, the header part stays (so IDs can still
 * be matched) and the problem is appended: "... | undecodable: <why>",
 * "... | trailing bytes: <n> ...", "... | bad RDATA: answer 1: <why>".
 * Writes at most `cap` bytes including the NUL (cut to fit); returns `out`.
 */
const char *trace_summary(const uint8_t *msg, size_t len, char *out, size_t cap);

/*
 * What --trace prints for each datagram: a line naming the direction
 * ("received" or "sent"), size and peer, the dump, then the summary.
 */
void trace_datagram(FILE *out, const char *direction, const char *peer, const uint8_t *msg,
                    size_t len);

#endif
