/* net: socket addresses (parse, print) and UDP sockets. */
#define _DEFAULT_SOURCE /* SO_REUSEPORT: glibc shows it only outside strict POSIX */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int net_addr_parse(const char *host, uint16_t port, struct net_addr *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
    /* inet_pton, not getaddrinfo: only numeric addresses, so no lookup ever
     * leaves the machine to find out where to listen. */
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        out->len = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        out->len = sizeof(*v6);
        return 0;
    }
    return -1;
}

int net_port_parse(const char *text, uint16_t *port)
{
    /* At most 5 digits, so strtoul cannot overflow; then range-check. */
    size_t n = strspn(text, "0123456789");
    if (n == 0 || n > 5 || text[n] != '\0')
        return -1;
    unsigned long v = strtoul(text, NULL, 10);
    if (v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int net_addr_parse_hostport(const char *text, uint16_t default_port, struct net_addr *out)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_text = NULL;
    size_t hlen;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL)
            return -1;
        hlen = (size_t)(close - text - 1);
        if (close[1] == ':')
            port_text = close + 2;
        else if (close[1] != '\0')
            return -1;
        text++;
    } else {
        const char *colon = strchr(text, ':');
        /* More than one colon and no brackets: a bare IPv6 address. */
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            hlen = (size_t)(colon - text);
            port_text = colon + 1;
        } else {
            hlen = strlen(text);
        }
    }
    if (hlen == 0 || hlen >= sizeof host)
        return -1;
    memcpy(host, text, hlen);
    host[hlen] = '\0';

    uint16_t port = default_port;
    if (port_text != NULL && net_port_parse(port_text, &port) != 0)
        return -1;
    return net_addr_parse(host, port, out);
}

const char *net_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, (unsigned)ntohs(v4->sin_port));
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, (unsigned)ntohs(v6->sin6_port));
    } else {
        snprintf(out, cap, "(unknown address)");
    }
    return out;
}

const char *net_addr_text(const struct net_addr *a, char *out, size_t cap)
{
    return net_sockaddr_text((const struct sockaddr *)&a->ss, a->len, out, cap);
}

/* Opens a UDP socket of a's family, sets SO_REUSEPORT on it if `shared`,
 * and binds it to `a`. */
static int net_udp_open(const struct net_addr *a, bool shared)
{
    int fd = socket(a->ss.ss_family, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    int failed = 0;
    if (shared) {
#ifdef SO_REUSEPORT
        int on = 1;
        failed = setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
#else
        errno = ENOPROTOOPT;
        failed = -1;
#endif
    }
    if (failed != 0 || bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int net_udp_bind(const struct net_addr *a)
{
    return net_udp_open(a, false);
}

int net_udp_bind_shared(const struct net_addr *a)
{
    return net_udp_open(a, true);
}

int net_socket(int family, int type)
{
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    return socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    int fd = socket(family, type, 0);
    if (fd < 0)
        return -1;
    int fl = fcntl(fd, F_GETFL);
    int fdfl = fl < 0 ? -1 : fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
        fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
#endif
}
