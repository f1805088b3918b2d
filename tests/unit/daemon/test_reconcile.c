/* test_reconcile.c - what the scheduler (reconcile.c) answers the rest of
 * the daemon, on a real SQLite file and the virtual loop, through
 * daemon_replay.h and reconcile.h only (no field of the daemon's struct):
 * when a guild's next automatic sweep is due (reconcile_delay, the
 * interval, a per-guild interval, needs_reconcile and a result that holds
 * the guild); whether a guild's on-demand sweep is queued or running and
 * what a queued one waits for; the tick hook (daemon_main's, which the
 * `sweep` CLI uses) called on every scheduler run and once a second. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/daemon_replay.h"
#include "daemon/reconcile.h"
#include "base/log.h"
#include "loop/loop_virtual.h"
#include "store_fixture.h"

#define G1 UINT64_C(1000000000000000001)
#define G2 UINT64_C(1000000000000000002)   /* has a guild_interval of its own */
#define G3 UINT64_C(1000000000000000003)   /* not available to the bot */
#define WALL0 INT64_C(1795780800000)
#define HOUR_MS INT64_C(3600000)

typedef struct {
    fx_dir dir;
    config cfg;
    dc_loop loop;
    dc_daemon *d;
    shard *s;
    gateway_session *gw;
    int ticks;                       /* tick hook calls */
    dc_daemon *ticked;               /* the daemon the hook was handed */
    int done;                        /* sweep_request.done calls */
    char done_text[160];
} world;

static void no_rest(void *ctx, const char *method, const char *path, const char *json_body, long *status,
                    char **body)
{
    (void)ctx, (void)method, (void)path, (void)json_body;
    *status = 500;
    *body = NULL;
}

/* The shard's kick: what the session asks for goes nowhere (no socket). */
static void kick(void *ctx)
{
    world *w = ctx;
    gateway_action a;
    while (gateway_next_action(w->gw, &a))
        ;
}

static void feed(world *w, const char *json)
{
    cJSON *p = cJSON_Parse(json);
    assert_non_null(p);
    gateway_on_payload(w->gw, p, loop_now(&w->loop));
    kick(w);
    cJSON_Delete(p);
}

/* The session through HELLO and READY: the shard may sweep. */
static void session_ready(world *w)
{
    gateway_start(w->gw, loop_now(&w->loop));
    kick(w);
    gateway_on_open(w->gw, loop_now(&w->loop));
    kick(w);
    feed(w, "{\"op\":10,\"d\":{\"heartbeat_interval\":45000}}");
    feed(w, "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"s1\",\"v\":10}}");
    assert_int_equal(gateway_get_state(w->gw), GW_READY);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    fx_mkdir(&w->dir);
    assert_int_equal(fx_exec_at(w->dir.db, "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, "
                                           "username TEXT, UNIQUE (discord_id, guild_id))"), SQLITE_OK);
    assert_int_equal(config_defaults(&w->cfg), DC_OK);
    free(w->cfg.db);                 /* the defaults are the config's own copies */
    free(w->cfg.token);
    w->cfg.db = strdup(w->dir.db);
    w->cfg.token = strdup("test-token");
    w->cfg.reconcile_delay = 60;
    w->cfg.interval_hours = 24;
    w->cfg.guild_intervals[0] = (config_guild_interval){ .guild_id = G2, .hours = 2 };
    w->cfg.n_guild_intervals = 1;
    assert_int_equal(loop_virtual_init(&w->loop, 1000, WALL0, no_rest, NULL), DC_OK);
    w->d = daemon_new(&w->cfg, &w->loop, 0);
    assert_non_null(w->d);
    assert_int_equal(daemon_open_store(w->d), 0);
    w->s = daemon_add_shard(w->d, 0, 1, 1, kick, w);
    assert_non_null(w->s);
    w->gw = daemon_shard_session(w->s);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    daemon_free(w->d);
    loop_virtual_free(&w->loop);
    config_free(&w->cfg);
    fx_rmdir(&w->dir);
    free(w);
    return 0;
}

static void run_now(world *w)
{
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
}

/* ---- next run ------------------------------------------------------------- */

