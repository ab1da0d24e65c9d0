/* tcp: DNS over TCP connections — length-prefixed messages in and out, a table of them. */
#include "tcp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int tcp_table_init(struct tcp_table *t, size_t max)
{
    assert(max >= 1);
    *t = (struct tcp_table){.max = max, .next_serial = 1};
    t->conn = calloc(max, sizeof *t->conn);
    if (t->conn == NULL) {
        t->max = 0;
        return -1;
    }
    for (size_t i = 0; i < max; i++) /* once over the slots: all free */
        t->conn[i].fd = -1;
    return 0;
}

void tcp_table_free(struct tcp_table *t)
{
    /* Once over the slots; free ones hold NULL buffers. */
    for (size_t i = 0; i < t->max; i++) {
        free(t->conn[i].in);
        free(t->conn[i].out);
    }
    free(t->conn);
    *t = (struct tcp_table){.conn = NULL, .max = 0};
}

struct tcp_conn *tcp_open(struct tcp_table *t, int fd, const struct sockaddr *peer,
                          socklen_t peer_len, uint64_t now)
{
    if (t->open == t->max)
        return NULL;
    size_t i = 0;
    /* Bounded by max, and ends before it: fewer than max slots are in use. */
    while (t->conn[i].fd >= 0)
        i++;
    struct tcp_conn *c = &t->conn[i];
    *c = (struct tcp_conn){.fd = fd, .serial = t->next_serial++, .last_active = now};
    if (peer_len > sizeof c->peer)
        peer_len = sizeof c->peer; /* accept() never says more, but memcpy must not overrun */
    memcpy(&c->peer, peer, peer_len);
    c->peer_len = peer_len;
    t->open++;
    return c;
}

void tcp_close(struct tcp_table *t, struct tcp_conn *c)
{
    assert(c->fd >= 0 && t->open > 0);
    free(c->in);
    free(c->out);
    /* Serial 0 matches no request: tcp_find() checks the fd too, but a
     * freed slot should not look like the connection it held. */
    *c = (struct tcp_conn){.fd = -1, .serial = 0};
    t->open--;
}

uint32_t tcp_id(const struct tcp_table *t, const struct tcp_conn *c)
{
    return (uint32_t)(c - t->conn) + 1;
}

struct tcp_conn *tcp_find(struct tcp_table *t, uint32_t id, uint64_t serial)
{
    /* id 0 is UDP; an id past max is from no connection of this table
     * (after tcp_table_free(), max is 0 and nothing is found). */
    if (id == 0 || id > t->max)
        return NULL;
    struct tcp_conn *c = &t->conn[id - 1];
    if (c->fd < 0 || c->serial != serial)
        return NULL;
    return c;
}

bool tcp_idle(const struct tcp_conn *c)
{
    return c->in_flight == 0 && c->out_start == c->out_len;
}

struct tcp_conn *tcp_idlest(struct tcp_table *t)
{
    struct tcp_conn *best = NULL;
    /* One pass over the slots: at most max (--tcp-max) steps. */
    for (size_t i = 0; i < t->max; i++) {
        struct tcp_conn *c = &t->conn[i];
        if (c->fd < 0 || !tcp_idle(c))
            continue;
        /* Within one millisecond, the one opened first (serials only grow). */
        if (best == NULL || c->last_active < best->last_active ||
            (c->last_active == best->last_active && c->serial < best->serial))
            best = c;
    }
    return best;
}

uint64_t tcp_due(const struct tcp_conn *c, uint64_t timeout_ms)
{
    if (c->in_flight > 0)
        return UINT64_MAX;
    if (timeout_ms > UINT64_MAX - c->last_active)
        return UINT64_MAX; /* saturate: a huge timeout means never */
    return c->last_active + timeout_ms;
}

/* Input -------------------------------------------------------------------- */

/* The length of the message at the front of the input, from its prefix, or
 * -1 if not even the prefix has been read. */
static long tcp_in_length(const struct tcp_conn *c)
{
    if (c->in_len - c->in_start < TCP_PREFIX)
        return -1;
    const uint8_t *p = c->in + c->in_start;
    return (long)p[0] << 8 | p[1];
}

