/* test_hints.c: unit tests of steps/07-recursion/hints.c — the root hints file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "hints.h"
#include "name.h"
#include "net.h"
#include "tests.h"

/* The source name every hints_load_text() call gives: errors read "test.hints:LINE: ...". */
#define SRC "test.hints"

/* The real files, as `make unit` finds them from the top of the repository. */
#define NAMED_ROOT    "zones/named.root"
#define SANDBOX_HINTS "zones/sandbox/root.hints"

static char err[HINTS_ERROR_MAX + 64];
static struct hints hints;

/* Helpers ---------------------------------------------------------------------- */

/* Loads `text` into `hints`, which must succeed. Returns the server count (0 on failure). */
static size_t load_ok_at(const char *text, const char *file, unsigned line)
{
    memset(&hints, 0, sizeof hints);
    err[0] = '\0';
    int rc = hints_load_text(text, SRC, &hints, err, sizeof err);
    test_expect_str(err, "", "hints_load_text error", file, line);
    test_expect_int(rc, 0, "hints_load_text", file, line);
    return rc == 0 ? hints.count : 0;
}
#define LOAD_OK(text) load_ok_at((text), __FILE__, __LINE__)

/* Loads `text`, which must fail with exactly `want` ("test.hints:LINE: ...") and leave the
 * hints it was given as they were. */
static void expect_error_at(const char *text, const char *want, const char *file, unsigned line)
{
    memset(&hints, 0, sizeof hints);
    hints.count = 99; /* a mark: a failed load must not touch it */
    err[0] = '\0';
    int rc = hints_load_text(text, SRC, &hints, err, sizeof err);
    test_expect_int(rc, -1, "hints_load_text on bad hints", file, line);
    test_expect_str(err, want, "hints_load_text error", file, line);
    test_expect_uint(hints.count, 99, "hints.count after a failed load", file, line);
}
#define EXPECT_ERROR(text, want) expect_error_at((text), (want), __FILE__, __LINE__)

/* The text form of server `i` of `hints`, or "" if there is none. */
static const char *server_name(size_t i)
{
    static char text[NAME_TEXT_MAX];
    text[0] = '\0';
    if (i < hints.count)
        name_to_text(&hints.server[i].name, text, sizeof text);
    return text;
}

/* Address `k` of server `i`, as net_addr_text() writes it ("198.41.0.4:0"), or "". */
static const char *server_addr(size_t i, size_t k)
{
    static char text[NET_ADDR_TEXT_MAX];
    text[0] = '\0';
    if (i < hints.count && k < hints.server[i].naddr)
        net_addr_text(&hints.server[i].addr[k], text, sizeof text);
    return text;
}

/* Writes `len` bytes of `text` to a new file under /tmp; `path` gets its name. */
static void write_temp(char *path, const char *text, size_t len)
{
    int fd = mkstemp(path);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    CU_ASSERT_TRUE(write(fd, text, len) == (ssize_t)len);
    close(fd);
}

/* The real files --------------------------------------------------------------------- */

static void test_named_root(void)
{
    /* IANA's file: 13 servers a..m.root-servers.net., in order, each with one IPv4 address
     * then one IPv6 address (the order of the file), every port 0. */
    memset(&hints, 0, sizeof hints);
    err[0] = '\0';
    EXPECT_INT(hints_load(NAMED_ROOT, &hints, err, sizeof err), 0);
    EXPECT_STR(err, "");
    EXPECT_UINT(hints.count, 13);
    for (size_t i = 0; i < hints.count && i < 13; i++) {
        char want[64];
        snprintf(want, sizeof want, "%c.root-servers.net.", (char)('a' + i));
        EXPECT_STR(server_name(i), want); /* written in capitals, kept lower-cased */
        EXPECT_UINT(hints.server[i].naddr, 2);
        EXPECT_UINT(hints.server[i].addr[0].ss.ss_family, AF_INET);
        EXPECT_UINT(hints.server[i].addr[1].ss.ss_family, AF_INET6);
    }
    EXPECT_STR(server_addr(0, 0), "198.41.0.4:0");
    EXPECT_STR(server_addr(0, 1), "[2001:503:ba3e::2:30]:0");
    EXPECT_STR(server_addr(1, 0), "170.247.170.2:0"); /* b's address since November 2023 */
    EXPECT_STR(server_addr(12, 0), "202.12.27.33:0");
    EXPECT_STR(server_addr(12, 1), "[2001:dc3::35]:0");
}

