/* cli: the command line every step shares, plus options a step adds. */
#ifndef DNS_CLI_H
#define DNS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"

enum {
    CLI_DEFAULT_PORT = 2053, /* unprivileged, so no root is needed; 53 is the real one */
};
#define CLI_DEFAULT_ADDRESS "127.0.0.1"

/* Options every step takes:
 *   --address A   --port P   --trace   --log-level L   --help */
struct cli_common {
    const char *address;
    uint16_t port;
    bool trace;
    enum log_level log_level;
};

/* An option a step adds, e.g. --zone FILE. */
struct cli_extra {
    const char *name; /* without the leading "--" */
    const char *arg;  /* the argument's name for --help ("FILE"), or NULL for a flag */
    const char *help; /* one line for --help */
    /* Called for each occurrence, in order, with the argument (NULL for a
     * flag). Returns NULL, or a message saying what is wrong with the value. */
    const char *(*apply)(void *ctx, const char *value);
};

enum cli_result { CLI_RUN, CLI_HELP, CLI_ERROR };

/*
 * Parses argv[1..argc-1]: "--name VALUE" and "--name=VALUE" forms. Fills `out`
 * (starting from the defaults) and calls the extras' apply(ctx, value).
 * Returns CLI_RUN, CLI_HELP for --help, or CLI_ERROR with a message in `err`
 * (unknown option, missing or bad value, stray argument).
 */
enum cli_result cli_parse(int argc, char **argv, const struct cli_extra *extras, size_t n_extras,
                          void *ctx, struct cli_common *out, char *err, size_t errcap);

/*
 * For an extra's apply(): reads `value` as a decimal number in [min, max]
 * into *out. Returns NULL, or what is wrong ("not a number", "out of range
 * (1 to 65535)"; the latter in a static buffer, valid until the next call).
 * Only digits: strtoul() alone would take "-1" (as a huge number), " 1" and
 * "+1".
 */
const char *cli_number(const char *value, unsigned long min, unsigned long max, unsigned long *out);

/* Prints the usage text: the synopsis, `summary`, and every option. */
void cli_usage(FILE *f, const char *program, const char *summary, const struct cli_extra *extras,
               size_t n_extras);

#endif
