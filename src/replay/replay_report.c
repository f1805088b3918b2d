/* replay_report.c - what a replay prints and what --expect compares.
 *
 * The outcome (also written by --write-expect, so an expectation starts as
 * a reviewed copy of a real run):
 *   {"removed":{"member_remove":N,"guild_delete":N,"left_while_offline":N,"sweep":N},
 *    "remaining":{"GUILD_ID":ROWS,...}, "unassigned":N,
 *    "replies":[{"method":..,"path":..,"body":..}], "exit_status":N,
 *    "anomalies":{"bad_json":N,...}, "events":{"READY":N,...}}
 * An expectation file has the same shape.  removed, remaining, unassigned
 * and replies are always compared (a missing count is 0, missing replies
 * are none); exit_status, anomalies and events only when the file has them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "replay/replay_internal.h"
#include "base/vec.h"

void replay_count(cJSON *map, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(map, name);
    if (v)
        cJSON_SetNumberValue(v, v->valuedouble + 1);
    else
        cJSON_AddNumberToObject(map, name, 1);
}

int replay_count_cached(cJSON *map, const char *name, cJSON **item)
{
    cJSON *v = *item;
    if (v && strcmp(v->string, name) == 0) {
        cJSON_SetNumberValue(v, v->valuedouble + 1);
        return 1;
    }
    replay_count(map, name);
    *item = cJSON_GetObjectItemCaseSensitive(map, name);
    return 0;
}

void replay_anomaly(replay *r, const char *kind, const char *detail)
{
    char line[256];
    replay_count(r->anomalies, kind);
    LOG_W("replay", "fixture line %d: %s: %s", r->cur_line, kind, detail);
    if (cJSON_GetArraySize(r->anomaly_lines) < REPLAY_ANOMALY_LINES) {
        snprintf(line, sizeof line, "line %d: %s: %.160s", r->cur_line, kind, detail);
        cJSON_AddItemToArray(r->anomaly_lines, cJSON_CreateString(line));
    }
}

static void print_map(FILE *out, const char *title, const cJSON *map, const char *prefix)
{
    const cJSON *v;
    fprintf(out, "%-18s", title);
    if (!cJSON_GetArraySize(map))
        fputs(" none", out);
    cJSON_ArrayForEach(v, map)
        fprintf(out, " %s%s %.0f", prefix, v->string, v->valuedouble);
    fputc('\n', out);
}

static double map_total(const cJSON *map)
{
    double n = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, map)
        n += v->valuedouble;
    return n;
}

/* Sends of each op: what the session sent vs what the recording shows. */
static void compare_sends(replay *r, FILE *out)
{
    if (!r->fx.check_sends || !cJSON_GetArraySize(r->recorded_sent_ops))
        return;
    const cJSON *v;
    cJSON_ArrayForEach(v, r->recorded_sent_ops) {
        const cJSON *ours = cJSON_GetObjectItemCaseSensitive(r->sent_ops, v->string);
        double n = ours ? ours->valuedouble : 0;
        if (n != v->valuedouble) {
            char why[96];
            snprintf(why, sizeof why, "op %s sent %.0f time(s), recorded %.0f", v->string, n, v->valuedouble);
            r->cur_line = 0;
            replay_anomaly(r, "send_mismatch", why);
        }
    }
    (void)out;
}

void replay_print_summary(replay *r, const char *fixture_path, int exit_status, FILE *out)
{
    compare_sends(r, out);
    fprintf(out, "replay %s: %zu entries, %d connection(s), %" PRId64 " ms of virtual time%s\n", fixture_path,
            r->fx.n, r->connections, loop_now(&r->loop) - REPLAY_MONO0, r->cfg.dry_run ? ", DRY RUN" : "");
    fprintf(out, "%-18s %.0f\n", "frames received:", map_total(r->recv_ops));
    print_map(out, "  by op:", r->recv_ops, "op ");
    fprintf(out, "%-18s %.0f\n", "frames sent:", map_total(r->sent_ops));
    print_map(out, "  by op:", r->sent_ops, "op ");
    print_map(out, "events:", r->events, "");
    daemon_counts counts;
    daemon_get_counts(r->d, &counts);
    fprintf(out, "%-18s", "rows removed:");
    for (int i = 0; i < AUDIT_REASON_COUNT; i++)
        fprintf(out, " %s %" PRId64, audit_reason_name((audit_reason)i), counts.removed[i]);
    fputc('\n', out);
    print_map(out, "commands seen:", r->commands, r->cfg.prefix);
    fprintf(out, "%-18s %d (%d not GET)\n", "REST requests:", cJSON_GetArraySize(r->requests),
            cJSON_GetArraySize(r->replies));
    if (r->skipped)
        fprintf(out, "%-18s %" PRId64 " (after the session had closed their connection)\n", "frames skipped:",
                r->skipped);
    print_map(out, "anomalies:", r->anomalies, "");
    const cJSON *l;
    cJSON_ArrayForEach(l, r->anomaly_lines)
        fprintf(out, "  %s\n", l->valuestring);
    fprintf(out, "%-18s %d\n", "exit status:", exit_status);
}

/* ---- outcome ------------------------------------------------------------- */

static int add_guild(void *ctx, uint64_t guild_id, int64_t rows)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRIu64, guild_id);
    cJSON_AddNumberToObject(ctx, key, (double)rows);
    return 0;
}

