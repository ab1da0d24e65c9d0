/* server: what every step's main() shares — options, socket, signals, trace — in an event loop. */
#ifndef DNS_SERVER_H
#define DNS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/socket.h>

#include "cli.h"
#include "loop.h"

/* What a handler returns to send nothing at all (0 would send an empty datagram). */
#define SERVER_NO_REPLY ((size_t)-1)
/* What a handler returns when it has kept the request to answer later. */
#define SERVER_DEFERRED ((size_t)-2)

/*
 * A client's query being answered: who sent it, and on which socket; over
 * TCP, which connection it came on. The handler gets one on the loop's
 * stack; to answer later it calls server_defer(), which copies it to the
 * heap, and returns SERVER_DEFERRED. Every deferred request ends in exactly
 * one server_reply() or server_drop().
 */
struct server_request {
    int fd;
    struct sockaddr_storage peer;
    socklen_t peer_len;
    /* TCP: the connection's slot + 1, and its serial, which tells it from a
     * later connection in the same slot (tcp.h); 0 and 0 for a datagram. */
    uint32_t conn;
    uint64_t serial;
};

/* Whether `req` came over TCP (then its reply may take up to 65535 bytes). */
static inline bool server_request_tcp(const struct server_request *req)
{
    return req->conn != 0;
}

/* Keeps `req` past the handler's return: a heap copy, or NULL if memory ran
 * out (then the handler answers SERVFAIL or drops the datagram at once). */
struct server_request *server_defer(const struct server_request *req);

/* Sends `reply` (`len` bytes) to the client of a deferred request, with the
 * trace and log a direct reply gets, and frees the request. Over TCP the reply
 * is queued on the connection if it is still open (and the same one: not a
 * later connection in its slot), or else dropped. */
void server_reply(struct server_request *req, const uint8_t *reply, size_t len);

/* Frees a deferred request without answering it. */
void server_drop(struct server_request *req);

/*
 * A step's answer to one query, from a datagram or a TCP connection (the
 * same call for both: server_request_tcp() tells them apart): reads `len`
 * bytes at `query` and writes the reply into `reply` (capacity `cap`, at
 * least DNS_RECV_BUFFER bytes; the handler decides how much of it a reply may
 * use: over TCP up to DNS_MESSAGE_MAX, over UDP what the client takes). Returns
 * the reply's length, SERVER_NO_REPLY, or SERVER_DEFERRED after keeping
 * `req` with server_defer(). Everything a step teaches happens in here;
 * server_main() does the rest.
 */
typedef size_t server_handler_fn(void *ctx, const struct server_request *req, const uint8_t *query,
                                 size_t len, uint8_t *reply, size_t cap);

struct server_step {
    const char *program; /* "step-3": starts log lines and the usage text */
    const char *summary; /* one line for --help */
    server_handler_fn *handle;
    void *ctx;                      /* passed to handle() and to the extras */
    const struct cli_extra *extras; /* options this step adds, or NULL */
    size_t n_extras;
    /* Called once after the socket is bound and before the first datagram
     * is answered (e.g. to load zones), or NULL. Returns 0, or non-zero to
     * stop with that exit status (after printing why). A stop signal while
     * it runs ends the process at once, with a log line and status 0, so it
     * may hold memory and open files (the kernel takes them back) but
     * nothing else that needs cleaning up, such as a temporary file. */
    int (*setup)(void *ctx);
    /* Logs the step's counters, or NULL: on SIGUSR1 (`when` is "SIGUSR1")
     * and once at exit ("at exit"). */
    void (*report)(void *ctx, const char *when);
};

/* The server's event loop, for a step's setup() and handlers to watch their
 * own sockets and set timers on (valid from setup() on). */
struct loop *server_loop(void);

/*
 * Writes a message of the step's own traffic to --trace, as the client
 * datagrams are: `direction` "sent" or "received", the peer, and " over TCP"
 * when `tcp`. Does nothing without --trace. So a resolver's trace shows its
 * whole walk: the client's query, every query to a name server and its
 * reply, then the client's answer.
 */
void server_trace(const char *direction, const struct sockaddr *peer, socklen_t peer_len, bool tcp,
                  const uint8_t *msg, size_t len);

/* Writes "--- `text`" and a blank line to --trace (nothing without it): a
 * remark between the datagrams, such as "answered from the cache". */
void server_trace_note(const char *text);

/*
 * Parses the command line (the step's options, and --tcp-max N, default 256,
 * and --tcp-timeout MS, default 10000, which the server handles itself),
 * installs the signal handlers, binds the UDP socket and a TCP listener on the
 * same address and port (if that port is taken for TCP, a warning, and UDP
 * only), runs step->setup, logs "step-9 listening on 127.0.0.1:2053/udp" and
 * ".../tcp", then runs the event loop (client
 * datagrams, TCP connections, and the sockets and timers the step adds) until
 * SIGINT, SIGTERM, SIGQUIT or SIGHUP (SIGUSR1 calls step->report, then logs
 * the TCP counters; SIGPIPE and SIGUSR2 are ignored). At the stop every TCP
 * connection is closed, with what it had still to send. Deferred requests still
 * waiting at the stop are the step's to drop. Returns the process exit
 * status: 0 after a signal, 2 for a bad command line (usage on stderr), 1 if
 * the socket cannot be opened, or what setup returned if not 0. A stop
 * signal during setup exits with 0 from within the handler.
 */
int server_main(const struct server_step *step, int argc, char **argv);

#endif