static void test_sandbox_hints(void)
{
    /* The sandbox internet's: two servers on 127.0.0.x, IPv4 only, their NS records
     * interleaved with their addresses. */
    memset(&hints, 0, sizeof hints);
    err[0] = '\0';
    EXPECT_INT(hints_load(SANDBOX_HINTS, &hints, err, sizeof err), 0);
    EXPECT_STR(err, "");
    EXPECT_UINT(hints.count, 2);
    EXPECT_STR(server_name(0), "a.root-servers.test.");
    EXPECT_UINT(hints.server[0].naddr, 1);
    EXPECT_STR(server_addr(0, 0), "127.0.0.2:0");
    EXPECT_STR(server_name(1), "b.root-servers.test.");
    EXPECT_UINT(hints.server[1].naddr, 1);
    EXPECT_STR(server_addr(1, 0), "127.0.0.3:0");
}

/* The format -------------------------------------------------------------------------- */

static void test_comments_and_blank_lines(void)
{
    static const char text[] = "; a comment line\n"
                               "\n"
                               "   \t  \n"
                               "   ; an indented comment\n"
                               ".  3600000  NS  A.EXAMPLE.   ; a trailing comment\n"
                               "A.EXAMPLE.  3600000  A  192.0.2.1;no space before it\n"
                               "; no newline at the end";
    EXPECT_UINT(LOAD_OK(text), 1);
    EXPECT_STR(server_name(0), "a.example.");
    EXPECT_STR(server_addr(0, 0), "192.0.2.1:0");
}

static void test_ttl_and_class(void)
{
    /* TTL and class are both optional, in either order; the class in any case. */
    static const char text[] = ". NS a.example.\n"
                               ". IN NS b.example.\n"
                               ". 0 in NS c.example.\n"
                               ". In 2147483647 NS d.example.\n"
                               "a.example. A 192.0.2.1\n"
                               "b.example. 60 IN A 192.0.2.2\n"
                               "c.example. IN 60 AAAA 2001:db8::3\n"
                               "d.example. 60 aaaa 2001:db8::4\n";
    EXPECT_UINT(LOAD_OK(text), 4);
    EXPECT_STR(server_addr(0, 0), "192.0.2.1:0");
    EXPECT_STR(server_addr(1, 0), "192.0.2.2:0");
    EXPECT_STR(server_addr(2, 0), "[2001:db8::3]:0");
    EXPECT_STR(server_addr(3, 0), "[2001:db8::4]:0");
}

static void test_case_insensitive(void)
{
    /* One server however its name is written, kept lower-cased (the wire bytes). */
    static const char text[] = ".  ns  A.Root-Servers.NET.\n"
                               "a.ROOT-servers.net.  a     198.41.0.4\n"
                               "A.ROOT-SERVERS.NET.  AaAa  2001:503:ba3e::2:30\n";
    EXPECT_UINT(LOAD_OK(text), 1);
    static const uint8_t want[] = {1,   'a', 12,  'r', 'o', 'o', 't', '-', 's', 'e',
                                   'r', 'v', 'e', 'r', 's', 3,   'n', 'e', 't', 0};
    EXPECT_BYTES(hints.server[0].name.wire, hints.server[0].name.len, want, sizeof want);
    EXPECT_UINT(hints.server[0].naddr, 2);
}

static void test_order_and_duplicates(void)
{
    /* Addresses may come before the NS record that names their server; servers are kept in
     * the order of the NS records. A record written twice is one record (RFC 2181 5). */
    static const char text[] = "b.example. A 192.0.2.2\n"
                               "a.example. A 192.0.2.1\n"
                               ". NS a.example.\n"
                               ". NS A.EXAMPLE.\n"
                               "a.example. A 192.0.2.1\n"
                               ". NS b.example.\n"
                               "b.example. AAAA 2001:db8::2\n"
                               "b.example. AAAA 2001:DB8:0::2\n";
    EXPECT_UINT(LOAD_OK(text), 2);
    EXPECT_STR(server_name(0), "a.example.");
    EXPECT_UINT(hints.server[0].naddr, 1);
    EXPECT_STR(server_name(1), "b.example.");
    EXPECT_UINT(hints.server[1].naddr, 2);
    EXPECT_STR(server_addr(1, 0), "192.0.2.2:0");
    EXPECT_STR(server_addr(1, 1), "[2001:db8::2]:0");
}

static void test_blank_owner_and_crlf(void)
{
    /* A line that begins with a blank has the previous owner (RFC 1035 5.1); CRLF line ends
     * are read as LF. */
    static const char text[] = ".\t3600000\tNS\ta.example.\r\n"
                               "\t\t3600000\tNS\tb.example.\r\n"
                               "a.example.\tA\t192.0.2.1\r\n"
                               "          AAAA\t2001:db8::1\r\n";
    EXPECT_UINT(LOAD_OK(text), 2);
    EXPECT_STR(server_name(1), "b.example.");
    EXPECT_UINT(hints.server[0].naddr, 2);
    EXPECT_STR(server_addr(0, 1), "[2001:db8::1]:0");
}

