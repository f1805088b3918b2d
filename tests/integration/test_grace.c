/* test_grace.c - issue #17, the grace period and the notice, against the
 * loopback double, on both stores (BOTH_BACKENDS).
 *
 * A rejoin inside the grace period keeps every row; the expiry deletes the
 * rows once and only once, also across a kill -9 between the mark and the
 * due time and a restart after it (never before the due time); a confirmed
 * GUILD_DELETE is pending, and a GUILD_CREATE of that guild cancels it; at
 * most notify_per_minute notices go (the rest are skipped and counted);
 * a dry run marks nothing and sends no DM; a refused DM (50007) is a debug
 * line and is never retried. */
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup_world.h"

#define G1 "1000000000000000001"
#define G2 "1000000000000000002"
#define U3 "2000000000000000003"

static int setup(void **state)
{
    cw_world *w = cw_new();
    *state = w;
    return w ? 0 : -1;
}

static int teardown(void **state)
{
    cw_free(*state);
    return 0;
}

/* G1 with members 0..n-1 and their rows; G2 with the same members (so a
 * departed member of G1 still shares a server with the bot) and no rows. */
static void world(cw_world *w, int n)
{
    assert_int_equal(cw_guild(w, CW_G1, 0, n), 0);
    assert_int_equal(cw_guild(w, CW_G2, 0, n), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, n), 0);
}

static void post(cw_world *w, const char *path, const char *body)
{
    cJSON *r = fd_post(&w->fake, path, body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok")));
    cJSON_Delete(r);
}

static void leave(cw_world *w, const char *guild, uint64_t uid)
{
    char path[160];
    snprintf(path, sizeof path, "/_control/guilds/%s/members/%" PRIu64 "?event=1", guild, uid);
    cJSON_Delete(fd_delete(&w->fake, path));
}

static void rejoin(cw_world *w, const char *guild, uint64_t uid)
{
    char path[96], body[160];
    snprintf(path, sizeof path, "/_control/guilds/%s/members", guild);
    snprintf(body, sizeof body, "{\"event\":true,\"members\":[{\"id\":\"%" PRIu64 "\"}]}", uid);
    cJSON_Delete(fd_post(&w->fake, path, body));
}

static int64_t pending(cw_world *w)
{
    return dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_grace");
}

/* The DMs the double saw: all, and the delivered ones. */
static int dms(cw_world *w, int delivered_only)
{
    cJSON *r = fd_get(&w->fake, "/_control/dms");
    const cJSON *list = cJSON_IsArray(r) ? r : cJSON_GetObjectItemCaseSensitive(r, "dms");
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
        n += !delivered_only || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "delivered"));
    cJSON_Delete(r);
    return n;
}

static int wait_dms(cw_world *w, int want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (dms(w, 0) >= want)
            return 1;
        dh_sleep_ms(50);
    }
    return 0;
}

static void stop_daemon(cw_world *w)
{
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void a_rejoin_inside_the_grace_period_keeps_every_row(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "1", NULL };
    world(w, 5);
    assert_true(cw_start(w, args));
    leave(w, G1, CW_UID(3));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace WHERE guild_id = " G1
                                    " AND discord_id = " U3 " AND reason = 'member_remove'", 1, 5000));
    assert_int_equal(cw_users(w, CW_G1), 5);
    assert_int_equal(cw_xp(w, CW_G1), 5);
    rejoin(w, G1, CW_UID(3));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace", 0, 5000));
    assert_int_equal(cw_users(w, CW_G1), 5);
    assert_int_equal(cw_xp(w, CW_G1), 5);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    stop_daemon(w);
}

/* grace_hours 0.001: 3.6 s.  kill -9 right after the mark is committed; a
 * restart at once must not delete before the due time, and the expiry
 * deletes once: a second restart after it finds nothing to do. */
