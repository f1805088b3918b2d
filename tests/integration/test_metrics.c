/* test_metrics.c - issue #18, GET /metrics of a running daemon against the
 * loopback double: the families with every known label at 0 at start and
 * the exposition content type; N member removals add exactly N to
 * rows_deleted_total{reason="member_remove"} (counted at the commit, as the
 * audit table has them); the counters keep their values across a gateway
 * reconnect (resume), which the sessions and closes families count.  Runs
 * on both backends (BOTH_BACKENDS). */
#define _GNU_SOURCE                  /* strcasestr */
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
#include "http_client.h"

#define G1 "1000000000000000001"

typedef struct {
    cw_world *w;
    int port;                        /* the endpoint's, once started */
} mt_world;

static int setup(void **state)
{
    mt_world *m = calloc(1, sizeof *m);
    m->w = m ? cw_new() : NULL;
    *state = m;
    return m && m->w ? 0 : -1;
}

static int teardown(void **state)
{
    mt_world *m = *state;
    cw_free(m->w);
    free(m);
    return 0;
}

#define SCRAPE_MAX (1 << 20)

/* GET /metrics: the body (caller frees), NULL unless 200; *ctype the Content-Type. */
static char *scrape(mt_world *m, char *ctype, size_t cap)
{
    char *resp = malloc(SCRAPE_MAX), *text = NULL;
    if (resp && hc_get(m->port, "/metrics", NULL, resp, SCRAPE_MAX) == 200)
        text = strdup(hc_body(resp));
    if (ctype) {
        const char *h = resp ? strcasestr(resp, "\r\ncontent-type: ") : NULL;
        size_t n = h ? strcspn(h + 16, "\r\n") : 0;
        snprintf(ctype, cap, "%.*s", (int)n, h ? h + 16 : "");
    }
    free(resp);
    return text;
}

/* Starts the daemon on a port of its choosing and learns it from the log. */
static void start_with(mt_world *m, const char *more)
{
    const char *args[] = { "--http-listen", "127.0.0.1:0", more, NULL };
    assert_true(cw_start(m->w, args));
    m->port = hc_endpoint_port(m->w->d.log, 10000);
    assert_true(m->port > 0);
}

/* The value of the sample line that starts with series ("name{labels}"), -1 when absent. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static double metric(mt_world *m, const char *series)
{
    char *t = scrape(m, NULL, 0);
    double v = t ? sample(t, series) : -1;
    free(t);
    return v;
}

static int wait_metric(mt_world *m, const char *series, double want, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (metric(m, series) == want)
            return 1;
        dh_sleep_ms(50);
    }
    return 0;
}

static void start(mt_world *m)
{
    assert_int_equal(cw_guild(m->w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_rows(m->w, CW_G1, 0, 10), 0);
    assert_int_equal(dh_db_exec(m->w->d.db, "DELETE FROM xp"), 0);   /* one row per member: users */
    start_with(m, NULL);
}

static void remove_member(mt_world *m, int k)
{
    char path[128];
    snprintf(path, sizeof path, "/_control/guilds/" G1 "/members/%llu?event=1", (unsigned long long)CW_UID(k));
    cJSON_Delete(fd_delete(&m->w->fake, path));
}

