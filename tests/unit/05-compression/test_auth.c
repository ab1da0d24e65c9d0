/* test_auth.c: unit tests of steps/05-compression/auth.c — several questions per query. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "auth.h"
#include "dns.h"
#include "hdr.h"
#include "log.h"
#include "msg.h"
#include "server.h"
#include "seeds.h"
#include "tests.h"
#include "zone.h"
#include "zonefile.h"

/* Character-strings of 200 bytes: three records of "big" do not fit in 512 bytes. */
#define X200                                                                                       \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
    "xxxxxxxxxxxxxxxx"

static const char example_com[] = "$ORIGIN example.com.\n"
                                  "$TTL 3600\n"
                                  "@    SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                                  "     NS  ns1\n"
                                  "ns1  A   192.0.2.53\n"
                                  "www  300 A 192.0.2.80\n"
                                  "big  TXT \"1" X200 "\"\n"
                                  "     TXT \"2" X200 "\"\n"
                                  "     TXT \"3" X200 "\"\n";

/* The server every test asks (large: its result is reused for every reply). */
static struct auth_server srv;
/* As big as the buffer server_main() gives a handler. */
static uint8_t reply[DNS_RECV_BUFFER];

static int suite_init(void)
{
    char err[ZONEFILE_ERROR_MAX + 64];
    if (zonefile_load_text(&srv.zones, example_com, "example.com", NULL, err, sizeof err) != 0) {
        fprintf(stderr, "test_auth: %s\n", err);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    zone_set_free(&srv.zones);
    return 0;
}

/* Helpers ---------------------------------------------------------------------- */

/* auth_answer() into `reply`, with all of it as room. */
static size_t answer(const uint8_t *query, size_t len)
{
    memset(reply, 0xEE, 1024);
    return auth_answer(&srv, query, len, reply, sizeof reply);
}
#define ANSWER(query) answer((query), sizeof(query))

/* A reply that is the header alone: the query's ID, QR, `flags` (OPCODE, RD, RCODE), no
 * counts. */
static void expect_header_only_at(size_t n, const uint8_t *query, uint16_t flags, const char *file,
                                  unsigned line)
{
    const uint8_t want[DNS_HEADER_SIZE] = {
        query[0],   query[1],     /* ID copied */
        flags >> 8, flags & 0xff, /* flags */
        0,          0,            /* QDCOUNT 0 */
        0,          0,            /* ANCOUNT 0 */
        0,          0,            /* NSCOUNT 0 */
        0,          0,            /* ARCOUNT 0 */
    };
    test_expect_uint(n, DNS_HEADER_SIZE, "reply length", file, line);
    if (n != SERVER_NO_REPLY)
        test_expect_bytes(reply, n, want, sizeof want, "header-only reply", file, line);
}
#define EXPECT_HEADER_ONLY(n, query, flags)                                                        \
    expect_header_only_at((n), (query), (flags), __FILE__, __LINE__)

/* "www.example.com. A", RD. */
static const uint8_t www_a[] = {
    0xab, 0xcd,                               /* ID */
    0x01, 0x00,                               /* flags: RD */
    0x00, 0x01,                               /* QDCOUNT 1 */
    0x00, 0x00,                               /* ANCOUNT 0 */
    0x00, 0x00,                               /* NSCOUNT 0 */
    0x00, 0x00,                               /* ARCOUNT 0 */
    3,    'w',  'w', 'w',                     /* 12: QNAME "www" */
    7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
    3,    'c',  'o', 'm', 0,                  /* "com", root */
    0x00, 0x01,                               /* QTYPE A */
    0x00, 0x01,                               /* QCLASS IN */
};

/* Answers ------------------------------------------------------------------------ */

static void test_one_question(void)
{
    size_t n = ANSWER(www_a);
    static const uint8_t want[] = {
        0xab, 0xcd,                                 /* ID copied */
        0x85, 0x00,                                 /* QR AA RD, NOERROR */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x01,                                 /* ANCOUNT 1 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: the question, as asked */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x0c,                                 /* 33: answer: owner -> 12 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
    };
    CU_ASSERT_TRUE_FATAL(n != SERVER_NO_REPLY);
    EXPECT_BYTES(reply, n, want, sizeof want);
}

static void test_nxdomain_then_answer(void)
{
    /* "nope.example.com. A" with RD clear: NXDOMAIN, the SOA in authority, compressed. */
    static const uint8_t nope[] = {
        0xab, 0xcd,                                 /* ID */
        0x00, 0x00,                                 /* flags: none */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        4,    'n',  'o',  'p',  'e',                /* 12: QNAME "nope" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    size_t n = ANSWER(nope);
    CU_ASSERT_TRUE_FATAL(n != SERVER_NO_REPLY && n > DNS_HEADER_SIZE);
    static const uint8_t head[] = {
        0xab, 0xcd, /* ID */
        0x84, 0x03, /* QR AA, NXDOMAIN */
        0x00, 0x01, /* QDCOUNT 1 */
        0x00, 0x00, /* ANCOUNT 0 */
        0x00, 0x01, /* NSCOUNT 1 */
        0x00, 0x00, /* ARCOUNT 0 */
    };
    EXPECT_BYTES(reply, DNS_HEADER_SIZE, head, sizeof head);
    /* The authority SOA's owner, the apex, a pointer to 17, inside the question (12 + 22). */
    static const uint8_t apex[] = {0xc0, 0x11};
    EXPECT_BYTES(reply + 34, sizeof apex, apex, sizeof apex);
    /* 34 + owner 2 + fixed 10 + MNAME "ns1" and a pointer 6 + RNAME "hostmaster" and a pointer
     * 13 + five numbers 20. */
    EXPECT_UINT(n, 34 + 2 + 10 + 6 + 13 + 20);

    /* The result is reused: the next reply owes nothing to this one. */
    n = ANSWER(www_a);
    EXPECT_UINT(n, 49);
    EXPECT_UINT(reply[3], 0x00); /* NOERROR */
    EXPECT_UINT(reply[9], 0x00); /* NSCOUNT 0 */
}

static void test_refused(void)
{
    /* A name in no zone of ours, and a class other than IN: REFUSED, AA clear, the question
     * echoed. */
    static const uint8_t org[] = {
        0xab, 0xcd,                                 /* ID */
        0x01, 0x00,                                 /* flags: RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: QNAME "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'o',  'r',  'g',  0,                  /* "org", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    size_t n = ANSWER(org);
    static const uint8_t want[] = {
        0xab, 0xcd,                                 /* ID */
        0x81, 0x05,                                 /* QR RD, REFUSED */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'o',  'r',  'g',  0,                  /* "org", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    CU_ASSERT_TRUE_FATAL(n != SERVER_NO_REPLY);
    EXPECT_BYTES(reply, n, want, sizeof want);

    static const uint8_t chaos[] = {
        0xab, 0xcd,                               /* ID */
        0x01, 0x00,                               /* flags: RD */
        0x00, 0x01,                               /* QDCOUNT 1 */
        0x00, 0x00,                               /* ANCOUNT 0 */
        0x00, 0x00,                               /* NSCOUNT 0 */
        0x00, 0x00,                               /* ARCOUNT 0 */
        3,    'w',  'w', 'w',                     /* 12: QNAME "www" */
        7,    'e',  'x', 'a', 'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o', 'm', 0,                  /* "com", root */
        0x00, 0x10,                               /* QTYPE TXT */
        0x00, 0x03,                               /* QCLASS CH */
    };
    n = ANSWER(chaos);
    CU_ASSERT_TRUE_FATAL(n == sizeof chaos);
    EXPECT_UINT(reply[3], 0x05); /* REFUSED */
    EXPECT_BYTES(reply + DNS_HEADER_SIZE, n - DNS_HEADER_SIZE, chaos + DNS_HEADER_SIZE,
                 sizeof chaos - DNS_HEADER_SIZE);
}

static void test_edns_query(void)
{
    /* A query with an EDNS OPT record, as dig sends: answered, and stage 5 has no EDNS, so the
     * reply carries no OPT (ARCOUNT 0) and keeps to 512 bytes. */
    static const uint8_t edns[] = {
        0xab, 0xcd,                                 /* ID */
        0x01, 0x20,                                 /* flags: RD AD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x01,                                 /* ARCOUNT 1 */
        3,    'w',  'w',  'w',                      /* 12: QNAME "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00,                                       /* 33: OPT owner: root */
        0x00, 0x29,                                 /* TYPE OPT */
        0x10, 0x00,                                 /* CLASS: UDP payload 4096 */
        0x00, 0x00, 0x00, 0x00,                     /* TTL: extended RCODE, version, flags */
        0x00, 0x00,                                 /* RDLENGTH 0 */
    };
    size_t n = ANSWER(edns);
    EXPECT_UINT(n, 49);
    static const uint8_t head[] = {
        0xab, 0xcd, /* ID */
        0x85, 0x00, /* QR AA RD: AD is not copied */
        0x00, 0x01, /* QDCOUNT 1 */
        0x00, 0x01, /* ANCOUNT 1 */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0: no OPT */
    };
    EXPECT_BYTES(reply, DNS_HEADER_SIZE, head, sizeof head);
}

/* What is not answered, or answered with the header alone --------------------------- */

static void test_two_questions(void)
{
    /* Stage 5 answers several questions (an online DNS challenge asks for it) in one reply:
     * the questions echoed, the second a pointer into the first as the client wrote it, and
     * each answer's owner a pointer to its own question. */
    static const uint8_t two[] = {
        0xab, 0xcd,                                 /* ID */
        0x01, 0x00,                                 /* flags: RD */
        0x00, 0x02,                                 /* QDCOUNT 2 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: QNAME "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 16: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        3,    'n',  's',  '1',                      /* 33: QNAME "ns1" */
        0xc0, 0x10,                                 /* -> 16 example.com. */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    size_t n = ANSWER(two);
    static const uint8_t want[] = {
        0xab, 0xcd,                                 /* ID copied */
        0x85, 0x00,                                 /* QR AA RD, NOERROR */
        0x00, 0x02,                                 /* QDCOUNT 2 */
        0x00, 0x02,                                 /* ANCOUNT 2 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: question 1: "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* 16: "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        3,    'n',  's',  '1',                      /* 33: question 2: "ns1" */
        0xc0, 0x10,                                 /* -> 16 example.com. */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0xc0, 0x0c,                                 /* 43: answer 1: owner -> 12 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x01, 0x2c,                     /* TTL 300 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    80,                       /* 192.0.2.80 */
        0xc0, 0x21,                                 /* 59: answer 2: owner -> 33 */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00, 0x00, 0x0e, 0x10,                     /* TTL 3600 */
        0x00, 0x04,                                 /* RDLENGTH 4 */
        192,  0,    2,    53,                       /* 192.0.2.53 */
    };
    CU_ASSERT_TRUE_FATAL(n != SERVER_NO_REPLY);
    EXPECT_BYTES(reply, n, want, sizeof want);
}

/* A query of `count` questions, each "<name> A" with `name` in full, ID 0xabcd, RD. Returns
 * its length. */
static size_t questions_query(uint8_t *query, size_t cap, unsigned count, const char *const *names)
{
    struct buf_writer w;
    buf_writer_init(&w, query, cap);
    struct hdr h = {.id = 0xabcd, .flags = HDR_RD, .qdcount = (uint16_t)count};
    hdr_encode(&w, &h);
    for (unsigned i = 0; i < count; i++) {
        struct name n;
        CU_ASSERT_EQUAL(name_from_text(names[i], NULL, &n), NAME_OK);
        buf_write_bytes(&w, n.wire, n.len); /* QNAME */
        buf_write_u16(&w, DNS_TYPE_A);      /* QTYPE */
        buf_write_u16(&w, DNS_CLASS_IN);    /* QCLASS */
    }
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

/* The reply's header. */
static struct hdr reply_header(size_t n)
{
    struct buf_reader r;
    struct hdr h = {0};
    if (n != SERVER_NO_REPLY) {
        buf_reader_init(&r, reply, n);
        hdr_decode(&r, &h);
    }
    return h;
}

static void test_questions_rcode(void)
{
    /* One reply carries one RCODE: the first that is not NOERROR, in question order. AA stays
     * only if every answer is authoritative (REFUSED is not). */
    static uint8_t query[1024];
    static const char *const nx_then_refused[] = {"www.example.com.", "nope.example.com.",
                                                  "www.example.org."};
    size_t n = answer(query, questions_query(query, sizeof query, 3, nx_then_refused));
    struct hdr h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_NXDOMAIN);
    EXPECT_UINT(hdr_flag(&h, HDR_AA), 0);
    EXPECT_UINT(h.qdcount, 3);
    EXPECT_UINT(h.ancount, 1); /* www's A */
    EXPECT_UINT(h.nscount, 1); /* the SOA, for nope */

    static const char *const refused_then_nx[] = {"www.example.org.", "nope.example.com."};
    n = answer(query, questions_query(query, sizeof query, 2, refused_then_nx));
    h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_REFUSED);

    static const char *const all_fine[] = {"www.example.com.", "ns1.example.com."};
    n = answer(query, questions_query(query, sizeof query, 2, all_fine));
    h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_NOERROR);
    EXPECT_UINT(hdr_flag(&h, HDR_AA), 1);
    EXPECT_UINT(h.ancount, 2);
}

static void test_question_limit(void)
{
    /* MSG_QUESTIONS_MAX (16) questions are answered; one more is FORMERR, the header alone. */
    static uint8_t query[1024];
    static const char *const names[MSG_QUESTIONS_MAX + 1] = {
        "www.example.com.", "ns1.example.com.", "nope.example.com.", "example.com.",
        "www.example.com.", "ns1.example.com.", "nope.example.com.", "example.com.",
        "www.example.com.", "ns1.example.com.", "nope.example.com.", "example.com.",
        "www.example.com.", "ns1.example.com.", "nope.example.com.", "example.com.",
        "www.example.com.",
    };
    size_t len = questions_query(query, sizeof query, MSG_QUESTIONS_MAX, names);
    size_t n = answer(query, len);
    struct hdr h = reply_header(n);
    EXPECT_UINT(h.qdcount, MSG_QUESTIONS_MAX);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_NXDOMAIN); /* the third question's */
    EXPECT_UINT(hdr_flag(&h, HDR_TC), 0);
    /* An RRset once per reply: www's A, ns1's A; the SOA once (for nope, and for the apex,
     * which has no A). */
    EXPECT_UINT(h.ancount, 2);
    EXPECT_UINT(h.nscount, 1);
    static struct msg m; /* large */
    EXPECT_INT(msg_parse(reply, n, &m), MSG_OK);

    len = questions_query(query, sizeof query, MSG_QUESTIONS_MAX + 1, names);
    EXPECT_HEADER_ONLY(answer(query, len), query, HDR_QR | HDR_RD | DNS_RCODE_FORMERR);
}

