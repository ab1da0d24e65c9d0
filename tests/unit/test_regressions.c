/* test_regressions.c: the fuzzers' hostile seeds and findings, each with its exact verdict. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "hdr.h"
#include "msg.h"
#include "name.h"
#include "tests.h"
#include "trace.h"

/*
 * Every message here is a seed of tests/fuzz/corpus/ (made by tests/fuzz/seeds.py) or an input a
 * fuzzer reported. Each states what the whole server path must make of it: the verdict of
 * msg_parse_query(), the status of the first name that fails, and what the --trace summary
 * says (tests/unit/05-compression/test_auth.c checks the reply step 5 writes to each).
 * docs/fuzzing.md explains how a finding becomes one more entry here.
 */

#include "seeds.h"

/* What each message must give. `status` is that of the first question that does not read
 * (NAME_OK: they all read); `check_names` is false when the parser never reaches them. */
struct hostile {
    const char *what;
    const uint8_t *msg;
    size_t len;
    int verdict; /* msg_parse_query() allowing 16 questions */
    bool check_names;
    enum name_status status;
};

#define HOSTILE(m, v, check, st)                                                                   \
    {                                                                                              \
#m, m, sizeof m, (v), (check), (st)                                                        \
    }
static const struct hostile hostile[] = {
    HOSTILE(dig_google, DNS_RCODE_NOERROR, true, NAME_OK),
    HOSTILE(multi_question, DNS_RCODE_NOERROR, true, NAME_OK),
    HOSTILE(self_pointer, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(pointer_into_own_name, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(forward_pointer, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(pointer_loop, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_FORWARD),
    HOSTILE(pointer_into_header, DNS_RCODE_FORMERR, true, NAME_ERR_POINTER_HEADER),
    HOSTILE(label_type_01, DNS_RCODE_FORMERR, true, NAME_ERR_LABEL_TYPE),
    HOSTILE(label_type_10, DNS_RCODE_FORMERR, true, NAME_ERR_LABEL_TYPE),
    HOSTILE(truncated_pointer, DNS_RCODE_FORMERR, true, NAME_ERR_TRUNCATED),
    HOSTILE(truncated_label, DNS_RCODE_FORMERR, true, NAME_ERR_TRUNCATED),
    HOSTILE(qr_set, MSG_DROP, false, NAME_OK),
    HOSTILE(opcode_notify, DNS_RCODE_NOTIMP, false, NAME_OK),
    HOSTILE(short_5, MSG_DROP, false, NAME_OK),
    HOSTILE(trailing_byte, DNS_RCODE_FORMERR, true, NAME_OK),
    HOSTILE(answer_in_query, DNS_RCODE_FORMERR, true, NAME_OK),
};
#define HOSTILE_COUNT (sizeof hostile / sizeof hostile[0])

/* "what: detail", for failure messages. */
static const char *label(const struct hostile *h, const char *detail)
{
    static char buf[128];
    snprintf(buf, sizeof buf, "%s: %s", h->what, detail);
    return buf;
}

/* Tests ------------------------------------------------------------------------ */

static void test_verdicts(void)
{
    static struct msg_query q;
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        int verdict = msg_parse_query(h->msg, h->len, &q);
        test_expect_int(verdict, h->verdict, label(h, "msg_parse_query verdict"), __FILE__,
                        __LINE__);
    }
}

static void test_name_statuses(void)
{
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        if (!h->check_names)
            continue;
        struct buf_reader r;
        struct hdr hd;
        buf_reader_init(&r, h->msg, h->len);
        hdr_decode(&r, &hd);
        enum name_status st = NAME_OK;
        for (unsigned k = 0; k < hd.qdcount && st == NAME_OK; k++) {
            struct msg_question q;
            st = msg_read_question(&r, &q);
        }
        test_expect_status(st, h->status, label(h, "first question that fails"), __FILE__,
                           __LINE__);
    }
}

static void test_trace_summaries(void)
{
    for (size_t i = 0; i < HOSTILE_COUNT; i++) {
        const struct hostile *h = &hostile[i];
        char full[512];
        trace_summary(h->msg, h->len, full, sizeof full);
        /* The reason a name failed is in the summary, in name_strerror()'s words. */
        if (h->check_names && h->status != NAME_OK)
            test_expect_int(strstr(full, name_strerror(h->status)) != NULL, 1,
                            label(h, "summary names the reason"), __FILE__, __LINE__);
        /* A short buffer gets the start of the same text, terminated. */
        for (size_t cap = 1; cap <= 16; cap++) {
            char cut[16];
            trace_summary(h->msg, h->len, cut, cap);
            test_expect_int(strlen(cut) == cap - 1 && strncmp(cut, full, cap - 1) == 0, 1,
                            label(h, "summary cut to a short buffer"), __FILE__, __LINE__);
        }
    }
}

/*
 * The pointer-hop limit on a whole query: a root question at 12; an additional record whose
 * RDATA is a chain of pointers, each to the one before (the first to 12); then an additional
 * record whose owner points at the last. Reading that owner takes links + 1 hops.
 */
static size_t chain_query(uint8_t *msg, size_t links)
{
    struct buf_writer w;
    buf_writer_init(&w, msg, 12 + 5 + 11 + 2 * links + 12);
    struct hdr h = {.id = 0x1234, .qdcount = 1, .arcount = 2};
    hdr_encode(&w, &h);
    buf_write_u8(&w, 0);                      /* 12: root */
    buf_write_u16(&w, DNS_TYPE_A);            /* QTYPE */
    buf_write_u16(&w, DNS_CLASS_IN);          /* QCLASS */
    buf_write_u8(&w, 0);                      /* 17: owner: root */
    buf_write_u16(&w, DNS_TYPE_TXT);          /* TYPE (RDATA is opaque to the parser) */
    buf_write_u16(&w, DNS_CLASS_IN);          /* CLASS */
    buf_write_u32(&w, 0);                     /* TTL */
    buf_write_u16(&w, (uint16_t)(2 * links)); /* RDLENGTH */
    size_t prev = 12;
    for (size_t i = 0; i < links; i++) { /* 28 + 2i: pointer to the previous link */
        size_t at = w.pos;
        buf_write_u16(&w, (uint16_t)(0xC000 | prev));
        prev = at;
    }
    buf_write_u16(&w, (uint16_t)(0xC000 | prev)); /* owner: pointer to the last link */
    buf_write_u16(&w, DNS_TYPE_TXT);
    buf_write_u16(&w, DNS_CLASS_IN);
    buf_write_u32(&w, 0);
    buf_write_u16(&w, 0); /* RDLENGTH 0 */
    CU_ASSERT_TRUE(buf_writer_ok(&w));
    return w.pos;
}

static void test_hop_limit_in_a_query(void)
{
    static struct msg_query q;
    static uint8_t msg[12 + 5 + 11 + 2 * NAME_HOPS_MAX + 12];
    /* NAME_HOPS_MAX - 1 links: NAME_HOPS_MAX hops, the limit itself. */
    size_t len = chain_query(msg, NAME_HOPS_MAX - 1);
    EXPECT_INT(msg_parse_query(msg, len, &q), DNS_RCODE_NOERROR);
    /* One link more: one hop too many, and the query is malformed. */
    len = chain_query(msg, NAME_HOPS_MAX);
    EXPECT_INT(msg_parse_query(msg, len, &q), DNS_RCODE_FORMERR);
    struct buf_reader r;
    struct name n;
    buf_reader_init(&r, msg, len);
    buf_seek(&r, len - 12);
    EXPECT_STATUS(name_read(&r, &n), NAME_ERR_TOO_MANY_HOPS);
}

void test_regressions_register(void)
{
    CU_pSuite s = CU_add_suite("regressions", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "hostile seeds: msg_parse_query verdicts", test_verdicts);
    CU_add_test(s, "hostile seeds: status of the first bad name", test_name_statuses);
    CU_add_test(s, "hostile seeds: trace summaries", test_trace_summaries);
    CU_add_test(s, "pointer-hop limit in a whole query", test_hop_limit_in_a_query);
}
