/* test_dns.c: unit tests of common/dns.c — names of types, classes, opcodes and rcodes. */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "tests.h"

static const struct {
    uint16_t value;
    const char *name;
} types[] = {
    {DNS_TYPE_A, "A"},         {DNS_TYPE_NS, "NS"},     {DNS_TYPE_CNAME, "CNAME"},
    {DNS_TYPE_SOA, "SOA"},     {DNS_TYPE_PTR, "PTR"},   {DNS_TYPE_HINFO, "HINFO"},
    {DNS_TYPE_MX, "MX"},       {DNS_TYPE_TXT, "TXT"},   {DNS_TYPE_AAAA, "AAAA"},
    {DNS_TYPE_SRV, "SRV"},     {DNS_TYPE_OPT, "OPT"},   {DNS_TYPE_DS, "DS"},
    {DNS_TYPE_RRSIG, "RRSIG"}, {DNS_TYPE_NSEC, "NSEC"}, {DNS_TYPE_DNSKEY, "DNSKEY"},
    {DNS_TYPE_HTTPS, "HTTPS"}, {DNS_TYPE_AXFR, "AXFR"}, {DNS_TYPE_ANY, "ANY"},
    {DNS_TYPE_CAA, "CAA"},
};

static void test_type_names(void)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        EXPECT_STR(dns_type_name(types[i].value), types[i].name);
    EXPECT_UINT(DNS_TYPE_AAAA, 28); /* the values themselves, against RFC 3596 etc. */
    EXPECT_UINT(DNS_TYPE_OPT, 41);
    EXPECT_UINT(DNS_TYPE_HTTPS, 65);
    EXPECT_STR(dns_type_name(0), NULL);
    EXPECT_STR(dns_type_name(12345), NULL);
}

static void test_class_names(void)
{
    EXPECT_STR(dns_class_name(DNS_CLASS_IN), "IN");
    EXPECT_STR(dns_class_name(DNS_CLASS_CH), "CH");
    EXPECT_STR(dns_class_name(DNS_CLASS_HS), "HS");
    EXPECT_STR(dns_class_name(DNS_CLASS_ANY), "ANY");
    EXPECT_STR(dns_class_name(42), NULL);
    EXPECT_STR(dns_class_name(2), NULL); /* CS: unassigned since RFC 1035 */
}

static void test_opcode_names(void)
{
    EXPECT_STR(dns_opcode_name(DNS_OPCODE_QUERY), "QUERY");
    EXPECT_STR(dns_opcode_name(DNS_OPCODE_IQUERY), "IQUERY");
    EXPECT_STR(dns_opcode_name(DNS_OPCODE_STATUS), "STATUS");
    EXPECT_STR(dns_opcode_name(DNS_OPCODE_NOTIFY), "NOTIFY");
    EXPECT_STR(dns_opcode_name(DNS_OPCODE_UPDATE), "UPDATE");
    EXPECT_STR(dns_opcode_name(3), NULL); /* unassigned */
    EXPECT_STR(dns_opcode_name(15), NULL);
    EXPECT_STR(dns_opcode_name(1000), NULL); /* not even 4 bits */
}

static void test_rcode_names(void)
{
    EXPECT_STR(dns_rcode_name(DNS_RCODE_NOERROR), "NOERROR");
    EXPECT_STR(dns_rcode_name(DNS_RCODE_FORMERR), "FORMERR");
    EXPECT_STR(dns_rcode_name(DNS_RCODE_SERVFAIL), "SERVFAIL");
    EXPECT_STR(dns_rcode_name(DNS_RCODE_NXDOMAIN), "NXDOMAIN");
    EXPECT_STR(dns_rcode_name(DNS_RCODE_NOTIMP), "NOTIMP");
    EXPECT_STR(dns_rcode_name(DNS_RCODE_REFUSED), "REFUSED");
    EXPECT_STR(dns_rcode_name(15), NULL); /* unassigned */
    EXPECT_STR(dns_rcode_name(1000), NULL);
}

static void test_type_text(void)
{
    char out[16];
    memset(out, 'x', sizeof out);
    const char *got = dns_type_text(12345, out, sizeof out);
    CU_ASSERT_PTR_EQUAL(got, out);
    EXPECT_STR(out, "TYPE12345");
    EXPECT_STR(dns_type_text(DNS_TYPE_AAAA, out, sizeof out), "AAAA");
    EXPECT_STR(dns_type_text(0, out, sizeof out), "TYPE0");
    EXPECT_STR(dns_type_text(65535, out, sizeof out), "TYPE65535");
    /* "TYPE65535" plus the NUL is 10 bytes: the documented minimum of 12 suffices. */
    char small[12];
    EXPECT_STR(dns_type_text(65535, small, sizeof small), "TYPE65535");
}

