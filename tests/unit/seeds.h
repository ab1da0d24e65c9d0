/* seeds.h: the fuzzers' hostile seeds as byte arrays, for the tests that judge each of them. */
#ifndef DNS_TEST_SEEDS_H
#define DNS_TEST_SEEDS_H

#include <stdint.h>

/*
 * Every message here is a seed of tests/fuzz/corpus/ (made by tests/fuzz/seeds.py) or an input a
 * fuzzer reported. tests/unit/test_regressions.c says what the parser and the tracer make of
 * each; tests/unit/05-compression/test_auth.c checks the reply step 5 writes to each. Both list
 * every array, so none is ever unused. docs/fuzzing.md explains how a finding becomes one more.
 */

/* The 12-byte header of the queries below: ID 0x1234, RD, `qd` questions, nothing else. */
#define QUERY_HEADER(qd)                                                                           \
    0x12, 0x34,     /* ID */                                                                       \
        0x01, 0x00, /* flags: RD */                                                                \
        0x00, (qd), /* QDCOUNT */                                                                  \
        0x00, 0x00, /* ANCOUNT */                                                                  \
        0x00, 0x00, /* NSCOUNT */                                                                  \
        0x00, 0x00  /* ARCOUNT */

/* dig 9.18 `dig google.com`: the question, then an EDNS OPT record. */
static const uint8_t dig_google[] = {
    0x4b, 0xdb,                            /* ID */
    0x01, 0x20,                            /* flags: RD AD */
    0x00, 0x01,                            /* QDCOUNT 1 */
    0x00, 0x00,                            /* ANCOUNT */
    0x00, 0x00,                            /* NSCOUNT */
    0x00, 0x01,                            /* ARCOUNT 1 */
    0x06, 'g',  'o',  'o',  'g', 'l', 'e', /* 12: label "google" */
    0x03, 'c',  'o',  'm',                 /* label "com" */
    0x00,                                  /* root */
    0x00, 0x01,                            /* QTYPE A */
    0x00, 0x01,                            /* QCLASS IN */
    0x00,                                  /* 28: OPT owner: root */
    0x00, 0x29,                            /* TYPE OPT */
    0x10, 0x00,                            /* CLASS: payload 4096 */
    0x00, 0x00, 0x00, 0x00,                /* TTL: extended RCODE, version, flags */
    0x00, 0x00,                            /* RDLENGTH 0 */
};

/* Three questions whose names point into each other. */
static const uint8_t multi_question[] = {
    QUERY_HEADER(3),
    0x03,
    'w',
    'w',
    'w', /* 12: label "www" */
    0x07,
    'e',
    'x',
    'a',
    'm',
    'p',
    'l',
    'e', /* 16: label "example" */
    0x03,
    'c',
    'o',
    'm',  /* 24: label "com" */
    0x00, /* 28: root */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
    0x04,
    'm',
    'a',
    'i',
    'l', /* 33: label "mail" */
    0xc0,
    0x10, /* pointer to 16: example.com. */
    0x00,
    0x0f,
    0x00,
    0x01, /* MX IN */
    0xc0,
    0x0c, /* 44: pointer to 12: www.example.com. */
    0x00,
    0x1c,
    0x00,
    0x01, /* AAAA IN */
};