static void next_run_follows_delay_interval_and_override(void **state)
{
    world *w = *state;
    int64_t settled = WALL0 + 60000, swept = WALL0 - 10 * HOUR_MS;
    store_guild_state g = { .guild_id = G1 };
    assert_int_equal(reconcile_next_run(w->d, &g), settled);          /* never swept: reconcile_delay after start */
    g.last_sweep_ms = swept;
    assert_int_equal(reconcile_next_run(w->d, &g), swept + 24 * HOUR_MS);   /* interval_hours */
    g.guild_id = G2;
    assert_int_equal(reconcile_next_run(w->d, &g), swept + 2 * HOUR_MS);    /* its guild_interval */
    /* Marked for a sweep (a new session): soon, unless its result holds it. */
    g.guild_id = G1;
    g.needs_reconcile = 1;
    snprintf(g.last_sweep_result, sizeof g.last_sweep_result, "ok");
    assert_int_equal(reconcile_next_run(w->d, &g), settled);
    snprintf(g.last_sweep_result, sizeof g.last_sweep_result, "guard: would remove 90%% of the rows");
    assert_int_equal(reconcile_next_run(w->d, &g), swept + 24 * HOUR_MS);
    /* Due before reconcile_delay has passed: its interval wins. */
    g.last_sweep_ms = WALL0 - 24 * HOUR_MS;
    snprintf(g.last_sweep_result, sizeof g.last_sweep_result, "ok");
    assert_int_equal(reconcile_next_run(w->d, &g), WALL0);
}

/* ---- queued / running ------------------------------------------------------ */

static void on_done(void *ctx, uint64_t guild_id, const sweep_action *r)
{
    world *w = ctx;
    (void)guild_id;
    w->done++;
    snprintf(w->done_text, sizeof w->done_text, "%s", r->text ? r->text : "");
}

static dc_err request(world *w, uint64_t guild)
{
    sweep_request r = { .guild_id = guild, .done = on_done, .ctx = w };
    return reconcile_request(w->d, &r);
}

static void queued_then_running(void **state)
{
    world *w = *state;
    int64_t wait = -1;
    reconcile_guild_present(w->s, G1, 10);
    reconcile_guild_present(w->s, G2, 10);
    assert_int_equal(request(w, G3), DC_ERR_NOTFOUND);
    assert_int_equal(reconcile_queued(w->d, G3), 0);
    assert_int_equal(request(w, G1), DC_OK);
    assert_int_equal(request(w, G2), DC_OK);
    assert_int_equal(reconcile_queued(w->d, G1), 1);
    assert_int_equal(reconcile_queued(w->d, G2), 1);
    /* The session is not ready: nothing starts. */
    run_now(w);
    assert_null(reconcile_running(w->d, G1));
    assert_int_equal(reconcile_queued(w->d, G1), 1);
    assert_int_equal(reconcile_eta(w->d, G1, &wait), RC_WAIT_SESSION);
    session_ready(w);
    reconcile_wake(w->d);
    run_now(w);
    /* G1 runs (its member list asked for), G2 waits its turn on the shard. */
    const sweep *sw = reconcile_running(w->d, G1);
    assert_non_null(sw);
    assert_int_equal(sweep_guild(sw), G1);
    assert_int_equal(reconcile_queued(w->d, G1), 0);
    assert_null(reconcile_running(w->d, G2));
    assert_int_equal(reconcile_queued(w->d, G2), 1);
    assert_int_equal(reconcile_eta(w->d, G2, &wait), RC_WAIT_BUSY);
    /* A queued request of a guild that goes away hears how it ended. */
    reconcile_guild_absent(w->s, G2);
    assert_int_equal(reconcile_queued(w->d, G2), 0);
    assert_int_equal(w->done, 1);
    assert_non_null(strstr(w->done_text, "not started"));
}

/* ---- the tick hook -------------------------------------------------------- */

static void on_tick(dc_daemon *d, void *ctx)
{
    world *w = ctx;
    w->ticks++;
    w->ticked = d;
}

static void tick_hook_runs_every_scheduler_tick(void **state)
{
    world *w = *state;
    reconcile_start(w->d);
    run_now(w);
    assert_int_equal(w->ticks, 0);   /* no hook: the scheduler ran without one */
    reconcile_set_tick(w->d, on_tick, w);
    reconcile_wake(w->d);
    run_now(w);
    assert_int_equal(w->ticks, 1);
    assert_ptr_equal(w->ticked, w->d);
    int64_t t0 = loop_now(&w->loop);
    loop_virtual_run_until(&w->loop, t0 + RC_TICK_MS - 1);
    assert_int_equal(w->ticks, 1);
    loop_virtual_run_until(&w->loop, t0 + RC_TICK_MS);
    assert_int_equal(w->ticks, 2);
    loop_virtual_run_until(&w->loop, t0 + 5 * RC_TICK_MS);
    assert_int_equal(w->ticks, 6);
    /* Unset: the next run calls nothing and the scheduler stops ticking. */
    reconcile_set_tick(w->d, NULL, NULL);
    loop_virtual_run_until(&w->loop, t0 + 20 * RC_TICK_MS);
    assert_int_equal(w->ticks, 6);
    assert_int_equal(loop_virtual_next_due(&w->loop) > t0 + 20 * RC_TICK_MS, 1);
}

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(next_run_follows_delay_interval_and_override, setup, teardown),
        cmocka_unit_test_setup_teardown(queued_then_running, setup, teardown),
        cmocka_unit_test_setup_teardown(tick_hook_runs_every_scheduler_tick, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
