/* test_sweep_live.c - issue #4, the reconciliation sweep against the
 * loopback double: start-up reconciliation, incomplete lists (timeout,
 * disconnect, RATE_LIMITED), the guard and --force, joins during a sweep,
 * dry run, the `sweep` subcommand, a SIGKILL between delete batches and a
 * large guild.  Every test has its own double and scratch dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "cleanup_world.h"
#include "../unit/pg_fixture.h"

#define G1 "1000000000000000001"
#define G2 "1000000000000000002"

static int setup(void **state)
{
    cw_world *w = cw_new();
    *state = w;
    /* Most tests sweep a guild more than once within the double's 30 s
     * op 8 window; the one that wants RATE_LIMITED turns it back on. */
    return w && cw_config(w, "{\"op8_rate_limit_s\":0}") == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    cw_free(*state);
    return 0;
}

static void stop_daemon(cw_world *w)
{
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void remove_quietly(cw_world *w, const char *guild, int64_t k)
{
    char path[160];
    snprintf(path, sizeof path, "/_control/guilds/%s/members/%llu?event=0", guild,
             (unsigned long long)CW_UID(k));
    cJSON *r = fd_delete(&w->fake, path);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    cJSON_Delete(r);
}

static const char *const quick_sweeps[] = { "--reconcile-delay", "1", NULL };

/* ---- start-up reconciliation ---------------------------------------------- */

static void members_removed_while_stopped_go_at_startup(void **state)
{
    cw_world *w = *state;
    assert_int_equal(cw_guild(w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 10), 0);
    assert_true(cw_start(w, NULL));               /* reconcile_delay 60: no sweep yet */
    stop_daemon(w);
    remove_quietly(w, G1, 3);
    remove_quietly(w, G1, 7);
    assert_true(cw_start(w, quick_sweeps));
    assert_true(cw_wait_users(w, CW_G1, 8, 15000));
    assert_int_equal(cw_xp(w, CW_G1), 8);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id IN "
                                        "(2000000000000000003, 2000000000000000007)"), 0);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'sweep'", 2, 5000));
    assert_true(dh_wait_db(w->d.db, "SELECT last_sweep_removed FROM cleaner_guild_state WHERE guild_id = " G1,
                           2, 5000));
    assert_int_equal(cw_state(w, CW_G1, "needs_reconcile"), 0);
    /* The daemon resumed with the member count it had saved (11); no event
     * told it of the two quiet removals, so the list looked 2 short and
     * each stale row was confirmed gone over REST before it was deleted. */
    assert_int_equal(cw_requests(w, "GET", "/api/v10/guilds/" G1 "/members/"), 2);
    assert_true(cw_result_has(w, CW_G1, "each confirmed over REST"));
    stop_daemon(w);
}

/* The double lists the bot as a member too: "N members listed" is N + 1. */

/* ---- the sweep subcommand -------------------------------------------------- */

static void sweep_cli_reports_per_guild_and_exits_0(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_guild(w, CW_G2, 0, 4), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 11), 0);     /* 1 stale */
    assert_int_equal(cw_rows(w, CW_G2, 0, 5), 0);      /* 1 stale */
    static const char *const one[] = { "--guild", G1, NULL };
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 0);
    assert_non_null(strstr(out, "guild " G1 ": ok: 11 members listed, 1 stale row(s) removed"));
    assert_null(strstr(out, "guild " G2));
    assert_int_equal(cw_users(w, CW_G1), 10);
    assert_int_equal(cw_users(w, CW_G2), 5);
    /* a second run of the subcommand (a session of its own again) */
    static const char *const all[] = { "--all", NULL };
    assert_int_equal(cw_sweep_cli(w, all, out, sizeof out), 0);
    assert_non_null(strstr(out, "guild " G1 ": ok: 11 members listed, no stale rows"));
    assert_non_null(strstr(out, "guild " G2 ": ok: 5 members listed, 1 stale row(s) removed"));
    assert_int_equal(cw_users(w, CW_G2), 4);
    assert_int_equal(cw_xp(w, CW_G2), 4);
}

