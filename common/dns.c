/* dns: names of protocol values, as dig prints them. */
#include "dns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct dns_value_name {
    unsigned value;
    const char *name;
};

static const struct dns_value_name dns_types[] = {
    {DNS_TYPE_A, "A"},         {DNS_TYPE_NS, "NS"},     {DNS_TYPE_CNAME, "CNAME"},
    {DNS_TYPE_SOA, "SOA"},     {DNS_TYPE_PTR, "PTR"},   {DNS_TYPE_HINFO, "HINFO"},
    {DNS_TYPE_MX, "MX"},       {DNS_TYPE_TXT, "TXT"},   {DNS_TYPE_AAAA, "AAAA"},
    {DNS_TYPE_SRV, "SRV"},     {DNS_TYPE_OPT, "OPT"},   {DNS_TYPE_DS, "DS"},
    {DNS_TYPE_RRSIG, "RRSIG"}, {DNS_TYPE_NSEC, "NSEC"}, {DNS_TYPE_DNSKEY, "DNSKEY"},
    {DNS_TYPE_HTTPS, "HTTPS"}, {DNS_TYPE_IXFR, "IXFR"}, {DNS_TYPE_AXFR, "AXFR"},
    {DNS_TYPE_ANY, "ANY"},     {DNS_TYPE_CAA, "CAA"},
};

static const struct dns_value_name dns_classes[] = {
    {DNS_CLASS_IN, "IN"},
    {DNS_CLASS_CH, "CH"},
    {DNS_CLASS_HS, "HS"},
    {DNS_CLASS_ANY, "ANY"},
};

static const struct dns_value_name dns_opcodes[] = {
    {DNS_OPCODE_QUERY, "QUERY"},   {DNS_OPCODE_IQUERY, "IQUERY"}, {DNS_OPCODE_STATUS, "STATUS"},
    {DNS_OPCODE_NOTIFY, "NOTIFY"}, {DNS_OPCODE_UPDATE, "UPDATE"},
};

static const struct dns_value_name dns_rcodes[] = {
    {DNS_RCODE_NOERROR, "NOERROR"},   {DNS_RCODE_FORMERR, "FORMERR"},
    {DNS_RCODE_SERVFAIL, "SERVFAIL"}, {DNS_RCODE_NXDOMAIN, "NXDOMAIN"},
    {DNS_RCODE_NOTIMP, "NOTIMP"},     {DNS_RCODE_REFUSED, "REFUSED"},
};

#define DNS_COUNT(table) (sizeof(table) / sizeof((table)[0]))

static const char *dns_lookup(const struct dns_value_name *table, size_t n, unsigned value)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].value == value)
            return table[i].name;
    return NULL;
}

/* Finds `text` among the names (ignoring case), or as PREFIX followed by a
 * decimal number below 65536 (RFC 3597's generic "TYPE65" / "CLASS1"). */
static int dns_parse(const struct dns_value_name *table, size_t n, const char *prefix,
                     const char *text, uint16_t *out)
{
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(table[i].name, text) == 0) {
            *out = (uint16_t)table[i].value;
            return 0;
        }
    }
    size_t plen = strlen(prefix);
    if (strncasecmp(text, prefix, plen) != 0)
        return -1;
    const char *digits = text + plen;
    /* At most 5 digits: anything longer is above 65535 anyway, and the bound
     * keeps strtoul far from overflow. */
    size_t ndigits = strspn(digits, "0123456789");
    if (ndigits == 0 || ndigits > 5 || digits[ndigits] != '\0')
        return -1;
    unsigned long v = strtoul(digits, NULL, 10);
    if (v > 0xFFFF)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

const char *dns_type_name(uint16_t type)
{
    return dns_lookup(dns_types, DNS_COUNT(dns_types), type);
}

const char *dns_class_name(uint16_t class_)
{
    return dns_lookup(dns_classes, DNS_COUNT(dns_classes), class_);
}

const char *dns_opcode_name(unsigned opcode)
{
    return dns_lookup(dns_opcodes, DNS_COUNT(dns_opcodes), opcode);
}

const char *dns_rcode_name(unsigned rcode)
{
    return dns_lookup(dns_rcodes, DNS_COUNT(dns_rcodes), rcode);
}

const char *dns_type_text(uint16_t type, char *out, size_t cap)
{
    const char *name = dns_type_name(type);
    if (name)
        snprintf(out, cap, "%s", name);
    else
        snprintf(out, cap, "TYPE%u", (unsigned)type);
    return out;
}

const char *dns_class_text(uint16_t class_, char *out, size_t cap)
{
    const char *name = dns_class_name(class_);
    if (name)
        snprintf(out, cap, "%s", name);
    else
        snprintf(out, cap, "CLASS%u", (unsigned)class_);
    return out;
}

int dns_type_from_text(const char *text, uint16_t *type)
{
    return dns_parse(dns_types, DNS_COUNT(dns_types), "TYPE", text, type);
}

int dns_class_from_text(const char *text, uint16_t *class_)
{
    return dns_parse(dns_classes, DNS_COUNT(dns_classes), "CLASS", text, class_);
}
