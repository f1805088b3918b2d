/* test_turn.c - the turn journal (turn.c), the turn's commit (turn_flush.c)
 * and the guild delete jobs (guild_delete.c) on a real SQLite file and the
 * virtual loop: a departure that is not committed yet is cancelled by the
 * member's rejoin, both while the database is held by the bot and while a
 * RESUME replay is in progress; the persisted seq waits with the replay's
 * writes; a delete already in the open turn is not cancelled.  The commit's
 * outcome comes through the loop; writes made meanwhile wait for it; a
 * refused commit is held and retried with its writes and seq.  A guild's rows go a slice per turn, with one
 * audit row at the end, across a crash mid-way, and a guild that is back
 * stops its job. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/daemon_internal.h"
#include "daemon/guild_delete.h"
#include "base/log.h"
#include "loop/loop_virtual.h"
#include "turn_world.h"
#include "store_fixture.h"

#define G UINT64_C(1000000000000000001)
#define U(k) (UINT64_C(2000000000000000000) + (k))

typedef struct {
    fx_dir dir;
    config cfg;
    dc_loop loop;
    dc_daemon d;
    int running;                     /* start()ed and not stop()ped */
} world;

static void start(world *w)
{
    tw_start(&w->loop, &w->d, &w->cfg);
    w->running = 1;
}

static void stop(world *w)
{
    if (!w->running)
        return;
    w->running = 0;
    tw_stop(&w->loop, &w->d);
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
    free(w->cfg.db);                 /* the defaults are the config's own copies */
    free(w->cfg.token);
    w->cfg.db = strdup(w->dir.db);
    w->cfg.token = strdup("test-token");
    start(w);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    stop(w);
    config_free(&w->cfg);
    fx_rmdir(&w->dir);
    free(w);
    return 0;
}

/* Commit the turn; its outcome comes through the loop. */
static void commit(world *w)
{
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
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
    commit(w);                           /* a turn commits mid-replay */
    assert_int_equal(users_named(w, U(1), "a") + users_named(w, U(2), "b"), 2);
    assert_int_equal(saved_seq(w), -1);            /* the seq waits with the deletes it covers */
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(1)), 1);   /* replayed GUILD_MEMBER_ADD */
    s->replaying = 0;
    turn_release_shard(&w->d, 0);                  /* RESUMED */
    commit(w);
    assert_int_equal(users_named(w, U(1), "a"), 1);
    assert_int_equal(users_named(w, U(2), "b"), 0);
    assert_int_equal(audits(w), 1);
    assert_int_equal(saved_seq(w), 7);
    assert_int_equal(w->d.turn.journal.n, 0);
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
    commit(w);
    assert_int_equal(users_named(w, U(2), "b"), 0);
    assert_int_equal(audits(w), 1);
}

/* ---- the journal's bound (issue #14 item 9) -------------------------------- */

/* While the bot holds the database, the journal fills to journal_max_writes:
 * reading stops there, nothing is dropped, and reading resumes once the
 * database took the writes. */
static void full_journal_stops_reading_and_drops_nothing(void **state)
{
    world *w = *state;
    w->cfg.journal_max_writes = 16;
    sqlite3 *bot = fx_open(w->dir.db);
    assert_int_equal(fx_exec(bot, "BEGIN IMMEDIATE"), SQLITE_OK);
    for (uint64_t k = 1; k <= 15; k++)
        depart(w, U(k), 0);
    assert_false(w->d.turn.journal.paused);
    depart(w, U(16), 0);
    assert_true(w->d.turn.journal.paused);
    depart(w, U(17), 0);                           /* already read: kept as well */
    assert_int_equal(w->d.turn.journal.n, 17);
    assert_int_equal(fx_exec(bot, "COMMIT"), SQLITE_OK);
    sqlite3_close(bot);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 5000);
    assert_false(w->d.turn.journal.paused);
    assert_int_equal(w->d.turn.journal.n, 0);
    assert_int_equal(audits(w), 17);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM users"), 0);
}

/* A replay longer than the journal: its waiting writes run at the bound
 * (netting ends there), reading goes on (the database is free). */