static void test_question_octets_bound(void)
{
    /* 16 questions whose names add up to MSG_QUESTION_OCTETS_MAX (300) octets: a first label of
     * 5 or 4 letters, then "example.com." (13 octets), 16 x 14 + 12 x 5 + 4 x 4 = 300. They are
     * answered, and echoed: the most question octets a query may carry fit in 512 bytes. */
    static uint8_t query[2048];
    static char names[MSG_QUESTIONS_MAX][64];
    const char *list[MSG_QUESTIONS_MAX];
    for (unsigned i = 0; i < MSG_QUESTIONS_MAX; i++) {
        snprintf(names[i], sizeof names[i], "%.*s.example.com.", i < 12 ? 5 : 4,
                 i % 2 ? "bbbbb" : "ccccc");
        names[i][0] = (char)('a' + i); /* each name its own */
        list[i] = names[i];
    }
    size_t n = answer(query, questions_query(query, sizeof query, MSG_QUESTIONS_MAX, list));
    struct hdr h = reply_header(n);
    EXPECT_UINT(h.qdcount, MSG_QUESTIONS_MAX);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_NXDOMAIN); /* none of them exists */
    EXPECT_UINT(hdr_flag(&h, HDR_TC), 0);
    static struct msg m; /* large */
    EXPECT_INT(msg_parse(reply, n, &m), MSG_OK);
    EXPECT_UINT(m.qdcount, MSG_QUESTIONS_MAX);

    /* One octet more: FORMERR, the header alone, before any of them is looked up. */
    snprintf(names[0], sizeof names[0], "aaaaaa.example.com.");
    n = answer(query, questions_query(query, sizeof query, MSG_QUESTIONS_MAX, list));
    EXPECT_HEADER_ONLY(n, query, HDR_QR | HDR_RD | DNS_RCODE_FORMERR);
}