static void test_server_without_address(void)
{
    /* Allowed, as long as one server has an address: the resolver can look the others up. */
    static const char text[] = ". NS a.example.\n"
                               ". NS b.example.\n"
                               "b.example. A 192.0.2.2\n";
    EXPECT_UINT(LOAD_OK(text), 2);
    EXPECT_UINT(hints.server[0].naddr, 0);
    EXPECT_UINT(hints.server[1].naddr, 1);
}

static void test_escapes(void)
{
    /* Escapes are a name's business: "\;" is not a comment, "\." not a separator, and
     * "\032" a space. */
    static const char text[] = ". NS a\\;b.example.\n"
                               ". NS a\\.b.example.\n"
                               ". NS a\\032b.example.\n"
                               "a\\;b.example. A 192.0.2.1\n";
    EXPECT_UINT(LOAD_OK(text), 3);
    EXPECT_STR(server_name(0), "a\\;b.example.");
    EXPECT_STR(server_name(1), "a\\.b.example.");
    EXPECT_STR(server_name(2), "a\\032b.example.");
}

static void test_limits_fit(void)
{
    /* HINTS_SERVERS_MAX servers and HINTS_ADDRS_MAX addresses each fit. */
    static char text[4096];
    size_t len = 0;
    for (int i = 0; i < HINTS_SERVERS_MAX; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, ". NS s%d.example.\n", i);
    for (int k = 0; k < HINTS_ADDRS_MAX; k++)
        len += (size_t)snprintf(text + len, sizeof text - len, "s0.example. A 192.0.2.%d\n", k);
    CU_ASSERT_TRUE_FATAL(len < sizeof text);
    EXPECT_UINT(LOAD_OK(text), HINTS_SERVERS_MAX);
    EXPECT_UINT(hints.server[0].naddr, HINTS_ADDRS_MAX);
    EXPECT_STR(server_name(HINTS_SERVERS_MAX - 1), "s15.example.");
}

/* Errors ---------------------------------------------------------------------------- */

/* Every error below is at line 2 or later, after this first line. */
#define NS_A ". NS a.example.\n"

static void test_error_names(void)
{
    EXPECT_ERROR(NS_A "a.example A 192.0.2.1\n",
                 SRC ":2: relative owner name 'a.example': names in a hints file end with a '.'");
    EXPECT_ERROR(NS_A ". NS b.example\n",
                 SRC ":2: relative name server 'b.example': names in a hints file end with a '.'");
    EXPECT_ERROR(NS_A "@ NS b.example.\n",
                 SRC ":2: relative owner name '@': names in a hints file end with a '.'");
    EXPECT_ERROR(NS_A "a..example. A 192.0.2.1\n", SRC ":2: bad owner name 'a..example.'");
    EXPECT_ERROR(NS_A ". NS a\\256.example.\n", SRC ":2: bad name server 'a\\256.example.'");
    EXPECT_ERROR(NS_A ". NS "
                      "a234567890123456789012345678901234567890123456789012345678901234.\n",
                 SRC ":2: name server "
                     "'a234567890123456789012345678901234567890123456789012345678901234.'"
                     " is too long (labels <= 63, names <= 255 octets)");
}

static void test_error_ttl_class_type(void)
{
    EXPECT_ERROR(NS_A ". 2147483648 NS b.example.\n",
                 SRC ":2: bad TTL '2147483648' (seconds, 0 to 2147483647)");
    EXPECT_ERROR(NS_A ". 99999999999999999999999 NS b.example.\n",
                 SRC ":2: bad TTL '99999999999999999999999' (seconds, 0 to 2147483647)");
    EXPECT_ERROR(NS_A ". 1h NS b.example.\n", SRC ":2: bad TTL '1h' (seconds, 0 to 2147483647)");
    EXPECT_ERROR(NS_A ". 3600 3600 NS b.example.\n", SRC ":2: a second TTL '3600'");
    EXPECT_ERROR(NS_A ". IN IN NS b.example.\n", SRC ":2: a second class 'IN'");
    EXPECT_ERROR(NS_A ". CH NS b.example.\n", SRC ":2: class 'CH' is not supported: only IN");
    EXPECT_ERROR(NS_A ". 3600 IN\n", SRC ":2: record without a type");
    EXPECT_ERROR(NS_A "a.example. AAA 2001:db8::1\n", SRC ":2: unknown type 'AAA'");
    EXPECT_ERROR(NS_A ". SOA a.example. b.example. 1 2 3 4 5\n",
                 SRC ":2: SOA record in a hints file: only NS, A and AAAA belong there");
    EXPECT_ERROR(NS_A "a.example. TXT hello\n",
                 SRC ":2: TXT record in a hints file: only NS, A and AAAA belong there");
    EXPECT_ERROR(NS_A "a.example. TYPE65 \\# 0\n",
                 SRC ":2: HTTPS record in a hints file: only NS, A and AAAA belong there");
    EXPECT_ERROR(NS_A ". NS\n", SRC ":2: NS takes one field after the type, found 0");
    EXPECT_ERROR(NS_A "a.example. A 192.0.2.1 192.0.2.2\n",
                 SRC ":2: A takes one field after the type, found 2");
}

