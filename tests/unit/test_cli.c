/* test_cli.c: unit tests of common/cli.c — the shared command line and a step's extra options. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "cli.h"
#include "tests.h"

/* Runs cli_parse on a NULL-terminated list of arguments (argv[0] added). */
#define ARGV(...) ((char *[]){"step-x", __VA_ARGS__, NULL})

static enum cli_result parse_with(int argc, char **argv, const struct cli_extra *extras,
                                  size_t n_extras, void *ctx, struct cli_common *out, char *err,
                                  size_t errcap)
{
    memset(out, 0x5A, sizeof *out);
    memset(err, 0, errcap);
    return cli_parse(argc, argv, extras, n_extras, ctx, out, err, errcap);
}

static void test_defaults(void)
{
    struct cli_common o;
    char err[256];
    char *argv[] = {"step-x", NULL};
    EXPECT_INT(parse_with(1, argv, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_STR(o.address, "127.0.0.1");
    EXPECT_STR(o.address, CLI_DEFAULT_ADDRESS);
    EXPECT_UINT(o.port, 2053);
    EXPECT_UINT(o.port, CLI_DEFAULT_PORT);
    EXPECT_INT(o.trace, 0);
    EXPECT_INT(o.log_level, LOG_INFO);
}

static void test_options(void)
{
    struct cli_common o;
    char err[256];

    char **a1 = ARGV("--port", "5353");
    EXPECT_INT(parse_with(3, a1, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_UINT(o.port, 5353);
    EXPECT_STR(o.address, "127.0.0.1");

    char **a2 = ARGV("--port=5353");
    EXPECT_INT(parse_with(2, a2, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_UINT(o.port, 5353);

    char **a3 = ARGV("--address", "::1");
    EXPECT_INT(parse_with(3, a3, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_STR(o.address, "::1");
    EXPECT_UINT(o.port, 2053);

    char **a4 = ARGV("--trace");
    EXPECT_INT(parse_with(2, a4, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_INT(o.trace, 1);

    char **a5 = ARGV("--log-level", "debug");
    EXPECT_INT(parse_with(3, a5, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_INT(o.log_level, LOG_DEBUG);

    char **a6 = ARGV("--log-level=error", "--address=0.0.0.0", "--trace", "--port", "0");
    EXPECT_INT(parse_with(6, a6, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_INT(o.log_level, LOG_ERROR);
    EXPECT_STR(o.address, "0.0.0.0");
    EXPECT_INT(o.trace, 1);
    EXPECT_UINT(o.port, 0);

    /* The last occurrence wins. */
    char **a7 = ARGV("--port", "1", "--port", "2");
    EXPECT_INT(parse_with(5, a7, NULL, 0, NULL, &o, err, sizeof err), CLI_RUN);
    EXPECT_UINT(o.port, 2);
}

static void test_errors(void)
{
    static const struct {
        int argc;
        char *argv[4];
    } cases[] = {
        {2, {"step-x", "--nope", NULL}},                 /* unknown option */
        {2, {"step-x", "--port", NULL}},                 /* no value */
        {3, {"step-x", "--port", "abc", NULL}},          /* not a number */
        {3, {"step-x", "--port", "70000", NULL}},        /* too big */
        {2, {"step-x", "--port=", NULL}},                /* empty value */
        {3, {"step-x", "--log-level", "loud", NULL}},    /* no such level */
        {2, {"step-x", "--log-level", NULL}},            /* no value */
        {2, {"step-x", "--address", NULL}},              /* no value */
        {3, {"step-x", "--address", "localhost", NULL}}, /* not a numeric address */
        {2, {"step-x", "stray", NULL}},                  /* not an option */
        {3, {"step-x", "--trace", "stray", NULL}},       /* stray after a flag */
        {2, {"step-x", "--trace=yes", NULL}},            /* a flag takes no value */
        {2, {"step-x", "-p", NULL}},                     /* no short options */
        {2, {"step-x", "--por", NULL}},                  /* no prefix matching */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cli_common o;
        char err[256];
        char what[128];
        char *argv[4];
        memcpy(argv, cases[i].argv, sizeof argv);
        snprintf(what, sizeof what, "cli_parse(%s %s)", argv[1], argv[2] ? argv[2] : "");
        enum cli_result res = parse_with(cases[i].argc, argv, NULL, 0, NULL, &o, err, sizeof err);
        test_expect_int(res, CLI_ERROR, what, __FILE__, __LINE__);
        snprintf(what, sizeof what, "error message of cli_parse(%s %s) is not empty", argv[1],
                 argv[2] ? argv[2] : "");
        CU_assertImplementation(err[0] != '\0', __LINE__, what, __FILE__, "", CU_FALSE);
    }
}

static void test_error_message_fits(void)
{
    /* A long unknown option and a small buffer: the message is cut, NUL
     * terminated, and nothing past errcap is touched. */
    char longopt[300];
    memset(longopt, 'x', sizeof longopt - 1);
    memcpy(longopt, "--", 2);
    longopt[sizeof longopt - 1] = '\0';
    char *argv[] = {"step-x", longopt, NULL};
    struct cli_common o;
    char err[32];
    memset(err, 'E', sizeof err);
    EXPECT_INT(cli_parse(2, argv, NULL, 0, NULL, &o, err, 16), CLI_ERROR);
    CU_ASSERT_TRUE(memchr(err, '\0', 16) != NULL);
    CU_ASSERT_TRUE(err[0] != '\0');
    EXPECT_UINT((uint8_t)err[16], 'E');
}

static void test_help(void)
{
    struct cli_common o;
    char err[256];
    char **a = ARGV("--help");
    EXPECT_INT(parse_with(2, a, NULL, 0, NULL, &o, err, sizeof err), CLI_HELP);
    char **b = ARGV("--port", "5353", "--help");
    EXPECT_INT(parse_with(4, b, NULL, 0, NULL, &o, err, sizeof err), CLI_HELP);
}

/* Extras -------------------------------------------------------------------- */

struct extra_log {
    int calls;
    char seen[8][64];
    int flag_calls;
};

static const char *apply_zone(void *ctx, const char *value)
{
    struct extra_log *log = ctx;
    if (log->calls < 8)
        snprintf(log->seen[log->calls], sizeof log->seen[0], "%s", value ? value : "(null)");
    log->calls++;
    if (value != NULL && strcmp(value, "bad.zone") == 0)
        return "cannot read bad.zone";
    return NULL;
}

static const char *apply_flag(void *ctx, const char *value)
{
    struct extra_log *log = ctx;
    log->flag_calls++;
    return value == NULL ? NULL : "--quiet takes no value";
}

static const struct cli_extra extras[] = {
    {"zone", "FILE", "load a zone file", apply_zone},
    {"quiet", NULL, "say less", apply_flag},
};

static void test_extras_in_order(void)
{
    struct extra_log log;
    memset(&log, 0, sizeof log);
    struct cli_common o;
    char err[256];
    char **a = ARGV("--zone", "one.zone", "--port", "99", "--zone=two.zone");
    EXPECT_INT(parse_with(6, a, extras, 2, &log, &o, err, sizeof err), CLI_RUN);
    EXPECT_INT(log.calls, 2);
    EXPECT_STR(log.seen[0], "one.zone");
    EXPECT_STR(log.seen[1], "two.zone");
    EXPECT_UINT(o.port, 99);
    EXPECT_INT(log.flag_calls, 0);
}

static void test_extra_flag(void)
{
    struct extra_log log;
    memset(&log, 0, sizeof log);
    struct cli_common o;
    char err[256];
    char **a = ARGV("--quiet", "--trace");
    EXPECT_INT(parse_with(3, a, extras, 2, &log, &o, err, sizeof err), CLI_RUN);
    EXPECT_INT(log.flag_calls, 1); /* called with NULL */
    EXPECT_INT(o.trace, 1);
    EXPECT_INT(log.calls, 0);
}

static void test_extra_error(void)
{
    struct extra_log log;
    memset(&log, 0, sizeof log);
    struct cli_common o;
    char err[256];
    char **a = ARGV("--zone", "bad.zone");
    EXPECT_INT(parse_with(3, a, extras, 2, &log, &o, err, sizeof err), CLI_ERROR);
    EXPECT_INT(log.calls, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read bad.zone"));
    if (strstr(err, "cannot read bad.zone") == NULL)
        printf("\n      cli_parse error message was: \"%s\"\n", err);

    /* An extra with an argument still needs one. */
    memset(&log, 0, sizeof log);
    char **b = ARGV("--zone");
    EXPECT_INT(parse_with(2, b, extras, 2, &log, &o, err, sizeof err), CLI_ERROR);
    EXPECT_INT(log.calls, 0);
    CU_ASSERT_TRUE(err[0] != '\0');

    /* Extras are unknown to a step that does not declare them. */
    char **c = ARGV("--zone", "one.zone");
    EXPECT_INT(parse_with(3, c, NULL, 0, NULL, &o, err, sizeof err), CLI_ERROR);
}

static void test_usage(void)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    cli_usage(f, "step-x", "answers every query with FORMERR", extras, 2);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    static const char *must[] = {"step-x",    "answers every query with FORMERR",
                                 "--address", "--port",
                                 "--trace",   "--log-level",
                                 "--help",    "--zone",
                                 "FILE",      "load a zone file",
                                 "--quiet",   "say less"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "usage text mentions \"%s\"", must[i]);
        CU_assertImplementation(strstr(text, must[i]) != NULL, __LINE__, what, __FILE__, "",
                                CU_FALSE);
    }
    free(text);
}

/* cli_number(): digits only, within its bounds, with the reason otherwise. */
static void test_number(void)
{
    unsigned long n = 7;
    CU_ASSERT_PTR_NULL(cli_number("256", 1, 65535, &n));
    EXPECT_UINT(n, 256);
    CU_ASSERT_PTR_NULL(cli_number("1", 1, 1, &n));
    EXPECT_UINT(n, 1);
    static const char *const not_numbers[] = {"", "-1", " 1", "+1", "1x", "0x10", "1 "};
    /* Bounded by the table. */
    for (size_t i = 0; i < sizeof not_numbers / sizeof not_numbers[0]; i++) {
        n = 7;
        const char *why = cli_number(not_numbers[i], 0, 100, &n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        EXPECT_STR(why, "not a number");
        EXPECT_UINT(n, 7); /* untouched */
    }
    EXPECT_STR(cli_number("0", 1, 65535, &n), "out of range (1 to 65535)");
    EXPECT_STR(cli_number("65536", 1, 65535, &n), "out of range (1 to 65535)");
    EXPECT_STR(cli_number("99999999999999999999999", 1, 65535, &n), "out of range (1 to 65535)");
    EXPECT_UINT(n, 7);
}

void test_cli_register(void)
{
    CU_pSuite s = CU_add_suite("cli", NULL, NULL);
    if (s == NULL)
        return;
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "common options, both forms", test_options);
    CU_add_test(s, "errors have a message", test_errors);
    CU_add_test(s, "error message fits errcap", test_error_message_fits);
    CU_add_test(s, "--help", test_help);
    CU_add_test(s, "extras applied in order", test_extras_in_order);
    CU_add_test(s, "extra flag", test_extra_flag);
    CU_add_test(s, "extra apply error", test_extra_error);
    CU_add_test(s, "usage mentions every option", test_usage);
    CU_add_test(s, "cli_number: digits, bounds, reasons", test_number);
}
