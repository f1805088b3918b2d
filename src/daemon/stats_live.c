/* stats_live.c - GET /api/stats (stats_live.h).
 *
 * Shards come from the gateway sessions, guilds from this process's
 * present guilds and their stored state with their rows from one grouped
 * read (not a count per guild), deletions from the audit table: one
 * grouped query per window (hours of the last day, days of the last 30)
 * over the at_ms index.  The document is kept for STATS_CACHE_MS, so a
 * page refreshing every few seconds, or many of them, costs one build.
 * On PostgreSQL the reads wait for the server like the status command's
 * (the store has no asynchronous reads yet); the cache bounds how often. */
#include "daemon/stats_live.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/vec.h"
#include "base/version.h"
#include "daemon/daemon_internal.h"
#include "daemon/reconcile.h"
#include "daemon/shard_coord.h"
#include "http/http_server.h"
#include "proto/proto.h"

#define STATS_CACHE_MS 2000
#define STATS_SWEEPS 20
#define STATS_SWEEPS_READ 200        /* rows read for them: other processes' are skipped (#16) */
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

static char *cached;
static int64_t cached_at = INT64_MIN;

static void add_iso(cJSON *o, const char *key, int64_t wall_ms)
{
    char buf[40];
    time_t t = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(wall_ms % 1000));
    cJSON_AddStringToObject(o, key, buf);
}

static void add_id(cJSON *o, const char *key, uint64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, id);
    cJSON_AddStringToObject(o, key, buf);   /* snowflakes exceed a JS number */
}

static const char *state_word(gateway_state st, int resumed)
{
    switch (st) {
    case GW_READY: return resumed ? "resumed" : "ready";
    case GW_RESUMING: return "resuming";
    case GW_IDENTIFYING: return "identifying";
    case GW_CONNECTING:
    case GW_WAIT_HELLO: return "connecting";
    case GW_CLOSING: return "closing";
    case GW_STOPPED: return "stopped";
    default: return "disconnected";
    }
}

typedef struct {
    dc_daemon *d;
    int per_shard[MAX_SHARDS];
} guild_count;

static int count_guild(void *ctx, uint64_t guild_id)
{
    guild_count *c = ctx;
    shard *s = reconcile_shard_of(c->d, guild_id);
    if (s && s >= c->d->shards && s < c->d->shards + MAX_SHARDS)
        c->per_shard[s - c->d->shards]++;
    return 0;
}

static void add_shards(dc_daemon *d, cJSON *root, int64_t now)
{
    guild_count c = { .d = d };
    reconcile_each_guild(d, count_guild, &c);
    cJSON *arr = cJSON_AddArrayToObject(root, "shards");
    for (int i = 0; i < d->n_shards; i++) {
        const gateway_session *gw = d->shards[i].gw;
        cJSON *o = cJSON_CreateObject();
        gateway_state st = gw ? gateway_get_state(gw) : GW_STOPPED;
        int64_t rtt = gw ? gateway_latency_ms(gw) : -1, ack = gw ? gateway_last_ack_ms(gw) : INT64_MIN;
        cJSON_AddNumberToObject(o, "id", d->shards[i].id);
        cJSON_AddStringToObject(o, "state", state_word(st, gw && gateway_resumed(gw)));
        cJSON_AddBoolToObject(o, "connected", st == GW_READY);
        if (rtt >= 0)
            cJSON_AddNumberToObject(o, "heartbeat_rtt_ms", (double)rtt);
        else
            cJSON_AddNullToObject(o, "heartbeat_rtt_ms");
        if (ack != INT64_MIN)
            cJSON_AddNumberToObject(o, "last_ack_age_ms", (double)(now - ack));
        else
            cJSON_AddNullToObject(o, "last_ack_age_ms");
        cJSON_AddNumberToObject(o, "guilds", c.per_shard[i]);
        cJSON_AddItemToArray(arr, o);
    }
}

