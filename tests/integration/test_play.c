/* test_play.c - `fakediscord --play FIXTURE` serves a recorded session over
 * a real websocket: the live daemon, connected to it with the fixture's
 * seed in its database, removes the same rows the replay expectation says.
 * The daemon also records that session (`run --record`), REST answers
 * included, and replaying the recording gives the same outcome again. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cjson/cJSON.h>

#include "daemon_harness.h"
#include "fake_client.h"

#define FIXTURE "fixtures/member_leaves_online"
#define USERS_DDL "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT, " \
                  "UNIQUE (discord_id, guild_id));"

static cJSON *load_json(const char *path)
{
    char *text = dh_read_file(path);
    assert_non_null(text);
    cJSON *j = cJSON_Parse(text);          /* the fixture's first line is its header */
    if (!j) {
        char *nl = strchr(text, '\n');
        if (nl)
            *nl = '\0';
        j = cJSON_Parse(text);
    }
    free(text);
    assert_non_null(j);
    return j;
}

/* A database in the state the fixture's header describes. */
static void seed(const char *db)
{
    cJSON *header = load_json(FIXTURE ".jsonl");
    const cJSON *sql = cJSON_GetObjectItemCaseSensitive(header, "seed_sql");
    assert_true(cJSON_IsString(sql));
    assert_int_equal(dh_db_exec(db, USERS_DDL), 0);
    assert_int_equal(dh_db_exec(db, sql->valuestring), 0);
    cJSON_Delete(header);
}

/* Every guild's remaining rows and the member_remove count of the expectation. */
static void wait_for_expectation(const char *db)
{
    cJSON *expect = load_json(FIXTURE ".expect.json");
    const cJSON *g;
    char sql[160];
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(expect, "remaining")) {
        snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE guild_id = %s", g->string);
        assert_true(dh_wait_db(db, sql, (int64_t)g->valuedouble, 15000));
    }
    const cJSON *removed = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(expect, "removed"), "member_remove");
    assert_true(cJSON_IsNumber(removed) && removed->valuedouble > 0);
    assert_true(dh_wait_db(db, "SELECT COALESCE(SUM(rows), 0) FROM cleaner_audit WHERE reason = 'member_remove'",
                           (int64_t)removed->valuedouble, 5000));
    cJSON_Delete(expect);
}

static int run_status(const char *cmd)
{
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Stopped by the teardown even when an assertion ends the test early. */
static fd_proc fake;
static dh_proc d;
static int fake_up, daemon_dir;

static int stop_all(void **state)
{
    (void)state;
    if (daemon_dir)
        dh_cleanup(&d);
    if (fake_up)
        fd_stop(&fake);
    fake_up = daemon_dir = 0;
    return 0;
}

static void test_daemon_against_a_played_fixture(void **state)
{
    (void)state;
    const char *const fake_args[] = { "--play", FIXTURE ".jsonl", NULL };
    assert_int_equal(fd_start(&fake, fake_args), 0);
    fake_up = 1;
    assert_int_equal(dh_init(&d), 0);
    daemon_dir = 1;
    seed(d.db);
    char copy[400], rec[400], cmd[1400];
    snprintf(copy, sizeof copy, "%s/before.db", d.dir);
    snprintf(rec, sizeof rec, "%s/session.jsonl", d.dir);
    seed(copy);

    const char *const args[] = { "--record", rec, "--record-decoded", NULL };
    assert_int_equal(dh_start(&d, fake.port, args, NULL), 0);
    wait_for_expectation(d.db);
    /* Rows of the never-stored user and of guild 222's other member stay. */
    assert_int_equal(dh_db_int(d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 2001"), 1);
    assert_int_equal(dh_stop(&d, SIGTERM, 10000), 0);

    /* The recording holds the played frames and the REST answers. */
    char *text = dh_read_file(rec);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"GUILD_MEMBER_REMOVE\""));
    assert_non_null(strstr(text, "\"k\":\"rest\""));
    assert_non_null(strstr(text, "\"path\":\"/applications/@me\""));   /* commands: the bot's owners */
    assert_null(strstr(text, "test-token"));
    free(text);

    /* ... and replays to the same rows against the seeded copy. */
    snprintf(cmd, sizeof cmd, "%s replay %s --db %s >/dev/null 2>&1", dh_bin("discord-cleaner"), rec, copy);
    assert_int_equal(run_status(cmd), 0);
    assert_int_equal(dh_db_int(copy, "SELECT COUNT(*) FROM users WHERE guild_id = 111"), 1);
    assert_int_equal(dh_db_int(copy, "SELECT COUNT(*) FROM users WHERE guild_id = 222"), 1);

}

/* ---- a recorded session played back faithfully (issue 14 #22) ---------- */

#define G "1000000000000000001"
#define ROW(u) "INSERT INTO users VALUES (" u ", " G ", 'x');"

static dh_proc d2;
static int d2_dir;

static int stop_second(void **state)
{
    if (d2_dir)
        dh_cleanup(&d2);
    d2_dir = 0;
    return stop_all(state);
}

/* Rows of members 101-105 and of 106, who is no member (a sweep removes it). */
static void seed_world(const char *db)
{
    assert_int_equal(dh_db_exec(db, USERS_DDL "BEGIN;" ROW("1000000000000000101") ROW("1000000000000000102")
                                ROW("1000000000000000103") ROW("1000000000000000104")
                                ROW("1000000000000000105") ROW("1000000000000000106") "COMMIT;"), 0);
}

static int64_t rows_of(const char *db, const char *uid)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE discord_id = %s", uid);
    return dh_db_int(db, sql);
}

