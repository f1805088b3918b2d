/* test_grace.c - the grace period's decisions (policy/grace.c, #17) and
 * their texts in the command replies (policy/commands.c): a departure is
 * deleted at once without a grace period or in a dry run, else marked with
 * its due time (the notice only for a member's own departure); due times,
 * the timer's sleep, the per-minute notice limit, the notice's template,
 * and the status / test lines about pending departures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy/commands.h"
#include "policy/grace.h"

#define NOW INT64_C(1796385600000)       /* 2026-12-04 12:00:00 UTC */

static void without_grace_or_in_a_dry_run_deletes_at_once(void **state)
{
    (void)state;
    grace_policy none = { .grace_hours = 0, .notify = 1 };
    grace_policy dry = { .grace_hours = 24, .dry_run = 1, .notify = 1 };
    grace_plan p = grace_on_departure(&none, AUDIT_MEMBER_REMOVE, 5, NOW);
    assert_int_equal(p.verdict, GRACE_DELETE_NOW);
    assert_int_equal(p.notify, 0);
    p = grace_on_departure(&dry, AUDIT_MEMBER_REMOVE, 5, NOW);
    assert_int_equal(p.verdict, GRACE_DELETE_NOW);
    assert_int_equal(p.notify, 0);                   /* never a DM in a dry run */
}

static void a_departure_is_marked_with_its_due_time(void **state)
{
    (void)state;
    grace_policy g = { .grace_hours = 48, .notify = 1 };
    grace_plan p = grace_on_departure(&g, AUDIT_MEMBER_REMOVE, 5, NOW);
    assert_int_equal(p.verdict, GRACE_MARK);
    assert_int_equal(p.due_ms, NOW + 48 * 3600000LL);
    assert_int_equal(p.notify, 1);
    /* a sweep's stale row and a whole guild: marked, no notice */
    p = grace_on_departure(&g, AUDIT_SWEEP, 5, NOW);
    assert_int_equal(p.verdict, GRACE_MARK);
    assert_int_equal(p.notify, 0);
    p = grace_on_departure(&g, AUDIT_GUILD_DELETE, 0, NOW);
    assert_int_equal(p.verdict, GRACE_MARK);
    assert_int_equal(p.notify, 0);
    p = grace_on_departure(&g, AUDIT_LEFT_WHILE_OFFLINE, 0, NOW);
    assert_int_equal(p.verdict, GRACE_MARK);
    /* notify off: no notice */
    g.notify = 0;
    assert_int_equal(grace_on_departure(&g, AUDIT_MEMBER_REMOVE, 5, NOW).notify, 0);
    /* a tiny grace still lies in the future */
    g.grace_hours = 1e-9;
    assert_true(grace_on_departure(&g, AUDIT_MEMBER_REMOVE, 5, NOW).due_ms > NOW);
    g.grace_hours = 0.0005;
    assert_int_equal(grace_on_departure(&g, AUDIT_MEMBER_REMOVE, 5, NOW).due_ms, NOW + 1800);
}

static void due_times_and_the_timers_sleep(void **state)
{
    (void)state;
    assert_true(grace_is_due(NOW, NOW));
    assert_false(grace_is_due(NOW + 1, NOW));
    assert_int_equal(grace_sleep_ms(0, NOW), -1);                   /* nothing pending */
    assert_int_equal(grace_sleep_ms(NOW - 5, NOW), 0);
    assert_int_equal(grace_sleep_ms(NOW + 1500, NOW), 1500);
    assert_int_equal(grace_sleep_ms(NOW + 86400000, NOW), GRACE_MAX_SLEEP_MS);
}

static void the_notice_limit_counts_what_it_skips(void **state)
{
    (void)state;
    grace_notice_limit l = { 0 };
    int sent = 0;
    for (int i = 0; i < 15; i++)
        sent += grace_notice_take(&l, 10, NOW + i * 100);
    assert_int_equal(sent, 10);
    assert_int_equal(l.sent, 10);
    assert_int_equal(l.skipped, 5);
    /* a minute after the window began, ten more may go */
    assert_int_equal(grace_notice_take(&l, 10, NOW + 59999), 0);
    assert_int_equal(grace_notice_take(&l, 10, NOW + 60000), 1);
    assert_int_equal(l.sent, 11);
    /* 0 a minute sends none */
    grace_notice_limit z = { 0 };
    assert_int_equal(grace_notice_take(&z, 0, NOW), 0);
    assert_int_equal(z.skipped, 1);
}

static void the_notice_text_fills_the_template(void **state)
{
    (void)state;
    char buf[256];
    grace_format_notice("You left {guild}; deleted on {date} ({hours} h).", "Chess Club", 48, NOW + 48 * 3600000LL,
                        buf, sizeof buf);
    assert_string_equal(buf, "You left Chess Club; deleted on 2026-12-06 12:00 UTC (48 h).");
    grace_format_notice("{guild}{guild} {hours}", NULL, 0.5, NOW, buf, sizeof buf);
    assert_string_equal(buf, "a servera server 0.5");
    grace_format_notice("Bye from {guild}", "A very long server name", 1, NOW, buf, 12);
    assert_string_equal(buf, "Bye from A ");                        /* cut, NUL-terminated */
    grace_format_notice("{hours", "x", 1, NOW, buf, sizeof buf);
    assert_string_equal(buf, "{hours");
}

static void status_and_test_show_the_pending_departures(void **state)
{
    (void)state;
    char buf[2048];
    commands_status st = { .now_wall_ms = NOW, .guild_rows = -1, .grace_hours = 48, .grace_pending = 3,
                           .grace_next_due_ms = NOW + 3600000, .notices_sent = 10, .notices_skipped = 5 };
    st.removed[AUDIT_GRACE_EXPIRED] = 7;
    commands_format_status(&st, buf, sizeof buf);
    assert_non_null(strstr(buf, "Grace period: 48 h; pending departures: 3, next due 2026-12-04 13:00"));
    assert_non_null(strstr(buf, "when their grace ran out: 7\n"));
    assert_non_null(strstr(buf, "Departure notices: 10 sent, 5 skipped (limit), 0 not delivered"));
    commands_status off = { .now_wall_ms = NOW, .guild_rows = -1 };
    commands_format_status(&off, buf, sizeof buf);
    assert_null(strstr(buf, "Grace period"));                       /* unused: not shown */
    uint64_t ids[] = { 11, 12 };
    commands_format_pending(3, ids, 2, NOW - 1, NOW, buf, sizeof buf);
    assert_string_equal(buf, "Pending departures (grace period, rows kept until due): 3 member(s): 11, 12, ...; "
                             "next due now");
    commands_format_pending(0, NULL, 0, 0, NOW, buf, sizeof buf);
    assert_string_equal(buf, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(without_grace_or_in_a_dry_run_deletes_at_once),
        cmocka_unit_test(a_departure_is_marked_with_its_due_time),
        cmocka_unit_test(due_times_and_the_timers_sleep),
        cmocka_unit_test(the_notice_limit_counts_what_it_skips),
        cmocka_unit_test(the_notice_text_fills_the_template),
        cmocka_unit_test(status_and_test_show_the_pending_departures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