static void guild_not_served_exits_66(void **state)
{
    cw_world *w = *state;
    char out[4096];
    assert_int_equal(cw_guild(w, CW_G1, 0, 3), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 3), 0);
    static const char *const args[] = { "--guild", "1000000000000000099", "--sweep-wait", "2", NULL };
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 66);
    assert_non_null(strstr(out, "1000000000000000099: not available to this bot"));
    assert_int_equal(cw_users(w, CW_G1), 3);
}

static void guard_refuses_then_force_proceeds(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 4), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 10), 0);     /* 6 of 10 stale: 60% > 50% */
    static const char *const plain[] = { "--guild", G1, NULL };
    assert_int_equal(cw_sweep_cli(w, plain, out, sizeof out), 75);
    assert_non_null(strstr(out, "guard: 6 of 10 rows"));
    assert_non_null(strstr(out, "--force"));
    assert_int_equal(cw_users(w, CW_G1), 10);
    assert_int_equal(cw_xp(w, CW_G1), 10);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    assert_true(cw_result_has(w, CW_G1, "guard"));
    assert_int_equal(cw_state(w, CW_G1, "last_sweep_removed"), 0);
    static const char *const forced[] = { "--guild", G1, "--force", NULL };
    assert_int_equal(cw_sweep_cli(w, forced, out, sizeof out), 0);
    assert_non_null(strstr(out, "6 stale row(s) removed"));
    assert_int_equal(cw_users(w, CW_G1), 4);
    assert_int_equal(cw_xp(w, CW_G1), 4);
    assert_int_equal(cw_audit(w, "sweep"), 6);
    assert_int_equal(cw_state(w, CW_G1, "last_sweep_removed"), 6);
}

/* A stale user whose rows the bot's own trigger refuses to delete, half-way
 * through (the users row goes first, then xp refuses): the batch holding it
 * is rolled back whole -- no user is left deleted without an audit row, or
 * with half their rows -- the sweep says it was aborted, and once the
 * trigger is gone the next sweep removes all of them. */
static void write_refused_mid_batch_rolls_the_batch_back(void **state)
{
    cw_world *w = *state;
    char out[8192], sql[256];
    assert_int_equal(cw_guild(w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 14), 0);     /* 4 stale: 10..13 */
    snprintf(sql, sizeof sql, dh_sql("CREATE TRIGGER keep_xp BEFORE DELETE ON xp WHEN OLD.user_id = %llu "
                                     "BEGIN SELECT RAISE(ABORT, 'xp kept by the bot'); END",
                                     "CREATE FUNCTION keep_xp() RETURNS trigger LANGUAGE plpgsql AS "
                                     "$$BEGIN RAISE EXCEPTION 'xp kept by the bot'; END$$;"
                                     "CREATE TRIGGER keep_xp BEFORE DELETE ON xp FOR EACH ROW "
                                     "WHEN (OLD.user_id = %llu) EXECUTE FUNCTION keep_xp()"),
             (unsigned long long)CW_UID(12));
    assert_int_equal(dh_db_exec(w->d.db, sql), 0);
    static const char *const one[] = { "--guild", G1, NULL };
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 75);
    assert_int_equal(cw_users(w, CW_G1), 14);
    assert_int_equal(cw_xp(w, CW_G1), 14);
    assert_int_equal(cw_audit(w, "sweep"), 0);
    assert_int_equal(dh_db_exec(w->d.db, dh_sql("DROP TRIGGER keep_xp", "DROP TRIGGER keep_xp ON xp")), 0);
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 0);
    assert_non_null(strstr(out, "4 stale row(s) removed"));
    assert_int_equal(cw_users(w, CW_G1), 10);
    assert_int_equal(cw_xp(w, CW_G1), 10);
    assert_int_equal(cw_audit(w, "sweep"), 4);
}