static void test_no_question_formerr(void)
{
    static const uint8_t none[] = {
        0xab, 0xcd, /* ID */
        0x01, 0x00, /* flags: RD */
        0x00, 0x00, /* QDCOUNT 0 */
        0x00, 0x00, /* ANCOUNT 0 */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0 */
    };
    EXPECT_HEADER_ONLY(ANSWER(none), none, HDR_QR | HDR_RD | DNS_RCODE_FORMERR);
}

static void test_malformed_formerr(void)
{
    /* A question cut short, a byte after the last question, and a query with an answer
     * record: FORMERR, header only. */
    static const uint8_t cut[] = {
        0xab, 0xcd,           /* ID */
        0x01, 0x00,           /* flags: RD */
        0x00, 0x01,           /* QDCOUNT 1 */
        0x00, 0x00,           /* ANCOUNT 0 */
        0x00, 0x00,           /* NSCOUNT 0 */
        0x00, 0x00,           /* ARCOUNT 0 */
        3,    'w',  'w', 'w', /* 12: "www", then the end */
    };
    EXPECT_HEADER_ONLY(ANSWER(cut), cut, HDR_QR | HDR_RD | DNS_RCODE_FORMERR);
    static const uint8_t trailing[] = {
        0xab, 0xcd,                                 /* ID */
        0x01, 0x00,                                 /* flags: RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: QNAME "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
        0x00,                                       /* 33: a byte nothing accounts for */
    };
    EXPECT_HEADER_ONLY(ANSWER(trailing), trailing, HDR_QR | HDR_RD | DNS_RCODE_FORMERR);
    static const uint8_t with_answer[] = {
        0xab, 0xcd,             /* ID */
        0x00, 0x00,             /* flags: none */
        0x00, 0x01,             /* QDCOUNT 1 */
        0x00, 0x01,             /* ANCOUNT 1 */
        0x00, 0x00,             /* NSCOUNT 0 */
        0x00, 0x00,             /* ARCOUNT 0 */
        0x00,                   /* 12: QNAME root */
        0x00, 0x01, 0x00, 0x01, /* A IN */
        0xc0, 0x0c,             /* 17: owner -> 12 */
        0x00, 0x01, 0x00, 0x01, /* A IN */
        0x00, 0x00, 0x00, 0x3c, /* TTL 60 */
        0x00, 0x04,             /* RDLENGTH 4 */
        192,  0,    2,    1,    /* 192.0.2.1 */
    };
    EXPECT_HEADER_ONLY(ANSWER(with_answer), with_answer, HDR_QR | DNS_RCODE_FORMERR);
}

