/* test_lookup.c: unit tests of steps/04-answer/lookup.c — RFC 1034 4.3.2 on zones in memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dns.h"
#include "lookup.h"
#include "msg.h"
#include "name.h"
#include "tests.h"
#include "zone.h"
#include "zonefile.h"

/*
 * The zones every test asks. example.com.'s SOA has TTL 3600 and MINIMUM 300 (a negative
 * answer's SOA gets 300); example.net.'s has TTL 60 and MINIMUM 600 (it gets 60).
 */
static const char example_com[] =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@         IN SOA ns1 hostmaster 2026112401 7200 3600 1209600 300\n"
    "          IN NS  ns1\n"
    "          IN NS  ns2\n"
    "          IN NS  ns.example.org.     ; a server outside our zones: no address\n"
    "          IN MX  10 mail\n"
    "          IN MX  20 mx.example.org.  ; outside: no address\n"
    "          IN A   192.0.2.1\n"
    "ns1       IN A   192.0.2.53\n"
    "ns2       IN A   198.51.100.53\n"
    "          IN AAAA 2001:db8::53\n"
    "mail      IN A   192.0.2.25\n"
    "          IN AAAA 2001:db8::25\n"
    "mx1       IN MX  10 ns1              ; the same target as the apex NS\n"
    "www   300 IN A   192.0.2.80\n"
    "      300 IN A   192.0.2.81\n"
    "web       IN CNAME www\n"
    "ftp       IN CNAME web.example.com.\n"
    "ext       IN CNAME www.example.org.  ; outside every zone we serve\n"
    "dangling  IN CNAME nothere           ; a name that does not exist\n"
    "net       IN CNAME WWW.example.net.  ; into the other zone we serve\n"
    "loop-a    IN CNAME loop-b\n"
    "loop-b    IN CNAME loop-a\n"
    "self      IN CNAME self\n"
    "; c0 -> c1 -> ... -> c8: a chain of exactly 8 CNAMEs, then the address.\n"
    "c0 CNAME c1\nc1 CNAME c2\nc2 CNAME c3\nc3 CNAME c4\nc4 CNAME c5\nc5 CNAME c6\n"
    "c6 CNAME c7\nc7 CNAME c8\nc8 A 192.0.2.8\n"
    "; d0 -> ... -> d9: 9 CNAMEs, one more than is followed.\n"
    "d0 CNAME d1\nd1 CNAME d2\nd2 CNAME d3\nd3 CNAME d4\nd4 CNAME d5\nd5 CNAME d6\n"
    "d6 CNAME d7\nd7 CNAME d8\nd8 CNAME d9\nd9 A 192.0.2.9\n"
    "_sip._udp IN SRV 0 5 5060 mail\n"
    "          IN SRV 1 5 5060 sip.example.org. ; outside: no address\n"
    "_none._tcp IN SRV 0 0 0 .            ; no such service: no target to look up\n"
    "a.b       IN A   192.0.2.10          ; b is an empty non-terminal\n"
    "*.wild    IN TXT \"synthesized\"\n"
    "host.wild IN A   192.0.2.11          ; exists: never synthesized\n"
    "*.wc      IN CNAME www               ; a wildcard CNAME\n"
    "glued     IN MX  10 ns1.sub          ; a mail host below the cut: its address is glue\n"
    "          IN SRV 0 0 25 ns1.sub\n"
    "sub       IN NS  ns1.sub             ; a delegation\n"
    "          IN NS  ns.example.org.\n"
    "ns1.sub   IN A   192.0.2.153         ; glue\n"
    "          IN AAAA 2001:db8::153\n";

static const char example_net[] = "$ORIGIN example.net.\n"
                                  "@   60 IN SOA ns hostmaster 1 7200 3600 1209600 600\n"
                                  "www 60 IN A 198.51.100.80\n";

static struct zone_set zones;

static int suite_init(void)
{
    char err[ZONEFILE_ERROR_MAX + 64];
    if (zonefile_load_text(&zones, example_com, "example.com", NULL, err, sizeof err) != 0 ||
        zonefile_load_text(&zones, example_net, "example.net", NULL, err, sizeof err) != 0) {
        fprintf(stderr, "test_lookup: %s\n", err);
        zone_set_free(&zones);
        return -1;
    }
    return 0;
}