static void dry_run_deletes_nothing_and_counts_right(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 8), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 11), 0);     /* 3 stale */
    static const char *const args[] = { "--guild", G1, "--dry-run", NULL };
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "dry run: 3 of 11 rows would be removed"));
    assert_int_equal(cw_users(w, CW_G1), 11);
    assert_int_equal(cw_xp(w, CW_G1), 11);
    assert_int_equal(cw_audit(w, "sweep"), 0);
    assert_true(cw_result_has(w, CW_G1, "dry run"));
    assert_int_equal(cw_state(w, CW_G1, "last_sweep_removed"), 3);
    /* no confirmation requests either: a dry run touches nothing */
    assert_int_equal(cw_requests(w, "GET", "/api/v10/guilds/" G1 "/members/"), 0);
}

/* ---- incomplete member lists delete nothing ------------------------------- */

static void chunk_timeout_deletes_nothing(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 2500), 0);   /* 3 chunks of 1000 */
    assert_int_equal(cw_rows(w, CW_G1, 0, 2600), 0);    /* 100 stale */
    assert_int_equal(cw_config(w, "{\"op8_chunk_limit\":2}"), 0);
    static const char *const args[] = { "--guild", G1, "--chunk-timeout", "2", NULL };
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 75);
    assert_non_null(strstr(out, "timed out after 2 of 3 chunks (none for 2000 ms, chunk_timeout); nothing deleted"));
    assert_int_equal(cw_users(w, CW_G1), 2600);
    assert_int_equal(cw_xp(w, CW_G1), 2600);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    assert_true(cw_result_has(w, CW_G1, "timed out"));
}

static void disconnect_mid_list_deletes_nothing(void **state)
{
    cw_world *w = *state;
    assert_int_equal(cw_guild(w, CW_G1, 0, 50000), 0);  /* 51 chunks (the bot is listed too) */
    assert_int_equal(cw_rows(w, CW_G1, 0, 50100), 0);   /* 100 stale */
    assert_int_equal(cw_config(w, "{\"op8_chunk_limit\":7}"), 0);
    assert_true(cw_start(w, quick_sweeps));
    /* the double has sent 7 of 51 chunks and holds the rest: drop the line */
    for (int t = 0; t < 15000 && cw_fake_state(w, "op8_chunks_sent") < 7; t += 50)
        dh_sleep_ms(50);
    assert_int_equal(cw_fake_state(w, "op8_chunks_sent"), 7);
    cJSON_Delete(fd_post(&w->fake, "/_control/close", "{\"drop\":true}"));
    assert_true(dh_wait_log(&w->d, "aborted: disconnected after", 1, 10000));
    assert_true(dh_log_count(&w->d, "of 51 chunks; nothing deleted") >= 1);
    assert_int_equal(cw_config(w, "{\"op8_chunk_limit\":-1}"), 0);
    assert_true(dh_wait_log(&w->d, "-> READY (RESUMED", 1, 10000));
    assert_int_equal(cw_users(w, CW_G1), 50100);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    stop_daemon(w);
}

/* op 8 answered RATE_LIMITED: the list comes from REST pages instead, and
 * the sweep still removes exactly the stale row. */
static void rate_limited_request_falls_back_to_rest(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_config(w, "{\"op8_rate_limit_s\":120}"), 0);
    static const char *const args[] = { "--guild", G1, NULL };
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 0);
    remove_quietly(w, G1, 4);                          /* now one row is stale */
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 0);
    assert_non_null(strstr(out, "1 stale row(s) removed"));
    assert_true(dh_log_count(&w->d, "over REST (op 8 rate limited") >= 1);
    assert_int_equal(cw_users(w, CW_G1), 9);
}

/* ---- joins during a sweep --------------------------------------------------- */

