/* test_metrics.c - the registry (base/metrics.c): the text exposition
 * format 0.0.4 line by line, label escaping, histograms, two-label
 * families, declared labels, the series cap; and the families of
 * proto/metrics.def with every known label value at 0. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include "base/metrics.h"
#include "proto/metric_defs.h"

static const char *const reasons[] = { "a", "b", NULL };
static const char *const kinds[] = { "identify", "resume", NULL };
static const double bounds[] = { 0.5, 1, 2.5 };

enum { T_C, T_G, T_S, T_H, T_U };
static const metric_family fams[] = {
    { .name = "t_c_total", .help = "A counter\\with \"quotes\"\nand lines.", .type = METRIC_COUNTER,
      .label = { "reason", NULL }, .known = { reasons, NULL } },
    { .name = "t_g", .help = "A gauge.", .type = METRIC_GAUGE, .label = { "shard", NULL } },
    { .name = "t_s_total", .help = "Two labels.", .type = METRIC_COUNTER, .label = { "shard", "kind" },
      .known = { NULL, kinds } },
    { .name = "t_h_seconds", .help = "A histogram.", .type = METRIC_HISTOGRAM, .buckets = bounds, .n_buckets = 3 },
    { .name = "t_u_total", .help = "No labels.", .type = METRIC_COUNTER },
};

static char *render(void)
{
    size_t len = 0;
    char *s = metrics_render(&len);
    assert_non_null(s);
    assert_int_equal(strlen(s), len);
    return s;
}

static void contains(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("missing line:\n%s\nin:\n%s", want, text);
}

static void lacks(const char *text, const char *want)
{
    if (strstr(text, want))
        fail_msg("unexpected:\n%s\nin:\n%s", want, text);
}

static int setup(void **state)
{
    (void)state;
    metrics_define(fams, (int)(sizeof fams / sizeof fams[0]));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    metrics_reset();
    return 0;
}

static void test_format_at_start(void **state)
{
    (void)state;
    char *s = render();
    contains(s, "# HELP t_c_total A counter\\\\with \"quotes\"\\nand lines.\n# TYPE t_c_total counter\n"
                "t_c_total{reason=\"a\"} 0\nt_c_total{reason=\"b\"} 0\n");
    contains(s, "# HELP t_g A gauge.\n# TYPE t_g gauge\n# HELP t_s_total");   /* no shard declared: no series */
    contains(s, "# TYPE t_u_total counter\nt_u_total 0\n");
    contains(s, "# TYPE t_h_seconds histogram\n"
                "t_h_seconds_bucket{le=\"0.5\"} 0\nt_h_seconds_bucket{le=\"1\"} 0\n"
                "t_h_seconds_bucket{le=\"2.5\"} 0\nt_h_seconds_bucket{le=\"+Inf\"} 0\n"
                "t_h_seconds_sum 0\nt_h_seconds_count 0\n");
    assert_int_equal(s[strlen(s) - 1], '\n');
    free(s);
}

static void test_counter_moves_exactly(void **state)
{
    (void)state;
    for (int i = 0; i < 7; i++)
        metrics_inc(T_C, "b", 1);
    metrics_inc(T_C, "a", 3);
    metrics_inc(T_U, NULL, 9007199254740000ULL);
    char *s = render();
    contains(s, "t_c_total{reason=\"a\"} 3\nt_c_total{reason=\"b\"} 7\n");
    contains(s, "t_u_total 9007199254740000\n");
    free(s);
    assert_true(metrics_value(T_C, "b", NULL) == 7);
}

static void test_unknown_value_gets_its_series(void **state)
{
    (void)state;
    metrics_inc(T_C, "odd", 2);
    char *s = render();
    contains(s, "t_c_total{reason=\"b\"} 0\nt_c_total{reason=\"odd\"} 2\n");
    free(s);
}

static void test_label_escaping(void **state)
{
    (void)state;
    metrics_inc(T_C, "x\"y\\z\nw", 1);
    char *s = render();
    contains(s, "t_c_total{reason=\"x\\\"y\\\\z\\nw\"} 1\n");
    free(s);
}

static void test_two_labels_and_declare(void **state)
{
    (void)state;
    metrics_declare("shard", "0");
    metrics_declare("shard", "3");
    metrics_inc2(T_S, "3", "resume", 2);
    metrics_inc2(T_S, "3", "other_kind", 1);
    metrics_set(T_G, "3", 0.041);
    char *s = render();
    contains(s, "t_g{shard=\"0\"} 0\nt_g{shard=\"3\"} 0.041\n");
    contains(s, "t_s_total{shard=\"0\",kind=\"identify\"} 0\nt_s_total{shard=\"0\",kind=\"resume\"} 0\n"
                "t_s_total{shard=\"3\",kind=\"identify\"} 0\nt_s_total{shard=\"3\",kind=\"resume\"} 2\n"
                "t_s_total{shard=\"3\",kind=\"other_kind\"} 1\n");
    free(s);
}

static void test_histogram(void **state)
{
    (void)state;
    metrics_observe(T_H, 0.25);
    metrics_observe(T_H, 1);       /* le is inclusive */
    metrics_observe(T_H, 2);
    metrics_observe(T_H, 60);      /* above every bound: +Inf only */
    char *s = render();
    contains(s, "t_h_seconds_bucket{le=\"0.5\"} 1\nt_h_seconds_bucket{le=\"1\"} 2\n"
                "t_h_seconds_bucket{le=\"2.5\"} 3\nt_h_seconds_bucket{le=\"+Inf\"} 4\n"
                "t_h_seconds_sum 63.25\nt_h_seconds_count 4\n");
    free(s);
}