static void the_expiry_deletes_once_across_a_kill_and_restarts(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "0.001", NULL };
    world(w, 5);
    assert_true(cw_start(w, args));
    leave(w, G1, CW_UID(3));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace", 1, 5000));
    int64_t due = dh_db_int(w->d.db, "SELECT due_ms FROM cleaner_grace");
    int64_t marked = dh_db_int(w->d.db, "SELECT marked_ms FROM cleaner_grace");
    assert_int_equal(due - marked, 3600);
    dh_stop(&w->d, SIGKILL, 5000);
    assert_int_equal(cw_users(w, CW_G1), 5);
    /* `status` (text and --json) shows the pending departure */
    char out[16384];
    const char *const text[] = { dh_bin("discord-cleaner"), "status", "--db", w->d.db, NULL };
    const char *const json[] = { dh_bin("discord-cleaner"), "status", "--json", "--db", w->d.db, NULL };
    assert_int_equal(dh_run_cli(text, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "1 departure(s) in their grace period"));
    assert_int_equal(dh_run_cli(json, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"pending_departures\":{\"count\":1,\"next_due_ms\":"));
    assert_true(cw_start(w, args));
    assert_true(cw_wait_users(w, CW_G1, 4, 15000));
    assert_int_equal(cw_xp(w, CW_G1), 4);
    /* never before its due time, and with the departure's own reason kept */
    assert_true(dh_db_int(w->d.db, "SELECT at_ms FROM cleaner_audit WHERE reason = 'grace_expired'") >= due);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'grace_expired' AND "
                                        "origin = 'member_remove' AND discord_id = " U3 " AND rows = 2"), 1);
    assert_int_equal(pending(w), 0);
    stop_daemon(w);
    assert_true(cw_start(w, args));
    dh_sleep_ms(1500);
    assert_int_equal(cw_audit(w, "grace_expired"), 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit"), 1);
    assert_int_equal(cw_users(w, CW_G1), 4);
    stop_daemon(w);
}

static void a_confirmed_guild_delete_waits_and_guild_create_cancels_it(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "1", NULL };
    world(w, 5);
    assert_true(cw_start(w, args));
    post(w, "/_control/guilds/" G1 "/remove_bot", "{\"unavailable\":false}");
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace WHERE guild_id = " G1
                                    " AND discord_id = 0 AND reason = 'guild_delete'", 1, 5000));
    assert_int_equal(cw_requests(w, "GET", "/api/v10/guilds/" G1), 1);   /* confirmed first */
    assert_int_equal(cw_users(w, CW_G1), 5);
    assert_int_equal(cw_xp(w, CW_G1), 5);
    post(w, "/_control/guilds/" G1 "/restore", "{}");
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace", 0, 5000));
    assert_int_equal(cw_users(w, CW_G1), 5);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    stop_daemon(w);
}

/* And without the GUILD_CREATE the guild's rows go at the due time. */
static void a_guild_delete_expires_with_its_reason(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "0.0005", NULL };
    world(w, 5);
    assert_true(cw_start(w, args));
    post(w, "/_control/guilds/" G1 "/remove_bot", "{\"unavailable\":false}");
    assert_true(cw_wait_users(w, CW_G1, 0, 15000));
    assert_int_equal(cw_xp(w, CW_G1), 0);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'grace_expired' AND "
                                        "origin = 'guild_delete' AND discord_id IS NULL AND rows = 10"), 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_guild_state WHERE guild_id = " G1), 0);
    assert_int_equal(pending(w), 0);
    stop_daemon(w);
}