uint8_t *tcp_in_room(struct tcp_conn *c, size_t *room)
{
    assert(!tcp_in_ready(c)); /* see tcp.h: whole messages are handed out first */
    size_t have = c->in_len - c->in_start;
    if (c->in_start > 0) {
        /* Handed-out messages are forgotten: what is left moves to the
         * front, so the buffer never needs more than one message's room. */
        memmove(c->in, c->in + c->in_start, have);
        c->in_start = 0;
        c->in_len = have;
    }
    /* The room the message being read needs, prefix included: its length
     * once the prefix is in, until then enough for a few small queries. */
    long len = tcp_in_length(c);
    size_t need = len < 0 ? TCP_IN_FIRST : TCP_PREFIX + (size_t)len;
    if (need < TCP_IN_FIRST)
        need = TCP_IN_FIRST;
    if (c->in_cap < need) {
        uint8_t *in = realloc(c->in, need);
        if (in == NULL)
            return NULL;
        c->in = in;
        c->in_cap = need;
    } else if (have == 0 && c->in_cap > TCP_IN_FIRST) {
        /* Empty after a large message: give the memory back. */
        uint8_t *in = realloc(c->in, TCP_IN_FIRST);
        if (in != NULL) {
            c->in = in;
            c->in_cap = TCP_IN_FIRST;
        }
    }
    /* No whole message is in, so have < need <= in_cap: room for at least
     * one more byte (the message's next one). */
    *room = c->in_cap - c->in_len;
    return c->in + c->in_len;
}

void tcp_in_got(struct tcp_conn *c, size_t n)
{
    assert(n <= c->in_cap - c->in_len);
    c->in_len += n;
}

bool tcp_in_ready(const struct tcp_conn *c)
{
    long len = tcp_in_length(c);
    return len >= 0 && c->in_len - c->in_start >= TCP_PREFIX + (size_t)len;
}

bool tcp_in_next(struct tcp_conn *c, uint64_t now, const uint8_t **msg, size_t *len)
{
    if (!tcp_in_ready(c))
        return false;
    size_t n = (size_t)tcp_in_length(c);
    *msg = c->in + c->in_start + TCP_PREFIX;
    *len = n;
    c->in_start += TCP_PREFIX + n;
    if (c->in_start == c->in_len)
        c->in_start = c->in_len = 0; /* all handed out: nothing to move later */
    c->last_active = now;
    return true;
}

bool tcp_may_read(const struct tcp_conn *c)
{
    return c->in_flight < TCP_IN_FLIGHT_MAX && c->out_len - c->out_start < TCP_OUT_BACKLOG_MAX;
}

/* Output ------------------------------------------------------------------- */

int tcp_out_push(struct tcp_conn *c, const uint8_t *msg, size_t len)
{
    assert(len <= DNS_MESSAGE_MAX); /* the prefix has 16 bits: the caller's limit */
    size_t have = c->out_len - c->out_start;
    if (c->out_start > 0) {
        /* Sent bytes are forgotten, so the queue holds only what is pending. */
        memmove(c->out, c->out + c->out_start, have);
        c->out_start = 0;
        c->out_len = have;
    }
    /* have < TCP_OUT_BACKLOG_MAX + TCP_IN_FLIGHT_MAX * 65537 (tcp.h): no overflow. */
    size_t need = have + TCP_PREFIX + len;
    if (c->out_cap < need) {
        size_t cap = c->out_cap < TCP_OUT_KEEP ? TCP_OUT_KEEP : c->out_cap;
        /* Doubling: n replies cost O(n) copying. Bounded by need's own bound. */
        while (cap < need)
            cap *= 2;
        uint8_t *out = realloc(c->out, cap);
        if (out == NULL)
            return -1;
        c->out = out;
        c->out_cap = cap;
    }
    c->out[c->out_len] = (uint8_t)(len >> 8);
    c->out[c->out_len + 1] = (uint8_t)len;
    if (len > 0)
        memcpy(c->out + c->out_len + TCP_PREFIX, msg, len);
    c->out_len += TCP_PREFIX + len;
    return 0;
}

const uint8_t *tcp_out_pending(const struct tcp_conn *c, size_t *len)
{
    *len = c->out_len - c->out_start;
    return *len > 0 ? c->out + c->out_start : NULL;
}

void tcp_out_sent(struct tcp_conn *c, size_t n, uint64_t now)
{
    assert(n <= c->out_len - c->out_start);
    c->out_start += n;
    if (c->out_start < c->out_len)
        return;
    c->out_start = c->out_len = 0;
    c->last_active = now;
    if (c->out_cap > TCP_OUT_KEEP) {
        /* A large reply is out: keep only the usual room. */
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
}
