/* fuzz_upstream: a resolver's query to a name server, answered by anything: only a reply to
 * it is accepted, over UDP or TCP, and the query always ends, once, with nothing left open. */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The seam. upstream.c talks to the network through a few system calls and
 * keeps its logic (matching, TC, TCP reads in pieces, retries, and in step 9
 * the EDNS fallback) in static functions. So this file includes upstream.c
 * itself (fuzz.mk links this target without upstream.o), after renaming those
 * calls to the fakes below: no socket is ever opened, and the harness plays
 * the network from the input. The loop is the real one, on a clock the
 * harness sets; its watched sockets are called by hand.
 */
int fuzz_socket(int domain, int type, int protocol);
int fuzz_net_socket(int family, int type);
/* net_socket() (common/net.c) is a real socket() with the non-blocking and
 * close-on-exec flags: the fake takes the type alone. */
int fuzz_net_socket(int family, int type)
{
    return fuzz_socket(family, type, 0);
}

int fuzz_fcntl(int fd, int cmd, ...);
int fuzz_connect(int fd, const struct sockaddr *addr, socklen_t len);
int fuzz_close(int fd);
ssize_t fuzz_send(int fd, const void *buf, size_t len, int flags);
ssize_t fuzz_recv(int fd, void *buf, size_t len, int flags);
ssize_t fuzz_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                      socklen_t *from_len);
ssize_t fuzz_read(int fd, void *buf, size_t len);
int fuzz_open(const char *path, int flags, ...);
#define socket     fuzz_socket
#define net_socket fuzz_net_socket
#define fcntl      fuzz_fcntl
#define connect    fuzz_connect
#define close      fuzz_close
#define send       fuzz_send
#define recv       fuzz_recv
#define recvfrom   fuzz_recvfrom
#define read       fuzz_read
#define open       fuzz_open
#include "upstream.c"
#undef socket
#undef net_socket
#undef fcntl
#undef connect
#undef close
#undef send
#undef recv
#undef recvfrom
#undef read
#undef open

enum {
    FUZZ_SOCKETS = 8,   /* fake descriptors: 100..107 */
    FUZZ_FD_BASE = 100, /* /dev/urandom is 99 */
    FUZZ_RANDOM_FD = 99,
    FUZZ_TIMEOUT_MS = 100,
    FUZZ_TRIES = 2,
};

/* The fake network: each open socket, what the server sent it, what it took. */
static struct fuzz_sock {
    bool open;
    int type;
    /* Bytes waiting to be received: one datagram (UDP), or the stream (TCP). */
    uint8_t *in;
    size_t in_len, in_at;
    bool datagram_ready;
    int error;     /* the next receive fails with this errno (ECONNREFUSED...) */
    bool eof;      /* TCP: the server closed after in[] */
    size_t chunk;  /* TCP: most bytes per recv() (0: all there is) */
    bool from_bad; /* UDP: the datagram comes from another port */
    size_t sent;   /* bytes sent on it */
} sock[FUZZ_SOCKETS];

static struct {
    unsigned udp_sent, tcp_connects;
    size_t tcp_send_room; /* bytes TCP send()s take from now on (SIZE_MAX: all) */
    bool connect_refused; /* the next TCP connect() is refused at once */
    /* The last query sent (over UDP, or over TCP without its length): the
     * ID and question a reply must carry. */
    uint8_t query[512];
    size_t query_len;
    bool query_had_opt;
    uint32_t rng;
} net;

static struct net_addr server;
static uint64_t fuzz_clock_ms;

static uint64_t fuzz_clock(void)
{
    return fuzz_clock_ms;
}

static struct fuzz_sock *fuzz_sock(int fd)
{
    FUZZ_CHECK(fd >= FUZZ_FD_BASE && fd < FUZZ_FD_BASE + FUZZ_SOCKETS &&
                   sock[fd - FUZZ_FD_BASE].open,
               "fd %d is not an open socket", fd);
    return &sock[fd - FUZZ_FD_BASE];
}

int fuzz_socket(int domain, int type, int protocol)
{
    (void)protocol;
    FUZZ_CHECK(domain == server.ss.ss_family, "a socket of family %d", domain);
    for (int i = 0; i < FUZZ_SOCKETS; i++) {
        if (!sock[i].open) {
            sock[i] = (struct fuzz_sock){.open = true, .type = type};
            return FUZZ_FD_BASE + i;
        }
    }
    errno = EMFILE;
    return -1;
}