static void long_replay_releases_its_writes_at_the_bound(void **state)
{
    world *w = *state;
    w->cfg.journal_max_writes = 16;
    w->d.shards[0].replaying = 1;
    for (uint64_t k = 1; k <= 16; k++)
        depart(w, U(k), 1);
    assert_int_equal(w->d.turn.journal.n_waiting, 0);
    assert_false(w->d.turn.journal.paused);
    depart(w, U(17), 1);                           /* the bound still holds: runs at once */
    assert_int_equal(w->d.turn.journal.n_waiting, 0);
    commit(w);
    assert_int_equal(w->d.turn.journal.n, 0);
    assert_int_equal(audits(w), 17);
    assert_int_equal(saved_seq(w), -1);            /* still replaying: the seq waits */
    depart(w, U(18), 1);                           /* room again: netting goes on */
    assert_int_equal(w->d.turn.journal.n_waiting, 1);
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(18)), 1);
    w->d.shards[0].replaying = 0;
    turn_release_shard(&w->d, 0);
    commit(w);
    assert_int_equal(audits(w), 17);
    assert_int_equal(saved_seq(w), 7);
}

/* ---- the commit's outcome comes through the loop (turn_flush.c) ------------- */

static long long rows_of(world *w, uint64_t user)
{
    char sql[120];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE discord_id = %llu", (unsigned long long)user);
    return fx_int_at(w->dir.db, sql);
}

/* SQLite commits inside the flush; the turn learns it only from the loop's
 * 0 ms timer (store_service), and only then lets the writes go. */
static void outcome_arrives_through_the_loop(void **state)
{
    world *w = *state;
    store *st = w->d.st;
    assert_int_equal(store_fd(st), -1);                /* SQLite: no socket to watch */
    depart(w, U(2), 0);
    turn_flush(&w->d);
    assert_int_equal(rows_of(w, U(2)), 0);             /* committed at once ... */
    assert_int_equal(saved_seq(w), 7);
    assert_int_equal(store_pending(st), 1);            /* ... the outcome waits for the loop */
    assert_int_equal(w->d.turn.journal.n, 1);
    assert_true(w->d.turn.in_flight);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_int_equal(store_pending(st), 0);
    assert_false(w->d.turn.in_flight);
    assert_int_equal(w->d.turn.journal.n, 0);
    assert_int_equal(audits(w), 1);
}

/* Writes made while the commit is in flight open no transaction: they wait
 * in the journal (a rejoin still cancels them), run in a new turn when the
 * outcome arrives, and the seq that covers them moves only with them. */
static void writes_in_flight_wait_for_the_outcome(void **state)
{
    world *w = *state;
    depart(w, U(1), 0);
    turn_flush(&w->d);
    gateway_restore(w->d.shards[0].gw, "session", 8, NULL);   /* the events of the next writes */
    turn_event_begin(&w->d);
    depart(w, U(2), 0);
    depart(w, U(3), 0);
    assert_false(store_in_transaction(w->d.st));
    assert_int_equal(w->d.turn.journal.n, 3);
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(1)), 0);   /* in the commit */
    assert_int_equal(turn_cancel_member_delete(&w->d, G, U(3)), 1);   /* waiting: cancelled */
    assert_int_equal(rows_of(w, U(2)), 1);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_true(store_in_transaction(w->d.st));       /* the outcome opened their turn */
    assert_int_equal(w->d.turn.journal.n, 1);
    assert_int_equal(saved_seq(w), 7);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 10);   /* its flush timer, its outcome */
    assert_false(store_in_transaction(w->d.st));
    assert_int_equal(w->d.turn.journal.n, 0);
    assert_int_equal(rows_of(w, U(1)) + rows_of(w, U(2)), 0);
    assert_int_equal(rows_of(w, U(3)), 1);
    assert_int_equal(audits(w), 2);
    assert_int_equal(saved_seq(w), 8);
}

/* A writer that cannot wait in the journal (a sweep, a guild delete) takes
 * an outcome the store has already before it opens the turn. */