/* 15 departures with notify_per_minute 10: 10 DMs, 5 skipped and counted. */
static void the_notice_limit_holds(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "24", "--notify-departed", "dm",
                                        "--notify-per-minute", "10", NULL };
    world(w, 20);
    assert_true(cw_start(w, args));
    for (int k = 0; k < 15; k++)
        leave(w, G1, CW_UID(k));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace", 15, 10000));
    assert_true(wait_dms(w, 10, 10000));
    assert_true(dh_wait_log(&w->d, "notice skipped", 5, 5000));
    dh_sleep_ms(500);
    assert_int_equal(dms(w, 0), 10);
    assert_int_equal(dms(w, 1), 10);                          /* they still share G2 */
    assert_int_equal(dh_log_count(&w->d, "notice skipped"), 5);
    assert_true(dh_log_count(&w->d, "5 skipped so far") >= 1);
    assert_int_equal(cw_users(w, CW_G1), 20);
    /* the text and no mentions parsed */
    cJSON *r = fd_get(&w->fake, "/_control/dms");
    const cJSON *first = cJSON_GetArrayItem(cJSON_IsArray(r) ? r : cJSON_GetObjectItemCaseSensitive(r, "dms"), 0);
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(first, "body");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(body, "content");
    const cJSON *parse = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(body, "allowed_mentions"),
                                                          "parse");
    assert_true(cJSON_IsString(content));
    assert_non_null(strstr(content->valuestring, "24 h from now"));
    assert_null(strstr(content->valuestring, "{"));
    assert_true(cJSON_IsArray(parse));
    assert_int_equal(cJSON_GetArraySize(parse), 0);
    cJSON_Delete(r);
    stop_daemon(w);
}

static void a_dry_run_marks_nothing_and_sends_no_dm(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "1", "--notify-departed", "dm", "--dry-run", NULL };
    world(w, 5);
    assert_true(cw_start(w, args));
    leave(w, G1, CW_UID(3));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove' "
                                    "AND dry_run = 1", 1, 5000));
    dh_sleep_ms(500);
    assert_int_equal(pending(w), 0);
    assert_int_equal(dms(w, 0), 0);
    assert_int_equal(cw_requests(w, "POST", "/api/v10/users/@me/channels"), 0);
    assert_int_equal(cw_users(w, CW_G1), 5);
    stop_daemon(w);
}

/* A member who shares no other server: Discord refuses the DM with 50007;
 * a debug line, one attempt, the departure still pending. */
static void a_refused_dm_is_a_debug_line_and_not_retried(void **state)
{
    cw_world *w = *state;
    static const char *const args[] = { "--grace-hours", "1", "--notify-departed", "dm", "--log-level", "debug",
                                        NULL };
    assert_int_equal(cw_guild(w, CW_G1, 0, 5), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 5), 0);
    assert_true(cw_start(w, args));
    leave(w, G1, CW_UID(3));
    assert_true(wait_dms(w, 1, 5000));
    assert_true(dh_wait_log(&w->d, "no direct message (message: HTTP 403, code 50007", 1, 5000));
    dh_sleep_ms(1000);
    assert_int_equal(dms(w, 0), 1);
    assert_int_equal(dms(w, 1), 0);
    assert_int_equal(dh_log_count(&w->d, "no direct message"), 1);
    assert_int_equal(pending(w), 1);
    assert_int_equal(cw_users(w, CW_G1), 5);
    stop_daemon(w);
}

/* A sweep with a grace period: the stale rows are marked (reason sweep),
 * nothing deleted; a second sweep marks nothing new; the guard still
 * counts them (6 of 10 stale refuses without --force). */
