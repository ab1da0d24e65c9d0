/* server: what every step's main() shares — options, socket, signals, trace, the receive loop. */
#ifndef DNS_SERVER_H
#define DNS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* What a handler returns to send nothing at all (0 would send an empty datagram). */
#define SERVER_NO_REPLY ((size_t)-1)

/*
 * A step's answer to one datagram: reads `len` bytes at `query` and writes the
 * reply into `reply` (capacity `cap`, at least DNS_RECV_BUFFER bytes). Returns
 * the reply's length, or SERVER_NO_REPLY. Everything a step teaches happens in
 * here; server_main() does the rest.
 */
typedef size_t server_handler_fn(void *ctx, const uint8_t *query, size_t len, uint8_t *reply,
                                 size_t cap);

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
};

/*
 * Parses the command line, installs the signal handlers, binds the UDP
 * socket, runs step->setup, logs "step-3 listening on 127.0.0.1:2053/udp",
 * then answers datagrams until SIGINT, SIGTERM, SIGQUIT or SIGHUP (SIGUSR1
 * is logged; SIGPIPE and SIGUSR2 are ignored). Returns the process exit
 * status: 0 after a signal, 2 for a bad command line (usage on stderr), 1 if
 * the socket cannot be opened, or what setup returned if not 0. A stop
 * signal during setup exits with 0 from within the handler.
 */
int server_main(const struct server_step *step, int argc, char **argv);

#endif