static void begin_takes_a_ready_outcome(void **state)
{
    world *w = *state;
    depart(w, U(1), 0);
    turn_flush(&w->d);
    assert_int_equal(store_pending(w->d.st), 1);
    assert_int_equal(turn_begin(&w->d), 0);
    assert_int_equal(store_pending(w->d.st), 0);
    assert_int_equal(w->d.turn.journal.n, 0);          /* delivered: committed */
    assert_true(store_in_transaction(w->d.st));
    commit(w);
    assert_false(store_in_transaction(w->d.st));
}

/* Member rows the daemon counted as removed (the removal log's totals). */
static int64_t removed_members(world *w)
{
    daemon_counts c;
    daemon_get_counts(&w->d, &c);
    return c.removed[AUDIT_MEMBER_REMOVE];
}

/* The bot's schema refuses the COMMIT (a deferred foreign key): the turn is
 * rolled back and held, the seq stays with its writes, a write made while
 * the outcome was awaited waits too; once the bot lets go, the retry
 * commits all of it with the seq. */
static void refused_commit_is_held_and_retried(void **state)
{
    world *w = *state;
    assert_int_equal(fx_exec_at(w->dir.db, "CREATE TABLE pets (owner INTEGER, guild INTEGER, FOREIGN KEY (owner, guild) "
                                           "REFERENCES users (discord_id, guild_id) DEFERRABLE INITIALLY DEFERRED);"
                                           "INSERT INTO pets VALUES (2000000000000000002, 1000000000000000001)"),
                     SQLITE_OK);
    depart(w, U(2), 0);
    turn_flush(&w->d);
    assert_int_equal(store_pending(w->d.st), 1);
    assert_false(w->d.turn.journal.held);              /* not known before the loop delivers it */
    depart(w, U(3), 0);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_true(w->d.turn.journal.held);
    assert_int_equal(w->d.turn.journal.n, 2);
    assert_int_equal(rows_of(w, U(2)) + rows_of(w, U(3)), 2);
    assert_int_equal(saved_seq(w), -1);                /* rolled back with the writes it covers */
    assert_int_equal(removed_members(w), 0);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);   /* refused again, still held */
    assert_true(w->d.turn.journal.held);
    assert_int_equal(fx_exec_at(w->dir.db, "DELETE FROM pets"), SQLITE_OK);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 5000);
    assert_false(turn_held(&w->d));
    assert_int_equal(w->d.turn.journal.n, 0);
    assert_int_equal(rows_of(w, U(2)) + rows_of(w, U(3)), 0);
    assert_int_equal(audits(w), 2);
    assert_int_equal(saved_seq(w), 7);
    assert_int_equal(removed_members(w), 2);
}

/* At shutdown the last turn is committed and its outcome taken at once. */
static void finish_commits_and_takes_the_outcomes(void **state)
{
    world *w = *state;
    depart(w, U(1), 0);
    turn_flush(&w->d);
    depart(w, U(2), 0);                                /* waits for the first outcome */
    turn_finish(&w->d);
    assert_false(w->d.turn.in_flight);
    assert_false(store_in_transaction(w->d.st));
    assert_int_equal(store_pending(w->d.st), 0);
    assert_int_equal(w->d.turn.journal.n, 0);
    assert_int_equal(audits(w), 2);
    assert_int_equal(saved_seq(w), 7);
}

/* ---- guild delete jobs (issue #14 item 8) ---------------------------------- */

#define BIG_G UINT64_C(1000000000000000009)
#define BIG_ROWS (4 * GD_SLICE_ROWS + GD_SLICE_ROWS / 2)   /* five slices, the last short */

/* Users 3000000000000000000 + k, k = 1 .. BIG_ROWS, in BIG_G. */
static void fill_big_guild(world *w)
{
    char sql[300];
    snprintf(sql, sizeof sql, "WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < %d) "
             "INSERT INTO users SELECT 3000000000000000000 + k, 1000000000000000009, 'big' FROM n", BIG_ROWS);
    assert_int_equal(fx_exec_at(w->dir.db, sql), SQLITE_OK);
}

static void guild_removed(world *w)
{
    turn_write_do(&w->d, (turn_write){ .kind = TW_DELETE_GUILD, .guild_id = BIG_G, .reason = AUDIT_GUILD_DELETE,
                                       .at_ms = 1795780801234 });
}

