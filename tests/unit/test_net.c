/* test_net.c: unit tests of common/net.c — parsing and printing addresses, binding UDP sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "net.h"
#include "tests.h"

/* Checks that `a` is IPv4 `ip` port `port`. */
static void expect_v4_at(const struct net_addr *a, const char *ip, uint16_t port, const char *file,
                         unsigned line)
{
    test_expect_int(a->ss.ss_family, AF_INET, "address family (AF_INET)", file, line);
    test_expect_uint(a->len, sizeof(struct sockaddr_in), "address length", file, line);
    if (a->ss.ss_family != AF_INET)
        return;
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
    struct in_addr want;
    inet_pton(AF_INET, ip, &want);
    test_expect_uint(ntohl(sin->sin_addr.s_addr), ntohl(want.s_addr), "IPv4 address", file, line);
    test_expect_uint(ntohs(sin->sin_port), port, "port", file, line);
}
#define EXPECT_V4(a, ip, port) expect_v4_at((a), (ip), (port), __FILE__, __LINE__)

static void expect_v6_at(const struct net_addr *a, const char *ip, uint16_t port, const char *file,
                         unsigned line)
{
    test_expect_int(a->ss.ss_family, AF_INET6, "address family (AF_INET6)", file, line);
    test_expect_uint(a->len, sizeof(struct sockaddr_in6), "address length", file, line);
    if (a->ss.ss_family != AF_INET6)
        return;
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
    struct in6_addr want;
    inet_pton(AF_INET6, ip, &want);
    test_expect_bytes(sin6->sin6_addr.s6_addr, 16, want.s6_addr, 16, "IPv6 address", file, line);
    test_expect_uint(ntohs(sin6->sin6_port), port, "port", file, line);
}
#define EXPECT_V6(a, ip, port) expect_v6_at((a), (ip), (port), __FILE__, __LINE__)

static void test_addr_parse(void)
{
    struct net_addr a;
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse("127.0.0.1", 53, &a), 0);
    EXPECT_V4(&a, "127.0.0.1", 53);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse("192.0.2.250", 65535, &a), 0);
    EXPECT_V4(&a, "192.0.2.250", 65535);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse("::1", 2053, &a), 0);
    EXPECT_V6(&a, "::1", 2053);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse("2001:db8::53", 0, &a), 0);
    EXPECT_V6(&a, "2001:db8::53", 0);
}

static void test_addr_parse_rejects(void)
{
    static const char *bad[] = {
        "localhost",    /* a host name: never looked up */
        "example.com",  /* idem */
        "",             /* nothing */
        "1.2.3",        /* too few parts */
        "256.1.1.1",    /* part too big */
        "127.0.0.1:53", /* a port is not part of an address */
        "[::1]",        /* brackets are not part of an address */
        "::1::2",       /* two :: */
        " 127.0.0.1",   /* leading space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct net_addr a;
        char what[64];
        snprintf(what, sizeof what, "net_addr_parse(\"%s\")", bad[i]);
        test_expect_int(net_addr_parse(bad[i], 53, &a), -1, what, __FILE__, __LINE__);
    }
}

static void test_addr_parse_hostport(void)
{
    struct net_addr a;
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("127.0.0.1:53", 2053, &a), 0);
    EXPECT_V4(&a, "127.0.0.1", 53);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("127.0.0.1", 2053, &a), 0);
    EXPECT_V4(&a, "127.0.0.1", 2053);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("[::1]:5353", 2053, &a), 0);
    EXPECT_V6(&a, "::1", 5353);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("[::1]", 2053, &a), 0);
    EXPECT_V6(&a, "::1", 2053);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("[2001:db8::1]:0", 2053, &a), 0);
    EXPECT_V6(&a, "2001:db8::1", 0);
    /* A bare IPv6 address is an "ADDRESS": the whole text, default port. Its
     * colons are not a port separator ("::1" is not "::" port 1). */
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("::1", 2053, &a), 0);
    EXPECT_V6(&a, "::1", 2053);
    memset(&a, 0, sizeof a);
    EXPECT_INT(net_addr_parse_hostport("2001:db8::53", 2053, &a), 0);
    EXPECT_V6(&a, "2001:db8::53", 2053);
}