static int suite_clean(void)
{
    zone_set_free(&zones);
    return 0;
}

/* Helpers --------------------------------------------------------------------- */

static void record(int ok, const char *message, const char *file, unsigned line)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, message, file, "", CU_FALSE);
}

/* The result is large (every possible CNAME target name): keep it out of the stack. The
 * questions must outlive it, as owners point into them. */
static struct lookup_result res;
static struct msg_question qs[MSG_QUESTIONS_MAX];

static void set_question(unsigned i, const char *name, uint16_t type)
{
    CU_ASSERT_EQUAL_FATAL(name_from_text(name, NULL, &qs[i].qname), NAME_OK);
    qs[i].qtype = type;
    qs[i].qclass = DNS_CLASS_IN;
}

/* A new result holding the answer to one question. */
static void ask(const char *name, uint16_t type)
{
    set_question(0, name, type);
    lookup_init(&res);
    lookup_answer(&zones, &qs[0], &res);
}

/* Adds the answer to one more question (qs[i]) to the result. */
static void ask_also(unsigned i, const char *name, uint16_t type)
{
    set_question(i, name, type);
    lookup_answer(&zones, &qs[i], &res);
}

static void expect_result_at(unsigned rcode, bool aa, size_t an, size_t ns, size_t ar,
                             const char *file, unsigned line)
{
    test_expect_uint(res.rcode, rcode, "res.rcode", file, line);
    test_expect_uint(res.aa, aa, "res.aa", file, line);
    test_expect_uint(res.count[LOOKUP_ANSWER], an, "answer RRsets", file, line);
    test_expect_uint(res.count[LOOKUP_AUTHORITY], ns, "authority RRsets", file, line);
    test_expect_uint(res.count[LOOKUP_ADDITIONAL], ar, "additional RRsets", file, line);
    test_expect_uint(res.overflow, 0, "res.overflow", file, line);
}
#define EXPECT_RESULT(rcode, aa, an, ns, ar)                                                       \
    expect_result_at((rcode), (aa), (an), (ns), (ar), __FILE__, __LINE__)

/* Item `i` of `section`: its owner written exactly as `owner` (letter case too), its type,
 * TTL, and (if `records` is not 0) how many records its RRset holds. */
static void expect_item_at(enum lookup_section section, size_t i, const char *owner, uint16_t type,
                           uint32_t ttl, unsigned records, const char *file, unsigned line)
{
    char what[300];
    snprintf(what, sizeof what, "section %d item %zu", (int)section, i);
    if (i >= res.count[section]) {
        char msg[400];
        snprintf(msg, sizeof msg, "%s (%s type %u) exists", what, owner, type);
        record(0, msg, file, line);
        return;
    }
    const struct lookup_item *it = &res.item[section][i];
    char got[NAME_TEXT_MAX];
    name_to_text(it->owner, got, sizeof got);
    struct name want;
    name_from_text(owner, NULL, &want);
    char msg[2 * NAME_TEXT_MAX + 400];
    snprintf(msg, sizeof msg, "%s: owner expected \"%s\" (exact case), got \"%s\"", what, owner,
             got);
    record(it->owner->len == want.len && memcmp(it->owner->wire, want.wire, want.len) == 0, msg,
           file, line);
    snprintf(msg, sizeof msg, "%s (%s) type", what, owner);
    test_expect_uint(it->rrset->type, type, msg, file, line);
    snprintf(msg, sizeof msg, "%s (%s) TTL", what, owner);
    test_expect_uint(it->ttl, ttl, msg, file, line);
    if (records != 0) {
        snprintf(msg, sizeof msg, "%s (%s) records", what, owner);
        test_expect_uint(it->rrset->count, records, msg, file, line);
    }
}
#define EXPECT_ITEM(section, i, owner, type, ttl, records)                                         \
    expect_item_at((section), (i), (owner), (type), (ttl), (records), __FILE__, __LINE__)