static long long big_rows(world *w)
{
    return fx_int_at(w->dir.db, "SELECT COUNT(*) FROM users WHERE guild_id = 1000000000000000009");
}

static long long big_job(world *w)
{
    return fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_session_state "
                                "WHERE key = 'guild_delete.1000000000000000009'");
}

static long long big_audits(world *w, long long rows)
{
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM cleaner_audit WHERE guild_id = 1000000000000000009 AND "
             "reason = 'guild_delete' AND discord_id IS NULL AND at_ms = 1795780801234 AND rows = %lld", rows);
    return fx_int_at(w->dir.db, sql);
}

/* The turn that learns of the removal records the job and deletes nothing;
 * the slices follow, one commit each; one audit row at the end. */
static void guild_rows_go_a_slice_per_turn(void **state)
{
    world *w = *state;
    fill_big_guild(w);
    assert_int_equal(fx_exec_at(w->dir.db, "INSERT INTO cleaner_guild_state (guild_id) VALUES "
                                           "(1000000000000000009)"), SQLITE_OK);
    guild_removed(w);
    turn_flush(&w->d);
    assert_int_equal(big_rows(w), BIG_ROWS);
    assert_int_equal(big_job(w), 1);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));     /* the slices, each armed by the last */
    assert_int_equal(big_rows(w), 0);
    assert_int_equal(big_job(w), 0);
    assert_int_equal(big_audits(w, BIG_ROWS), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_guild_state "
                                          "WHERE guild_id = 1000000000000000009"), 0);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM users"), 3);   /* the other guild's */
    daemon_counts counts;
    daemon_get_counts(&w->d, &counts);
    assert_int_equal(counts.removed[AUDIT_GUILD_DELETE], BIG_ROWS);
}

/* A slice fails mid-way (the bot's trigger refuses one row of the second
 * slice) and the process ends: the first slice and its progress are
 * committed, nothing else.  The next run continues the job and writes the
 * one audit row with every row the job deleted. */
static void crash_mid_way_is_finished_by_the_next_run(void **state)
{
    world *w = *state;
    fill_big_guild(w);
    char sql[300];
    snprintf(sql, sizeof sql, "CREATE TRIGGER keep BEFORE DELETE ON users WHEN OLD.discord_id = "
             "3000000000000000000 + %d BEGIN SELECT RAISE(ABORT, 'kept for now'); END", GD_SLICE_ROWS + 1);
    assert_int_equal(fx_exec_at(w->dir.db, sql), SQLITE_OK);
    guild_removed(w);
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);
    stop(w);
    assert_int_equal(big_rows(w), BIG_ROWS - GD_SLICE_ROWS);
    snprintf(sql, sizeof sql, "SELECT value = '1 1795780801234 %d' FROM cleaner_session_state "
             "WHERE key = 'guild_delete.1000000000000000009'", GD_SLICE_ROWS);
    assert_int_equal(fx_int_at(w->dir.db, sql), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    assert_int_equal(fx_exec_at(w->dir.db, "DROP TRIGGER keep"), SQLITE_OK);
    start(w);
    guild_delete_resume(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);
    assert_int_equal(big_rows(w), 0);
    assert_int_equal(big_job(w), 0);
    assert_int_equal(big_audits(w, BIG_ROWS), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 1);
}

/* The guild is available again before its job ends: the job stops, its audit
 * row counts what went, the rest stays and the guild is marked for a sweep. */
static void guild_back_stops_its_job(void **state)
{
    world *w = *state;
    fill_big_guild(w);
    assert_int_equal(fx_exec_at(w->dir.db, "INSERT INTO cleaner_session_state VALUES "
                                           "('guild_delete.1000000000000000009', '1 1795780801234 20000')"),
                     SQLITE_OK);
    turn_write_do(&w->d, (turn_write){ .kind = TW_GUILD_SEEN, .guild_id = BIG_G, .at_ms = 1 });
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);
    assert_int_equal(big_rows(w), BIG_ROWS);
    assert_int_equal(big_job(w), 0);
    assert_int_equal(big_audits(w, 20000), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT needs_reconcile FROM cleaner_guild_state "
                                          "WHERE guild_id = 1000000000000000009"), 1);
}