cJSON *replay_outcome(replay *r, int exit_status)
{
    cJSON *o = cJSON_CreateObject(), *removed = cJSON_AddObjectToObject(o, "removed");
    daemon_counts counts;
    daemon_get_counts(r->d, &counts);
    for (int i = 0; i < AUDIT_REASON_COUNT; i++)
        cJSON_AddNumberToObject(removed, audit_reason_name((audit_reason)i), (double)counts.removed[i]);
    cJSON *remaining = cJSON_AddObjectToObject(o, "remaining");
    int64_t unassigned = 0;
    store *st = daemon_store(r->d);
    if (st) {
        store_each_user_guild(st, add_guild, remaining);
        store_count_unassigned(st, &unassigned);
    }
    cJSON_AddNumberToObject(o, "unassigned", (double)unassigned);
    cJSON_AddItemToObject(o, "replies", cJSON_Duplicate(r->replies, 1));
    cJSON_AddNumberToObject(o, "exit_status", exit_status);
    cJSON_AddItemToObject(o, "anomalies", cJSON_Duplicate(r->anomalies, 1));
    cJSON_AddItemToObject(o, "events", cJSON_Duplicate(r->events, 1));
    return o;
}

/* ---- --expect ---------------------------------------------------------------- */

static double count_in(const cJSON *map, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(map, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Name -> count maps; a missing name counts 0.  Returns the differences. */
static int diff_map(FILE *out, const char *section, const cJSON *want, const cJSON *got)
{
    int diffs = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, want)
        if (count_in(got, v->string) != count_in(want, v->string)) {
            fprintf(out, "-%s.%s: %.0f\n+%s.%s: %.0f\n", section, v->string, count_in(want, v->string), section,
                    v->string, count_in(got, v->string));
            diffs++;
        }
    cJSON_ArrayForEach(v, got)
        if (!cJSON_GetObjectItemCaseSensitive(want, v->string) && v->valuedouble != 0) {
            fprintf(out, "-%s.%s: 0\n+%s.%s: %.0f\n", section, v->string, section, v->string, v->valuedouble);
            diffs++;
        }
    return diffs;
}

static int diff_replies(FILE *out, const cJSON *want, const cJSON *got)
{
    int nw = cJSON_GetArraySize(want), ng = cJSON_GetArraySize(got), diffs = 0;
    for (int i = 0; i < nw || i < ng; i++) {
        const cJSON *w = cJSON_GetArrayItem(want, i), *g = cJSON_GetArrayItem(got, i);
        if (w && g && cJSON_Compare(w, g, 1))
            continue;
        char *ws = w ? cJSON_PrintUnformatted(w) : NULL, *gs = g ? cJSON_PrintUnformatted(g) : NULL;
        fprintf(out, "-replies[%d]: %s\n+replies[%d]: %s\n", i, ws ? ws : "(none)", i, gs ? gs : "(none)");
        free(ws);
        free(gs);
        diffs++;
    }
    return diffs;
}

static cJSON *read_json(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[8192];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (vec_grow(&buf, &cap, len + n + 1, 1, 2 * sizeof chunk) != 0)
            break;
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    cJSON *j = buf ? cJSON_ParseWithLength(buf, len) : NULL;
    free(buf);
    return j;
}

int replay_compare(const cJSON *outcome, const char *expect_path, FILE *out)
{
    cJSON *want = read_json(expect_path);
    if (!cJSON_IsObject(want)) {
        fprintf(out, "expectation %s: cannot read it as a JSON object\n", expect_path);
        cJSON_Delete(want);
        return 65;
    }
    int diffs = 0;
    const char *maps[] = { "removed", "remaining" };
    for (int i = 0; i < 2; i++)
        diffs += diff_map(out, maps[i], cJSON_GetObjectItemCaseSensitive(want, maps[i]),
                          cJSON_GetObjectItemCaseSensitive(outcome, maps[i]));
    if (count_in(want, "unassigned") != count_in(outcome, "unassigned")) {
        fprintf(out, "-unassigned: %.0f\n+unassigned: %.0f\n", count_in(want, "unassigned"),
                count_in(outcome, "unassigned"));
        diffs++;
    }
    diffs += diff_replies(out, cJSON_GetObjectItemCaseSensitive(want, "replies"),
                          cJSON_GetObjectItemCaseSensitive(outcome, "replies"));
    if (cJSON_GetObjectItemCaseSensitive(want, "exit_status") &&
        count_in(want, "exit_status") != count_in(outcome, "exit_status")) {
        fprintf(out, "-exit_status: %.0f\n+exit_status: %.0f\n", count_in(want, "exit_status"),
                count_in(outcome, "exit_status"));
        diffs++;
    }
    const char *optional[] = { "anomalies", "events" };
    for (int i = 0; i < 2; i++)
        if (cJSON_GetObjectItemCaseSensitive(want, optional[i]))
            diffs += diff_map(out, optional[i], cJSON_GetObjectItemCaseSensitive(want, optional[i]),
                              cJSON_GetObjectItemCaseSensitive(outcome, optional[i]));
    cJSON_Delete(want);
    if (diffs)
        fprintf(out, "expectation %s: %d difference(s) (- expected, + replayed)\n", expect_path, diffs);
    return diffs ? 1 : 0;
}
