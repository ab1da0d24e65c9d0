/* fuzz_zone: zonefile_load_text() on any text; a zone that loads is then asked questions. */
#include "fuzz.h"
#include "lookup.h"
#include "resp.h"
#include "zone.h"
#include "zonefile.h"

enum {
    /* Nodes asked about per input: enough to reach CNAME chains, cuts and
     * wildcards, few enough to keep thousands of inputs a second. */
    FUZZ_ZONE_NODES = 24,
};

/* Checks what every RRset a lookup chose looks like. */
static void check_result(const struct lookup_result *res)
{
    FUZZ_CHECK(res->rcode == DNS_RCODE_NOERROR || res->rcode == DNS_RCODE_NXDOMAIN ||
                   res->rcode == DNS_RCODE_REFUSED,
               "lookup RCODE %u", res->rcode);
    for (int s = 0; s < LOOKUP_SECTIONS; s++) {
        FUZZ_CHECK(res->count[s] <= LOOKUP_ITEMS_MAX, "section %d: %zu items", s, res->count[s]);
        for (size_t i = 0; i < res->count[s]; i++)
            FUZZ_CHECK(res->item[s][i].rrset != NULL && res->item[s][i].rrset->rdata != NULL &&
                           fuzz_name_well_formed(res->item[s][i].owner),
                       "section %d item %zu: no RRset, no records or a malformed owner", s, i);
    }
}

/* Writes the reply to `qcount` questions carrying `res` as the step does
 * (plainly in step 4, compressed in step 5); it must parse, with the header
 * the questions call for. */
static void check_reply(const struct msg_question *q, unsigned qcount,
                        const struct lookup_result *res)
{
    struct hdr query = {.id = 0x4242, .flags = HDR_RD, .qdcount = (uint16_t)qcount};
    uint8_t out[DNS_UDP_MAX];
    size_t n = resp_write(out, sizeof out, &query, q, qcount, res);
    FUZZ_CHECK(n >= DNS_HEADER_SIZE && n <= sizeof out, "resp_write returned %zu", n);
    struct hdr got = fuzz_check_reply(out, n);
    FUZZ_CHECK(got.id == query.id && hdr_flag(&got, HDR_QR) && hdr_rcode(&got) == res->rcode,
               "reply header id %u flags %04x", got.id, got.flags);
    if (got.qdcount == 0) {
        /* resp.h: not even the questions fit, so the header alone with TC.
         * One question always fits (12 + 255 + 4 bytes). */
        FUZZ_CHECK(qcount > 1 && n == DNS_HEADER_SIZE && hdr_flag(&got, HDR_TC),
                   "%u questions, none in a reply of %zu bytes", qcount, n);
        return;
    }
    FUZZ_CHECK(got.qdcount == qcount, "%u questions, %u in the reply", qcount, got.qdcount);
    /* lookup.h: more RRsets than a section holds means TC. */
    FUZZ_CHECK(!res->overflow || hdr_flag(&got, HDR_TC), "the lookup overflowed but TC is not set");
}

/* Asks one question alone. */
static void ask(const struct zone_set *set, const struct name *qname, uint16_t qtype)
{
    static struct lookup_result res;
    struct msg_question q = {.qname = *qname, .qtype = qtype, .qclass = DNS_CLASS_IN};
    lookup_init(&res);
    lookup_answer(set, &q, &res);
    check_result(&res);
    check_reply(&q, 1, &res);
}

/* Loads `text`; checks what a load promises. Returns 0 with the zone in `set`, or -1. */
static int load(struct zone_set *set, const char *text, const char *origin)
{
    char err[ZONEFILE_ERROR_MAX + 64];
    err[0] = 'X';
    err[1] = '\0';
    int status = zonefile_load_text(set, text, "fuzz", origin, err, sizeof err);
    FUZZ_CHECK(status == 0 || status == -1, "zonefile_load_text returned %d", status);
    FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL, "error message not terminated");
    if (status != 0) {
        FUZZ_CHECK(set->zones == NULL, "a failed load added a zone");
        FUZZ_CHECK(strncmp(err, "fuzz", 4) == 0, "error \"%s\" does not name the source", err);
        return -1;
    }
    const struct zone *z = set->zones;
    FUZZ_CHECK(z != NULL && z->next == NULL && z->soa != NULL && z->apex != NULL,
               "a zone loaded without its apex or SOA");
    FUZZ_CHECK(zone_set_find(set, &z->origin) == z && zone_find_node(z, &z->origin) == z->apex,
               "the apex cannot be found");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* zonefile_load_text() takes a C string: a NUL in the input ends it there. */
    char *text = malloc(size + 1);
    FUZZ_CHECK(text != NULL, "out of memory");
    memcpy(text, data, size);
    text[size] = '\0';

    /* Without an origin (relative names need a $ORIGIN line), then with one. */
    struct zone_set set = {NULL};
    load(&set, text, NULL);
    zone_set_free(&set);
    int status = load(&set, text, "example.com.");
    free(text);
    if (status != 0) {
        zone_set_free(&set);
        return 0;
    }

    /* Every node, until FUZZ_ZONE_NODES: the node itself for a few types, and
     * a name below it that does not exist (wildcards, NXDOMAIN). Then the
     * first 16 nodes as the questions of one query, as step 5 takes them:
     * all ANY (more RRsets than a section holds), then of mixed types. */
    static const uint16_t types[] = {DNS_TYPE_A,   DNS_TYPE_MX,  DNS_TYPE_NS,
                                     DNS_TYPE_ANY, DNS_TYPE_SOA, DNS_TYPE_TXT};
    static struct msg_question many[MSG_QUESTIONS_MAX];
    static struct lookup_result res;
    unsigned nmany = 0;
    const struct zone *z = set.zones;
    size_t asked = 0;
    for (size_t b = 0; b < z->bucket_count && asked < FUZZ_ZONE_NODES; b++) {
        for (const struct zone_node *n = z->buckets[b]; n != NULL && asked < FUZZ_ZONE_NODES;
             n = n->hash_next, asked++) {
            struct name name;
            zone_node_name(n, &name);
            FUZZ_CHECK(fuzz_name_well_formed(&name) && name_is_subdomain(&name, &z->origin),
                       "node %zu: malformed or outside the zone", asked);
            FUZZ_CHECK(zone_find_node(z, &name) == n, "node %zu cannot be found", asked);
            for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
                ask(&set, &name, types[t]);
            if (name.len + 2 <= NAME_WIRE_MAX) {
                struct name below;
                below.wire[0] = 1;
                below.wire[1] = 'Q';
                memcpy(below.wire + 2, name.wire, name.len);
                below.len = (uint8_t)(name.len + 2);
                ask(&set, &below, DNS_TYPE_A);
            }
            if (nmany < MSG_QUESTIONS_MAX)
                many[nmany++] = (struct msg_question){name, DNS_TYPE_ANY, DNS_CLASS_IN};
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        /* Pass 1 mixes the types, so an MX's address in the additional
         * section can become an answer to a later question. */
        for (unsigned i = 0; pass == 1 && i < nmany; i++)
            many[i].qtype = types[i % (sizeof types / sizeof types[0])];
        lookup_init(&res);
        for (unsigned i = 0; i < nmany; i++)
            lookup_answer(&set, &many[i], &res);
        check_result(&res);
        check_reply(many, nmany, &res);
    }

    zone_set_free(&set); /* anything left allocated is reported as a leak */
    return 0;
}