static void test_no_reply(void)
{
    /* A response (QR=1) is never answered: two servers would answer each other forever. */
    static const uint8_t response[] = {
        0xab, 0xcd,                                 /* ID */
        0x81, 0x00,                                 /* flags: QR RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'w',  'w',  'w',                      /* 12: QNAME "www" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x01, 0x00, 0x01,                     /* A IN */
    };
    EXPECT_UINT(ANSWER(response), SERVER_NO_REPLY);
    /* Under 12 bytes there is not even an ID to answer. */
    EXPECT_UINT(answer(www_a, DNS_HEADER_SIZE - 1), SERVER_NO_REPLY);
    EXPECT_UINT(answer(www_a, 0), SERVER_NO_REPLY);
    /* No room for even a header. */
    EXPECT_UINT(auth_answer(&srv, www_a, sizeof www_a, reply, DNS_HEADER_SIZE - 1),
                SERVER_NO_REPLY);
    static const uint8_t none[] = {
        0xab, 0xcd, /* ID */
        0x01, 0x00, /* flags: RD */
        0x00, 0x00, /* QDCOUNT 0 */
        0x00, 0x00, /* ANCOUNT 0 */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0 */
    };              /* FORMERR */
    EXPECT_UINT(auth_answer(&srv, none, sizeof none, reply, DNS_HEADER_SIZE - 1), SERVER_NO_REPLY);
}