static void member_joining_during_the_sweep_survives(void **state)
{
    cw_world *w = *state;
    /* 20,000 members listed; the joiner 2...0099999 has a row (e.g. came
     * back) but is not in the list the double snapshots at the request. */
    assert_int_equal(cw_guild(w, CW_G1, 0, 20000), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 20000), 0);
    assert_int_equal(cw_rows(w, CW_G1, 99999, 1), 0);
    assert_int_equal(cw_rows(w, CW_G1, 50000, 10), 0);  /* 10 really stale */
    assert_int_equal(cw_config(w, "{\"op8_chunk_limit\":3}"), 0);
    assert_true(cw_start(w, quick_sweeps));
    for (int t = 0; t < 15000 && cw_fake_state(w, "op8_chunks_sent") < 3; t += 50)
        dh_sleep_ms(50);
    assert_int_equal(cw_fake_state(w, "op8_chunks_sent"), 3);
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds/" G1 "/members",
                         "{\"event\":true,\"members\":[{\"id\":\"2000000000000099999\"}]}"));
    assert_int_equal(cw_config(w, "{\"op8_chunk_limit\":-1}"), 0);   /* the rest of the list */
    assert_true(cw_wait_users(w, CW_G1, 20001, 15000));
    assert_true(dh_wait_db(w->d.db, "SELECT last_sweep_removed FROM cleaner_guild_state WHERE guild_id = " G1,
                           10, 5000));
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 2000000000000099999"), 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM xp WHERE user_id = 2000000000000099999"), 1);
    stop_daemon(w);
}

/* ---- crash safety and scale ------------------------------------------------- */

static void sigkill_between_batches_leaves_a_consistent_db(void **state)
{
    cw_world *w = *state;
    assert_int_equal(cw_guild(w, CW_G1, 0, 3000), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 6000), 0);    /* 3000 stale = 50% */
    static const char *const slow[] = { "--reconcile-delay", "1", "--batch-size", "50",
                                        "--batch-delay", "0.05", NULL };
    assert_true(cw_start(w, slow));
    assert_true(dh_wait_log(&w->d, "deleting 3000 stale row(s)", 1, 15000));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) >= 300 FROM cleaner_audit WHERE reason = 'sweep'", 1, 15000));
    assert_int_equal(dh_stop(&w->d, SIGKILL, 5000), 128 + SIGKILL);
    int64_t users = cw_users(w, CW_G1), audits = cw_audit(w, "sweep");
    assert_true(users > 3000 && users < 6000);         /* really stopped half-way */
    /* nobody half-deleted: users and xp agree, and each audit row is a user gone */
    assert_int_equal(cw_xp(w, CW_G1), users);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM xp WHERE NOT EXISTS (SELECT 1 FROM users "
                                        "WHERE discord_id = xp.user_id AND guild_id = xp.guild_id)"), 0);
    assert_int_equal(users + audits, 6000);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit a JOIN users u ON "
                                        "u.discord_id = a.discord_id AND u.guild_id = a.guild_id"), 0);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE rows != 2"), 0);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " G1
                                        " AND discord_id < 2000000000000003000"), 3000);
    /* the next run finishes the job (what is left is under the guard) */
    assert_true(cw_start(w, slow));
    assert_true(cw_wait_users(w, CW_G1, 3000, 30000));
    assert_int_equal(cw_xp(w, CW_G1), 3000);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'sweep'", 3000, 5000));
    stop_daemon(w);
}

/* The bot's own connection holding the database: SQLite's write lock
 * (BEGIN IMMEDIATE), or users in ACCESS EXCLUSIVE mode on PostgreSQL. */
typedef struct {
    sqlite3 *lite;
    PGconn *pg;
} bot_hold;

