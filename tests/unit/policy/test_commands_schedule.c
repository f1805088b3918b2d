/* test_commands_schedule.c - the schedule command (commands_schedule.c):
 * parsing `!cleanup_schedule`, the bounds, the permission rule shared with
 * the slash path (commands_decide_schedule), and the reply texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "policy/commands.h"
#include "policy/perms.h"
#include "proto/proto.h"

static commands_state *new_state(double min_hours)
{
    commands_config c = { .prefix = "!", .admin_permission = DC_PERM(ADMINISTRATOR), .min_interval_hours = min_hours };
    return commands_state_new(&c);
}

static commands_decision decide(commands_state *cs, const char *content, uint64_t perms, int64_t now)
{
    commands_message m = { .guild_id = 1, .channel_id = 2, .message_id = 3, .author_id = 4, .content = content };
    commands_decision d;
    commands_decide(cs, &m, perms, 0, now, &d);
    return d;
}

static void parses_show_set_reset(void **state)
{
    (void)state;
    commands_state *cs = new_state(0);
    commands_decision d = decide(cs, "!cleanup_schedule", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    assert_int_equal(d.sched, CMD_SCHED_SHOW);
    d = decide(cs, "!cleanup_schedule 48", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    assert_int_equal(d.sched, CMD_SCHED_SET);
    assert_true(d.hours == 48.0);
    d = decide(cs, "!cleanup_schedule   1.5h ", PERM_ALL, 0);
    assert_int_equal(d.sched, CMD_SCHED_SET);
    assert_true(d.hours == 1.5);
    d = decide(cs, "!cleanup_schedule 720", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    d = decide(cs, "!cleanup_schedule 1", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    d = decide(cs, "!cleanup_schedule DEFAULT", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    assert_int_equal(d.sched, CMD_SCHED_RESET);
    commands_state_free(cs);
}

static void bounds_and_garbage_are_refused_clearly(void **state)
{
    (void)state;
    commands_state *cs = new_state(0);
    const char *bad[] = { "!cleanup_schedule 0.5", "!cleanup_schedule 721", "!cleanup_schedule -3",
                          "!cleanup_schedule soon", "!cleanup_schedule nan", "!cleanup_schedule inf",
                          "!cleanup_schedule 48 12", "!cleanup_schedule 4x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        commands_decision d = decide(cs, bad[i], PERM_ALL, 0);
        assert_int_equal(d.kind, CMD_HELP);
        assert_non_null(strstr(d.text, "from 1 to 720"));
        assert_non_null(strstr(d.text, "nothing changed"));
    }
    commands_state_free(cs);
    cs = new_state(0.001);                /* min_interval_hours lowered: 0.002 h is fine */
    commands_decision d = decide(cs, "!cleanup_schedule 0.002", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    assert_true(d.hours == 0.002);
    assert_true(commands_min_interval_hours(cs) == 0.001);
    commands_state_free(cs);
}

static void non_admin_refused_like_other_commands(void **state)
{
    (void)state;
    commands_state *cs = new_state(0);
    commands_decision d = decide(cs, "!cleanup_schedule 48", DC_PERM(MANAGE_GUILD), 0);
    assert_int_equal(d.kind, CMD_REFUSE);
    assert_non_null(strstr(d.text, "ADMINISTRATOR"));
    d = decide(cs, "!cleanup_schedule", DC_PERM(MANAGE_GUILD), 1000);
    assert_int_equal(d.kind, CMD_IGNORE);     /* once per user per interval */
    commands_state_free(cs);
}

