/* test_member_source.c - where a sweep gets its member list: gateway op 8
 * (default), REST pages (member_source = rest), and REST as the fallback
 * when op 8 is rate limited.  Uses the `sweep` subcommand end to end, on
 * both stores (DC_TEST_BACKEND=postgresql: the database is PostgreSQL). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "daemon_harness.h"
#include "fake_client.h"

#define GUILD "2000000000000000001"

typedef struct {
    fd_proc fake;
    dh_proc d;
    char api[128];
} world;

static int teardown_world(void **state)
{
    world *w = *state;
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
    return 0;
}

/* 2,500 members (three op 8 chunks, three REST pages) with ids 3000...;
 * the database holds them plus 40 users who left (ids 9000...). */
static int setup_world(void **state)
{
    world *w = calloc(1, sizeof *w);
    *state = w;
    if (!w || dh_init(&w->d) != 0 || fd_start(&w->fake, NULL) != 0)
        return teardown_world(state), -1;
    snprintf(w->api, sizeof w->api, "http://127.0.0.1:%d/api/v10", w->fake.port);
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds",
        "{\"id\":\"" GUILD "\",\"name\":\"Big\",\"owner_id\":\"3000\","
        "\"generate\":{\"count\":2500,\"first_id\":\"3000\"}}"));
    char *sql = malloc(1 << 20);
    strcpy(sql, dh_sql("CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT, "
                       "UNIQUE (discord_id, guild_id)); BEGIN;",
                       "CREATE TABLE users (discord_id BIGINT NOT NULL, guild_id BIGINT, username TEXT, "
                       "UNIQUE (discord_id, guild_id)); BEGIN;"));
    for (int i = 0; i < 2500; i++)
        sprintf(sql + strlen(sql), "INSERT INTO users VALUES (%d, " GUILD ", 'm');", 3000 + i);
    for (int i = 0; i < 40; i++)
        sprintf(sql + strlen(sql), "INSERT INTO users VALUES (%d, " GUILD ", 'gone');", 9000 + i);
    strcat(sql, "COMMIT;");
    int rc = dh_db_exec(w->d.db, sql);
    free(sql);
    if (rc != 0)
        teardown_world(state);       /* cmocka runs no teardown after a failed setup: the double goes here */
    return rc;
}

static int sweep_cli(world *w, const char *extra, char *out, size_t cap)
{
    const char *args[16] = { dh_bin("discord-cleaner"), "sweep", "--guild", GUILD, "--api-base", w->api,
                             "--db", w->d.db, "--log-file", w->d.log, "--log-level", "debug" };
    int n = 12;
    if (extra)
        args[n++] = extra, args[n++] = "rest";
    args[n] = NULL;
    static const char *const env[] = { "DISCORD_TOKEN=test-token", NULL };
    return dh_run_cli(args, env, out, cap);
}

static int rest_page_requests(world *w)
{
    cJSON *reqs = fd_get(&w->fake, "/_control/requests");
    const cJSON *r;
    int n = 0;
    cJSON_ArrayForEach(r, reqs) {
        const char *p = cJSON_GetStringValue(cJSON_GetObjectItem(r, "path"));
        n += p && strcmp(p, "/api/v10/guilds/" GUILD "/members") == 0;
    }
    cJSON_Delete(reqs);
    return n;
}

static void stale_rows(world *w, int64_t want)
{
    assert_int_equal(dh_db_int(w->d.db, "SELECT count(*) FROM users WHERE discord_id >= 9000"), want);
    assert_int_equal(dh_db_int(w->d.db, "SELECT count(*) FROM users WHERE discord_id < 9000"), 2500);
}

static void gateway_source_removes_the_stale_rows(void **state)
{
    world *w = *state;
    char out[4096];
    assert_int_equal(sweep_cli(w, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "40 stale row(s) removed"));
    stale_rows(w, 0);
    assert_int_equal(rest_page_requests(w), 0);
}

static void rest_source_pages_the_member_list(void **state)
{
    world *w = *state;
    char out[4096];
    assert_int_equal(sweep_cli(w, "--member-source", out, sizeof out), 0);
    assert_non_null(strstr(out, "40 stale row(s) removed"));
    stale_rows(w, 0);
    assert_int_equal(rest_page_requests(w), 3);       /* 1000 + 1000 + 501 (incl. the bot) */
}

static void rate_limited_op8_falls_back_to_rest(void **state)
{
    world *w = *state;
    char out[4096];
    assert_int_equal(sweep_cli(w, NULL, out, sizeof out), 0);     /* uses the guild's op 8 window */
    dh_db_exec(w->d.db, "INSERT INTO users VALUES (9100, " GUILD ", 'gone later');");
    assert_int_equal(sweep_cli(w, NULL, out, sizeof out), 0);     /* within 30 s: RATE_LIMITED */
    assert_true(dh_log_count(&w->d, "falling back") + dh_log_count(&w->d, "over REST (op 8 rate limited") >= 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT count(*) FROM users WHERE discord_id = 9100"), 0);
    assert_true(rest_page_requests(w) >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(gateway_source_removes_the_stale_rows, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(rest_source_pages_the_member_list, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(rate_limited_op8_falls_back_to_rest, setup_world, teardown_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