int fuzz_fcntl(int fd, int cmd, ...)
{
    (void)fuzz_sock(fd);
    (void)cmd;
    return 0;
}

int fuzz_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    struct fuzz_sock *s = fuzz_sock(fd);
    FUZZ_CHECK(len == server.len && memcmp(addr, &server.ss, len) == 0,
               "connect() to another address than the server's");
    if (s->type == SOCK_DGRAM)
        return 0;
    net.tcp_connects++;
    if (net.connect_refused) {
        net.connect_refused = false;
        errno = ECONNREFUSED;
        return -1;
    }
    errno = EINPROGRESS;
    return -1;
}

int fuzz_close(int fd)
{
    if (fd == FUZZ_RANDOM_FD)
        return 0;
    struct fuzz_sock *s = fuzz_sock(fd);
    free(s->in);
    *s = (struct fuzz_sock){.open = false};
    return 0;
}

/* Remembers the query as the one a reply must match, and checks its shape. */
static void fuzz_keep_query(const uint8_t *q, size_t len)
{
    FUZZ_CHECK(len >= DNS_HEADER_SIZE && len <= sizeof net.query, "a query of %zu bytes", len);
    memcpy(net.query, q, len);
    net.query_len = len;
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, q, len);
    hdr_decode(&r, &h);
    FUZZ_CHECK(h.qdcount == 1 && h.ancount == 0 && h.nscount == 0 && h.arcount <= 1 &&
                   !hdr_flag(&h, HDR_QR) && !hdr_flag(&h, HDR_RD),
               "a query with flags %04x and counts %u %u %u %u", h.flags, h.qdcount, h.ancount,
               h.nscount, h.arcount);
    net.query_had_opt = h.arcount == 1;
}

ssize_t fuzz_send(int fd, const void *buf, size_t len, int flags)
{
    (void)flags;
    struct fuzz_sock *s = fuzz_sock(fd);
    const uint8_t *b = buf;
    if (s->type == SOCK_DGRAM) {
        net.udp_sent++;
        s->sent += len;
        fuzz_keep_query(b, len);
        return (ssize_t)len;
    }
    /* TCP: the length and the query in one buffer, the first send() from
     * its start (later ones from where the last stopped): the query is kept
     * from the first. */
    if (s->sent == 0) {
        FUZZ_CHECK(len >= 2 && ((size_t)b[0] << 8 | b[1]) == len - 2,
                   "a TCP query of %zu bytes whose length says otherwise", len);
        fuzz_keep_query(b + 2, len - 2);
    }
    if (net.tcp_send_room == 0) {
        errno = EAGAIN;
        return -1;
    }
    size_t n = len < net.tcp_send_room ? len : net.tcp_send_room;
    if (net.tcp_send_room != SIZE_MAX)
        net.tcp_send_room -= n;
    s->sent += n;
    return (ssize_t)n;
}

ssize_t fuzz_recv(int fd, void *buf, size_t len, int flags)
{
    (void)flags;
    struct fuzz_sock *s = fuzz_sock(fd);
    FUZZ_CHECK(s->type == SOCK_STREAM, "recv() on a datagram socket");
    FUZZ_CHECK(len > 0, "recv() of 0 bytes");
    if (s->in_at == s->in_len) {
        if (s->error != 0) {
            errno = s->error;
            s->error = 0;
            return -1;
        }
        if (s->eof)
            return 0;
        errno = EAGAIN;
        return -1;
    }
    size_t n = s->in_len - s->in_at;
    if (s->chunk != 0 && n > s->chunk)
        n = s->chunk;
    if (n > len)
        n = len;
    memcpy(buf, s->in + s->in_at, n);
    s->in_at += n;
    return (ssize_t)n;
}