static void test_opcode_notimp(void)
{
    /* OPCODE 2 (STATUS): NOTIMP, the header alone, the OPCODE copied; what follows the header
     * is not even read (here: a pointer to itself). */
    static const uint8_t status[] = {
        0xab, 0xcd,             /* ID */
        0x11, 0x00,             /* flags: OPCODE 2 (STATUS), RD */
        0x00, 0x01,             /* QDCOUNT 1 */
        0x00, 0x00,             /* ANCOUNT 0 */
        0x00, 0x00,             /* NSCOUNT 0 */
        0x00, 0x00,             /* ARCOUNT 0 */
        0xc0, 0x0c,             /* 12: a pointer to itself, never looked at */
        0x00, 0x01, 0x00, 0x01, /* A IN */
    };
    EXPECT_HEADER_ONLY(ANSWER(status), status, HDR_QR | 0x1000 | HDR_RD | DNS_RCODE_NOTIMP);
}

/* Size ------------------------------------------------------------------------------ */

static void test_reply_within_512(void)
{
    /* "big.example.com. TXT" needs more than 512 bytes: however much room the caller gives,
     * the UDP reply stops at 512, here at the question, with TC. */
    static const uint8_t big[] = {
        0xab, 0xcd,                                 /* ID */
        0x01, 0x00,                                 /* flags: RD */
        0x00, 0x01,                                 /* QDCOUNT 1 */
        0x00, 0x00,                                 /* ANCOUNT 0 */
        0x00, 0x00,                                 /* NSCOUNT 0 */
        0x00, 0x00,                                 /* ARCOUNT 0 */
        3,    'b',  'i',  'g',                      /* 12: QNAME "big" */
        7,    'e',  'x',  'a',  'm', 'p', 'l', 'e', /* "example" */
        3,    'c',  'o',  'm',  0,                  /* "com", root */
        0x00, 0x10, 0x00, 0x01,                     /* TXT IN */
    };
    size_t n = ANSWER(big);
    CU_ASSERT_TRUE(n <= DNS_UDP_MAX);
    EXPECT_UINT(n, sizeof big);
    static const uint8_t head[] = {
        0xab, 0xcd, /* ID */
        0x87, 0x00, /* QR AA TC RD */
        0x00, 0x01, /* QDCOUNT 1 */
        0x00, 0x00, /* ANCOUNT 0: the RRset did not fit */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0 */
    };
    EXPECT_BYTES(reply, DNS_HEADER_SIZE, head, sizeof head);
    EXPECT_UINT(reply[DNS_UDP_MAX], 0xEE); /* nothing written past 512 */

    /* Less room than 512: the caller's `cap` is the limit. www A needs 49 bytes. */
    n = auth_answer(&srv, www_a, sizeof www_a, reply, 48);
    EXPECT_UINT(n, sizeof www_a);
    EXPECT_UINT(reply[2], 0x87); /* TC */
    n = auth_answer(&srv, www_a, sizeof www_a, reply, 49);
    EXPECT_UINT(n, 49);
    EXPECT_UINT(reply[2], 0x85);
}