/* One window: n buckets of width ms ending with the current one. */
static void add_window(dc_daemon *d, cJSON *deleted, const char *name, const char *totals_name, int64_t wall,
                       int64_t width, int n)
{
    int64_t start = (wall / width - (n - 1)) * width, buckets[30 * AUDIT_REASON_COUNT];
    cJSON *w = cJSON_AddObjectToObject(deleted, name), *tot = cJSON_AddObjectToObject(deleted, totals_name);
    cJSON_AddNumberToObject(w, "bucket_seconds", (double)(width / 1000));
    add_iso(w, "start", start);
    cJSON *series = cJSON_AddObjectToObject(w, "series");
    int ok = store_audit_buckets(d->st, start, width, n, buckets) == DC_OK;
    for (int r = 0; r < AUDIT_REASON_COUNT; r++) {
        cJSON *arr = cJSON_AddArrayToObject(series, audit_reason_name((audit_reason)r));
        int64_t sum = 0;
        for (int b = 0; b < n; b++) {
            int64_t v = ok ? buckets[b * AUDIT_REASON_COUNT + r] : 0;
            sum += v;
            cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)v));
        }
        cJSON_AddNumberToObject(tot, audit_reason_name((audit_reason)r), (double)sum);
    }
    if (!ok)
        cJSON_AddStringToObject(w, "error", "the audit table could not be read");
}

static void add_deleted(dc_daemon *d, cJSON *root)
{
    cJSON *deleted = cJSON_AddObjectToObject(root, "deleted"), *reasons = cJSON_AddArrayToObject(deleted, "reasons");
    for (int r = 0; r < AUDIT_REASON_COUNT; r++)
        cJSON_AddItemToArray(reasons, cJSON_CreateString(audit_reason_name((audit_reason)r)));
    int64_t wall = loop_wall(d->loop);
    add_window(d, deleted, "day", "totals_day", wall, HOUR_MS, 24);
    add_window(d, deleted, "month", "totals_month", wall, DAY_MS, 30);
}

typedef struct {
    uint64_t guild_id;
    int64_t rows;
} guild_rows;

typedef struct {
    dc_daemon *d;
    cJSON *guilds;
    guild_rows *rows;                /* rows per guild from one grouped read, sorted by id */
    size_t n_rows, cap_rows;
    int rows_ok;
} guild_walk;

static int keep_rows(void *ctx, uint64_t guild_id, int64_t rows)
{
    guild_walk *w = ctx;
    if (VEC_GROW(w->rows, w->cap_rows, w->n_rows + 1, 64) != 0)
        return 1;
    w->rows[w->n_rows++] = (guild_rows){ guild_id, rows };
    return 0;
}

static int by_guild(const void *key, const void *elem)
{
    uint64_t a = *(const uint64_t *)key, b = ((const guild_rows *)elem)->guild_id;
    return a < b ? -1 : a > b;
}

static int by_rows_guild(const void *a, const void *b)
{
    return by_guild(&((const guild_rows *)a)->guild_id, b);
}

/* The guild's rows from the grouped read, 0 when it has none, -1 unknown. */
static int64_t rows_of(const guild_walk *w, uint64_t guild_id)
{
    if (!w->rows_ok)
        return -1;
    const guild_rows *r = w->n_rows ? bsearch(&guild_id, w->rows, w->n_rows, sizeof *w->rows, by_guild) : NULL;
    return r ? r->rows : 0;
}

static cJSON *last_sweep_json(const store_guild_state *g)
{
    cJSON *o = cJSON_CreateObject();
    add_iso(o, "at", g->last_sweep_ms);
    cJSON_AddNumberToObject(o, "removed", (double)g->last_sweep_removed);
    cJSON_AddNumberToObject(o, "duration_ms", (double)g->last_sweep_duration_ms);
    cJSON_AddStringToObject(o, "result", g->last_sweep_result);
    return o;
}

/* The guild's id and its name (null when none is known yet). */
static void add_guild_id(dc_daemon *d, cJSON *o, const char *id_key, const char *name_key, uint64_t guild_id)
{
    const char *name = reconcile_guild_name(d, guild_id);
    add_id(o, id_key, guild_id);
    if (name)
        cJSON_AddStringToObject(o, name_key, name);
    else
        cJSON_AddNullToObject(o, name_key);
}