/* The RRset of `type` at `name` in our zones, to compare item pointers with. */
static const struct zone_rrset *zone_rrset(const char *name, uint16_t type)
{
    struct name n;
    name_from_text(name, NULL, &n);
    const struct zone *z = zone_set_find(&zones, &n);
    const struct zone_node *node = z ? zone_find_node(z, &n) : NULL;
    return node ? zone_node_rrset(node, type) : NULL;
}

/* The RDATA of an item's first record. */
static const struct zone_rdata *first_rdata(enum lookup_section s, size_t i)
{
    return i < res.count[s] ? res.item[s][i].rrset->rdata : NULL;
}

/* The tests ---------------------------------------------------------------------- */

static void test_exact_match(void)
{
    ask("WwW.Example.COM.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    /* The owner is the question's name, in the question's letter case. */
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "WwW.Example.COM.", DNS_TYPE_A, 300, 2);
    CU_ASSERT_PTR_EQUAL(res.item[LOOKUP_ANSWER][0].owner, &qs[0].qname);
    CU_ASSERT_PTR_EQUAL(res.item[LOOKUP_ANSWER][0].rrset,
                        zone_rrset("www.example.com.", DNS_TYPE_A));

    ask("example.com.", DNS_TYPE_SOA);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "example.com.", DNS_TYPE_SOA, 3600, 1); /* its own TTL */

    ask("www.example.net.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "www.example.net.", DNS_TYPE_A, 60, 1);

    /* Glue is data of the parent zone too, but the cut above it wins (see the referrals). */
    ask("ns1.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "ns1.example.com.", DNS_TYPE_A, 3600, 1);
}

static void test_any(void)
{
    /* RFC 8482: one RRset, the first of the name (the SOA here), not all four. */
    ask("example.com.", DNS_TYPE_ANY);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "example.com.", DNS_TYPE_SOA, 3600, 1);
    /* With its additional processing, as for any answer: the MX's first name is ours. */
    ask("mx1.example.com.", DNS_TYPE_ANY);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "mx1.example.com.", DNS_TYPE_MX, 3600, 1);
    /* A CNAME is the name's one RRset: given, not followed. */
    ask("web.example.com.", DNS_TYPE_ANY);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "web.example.com.", DNS_TYPE_CNAME, 3600, 1);
    ask("b.example.com.", DNS_TYPE_ANY); /* an empty non-terminal */
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
}

static void test_zone_transfers(void)
{
    /* AXFR and IXFR over UDP: not implemented (zone transfers are TCP conversations). */
    ask("example.com.", DNS_TYPE_AXFR);
    EXPECT_RESULT(DNS_RCODE_NOTIMP, false, 0, 0, 0);
    ask("example.com.", DNS_TYPE_IXFR);
    EXPECT_RESULT(DNS_RCODE_NOTIMP, false, 0, 0, 0);
}

static void test_refused(void)
{
    static const char *const outside[] = {"www.example.org.", "com.", ".", "example.co.",
                                          "xexample.com."};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        ask(outside[i], DNS_TYPE_A);
        EXPECT_RESULT(DNS_RCODE_REFUSED, false, 0, 0, 0);
    }
}

/* Referral from example.com. to sub.example.com.: AA=0, nothing in the answer. */
static void expect_referral_at(const char *file, unsigned line)
{
    expect_result_at(DNS_RCODE_NOERROR, false, 0, 1, 2, file, line);
    /* The cut's owner as the zone file wrote it, not the question's. */
    expect_item_at(LOOKUP_AUTHORITY, 0, "sub.example.com.", DNS_TYPE_NS, 3600, 2, file, line);
    /* Glue for ns1.sub; none for ns.example.org. (not ours). */
    expect_item_at(LOOKUP_ADDITIONAL, 0, "ns1.sub.example.com.", DNS_TYPE_A, 3600, 1, file, line);
    expect_item_at(LOOKUP_ADDITIONAL, 1, "ns1.sub.example.com.", DNS_TYPE_AAAA, 3600, 1, file,
                   line);
}

