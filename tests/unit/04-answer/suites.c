/* suites.c: the unit-test suites of steps/04-answer/. */
#include "tests.h"

void test_register_suites(void)
{
    test_zone_register();
    test_zonefile_register();
    test_lookup_register();
    test_resp_register();
    test_auth_register();
}
