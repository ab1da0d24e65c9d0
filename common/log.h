/* log: leveled log lines on stderr, prefixed with the program's name. */
#ifndef DNS_LOG_H
#define DNS_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Lines above this level are not written (nor formatted: see the macros). */
extern enum log_level log_threshold;

/* Sets the name that starts each line ("step-3") and the threshold. */
void log_init(const char *program, enum log_level threshold);

/* The program name given to log_init() ("dns" before it is called). */
const char *log_program(void);

/* Parses "error", "warn", "info" or "debug": 0 on success, -1 otherwise. */
int log_level_from_text(const char *text, enum log_level *out);

/* Writes one line: "step-3 listening on ..." at info level, and
 * "step-3 warning: ...", "step-3 error: ...", "step-3 debug: ..." otherwise. */
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The level is tested before the arguments are evaluated, so a debug line
 * costs one comparison on the hot path when debug logging is off. */
#define log_at(level, ...)                                                                         \
    do {                                                                                           \
        if (log_threshold >= (level))                                                              \
            log_write((level), __VA_ARGS__);                                                       \
    } while (0)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)

#endif