static void test_error_records(void)
{
    EXPECT_ERROR(
        NS_A "example. NS b.example.\n",
        SRC ":2: NS record for 'example.': only the root's (owner '.') belong in a hints file");
    EXPECT_ERROR(NS_A "a.example. A 192.0.2.300\n", SRC ":2: bad IPv4 address '192.0.2.300'");
    EXPECT_ERROR(NS_A "a.example. A 2001:db8::1\n", SRC ":2: bad IPv4 address '2001:db8::1'");
    EXPECT_ERROR(NS_A "a.example. AAAA 192.0.2.1\n", SRC ":2: bad IPv6 address '192.0.2.1'");
    EXPECT_ERROR(NS_A "a.example. AAAA 2001:db8:::1\n", SRC ":2: bad IPv6 address '2001:db8:::1'");
    EXPECT_ERROR(NS_A "a.example. A a.example.\n", SRC ":2: bad IPv4 address 'a.example.'");
    EXPECT_ERROR("\tNS a.example.\n", SRC ":1: record with a blank owner but no record before it");
    EXPECT_ERROR(NS_A "$ORIGIN example.\n",
                 SRC ":2: directive '$ORIGIN' is not supported in a hints file");
    EXPECT_ERROR(NS_A ". NS ( b.example. )\n",
                 SRC ":2: '(': parentheses are not supported (one record per line)");
    EXPECT_ERROR(NS_A "a.example. 1 IN A 192.0.2.1 2 3 4 5 6 7 8 9\n",
                 SRC ":2: A takes one field after the type, found 9");
}

static void test_error_limits(void)
{
    /* One server more than HINTS_SERVERS_MAX, named by an NS record or by an address. */
    static char text[4096];
    size_t len = 0;
    for (int i = 0; i <= HINTS_SERVERS_MAX; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, ". NS s%d.example.\n", i);
    CU_ASSERT_TRUE_FATAL(len < sizeof text);
    EXPECT_ERROR(text, SRC ":17: more than 16 root servers (HINTS_SERVERS_MAX): "
                           "'s16.example.' is one too many");

    /* One address more than HINTS_ADDRS_MAX (a duplicate does not count). */
    EXPECT_ERROR(NS_A "a.example. A 192.0.2.1\n"
                      "a.example. A 192.0.2.2\n"
                      "a.example. A 192.0.2.1\n"
                      "a.example. AAAA 2001:db8::1\n"
                      "a.example. AAAA 2001:db8::2\n"
                      "A.EXAMPLE. AAAA 2001:db8::3\n",
                 SRC ":7: more than 4 addresses for 'a.example.' (HINTS_ADDRS_MAX)");

    /* A line of HINTS_LINE_MAX (1024) characters is read; one more is not. */
    static char line[1100];
    memset(line, ' ', sizeof line);
    memcpy(line, NS_A "a.example. A 192.0.2.1", strlen(NS_A "a.example. A 192.0.2.1"));
    line[strlen(NS_A) + 1024] = '\0';
    EXPECT_UINT(LOAD_OK(line), 1);
    line[strlen(NS_A) + 1024] = ' ';
    line[strlen(NS_A) + 1025] = '\0';
    EXPECT_ERROR(line, SRC ":2: line longer than 1024 characters");
}

