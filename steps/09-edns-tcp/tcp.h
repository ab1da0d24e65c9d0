/* tcp: DNS over TCP connections — length-prefixed messages in and out, a table of them. */
#ifndef DNS_TCP_H
#define DNS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

/*
 * Over TCP each DNS message is preceded by its length, two bytes in network
 * order (RFC 1035 4.2.2):
 *
 *                                   1  1  1  1  1  1
 *     0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   |                    LENGTH                     |
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *   /                    MESSAGE                    /   LENGTH bytes
 *   +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *
 * TCP is a stream, not a sequence of datagrams: one read may bring half a
 * length, or three queries and the start of a fourth, and a client may send
 * its next query before the last reply came back (pipelining, RFC 7766 6.2.1).
 * So each connection keeps what it has read until a whole message is there,
 * and what it has still to send until the kernel takes it.
 *
 * This file does no I/O: server.c reads into tcp_in_room() and sends from
 * tcp_out_pending(). So every case of the framing can be unit-tested with
 * byte arrays, one byte at a time if need be.
 */

enum {
    /* The length prefix: 2 bytes, so a message is at most 65535 bytes. */
    TCP_PREFIX = 2,
    /* Input room a connection starts with: a query is some 30 to 300 bytes,
     * so several pipelined ones fit; a longer message grows it (to at most
     * TCP_PREFIX + 65535). */
    TCP_IN_FIRST = 1024,
    /* Output kept allocated after the queue empties; a larger buffer (for a
     * large reply) is freed, so an idle connection holds little memory. */
    TCP_OUT_KEEP = 4096,
    /* Queries of one connection answered later (server_defer()) at once: at
     * this many, the server stops reading from the connection until one is
     * answered. Replies can come back in any order (RFC 7766 7), but one
     * client must not fill the resolver's tables. */
    TCP_IN_FLIGHT_MAX = 16,
    /* Bytes of replies waiting for a client to read them: at this many, the
     * server stops reading its queries until it takes them. A client that
     * never reads then costs at most this plus the replies of its queries in
     * flight (TCP_IN_FLIGHT_MAX x 65537 bytes). */
    TCP_OUT_BACKLOG_MAX = 128 * 1024,
};

struct tcp_conn {
    int fd;          /* the connected socket, or -1 when the slot is free */
    uint64_t serial; /* which connection this is, unique over the table's life */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    /* The loop time of the last activity: the connection's opening, a whole
     * query read or the output queue emptied. Bytes alone do not count, so a
     * client sending one byte a second still looks idle. */
    uint64_t last_active;
    unsigned in_flight; /* queries kept to be answered later, not yet answered */
    /* Input: in[in_start..in_len) is read but not yet handed out. */
    uint8_t *in;
    size_t in_start, in_len, in_cap;
    /* Output: out[out_start..out_len) is framed replies not yet sent. */
    uint8_t *out;
    size_t out_start, out_len, out_cap;
    /* server.c's record of what the loop watches for it. */
    bool reading, writing;
};

/* At most `max` connections, in slots numbered 0..max-1. */
struct tcp_table {
    struct tcp_conn *conn;
    size_t max;
    size_t open;          /* slots in use */
    uint64_t next_serial; /* given to the next connection; 0 is never given */
};

/* Sets up a table of `max` (at least 1) free slots. Returns 0, or -1 if
 * memory ran out. */
int tcp_table_init(struct tcp_table *t, size_t max);

/* Frees the table and every connection's buffers (not the sockets: their
 * owner closes them first). A freed table has no slots: tcp_find() finds
 * nothing in it, so late replies are dropped safely. */
void tcp_table_free(struct tcp_table *t);

/* Puts a new connection on socket `fd` in a free slot, active at `now`.
 * Returns it, or NULL if all `max` slots are in use. */
struct tcp_conn *tcp_open(struct tcp_table *t, int fd, const struct sockaddr *peer,
                          socklen_t peer_len, uint64_t now);

/* Frees `c`'s buffers and its slot (its owner has closed the socket). */
void tcp_close(struct tcp_table *t, struct tcp_conn *c);

/* What identifies `c` in a request: its slot + 1 (0 stays free to mean "not
 * TCP") and its serial. */
uint32_t tcp_id(const struct tcp_table *t, const struct tcp_conn *c);

/* The connection `id` (from tcp_id()) if it is still the one of `serial`, or
 * NULL if it closed since (even if a new connection now has its slot): a
 * reply that comes late is never sent to someone else. */
struct tcp_conn *tcp_find(struct tcp_table *t, uint32_t id, uint64_t serial);

/* Whether `c` has nothing going on: no query in flight, nothing to send. */
bool tcp_idle(const struct tcp_conn *c);

/* The idle connection whose last activity is the oldest, or NULL if none is
 * idle: the one to close to make room for a new one. */
struct tcp_conn *tcp_idlest(struct tcp_table *t);

/* When `c` is to be closed for inactivity, `timeout_ms` after its last
 * activity, or UINT64_MAX while a query of it is in flight (its reply is
 * activity to come). A connection with replies still to send is not exempt:
 * a client that has not taken a whole reply for so long is not reading. */
uint64_t tcp_due(const struct tcp_conn *c, uint64_t timeout_ms);

/* Input -------------------------------------------------------------------- */

/*
 * Where the next read should put its bytes: returns the place and sets
 * *room to how many fit (at least 1), making room by moving unread bytes to
 * the front and growing the buffer to hold the whole message being read.
 * Returns NULL if memory ran out. Only when !tcp_in_ready(): whole messages
 * are handed out before more is read (a full buffer could take no more).
 */
uint8_t *tcp_in_room(struct tcp_conn *c, size_t *room);

/* Records that `n` bytes (at most the room given) were read into the room. */
void tcp_in_got(struct tcp_conn *c, size_t n);

/*
 * Hands out the next whole message read: sets *msg and *len (0 is possible:
 * a zero length prefix) and returns true, counting it as activity at `now`;
 * returns false if no whole message is there yet. *msg points into the
 * input buffer and stays valid until the next tcp_in_room() or tcp_close().
 */
bool tcp_in_next(struct tcp_conn *c, uint64_t now, const uint8_t **msg, size_t *len);

/* Whether a whole message is waiting to be handed out. */
bool tcp_in_ready(const struct tcp_conn *c);

/* Whether the server may hand `c` another query: it has fewer than
 * TCP_IN_FLIGHT_MAX in flight and fewer than TCP_OUT_BACKLOG_MAX bytes to send. */
bool tcp_may_read(const struct tcp_conn *c);

/* Output ------------------------------------------------------------------- */

/* Queues `msg` (`len` bytes, at most 65535) behind its length. Returns 0, or
 * -1 if memory ran out (the queue is as it was). */
int tcp_out_push(struct tcp_conn *c, const uint8_t *msg, size_t len);

/* The bytes waiting to be sent: returns where they start and sets *len (0
 * when there are none). */
const uint8_t *tcp_out_pending(const struct tcp_conn *c, size_t *len);

/* Records that the first `n` pending bytes were sent. When that empties the
 * queue, every reply is out: activity at `now`. */
void tcp_out_sent(struct tcp_conn *c, size_t n, uint64_t now);

#endif
