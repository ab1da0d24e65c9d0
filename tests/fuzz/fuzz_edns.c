/* fuzz_edns: step 9's OPT record read from any query or reply, and added to any reply. */
#include "fuzz.h"
#include "edns.h"

/* Large: the parsed messages, reused for every input. */
static struct msg parsed, with_opt;

/* The fields two readings of the same OPT must agree on. */
static bool same_edns(const struct edns *a, const struct edns *b)
{
    return a->present == b->present && a->payload == b->payload && a->version == b->version &&
           a->dnssec_ok == b->dnssec_ok && a->ext_rcode == b->ext_rcode;
}

/* The contract of edns_udp_limit(): 512 without an OPT, else the payload
 * size clamped to 512..EDNS_PAYLOAD. */
static void check_limit(const struct edns *e)
{
    size_t limit = edns_udp_limit(e);
    FUZZ_CHECK(limit >= DNS_UDP_MAX && limit <= EDNS_PAYLOAD, "UDP limit %zu", limit);
    if (!e->present)
        FUZZ_CHECK(limit == DNS_UDP_MAX, "no OPT but a UDP limit of %zu", limit);
    else if (e->payload >= DNS_UDP_MAX && e->payload <= EDNS_PAYLOAD)
        FUZZ_CHECK(limit == e->payload, "payload %u but a UDP limit of %zu", e->payload, limit);
}

/* The message as a query: msg_parse_query(), then edns_parse_query(). */
static void check_query(const uint8_t *data, size_t size, const struct edns *reply_e,
                        int reply_rcode)
{
    struct msg_query q;
    if (msg_parse_query(data, size, &q) != DNS_RCODE_NOERROR)
        return;
    struct edns e;
    memset(&e, 0xA5, sizeof e); /* whatever it held before: every field must be set */
    int rc = edns_parse_query(data, size, &q, &e);
    FUZZ_CHECK(rc == DNS_RCODE_NOERROR || rc == DNS_RCODE_FORMERR || rc == EDNS_RCODE_BADVERS,
               "edns_parse_query() returned %d", rc);
    if (rc == DNS_RCODE_FORMERR)
        FUZZ_CHECK(!e.present, "FORMERR with an OPT present");
    else if (rc == EDNS_RCODE_BADVERS)
        FUZZ_CHECK(e.present && e.version > EDNS_VERSION, "BADVERS for version %u (present %d)",
                   e.version, e.present);
    else
        FUZZ_CHECK(!e.present || e.version == EDNS_VERSION, "NOERROR for version %u", e.version);
    if (!e.present)
        FUZZ_CHECK(e.payload == 0 && e.version == 0 && !e.dnssec_ok && e.ext_rcode == 0,
                   "no OPT, but fields left set");
    check_limit(&e);
    /* A query is a message: read as a reply, the same OPT, the same verdict
     * (the version is judged for queries only). */
    FUZZ_CHECK((rc == DNS_RCODE_FORMERR) == (reply_rcode == DNS_RCODE_FORMERR),
               "query verdict %d, reply verdict %d", rc, reply_rcode);
    FUZZ_CHECK(same_edns(&e, reply_e), "edns_parse_query() and edns_parse_reply() disagree");
    unsigned full = edns_rcode(&q.hdr, &e);
    FUZZ_CHECK(full <= 0xFFF && (full & 0xF) == hdr_rcode(&q.hdr), "12-bit RCODE %u", full);
}

/*
 * edns_add_opt() into a heap buffer of exactly `cap` bytes (so a write past
 * it is caught): either nothing changed, or one OPT of EDNS_OPT_SIZE bytes
 * was appended and counted in ARCOUNT, the rest as it was. When the input
 * was a whole message without an OPT (`no_opt`: msg_parse() took it and
 * edns_parse_reply() found no OPT), the result is one with the OPT last.
 */
