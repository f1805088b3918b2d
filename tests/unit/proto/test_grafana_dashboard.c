/* test_grafana_dashboard.c - src/dist/grafana/discord-cleaner.json is an
 * importable Grafana dashboard (parses, a Prometheus __inputs datasource, a
 * current schemaVersion, panels with targets) and every PromQL expr names only
 * metric families that /metrics serves.  The families are the issue #18 list
 * below; when proto/metrics.def is in the tree each of them must be declared
 * there too.  Run from the repository root (as make check does). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#define DASHBOARD "src/dist/grafana/discord-cleaner.json"

static const char *const families[] = {
    "discord_cleaner_rows_deleted_total", "discord_cleaner_gateway_events_total",
    "discord_cleaner_gateway_connected", "discord_cleaner_gateway_heartbeat_rtt_seconds",
    "discord_cleaner_gateway_sessions_total", "discord_cleaner_gateway_closes_total",
    "discord_cleaner_sweeps_total", "discord_cleaner_sweep_duration_seconds",
    "discord_cleaner_rest_requests_total", "discord_cleaner_rest_ratelimited_total",
    "discord_cleaner_guilds", "discord_cleaner_pending_reconciliation",
    "process_resident_memory_bytes", "process_cpu_seconds_total", "process_start_time_seconds",
};
#define NFAM (sizeof families / sizeof families[0])
static const char *const histograms[] = { "discord_cleaner_sweep_duration_seconds" };

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int is_family(const char *name, size_t len)
{
    for (size_t i = 0; i < NFAM; i++)
        if (strlen(families[i]) == len && memcmp(families[i], name, len) == 0)
            return 1;
    static const char *const suffix[] = { "_bucket", "_sum", "_count" };
    for (size_t h = 0; h < sizeof histograms / sizeof histograms[0]; h++)
        for (size_t s = 0; s < 3; s++) {
            size_t hl = strlen(histograms[h]), sl = strlen(suffix[s]);
            if (hl + sl == len && memcmp(name, histograms[h], hl) == 0 && memcmp(name + hl, suffix[s], sl) == 0)
                return 1;
        }
    return 0;
}

/* The number of metric names in expr (identifiers starting discord_cleaner_
 * or process_), or -1 when one of them is no known family. */
static int expr_families(const char *expr)
{
    int found = 0;
    for (const char *p = expr; *p;) {
        if (isalpha((unsigned char)*p) || *p == '_' || *p == ':') {
            const char *s = p;
            while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
                p++;
            size_t len = (size_t)(p - s);
            int metric = (len > 16 && strncmp(s, "discord_cleaner_", 16) == 0) ||
                         (len > 8 && strncmp(s, "process_", 8) == 0);
            if (metric && !is_family(s, len))
                return -1;
            found += metric;
        } else {
            p++;
        }
    }
    return found;
}

static void checker_can_fail(void **state)
{
    (void)state;
    assert_int_equal(expr_families("rate(discord_cleaner_rows_deleted_total[5m])"), 1);
    assert_int_equal(expr_families("rate(discord_cleaner_rows_deleted[5m])"), -1);
    assert_int_equal(expr_families("discord_cleaner_sweep_duration_seconds_bucket"), 1);
    assert_int_equal(expr_families("discord_cleaner_guilds_bucket"), -1);
    assert_int_equal(expr_families("process_open_fds"), -1);
    assert_int_equal(expr_families("time()"), 0);
}

static void families_declared(void **state)
{
    (void)state;
    char *def = slurp("proto/metrics.def");
    if (!def) {
        printf("proto/metrics.def not in the tree: checked against the issue #18 list only\n");
        return;
    }
    for (size_t i = 0; i < NFAM; i++) {
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"%s\"", families[i]);
        if (!strstr(def, quoted))
            fail_msg("%s is not declared in proto/metrics.def", families[i]);
    }
    free(def);
}

static void check_input(const cJSON *root)
{
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(root, "__inputs");
    assert_true(cJSON_IsArray(inputs) && cJSON_GetArraySize(inputs) >= 1);
    const cJSON *in = cJSON_GetArrayItem(inputs, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(in, "type")->valuestring, "datasource");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(in, "pluginId")->valuestring, "prometheus");
    const cJSON *sv = cJSON_GetObjectItemCaseSensitive(root, "schemaVersion");
    assert_true(cJSON_IsNumber(sv) && sv->valueint >= 36);
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "title")));
    assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "uid")));
}

static void check_panel(const cJSON *panel, int *covered)
{
    const cJSON *targets = cJSON_GetObjectItemCaseSensitive(panel, "targets");
    assert_true(cJSON_IsArray(targets) && cJSON_GetArraySize(targets) >= 1);
    assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(panel, "gridPos")));
    const cJSON *t;
    cJSON_ArrayForEach(t, targets) {
        const cJSON *expr = cJSON_GetObjectItemCaseSensitive(t, "expr");
        assert_true(cJSON_IsString(expr));
        int n = expr_families(expr->valuestring);
        if (n <= 0)
            fail_msg("panel \"%s\": expr names %s: %s",
                     cJSON_GetObjectItemCaseSensitive(panel, "title")->valuestring,
                     n < 0 ? "an unknown family" : "no family", expr->valuestring);
        const cJSON *ds = cJSON_GetObjectItemCaseSensitive(t, "datasource");
        assert_string_equal(cJSON_GetObjectItemCaseSensitive(ds, "uid")->valuestring, "${DS_PROMETHEUS}");
        for (size_t i = 0; i < NFAM; i++)
            if (strstr(expr->valuestring, families[i]))
                covered[i] = 1;
    }
}

static void dashboard(void **state)
{
    (void)state;
    char *text = slurp(DASHBOARD);
    assert_non_null(text);
    cJSON *root = cJSON_Parse(text);
    if (!root)
        fail_msg(DASHBOARD " does not parse near: %.40s", cJSON_GetErrorPtr());
    check_input(root);
    const cJSON *panels = cJSON_GetObjectItemCaseSensitive(root, "panels"), *p;
    assert_true(cJSON_IsArray(panels) && cJSON_GetArraySize(panels) >= 9);
    int covered[NFAM] = { 0 };
    cJSON_ArrayForEach(p, panels) check_panel(p, covered);
    for (size_t i = 0; i < NFAM; i++)
        if (!covered[i] && strcmp(families[i], "discord_cleaner_gateway_events_total") != 0)
            fail_msg("no panel shows %s", families[i]);
    cJSON_Delete(root);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checker_can_fail),
        cmocka_unit_test(families_declared),
        cmocka_unit_test(dashboard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