static void hold_database(cw_world *w, bot_hold *h)
{
    *h = (bot_hold){ 0 };
    if (dh_backend_pg()) {
        h->pg = pgfx_lock(w->d.db, "users");
        assert_non_null(h->pg);
        return;
    }
    assert_int_equal(sqlite3_open(w->d.db, &h->lite), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h->lite, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void release_database(bot_hold *h)
{
    if (h->pg)
        pgfx_unlock(h->pg);
    if (h->lite) {
        assert_int_equal(sqlite3_exec(h->lite, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
        sqlite3_close(h->lite);
    }
}

/* The bot holds the database for 2 s in the middle of a sweep's deletes:
 * the batch refused as busy is tried again (said once) instead of the
 * sweep ending as aborted with its member list thrown away; once the lock
 * goes the sweep ends ok, every stale row removed and audited once. */
static void database_held_mid_sweep_delays_it_and_it_completes(void **state)
{
    cw_world *w = *state;
    assert_int_equal(cw_guild(w, CW_G1, 0, 2000), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 3000), 0);    /* 1000 stale */
    static const char *const slow[] = { "--reconcile-delay", "1", "--batch-size", "50",
                                        "--batch-delay", "0.05", NULL };
    assert_true(cw_start(w, slow));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) >= 100 FROM cleaner_audit WHERE reason = 'sweep'", 1, 15000));
    bot_hold h;
    hold_database(w, &h);
    assert_true(dh_wait_log(&w->d, "the sweep's step is tried again", 1, 5000));
    dh_sleep_ms(2000);
    release_database(&h);
    assert_true(cw_wait_users(w, CW_G1, 2000, 30000));
    assert_true(dh_wait_log(&w->d, "2001 members listed, 1000 stale row(s) removed", 1, 10000));
    assert_int_equal(cw_xp(w, CW_G1), 2000);
    assert_int_equal(cw_audit(w, "sweep"), 1000);
    assert_int_equal(dh_log_count(&w->d, "aborted:"), 0);          /* the sweep never ended early */
    stop_daemon(w);
}

static void large_guild_sweep_keeps_the_session_alive(void **state)
{
    cw_world *w = *state;
    /* 200,000 members; 200,000 rows of which 20,000 belong to people gone */
    assert_int_equal(cw_guild(w, CW_G1, 0, 200000), 0);
    assert_int_equal(cw_rows(w, CW_G1, 20000, 200000), 0);
    assert_int_equal(cw_config(w, "{\"heartbeat_interval\":1000}"), 0);
    assert_true(cw_start(w, quick_sweeps));
    assert_true(cw_wait_users(w, CW_G1, 180000, 50000));
    assert_true(dh_wait_log(&w->d, "200001 members listed, 20000 stale row(s) removed", 1, 5000));
    assert_int_equal(cw_xp(w, CW_G1), 180000);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id >= 2000000000000200000"), 0);
    assert_int_equal(dh_log_count(&w->d, "zombie"), 0);
    assert_int_equal(cw_fake_state(w, "identify_count"), 1);
    stop_daemon(w);
}

/* ---- a whole list that lacks a member (issue #14 A) -------------------------- */

/* The double leaves member k out of full lists, op 8 and REST pages alike,
 * with chunk numbers that fit what it sends. */
static void omit_from_lists(cw_world *w, int64_t k)
{
    char body[96];
    snprintf(body, sizeof body, "{\"list_omit\":[\"%llu\"]}", (unsigned long long)CW_UID(k));
    assert_int_equal(cw_config(w, body), 0);
}

static int64_t has_row(cw_world *w, int64_t k)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE discord_id = %llu", (unsigned long long)CW_UID(k));
    return dh_db_int(w->d.db, sql);
}

/* 30 stale rows and one member missing from the list: every stale row is
 * confirmed over REST, the missing member answers 200 and keeps their row. */
static void short_list_confirms_each_row(cw_world *w, const char *source)
{
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 100), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 130), 0);
    omit_from_lists(w, 3);
    const char *const args[] = { "--guild", G1, "--confirm-sample", "1", "--member-source", source, NULL };
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 0);
    assert_int_equal(has_row(w, 3), 1);                /* before: deleted with the stale rows */
    assert_non_null(strstr(out, "30 stale row(s) removed, each confirmed over REST"));
    assert_non_null(strstr(out, "100 of 101 members (1 found and kept)"));
    assert_int_equal(cw_users(w, CW_G1), 100);
    assert_int_equal(cw_audit(w, "sweep"), 30);
    assert_int_equal(cw_requests(w, "GET", "/api/v10/guilds/" G1 "/members/"), 31);
}