static void test_series_cap(void **state)
{
    (void)state;
    char label[32];
    for (int i = 0; i < METRICS_SERIES_MAX + 50; i++) {
        snprintf(label, sizeof label, "v%d", i);
        metrics_inc(T_C, label, 1);
    }
    /* 2 known + 509 until the cap less one, then "other" takes the overflow */
    assert_true(metrics_value(T_C, "other", NULL) == 53);
    assert_true(isnan(metrics_value(T_C, "v600", NULL)));
    char *s = render();
    contains(s, "t_c_total{reason=\"other\"} 53\n");
    free(s);
}

static void test_before_define_ignored(void **state)
{
    (void)state;
    metrics_reset();
    metrics_inc(T_C, "a", 1);      /* no table: nothing, no crash */
    metrics_observe(T_H, 1);
    assert_true(isnan(metrics_value(T_C, "a", NULL)));
    char *s = render();
    assert_string_equal(s, "");
    free(s);
}

static int hook_calls;
static void hook(void *ctx)
{
    hook_calls++;
    metrics_set(T_G, "7", *(double *)ctx);
}

static void test_render_hook(void **state)
{
    (void)state;
    double v = 12.5;
    metrics_on_render(hook, &v);
    char *s = render();
    contains(s, "t_g{shard=\"7\"} 12.5\n");
    free(s);
    metrics_drop_hook(hook, &v);
    free(render());
    assert_int_equal(hook_calls, 1);
}

/* ---- the real families ---------------------------------------------------- */

static void test_defs_known_labels_at_zero(void **state)
{
    (void)state;
    metric_defs_install();
    metrics_declare("shard", "0");
    char *s = render();
    const char *want[] = {
        "discord_cleaner_rows_deleted_total{reason=\"member_remove\"} 0\n",
        "discord_cleaner_rows_deleted_total{reason=\"guild_delete\"} 0\n",
        "discord_cleaner_rows_deleted_total{reason=\"left_while_offline\"} 0\n",
        "discord_cleaner_rows_deleted_total{reason=\"sweep\"} 0\n",
        "discord_cleaner_rows_deleted_total{reason=\"grace_expired\"} 0\n",
        "discord_cleaner_gateway_events_total{event=\"GUILD_MEMBER_REMOVE\"} 0\n",
        "discord_cleaner_gateway_events_total{event=\"READY\"} 0\n",
        "discord_cleaner_gateway_connected{shard=\"0\"} 0\n",
        "discord_cleaner_gateway_heartbeat_rtt_seconds{shard=\"0\"} 0\n",
        "discord_cleaner_gateway_sessions_total{shard=\"0\",kind=\"identify\"} 0\n",
        "discord_cleaner_gateway_sessions_total{shard=\"0\",kind=\"resume\"} 0\n",
        "discord_cleaner_gateway_closes_total{shard=\"0\",code=\"4000\"} 0\n",
        "discord_cleaner_gateway_closes_total{shard=\"0\",code=\"4014\"} 0\n",
        "discord_cleaner_gateway_closes_total{shard=\"0\",code=\"none\"} 0\n",
        "discord_cleaner_sweeps_total{result=\"ok\"} 0\n",
        "discord_cleaner_sweeps_total{result=\"aborted\"} 0\n",
        "discord_cleaner_sweeps_total{result=\"refused\"} 0\n",
        "discord_cleaner_sweeps_total{result=\"dry_run\"} 0\n",
        "# TYPE discord_cleaner_sweep_duration_seconds histogram\n",
        "discord_cleaner_sweep_duration_seconds_bucket{le=\"+Inf\"} 0\n",
        "discord_cleaner_rest_requests_total{code=\"200\"} 0\n",
        "discord_cleaner_rest_requests_total{code=\"429\"} 0\n",
        "discord_cleaner_rest_ratelimited_total 0\n",
        "discord_cleaner_guilds{shard=\"0\"} 0\n",
        "discord_cleaner_pending_reconciliation 0\n",
        "# TYPE process_cpu_seconds_total counter\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        contains(s, want[i]);
    lacks(s, "{shard=\"1\"");
    free(s);
}

static void test_defs_process_figures(void **state)
{
    (void)state;
    metric_defs_install();
    char *s = render();
    free(s);
    assert_true(metrics_value(MX_PROCESS_RSS, NULL, NULL) > 1e5);
    assert_true(metrics_value(MX_PROCESS_START, NULL, NULL) > 1.6e9);
    assert_true(metrics_value(MX_PROCESS_CPU, NULL, NULL) >= 0);
    metric_defs_install();           /* again: one hook, counters back at 0 */
    metrics_inc(MX_REST_REQUESTS, "418", 1);
    assert_true(metrics_value(MX_REST_REQUESTS, "418", NULL) == 1);
    assert_true(metrics_value(MX_REST_REQUESTS, "200", NULL) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_format_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_moves_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_value_gets_its_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_label_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_labels_and_declare, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_before_define_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_hook, setup, teardown),
        cmocka_unit_test_teardown(test_defs_known_labels_at_zero, teardown),
        cmocka_unit_test_teardown(test_defs_process_figures, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
