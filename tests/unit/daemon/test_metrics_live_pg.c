/* test_metrics_live_pg.c - discord_cleaner_rows_deleted_total on PostgreSQL
 * (the turn pipelined, its rows known only at the commit's outcome): a
 * burst counts when its commit's outcome arrives; a turn refused because
 * another session holds the users table counts nothing until its retry
 * commits, then once.  Skipped without a cluster, failed under CI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
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
#include "pg_fixture.h"

#define G UINT64_C(1000000000000000001)
#define U(k) (UINT64_C(2000000000000000000) + (k))
#define MEMBERS 50

typedef struct {
    char uri[512];
    config cfg;
    dc_loop loop;
    dc_daemon d;
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    *state = w;
    if (!pgfx_cluster())
        return 0;
    assert_int_equal(pgfx_fresh(w->uri, sizeof w->uri, "metricspg"), 0);
    assert_int_equal(config_defaults(&w->cfg), DC_OK);
    free(w->cfg.db);
    free(w->cfg.token);
    w->cfg.db = strdup(w->uri);
    w->cfg.token = strdup("test-token");
    tw_start(&w->loop, &w->d, &w->cfg);
    metrics_live_start(&w->d);
    char sql[256];
    snprintf(sql, sizeof sql, "INSERT INTO users (discord_id, guild_id) SELECT 2000000000000000000 + k, "
                              "1000000000000000001 FROM generate_series(1, %d) k", MEMBERS);
    assert_int_equal(pgfx_exec(w->uri, sql), 0);
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    if (pgfx_cluster()) {
        metrics_live_stop(&w->d);
        metrics_reset();
        tw_stop(&w->loop, &w->d);
        config_free(&w->cfg);
        pgfx_drop("metricspg");
    }
    free(w);
    return 0;
}

static void depart(world *w, uint64_t user)
{
    turn_write_do(&w->d, (turn_write){ .kind = TW_DELETE_MEMBER, .shard_id = 0, .guild_id = G, .user_id = user,
                                       .reason = AUDIT_MEMBER_REMOVE, .at_ms = loop_wall(&w->loop) });
}

static double deleted(void)
{
    return metrics_value(MX_ROWS_DELETED, "member_remove", NULL);
}

static void a_burst_counts_at_its_outcome(void **state)
{
    pgfx_need();
    world *w = *state;
    for (int k = 1; k <= MEMBERS; k++)
        depart(w, U(k));
    assert_true(deleted() == 0);
    turn_flush(&w->d);
    assert_true(deleted() == 0);                 /* the COMMIT is in flight */
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_false(w->d.turn.in_flight);
    assert_true(deleted() == MEMBERS);
    assert_int_equal(pgfx_int(w->uri, "SELECT SUM(rows) FROM cleaner_audit WHERE reason = 'member_remove'"), MEMBERS);
}

static void a_held_turn_counts_once_when_applied(void **state)
{
    pgfx_need();
    world *w = *state;
    PGconn *bot = pgfx_lock(w->uri, "users");
    assert_non_null(bot);
    for (int k = 1; k <= 5; k++)
        depart(w, U(k));
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_true(turn_held(&w->d));
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 500);   /* retried, refused again */
    assert_true(deleted() == 0);
    pgfx_unlock(bot);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 5000);
    assert_false(turn_held(&w->d));
    assert_true(deleted() == 5);
    assert_int_equal(pgfx_int(w->uri, "SELECT count(*) FROM users"), MEMBERS - 5);
}

int main(void)
{
    log_set_level(DCL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_burst_counts_at_its_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(a_held_turn_counts_once_when_applied, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
