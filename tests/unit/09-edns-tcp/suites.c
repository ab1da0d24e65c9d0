/* suites.c: the unit-test suites of steps/09-edns-tcp/. */
#include "tests.h"

void test_register_suites(void)
{
    test_edns_register();
    test_upstream_register();
    test_loop_register();
    test_tcp_register();
}
