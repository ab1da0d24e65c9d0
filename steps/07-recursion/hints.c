/* hints: the root hints file — where an iterative resolver sends its first question. */
#include "hints.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns.h"

enum {
    /* The largest hints file read. named.root is 3.3 KiB; a megabyte is
     * already a mistake (a zone file, a log) that gets a message rather
     * than a read of whatever it is. */
    HINTS_FILE_MAX = 1024 * 1024,
    /* Characters on one line, its newline not counted. named.root's longest
     * is 80; a name written entirely in \DDD escapes would take 1,020. */
    HINTS_LINE_MAX = 1024,
    /* Fields of a line kept: OWNER TTL CLASS TYPE DATA is five, and the
     * type is at most the fourth. Fields past these are counted, not kept,
     * so that the message about them can say how many there are. */
    HINTS_FIELDS_MAX = 8,
};

/* A name the file mentions: a server an NS record names, or the owner of
 * an address that no NS record has named (yet). */
struct hints_entry {
    struct hints_server s;
    bool named;         /* an NS record of "." names it */
    unsigned addr_line; /* the line of its first address (0: none), for messages */
};

struct hints_reader {
    const char *source; /* names the text in messages */
    unsigned line;      /* the line being read */
    char *err;
    size_t errcap;
    /* Entries in the order the file mentions them. Every entry is a root
     * server, or an address no NS names, which is an error at the end, so
     * HINTS_SERVERS_MAX bounds them too. */
    struct hints_entry entry[HINTS_SERVERS_MAX];
    size_t nentry;
    /* Entries named by NS records, in the order of those records: the
     * order the servers are kept in. */
    size_t order[HINTS_SERVERS_MAX];
    size_t nnamed;
    struct name last_owner; /* for a line that begins with a blank */
    bool have_last_owner;
};

