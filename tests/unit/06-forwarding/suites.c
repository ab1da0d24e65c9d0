/* suites.c: the unit-test suites of steps/06-forwarding/. */
#include "tests.h"

void test_register_suites(void)
{
    test_loop_register();
    test_upstream_register();
    test_relay_register();
    test_forward_register();
}