static void test_long_question_within_512(void)
{
    /* The longest name, 255 octets, in the question, and the answer's owner: in full, 12 + 259
     * + 269 bytes would not fit in 512 (stage 4 answers with TC); with the owner a pointer to
     * the question, 12 + 259 + 16 do. */
    struct zone_set set = {NULL};
    char text[1024], name[300] = "";
    for (int i = 0; i < 3; i++)
        strcat(name, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."); /* 63 */
    strcat(name, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");       /* 61 */
    snprintf(text, sizeof text, "$TTL 1\n. SOA ns. hm. 1 2 3 4 5\n%s A 192.0.2.1\n", name);
    char err[ZONEFILE_ERROR_MAX + 64];
    CU_ASSERT_EQUAL_FATAL(zonefile_load_text(&set, text, "root", NULL, err, sizeof err), 0);
    struct zone_set saved = srv.zones;
    srv.zones = set;

    /* The header, then QNAME, QTYPE, QCLASS. */
    uint8_t query[DNS_HEADER_SIZE + NAME_WIRE_MAX + DNS_QUESTION_FIXED] = {
        0xab, 0xcd, /* ID */
        0x01, 0x00, /* flags: RD */
        0x00, 0x01, /* QDCOUNT 1 */
        0x00, 0x00, /* ANCOUNT 0 */
        0x00, 0x00, /* NSCOUNT 0 */
        0x00, 0x00, /* ARCOUNT 0 */
    };
    size_t len = DNS_HEADER_SIZE;
    for (int i = 0; i < 3; i++) {
        query[len++] = 63;
        memset(query + len, 'a', 63);
        len += 63;
    }
    query[len++] = 61;
    memset(query + len, 'b', 61);
    len += 61;
    query[len++] = 0;                                       /* root: 255 octets in all */
    static const uint8_t a_in[] = {0x00, 0x01, 0x00, 0x01}; /* A IN */
    memcpy(query + len, a_in, sizeof a_in);
    len += sizeof a_in;
    CU_ASSERT_EQUAL_FATAL(len, sizeof query);
    size_t n = answer(query, len);
    EXPECT_UINT(n, len + 2 + DNS_RR_FIXED + 4);
    EXPECT_UINT(reply[2], 0x85);   /* QR AA RD */
    EXPECT_UINT(reply[len], 0xc0); /* the owner: a pointer to 12 */
    EXPECT_UINT(reply[len + 1], 0x0c);

    srv.zones = saved;
    zone_set_free(&set);
}

/* The --zone option and setup --------------------------------------------------------- */

/* A file holding `text`, its name in `path` (a mkstemp template). */
static void write_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    size_t len = strlen(text);
    CU_ASSERT_TRUE(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

/* Runs auth_setup() with stderr and the info log silenced. */
static int quiet_setup(struct auth_server *s)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    close(null);
    enum log_level threshold = log_threshold;
    log_threshold = LOG_ERROR;
    int rc = auth_setup(s);
    log_threshold = threshold;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return rc;
}

static void test_zone_option_and_setup(void)
{
    static struct auth_server s;
    memset(&s, 0, sizeof s);
    /* No --zone: nothing to serve, exit status 2. */
    EXPECT_INT(quiet_setup(&s), 2);

    /* --zone is repeatable, up to AUTH_ZONES_MAX. */
    for (int i = 0; i < AUTH_ZONES_MAX; i++)
        CU_ASSERT_PTR_NULL(auth_zone_option.apply(&s, "x.zone"));
    EXPECT_STR(auth_zone_option.apply(&s, "x.zone"), "too many zones (at most 64)");
    EXPECT_UINT(s.zone_file_count, AUTH_ZONES_MAX);

    /* Two good files: both served. */
    char com[] = "/tmp/test_auth_com_XXXXXX", net[] = "/tmp/test_auth_net_XXXXXX";
    write_file(com, example_com);
    write_file(net, "$ORIGIN example.net.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\n");
    memset(&s, 0, sizeof s);
    auth_zone_option.apply(&s, com);
    auth_zone_option.apply(&s, net);
    EXPECT_INT(quiet_setup(&s), 0);
    CU_ASSERT_TRUE(s.zones.zones != NULL && s.zones.zones->next != NULL);
    size_t n = auth_answer(&s, www_a, sizeof www_a, reply, sizeof reply);
    EXPECT_UINT(n, 49);
    zone_set_free(&s.zones);

    /* Two files of one zone: exit status 1, and nothing is left loaded (before, the second
     * hid the first without a word). */
    char dup[] = "/tmp/test_auth_dup_XXXXXX";
    write_file(dup, example_com);
    memset(&s, 0, sizeof s);
    auth_zone_option.apply(&s, com);
    auth_zone_option.apply(&s, dup);
    EXPECT_INT(quiet_setup(&s), 1);
    CU_ASSERT_PTR_NULL(s.zones.zones);

    /* A bad file after a good one: exit status 1, and the zones already loaded are freed. */
    char bad[] = "/tmp/test_auth_bad_XXXXXX";
    write_file(bad, "$ORIGIN example.org.\n$TTL 60\n@ SOA ns hm 1 2 3 4 5\nwww AAA x\n");
    memset(&s, 0, sizeof s);
    auth_zone_option.apply(&s, com);
    auth_zone_option.apply(&s, bad);
    EXPECT_INT(quiet_setup(&s), 1);
    CU_ASSERT_PTR_NULL(s.zones.zones);
    unlink(com);
    unlink(net);
    unlink(dup);
    unlink(bad);
}

/* Hostile seeds ---------------------------------------------------------------------- */

/*
 * The seeds of tests/fuzz/corpus/ (made by tests/fuzz/seeds.py) that tests/unit/
 * test_regressions.c gives verdicts to: here, the reply step 5 writes to each with the example
 * zone of zones/. Every reply must parse to its last byte, copy the ID, set QR, and keep to
 * 512 bytes; FORMERR and NOTIMP are the header alone (as NSD does); a response or a datagram
 * without a header gets no reply.
 */

/* What auth_answer() must make of each seed: MSG_DROP (no reply), or the RCODE of the reply. */
struct hostile {
    const char *what;
    const uint8_t *msg;
    size_t len;
    int verdict;
};

static const struct hostile hostile[] = {
    {"dig_google", dig_google, sizeof dig_google, DNS_RCODE_REFUSED}, /* google.com. is not ours */
    {"multi_question", multi_question, sizeof multi_question, DNS_RCODE_NOERROR},
    {"self_pointer", self_pointer, sizeof self_pointer, DNS_RCODE_FORMERR},
    {"pointer_into_own_name", pointer_into_own_name, sizeof pointer_into_own_name,
     DNS_RCODE_FORMERR},
    {"forward_pointer", forward_pointer, sizeof forward_pointer, DNS_RCODE_FORMERR},
    {"pointer_loop", pointer_loop, sizeof pointer_loop, DNS_RCODE_FORMERR},
    {"pointer_into_header", pointer_into_header, sizeof pointer_into_header, DNS_RCODE_FORMERR},
    {"label_type_01", label_type_01, sizeof label_type_01, DNS_RCODE_FORMERR},
    {"label_type_10", label_type_10, sizeof label_type_10, DNS_RCODE_FORMERR},
    {"truncated_pointer", truncated_pointer, sizeof truncated_pointer, DNS_RCODE_FORMERR},
    {"truncated_label", truncated_label, sizeof truncated_label, DNS_RCODE_FORMERR},
    {"qr_set", qr_set, sizeof qr_set, MSG_DROP},
    {"opcode_notify", opcode_notify, sizeof opcode_notify, DNS_RCODE_NOTIMP},
    {"short_5", short_5, sizeof short_5, MSG_DROP},
    {"trailing_byte", trailing_byte, sizeof trailing_byte, DNS_RCODE_FORMERR},
    {"answer_in_query", answer_in_query, sizeof answer_in_query, DNS_RCODE_FORMERR},
};
#define HOSTILE_COUNT (sizeof hostile / sizeof hostile[0])

/* The server the seeds are sent to: the workbook's example zone, from zones/. */
static struct auth_server seed_server;

static int seeds_init(void)
{
    static const char path[] = "zones/example.com.zone";
    char err[ZONEFILE_ERROR_MAX + 64];
    if (zonefile_load_file(&seed_server.zones, path, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "test_auth: %s (run from the repository's root)\n", err);
        return -1;
    }
    return 0;
}

static int seeds_clean(void)
{
    zone_set_free(&seed_server.zones);
    return 0;
}

/* "what: detail", for failure messages. */
static const char *label(const struct hostile *h, const char *detail)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s: %s", h->what, detail);
    return buf;
}

static void test_seed_replies(void)
{
    static struct msg m; /* large */
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        memset(reply, 0xEE, 1024);
        size_t n = auth_answer(&seed_server, h->msg, h->len, reply, sizeof reply);
        if (h->verdict == MSG_DROP) {
            test_expect_uint(n, SERVER_NO_REPLY, label(h, "auth_answer (no reply)"), __FILE__,
                             __LINE__);
            continue;
        }
        test_expect_int(n != SERVER_NO_REPLY, 1, label(h, "a reply"), __FILE__, __LINE__);
        if (n == SERVER_NO_REPLY)
            continue;
        enum msg_status st = msg_parse(reply, n, &m);
        test_expect_str(msg_strerror(st), msg_strerror(MSG_OK),
                        label(h, "reply parses to its last byte"), __FILE__, __LINE__);
        test_expect_uint(n <= DNS_UDP_MAX, 1, label(h, "reply within 512 bytes"), __FILE__,
                         __LINE__);
        test_expect_uint(m.hdr.id, (unsigned)h->msg[0] << 8 | h->msg[1], label(h, "reply ID"),
                         __FILE__, __LINE__);
        test_expect_uint(hdr_flag(&m.hdr, HDR_QR), 1, label(h, "reply QR"), __FILE__, __LINE__);
        test_expect_uint(hdr_rcode(&m.hdr), (unsigned)h->verdict, label(h, "reply RCODE"), __FILE__,
                         __LINE__);
        if (h->verdict == DNS_RCODE_FORMERR || h->verdict == DNS_RCODE_NOTIMP)
            test_expect_uint(n, DNS_HEADER_SIZE, label(h, "header-only reply length"), __FILE__,
                             __LINE__);
        else
            test_expect_uint(m.qdcount, (unsigned)h->msg[4] << 8 | h->msg[5],
                             label(h, "every question echoed"), __FILE__, __LINE__);
    }
}

