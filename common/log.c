/* log: leveled log lines on stderr, prefixed with the program's name. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum log_level log_threshold = LOG_INFO;
static const char *log_name = "dns";

void log_init(const char *program, enum log_level threshold)
{
    log_name = program;
    log_threshold = threshold;
}

const char *log_program(void)
{
    return log_name;
}

int log_level_from_text(const char *text, enum log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    static const char *const prefix[] = {" error: ", " warning: ", " ", " debug: "};
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from one process never interleave. */
    fprintf(stderr, "%s%s%s\n", log_name, prefix[level], line);
}
