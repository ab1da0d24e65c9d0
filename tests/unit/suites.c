/* suites.c: the unit-test suites of common/, in the order the chapters meet the modules. */
#include "tests.h"

void test_register_suites(void)
{
    test_buf_register();
    test_dns_register();
    test_text_register();
    test_name_register();
    test_hdr_register();
    test_rdata_register();
    test_msg_register();
    test_net_register();
    test_cli_register();
    test_log_register();
    test_signals_register();
    test_trace_register();
    test_regressions_register();
}
