/* test_turn.c - the turn journal (turn.c) on a real SQLite file and the
 * virtual loop: a departure that is not committed yet is cancelled by the
 * member's rejoin, both while the database is held by the bot and while a
 * RESUME replay is in progress; the persisted seq waits with the replay's
 * writes; a delete already in the open turn is not cancelled. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "daemon_internal.h"
#include "loop_virtual.h"
#include "store_fixture.h"

#define G UINT64_C(1000000000000000001)
#define U(k) (UINT64_C(2000000000000000000) + (k))

typedef struct {
    fx_dir dir;
    config cfg;
    dc_loop loop;
    dc_daemon d;
} world;

static void no_rest(void *ctx, const char *method, const char *path, const char *json_body, long *status,
                    char **body)
{
    (void)ctx, (void)method, (void)path, (void)json_body;
    *status = 500;
    *body = NULL;
}

static int setup(void **state)
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
    w->cfg.db = w->dir.db;
    w->cfg.token = "test-token";
    assert_int_equal(loop_virtual_init(&w->loop, 1000, 1795780800000, no_rest, NULL), DC_OK);
    daemon_init(&w->d, &w->cfg, &w->loop);
    assert_int_equal(daemon_open_store(&w->d), 0);
    w->d.n_shards = w->d.shard_count = 1;
    snprintf(w->d.gateway_url, sizeof w->d.gateway_url, "wss://gateway.discord.gg");
    assert_int_equal(daemon_shard_init(&w->d, &w->d.shards[0], 0, 1), 0);
    w->d.shards[0].saved_seq = -1;
    gw_restore(w->d.shards[0].gw, "session", 7, NULL);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    turn_free(&w->d);
    daemon_free_core(&w->d);
    loop_virtual_free(&w->loop);
    w->cfg.db = NULL;
    w->cfg.token = NULL;
    config_free(&w->cfg);
    fx_rmdir(&w->dir);
    free(w);
    return 0;
}

static void depart(world *w, uint64_t user, int wait_shard)
{
    turn_write_do(&w->d, (turn_write){ .kind = TW_DELETE_MEMBER, .shard_id = 0, .guild_id = G, .user_id = user,
                                       .reason = AUDIT_MEMBER_REMOVE, .at_ms = loop_wall(&w->loop),
                                       .wait_shard = wait_shard });
}

static long long users_named(world *w, uint64_t user, const char *name)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE discord_id = %llu AND username = '%s'",
             (unsigned long long)user, name);
    return fx_int_at(w->dir.db, sql);
}

static long long audits(world *w)
{
    return fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'");
}

static long long saved_seq(world *w)
{
    return fx_int_at(w->dir.db, "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM cleaner_session_state "
                                "WHERE key = 'gw.0.seq'), -1)");
}

/* Issue #14 B (1): the bot holds the write lock; member 1 leaves and
 * rejoins, the bot writes their fresh row, the lock goes: the queued delete
 * must not remove the fresh row.  Member 2's departure still applies. */
static void rejoin_while_held_cancels_the_queued_delete(void **state)
{
    world *w = *state;
    sqlite3 *bot = fx_open(w->dir.db);
    assert_int_equal(fx_exec(bot, "BEGIN IMMEDIATE"), SQLITE_OK);
    depart(w, U(1), 0);
    assert_true(turn_held(&w->d));
    depart(w, U(2), 0);
    assert_int_equal(fx_exec(bot, "DELETE FROM users WHERE discord_id = 2000000000000000001;"
                                  "INSERT INTO users VALUES (2000000000000000001, 1000000000000000001, 'fresh')"),
                     SQLITE_OK);
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(1)), 1);
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(1)), 0);   /* nothing left to cancel */
    assert_int_equal(fx_exec(bot, "COMMIT"), SQLITE_OK);
    sqlite3_close(bot);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 5000);
    assert_false(turn_held(&w->d));
    assert_int_equal(users_named(w, U(1), "fresh"), 1);
    assert_int_equal(users_named(w, U(2), "b"), 0);
    assert_int_equal(users_named(w, U(3), "c"), 1);
    assert_int_equal(audits(w), 1);
    assert_int_equal(saved_seq(w), 7);             /* the seq came with the write it covers */
}

/* Issue #14 B (2): replayed departures wait for the replay's end; a replayed
 * rejoin cancels one; the seq is persisted only with the rest. */
static void replayed_departures_wait_and_net_against_rejoins(void **state)
{
    world *w = *state;
    shard *s = &w->d.shards[0];
    s->replaying = 1;
    depart(w, U(1), 1);
    depart(w, U(2), 1);
    daemon_flush(&w->d);                           /* a turn commits mid-replay */
    assert_int_equal(users_named(w, U(1), "a") + users_named(w, U(2), "b"), 2);
    assert_int_equal(saved_seq(w), -1);            /* the seq waits with the deletes it covers */
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(1)), 1);   /* replayed GUILD_MEMBER_ADD */
    s->replaying = 0;
    turn_release_shard(&w->d, 0);                  /* RESUMED */
    daemon_flush(&w->d);
    assert_int_equal(users_named(w, U(1), "a"), 1);
    assert_int_equal(users_named(w, U(2), "b"), 0);
    assert_int_equal(audits(w), 1);
    assert_int_equal(saved_seq(w), 7);
    assert_int_equal(w->d.journal.n, 0);
}

/* A replay that ends while the database is held: the released deletes go
 * with the retry, nothing is lost. */
static void replay_ending_while_held_runs_with_the_retry(void **state)
{
    world *w = *state;
    shard *s = &w->d.shards[0];
    s->replaying = 1;
    depart(w, U(1), 1);
    sqlite3 *bot = fx_open(w->dir.db);
    assert_int_equal(fx_exec(bot, "BEGIN IMMEDIATE"), SQLITE_OK);
    depart(w, U(3), 0);
    assert_true(turn_held(&w->d));
    s->replaying = 0;
    turn_release_shard(&w->d, 0);
    assert_int_equal(fx_exec(bot, "COMMIT"), SQLITE_OK);
    sqlite3_close(bot);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 5000);
    assert_int_equal(users_named(w, U(1), "a") + users_named(w, U(3), "c"), 0);
    assert_int_equal(audits(w), 2);
    assert_int_equal(saved_seq(w), 7);
}

/* A delete already run in the open turn is not cancelled: the bot cannot
 * write the rejoined member's row before that turn commits. */
static void delete_in_the_open_turn_stays(void **state)
{
    world *w = *state;
    depart(w, U(2), 0);
    assert_false(turn_held(&w->d));
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(2)), 0);
    daemon_flush(&w->d);
    assert_int_equal(users_named(w, U(2), "b"), 0);
    assert_int_equal(audits(w), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rejoin_while_held_cancels_the_queued_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_departures_wait_and_net_against_rejoins, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_ending_while_held_runs_with_the_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_in_the_open_turn_stays, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