static void list_lacking_a_member_keeps_its_row(void **state)
{
    short_list_confirms_each_row(*state, "gateway");
}

static void rest_list_lacking_a_member_keeps_its_row(void **state)
{
    short_list_confirms_each_row(*state, "rest");
}

/* Too many stale rows to confirm one by one: nothing goes, and the outcome
 * says the list was incomplete. */
static void short_list_with_many_stale_rows_deletes_nothing(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 100), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 170), 0);     /* 70 stale: more than 64 */
    omit_from_lists(w, 3);
    static const char *const args[] = { "--guild", G1, NULL };
    assert_int_equal(cw_sweep_cli(w, args, out, sizeof out), 75);
    assert_non_null(strstr(out, "incomplete: the member list has 100 of 101 members"));
    assert_int_equal(cw_users(w, CW_G1), 170);
    assert_int_equal(cw_audit(w, "sweep"), 0);
    assert_true(cw_result_has(w, CW_G1, "incomplete"));
}

/* ---- a guild the guard refused waits for its interval (issue #14 item 17) ---- */

static int op8_requests(cw_world *w)
{
    cJSON *sent = fd_get(&w->fake, "/_control/sent");
    const cJSON *e;
    int n = 0;
    cJSON_ArrayForEach(e, sent) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "op");
        n += cJSON_IsNumber(op) && op->valueint == 8;
    }
    cJSON_Delete(sent);
    return n;
}

static void guard_refusal_holds_the_guild_until_its_interval(void **state)
{
    cw_world *w = *state;
    char out[8192];
    assert_int_equal(cw_guild(w, CW_G1, 0, 4), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 10), 0);     /* 6 of 10 stale: the guard refuses */
    assert_true(cw_start(w, quick_sweeps));             /* a new session: needs_reconcile */
    assert_true(dh_wait_log(&w->d, "guard: 6 of 10 rows", 1, 15000));
    /* Before: asked for the whole list again every 30 s (the op 8 spacing). */
    dh_sleep_ms(35000);
    assert_int_equal(op8_requests(w), 1);
    assert_int_equal(dh_log_count(&w->d, "guard: 6 of 10 rows"), 1);
    assert_int_equal(dh_log_count(&w->d, "warn  sweep: guild " G1 ": guard:"), 1);   /* warned, once */
    assert_int_equal(cw_users(w, CW_G1), 10);
    stop_daemon(w);
    /* status shows it */
    const char *const status[] = { dh_bin("discord-cleaner"), "status", "--db", w->d.db, NULL };
    assert_int_equal(dh_run_cli(status, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "held"));
}

/* The daemon's saved session (gw.* keys) as one line of text. */
static char *saved_session(cw_world *w)
{
    char *text = dh_db_text(w->d.db, dh_sql("SELECT group_concat(key || '=' || value, ' ') FROM "
                                            "(SELECT key, value FROM cleaner_session_state "
                                            "WHERE key LIKE 'gw.%' ORDER BY key)",
                                            "SELECT string_agg(key || '=' || value, ' ' ORDER BY key) "
                                            "FROM cleaner_session_state WHERE key LIKE 'gw.%'"));
    assert_non_null(text);
    return text;
}

/* `sweep` while `run` works on the same database: handed to the daemon
 * through the database (no second gateway session), its answer printed;
 * a guild the daemon does not serve: 66.  A second `run`: refused at once
 * (75).  Once the daemon has stopped, the sweep identifies a session of its
 * own -- it never resumes the daemon's -- and leaves the saved one as it
 * found it, so the daemon resumes its own next time. */