static void test_referral(void)
{
    ask("sub.example.com.", DNS_TYPE_A);
    expect_referral_at(__FILE__, __LINE__);
    ask("www.sub.example.com.", DNS_TYPE_A);
    expect_referral_at(__FILE__, __LINE__);
    ask("a.b.c.SUB.example.com.", DNS_TYPE_MX);
    expect_referral_at(__FILE__, __LINE__);
    /* The glue's own name is below the cut: also a referral, not an answer. */
    ask("ns1.sub.example.com.", DNS_TYPE_A);
    expect_referral_at(__FILE__, __LINE__);
    /* NS at the cut: the parent is not authoritative for it either. */
    ask("SUB.EXAMPLE.COM.", DNS_TYPE_NS);
    expect_referral_at(__FILE__, __LINE__);
    /* A name beside the cut is ours. */
    ask("xsub.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);
}

static void test_glue_only_in_referrals(void)
{
    /* ns1.sub.example.com.'s addresses are glue: the child's data, kept so resolvers can reach
     * its servers. A referral carries them (test_referral); an authoritative answer never does,
     * even when its MX or SRV names that host (NSD's rule). */
    ask("glued.example.com.", DNS_TYPE_MX);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "glued.example.com.", DNS_TYPE_MX, 3600, 1);
    ask("glued.example.com.", DNS_TYPE_SRV);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    /* While the apex NS, whose targets are our own data, still brings them. */
    ask("example.com.", DNS_TYPE_NS);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 3);
}

static void test_ds_at_the_cut(void)
{
    /* RFC 4035 3.1.4.1: DS is the parent's data, so a DS question at the cut is answered by the
     * parent: NODATA (we hold no DS), AA=1, the parent's SOA; not a referral. */
    ask("sub.example.com.", DNS_TYPE_DS);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    /* Below the cut, DS is the child's business again: a referral. */
    ask("www.sub.example.com.", DNS_TYPE_DS);
    expect_referral_at(__FILE__, __LINE__);

    /* Serving the child too, a DS question at its apex still goes to the parent's side. */
    struct zone_set both = {NULL};
    char err[ZONEFILE_ERROR_MAX + 64];
    CU_ASSERT_EQUAL_FATAL(zonefile_load_text(&both, example_com, "com", NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(zonefile_load_text(&both, "$TTL 5\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\n",
                                             "sub", "sub.example.com.", err, sizeof err),
                          0);
    set_question(0, "sub.example.com.", DNS_TYPE_DS);
    lookup_init(&res);
    lookup_answer(&both, &qs[0], &res);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    zone_set_free(&both);
}

static void test_child_zone_served_too(void)
{
    /* With the child zone loaded as well, its names are answered from it (longest apex). */
    struct zone_set both = {NULL};
    char err[ZONEFILE_ERROR_MAX + 64];
    CU_ASSERT_EQUAL_FATAL(zonefile_load_text(&both, example_com, "com", NULL, err, sizeof err), 0);
    CU_ASSERT_EQUAL_FATAL(zonefile_load_text(&both,
                                             "$TTL 5\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\n"
                                             "ns1 A 192.0.2.153\nwww A 192.0.2.154\n",
                                             "sub", "sub.example.com.", err, sizeof err),
                          0);
    set_question(0, "www.sub.example.com.", DNS_TYPE_A);
    lookup_init(&res);
    lookup_answer(&both, &qs[0], &res);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "www.sub.example.com.", DNS_TYPE_A, 5, 1);
    set_question(0, "sub.example.com.", DNS_TYPE_NS);
    lookup_init(&res);
    lookup_answer(&both, &qs[0], &res);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 1); /* the child's apex NS, with its address */
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "sub.example.com.", DNS_TYPE_NS, 5, 1);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 0, "ns1.sub.example.com.", DNS_TYPE_A, 5, 1);
    zone_set_free(&both);
}

