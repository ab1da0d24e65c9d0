/* test_forward.c: steps/06-forwarding/forward.c — options, and what is answered without waiting. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "buf.h"
#include "dns.h"
#include "forward.h"
#include "hdr.h"
#include "msg.h"
#include "name.h"
#include "tests.h"
#include "zone.h"
#include "zonefile.h"

static const char example_com[] = "$ORIGIN example.com.\n"
                                  "$TTL 3600\n"
                                  "@    SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
                                  "     NS  ns1\n"
                                  "ns1  A   192.0.2.53\n"
                                  "www  300 A 192.0.2.80\n";

/* Large: it holds a relay and a step-5 server. */
static struct forward fw;
static uint8_t reply[DNS_RECV_BUFFER];

static int suite_init(void)
{
    forward_init(&fw);
    char err[ZONEFILE_ERROR_MAX + 64];
    if (zonefile_load_text(&fw.auth.zones, example_com, "example.com", NULL, err, sizeof err) !=
        0) {
        fprintf(stderr, "test_forward: %s\n", err);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    forward_free(&fw); /* no upstream was started: only the zones go */
    return 0;
}

/* Applies option `name` of forward_options to a fresh struct forward. */
static const char *apply(struct forward *f, const char *name, const char *value)
{
    for (size_t i = 0; i < FORWARD_OPTIONS; i++) {
        if (strcmp(forward_options[i].name, name) == 0)
            return forward_options[i].apply(f, value);
    }
    CU_FAIL("no such option");
    return "no such option";
}

static void test_defaults_and_values(void)
{
    static struct forward f;
    forward_init(&f);
    EXPECT_UINT(f.timeout_ms, 2000);
    EXPECT_UINT(f.tries, 2);
    EXPECT_UINT(f.max_pending, 4096);
    CU_ASSERT(!f.have_resolver);

    CU_ASSERT(apply(&f, "resolver", "127.0.0.1:5300") == NULL);
    CU_ASSERT(f.have_resolver);
    char text[NET_ADDR_TEXT_MAX];
    EXPECT_STR(net_addr_text(&f.resolver, text, sizeof text), "127.0.0.1:5300");
    CU_ASSERT(apply(&f, "resolver", "[::1]:53") == NULL);
    EXPECT_STR(net_addr_text(&f.resolver, text, sizeof text), "[::1]:53");
    CU_ASSERT(apply(&f, "resolver", "192.0.2.1") == NULL); /* no port: 53 */
    EXPECT_STR(net_addr_text(&f.resolver, text, sizeof text), "192.0.2.1:53");
    CU_ASSERT(apply(&f, "upstream-timeout", "250") == NULL);
    EXPECT_UINT(f.timeout_ms, 250);
    CU_ASSERT(apply(&f, "upstream-tries", "3") == NULL);
    EXPECT_UINT(f.tries, 3);
    CU_ASSERT(apply(&f, "max-pending", "10") == NULL);
    EXPECT_UINT(f.max_pending, 10);
}

static void test_bad_values(void)
{
    static struct forward f;
    forward_init(&f);
    const char *bad_resolvers[] = {"",        "dns.google:53", "1.2.3.4:99999", "1.2.3.4:0",
                                   "::1:53x", "[::1]:",        "1.2.3.4:53:53"};
    for (size_t i = 0; i < sizeof bad_resolvers / sizeof bad_resolvers[0]; i++) {
        if (apply(&f, "resolver", bad_resolvers[i]) == NULL)
            fprintf(stderr, "\n  --resolver '%s' was taken\n", bad_resolvers[i]);
        CU_ASSERT(apply(&f, "resolver", bad_resolvers[i]) != NULL);
    }
    CU_ASSERT(!f.have_resolver);
    const char *bad_numbers[] = {"",   "abc", "-1",   "+5",
                                 " 5", "5ms", "0x10", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad_numbers / sizeof bad_numbers[0]; i++) {
        CU_ASSERT(apply(&f, "upstream-timeout", bad_numbers[i]) != NULL);
        CU_ASSERT(apply(&f, "upstream-tries", bad_numbers[i]) != NULL);
        CU_ASSERT(apply(&f, "max-pending", bad_numbers[i]) != NULL);
    }
    CU_ASSERT(apply(&f, "upstream-timeout", "0") != NULL);
    CU_ASSERT(apply(&f, "upstream-timeout", "60001") != NULL);
    CU_ASSERT(apply(&f, "upstream-tries", "0") != NULL);
    CU_ASSERT(apply(&f, "upstream-tries", "11") != NULL);
    CU_ASSERT(apply(&f, "max-pending", "0") != NULL);
    /* The defaults stand after every refusal. */
    EXPECT_UINT(f.timeout_ms, 2000);
    EXPECT_UINT(f.tries, 2);
    EXPECT_UINT(f.max_pending, 4096);
}

/* A query for `name` (type A) with `flags`; returns its length. */
static size_t query_for(uint8_t *q, size_t cap, const char *name, uint16_t flags)
{
    struct buf_writer w;
    buf_writer_init(&w, q, cap);
    struct hdr h = {.id = 0x5151, .flags = flags, .qdcount = 1};
    hdr_encode(&w, &h);
    struct msg_question question = {.qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN};
    CU_ASSERT_FATAL(name_from_text(name, NULL, &question.qname) == NAME_OK);
    msg_write_question(&w, &question);
    CU_ASSERT_FATAL(buf_writer_ok(&w));
    return w.pos;
}

/* The reply's header. */
static struct hdr reply_header(size_t n)
{
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, reply, n);
    hdr_decode(&r, &h);
    CU_ASSERT(buf_reader_ok(&r));
    return h;
}