/* A removal applied again after the first ran to its end (a second
 * confirmation, a turn redone) finds nothing left: no second job, no
 * second audit row (issue #16: itest_shards saw rows = 0 duplicates). */
static void a_removal_applied_twice_is_audited_once(void **state)
{
    world *w = *state;
    fill_big_guild(w);
    guild_removed(w);
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop));
    assert_int_equal(big_rows(w), 0);
    guild_removed(w);
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);
    assert_int_equal(big_job(w), 0);
    assert_int_equal(big_audits(w, BIG_ROWS), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 1);
}

/* Two shards of which this process runs shard 0: the job of BIG_G (shard
 * 1) is another process's (#16), left alone -- before, every process
 * sliced the first job it found, two ended one guild and the second wrote
 * an audit row of 0 rows.  Its own guild's job runs. */
static void another_process_job_is_left_alone(void **state)
{
    world *w = *state;
    fill_big_guild(w);
    assert_int_equal(fx_exec_at(w->dir.db, "INSERT INTO cleaner_session_state VALUES "
                                           "('guild_delete.1000000000000000009', '1 1795780801234 0')"),
                     SQLITE_OK);
    assert_int_equal(fx_exec_at(w->dir.db, "INSERT INTO users VALUES (4000000000000000001, 1000000000001835008, 'own'), "
                                           "(4000000000000000002, 1000000000001835008, 'own')"), SQLITE_OK);
    w->d.shard_count = 2;
    guild_delete_resume(&w->d);
    turn_write_do(&w->d, (turn_write){ .kind = TW_DELETE_GUILD, .guild_id = UINT64_C(1000000000001835008),
                                       .reason = AUDIT_GUILD_DELETE, .at_ms = 1795780801234 });
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);
    assert_int_equal(big_rows(w), BIG_ROWS);
    assert_int_equal(big_job(w), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM users WHERE guild_id = 1000000000001835008"), 0);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit WHERE guild_id = 1000000000001835008 "
                                          "AND rows = 2"), 1);
}

/* A dry run neither continues a job a real run began nor ends it. */
static void dry_run_leaves_a_job_alone(void **state)
{
    world *w = *state;
    fill_big_guild(w);
    assert_int_equal(fx_exec_at(w->dir.db, "INSERT INTO cleaner_session_state VALUES "
                                           "('guild_delete.1000000000000000009', '1 1795780801234 20000')"),
                     SQLITE_OK);
    w->cfg.dry_run = 1;
    guild_delete_resume(&w->d);
    turn_write_do(&w->d, (turn_write){ .kind = TW_GUILD_SEEN, .guild_id = BIG_G, .at_ms = 1 });
    turn_flush(&w->d);
    loop_virtual_run_until(&w->loop, loop_now(&w->loop) + 100);
    assert_int_equal(big_rows(w), BIG_ROWS);
    assert_int_equal(big_job(w), 1);
    assert_int_equal(fx_int_at(w->dir.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
}

int main(void)
{
    log_set_level(DCL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rejoin_while_held_cancels_the_queued_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_departures_wait_and_net_against_rejoins, setup, teardown),
        cmocka_unit_test_setup_teardown(replay_ending_while_held_runs_with_the_retry, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_in_the_open_turn_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(full_journal_stops_reading_and_drops_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(long_replay_releases_its_writes_at_the_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(outcome_arrives_through_the_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(writes_in_flight_wait_for_the_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(begin_takes_a_ready_outcome, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_commit_is_held_and_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(finish_commits_and_takes_the_outcomes, setup, teardown),
        cmocka_unit_test_setup_teardown(guild_rows_go_a_slice_per_turn, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_mid_way_is_finished_by_the_next_run, setup, teardown),
        cmocka_unit_test_setup_teardown(guild_back_stops_its_job, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_leaves_a_job_alone, setup, teardown),
        cmocka_unit_test_setup_teardown(a_removal_applied_twice_is_audited_once, setup, teardown),
        cmocka_unit_test_setup_teardown(another_process_job_is_left_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