/* The slash path's entry: the same decision from (guild, perms, hours or none). */
static void slash_path_reaches_the_same_decision(void **state)
{
    (void)state;
    commands_state *cs = new_state(0);
    commands_decision d;
    commands_decide_schedule(cs, 1, 4, PERM_ALL, 0, 1, 48.0, 0, &d);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    assert_int_equal(d.sched, CMD_SCHED_SET);
    assert_true(d.hours == 48.0);
    commands_decide_schedule(cs, 1, 4, PERM_ALL, 0, 0, 0, 0, &d);
    assert_int_equal(d.kind, CMD_SCHEDULE);
    assert_int_equal(d.sched, CMD_SCHED_SHOW);
    commands_decide_schedule(cs, 1, 4, PERM_ALL, 0, 1, 0.25, 0, &d);
    assert_int_equal(d.kind, CMD_HELP);
    commands_decide_schedule(cs, 1, 5, 0, 1, 1, 24.0, 0, &d);     /* a bot owner */
    assert_int_equal(d.kind, CMD_SCHEDULE);
    commands_decide_schedule(cs, 1, 6, 0, 0, 1, 24.0, 0, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    commands_decide_schedule(cs, 0, 6, PERM_ALL, 0, 1, 24.0, 0, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    assert_non_null(strstr(d.text, "only in a server"));
    commands_state_free(cs);
}

static void reply_texts(void **state)
{
    (void)state;
    char buf[1024], iv[64];
    commands_format_interval(48 * 3600000LL, iv, sizeof iv);
    assert_string_equal(iv, "48 h");
    commands_format_interval(5400000, iv, sizeof iv);
    assert_string_equal(iv, "1.5 h (1 h 30 min)");
    commands_schedule_view v = { .op = CMD_SCHED_SHOW, .source = CMD_INTERVAL_DEFAULT, .effective_ms = 86400000,
                                 .default_ms = 86400000 };
    commands_format_schedule(&v, buf, sizeof buf);
    assert_non_null(strstr(buf, "Sweep interval: 24 h, the bot's default"));
    v = (commands_schedule_view){ .op = CMD_SCHED_SET, .stored = 1, .source = CMD_INTERVAL_ADMIN,
                                  .effective_ms = 172800000, .admin_ms = 172800000, .next_run_ms = 2000000,
                                  .now_wall_ms = 1000000 };
    commands_format_schedule(&v, buf, sizeof buf);
    assert_non_null(strstr(buf, "Saved: this server asks for a sweep every 48 h."));
    assert_non_null(strstr(buf, "chosen by this server's admins"));
    assert_non_null(strstr(buf, "Next sweep: 1970-01-01 00:33:20 UTC"));
    assert_null(strstr(buf, "does not apply"));
    /* the operator's guild_interval overrides: said, not pretended */
    v.source = CMD_INTERVAL_OPERATOR;
    v.effective_ms = 6 * 3600000LL;
    commands_format_schedule(&v, buf, sizeof buf);
    assert_non_null(strstr(buf, "It does not apply for now"));
    assert_non_null(strstr(buf, "Sweep interval: 6 h, set for this server by the bot's operator"));
    v.op = CMD_SCHED_SHOW;
    commands_format_schedule(&v, buf, sizeof buf);
    assert_non_null(strstr(buf, "admins asked for 48 h"));
    v = (commands_schedule_view){ .op = CMD_SCHED_SET, .stored = 0, .effective_ms = 86400000 };
    commands_format_schedule(&v, buf, sizeof buf);
    assert_non_null(strstr(buf, "nothing changed"));
    assert_null(strstr(buf, "Saved"));
    v = (commands_schedule_view){ .op = CMD_SCHED_RESET, .stored = 1, .effective_ms = 86400000 };
    commands_format_schedule(&v, buf, sizeof buf);
    assert_non_null(strstr(buf, "own schedule is removed"));
}

static void help_and_status_list_it(void **state)
{
    (void)state;
    commands_state *cs = new_state(0);
    commands_decision d = decide(cs, "!cleanup_nonsense", PERM_ALL, 0);
    assert_int_equal(d.kind, CMD_HELP);
    assert_non_null(strstr(d.text, "`!cleanup_schedule [HOURS|default]`"));
    commands_state_free(cs);
    char buf[2048];
    commands_status st = { .guild_rows = -1, .interval_ms = 3 * 3600000LL, .interval_source = CMD_INTERVAL_ADMIN };
    commands_format_status(&st, buf, sizeof buf);
    assert_non_null(strstr(buf, "Sweep interval: 3 h (set by this server's admins)"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_show_set_reset),
        cmocka_unit_test(bounds_and_garbage_are_refused_clearly),
        cmocka_unit_test(non_admin_refused_like_other_commands),
        cmocka_unit_test(slash_path_reaches_the_same_decision),
        cmocka_unit_test(reply_texts),
        cmocka_unit_test(help_and_status_list_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