static void test_seed_multi_question(void)
{
    /* The three questions point into each other; the reply echoes them compressed the same
     * way and answers each: www's two A records; mail has no MX and www no AAAA, so the SOA
     * in authority, once. */
    size_t n =
        auth_answer(&seed_server, multi_question, sizeof multi_question, reply, sizeof reply);
    CU_ASSERT_TRUE_FATAL(n != SERVER_NO_REPLY && n >= sizeof multi_question);
    EXPECT_BYTES(reply + DNS_HEADER_SIZE, sizeof multi_question - DNS_HEADER_SIZE,
                 multi_question + DNS_HEADER_SIZE, sizeof multi_question - DNS_HEADER_SIZE);
    static struct msg m;
    CU_ASSERT_EQUAL_FATAL(msg_parse(reply, n, &m), MSG_OK);
    EXPECT_UINT(m.hdr.qdcount, 3);
    EXPECT_UINT(hdr_rcode(&m.hdr), DNS_RCODE_NOERROR);
    EXPECT_UINT(hdr_flag(&m.hdr, HDR_AA), 1);
    EXPECT_UINT(m.hdr.ancount, 2);
    EXPECT_UINT(m.hdr.nscount, 1);
    EXPECT_UINT(m.hdr.arcount, 0);
}

void test_auth_register(void)
{
    CU_pSuite s = CU_add_suite("auth", suite_init, suite_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "one question: exact reply bytes", test_one_question);
    CU_add_test(s, "NXDOMAIN, then the result reused", test_nxdomain_then_answer);
    CU_add_test(s, "REFUSED: not our zone, not class IN", test_refused);
    CU_add_test(s, "EDNS query: answered, no OPT back", test_edns_query);
    CU_add_test(s, "two questions: answered in one reply", test_two_questions);
    CU_add_test(s, "several questions: the first RCODE not NOERROR", test_questions_rcode);
    CU_add_test(s, "16 questions answered, 17: FORMERR", test_question_limit);
    CU_add_test(s, "the most question octets are answered, one more is FORMERR",
                test_question_octets_bound);
    CU_add_test(s, "QDCOUNT 0: FORMERR, header only", test_no_question_formerr);
    CU_add_test(s, "malformed queries: FORMERR, header only", test_malformed_formerr);
    CU_add_test(s, "QR=1, short, no room: no reply", test_no_reply);
    CU_add_test(s, "OPCODE STATUS: NOTIMP", test_opcode_notimp);
    CU_add_test(s, "a reply never exceeds 512 bytes (or cap)", test_reply_within_512);
    CU_add_test(s, "a 255-octet question: answered in 512", test_long_question_within_512);
    CU_add_test(s, "--zone and auth_setup", test_zone_option_and_setup);

    s = CU_add_suite("auth: hostile seeds", seeds_init, seeds_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "every seed: its reply, or none", test_seed_replies);
    CU_add_test(s, "three questions pointing into each other", test_seed_multi_question);
}
