/* test_err.c - every dc_err has a name and a sysexits-style status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "base/err.h"

static void names_and_statuses(void **state)
{
    (void)state;
    assert_string_equal(dc_strerror(DC_OK), "success");
    assert_int_equal(dc_err_exit_status(DC_OK), 0);
    assert_int_equal(dc_err_exit_status(DC_ERR_USAGE), 64);
    assert_int_equal(dc_err_exit_status(DC_ERR_CONFIG), 78);
    assert_int_equal(dc_err_exit_status(DC_ERR_UNAVAIL), 69);
    assert_int_equal(dc_err_exit_status(DC_ERR_INTERNAL), 70);
    assert_string_equal(dc_strerror((dc_err)999), "unknown error");
    assert_int_equal(dc_err_exit_status((dc_err)999), 70);
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(names_and_statuses) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
