/* test_config_grace.c - the grace period's settings (#17): grace_hours is
 * a bounded real (0 by default: delete at once), notify_departed off|dm,
 * notify_message a template whose unknown placeholders are refused with
 * a message naming them, notify_per_minute bounded; --print-config shows
 * them as a config file would. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "config/config.h"

static void defaults_delete_at_once_without_notices(void **state)
{
    (void)state;
    config c;
    assert_int_equal(config_defaults(&c), DC_OK);
    assert_true(c.grace_hours == 0);
    assert_int_equal(c.notify_departed, CONFIG_NOTIFY_OFF);
    assert_int_equal(c.notify_per_minute, 10);
    assert_string_equal(c.notify_message, CONFIG_NOTIFY_DEFAULT);
    char err[256];
    assert_int_equal(config_template_check(c.notify_message, err, sizeof err), 0);
    config_free(&c);
}

static void values_are_parsed_and_bounded(void **state)
{
    (void)state;
    config c;
    char err[256] = "";
    assert_int_equal(config_defaults(&c), DC_OK);
    assert_int_equal(config_set(&c, "grace_hours", "0.0005", err, sizeof err), DC_OK);
    assert_true(c.grace_hours > 0.0004 && c.grace_hours < 0.0006);
    assert_int_equal(config_set(&c, "grace-hours", "72", err, sizeof err), DC_OK);
    assert_true(c.grace_hours == 72);
    assert_int_not_equal(config_set(&c, "grace_hours", "9000", err, sizeof err), DC_OK);
    assert_int_not_equal(config_set(&c, "grace_hours", "-1", err, sizeof err), DC_OK);
    assert_true(c.grace_hours == 72);                        /* unchanged by a refused value */
    assert_int_equal(config_set(&c, "notify_departed", "dm", err, sizeof err), DC_OK);
    assert_int_equal(c.notify_departed, CONFIG_NOTIFY_DM);
    assert_int_not_equal(config_set(&c, "notify_departed", "email", err, sizeof err), DC_OK);
    assert_non_null(strstr(err, "off or dm"));
    assert_int_equal(c.notify_departed, CONFIG_NOTIFY_DM);
    assert_int_equal(config_set(&c, "notify_per_minute", "0", err, sizeof err), DC_OK);
    assert_int_not_equal(config_set(&c, "notify_per_minute", "1001", err, sizeof err), DC_OK);
    config_free(&c);
}

static void unknown_placeholders_are_refused(void **state)
{
    (void)state;
    config c;
    char err[256] = "";
    assert_int_equal(config_defaults(&c), DC_OK);
    assert_int_equal(config_set(&c, "notify_message", "Bye from {guild}; gone on {date} ({hours} h)", err,
                                sizeof err), DC_OK);
    assert_string_equal(c.notify_message, "Bye from {guild}; gone on {date} ({hours} h)");
    assert_int_not_equal(config_set(&c, "notify_message", "Bye from {gulid}", err, sizeof err), DC_OK);
    assert_non_null(strstr(err, "{gulid}"));
    assert_non_null(strstr(err, "{guild}, {hours}, {date}"));
    assert_string_equal(c.notify_message, "Bye from {guild}; gone on {date} ({hours} h)");
    assert_int_not_equal(config_set(&c, "notify_message", "a lone { brace", err, sizeof err), DC_OK);
    assert_int_not_equal(config_set(&c, "notify_message", "", err, sizeof err), DC_OK);
    config_free(&c);
}

static void dump_shows_the_settings(void **state)
{
    (void)state;
    config c;
    char err[256], *text = NULL;
    size_t len = 0;
    assert_int_equal(config_defaults(&c), DC_OK);
    assert_int_equal(config_set(&c, "notify_departed", "dm", err, sizeof err), DC_OK);
    assert_int_equal(config_set(&c, "grace_hours", "48", err, sizeof err), DC_OK);
    FILE *out = open_memstream(&text, &len);
    config_dump(&c, out);
    fclose(out);
    assert_non_null(strstr(text, "grace_hours = 48"));
    assert_non_null(strstr(text, "notify_departed = dm"));
    assert_non_null(strstr(text, "notify_per_minute = 10"));
    assert_non_null(strstr(text, "notify_message = You left {guild}."));
    free(text);
    config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_delete_at_once_without_notices),
        cmocka_unit_test(values_are_parsed_and_bounded),
        cmocka_unit_test(unknown_placeholders_are_refused),
        cmocka_unit_test(dump_shows_the_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