ssize_t fuzz_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                      socklen_t *from_len)
{
    (void)flags;
    struct fuzz_sock *s = fuzz_sock(fd);
    FUZZ_CHECK(s->type == SOCK_DGRAM, "recvfrom() on a stream socket");
    if (s->error != 0) {
        errno = s->error;
        s->error = 0;
        return -1;
    }
    if (!s->datagram_ready) {
        errno = EAGAIN;
        return -1;
    }
    s->datagram_ready = false;
    size_t n = s->in_len < len ? s->in_len : len;
    memcpy(buf, s->in, n);
    struct sockaddr_storage addr = server.ss;
    if (s->from_bad)
        ((struct sockaddr_in *)&addr)->sin_port ^= 1;
    FUZZ_CHECK(*from_len >= server.len, "room for %u bytes of address", (unsigned)*from_len);
    memcpy(from, &addr, server.len);
    *from_len = server.len;
    return (ssize_t)n;
}

ssize_t fuzz_read(int fd, void *buf, size_t len)
{
    FUZZ_CHECK(fd == FUZZ_RANDOM_FD, "read() from fd %d", fd);
    uint8_t *p = buf;
    for (size_t i = 0; i < len; i++) { /* xorshift: any IDs will do */
        net.rng ^= net.rng << 13;
        net.rng ^= net.rng >> 17;
        net.rng ^= net.rng << 5;
        p[i] = (uint8_t)net.rng;
    }
    return (ssize_t)len;
}

int fuzz_open(const char *path, int flags, ...)
{
    (void)flags;
    FUZZ_CHECK(strcmp(path, "/dev/urandom") == 0, "open(%s)", path);
    return FUZZ_RANDOM_FD;
}

/* The query's caller. */
static struct {
    unsigned calls;
    enum upstream_result result;
} client;
static struct msg_question asked;

static void fuzz_done(void *ctx, enum upstream_result result, const uint8_t *reply, size_t len)
{
    (void)ctx;
    client.calls++;
    client.result = result;
    FUZZ_CHECK(client.calls == 1, "the callback called %u times", client.calls);
    if (result != UPSTREAM_REPLY) {
        FUZZ_CHECK(reply == NULL && len == 0, "a %d result with a reply", result);
        return;
    }
    /* Accepted: a reply (QR) with the ID of the last query sent, one
     * question, exactly the one asked (name in any case). */
    FUZZ_CHECK(reply != NULL && len >= DNS_HEADER_SIZE && len <= DNS_MESSAGE_MAX,
               "a reply of %zu bytes", len);
    FUZZ_CHECK(net.query_len >= DNS_HEADER_SIZE, "a reply accepted before any query was sent");
    struct buf_reader r;
    struct hdr h;
    buf_reader_init(&r, reply, len);
    hdr_decode(&r, &h);
    uint16_t id = (uint16_t)(net.query[0] << 8 | net.query[1]);
    FUZZ_CHECK(hdr_flag(&h, HDR_QR) && h.id == id && h.qdcount == 1,
               "accepted: flags %04x, ID %04x (query's %04x), QDCOUNT %u", h.flags, h.id, id,
               h.qdcount);
    struct msg_question got;
    FUZZ_CHECK(msg_read_question(&r, &got) == NAME_OK && name_equal(&got.qname, &asked.qname) &&
                   got.qtype == asked.qtype && got.qclass == asked.qclass,
               "accepted a reply to another question");
#if FUZZ_STEP >= 9
    /* Step 9: a query with our OPT is not answered by a refusal of it. */
    if (net.query_had_opt) {
        struct edns e;
        if (edns_parse_reply(reply, len, &e) != DNS_RCODE_NOERROR)
            e.present = false;
        unsigned rcode = edns_rcode(&h, &e);
        FUZZ_CHECK(rcode != EDNS_RCODE_BADVERS &&
                       (e.present || (rcode != DNS_RCODE_FORMERR && rcode != DNS_RCODE_NOTIMP)),
                   "accepted a refusal of EDNS (RCODE %u, OPT %d)", rcode, e.present);
    }
#endif
}

/* The open socket of the query (UDP or TCP), or NULL between tries. */
static struct fuzz_sock *fuzz_current(int *fd)
{
    for (int i = 0; i < FUZZ_SOCKETS; i++) {
        if (sock[i].open) {
            *fd = FUZZ_FD_BASE + i;
            return &sock[i];
        }
    }
    return NULL;
}

/* Calls the loop's readable callback of `fd`, as poll() would. */
static void fuzz_readable(struct loop *l, int fd)
{
    for (size_t i = 0; i < l->n_watch; i++) {
        if (l->watch[i].fd == fd && (l->pfd[i].events & POLLIN)) {
            l->watch[i].fn(l->watch[i].ctx, fd);
            return;
        }
    }
}

