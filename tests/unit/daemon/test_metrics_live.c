/* test_metrics_live.c - the daemon's counting for /metrics (metrics_live.c,
 * removal_log_committed) on a real SQLite file and the virtual loop: rows
 * deleted count when their turn commits, not when the delete runs; a
 * refused commit (rolled back) adds nothing and its retry adds them once;
 * a dry run adds nothing; sweeps by result with their duration; the
 * gauges read from the daemon at render time. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/metrics.h"
#include "config/config.h"
#include "daemon/daemon_internal.h"
#include "daemon/metrics_live.h"
#include "loop/loop_virtual.h"
#include "proto/metric_defs.h"
#include "turn_world.h"
#include "store_fixture.h"

#define G UINT64_C(1000000000000000001)
#define U(k) (UINT64_C(2000000000000000000) + (k))

typedef struct {
    fx_dir dir;
    config cfg;
    dc_loop loop;
    dc_daemon d;
} world;

static world *make(int dry_run)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    fx_mkdir(&w->dir);
    assert_int_equal(fx_exec_at(w->dir.db, "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, "
                                           "username TEXT, UNIQUE (discord_id, guild_id));"
                                           "INSERT INTO users VALUES (2000000000000000001, 1000000000000000001, 'a'),"
                                           "(2000000000000000002, 1000000000000000001, 'b'),"
                                           "(2000000000000000003, 1000000000000000001, 'c')"), SQLITE_OK);
    assert_int_equal(config_defaults(&w->cfg), DC_OK);
    free(w->cfg.db);
    free(w->cfg.token);
    w->cfg.db = strdup(w->dir.db);
    w->cfg.token = strdup("test-token");
    w->cfg.dry_run = dry_run;
    tw_start(&w->loop, &w->d, &w->cfg);
    metrics_live_start(&w->d);
    return w;
}

static int setup(void **state)
{
    *state = make(0);
    return 0;
}

static int setup_dry(void **state)
{
    *state = make(1);
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    metrics_live_stop(&w->d);
    metrics_reset();
    tw_stop(&w->loop, &w->d);
    config_free(&w->cfg);
    fx_rmdir(&w->dir);
    free(w);
    return 0;
}

static void depart(world *w, uint64_t user)
{
    turn_write_do(&w->d, (turn_write){ .kind = TW_DELETE_MEMBER, .shard_id = 0, .guild_id = G, .user_id = user,
                                       .reason = AUDIT_MEMBER_REMOVE, .at_ms = loop_wall(&w->loop) });
}

static double deleted(const char *reason)
{
    return metrics_value(MX_ROWS_DELETED, reason, NULL);
}

static long long audited_rows(world *w)
{
    return fx_int_at(w->dir.db, "SELECT COALESCE(SUM(rows), 0) FROM cleaner_audit WHERE reason = 'member_remove'");
}

static void counted_when_the_turn_commits(void **state)
{
    world *w = *state;
    assert_true(deleted("member_remove") == 0);
    depart(w, U(1));
    depart(w, U(2));
    assert_true(deleted("member_remove") == 0);        /* run in the open turn, not committed */
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_true(deleted("member_remove") == 2);
    assert_int_equal(audited_rows(w), 2);
    depart(w, U(3));
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_true(deleted("member_remove") == 3);
    assert_true(deleted("sweep") == 0 && deleted("guild_delete") == 0);
}

/* The COMMIT is refused (a deferred foreign key): the turn rolls back and
 * is retried; only the commit that went through counts, once. */
static void a_rolled_back_turn_adds_nothing(void **state)
{
    world *w = *state;
    assert_int_equal(fx_exec_at(w->dir.db, "CREATE TABLE pets (owner INTEGER, guild INTEGER, FOREIGN KEY (owner, guild) "
                                           "REFERENCES users (discord_id, guild_id) DEFERRABLE INITIALLY DEFERRED);"
                                           "INSERT INTO pets VALUES (2000000000000000002, 1000000000000000001)"),
                     SQLITE_OK);
    depart(w, U(2));
    depart(w, U(3));
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_true(w->d.turn.journal.held);
    assert_true(deleted("member_remove") == 0);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);   /* refused again */
    assert_true(w->d.turn.journal.held);
    assert_true(deleted("member_remove") == 0);
    assert_int_equal(fx_exec_at(w->dir.db, "DELETE FROM pets"), SQLITE_OK);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 5000);
    assert_false(turn_held(&w->d));
    assert_true(deleted("member_remove") == 2);
    assert_int_equal(audited_rows(w), 2);
}