/* Answered at once, without the upstream (none was started): the local
 * name as step 5 answers it but with RA; RD=0 outside the zones: REFUSED;
 * a malformed query: FORMERR, RA set too. */
static void test_answers_without_waiting(void)
{
    uint8_t q[512];
    struct server_request req = {.fd = -1};
    size_t len = query_for(q, sizeof q, "www.example.com.", HDR_RD);
    size_t n = forward_handle(&fw, &req, q, len, reply, sizeof reply);
    CU_ASSERT_FATAL(n != SERVER_NO_REPLY && n != SERVER_DEFERRED);
    struct hdr h = reply_header(n);
    EXPECT_UINT(h.flags, HDR_QR | HDR_AA | HDR_RD | HDR_RA);
    EXPECT_UINT(h.ancount, 1);

    len = query_for(q, sizeof q, "www.example.org.", 0);
    n = forward_handle(&fw, &req, q, len, reply, sizeof reply);
    CU_ASSERT_FATAL(n != SERVER_NO_REPLY && n != SERVER_DEFERRED);
    h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_REFUSED);
    CU_ASSERT(hdr_flag(&h, HDR_RA));

    len = query_for(q, sizeof q, "www.example.com.", HDR_RD);
    n = forward_handle(&fw, &req, q, len - 1, reply, sizeof reply); /* QCLASS cut short */
    CU_ASSERT_FATAL(n != SERVER_NO_REPLY && n != SERVER_DEFERRED);
    h = reply_header(n);
    EXPECT_UINT(hdr_rcode(&h), DNS_RCODE_FORMERR);
    CU_ASSERT(hdr_flag(&h, HDR_RA));

    EXPECT_UINT(fw.stats.queries, 3);
    EXPECT_UINT(fw.stats.local, 2);
    EXPECT_UINT(fw.stats.forwarded, 0);
}

void test_forward_register(void)
{
    CU_pSuite s = CU_add_suite("forward", suite_init, suite_clean);
    CU_add_test(s, "option defaults and good values", test_defaults_and_values);
    CU_add_test(s, "bad option values refused, defaults kept", test_bad_values);
    CU_add_test(s, "local, RD=0 and malformed queries answered at once",
                test_answers_without_waiting);
}
