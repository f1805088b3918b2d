/* status_json.c - `discord-cleaner status --json`: the facts of `status`
 * (db_cli.c) as one JSON document for machines, on either store backend.
 * Ids are strings (snowflakes exceed JSON numbers in JavaScript); the
 * database URI is shown with its password redacted. */
#include "cli/status_json.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/uri.h"
#include "store/store.h"
#include "store/store_grace.h"

typedef struct { cJSON *arr; store *s; } jview;

static void add_id(cJSON *o, const char *key, uint64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, id);
    cJSON_AddStringToObject(o, key, buf);
}

static void add_name(cJSON *o, store *s, uint64_t guild_id)
{
    char name[104];
    if (store_guild_get_name(s, guild_id, name, sizeof name) == DC_OK)
        cJSON_AddStringToObject(o, "name", name);
    else
        cJSON_AddNullToObject(o, "name");
}

static int j_rows(void *ctx, uint64_t guild_id, int64_t rows)
{
    jview *v = ctx;
    cJSON *o = cJSON_CreateObject();
    add_id(o, "guild", guild_id);
    add_name(o, v->s, guild_id);
    cJSON_AddNumberToObject(o, "rows", (double)rows);
    cJSON_AddItemToArray(v->arr, o);
    return 0;
}

static int j_guild(void *ctx, const store_guild_state *g)
{
    jview *v = ctx;
    cJSON *o = cJSON_CreateObject();
    add_id(o, "guild", g->guild_id);
    add_name(o, v->s, g->guild_id);
    cJSON_AddNumberToObject(o, "shard", g->shard_id);
    cJSON_AddBoolToObject(o, "unavailable", g->unavailable);
    cJSON_AddBoolToObject(o, "needs_reconcile", g->needs_reconcile);
    cJSON_AddNumberToObject(o, "last_sweep_ms", (double)g->last_sweep_ms);
    cJSON_AddNumberToObject(o, "last_sweep_removed", (double)g->last_sweep_removed);
    cJSON_AddStringToObject(o, "last_sweep_result", g->last_sweep_result);
    cJSON_AddItemToArray(v->arr, o);
    return 0;
}

static int j_lease(void *ctx, const store_lease_holder *h)
{
    jview *v = ctx;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "first", h->first);
    cJSON_AddNumberToObject(o, "last", h->last);
    cJSON_AddNumberToObject(o, "count", h->count);
    cJSON_AddStringToObject(o, "host", h->owner.host);
    cJSON_AddNumberToObject(o, "pid", (double)h->owner.pid);
    cJSON_AddNumberToObject(o, "expires_ms", (double)h->expires_ms);
    cJSON_AddItemToArray(v->arr, o);
    return 0;
}

static dc_err each_rows(store *s, void *v) { return store_each_user_guild(s, j_rows, v); }
static dc_err each_guilds(store *s, void *v) { return store_each_guild_state(s, j_guild, v); }
static dc_err each_leases(store *s, void *v) { return store_each_lease(s, j_lease, v); }

/* An array filled by each(); null when the store cannot say. */
static void add_list(cJSON *doc, const char *key, store *s, dc_err (*each)(store *, void *))
{
    jview v = { cJSON_CreateArray(), s };
    if (each(s, &v) != DC_OK) {
        cJSON_Delete(v.arr);
        cJSON_AddNullToObject(doc, key);
        return;
    }
    cJSON_AddItemToObject(doc, key, v.arr);
}

static void add_audit(cJSON *doc, store *s, int64_t now_ms)
{
    int64_t totals[AUDIT_REASON_COUNT];
    if (store_audit_totals(s, now_ms - 24LL * 3600 * 1000, totals) != DC_OK) {
        cJSON_AddNullToObject(doc, "deleted_24h");
        return;
    }
    cJSON *o = cJSON_AddObjectToObject(doc, "deleted_24h");
    for (int r = 0; r < AUDIT_REASON_COUNT; r++)
        cJSON_AddNumberToObject(o, audit_reason_name((audit_reason)r), (double)totals[r]);
}

static void add_body(cJSON *doc, store *s, int64_t now_ms)
{
    int64_t unassigned = 0;
    add_list(doc, "rows_per_guild", s, each_rows);
    if (store_count_unassigned(s, &unassigned) == DC_OK)
        cJSON_AddNumberToObject(doc, "unassigned_rows", (double)unassigned);
    add_list(doc, "guilds", s, each_guilds);
    add_list(doc, "leases", s, each_leases);
    int64_t pending = 0, next_due = 0;
    if (store_grace_count(s, 0, &pending, &next_due) == DC_OK) {   /* #17 grace period */
        cJSON *g = cJSON_AddObjectToObject(doc, "pending_departures");
        cJSON_AddNumberToObject(g, "count", (double)pending);
        if (next_due)
            cJSON_AddNumberToObject(g, "next_due_ms", (double)next_due);
        else
            cJSON_AddNullToObject(g, "next_due_ms");
    }
    add_audit(doc, s, now_ms);
}

int status_json_print(store *s, const char *db_path, int64_t now_ms, FILE *out)
{
    char shown[URI_SHOWN_MAX];
    uri_redact(db_path, shown, sizeof shown);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "database", shown);
    int v = store_schema_version(s), latest = store_latest_schema_version();
    cJSON_AddNumberToObject(doc, "schema_version", v);
    cJSON_AddNumberToObject(doc, "schema_latest", latest);
    cJSON_AddBoolToObject(doc, "migrations_pending", v < latest);
    if (v == latest)
        add_body(doc, s, now_ms);
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (!text)
        return dc_err_exit_status(DC_ERR_NOMEM);
    fprintf(out, "%s\n", text);
    free(text);
    return 0;
}