static void test_addr_parse_hostport_rejects(void)
{
    static const char *bad[] = {
        "127.0.0.1:65536", /* port too big */
        "1.2.3.4:",        /* empty port */
        "1.2.3.4:abc",     /* port not a number */
        "1.2.3.4:53x",     /* junk after the port */
        ":53",             /* no address */
        "localhost:53",    /* a host name */
        "[::1",            /* unclosed bracket */
        "[::1]:",          /* empty port */
        "[::1]x",          /* junk after the bracket */
        "[::1]:99999",     /* port too big */
        "[]:53",           /* empty brackets */
        "[localhost]:53",  /* a host name in brackets */
        "",                /* nothing */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct net_addr a;
        char what[64];
        snprintf(what, sizeof what, "net_addr_parse_hostport(\"%s\")", bad[i]);
        test_expect_int(net_addr_parse_hostport(bad[i], 2053, &a), -1, what, __FILE__, __LINE__);
    }
}

static void test_port_parse(void)
{
    static const struct {
        const char *text;
        int rc;
        uint16_t port;
    } cases[] = {
        {"0", 0, 0},
        {"53", 0, 53},
        {"2053", 0, 2053},
        {"65535", 0, 65535},
        {"65536", -1, 0},
        {"70000", -1, 0},
        {"-1", -1, 0},
        {"", -1, 0},
        {"abc", -1, 0},
        {"53x", -1, 0},
        {"5 3", -1, 0},
        {"99999999999999999999999", -1, 0}, /* overflows unsigned long */
        {"18446744073709551669", -1, 0},    /* 2^64 + 53: wraps to 53 if unchecked */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t port = 0xBEEF;
        char what[64];
        snprintf(what, sizeof what, "net_port_parse(\"%s\")", cases[i].text);
        int rc = net_port_parse(cases[i].text, &port);
        test_expect_int(rc, cases[i].rc, what, __FILE__, __LINE__);
        if (cases[i].rc == 0 && rc == 0)
            test_expect_uint(port, cases[i].port, what, __FILE__, __LINE__);
    }
}

static void test_addr_text(void)
{
    struct net_addr a;
    char out[NET_ADDR_TEXT_MAX];
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 2053, &a), 0);
    const char *got = net_addr_text(&a, out, sizeof out);
    CU_ASSERT_PTR_EQUAL(got, out);
    EXPECT_STR(out, "127.0.0.1:2053");
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("::1", 2053, &a), 0);
    EXPECT_STR(net_addr_text(&a, out, sizeof out), "[::1]:2053");
    /* The longest form fits in NET_ADDR_TEXT_MAX. */
    CU_ASSERT_EQUAL_FATAL(
        net_addr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 65535, &a), 0);
    net_addr_text(&a, out, sizeof out);
    CU_ASSERT_TRUE(strlen(out) < NET_ADDR_TEXT_MAX);
    CU_ASSERT_TRUE(strncmp(out, "[ffff:ffff:ffff:ffff:ffff:ffff:", 31) == 0);
    CU_ASSERT_TRUE(strlen(out) > 6 && strcmp(out + strlen(out) - 7, "]:65535") == 0);

    /* net_sockaddr_text on what recvfrom() would give. */
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(40000);
    inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
    EXPECT_STR(net_sockaddr_text((const struct sockaddr *)&sin, sizeof sin, out, sizeof out),
               "192.0.2.7:40000");
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(5353);
    inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr);
    EXPECT_STR(net_sockaddr_text((const struct sockaddr *)&sin6, sizeof sin6, out, sizeof out),
               "[2001:db8::1]:5353");
}

static void test_addr_text_round_trip(void)
{
    static const char *texts[] = {"127.0.0.1:2053", "[::1]:53", "[2001:db8::1]:65535", "0.0.0.0:0"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        struct net_addr a;
        char out[NET_ADDR_TEXT_MAX];
        char what[64];
        snprintf(what, sizeof what, "net_addr_parse_hostport(\"%s\")", texts[i]);
        test_expect_int(net_addr_parse_hostport(texts[i], 1, &a), 0, what, __FILE__, __LINE__);
        test_expect_str(net_addr_text(&a, out, sizeof out), texts[i], "net_addr_text", __FILE__,
                        __LINE__);
    }
}

static uint16_t bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