/*
 * The input is what the network does, event after event. An event is a byte:
 *   bits 0-2  0: a datagram (length in 2 bytes, then its bytes) arrives on
 *             the UDP socket; 1: bytes of the TCP stream (the same way: the
 *             reply's own 2-byte length is among them), the next byte giving
 *             the most each recv() returns (0: all); 2: an ICMP error (port
 *             unreachable) on the socket; 3: the TCP server closes; 4: it
 *             resets; 5: TCP send()s take only as many bytes in all as the
 *             next byte says; 6: the next TCP connect() is refused; 7: nothing;
 *   bit 3     the message's ID is made the last query's (else the fuzzer
 *             must hit it);
 *   bit 4     the datagram comes from another port than the server's;
 *   bits 5-7  the clock moves on by that many tenths of the timeout first.
 * The question asked is the first datagram's own, or "www.example.com. A".
 * After the last event the clock runs until every try is over.
 *
 * Checked: the callback is called exactly once; a reply is delivered only
 * if it has QR, the ID of the last query sent, and exactly the question asked
 * (and in step 9, is no refusal of the OPT the query carried); queries go to
 * the server's address with RD clear and one question; no more datagrams
 * than tries (one more in step 9, without the OPT) and no more connections
 * than datagrams; every message after the first counted in the caller's
 * budget (upstream_budget(), 1 to 4 messages as the input's length says),
 * and none sent past it; every socket closed and unwatched and every timer stopped
 * at the end; the stats add up; nothing leaks.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(sock, 0, sizeof sock);
    memset(&net, 0, sizeof net);
    memset(&client, 0, sizeof client);
    net.rng = 0x9E3779B9u;
    net.tcp_send_room = SIZE_MAX;
    fuzz_clock_ms = 1000;
    log_threshold = LOG_ERROR;

    asked = (struct msg_question){.qtype = DNS_TYPE_A, .qclass = DNS_CLASS_IN};
    name_from_text("www.example.com.", NULL, &asked.qname);
    if (size >= 3) {
        struct buf_reader r;
        struct hdr h;
        struct msg_question first;
        buf_reader_init(&r, data + 3, size - 3);
        hdr_decode(&r, &h);
        if (buf_reader_ok(&r) && h.qdcount >= 1 && msg_read_question(&r, &first) == NAME_OK)
            asked = first;
    }

    struct loop loop;
    loop_init(&loop, fuzz_clock);
    struct upstream u;
    FUZZ_CHECK(upstream_init(&u, &loop, FUZZ_TIMEOUT_MS, FUZZ_TRIES, 8) == 0, "upstream_init()");
    struct upstream_query *q = upstream_ask(&u, &server, &asked, false, fuzz_done, NULL);
    FUZZ_CHECK(q != NULL && client.calls == 0, "upstream_ask() failed");
    /* A caller's budget, as the resolver gives (upstream_budget()): the first
     * query counted by the caller, then 0 to 3 more messages, as the input's
     * length says. Every message after the first must be counted in it. */
    unsigned used = 1, budget_max = 1 + (unsigned)(size % 4);
    upstream_budget(q, &used, budget_max);

    size_t at = 0;
    /* Bounded: each pass consumes at least the event's byte. */
    while (at < size && client.calls == 0) {
        uint8_t ev = data[at++];
        fuzz_clock_ms += (uint64_t)(ev >> 5) * FUZZ_TIMEOUT_MS / 10;
        loop_fire_timers(&loop);
        if (client.calls != 0)
            break;
        unsigned kind = ev & 7;
        size_t len = 0;
        const uint8_t *msg = NULL;
        if (kind == 0 || kind == 1) {
            if (at + 2 <= size)
                len = (size_t)data[at] << 8 | data[at + 1];
            at = at + 2 <= size ? at + 2 : size;
            if (len > size - at)
                len = size - at;
            msg = data + at;
            at += len;
        }
        size_t chunk = 0;
        if ((kind == 1 || kind == 5) && at < size)
            chunk = data[at++];
        if (kind == 5) {
            net.tcp_send_room = chunk;
            continue;
        }
        if (kind == 6) {
            net.connect_refused = true;
            continue;
        }
        int fd;
        struct fuzz_sock *s = fuzz_current(&fd);
        if (s == NULL || kind == 7)
            continue;
        switch (kind) {
        case 0:
            if (s->type != SOCK_DGRAM)
                continue;
            /* A copy of its own (so a read past it is caught), maybe with the ID fixed. */
            free(s->in);
            s->in = malloc(len ? len : 1);
            FUZZ_CHECK(s->in != NULL, "no memory");
            memcpy(s->in, msg, len);
            if ((ev & 8) && len >= 2)
                memcpy(s->in, net.query, 2);
            s->in_len = len;
            s->datagram_ready = true;
            s->from_bad = (ev & 16) != 0;
            break;
        case 1: {
            if (s->type != SOCK_STREAM)
                continue;
            /* Appended to the stream; the ID fixed is the reply's, after its length. */
            uint8_t *more = realloc(s->in, s->in_len + len + 1);
            FUZZ_CHECK(more != NULL, "no memory");
            s->in = more;
            memcpy(s->in + s->in_len, msg, len);
            if ((ev & 8) && s->in_len == 0 && len >= 4)
                memcpy(s->in + 2, net.query, 2);
            s->in_len += len;
            s->chunk = chunk;
            break;
        }
        case 2:
            s->error = ECONNREFUSED;
            break;
        case 3:
            s->eof = true;
            break;
        default:
            s->error = ECONNRESET;
            break;
        }
        /* As poll() would: again while the socket has something to report
         * (upstream.c reads at most a few times per wake-up). Bounded: each
         * pass reads a byte or more, or reports the error or the end once. */
        for (unsigned i = 0; i <= DNS_MESSAGE_MAX + 2 && s->open && s == fuzz_current(&fd); i++) {
            bool more = s->type == SOCK_DGRAM ? s->datagram_ready || s->error != 0
                                              : s->in_at < s->in_len || s->error != 0 || s->eof;
            if (!more)
                break;
            size_t before = s->in_at;
            fuzz_readable(&loop, fd);
            if (s->open && s->type == SOCK_STREAM && s->in_at == before && s->error == 0)
                break; /* nothing read: it waits for more (or took the end already) */
        }
    }
    /* The rest of the time: every try times out, or is over. Bounded: each
     * pass moves the clock by a timeout; a query lasts at most a few. */
    for (unsigned i = 0; i < 100 && client.calls == 0; i++) {
        fuzz_clock_ms += FUZZ_TIMEOUT_MS;
        loop_fire_timers(&loop);
    }
    FUZZ_CHECK(client.calls == 1, "the query never ended");
    FUZZ_CHECK(used <= budget_max && net.udp_sent + net.tcp_connects <= used,
               "%u datagrams and %u connections, %u counted of a budget of %u", net.udp_sent,
               net.tcp_connects, used, budget_max);
    unsigned udp_max = FUZZ_TRIES + (FUZZ_STEP >= 9 ? 1 : 0);
    FUZZ_CHECK(net.udp_sent <= udp_max && net.tcp_connects <= net.udp_sent,
               "%u datagrams and %u connections for %u tries", net.udp_sent, net.tcp_connects,
               (unsigned)FUZZ_TRIES);
    FUZZ_CHECK(u.stats.replies + u.stats.timeouts + u.stats.failed == 1 && u.pending == 0,
               "stats: %llu replies, %llu timeouts, %llu failed, %zu pending",
               (unsigned long long)u.stats.replies, (unsigned long long)u.stats.timeouts,
               (unsigned long long)u.stats.failed, u.pending);
    /* FUZZ_UPSTREAM_SHOW=1 says how each input ended: to check what a seed reaches. */
    if (getenv("FUZZ_UPSTREAM_SHOW") != NULL)
        fprintf(stderr,
                "fuzz_upstream: result %d after %u datagrams, %u connections, %llu forged\n",
                client.result, net.udp_sent, net.tcp_connects, (unsigned long long)u.stats.forged);
    int fd;
    FUZZ_CHECK(fuzz_current(&fd) == NULL, "socket %d left open", fd);
    FUZZ_CHECK(loop.n_watch == 0 && loop.n_timers == 0, "%zu sockets watched, %zu timers",
               loop.n_watch, loop.n_timers);
    upstream_free(&u);
    loop_free(&loop);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (net_addr_parse("127.0.0.2", 5300, &server) != 0)
        abort();
    return 0;
}
