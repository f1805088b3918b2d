/* test_logs_json.c - issue #18: the daemon run with --log-format json
 * against the loopback double writes a log file whose EVERY line is one
 * JSON object with ts/level/module/msg, and a member removal appears as a
 * line with guild, user, reason and rows fields (ids as strings; on
 * PostgreSQL the rows of one member are known only when the turn commits,
 * so there the line has no rows and the summary line carries them).
 * `status --json` afterwards is one JSON document with the same facts. */
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

/* 1 when o is the member-removal line of user in G1. */
static int is_removal_line(const cJSON *o, const char *user)
{
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "guild");
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(o, "user");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "reason");
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "rows");
    return cJSON_IsString(g) && strcmp(g->valuestring, G1) == 0 && cJSON_IsString(u) &&
           strcmp(u->valuestring, user) == 0 && cJSON_IsString(r) &&
           strcmp(r->valuestring, "member_remove") == 0 &&
           (dh_backend_pg() ? !n : cJSON_IsNumber(n) && n->valueint == 2);
}

/* 1 when o is a REST request's line with how long it took. */
static int is_timed_rest_line(const cJSON *o)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "module");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "duration_ms");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(o, "msg");
    return cJSON_IsString(m) && strcmp(m->valuestring, "rest") == 0 && cJSON_IsNumber(d) && d->valuedouble >= 0 &&
           cJSON_IsString(msg) && strstr(msg->valuestring, "GET /gateway/bot -> 200") != NULL;
}

/* Every line parses; returns how many are the removal line. */
static int check_every_line(char *text, const char *user)
{
    int lines = 0, found = 0, timed = 0;
    for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        cJSON *o = cJSON_Parse(line);
        if (!o)
            fail_msg("log line %d is not JSON: %s", lines + 1, line);
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "ts")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "level")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "module")));
        assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "msg")));
        found += is_removal_line(o, user);
        timed += is_timed_rest_line(o);
        cJSON_Delete(o);
        lines++;
    }
    assert_true(lines > 5);
    assert_int_equal(timed, 1);                  /* the one GET /gateway/bot, with duration_ms */
    return found;
}

/* status --json: parses; G1 has 4 rows left, 2 rows deleted by member_remove. */
static void check_status_json(cw_world *w)
{
    static char out[65536];
    const char *args[] = { dh_bin("discord-cleaner"), "status", "--json", "--db", w->d.db, NULL };
    assert_int_equal(dh_run_cli(args, NULL, out, sizeof out), 0);
    cJSON *doc = cJSON_Parse(out);
    if (!doc)
        fail_msg("status --json is not JSON: %s", out);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "migrations_pending")));
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(doc, "rows_per_guild"), *g;
    int seen = 0;
    cJSON_ArrayForEach(g, rows) {
        if (strcmp(cJSON_GetObjectItemCaseSensitive(g, "guild")->valuestring, G1) == 0) {
            assert_int_equal(cJSON_GetObjectItemCaseSensitive(g, "rows")->valueint, 4);
            seen = 1;
        }
    }
    assert_true(seen);
    const cJSON *del = cJSON_GetObjectItemCaseSensitive(doc, "deleted_24h");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(del, "member_remove")->valueint, 2);
    assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "guilds")));
    cJSON_Delete(doc);
}

static void json_log_lines_parse_and_carry_fields(void **state)
{
    cw_world *w = *state;
    assert_int_equal(cw_guild(w, CW_G1, 0, 5), 0);
    assert_int_equal(cw_rows(w, CW_G1, 0, 5), 0);
    const char *const extra[] = { "--log-format", "json", "--log-level", "debug", NULL };
    assert_true(cw_start(w, extra));
    cJSON_Delete(fd_delete(&w->fake, "/_control/guilds/" G1 "/members/2000000000000000003?event=1"));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'", 1, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    char *text = dh_read_file(w->d.log);
    assert_non_null(text);
    assert_int_equal(check_every_line(text, "2000000000000000003"), 1);
    free(text);
    check_status_json(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(json_log_lines_parse_and_carry_fields, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