static int add_guild(void *ctx, const store_guild_state *g)
{
    guild_walk *w = ctx;
    if (!reconcile_owns_guild(w->d, g->guild_id))
        return 0;                    /* another process's shard (#16) */
    cJSON *o = cJSON_CreateObject();
    int64_t rows = rows_of(w, g->guild_id);
    add_guild_id(w->d, o, "id", "name", g->guild_id);
    cJSON_AddNumberToObject(o, "shard", g->shard_id);
    if (rows >= 0)
        cJSON_AddNumberToObject(o, "rows", (double)rows);
    else
        cJSON_AddNullToObject(o, "rows");
    cJSON_AddItemToObject(o, "last_sweep", g->last_sweep_ms > 0 ? last_sweep_json(g) : cJSON_CreateNull());
    int64_t next = g->unavailable ? 0 : reconcile_next_run(w->d, g);
    if (next > 0)
        add_iso(o, "next_sweep", next);
    else
        cJSON_AddNullToObject(o, "next_sweep");
    cJSON_AddItemToArray(w->guilds, o);
    return 0;
}

typedef struct {
    dc_daemon *d;
    cJSON *arr;
    int n;
} sweep_walk;

static int add_sweep(void *ctx, const store_sweep_log_row *r)
{
    sweep_walk *w = ctx;
    if (!reconcile_owns_guild(w->d, r->guild_id))
        return 0;                    /* another process's shard (#16) */
    cJSON *o = cJSON_CreateObject();
    add_guild_id(w->d, o, "guild", "guild_name", r->guild_id);
    add_iso(o, "started_at", r->started_ms);
    add_iso(o, "at", r->at_ms);
    cJSON_AddNumberToObject(o, "removed", (double)r->removed);
    cJSON_AddNumberToObject(o, "duration_ms", (double)r->duration_ms);
    cJSON_AddStringToObject(o, "result", r->result);
    cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
    cJSON_AddItemToArray(w->arr, o);
    return ++w->n >= STATS_SWEEPS;
}

/* The last sweeps of this process's guilds, newest first, from the sweep
 * history (several sweeps of one guild are several rows).  Other
 * processes' rows are skipped: a few more are read for them. */
static void add_sweeps(dc_daemon *d, cJSON *root)
{
    sweep_walk w = { .d = d, .arr = cJSON_AddArrayToObject(root, "sweeps") };
    store_sweep_log_recent(d->st, STATS_SWEEPS_READ, add_sweep, &w);
}

static void add_process(dc_daemon *d, cJSON *root)
{
    cJSON *p = cJSON_AddObjectToObject(root, "process");
    char host[256] = "", range[48] = "all";
    const config *c = d->cfg;
    gethostname(host, sizeof host - 1);
    add_iso(p, "started_at", d->started_wall_ms);
    cJSON_AddStringToObject(p, "host", host);
    cJSON_AddNumberToObject(p, "pid", (double)getpid());
    if (c->shard_count)
        shard_coord_range(range, sizeof range, c->shard_first, c->shard_last, c->shard_count);
    cJSON_AddStringToObject(p, "shards", range);
}

char *stats_live_json(dc_daemon *d)
{
    cJSON *root = cJSON_CreateObject();
    int64_t now = loop_now(d->loop);
    guild_walk w = { .d = d };
    if (!root)
        return NULL;
    add_iso(root, "generated_at", loop_wall(d->loop));
    cJSON_AddStringToObject(root, "version", DC_VERSION);
    cJSON_AddBoolToObject(root, "dry_run", d->cfg->dry_run);
    add_process(d, root);
    add_shards(d, root, now);
    add_deleted(d, root);
    w.guilds = cJSON_AddArrayToObject(root, "guilds");
    w.rows_ok = store_each_user_guild(d->st, keep_rows, &w) == DC_OK;
    if (w.n_rows > 1)                /* a TEXT guild_id column lists "10" before "9" */
        qsort(w.rows, w.n_rows, sizeof *w.rows, by_rows_guild);
    store_each_guild_state(d->st, add_guild, &w);
    add_sweeps(d, root);
    free(w.rows);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

static void on_stats(void *ctx, http_request *req)
{
    dc_daemon *d = ctx;
    int64_t now = loop_now(d->loop);
    if (!cached || now - cached_at >= STATS_CACHE_MS) {
        char *fresh = stats_live_json(d);
        if (fresh) {
            free(cached);
            cached = fresh;
            cached_at = now;
        }
    }
    if (!cached) {
        http_reply(req, 500, "text/plain; charset=utf-8", "out of memory\n", 14);
        return;
    }
    http_reply(req, 200, "application/json", cached, strlen(cached));
}

void stats_http_register(dc_daemon *d, http_server *s)
{
    http_server_route(s, "/api/stats", on_stats, d);
}

void stats_live_free(void)
{
    free(cached);
    cached = NULL;
    cached_at = INT64_MIN;
}
