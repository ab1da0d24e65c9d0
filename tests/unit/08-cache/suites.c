/* suites.c: the unit-test suites of steps/08-cache/. */
#include "tests.h"

void test_register_suites(void)
{
    test_cache_register();
    test_resolve_register();
}
