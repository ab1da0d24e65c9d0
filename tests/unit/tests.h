/* tests.h: the unit-test suites and the assertions they share. */
#ifndef DNS_TESTS_H
#define DNS_TESTS_H

#include <stddef.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "name.h"

/*
 * Each unit-test binary is tests/unit/main.c plus one directory of suites:
 * tests/unit/ itself for common/ (test_X.c tests common/X.c), or
 * tests/unit/NN-name/ for the files of steps/NN-name/, built against that
 * step's copy-on-change overlay. The directory's suites.c defines
 * test_register_suites(), which calls each test_X_register() in order.
 */
void test_register_suites(void);

/* common/ */
void test_buf_register(void);
void test_dns_register(void);
void test_text_register(void);
void test_name_register(void);
void test_hdr_register(void);
void test_rdata_register(void);
void test_msg_register(void);
void test_net_register(void);
void test_cli_register(void);
void test_log_register(void);
void test_signals_register(void);
void test_trace_register(void);
void test_regressions_register(void);
/* steps/04-answer/ and steps/05-compression/ */
void test_zone_register(void);
void test_zonefile_register(void);
void test_lookup_register(void);
void test_resp_register(void);
void test_auth_register(void);
void test_compress_register(void);
void test_workers_register(void);
/* steps/06-forwarding/ */
void test_loop_register(void);
void test_upstream_register(void);
void test_relay_register(void);
void test_forward_register(void);
/* steps/07-recursion/ */
void test_hints_register(void);
/* steps/08-cache/ */
void test_cache_register(void);
void test_resolve_register(void);
/* steps/09-edns-tcp/ */
void test_edns_register(void);
void test_tcp_register(void);

/*
 * Assertions that say what was expected and what came instead, so a failure
 * reads "h.qdcount: expected 258 (0x102), got 772 (0x304)" rather than only
 * naming the expression. They record a CUnit failure and let the test go on.
 */
void test_expect_uint(unsigned long long got, unsigned long long expected, const char *what,
                      const char *file, unsigned line);
void test_expect_int(long long got, long long expected, const char *what, const char *file,
                     unsigned line);
void test_expect_str(const char *got, const char *expected, const char *what, const char *file,
                     unsigned line);
/* Compares byte strings; on a mismatch prints both in hex and where they differ. */
void test_expect_bytes(const uint8_t *got, size_t got_len, const uint8_t *expected,
                       size_t expected_len, const char *what, const char *file, unsigned line);
void test_expect_status(enum name_status got, enum name_status expected, const char *what,
                        const char *file, unsigned line);

/* The C name of a status ("NAME_ERR_TRUNCATED"), for failure messages. */
const char *test_status_name(enum name_status status);

#define EXPECT_UINT(got, expected)                                                                 \
    test_expect_uint((unsigned long long)(got), (unsigned long long)(expected), #got, __FILE__,    \
                     __LINE__)
#define EXPECT_INT(got, expected)                                                                  \
    test_expect_int((long long)(got), (long long)(expected), #got, __FILE__, __LINE__)
#define EXPECT_STR(got, expected) test_expect_str((got), (expected), #got, __FILE__, __LINE__)
#define EXPECT_BYTES(got, got_len, expected, expected_len)                                         \
    test_expect_bytes((got), (got_len), (expected), (expected_len), #got, __FILE__, __LINE__)
#define EXPECT_STATUS(got, expected) test_expect_status((got), (expected), #got, __FILE__, __LINE__)

#endif