static void a_dry_run_adds_nothing(void **state)
{
    world *w = *state;
    depart(w, U(1));
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM users"), 3);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 1);   /* would be */
    assert_true(deleted("member_remove") == 0);
}

static void sweeps_by_result_and_duration(void **state)
{
    (void)state;
    metrics_live_sweep_done(1, 0, 0, 1200);
    metrics_live_sweep_done(1, 0, 0, 400);
    metrics_live_sweep_done(1, 1, 0, 50);            /* the guard refused */
    metrics_live_sweep_done(0, 0, 0, 30000);
    metrics_live_sweep_done(1, 0, 1, 2000);
    assert_true(metrics_value(MX_SWEEPS, "ok", NULL) == 2);
    assert_true(metrics_value(MX_SWEEPS, "refused", NULL) == 1);
    assert_true(metrics_value(MX_SWEEPS, "aborted", NULL) == 1);
    assert_true(metrics_value(MX_SWEEPS, "dry_run", NULL) == 1);
    assert_true(metrics_value(MX_SWEEP_DURATION, NULL, NULL) == 5);
    char *s = metrics_render(NULL);
    assert_non_null(strstr(s, "discord_cleaner_sweep_duration_seconds_bucket{le=\"0.5\"} 2\n"));
    assert_non_null(strstr(s, "discord_cleaner_sweep_duration_seconds_bucket{le=\"30\"} 5\n"));
    assert_non_null(strstr(s, "discord_cleaner_sweep_duration_seconds_sum 33.65\n"));
    free(s);
}

static void dispatches_and_sessions(void **state)
{
    world *w = *state;
    shard *s = &w->d.shards[0];
    metrics_live_dispatch(s, DC_EV_READY, "READY");
    metrics_live_dispatch(s, DC_EV_RESUMED, "RESUMED");
    metrics_live_dispatch(s, DC_EV_RESUMED, "RESUMED");
    metrics_live_dispatch(s, DC_EV_UNKNOWN, "TYPING_START");
    assert_true(metrics_value(MX_GATEWAY_EVENTS, "RESUMED", NULL) == 2);
    assert_true(metrics_value(MX_GATEWAY_EVENTS, "TYPING_START", NULL) == 1);
    assert_true(metrics_value(MX_GATEWAY_SESSIONS, "0", "identify") == 1);
    assert_true(metrics_value(MX_GATEWAY_SESSIONS, "0", "resume") == 2);
}

/* The gauges come from the daemon when /metrics is rendered. */
static void gauges_read_at_render(void **state)
{
    world *w = *state;
    assert_int_equal(fx_exec_at(w->dir.db, "INSERT INTO cleaner_guild_state (guild_id, needs_reconcile) VALUES "
                                           "(1000000000000000005, 1), (1000000000000000006, 1), "
                                           "(1000000000000000007, 0)"), SQLITE_OK);
    char *s = metrics_render(NULL);
    assert_non_null(strstr(s, "discord_cleaner_gateway_connected{shard=\"0\"} 0\n"));   /* not READY */
    assert_non_null(strstr(s, "discord_cleaner_guilds{shard=\"0\"} 0\n"));
    assert_non_null(strstr(s, "discord_cleaner_gateway_closes_total{shard=\"0\",code=\"4004\"} 0\n"));
    assert_non_null(strstr(s, "discord_cleaner_pending_reconciliation 2\n"));
    free(s);
}

int main(void)
{
    log_set_level(DCL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(counted_when_the_turn_commits, setup, teardown),
        cmocka_unit_test_setup_teardown(a_rolled_back_turn_adds_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(a_dry_run_adds_nothing, setup_dry, teardown),
        cmocka_unit_test_setup_teardown(sweeps_by_result_and_duration, setup, teardown),
        cmocka_unit_test_setup_teardown(dispatches_and_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(gauges_read_at_render, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
