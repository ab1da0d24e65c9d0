/* suites.c: the unit-test suites of steps/05-compression/. */
#include "tests.h"

void test_register_suites(void)
{
    test_compress_register();
    test_resp_register();
    test_auth_register();
    test_workers_register();
}
