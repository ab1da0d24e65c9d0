/* cli: the command line every step shares, plus options a step adds. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

/* The options every step takes, in the order --help lists them. */
enum cli_id { CLI_ADDRESS, CLI_PORT, CLI_TRACE, CLI_LOG_LEVEL, CLI_HELP_ID };
static const struct {
    const char *name;
    const char *arg;
    const char *help;
} cli_common_table[] = {
    [CLI_ADDRESS] = {"address", "A",
                     "listen on this IPv4 or IPv6 address (default " CLI_DEFAULT_ADDRESS ")"},
    [CLI_PORT] = {"port", "P", "listen on this port (default 2053)"},
    [CLI_TRACE] = {"trace", NULL,
                   "print every datagram received and sent as an annotated hex dump"},
    [CLI_LOG_LEVEL] = {"log-level", "L", "error, warn, info (default) or debug (a line per query)"},
    [CLI_HELP_ID] = {"help", NULL, "print this help and exit"},
};
#define CLI_COMMON_COUNT (sizeof(cli_common_table) / sizeof(cli_common_table[0]))

static enum cli_result cli_fail(char *err, size_t errcap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum cli_result cli_fail(char *err, size_t errcap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errcap, fmt, ap);
    va_end(ap);
    return CLI_ERROR;
}

/* Applies one of the common options; returns NULL or what is wrong. */
static const char *cli_apply_common(enum cli_id id, const char *value, struct cli_common *out)
{
    struct net_addr probe;
    switch (id) {
    case CLI_ADDRESS:
        if (net_addr_parse(value, 0, &probe) != 0)
            return "not a numeric IPv4 or IPv6 address";
        out->address = value;
        return NULL;
    case CLI_PORT:
        if (net_port_parse(value, &out->port) != 0)
            return "not a port number (0-65535)";
        return NULL;
    case CLI_TRACE:
        out->trace = true;
        return NULL;
    case CLI_LOG_LEVEL:
        if (log_level_from_text(value, &out->log_level) != 0)
            return "not one of error, warn, info, debug";
        return NULL;
    case CLI_HELP_ID:
        break;
    }
    return NULL;
}

enum cli_result cli_parse(int argc, char **argv, const struct cli_extra *extras, size_t n_extras,
                          void *ctx, struct cli_common *out, char *err, size_t errcap)
{
    out->address = CLI_DEFAULT_ADDRESS;
    out->port = CLI_DEFAULT_PORT;
    out->trace = false;
    out->log_level = LOG_INFO;
    if (errcap > 0)
        err[0] = '\0';

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return cli_fail(err, errcap, "unexpected argument '%s'", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);

        /* Look the name up among the common options, then the step's. */
        int common = -1;
        const struct cli_extra *extra = NULL;
        for (size_t k = 0; k < CLI_COMMON_COUNT; k++)
            if (strlen(cli_common_table[k].name) == name_len &&
                strncmp(cli_common_table[k].name, name, name_len) == 0)
                common = (int)k;
        for (size_t k = 0; common < 0 && k < n_extras; k++)
            if (strlen(extras[k].name) == name_len && strncmp(extras[k].name, name, name_len) == 0)
                extra = &extras[k];
        if (common < 0 && extra == NULL)
            return cli_fail(err, errcap, "unknown option '--%.*s'", (int)name_len, name);

        bool takes_value = common >= 0 ? cli_common_table[common].arg != NULL : extra->arg != NULL;
        const char *value = NULL;
        if (takes_value) {
            if (eq != NULL)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else
                return cli_fail(err, errcap, "option '--%.*s' needs a value", (int)name_len, name);
        } else if (eq != NULL) {
            return cli_fail(err, errcap, "option '--%.*s' takes no value", (int)name_len, name);
        }

        if (common == CLI_HELP_ID)
            return CLI_HELP;
        const char *problem = common >= 0 ? cli_apply_common((enum cli_id)common, value, out)
                                          : extra->apply(ctx, value);
        if (problem != NULL)
            return cli_fail(err, errcap, "--%.*s %s: %s", (int)name_len, name, value ? value : "",
                            problem);
    }
    return CLI_RUN;
}

enum {
    CLI_USAGE_COLUMN = 20, /* width of the option column in --help */
};

static void cli_usage_line(FILE *f, const char *name, const char *arg, const char *help)
{
    char left[64];
    int len = snprintf(left, sizeof left, "--%s%s%s", name, arg ? " " : "", arg ? arg : "");
    /* An option too long for the column gets its help on the next line,
     * lined up with the others', rather than pushing it out of line. */
    if (len > CLI_USAGE_COLUMN)
        fprintf(f, "  %s\n  %-*s %s\n", left, CLI_USAGE_COLUMN, "", help);
    else
        fprintf(f, "  %-*s %s\n", CLI_USAGE_COLUMN, left, help);
}

void cli_usage(FILE *f, const char *program, const char *summary, const struct cli_extra *extras,
               size_t n_extras)
{
    fprintf(f, "usage: %s [options]\n%s\n\noptions:\n", program, summary);
    for (size_t k = 0; k < n_extras; k++)
        cli_usage_line(f, extras[k].name, extras[k].arg, extras[k].help);
    for (size_t k = 0; k < CLI_COMMON_COUNT; k++)
        cli_usage_line(f, cli_common_table[k].name, cli_common_table[k].arg,
                       cli_common_table[k].help);
}

const char *cli_number(const char *value, unsigned long min, unsigned long max, unsigned long *out)
{
    static char why[96];
    if (value[0] < '0' || value[0] > '9')
        return "not a number";
    char *end;
    errno = 0;
    unsigned long n = strtoul(value, &end, 10);
    if (*end != '\0')
        return "not a number";
    if (errno == ERANGE || n < min || n > max) {
        snprintf(why, sizeof why, "out of range (%lu to %lu)", min, max);
        return why;
    }
    *out = n;
    return NULL;
}