static void test_nodata(void)
{
    /* SOA TTL 3600 > MINIMUM 300: the SOA is given with 300. */
    ask("www.example.com.", DNS_TYPE_MX);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    CU_ASSERT_PTR_EQUAL(res.item[LOOKUP_AUTHORITY][0].rrset, zones.zones->next->soa);
    /* SOA TTL 60 < MINIMUM 600: 60. */
    ask("www.example.net.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.net.", DNS_TYPE_SOA, 60, 1);
    /* The apex without the type. */
    ask("example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    /* The SOA's own TTL is not changed for positive answers (checked in test_exact_match). */
}

static void test_empty_non_terminal(void)
{
    ask("b.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    /* ...and the name below it exists. */
    ask("a.b.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
}

static void test_nxdomain(void)
{
    ask("nope.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    ask("x.a.b.example.com.", DNS_TYPE_A); /* below an existing name */
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);
    ask("nope.example.net.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.net.", DNS_TYPE_SOA, 60, 1);
}

static void test_wildcard(void)
{
    const struct zone_rrset *wild_txt = zone_rrset("*.wild.example.com.", DNS_TYPE_TXT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(wild_txt);

    /* Synthesized: the wildcard's records under the question's name. */
    ask("Anything.WILD.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "Anything.WILD.example.com.", DNS_TYPE_TXT, 3600, 1);
    CU_ASSERT_PTR_EQUAL(res.item[LOOKUP_ANSWER][0].rrset, wild_txt);
    /* Several labels below the closest encloser match too (RFC 4592 3.3.1). */
    ask("a.b.wild.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "a.b.wild.example.com.", DNS_TYPE_TXT, 3600, 1);
    /* ANY at a wildcard. */
    ask("any.wild.example.com.", DNS_TYPE_ANY);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "any.wild.example.com.", DNS_TYPE_TXT, 3600, 1);

    /* A type the wildcard does not have: NODATA. */
    ask("anything.wild.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);

    /* A name that exists below the wildcard's parent is never synthesized: NODATA for TXT... */
    ask("host.wild.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
    ask("host.wild.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    /* ...and below it, the closest encloser is host.wild, which has no wildcard. */
    ask("x.host.wild.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);

    /* *.wild does not match wild itself (an empty non-terminal). */
    ask("wild.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);

    /* A wildcard elsewhere does not leak: no *.example.com. */
    ask("other.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);

    /* A wildcard CNAME: the synthesized CNAME, then its target. */
    ask("foo.wc.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "foo.wc.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 1, "www.example.com.", DNS_TYPE_A, 300, 2);
}

static void test_cname(void)
{
    /* Asking for the CNAME itself: only the CNAME. */
    ask("web.example.com.", DNS_TYPE_CNAME);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "web.example.com.", DNS_TYPE_CNAME, 3600, 1);

    /* Any other type: the CNAME, then the same type at its target. */
    ask("Web.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "Web.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 1, "www.example.com.", DNS_TYPE_A, 300, 2);

    /* A chain: ftp -> web -> www. */
    ask("ftp.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 3, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "ftp.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 1, "web.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 2, "www.example.com.", DNS_TYPE_A, 300, 2);

    /* The target without the type: NODATA after the CNAME. */
    ask("web.example.com.", DNS_TYPE_MX);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 1, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "web.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);

    /* Into the other zone we serve: followed there, owner as the CNAME wrote it. */
    ask("net.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 1, "WWW.example.net.", DNS_TYPE_A, 60, 1);
}

static void test_cname_chain_limit(void)
{
    /* 8 links: all followed, the address comes last. */
    ask("c0.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, LOOKUP_CNAME_MAX + 1, 0, 0);
    for (unsigned i = 0; i < LOOKUP_CNAME_MAX; i++) {
        char owner[32];
        snprintf(owner, sizeof owner, "c%u.example.com.", i);
        EXPECT_ITEM(LOOKUP_ANSWER, i, owner, DNS_TYPE_CNAME, 3600, 1);
    }
    EXPECT_ITEM(LOOKUP_ANSWER, LOOKUP_CNAME_MAX, "c8.example.com.", DNS_TYPE_A, 3600, 1);

    /* 9 links: the ninth CNAME is given but not followed, so no address. */
    ask("d0.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, LOOKUP_CNAME_MAX + 1, 0, 0);
    for (unsigned i = 0; i < res.count[LOOKUP_ANSWER]; i++)
        EXPECT_UINT(res.item[LOOKUP_ANSWER][i].rrset->type, DNS_TYPE_CNAME);
    EXPECT_ITEM(LOOKUP_ANSWER, LOOKUP_CNAME_MAX, "d8.example.com.", DNS_TYPE_CNAME, 3600, 1);
    /* From further along the same chain, 8 links remain: the address is reached. */
    ask("d1.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, LOOKUP_CNAME_MAX + 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, LOOKUP_CNAME_MAX, "d9.example.com.", DNS_TYPE_A, 3600, 1);
}

static void test_cname_loop(void)
{
    ask("loop-a.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "loop-a.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 1, "loop-b.example.com.", DNS_TYPE_CNAME, 3600, 1);
    /* The loop is seen when the chain comes back to loop-a, not by running into the link
     * limit: only one target (loop-b) was followed. */
    EXPECT_UINT(res.name_count, 1);

    ask("self.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_UINT(res.name_count, 0);

    /* The loop entered in another letter case is still a loop. */
    ask("LOOP-B.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
}

static void test_cname_target_outside_or_missing(void)
{
    /* The target is in no zone of ours: the CNAME is the answer, NOERROR, authoritative. */
    ask("ext.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "ext.example.com.", DNS_TYPE_CNAME, 3600, 1);

    /* The target does not exist: NXDOMAIN (RFC 6604), with the CNAME and the SOA. */
    ask("dangling.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 1, 1, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "dangling.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
}

static void test_additional_addresses(void)
{
    /* MX: the exchange's A and AAAA; mx.example.org. is not ours. */
    ask("example.com.", DNS_TYPE_MX);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 2);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "example.com.", DNS_TYPE_MX, 3600, 2);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 0, "mail.example.com.", DNS_TYPE_A, 3600, 1);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 1, "mail.example.com.", DNS_TYPE_AAAA, 3600, 1);

    /* NS at the apex: an answer (AA), with the servers' addresses. */
    ask("example.com.", DNS_TYPE_NS);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 3);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "example.com.", DNS_TYPE_NS, 3600, 3);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 0, "ns1.example.com.", DNS_TYPE_A, 3600, 1);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 1, "ns2.example.com.", DNS_TYPE_A, 3600, 1);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 2, "ns2.example.com.", DNS_TYPE_AAAA, 3600, 1);

    /* SRV: the target's addresses too, the field named by the record-type table (RFC 2782). */
    ask("_sip._udp.example.com.", DNS_TYPE_SRV);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 2);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "_sip._udp.example.com.", DNS_TYPE_SRV, 3600, 2);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 0, "mail.example.com.", DNS_TYPE_A, 3600, 1);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, 1, "mail.example.com.", DNS_TYPE_AAAA, 3600, 1);
    /* The target "." means no service: nothing to add. */
    ask("_none._tcp.example.com.", DNS_TYPE_SRV);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);

    /* Other types bring nothing. */
    ask("www.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    ask("wild.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);
}

static void test_multiple_questions(void)
{
    /* RCODE: the first that is not NOERROR. */
    ask("www.example.com.", DNS_TYPE_A);
    ask_also(1, "nope.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 1, 1, 0);

    ask("nope.example.com.", DNS_TYPE_A);
    ask_also(1, "www.example.org.", DNS_TYPE_A); /* REFUSED comes second: NXDOMAIN stays */
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, false, 0, 1, 0);

    ask("www.example.com.", DNS_TYPE_A);
    ask_also(1, "www.example.org.", DNS_TYPE_A);
    ask_also(2, "nope.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_REFUSED, false, 1, 1, 0);

    /* AA only if every answer is authoritative: a referral clears it. */
    ask("www.example.com.", DNS_TYPE_A);
    ask_also(1, "www.sub.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, false, 1, 1, 2);
    ask("www.sub.example.com.", DNS_TYPE_A);
    ask_also(1, "www.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, false, 1, 1, 2);
    ask("www.example.com.", DNS_TYPE_A);
    ask_also(1, "www.example.net.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
}

static void test_no_duplicate_rrsets(void)
{
    /* The same question twice. */
    ask("www.example.com.", DNS_TYPE_A);
    ask_also(1, "www.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);
    /* ...in another letter case. */
    ask("www.example.com.", DNS_TYPE_A);
    ask_also(1, "WWW.EXAMPLE.COM.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 1, 0, 0);

    /* Two NODATA answers share one SOA. */
    ask("www.example.com.", DNS_TYPE_MX);
    ask_also(1, "b.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 1, 0);

    /* Overlapping CNAME chains: web -> www, then ftp -> web -> www. */
    ask("web.example.com.", DNS_TYPE_A);
    ask_also(1, "ftp.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 3, 0, 0);
    EXPECT_ITEM(LOOKUP_ANSWER, 0, "web.example.com.", DNS_TYPE_CNAME, 3600, 1);
    EXPECT_ITEM(LOOKUP_ANSWER, 1, "www.example.com.", DNS_TYPE_A, 300, 2);
    EXPECT_ITEM(LOOKUP_ANSWER, 2, "ftp.example.com.", DNS_TYPE_CNAME, 3600, 1);

    /* An NS and an MX with the same target: its address once. */
    ask("example.com.", DNS_TYPE_NS);
    ask_also(1, "mx1.example.com.", DNS_TYPE_MX);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 3);

    /* Two wildcard answers have different owners: both stay. */
    ask("a.wild.example.com.", DNS_TYPE_TXT);
    ask_also(1, "b.wild.example.com.", DNS_TYPE_TXT);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 0);
}

static void test_no_duplicate_across_sections(void)
{
    /* ns1's A is the answer to the first question; the second (NS at the apex) would add it
     * to the additional section. An RRset appears once in a reply (NSD's answer_add_rrset
     * keeps it in the lowest section): the additional section holds only ns2's records. */
    ask("ns1.example.com.", DNS_TYPE_A);
    ask_also(1, "example.com.", DNS_TYPE_NS);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 2, 0, 2);
    const struct zone_rrset *ns1_a = zone_rrset("ns1.example.com.", DNS_TYPE_A);
    unsigned seen = 0;
    for (int s = 0; s < LOOKUP_SECTIONS; s++)
        for (size_t i = 0; i < res.count[s]; i++)
            seen += res.item[s][i].rrset == ns1_a;
    EXPECT_UINT(seen, 1);
}

static void test_result_names_are_rdata(void)
{
    /* A CNAME target's owner points into the result (res.names), not into the zone's RDATA
     * or the question; it survives a new question being added. */
    ask("web.example.com.", DNS_TYPE_A);
    const struct name *target = res.item[LOOKUP_ANSWER][1].owner;
    CU_ASSERT_TRUE(target >= res.names && target < res.names + res.name_count);
    const struct zone_rdata *d = first_rdata(LOOKUP_ANSWER, 0);
    CU_ASSERT_TRUE(d != NULL && d->len == target->len &&
                   memcmp(d->data, target->wire, d->len) == 0);
    EXPECT_UINT(res.name_count, 1);
    /* lookup_init empties everything. */
    lookup_init(&res);
    EXPECT_RESULT(DNS_RCODE_NOERROR, true, 0, 0, 0);
    EXPECT_UINT(res.name_count, 0);
}

static void test_result_names_of_nodes(void)
{
    /* Zone nodes keep their names at their exact length, so a referral's owner and its glue's
     * are copies in the result (res.names) of the nodes' names, as the zone file wrote them. */
    ask("www.SUB.example.com.", DNS_TYPE_A);
    expect_referral_at(__FILE__, __LINE__);
    EXPECT_UINT(res.name_count, 3);
    for (int s = 0; s < LOOKUP_SECTIONS; s++)
        for (size_t i = 0; i < res.count[s]; i++) {
            const struct name *owner = res.item[s][i].owner;
            CU_ASSERT_TRUE(owner >= res.names && owner < res.names + res.name_count);
        }
    /* A negative answer's SOA is owned by the zone's origin: no copy. */
    ask("nothing.example.com.", DNS_TYPE_A);
    EXPECT_RESULT(DNS_RCODE_NXDOMAIN, true, 0, 1, 0);
    EXPECT_ITEM(LOOKUP_AUTHORITY, 0, "example.com.", DNS_TYPE_SOA, 300, 1);
    EXPECT_UINT(res.name_count, 0);
}

static void test_overflow(void)
{
    /* An MX RRset with 70 exchanges, each with an address: more additional RRsets than a
     * result holds. The first LOOKUP_ITEMS_MAX are kept and `overflow` says the rest is lost. */
    enum { TARGETS = LOOKUP_ITEMS_MAX + 6 };
    char *text = malloc(64 * 1024);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    size_t len = (size_t)sprintf(text, "$ORIGIN example.com.\n$TTL 1\n@ SOA ns hm 1 2 3 4 5\n");
    for (int i = 0; i < TARGETS; i++)
        len += (size_t)sprintf(text + len, "big MX %d t%d\nt%d A 192.0.2.%d\n", i, i, i, i);
    struct zone_set set = {NULL};
    char err[ZONEFILE_ERROR_MAX + 64];
    int rc = zonefile_load_text(&set, text, "big", NULL, err, sizeof err);
    free(text);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    set_question(0, "big.example.com.", DNS_TYPE_MX);
    lookup_init(&res);
    lookup_answer(&set, &qs[0], &res);
    EXPECT_UINT(res.count[LOOKUP_ANSWER], 1);
    EXPECT_UINT(res.count[LOOKUP_ADDITIONAL], LOOKUP_ITEMS_MAX);
    CU_ASSERT_TRUE(res.overflow);
    /* A node's name is copied into the result only for an item kept. */
    EXPECT_UINT(res.name_count, LOOKUP_ITEMS_MAX);
    EXPECT_ITEM(LOOKUP_ADDITIONAL, LOOKUP_ITEMS_MAX - 1, "t63.example.com.", DNS_TYPE_A, 1, 1);
    zone_set_free(&set);
}

void test_lookup_register(void)
{
    CU_pSuite s = CU_add_suite("lookup", suite_init, suite_clean);
    if (s == NULL)
        return;
    CU_add_test(s, "exact match: AA, owner in the question's case", test_exact_match);
    CU_add_test(s, "ANY", test_any);
    CU_add_test(s, "outside every zone: REFUSED", test_refused);
    CU_add_test(s, "AXFR and IXFR: NOTIMP", test_zone_transfers);
    CU_add_test(s, "referral at and below a cut, with glue", test_referral);
    CU_add_test(s, "glue only in referrals, never with an answer", test_glue_only_in_referrals);
    CU_add_test(s, "DS at a cut: the parent answers", test_ds_at_the_cut);
    CU_add_test(s, "child zone served too: longest apex", test_child_zone_served_too);
    CU_add_test(s, "NODATA: SOA TTL min(TTL, MINIMUM)", test_nodata);
    CU_add_test(s, "empty non-terminal: NODATA", test_empty_non_terminal);
    CU_add_test(s, "NXDOMAIN with SOA", test_nxdomain);
    CU_add_test(s, "wildcards (RFC 4592)", test_wildcard);
    CU_add_test(s, "CNAME and chains", test_cname);
    CU_add_test(s, "CNAME chain: 8 links followed, not 9", test_cname_chain_limit);
    CU_add_test(s, "CNAME loop terminates", test_cname_loop);
    CU_add_test(s, "CNAME target outside / missing", test_cname_target_outside_or_missing);
    CU_add_test(s, "MX, NS and SRV bring addresses", test_additional_addresses);
    CU_add_test(s, "several questions: RCODE and AA", test_multiple_questions);
    CU_add_test(s, "several questions: no duplicate RRsets", test_no_duplicate_rrsets);
    CU_add_test(s, "several questions: no RRset in two sections",
                test_no_duplicate_across_sections);
    CU_add_test(s, "CNAME targets live in the result", test_result_names_are_rdata);
    CU_add_test(s, "referral and glue owners: the nodes' names, copied",
                test_result_names_of_nodes);
    CU_add_test(s, "more RRsets than a result holds: overflow", test_overflow);
}