/* Writes "source:line: what is wrong" into rd->err and returns -1. */
static int hints_fail_at(struct hints_reader *rd, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int hints_fail_at(struct hints_reader *rd, unsigned line, const char *fmt, ...)
{
    char what[HINTS_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(rd->err, rd->errcap, "%s:%u: %s", rd->source, line, what);
    return -1;
}

/* Text form of a name, for messages. */
static const char *hints_name_text(const struct name *n, char out[NAME_TEXT_MAX])
{
    if (name_to_text(n, out, NAME_TEXT_MAX) < 0)
        snprintf(out, NAME_TEXT_MAX, "?");
    return out;
}

/*
 * Splits `line` (NUL-terminated, changed in place) into fields separated by
 * spaces and tabs ('\r' too, for a file with CRLF line ends), up to a ';'
 * that starts a comment. A backslash keeps the next character in its field,
 * so "\;" and "\ " belong to a name; name_from_text() decodes the escapes.
 * Returns 0 with *count fields, of which the first HINTS_FIELDS_MAX are in
 * `field`, or -1.
 */
static int hints_split(struct hints_reader *rd, char *line, char *field[HINTS_FIELDS_MAX],
                       size_t *count)
{
    size_t n = 0;
    char *p = line;
    /* One field or one separator per pass; bounded by the line's length,
     * as every pass consumes at least one character. */
    while (*p != '\0' && *p != ';') {
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            *p++ = '\0';
            continue;
        }
        if (*p == '(' || *p == ')')
            return hints_fail_at(rd, rd->line,
                                 "'%c': parentheses are not supported (one record per line)", *p);
        if (n < HINTS_FIELDS_MAX)
            field[n] = p;
        n++;
        /* The field: up to a separator, a comment or a parenthesis. A
         * backslash takes the next character with it (not the NUL). */
        while (*p != '\0' && strchr(" \t\r;()", *p) == NULL)
            p += (p[0] == '\\' && p[1] != '\0') ? 2 : 1;
    }
    *p = '\0'; /* the comment, if any, is not part of the last field */
    *count = n;
    return 0;
}

/* A name in text form, which must be absolute: a hints file has no $ORIGIN. */
static int hints_parse_name(struct hints_reader *rd, const char *text, struct name *out,
                            const char *what)
{
    enum name_status st = name_from_text(text, NULL, out);
    if (st == NAME_OK)
        return 0;
    if (st == NAME_ERR_TOO_LONG)
        return hints_fail_at(rd, rd->line,
                             "%s '%s' is too long (labels <= 63, names <= 255 octets)", what, text);
    /* Without an origin a relative name fails; with the root as its origin
     * it is read. That tells "relative" from "malformed". */
    struct name root, ignored;
    name_root(&root);
    if (name_from_text(text, &root, &ignored) == NAME_OK)
        return hints_fail_at(rd, rd->line, "relative %s '%s': names in a hints file end with a '.'",
                             what, text);
    return hints_fail_at(rd, rd->line, "bad %s '%s'", what, text);
}

/* A TTL: decimal seconds, 0 to 2147483647 (RFC 2181 8). It is checked
 * only: hints say where to start, they are not answers to cache. */
static int hints_check_ttl(struct hints_reader *rd, const char *text)
{
    uint64_t v = 0;
    const char *p = text;
    /* Bounded by the text, and by DNS_TTL_MAX long before v overflows. */
    for (; *p >= '0' && *p <= '9' && v <= DNS_TTL_MAX; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    if (p == text || *p != '\0' || v > DNS_TTL_MAX)
        return hints_fail_at(rd, rd->line, "bad TTL '%s' (seconds, 0 to 2147483647)", text);
    return 0;
}

/* The entry of `n`, added if the file has not mentioned it before; NULL
 * (with the error written) when that would be one server too many. */
static struct hints_entry *hints_entry(struct hints_reader *rd, const struct name *n)
{
    for (size_t i = 0; i < rd->nentry; i++) {
        if (name_equal(&rd->entry[i].s.name, n))
            return &rd->entry[i];
    }
    if (rd->nentry >= HINTS_SERVERS_MAX) {
        char text[NAME_TEXT_MAX];
        hints_fail_at(rd, rd->line,
                      "more than %d root servers (HINTS_SERVERS_MAX): '%s' is one too many",
                      HINTS_SERVERS_MAX, hints_name_text(n, text));
        return NULL;
    }
    struct hints_entry *e = &rd->entry[rd->nentry++];
    memset(e, 0, sizeof *e);
    e->s.name = *n;
    name_lower(&e->s.name); /* names compare without case; kept in one */
    return e;
}

/* NS: the owner is the root, the data a root server's name. */
static int hints_ns(struct hints_reader *rd, const struct name *owner, const char *data)
{
    char text[NAME_TEXT_MAX];
    if (owner->len != 1)
        return hints_fail_at(
            rd, rd->line, "NS record for '%s': only the root's (owner '.') belong in a hints file",
            hints_name_text(owner, text));
    struct name target;
    if (hints_parse_name(rd, data, &target, "name server") != 0)
        return -1;
    struct hints_entry *e = hints_entry(rd, &target);
    if (e == NULL)
        return -1;
    /* The same NS record twice is one record (RFC 2181 5). */
    if (!e->named) {
        e->named = true;
        rd->order[rd->nnamed++] = (size_t)(e - rd->entry);
    }
    return 0;
}

/* A or AAAA: an address of the server `owner`, with port 0 (the resolver
 * knows which port name servers listen on). */
static int hints_address(struct hints_reader *rd, const struct name *owner, uint16_t type,
                         const char *data)
{
    int family = type == DNS_TYPE_A ? AF_INET : AF_INET6;
    struct net_addr a;
    /* net_addr_parse() takes either family: an IPv6 address in an A record
     * is as wrong as a malformed one. */
    if (net_addr_parse(data, 0, &a) != 0 || a.ss.ss_family != family)
        return hints_fail_at(rd, rd->line, "bad %s address '%s'",
                             type == DNS_TYPE_A ? "IPv4" : "IPv6", data);
    struct hints_entry *e = hints_entry(rd, owner);
    if (e == NULL)
        return -1;
    if (e->addr_line == 0)
        e->addr_line = rd->line;
    /* The same address twice is one record (RFC 2181 5). */
    for (size_t i = 0; i < e->s.naddr; i++) {
        if (e->s.addr[i].len == a.len && memcmp(&e->s.addr[i].ss, &a.ss, a.len) == 0)
            return 0;
    }
    if (e->s.naddr >= HINTS_ADDRS_MAX) {
        char text[NAME_TEXT_MAX];
        return hints_fail_at(rd, rd->line, "more than %d addresses for '%s' (HINTS_ADDRS_MAX)",
                             HINTS_ADDRS_MAX, hints_name_text(&e->s.name, text));
    }
    e->s.addr[e->s.naddr++] = a;
    return 0;
}

/* One line: nothing (blank or a comment), or a record. */
static int hints_line(struct hints_reader *rd, char *line)
{
    char *field[HINTS_FIELDS_MAX];
    size_t n = 0, i = 0; /* fields on the line, and the next one to read */
    /* A line that begins with a blank continues the previous owner. */
    bool blank_owner = line[0] == ' ' || line[0] == '\t';
    if (hints_split(rd, line, field, &n) != 0)
        return -1;
    if (n == 0)
        return 0;
    size_t kept = n < HINTS_FIELDS_MAX ? n : HINTS_FIELDS_MAX;

    if (!blank_owner && field[0][0] == '$')
        return hints_fail_at(rd, rd->line, "directive '%s' is not supported in a hints file",
                             field[0]);
    struct name owner;
    if (blank_owner) {
        if (!rd->have_last_owner)
            return hints_fail_at(rd, rd->line, "record with a blank owner but no record before it");
        owner = rd->last_owner;
    } else {
        if (hints_parse_name(rd, field[0], &owner, "owner name") != 0)
            return -1;
        i++;
    }

    /* [TTL] [class] in either order: a TTL starts with a digit, a type
     * or a class never does. Bounded by the fields kept (a second TTL or
     * class is an error, so it stops after two anyway). */
    bool have_ttl = false, have_class = false;
    for (; i < kept; i++) {
        uint16_t class_;
        if (field[i][0] >= '0' && field[i][0] <= '9') {
            if (have_ttl)
                return hints_fail_at(rd, rd->line, "a second TTL '%s'", field[i]);
            if (hints_check_ttl(rd, field[i]) != 0)
                return -1;
            have_ttl = true;
        } else if (dns_class_from_text(field[i], &class_) == 0) {
            if (have_class)
                return hints_fail_at(rd, rd->line, "a second class '%s'", field[i]);
            if (class_ != DNS_CLASS_IN)
                return hints_fail_at(rd, rd->line, "class '%s' is not supported: only IN",
                                     field[i]);
            have_class = true;
        } else {
            break;
        }
    }
    if (i >= kept)
        return hints_fail_at(rd, rd->line, "record without a type");
    uint16_t type;
    if (dns_type_from_text(field[i], &type) != 0)
        return hints_fail_at(rd, rd->line, "unknown type '%s'", field[i]);
    char type_text[16];
    dns_type_text(type, type_text, sizeof type_text);
    if (type != DNS_TYPE_NS && type != DNS_TYPE_A && type != DNS_TYPE_AAAA)
        return hints_fail_at(
            rd, rd->line, "%s record in a hints file: only NS, A and AAAA belong there", type_text);
    i++;
    if (n - i != 1 || i >= kept)
        return hints_fail_at(rd, rd->line, "%s takes one field after the type, found %zu",
                             type_text, n - i);

    int status = type == DNS_TYPE_NS ? hints_ns(rd, &owner, field[i])
                                     : hints_address(rd, &owner, type, field[i]);
    if (status != 0)
        return -1;
    rd->last_owner = owner;
    rd->have_last_owner = true;
    return 0;
}

/* What holds for the file as a whole, once every line is read. `last` is
 * the file's last line, blamed for what is missing. */
static int hints_finish(struct hints_reader *rd, unsigned last)
{
    char text[NAME_TEXT_MAX];
    if (rd->nnamed == 0)
        return hints_fail_at(rd, last, "no NS record: a hints file names the root's servers");
    /* Entries are in the order of their first mention, so the first one
     * unnamed is the earliest line at fault. A typo in an owner would
     * otherwise lose the server's address without a word. */
    for (size_t i = 0; i < rd->nentry; i++) {
        const struct hints_entry *e = &rd->entry[i];
        if (!e->named)
            return hints_fail_at(rd, e->addr_line, "address for '%s', a name no NS record names",
                                 hints_name_text(&e->s.name, text));
    }
    /* A server without an address could be resolved later, from the
     * others; with no address at all there is nowhere to start. */
    bool any = false;
    for (size_t i = 0; i < rd->nentry && !any; i++)
        any = rd->entry[i].s.naddr > 0;
    if (!any)
        return hints_fail_at(rd, last, "no root server has an address");
    return 0;
}

int hints_load_text(const char *text, const char *source, struct hints *out, char *err,
                    size_t errcap)
{
    /* Its entries take some 13 KiB: on the heap, not the caller's stack. */
    struct hints_reader *rd = calloc(1, sizeof *rd);
    if (rd == NULL) {
        snprintf(err, errcap, "%s: out of memory", source);
        return -1;
    }
    rd->source = source;
    rd->err = err;
    rd->errcap = errcap;

    int status = 0;
    unsigned last = 1; /* the last line that has text */
    const char *p = text;
    /* One line per pass; bounded by the text, as each pass consumes a
     * line and its newline. */
    for (unsigned line = 1; *p != '\0' && status == 0; line++) {
        rd->line = last = line;
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (len > HINTS_LINE_MAX) {
            status = hints_fail_at(rd, line, "line longer than %d characters", HINTS_LINE_MAX);
            break;
        }
        char copy[HINTS_LINE_MAX + 1];
        memcpy(copy, p, len);
        copy[len] = '\0';
        status = hints_line(rd, copy);
        p += len + (end != NULL ? 1 : 0);
    }
    if (status == 0)
        status = hints_finish(rd, last);
    if (status == 0) {
        out->count = rd->nnamed;
        for (size_t i = 0; i < rd->nnamed; i++)
            out->server[i] = rd->entry[rd->order[i]].s;
    }
    free(rd);
    return status;
}

int hints_load(const char *path, struct hints *out, char *err, size_t errcap)
{
    /* O_NONBLOCK: opening a FIFO waits for a writer, maybe forever; with
     * it, open() returns and the FIFO is refused below as not a regular
     * file. O_NOCTTY: a terminal must not become ours. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    char *text = NULL;
    size_t used = 0;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        /* Only a regular file has an end: /dev/zero would be read forever. */
        snprintf(err, errcap, "%s: not a regular file", path);
    } else if (st.st_size > HINTS_FILE_MAX) {
        snprintf(err, errcap, "%s: too large for a hints file (more than %d MiB)", path,
                 HINTS_FILE_MAX >> 20);
    } else {
        /* Room for one byte more than the size, so that a file that grew
         * since fstat() fills it and is seen; and for the NUL. */
        size_t cap = (size_t)st.st_size + 1;
        text = malloc(cap + 1);
        if (text == NULL)
            snprintf(err, errcap, "%s: out of memory", path);
        /* Bounded: every pass reads at least one byte into the `cap`
         * there are, or ends. */
        while (text != NULL && used < cap) {
            ssize_t got = read(fd, text + used, cap - used);
            if (got < 0 && errno == EINTR)
                continue;
            if (got == 0)
                break;
            if (got < 0 || used + (size_t)got == cap) {
                if (got < 0)
                    snprintf(err, errcap, "%s: %s", path, strerror(errno));
                else
                    snprintf(err, errcap, "%s: changed while it was read", path);
                free(text);
                text = NULL;
                break;
            }
            used += (size_t)got;
        }
    }
    close(fd);
    if (text == NULL)
        return -1;
    text[used] = '\0';
    /* A NUL would end the text early, and silently. */
    if (memchr(text, '\0', used) != NULL) {
        snprintf(err, errcap, "%s: contains a NUL byte: not a hints file", path);
        free(text);
        return -1;
    }
    int status = hints_load_text(text, path, out, err, errcap);
    free(text);
    return status;
}