/* Record (raw frames) a session with a sweep (op 8 and its chunks), an op 7
 * the daemon answers by closing with 4000 itself, a resume and a departure;
 * then play it to a fresh daemon: the chunks answer that daemon's own op 8
 * (its nonce), the daemon's own close is not sent as the server's, and the
 * same rows go. */
static void test_played_recording_answers_op8_and_keeps_client_closes(void **state)
{
    (void)state;
    assert_int_equal(fd_start(&fake, NULL), 0);
    fake_up = 1;
    cJSON_Delete(fd_post(&fake, "/_control/guilds",
        "{\"id\":\"" G "\",\"name\":\"T\",\"owner_id\":\"1000000000000000101\",\"members\":["
        "{\"id\":\"1000000000000000101\"},{\"id\":\"1000000000000000102\"},{\"id\":\"1000000000000000103\"},"
        "{\"id\":\"1000000000000000104\"},{\"id\":\"1000000000000000105\"}]}"));
    assert_int_equal(dh_init(&d), 0);
    daemon_dir = 1;
    assert_int_equal(dh_init(&d2), 0);
    d2_dir = 1;
    seed_world(d.db);
    seed_world(d2.db);
    char rec[400];
    snprintf(rec, sizeof rec, "%s/session.jsonl", d.dir);
    const char *const rec_args[] = { "--reconcile-delay", "0", "--record", rec, NULL };
    assert_int_equal(dh_start(&d, fake.port, rec_args, NULL), 0);
    assert_true(dh_wait_db(d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000106", 0, 20000));
    cJSON_Delete(fd_post(&fake, "/_control/op", "{\"op\":7}"));
    assert_true(dh_wait_log(&d, "RESUMED: replay complete", 1, 10000));
    cJSON_Delete(fd_delete(&fake, "/_control/guilds/" G "/members/1000000000000000102?event=1"));
    assert_true(dh_wait_db(d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000102", 0, 8000));
    assert_int_equal(dh_stop(&d, SIGTERM, 10000), 0);
    fd_stop(&fake);
    fake_up = 0;
    char *text = dh_read_file(rec);
    assert_non_null(strstr(text, "\"by\":\"client\""));
    free(text);

    const char *const fake_args[] = { "--play", rec, NULL };
    assert_int_equal(fd_start(&fake, fake_args), 0);
    fake_up = 1;
    const char *const args[] = { "--reconcile-delay", "0", NULL };
    assert_int_equal(dh_start(&d2, fake.port, args, NULL), 0);
    assert_true(dh_wait_db(d2.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000106", 0, 20000));
    assert_true(dh_wait_log(&d2, "RESUMED: replay complete", 1, 15000));
    assert_true(dh_wait_db(d2.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000102", 0, 15000));
    assert_int_equal(rows_of(d2.db, "1000000000000000101"), 1);
    assert_int_equal(dh_log_count(&d2, "connection closed: code 4000"), 0);   /* never the server's */
    assert_int_equal(dh_stop(&d2, SIGTERM, 10000), 0);
}

static void test_play_refuses_a_missing_or_bad_fixture(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s --play /nonexistent/x.jsonl >/dev/null 2>&1", dh_bin("fakediscord"));
    assert_int_equal(run_status(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s --play fixtures/member_leaves_online.expect.json >/dev/null 2>&1",
             dh_bin("fakediscord"));
    assert_int_equal(run_status(cmd), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_daemon_against_a_played_fixture, stop_all),
        cmocka_unit_test_teardown(test_played_recording_answers_op8_and_keeps_client_closes, stop_second),
        cmocka_unit_test(test_play_refuses_a_missing_or_bad_fixture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