static void cli_never_takes_the_daemons_session(void **state)
{
    cw_world *w = *state;
    /* Not on PostgreSQL yet (issue #16, a known difference): `sweep` finds
     * the running daemon by the file lock of dblock.h, which a postgresql://
     * database has not; the CLI then sweeps with a session of its own. */
    if (dh_backend_pg())
        skip();
    char out[4096], api[128];
    assert_int_equal(cw_guild(w, CW_G1, 0, 3), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 4), 0);          /* 1 stale */
    assert_int_equal(cw_guild(w, CW_G2, 0, 2), 0);
    assert_true(cw_start(w, NULL));
    static const char *const one[] = { "--guild", G1, NULL };
    int st = cw_sweep_cli(w, one, out, sizeof out);
    if (st != 0 || !strstr(out, "handed to the running daemon") || !strstr(out, "guild " G1 ": ok: ") || !strstr(out, "1 stale row(s) removed"))
        fail_msg("exit %d: %s", st, out);
    assert_int_equal(cw_users(w, CW_G1), 3);
    static const char *const other[] = { "--guild", "1000000000000000099", NULL };
    assert_int_equal(cw_sweep_cli(w, other, out, sizeof out), 66);
    assert_non_null(strstr(out, "1000000000000000099: not available to the running daemon"));
    assert_int_equal(dh_db_int(w->d.db, "SELECT count(*) FROM cleaner_sweep_requests"), 0);

    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", w->fake.port);
    const char *const second[] = { dh_bin("discord-cleaner"), "run", "--api-base", api, "--db", w->d.db,
                                   "--log-file", w->d.log, NULL };
    static const char *const env[] = { "DISCORD_TOKEN=test-token", NULL };
    assert_int_equal(dh_run_cli(second, env, out, sizeof out), 75);
    assert_non_null(strstr(out, "is already running on this database"));
    assert_int_equal(cw_fake_state(w, "identify_count"), 1);    /* nobody else connected */
    assert_int_equal(cw_fake_state(w, "resume_count"), 0);

    stop_daemon(w);
    assert_int_equal(dh_db_exec(w->d.db, "UPDATE cleaner_guild_state SET needs_reconcile = 0"), 0);
    char *before = saved_session(w);
    assert_non_null(strstr(before, "gw.0.session_id="));
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 0);
    assert_int_equal(cw_fake_state(w, "resume_count"), 0);      /* identified, never resumed */
    assert_int_equal(cw_fake_state(w, "identify_count"), 2);
    char *after = saved_session(w);
    assert_string_equal(before, after);
    /* Nor does its new session mark the guilds it did not sweep for the daemon. */
    assert_int_equal(cw_state(w, CW_G2, "needs_reconcile"), 0);
    free(before);
    free(after);
    assert_true(cw_start(w, NULL));
    assert_int_equal(cw_fake_state(w, "resume_count"), 1);      /* the daemon's own session */
    stop_daemon(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(members_removed_while_stopped_go_at_startup, setup, teardown),
        cmocka_unit_test_setup_teardown(sweep_cli_reports_per_guild_and_exits_0, setup, teardown),
        cmocka_unit_test_setup_teardown(guild_not_served_exits_66, setup, teardown),
        cmocka_unit_test_setup_teardown(guard_refuses_then_force_proceeds, setup, teardown),
        cmocka_unit_test_setup_teardown(write_refused_mid_batch_rolls_the_batch_back, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_deletes_nothing_and_counts_right, setup, teardown),
        cmocka_unit_test_setup_teardown(chunk_timeout_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(disconnect_mid_list_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limited_request_falls_back_to_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(member_joining_during_the_sweep_survives, setup, teardown),
        cmocka_unit_test_setup_teardown(sigkill_between_batches_leaves_a_consistent_db, setup, teardown),
        cmocka_unit_test_setup_teardown(database_held_mid_sweep_delays_it_and_it_completes, setup, teardown),
        cmocka_unit_test_setup_teardown(large_guild_sweep_keeps_the_session_alive, setup, teardown),
        cmocka_unit_test_setup_teardown(list_lacking_a_member_keeps_its_row, setup, teardown),
        cmocka_unit_test_setup_teardown(rest_list_lacking_a_member_keeps_its_row, setup, teardown),
        cmocka_unit_test_setup_teardown(short_list_with_many_stale_rows_deletes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(guard_refusal_holds_the_guild_until_its_interval, setup, teardown),
        cmocka_unit_test_setup_teardown(cli_never_takes_the_daemons_session, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
