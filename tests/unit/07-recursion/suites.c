/* suites.c: the unit-test suites of steps/07-recursion/. */
#include "tests.h"

void test_register_suites(void)
{
    test_hints_register();
    test_upstream_register();
}
