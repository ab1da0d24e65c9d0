/* test_log.c: unit tests of common/log.c — levels, the program prefix, what reaches stderr. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "log.h"
#include "tests.h"

/* stderr redirected into a temporary file while a test writes log lines. */
struct capture {
    FILE *tmp;
    int saved;
};

static int capture_start(struct capture *c)
{
    fflush(stderr);
    c->tmp = tmpfile();
    if (c->tmp == NULL)
        return -1;
    c->saved = dup(fileno(stderr));
    if (c->saved < 0 || dup2(fileno(c->tmp), fileno(stderr)) < 0) {
        fclose(c->tmp);
        return -1;
    }
    return 0;
}

/* Restores stderr and returns what was written (up to cap - 1 bytes). */
static const char *capture_end(struct capture *c, char *out, size_t cap)
{
    fflush(stderr);
    dup2(c->saved, fileno(stderr));
    close(c->saved);
    rewind(c->tmp);
    size_t n = fread(out, 1, cap - 1, c->tmp);
    out[n] = '\0';
    fclose(c->tmp);
    return out;
}

static void test_level_from_text(void)
{
    static const struct {
        const char *text;
        enum log_level level;
    } good[] = {{"error", LOG_ERROR}, {"warn", LOG_WARN}, {"info", LOG_INFO}, {"debug", LOG_DEBUG}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        enum log_level l = (enum log_level)99;
        EXPECT_INT(log_level_from_text(good[i].text, &l), 0);
        EXPECT_INT(l, good[i].level);
    }
    static const char *bad[] = {"loud", "", "inf", "debug2", "trace"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum log_level l;
        char what[64];
        snprintf(what, sizeof what, "log_level_from_text(\"%s\")", bad[i]);
        test_expect_int(log_level_from_text(bad[i], &l), -1, what, __FILE__, __LINE__);
    }
}

static void test_levels_are_ordered(void)
{
    /* log_at() relies on it: a line is written when threshold >= level. */
    CU_ASSERT_TRUE(LOG_ERROR < LOG_WARN);
    CU_ASSERT_TRUE(LOG_WARN < LOG_INFO);
    CU_ASSERT_TRUE(LOG_INFO < LOG_DEBUG);
}

static int evaluated;
static int count_evaluation(void)
{
    return ++evaluated;
}

static void test_lines_and_threshold(void)
{
    struct capture c;
    CU_ASSERT_EQUAL_FATAL(capture_start(&c), 0);
    log_init("step-9", LOG_INFO);
    const char *program = log_program();
    log_info("listening on %s", "127.0.0.1:2053/udp");
    log_warn("odd packet %d", 7);
    log_error("cannot bind");
    evaluated = 0;
    log_debug("hidden %d", count_evaluation()); /* above the threshold */
    char out[1024];
    capture_end(&c, out, sizeof out);

    EXPECT_STR(program, "step-9");
    EXPECT_STR(out, "step-9 listening on 127.0.0.1:2053/udp\n"
                    "step-9 warning: odd packet 7\n"
                    "step-9 error: cannot bind\n");
    EXPECT_INT(evaluated, 0); /* not formatted, not even evaluated */

    CU_ASSERT_EQUAL_FATAL(capture_start(&c), 0);
    log_init("step-9", LOG_DEBUG);
    log_debug("shown %d", count_evaluation());
    capture_end(&c, out, sizeof out);
    EXPECT_STR(out, "step-9 debug: shown 1\n");
    EXPECT_INT(evaluated, 1);

    CU_ASSERT_EQUAL_FATAL(capture_start(&c), 0);
    log_init("step-9", LOG_ERROR);
    log_warn("no");
    log_info("no");
    log_error("yes");
    capture_end(&c, out, sizeof out);
    EXPECT_STR(out, "step-9 error: yes\n");
    EXPECT_INT(log_threshold, LOG_ERROR);

    log_init("dns", LOG_INFO); /* back to what other suites expect */
}

void test_log_register(void)
{
    CU_pSuite s = CU_add_suite("log", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "level from text", test_level_from_text);
    CU_add_test(s, "levels are ordered", test_levels_are_ordered);
    CU_add_test(s, "lines, prefixes and threshold", test_lines_and_threshold);
}