static void a_sweep_marks_its_stale_rows_pending(void **state)
{
    cw_world *w = *state;
    char out[4096];
    assert_int_equal(cw_guild(w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 12), 0);          /* 10, 11 are gone */
    static const char *const one[] = { "--guild", G1, "--grace-hours", "24", NULL };
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 0);
    assert_non_null(strstr(out, "2 stale row(s) kept for the grace period of 24 h (2 member(s) newly pending)"));
    assert_int_equal(cw_users(w, CW_G1), 12);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_grace WHERE reason = 'sweep' AND discord_id IN "
                                        "(2000000000000000010, 2000000000000000011)"), 2);
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 0);
    assert_non_null(strstr(out, "(0 member(s) newly pending)"));
    assert_int_equal(pending(w), 2);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE dry_run = 0"), 0);
    /* the guard counts pending rows as going */
    assert_int_equal(cw_rows(w, CW_G1, 12, 4), 0);          /* 6 of 16 stale: 37% */
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 0);
    assert_int_equal(cw_rows(w, CW_G1, 16, 4), 0);          /* 10 of 20 stale: 50% */
    assert_int_equal(cw_rows(w, CW_G1, 20, 1), 0);          /* 11 of 21: over the share */
    assert_int_equal(cw_sweep_cli(w, one, out, sizeof out), 75);
    assert_non_null(strstr(out, "guard: 11 of 21 rows"));
    assert_int_equal(pending(w), 6);
}

/* Two processes on one database, shards 0/2 and 1/2: each expires only
 * its own shards' guilds' records, each record once.  GA is on shard 1,
 * GB on shard 0; both records are overdue when the processes start. */
#define GA "1000000000000000001"
#define GB "1000000000004194305"
static void each_process_expires_its_own_shards_records(void **state)
{
    cw_world *w = *state;
    const uint64_t ga = CW_G1, gb = UINT64_C(1000000000004194305);
    assert_int_equal(cw_config(w, "{\"shards\":2}"), 0);
    assert_int_equal(cw_guild(w, ga, 0, 5), 0);
    assert_int_equal(cw_guild(w, gb, 0, 5), 0);
    assert_int_equal(cw_rows(w, ga, 0, 5), 0);
    assert_int_equal(cw_rows(w, gb, 0, 5), 0);
    static const char *const shard0[] = { "--shards", "0/2", "--grace-hours", "1", NULL };
    assert_true(cw_start(w, shard0));                           /* creates the schema */
    assert_int_equal(dh_db_exec(w->d.db, "INSERT INTO cleaner_grace (guild_id, discord_id, reason, marked_ms, due_ms) "
                                         "VALUES (" GA ", 2000000000000000001, 'member_remove', 1, 2), "
                                         "(" GB ", 2000000000000000002, 'member_remove', 1, 2)"), 0);
    stop_daemon(w);
    assert_true(cw_start(w, shard0));
    assert_true(cw_wait_users(w, gb, 4, 10000));                /* its own guild's record */
    dh_sleep_ms(1000);
    assert_int_equal(cw_users(w, ga), 5);                       /* not the other shard's */
    assert_int_equal(pending(w), 1);
    /* the second process, on the same database */
    dh_proc b = w->d;
    snprintf(b.log, sizeof b.log, "%s/second.log", w->d.dir);
    b.pid = 0;
    const char *const shard1[] = { "--clean-tables", "xp:user_id:guild_id", "--shards", "1/2", "--grace-hours", "1",
                                   NULL };
    assert_int_equal(dh_start(&b, w->fake.port, shard1, NULL), 0);
    assert_true(cw_wait_users(w, ga, 4, 10000));
    assert_int_equal(pending(w), 0);
    dh_sleep_ms(500);
    assert_int_equal(cw_audit(w, "grace_expired"), 2);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE guild_id = " GA), 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE guild_id = " GB), 1);
    assert_int_equal(dh_stop(&b, SIGTERM, 5000), 0);
    stop_daemon(w);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_rejoin_inside_the_grace_period_keeps_every_row),
        T(the_expiry_deletes_once_across_a_kill_and_restarts),
        T(a_confirmed_guild_delete_waits_and_guild_create_cancels_it),
        T(a_guild_delete_expires_with_its_reason),
        T(the_notice_limit_holds),
        T(a_dry_run_marks_nothing_and_sends_no_dm),
        T(a_refused_dm_is_a_debug_line_and_not_retried),
        T(a_sweep_marks_its_stale_rows_pending),
        T(each_process_expires_its_own_shards_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
