/* net: socket addresses (parse, print) and UDP sockets. */
#ifndef DNS_NET_H
#define DNS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum {
    /* "[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535" and a NUL. */
    NET_ADDR_TEXT_MAX = 56,
};

/* An IPv4 or IPv6 address with a port, ready for bind()/sendto(). */
struct net_addr {
    struct sockaddr_storage ss;
    socklen_t len; /* 0 = not set */
};

/* Parses a numeric IPv4 or IPv6 address ("127.0.0.1", "::1"; no host names,
 * so nothing is ever looked up) and combines it with `port`. Returns 0, or -1
 * if `host` is not a numeric address. */
int net_addr_parse(const char *host, uint16_t port, struct net_addr *out);

/* Parses "ADDRESS", "ADDRESS:PORT", "[IPV6]" or "[IPV6]:PORT"; a missing
 * port is `default_port`. Returns 0, or -1 if malformed. */
int net_addr_parse_hostport(const char *text, uint16_t default_port, struct net_addr *out);

/* Parses a decimal port 0..65535: 0 on success, -1 otherwise. */
int net_port_parse(const char *text, uint16_t *port);

/* Writes "127.0.0.1:2053" or "[::1]:2053" into `out` (at least
 * NET_ADDR_TEXT_MAX bytes); returns `out`. */
const char *net_addr_text(const struct net_addr *a, char *out, size_t cap);

/* The same for an address as recvfrom() returns it. */
const char *net_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t cap);

/* Opens a UDP socket bound to `a`. Returns the descriptor, or -1 with errno
 * set (e.g. EADDRINUSE). */
int net_udp_bind(const struct net_addr *a);

/* The same with SO_REUSEPORT set before bind(): several sockets, one per
 * worker process, may then be bound to one address and port, and the kernel
 * spreads the datagrams over them by a hash of the sender's address. Not
 * POSIX (Linux 3.9, the BSDs): -1 with errno ENOPROTOOPT where the option
 * does not exist. */
int net_udp_bind_shared(const struct net_addr *a);

/* A new socket of `family` and `type` (SOCK_DGRAM, SOCK_STREAM), non-blocking
 * and close-on-exec: in the one socket() call where the system takes
 * SOCK_NONBLOCK and SOCK_CLOEXEC there (Linux, the BSDs, POSIX.1-2024),
 * through fcntl() elsewhere, four calls more. Returns the descriptor, or -1
 * with errno set (e.g. EMFILE when every descriptor is in use). */
int net_socket(int family, int type);

#endif