/* A name that is only a pointer to itself: the shortest loop. */
static const uint8_t self_pointer[] = {
    QUERY_HEADER(1),
    0xc0,
    0x0c, /* 12: pointer to 12 */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A label, then a pointer back to the start of the same name. */
static const uint8_t pointer_into_own_name[] = {
    QUERY_HEADER(1),
    0x01,
    'a', /* 12: label "a" */
    0xc0,
    0x0c, /* 14: pointer to 12: the name itself */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A pointer to a name written later in the message. */
static const uint8_t forward_pointer[] = {
    QUERY_HEADER(1),
    0xc0,
    0x12, /* 12: pointer to 18, ahead */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
    0x07,
    'e',
    'x',
    'a',
    'm',
    'p',
    'l',
    'e', /* 18: label "example" */
    0x03,
    'c',
    'o',
    'm',  /* label "com" */
    0x00, /* root */
};

/* Two names pointing at each other: the first points ahead, so the loop is never entered. */
static const uint8_t pointer_loop[] = {
    QUERY_HEADER(2),
    0x01,
    'a', /* 12: label "a" */
    0xc0,
    0x16, /* pointer to 22: the second name */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
    0x01,
    'b', /* 22: label "b" */
    0xc0,
    0x0c, /* pointer to 12: the first name */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A pointer into the header, where no name can start. */
static const uint8_t pointer_into_header[] = {
    QUERY_HEADER(1),
    0xc0,
    0x04, /* 12: pointer to 4: QDCOUNT */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* Length byte 0x40 (64): top bits 01, an extended label type, not a 64-octet label. */
static const uint8_t label_type_01[] = {
    QUERY_HEADER(1),
    0x40,
    'x',
    'x',
    'x',
    'x',  /* 12: "label" of 64 (the bytes are not read) */
    0x00, /* root */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* Length byte 0x80: top bits 10, reserved. */
static const uint8_t label_type_10[] = {
    QUERY_HEADER(1),
    0x80,
    0x00, /* 12: reserved label type */
    0x00,
    0x01,
    0x00,
    0x01, /* A IN */
};

/* A pointer cut off after its first byte. */
static const uint8_t truncated_pointer[] = {
    QUERY_HEADER(1), 0xc0, /* 12: first byte of a pointer, then the end */
};

/* A label longer than what is left. */
static const uint8_t truncated_label[] = {
    QUERY_HEADER(1), 0x07, 'e', 'x', 'a', 'm', 'p', /* 12: label of 7, 5 bytes present */
};

/* A response: never answered. */
static const uint8_t qr_set[] = {
    0x12, 0x34,             /* ID */
    0x81, 0x00,             /* flags: QR RD */
    0x00, 0x01,             /* QDCOUNT 1 */
    0x00, 0x00,             /* ANCOUNT */
    0x00, 0x00,             /* NSCOUNT */
    0x00, 0x00,             /* ARCOUNT */
    0x00,                   /* 12: root */
    0x00, 0x01, 0x00, 0x01, /* A IN */
};

/* OPCODE 4 (NOTIFY): not parsed past the header. */
static const uint8_t opcode_notify[] = {
    0x12, 0x34,             /* ID */
    0x24, 0x00,             /* flags: OPCODE 4, AA */
    0x00, 0x01,             /* QDCOUNT 1 */
    0x00, 0x00,             /* ANCOUNT */
    0x00, 0x00,             /* NSCOUNT */
    0x00, 0x00,             /* ARCOUNT */
    0xc0, 0x0c,             /* 12: a self pointer, never looked at */
    0x00, 0x06, 0x00, 0x01, /* SOA IN */
};

/* Five bytes: no header, nobody to answer. */
static const uint8_t short_5[] = {
    0x12, 0x34, /* ID */
    0x01, 0x00, /* flags: RD */
    0x00,       /* half of QDCOUNT */
};

/* A good question, then one byte nothing accounts for. */
static const uint8_t trailing_byte[] = {
    QUERY_HEADER(1),
    0x00, /* 12: root */
    0x00,
    0x02,
    0x00,
    0x01, /* NS IN */
    0x00, /* 17: trailing */
};

/* A query carrying an answer record. */
static const uint8_t answer_in_query[] = {
    0x12, 0x34,             /* ID */
    0x01, 0x00,             /* flags: RD */
    0x00, 0x01,             /* QDCOUNT 1 */
    0x00, 0x01,             /* ANCOUNT 1 */
    0x00, 0x00,             /* NSCOUNT */
    0x00, 0x00,             /* ARCOUNT */
    0x00,                   /* 12: root */
    0x00, 0x01, 0x00, 0x01, /* A IN */
    0xc0, 0x0c,             /* 17: owner: pointer to 12 */
    0x00, 0x01, 0x00, 0x01, /* A IN */
    0x00, 0x00, 0x00, 0x3c, /* TTL 60 */
    0x00, 0x04,             /* RDLENGTH 4 */
    0xc0, 0x00, 0x02, 0x01, /* 192.0.2.1 */
};

#endif
