/* main.c: the unit-test runner: runs the suites its binary registers, exits non-zero on a failure.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>

#include "tests.h"

/* Shared assertions ---------------------------------------------------------- */

/* CUnit copies the condition text of a failure, so a local buffer is fine. */
static void record(int ok, const char *message, const char *file, unsigned line)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, line, message, file, "", CU_FALSE);
}

void test_expect_uint(unsigned long long got, unsigned long long expected, const char *what,
                      const char *file, unsigned line)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: expected %llu (0x%llx), got %llu (0x%llx)", what, expected,
             expected, got, got);
    record(got == expected, msg, file, line);
}

void test_expect_int(long long got, long long expected, const char *what, const char *file,
                     unsigned line)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: expected %lld, got %lld", what, expected, got);
    record(got == expected, msg, file, line);
}

void test_expect_str(const char *got, const char *expected, const char *what, const char *file,
                     unsigned line)
{
    char msg[1024];
    int ok = (got == NULL || expected == NULL) ? got == expected : strcmp(got, expected) == 0;
    snprintf(msg, sizeof msg, "%s: expected %s%s%s, got %s%s%s", what, expected ? "\"" : "",
             expected ? expected : "NULL", expected ? "\"" : "", got ? "\"" : "",
             got ? got : "NULL", got ? "\"" : "");
    record(ok, msg, file, line);
}

static void print_hex(const char *label, const uint8_t *p, size_t n, size_t mark)
{
    printf("\n      %-8s (%zu bytes):", label, n);
    for (size_t i = 0; i < n; i++) {
        if (i % 16 == 0)
            printf("\n        %04zx:", i);
        printf("%s%02x", i == mark ? ">" : " ", p[i]);
    }
}

void test_expect_bytes(const uint8_t *got, size_t got_len, const uint8_t *expected,
                       size_t expected_len, const char *what, const char *file, unsigned line)
{
    size_t first_diff = 0;
    while (first_diff < got_len && first_diff < expected_len &&
           got[first_diff] == expected[first_diff])
        first_diff++;
    int ok = got_len == expected_len && first_diff == got_len;
    char msg[512];
    if (ok) {
        snprintf(msg, sizeof msg, "%s: bytes as expected", what);
    } else {
        snprintf(msg, sizeof msg,
                 "%s: bytes differ (expected %zu bytes, got %zu; first difference at offset %zu,"
                 " marked '>' in the dump above)",
                 what, expected_len, got_len, first_diff);
        printf("\n    %s:%u: %s", file, line, what);
        print_hex("expected", expected, expected_len, first_diff);
        print_hex("got", got, got_len, first_diff);
        printf("\n");
    }
    record(ok, msg, file, line);
}

const char *test_status_name(enum name_status status)
{
    switch (status) {
    case NAME_OK:
        return "NAME_OK";
    case NAME_ERR_TRUNCATED:
        return "NAME_ERR_TRUNCATED";
    case NAME_ERR_LABEL_TYPE:
        return "NAME_ERR_LABEL_TYPE";
    case NAME_ERR_TOO_LONG:
        return "NAME_ERR_TOO_LONG";
    case NAME_ERR_POINTER_FORWARD:
        return "NAME_ERR_POINTER_FORWARD";
    case NAME_ERR_POINTER_HEADER:
        return "NAME_ERR_POINTER_HEADER";
    case NAME_ERR_TOO_MANY_HOPS:
        return "NAME_ERR_TOO_MANY_HOPS";
    }
    return "(not a name_status)";
}

void test_expect_status(enum name_status got, enum name_status expected, const char *what,
                        const char *file, unsigned line)
{
    char msg[512];
    snprintf(msg, sizeof msg, "%s: expected %s, got %s (%d)", what, test_status_name(expected),
             test_status_name(got), (int)got);
    record(got == expected, msg, file, line);
}

/* The runner ------------------------------------------------------------------ */

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "unit-tests: cannot initialize CUnit: %s\n", CU_get_error_msg());
        return 2;
    }

    /* The suites of this binary: tests/unit/suites.c for common/, or
     * tests/unit/NN-name/suites.c for the files of steps/NN-name/. */
    test_register_suites();

    if (CU_get_error() != CUE_SUCCESS) {
        fprintf(stderr, "unit-tests: cannot register the tests: %s\n", CU_get_error_msg());
        CU_cleanup_registry();
        return 2;
    }

    CU_basic_set_mode(CU_BRM_NORMAL);
    CU_basic_run_tests();

    unsigned failures = CU_get_number_of_failures();
    unsigned tests_failed = CU_get_number_of_tests_failed();
    unsigned suites_failed = CU_get_number_of_suites_failed();
    if (failures > 0) {
        printf("\nAll failures:");
        CU_basic_show_failures(CU_get_failure_list());
        printf("\n");
    }
    int run_error = CU_get_error() != CUE_SUCCESS;
    if (run_error)
        fprintf(stderr, "unit-tests: CUnit error: %s\n", CU_get_error_msg());

    CU_cleanup_registry();
    return (failures > 0 || tests_failed > 0 || suites_failed > 0 || run_error) ? 1 : 0;
}