static void test_udp_bind(void)
{
    struct net_addr a;
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 0, &a), 0);
    int fd = net_udp_bind(&a);
    CU_ASSERT_TRUE_FATAL(fd >= 0);

    int type = 0;
    socklen_t tlen = sizeof type;
    CU_ASSERT_EQUAL(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen), 0);
    EXPECT_INT(type, SOCK_DGRAM);
    uint16_t port = bound_port(fd);
    CU_ASSERT_NOT_EQUAL(port, 0);

    /* The same concrete port again: taken. */
    struct net_addr again;
    CU_ASSERT_EQUAL(net_addr_parse("127.0.0.1", port, &again), 0);
    errno = 0;
    int fd2 = net_udp_bind(&again);
    EXPECT_INT(fd2, -1);
    EXPECT_INT(errno, EADDRINUSE);
    if (fd2 >= 0)
        close(fd2);

    /* The socket works: a datagram sent to it arrives. */
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    if (tx >= 0) {
        ssize_t sent = sendto(tx, "ping", 4, 0, (const struct sockaddr *)&again.ss, again.len);
        EXPECT_INT(sent, 4);
        char buf[8];
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        EXPECT_INT(got, 4);
        close(tx);
    }
    close(fd);
}

static void test_udp_bind_shared(void)
{
    struct net_addr a;
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", 0, &a), 0);
    int fd = net_udp_bind_shared(&a);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    uint16_t port = bound_port(fd);
    struct net_addr same;
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("127.0.0.1", port, &same), 0);

    /* A second shared socket on the same port: allowed. */
    int fd2 = net_udp_bind_shared(&same);
    CU_ASSERT_TRUE(fd2 >= 0);
    EXPECT_INT(bound_port(fd2), port);
    /* A socket that does not share: still refused, so a port in use is
     * reported as before to a server run without workers. */
    errno = 0;
    int fd3 = net_udp_bind(&same);
    EXPECT_INT(fd3, -1);
    EXPECT_INT(errno, EADDRINUSE);
    if (fd3 >= 0)
        close(fd3);
    if (fd2 >= 0)
        close(fd2);
    close(fd);
}

static void test_udp_bind_v6(void)
{
    struct net_addr a;
    CU_ASSERT_EQUAL_FATAL(net_addr_parse("::1", 0, &a), 0);
    int fd = net_udp_bind(&a);
    if (fd < 0 && (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT))
        return; /* no IPv6 loopback in this sandbox: nothing to test */
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    CU_ASSERT_NOT_EQUAL(bound_port(fd), 0);
    close(fd);
}

/* net_socket(): UDP and TCP, IPv4 and IPv6, each non-blocking (a read of
 * nothing is EAGAIN, not a wait) and close-on-exec. */
static void test_socket_flags(void)
{
    const int families[] = {AF_INET, AF_INET6}, types[] = {SOCK_DGRAM, SOCK_STREAM};
    for (int f = 0; f < 2; f++) {
        for (int t = 0; t < 2; t++) {
            int fd = net_socket(families[f], types[t]);
            CU_ASSERT_FATAL(fd >= 0);
            int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
            CU_ASSERT(fl >= 0 && (fl & O_NONBLOCK) != 0);
            CU_ASSERT(fdfl >= 0 && (fdfl & FD_CLOEXEC) != 0);
            int type = 0;
            socklen_t len = sizeof type;
            CU_ASSERT(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0);
            EXPECT_INT(type, types[t]); /* the flags did not leak into the type */
            close(fd);
        }
    }
    errno = 0;
    EXPECT_INT(net_socket(-1, SOCK_DGRAM), -1);
    CU_ASSERT(errno != 0);
}

void test_net_register(void)
{
    CU_pSuite s = CU_add_suite("net", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "addr_parse IPv4 and IPv6", test_addr_parse);
    CU_add_test(s, "addr_parse rejects names and junk", test_addr_parse_rejects);
    CU_add_test(s, "addr_parse_hostport", test_addr_parse_hostport);
    CU_add_test(s, "addr_parse_hostport rejects", test_addr_parse_hostport_rejects);
    CU_add_test(s, "port_parse", test_port_parse);
    CU_add_test(s, "addr_text and sockaddr_text", test_addr_text);
    CU_add_test(s, "hostport -> text round trip", test_addr_text_round_trip);
    CU_add_test(s, "udp_bind, then EADDRINUSE", test_udp_bind);
    CU_add_test(s, "udp_bind on ::1", test_udp_bind_v6);
    CU_add_test(s, "udp_bind_shared: several sockets on one port", test_udp_bind_shared);
    CU_add_test(s, "socket: non-blocking and close-on-exec", test_socket_flags);
}