static void test_class_text(void)
{
    char out[16];
    const char *got = dns_class_text(42, out, sizeof out);
    CU_ASSERT_PTR_EQUAL(got, out);
    EXPECT_STR(out, "CLASS42");
    EXPECT_STR(dns_class_text(DNS_CLASS_IN, out, sizeof out), "IN");
    EXPECT_STR(dns_class_text(65535, out, sizeof out), "CLASS65535");
}

static void test_type_from_text(void)
{
    uint16_t t;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        t = 0;
        EXPECT_INT(dns_type_from_text(types[i].name, &t), 0);
        EXPECT_UINT(t, types[i].value);
    }
    t = 0;
    EXPECT_INT(dns_type_from_text("aaaa", &t), 0);
    EXPECT_UINT(t, DNS_TYPE_AAAA);
    t = 0;
    EXPECT_INT(dns_type_from_text("Mx", &t), 0);
    EXPECT_UINT(t, DNS_TYPE_MX);
    t = 0;
    EXPECT_INT(dns_type_from_text("TYPE65", &t), 0);
    EXPECT_UINT(t, 65);
    t = 0;
    EXPECT_INT(dns_type_from_text("type12345", &t), 0);
    EXPECT_UINT(t, 12345);
    t = 0;
    EXPECT_INT(dns_type_from_text("TYPE65535", &t), 0);
    EXPECT_UINT(t, 65535);
}

static void test_type_from_text_rejects(void)
{
    static const char *bad[] = {
        "TYPE",                     /* no number */
        "TYPE70000",                /* more than 16 bits */
        "TYPE65536",                /* one more than 16 bits */
        "FOO",                      /* no such type */
        "",                         /* nothing */
        "TYPE-1",                   /* not a decimal number */
        "TYPE65x",                  /* trailing junk */
        "A ",                       /* trailing space */
        "AAAAA",                    /* a prefix is not enough */
        "TYPE99999999999999999999", /* overflows even a 64-bit strtoul */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint16_t t = 0x5A5A;
        int rc = dns_type_from_text(bad[i], &t);
        char what[64];
        snprintf(what, sizeof what, "dns_type_from_text(\"%s\")", bad[i]);
        test_expect_int(rc, -1, what, __FILE__, __LINE__);
    }
}

static void test_class_from_text(void)
{
    uint16_t c = 0;
    EXPECT_INT(dns_class_from_text("IN", &c), 0);
    EXPECT_UINT(c, DNS_CLASS_IN);
    c = 0;
    EXPECT_INT(dns_class_from_text("ch", &c), 0);
    EXPECT_UINT(c, DNS_CLASS_CH);
    c = 0;
    EXPECT_INT(dns_class_from_text("CLASS1", &c), 0);
    EXPECT_UINT(c, DNS_CLASS_IN);
    c = 0;
    EXPECT_INT(dns_class_from_text("class42", &c), 0);
    EXPECT_UINT(c, 42);
    static const char *bad[] = {"CLASS", "CLASS65536", "BAR", "", "INN"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "dns_class_from_text(\"%s\")", bad[i]);
        test_expect_int(dns_class_from_text(bad[i], &c), -1, what, __FILE__, __LINE__);
    }
}

static void test_text_round_trip(void)
{
    /* Every value's text parses back to the value, named or not. */
    static const uint16_t values[] = {1, 2, 28, 41, 64, 65, 99, 255, 257, 12345, 65535};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char text[16];
        uint16_t back = 0;
        dns_type_text(values[i], text, sizeof text);
        EXPECT_INT(dns_type_from_text(text, &back), 0);
        EXPECT_UINT(back, values[i]);
        back = 0;
        dns_class_text(values[i], text, sizeof text);
        EXPECT_INT(dns_class_from_text(text, &back), 0);
        EXPECT_UINT(back, values[i]);
    }
}

void test_dns_register(void)
{
    CU_pSuite s = CU_add_suite("dns", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "type names", test_type_names);
    CU_add_test(s, "class names", test_class_names);
    CU_add_test(s, "opcode names", test_opcode_names);
    CU_add_test(s, "rcode names", test_rcode_names);
    CU_add_test(s, "type text, TYPE12345 form", test_type_text);
    CU_add_test(s, "class text, CLASS42 form", test_class_text);
    CU_add_test(s, "type from text, any case", test_type_from_text);
    CU_add_test(s, "type from text rejects", test_type_from_text_rejects);
    CU_add_test(s, "class from text", test_class_from_text);
    CU_add_test(s, "text round trip", test_text_round_trip);
}
