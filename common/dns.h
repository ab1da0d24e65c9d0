/* dns: protocol constants (limits, types, classes, opcodes, rcodes) and their names. */
#ifndef DNS_DNS_H
#define DNS_DNS_H

#include <stddef.h>
#include <stdint.h>

/* Limits, each with the reason it exists. */
enum {
    /* RFC 1035 4.1.1: the header is six 16-bit fields. */
    DNS_HEADER_SIZE = 12,
    /* RFC 1035 2.3.4 / 4.2.1: a UDP message is at most 512 bytes unless the
     * client says it can take more with EDNS(0) (RFC 6891). */
    DNS_UDP_MAX = 512,
    /* RFC 1035 4.2.2: over TCP a message has a 16-bit length prefix, so no
     * DNS message is longer than this. */
    DNS_MESSAGE_MAX = 65535,
    /* The largest UDP payload IPv4 can carry: 65535 - 20 (IP) - 8 (UDP). */
    DNS_DATAGRAM_MAX = 65507,
    /* The largest datagram any address family can hand us (IPv6 allows
     * 65527); receive buffers are this big so nothing is ever cut short. */
    DNS_RECV_BUFFER = 65536,
    /* RFC 1035 4.1.2: a question is a name then QTYPE and QCLASS (2+2). */
    DNS_QUESTION_FIXED = 4,
    /* RFC 1035 4.1.3: after the owner name, TYPE CLASS TTL RDLENGTH (2+2+4+2). */
    DNS_RR_FIXED = 10,
    /* RFC 1035 2.3.4: TTLs are 32 bits but RFC 2181 8 caps them at 2^31 - 1. */
    DNS_TTL_MAX = 0x7FFFFFFF,
};

/* OPCODE values (RFC 1035 4.1.1, RFC 1996, RFC 2136). */
enum dns_opcode {
    DNS_OPCODE_QUERY = 0,
    DNS_OPCODE_IQUERY = 1, /* obsolete (RFC 3425) */
    DNS_OPCODE_STATUS = 2,
    DNS_OPCODE_NOTIFY = 4,
    DNS_OPCODE_UPDATE = 5,
};

/* RCODE values (RFC 1035 4.1.1, RFC 2136). */
enum dns_rcode {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,  /* the server could not parse the query */
    DNS_RCODE_SERVFAIL = 2, /* the server failed (e.g. no upstream answered) */
    DNS_RCODE_NXDOMAIN = 3, /* the name does not exist */
    DNS_RCODE_NOTIMP = 4,   /* the server does not do this kind of query */
    DNS_RCODE_REFUSED = 5,  /* the server will not answer (not its zone) */
};

/* TYPE values (RFC 1035 3.2.2, RFC 3596 for AAAA, RFC 6891 for OPT). */
enum dns_type {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_SOA = 6,
    DNS_TYPE_PTR = 12,
    DNS_TYPE_HINFO = 13,
    DNS_TYPE_MX = 15,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
    DNS_TYPE_SRV = 33,
    DNS_TYPE_OPT = 41,
    DNS_TYPE_DS = 43,
    DNS_TYPE_RRSIG = 46,
    DNS_TYPE_NSEC = 47,
    DNS_TYPE_DNSKEY = 48,
    DNS_TYPE_HTTPS = 65,
    DNS_TYPE_IXFR = 251,
    DNS_TYPE_AXFR = 252,
    DNS_TYPE_ANY = 255,
    DNS_TYPE_CAA = 257,
};

/* CLASS values (RFC 1035 3.2.4). */
enum dns_class {
    DNS_CLASS_IN = 1,
    DNS_CLASS_CH = 3,
    DNS_CLASS_HS = 4,
    DNS_CLASS_ANY = 255,
};

/* Names of values, as dig prints them ("A", "IN", "QUERY", "NXDOMAIN").
 * Each returns NULL for a value without a name. */
const char *dns_type_name(uint16_t type);
const char *dns_class_name(uint16_t class_);
const char *dns_opcode_name(unsigned opcode);
const char *dns_rcode_name(unsigned rcode);

/* Writes the name of a type into `out` (capacity `cap`, at least 12), using
 * the RFC 3597 form "TYPE12345" when it has no name; returns `out`. */
const char *dns_type_text(uint16_t type, char *out, size_t cap);
/* The same for classes ("CLASS42"). */
const char *dns_class_text(uint16_t class_, char *out, size_t cap);

/* Parses a type name ("A", "aaaa", "TYPE65"): returns 0 and sets *type, or
 * -1 if the text names no type. */
int dns_type_from_text(const char *text, uint16_t *type);
/* The same for classes ("IN", "CLASS1"). */
int dns_class_from_text(const char *text, uint16_t *class_);

#endif