static void check_add_opt(const uint8_t *data, size_t size, size_t cap, uint8_t ext_rcode,
                          bool no_opt)
{
    uint8_t *buf = malloc(cap ? cap : 1);
    FUZZ_CHECK(buf != NULL, "no memory");
    memcpy(buf, data, size);
    size_t n = edns_add_opt(buf, size, cap, ext_rcode);
    bool arcount_full = size >= DNS_HEADER_SIZE && data[10] == 0xFF && data[11] == 0xFF;
    bool fits = size >= DNS_HEADER_SIZE && size + EDNS_OPT_SIZE <= cap && !arcount_full;
    FUZZ_CHECK(n == (fits ? size + EDNS_OPT_SIZE : size), "%zu bytes, cap %zu: result %zu", size,
               cap, n);
    if (n == size) {
        FUZZ_CHECK(memcmp(buf, data, size) == 0, "edns_add_opt() failed but changed the message");
        free(buf);
        return;
    }
    unsigned arcount = (unsigned)data[10] << 8 | data[11];
    unsigned after = (unsigned)buf[10] << 8 | buf[11];
    FUZZ_CHECK(after == arcount + 1, "ARCOUNT %u became %u", arcount, after);
    FUZZ_CHECK(memcmp(buf, data, 10) == 0 && memcmp(buf + 12, data + 12, size - 12) == 0,
               "bytes other than ARCOUNT changed");
    const uint8_t opt[EDNS_OPT_SIZE] = {
        0, 0, DNS_TYPE_OPT, EDNS_PAYLOAD >> 8, EDNS_PAYLOAD & 0xFF, ext_rcode, EDNS_VERSION, 0, 0,
        0, 0};
    FUZZ_CHECK(memcmp(buf + size, opt, EDNS_OPT_SIZE) == 0, "the OPT written is not ours");
    if (no_opt) {
        size_t records = 0;
        for (int s = 0; s < MSG_SECTIONS; s++)
            records += parsed.count[s];
        if (records < MSG_RECORDS_MAX && n <= DNS_MESSAGE_MAX) {
            enum msg_status st = msg_parse(buf, n, &with_opt);
            FUZZ_CHECK(st == MSG_OK, "with the OPT added, the message does not parse: %s",
                       msg_strerror(st));
            struct edns got;
            FUZZ_CHECK(edns_from_msg(&with_opt, &got) == DNS_RCODE_NOERROR && got.present &&
                           got.payload == EDNS_PAYLOAD && got.version == EDNS_VERSION &&
                           !got.dnssec_ok && got.ext_rcode == ext_rcode,
                       "the OPT added does not read back");
            size_t last =
                msg_section_start(&with_opt, MSG_ADDITIONAL) + with_opt.count[MSG_ADDITIONAL] - 1;
            FUZZ_CHECK(with_opt.record[last].type == DNS_TYPE_OPT &&
                           with_opt.record[last].rdata + with_opt.record[last].rdlength == n,
                       "the OPT is not the last record");
            struct edns again;
            FUZZ_CHECK(edns_parse_reply(buf, n, &again) == DNS_RCODE_NOERROR &&
                           same_edns(&again, &got),
                       "edns_parse_reply() does not read the OPT added");
        }
    }
    free(buf);
}

/*
 * The input is one message, read as a reply (edns_parse_reply(), and
 * edns_from_msg() when msg_parse() takes it: the same verdict and OPT), as
 * a query (msg_parse_query() then edns_parse_query()), and given an OPT
 * (edns_add_opt()) with the room and EXTENDED-RCODE its ID says.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct edns e;
    memset(&e, 0x5A, sizeof e);
    int rc = edns_parse_reply(data, size, &e);
    FUZZ_CHECK(rc == DNS_RCODE_NOERROR || rc == DNS_RCODE_FORMERR, "edns_parse_reply() returned %d",
               rc);
    if (rc == DNS_RCODE_FORMERR || !e.present)
        FUZZ_CHECK(!e.present && e.payload == 0 && e.version == 0 && !e.dnssec_ok &&
                       e.ext_rcode == 0,
                   "no OPT, but fields left set");
    check_limit(&e);

    bool parsed_ok = msg_parse(data, size, &parsed) == MSG_OK;
    if (parsed_ok) {
        struct edns from_msg;
        int rc2 = edns_from_msg(&parsed, &from_msg);
        FUZZ_CHECK(rc2 == rc, "edns_from_msg() says %d, edns_parse_reply() %d", rc2, rc);
        FUZZ_CHECK(same_edns(&from_msg, &e), "edns_from_msg() and edns_parse_reply() disagree");
    }

    check_query(data, size, &e, rc);

    /* The ID (free for the fuzzer to choose) sets the room and the
     * EXTENDED-RCODE: from too small by a few bytes to a few bytes spare. */
    uint8_t id_hi = size > 0 ? data[0] : 0, id_lo = size > 1 ? data[1] : 0;
    size_t cap = size + (id_lo % 24);
    /* A whole message without an OPT (none at all, not only none well
     * formed) must become one with ours, last. */
    check_add_opt(data, size, cap, id_hi, parsed_ok && rc == DNS_RCODE_NOERROR && !e.present);
    /* A length past the room is refused, nothing written. */
    if (size > 0) {
        uint8_t *buf = malloc(size);
        FUZZ_CHECK(buf != NULL, "no memory");
        memcpy(buf, data, size);
        FUZZ_CHECK(edns_add_opt(buf, size, size - 1, id_hi) == size && memcmp(buf, data, size) == 0,
                   "edns_add_opt() with len > cap did something");
        free(buf);
    }
    return 0;
}