static void known_labels_at_zero_at_start(void **state)
{
    mt_world *m = *state;
    start(m);
    char ctype[128];
    char *t = scrape(m, ctype, sizeof ctype);
    assert_non_null(t);
    assert_string_equal(ctype, "text/plain; version=0.0.4");
    static const char *const zero[] = {
        "discord_cleaner_rows_deleted_total{reason=\"member_remove\"}",
        "discord_cleaner_rows_deleted_total{reason=\"guild_delete\"}",
        "discord_cleaner_rows_deleted_total{reason=\"left_while_offline\"}",
        "discord_cleaner_rows_deleted_total{reason=\"sweep\"}",
        "discord_cleaner_rows_deleted_total{reason=\"grace_expired\"}",
        "discord_cleaner_gateway_events_total{event=\"GUILD_MEMBER_REMOVE\"}",
        "discord_cleaner_gateway_sessions_total{shard=\"0\",kind=\"resume\"}",
        "discord_cleaner_gateway_closes_total{shard=\"0\",code=\"4000\"}",
        "discord_cleaner_sweeps_total{result=\"aborted\"}",
        "discord_cleaner_rest_requests_total{code=\"429\"}",
        "discord_cleaner_rest_ratelimited_total",
        "discord_cleaner_sweep_duration_seconds_count",
    };
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (sample(t, zero[i]) != 0)
            fail_msg("%s is not 0 at start:\n%s", zero[i], t);
    assert_true(sample(t, "discord_cleaner_gateway_sessions_total{shard=\"0\",kind=\"identify\"}") == 1);
    assert_true(sample(t, "discord_cleaner_gateway_events_total{event=\"READY\"}") == 1);
    assert_true(sample(t, "discord_cleaner_gateway_connected{shard=\"0\"}") == 1);
    assert_true(sample(t, "discord_cleaner_rest_requests_total{code=\"200\"}") >= 1);   /* GET /gateway/bot */
    assert_true(sample(t, "process_resident_memory_bytes") > 1e5);
    assert_true(sample(t, "process_start_time_seconds") > 1.6e9);
    assert_non_null(strstr(t, "# TYPE discord_cleaner_sweep_duration_seconds histogram\n"));
    free(t);
    assert_int_equal(dh_stop(&m->w->d, SIGTERM, 5000), 0);
}

static void removals_count_exactly_and_survive_a_reconnect(void **state)
{
    mt_world *m = *state;
    const char *rows = "discord_cleaner_rows_deleted_total{reason=\"member_remove\"}";
    start(m);
    for (int k = 0; k < 4; k++)
        remove_member(m, k);
    assert_true(cw_wait_users(m->w, CW_G1, 6, 5000));
    assert_true(wait_metric(m, rows, 4, 5000));
    assert_true(metric(m, rows) == (double)dh_db_int(m->w->d.db, "SELECT SUM(rows) FROM cleaner_audit "
                                                              "WHERE reason = 'member_remove'"));
    assert_true(metric(m, "discord_cleaner_gateway_events_total{event=\"GUILD_MEMBER_REMOVE\"}") == 4);
    /* the double drops the connection with 4000: the daemon resumes */
    cJSON_Delete(fd_post(&m->w->fake, "/_control/close", "{\"code\":4000}"));
    assert_true(wait_metric(m, "discord_cleaner_gateway_sessions_total{shard=\"0\",kind=\"resume\"}", 1, 10000));
    assert_true(metric(m, "discord_cleaner_gateway_closes_total{shard=\"0\",code=\"4000\"}") == 1);
    assert_true(metric(m, rows) == 4);
    assert_true(metric(m, "discord_cleaner_gateway_events_total{event=\"GUILD_MEMBER_REMOVE\"}") == 4);
    /* and go on counting from there */
    remove_member(m, 4);
    remove_member(m, 5);
    assert_true(cw_wait_users(m->w, CW_G1, 4, 5000));
    assert_true(wait_metric(m, rows, 6, 5000));
    assert_true(metric(m, "discord_cleaner_gateway_connected{shard=\"0\"}") == 1);
    assert_int_equal(dh_stop(&m->w->d, SIGTERM, 5000), 0);
}

/* A dry run deletes nothing, so it counts nothing, though the audit table
 * notes what would have gone. */
static void dry_run_counts_nothing(void **state)
{
    mt_world *m = *state;
    assert_int_equal(cw_guild(m->w, CW_G1, 0, 10), 0);
    assert_int_equal(cw_rows(m->w, CW_G1, 0, 10), 0);
    start_with(m, "--dry-run");
    remove_member(m, 1);
    remove_member(m, 2);
    assert_true(wait_metric(m, "discord_cleaner_gateway_events_total{event=\"GUILD_MEMBER_REMOVE\"}", 2, 5000));
    assert_true(dh_wait_db(m->w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'", 2, 5000));
    assert_true(metric(m, "discord_cleaner_rows_deleted_total{reason=\"member_remove\"}") == 0);
    assert_int_equal(cw_users(m->w, CW_G1), 10);
    assert_int_equal(dh_stop(&m->w->d, SIGTERM, 5000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(known_labels_at_zero_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(removals_count_exactly_and_survive_a_reconnect, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_counts_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