static void test_error_whole_file(void)
{
    /* What is missing is blamed on the last line. */
    EXPECT_ERROR("", SRC ":1: no NS record: a hints file names the root's servers");
    EXPECT_ERROR("; only a comment\n\n; and another\n",
                 SRC ":3: no NS record: a hints file names the root's servers");
    EXPECT_ERROR("a.example. A 192.0.2.1\n",
                 SRC ":1: no NS record: a hints file names the root's servers");
    EXPECT_ERROR(NS_A ". NS b.example.\n; the end\n", SRC ":3: no root server has an address");
    /* An address no NS names: at the line of its first address, wherever the NS records are
     * (a typo there would lose the server's address without a word). */
    EXPECT_ERROR(NS_A "a.example. A 192.0.2.1\n"
                      "a.exmaple. A 192.0.2.2\n"
                      "a.exmaple. A 192.0.2.3\n"
                      ". NS b.example.\n"
                      "b.example. A 192.0.2.4\n",
                 SRC ":3: address for 'a.exmaple.', a name no NS record names");
    EXPECT_ERROR(NS_A "a.example. A 192.0.2.1\n"
                      ". A 192.0.2.2\n",
                 SRC ":3: address for '.', a name no NS record names");
}

/* Files ---------------------------------------------------------------------------- */

static void test_load_file(void)
{
    /* A file's errors name the file. */
    char path[] = "/tmp/test_hints_XXXXXX", want[256];
    static const char bad[] = NS_A "a.example. A 192.0.2.300\n";
    write_temp(path, bad, sizeof bad - 1);
    hints.count = 99;
    EXPECT_INT(hints_load(path, &hints, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:2: bad IPv4 address '192.0.2.300'", path);
    EXPECT_STR(err, want);
    EXPECT_UINT(hints.count, 99);
    unlink(path);

    /* A NUL byte would end the text early. */
    char nul_path[] = "/tmp/test_hints_XXXXXX";
    static const char nul[] = NS_A "a.example. A 192.0.2.1\n\0. NS b.example.\n";
    write_temp(nul_path, nul, sizeof nul - 1);
    EXPECT_INT(hints_load(nul_path, &hints, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s: contains a NUL byte: not a hints file", nul_path);
    EXPECT_STR(err, want);
    unlink(nul_path);

    /* What cannot be read: the system's reason, no line. */
    EXPECT_INT(hints_load("/nonexistent/dir/named.root", &hints, err, sizeof err), -1);
    EXPECT_STR(err, "/nonexistent/dir/named.root: No such file or directory");
    EXPECT_INT(hints_load("/tmp", &hints, err, sizeof err), -1);
    EXPECT_STR(err, "/tmp: not a regular file");
    EXPECT_INT(hints_load("/dev/null", &hints, err, sizeof err), -1);
    EXPECT_STR(err, "/dev/null: not a regular file");
    EXPECT_UINT(hints.count, 99);
}

static void test_load_file_size_limit(void)
{
    /* A file over 1 MiB is refused from its size, before a byte is read: a sparse file
     * (ftruncate) of one byte more tests that in no time and no disk space. */
    char path[] = "/tmp/test_hints_XXXXXX", want[256];
    write_temp(path, "", 0);
    int fd = open(path, O_WRONLY);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    int sized = ftruncate(fd, (off_t)1024 * 1024 + 1);
    close(fd);
    CU_ASSERT_TRUE(sized == 0);
    if (sized == 0) {
        EXPECT_INT(hints_load(path, &hints, err, sizeof err), -1);
        snprintf(want, sizeof want, "%s: too large for a hints file (more than 1 MiB)", path);
        EXPECT_STR(err, want);
    }
    unlink(path);
}

void test_hints_register(void)
{
    CU_pSuite s = CU_add_suite("hints", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "zones/named.root: 13 servers, IPv4 and IPv6", test_named_root);
    CU_add_test(s, "zones/sandbox/root.hints: 2 servers", test_sandbox_hints);
    CU_add_test(s, "comments and blank lines", test_comments_and_blank_lines);
    CU_add_test(s, "TTL and class optional, either order", test_ttl_and_class);
    CU_add_test(s, "names without case, kept lower-cased", test_case_insensitive);
    CU_add_test(s, "NS order kept; duplicates are one record", test_order_and_duplicates);
    CU_add_test(s, "blank owner; CRLF line ends", test_blank_owner_and_crlf);
    CU_add_test(s, "a server without an address", test_server_without_address);
    CU_add_test(s, "escapes in names", test_escapes);
    CU_add_test(s, "HINTS_SERVERS_MAX and HINTS_ADDRS_MAX fit", test_limits_fit);
    CU_add_test(s, "errors: names", test_error_names);
    CU_add_test(s, "errors: TTL, class, type, fields", test_error_ttl_class_type);
    CU_add_test(s, "errors: records", test_error_records);
    CU_add_test(s, "errors: limits", test_error_limits);
    CU_add_test(s, "errors: the file as a whole", test_error_whole_file);
    CU_add_test(s, "hints_load: errors name the file", test_load_file);
    CU_add_test(s, "hints_load: 1 MiB at most", test_load_file_size_limit);
}
