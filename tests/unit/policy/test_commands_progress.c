/* test_commands_progress.c - the text of a commanded sweep's reply while it
 * waits and runs (commands_progress.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "policy/commands.h"

static void waiting_says_what_for(void **state)
{
    (void)state;
    char buf[512];
    commands_progress p = { .queued = 1, .why = CMD_WAIT_OP8, .wait_ms = 26100 };
    commands_format_sweep_progress(&p, 0, buf, sizeof buf);
    assert_string_equal(buf, "Sweep of this server queued. Discord allows one member list per server every 30 s; "
                             "starting in 27 s.");
    p.why = CMD_WAIT_BUSY;
    commands_format_sweep_progress(&p, 1, buf, sizeof buf);
    assert_non_null(strstr(buf, "Dry run of this server's sweep queued. Another server's sweep runs"));
    p.why = CMD_WAIT_SESSION;
    commands_format_sweep_progress(&p, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "re-established"));
}

static void running_shows_chunks_and_rows(void **state)
{
    (void)state;
    char buf[512];
    commands_progress p = { .chunk_count = 0 };
    commands_format_sweep_progress(&p, 0, buf, sizeof buf);
    assert_string_equal(buf, "Sweep of this server running: asking Discord for the member list, 0 row(s) removed so far.");
    p = (commands_progress){ .chunks_seen = 2, .chunk_count = 5, .members = 1500, .removed = 3, .stale = 10 };
    commands_format_sweep_progress(&p, 0, buf, sizeof buf);
    assert_string_equal(buf, "Sweep of this server running: member list chunk 2 of 5, 1500 members listed, "
                             "3 of 10 stale row(s) removed so far.");
    p = (commands_progress){ .members = 700 };
    commands_format_sweep_progress(&p, 1, buf, sizeof buf);
    assert_string_equal(buf, "Dry run of this server's sweep running: 700 members listed so far, 0 row(s) counted so far.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(waiting_says_what_for),
        cmocka_unit_test(running_shows_chunks_and_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
