/* slash_register.c - the REST side of the slash command's registration
 * (slash_register.h); policy/slash_command.c builds the command and
 * decides, this file asks Discord and records the id. */
#include "daemon/slash_register.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "daemon/daemon_internal.h"
#include "policy/slash_command.h"
#include "proto/snowflake.h"

#define APP_ID_KEY "slash.application_id"

typedef struct {
    dc_pending link;             /* first: freed at shutdown if still in flight */
    dc_daemon *d;
} slash_req;

static cJSON *wanted(const dc_daemon *d)
{
    slash_spec spec = { d->cfg->slash_command_name, d->cfg->admin_permission };
    return slash_command_build(&spec);
}

static void id_key(const dc_daemon *d, char *key, size_t cap)
{
    snprintf(key, cap, "slash.%" PRIu64 ".command_id", d->slash.app_id);
}

/* One line, never fatal; r NULL when nothing was asked of Discord. */
static void failed(dc_daemon *d, const char *what, const rest_response *r)
{
    char why[160] = "";
    if (r)
        snprintf(why, sizeof why, " (HTTP %ld, code %d%s%s)", r->status, r->json_code, r->error ? ", " : "",
                 r->error ? r->error : "");
    LOG_W("commands", "slash command /%s: %s failed%s; tried again at the next new gateway session; "
          "the prefix commands are unaffected", d->cfg->slash_command_name, what, why);
    d->slash.phase = SLASH_REG_FAILED;
}

/* Sends method path (body may be NULL) with done; 0 when queued. */
static int slash_send(dc_daemon *d, const char *method, const char *path, const char *body, rest_done_fn done)
{
    slash_req *q = malloc(sizeof *q);
    if (!q)
        return -1;
    q->d = d;
    pending_add(&d->pending, &q->link);
    if (loop_rest(d->loop, method, path, NULL, body, done, q) == DC_OK)
        return 0;
    pending_del(&q->link);
    free(q);
    return -1;
}

/* The end of a request: its context freed, the daemon returned. */
static dc_daemon *finish(void *ctx)
{
    slash_req *q = ctx;
    dc_daemon *d = q->d;
    pending_del(&q->link);
    free(q);
    return d;
}

/* What waits to be written (the command's id, the application id) goes
 * into the loop's turn (turn_begin); while the database is held it waits
 * for the next dispatch of shard 0 or the next answer. */
static void record_pending(dc_daemon *d)
{
    char key[64], value[24];
    if ((!d->slash.unrecorded_id && !d->slash.unrecorded_app) || turn_begin(d) != 0)
        return;
    snprintf(value, sizeof value, "%" PRIu64, d->slash.app_id);
    if (d->slash.unrecorded_app && store_kv_set(d->st, APP_ID_KEY, value) == DC_OK)
        d->slash.unrecorded_app = 0;
    id_key(d, key, sizeof key);
    snprintf(value, sizeof value, "%" PRIu64, d->slash.unrecorded_id);
    if (!d->slash.unrecorded_id)
        return;
    if (store_kv_set(d->st, key, value) == DC_OK)
        d->slash.unrecorded_id = 0;
    else
        LOG_W("commands", "slash command /%s: its id %s could not be recorded yet (%s); tried again with the next event",
              d->cfg->slash_command_name, value, store_errmsg(d->st));
}

/* POST (201 created, 200 overwrote one of that name) or PATCH (200). */
static void on_written(void *ctx, const rest_response *r)
{
    dc_daemon *d = finish(ctx);
    cJSON *j = r->status == 200 || r->status == 201 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    uint64_t id = snowflake_json(cJSON_GetObjectItemCaseSensitive(j, "id"));
    cJSON_Delete(j);
    if (!id) {
        failed(d, r->status == 200 || r->status == 201 ? "registering (an answer without an id)" : "registering", r);
        return;
    }
    LOG_I("commands", "slash command /%s registered (id %" PRIu64 "%s)", d->cfg->slash_command_name, id,
          r->status == 201 ? ", created" : ", updated");
    d->slash.unrecorded_id = id;
    d->slash.phase = SLASH_REG_DONE;
    record_pending(d);
}

/* 0 none recorded, 1 *id set, -1 the store failed. */
static int recorded_id(dc_daemon *d, uint64_t *id)
{
    char key[64], value[24];
    id_key(d, key, sizeof key);
    dc_err e = store_kv_get(d->st, key, value, sizeof value);
    *id = e == DC_OK ? strtoull(value, NULL, 10) : 0;
    return e == DC_OK ? 1 : e == DC_ERR_NOTFOUND ? 0 : -1;
}

static void carry_out(dc_daemon *d, const slash_plan *p, const cJSON *want, uint64_t recorded)
{
    const char *name = d->cfg->slash_command_name;
    char path[96], *body = NULL;
    if (p->step == SLASH_NOTHING) {
        LOG_I("commands", "slash command /%s is registered and up to date (id %" PRIu64 ")", name, p->id);
        d->slash.phase = SLASH_REG_DONE;
        return;
    }
    if (p->step == SLASH_FOREIGN) {
        char mine[24] = "none";
        if (recorded)
            snprintf(mine, sizeof mine, "%" PRIu64, recorded);
        LOG_W("commands", "a slash command /%s exists (id %" PRIu64 ") that this daemon did not create "
              "(recorded: %s): left alone, /%s is not registered; the prefix commands work. "
              "Delete that command or set slash_command_name to another name", name, p->id, mine, name);
        d->slash.phase = SLASH_REG_DONE;
        return;
    }
    if (p->step == SLASH_CREATE)
        snprintf(path, sizeof path, "/applications/%" PRIu64 "/commands", d->slash.app_id);
    else
        snprintf(path, sizeof path, "/applications/%" PRIu64 "/commands/%" PRIu64, d->slash.app_id, p->id);
    cJSON *sent = cJSON_Duplicate(want, 1);
    if (sent && p->step == SLASH_UPDATE)
        cJSON_DeleteItemFromObjectCaseSensitive(sent, "type");   /* not a field of Edit: a type never changes */
    body = sent ? cJSON_PrintUnformatted(sent) : NULL;
    cJSON_Delete(sent);
    if (!body || slash_send(d, p->step == SLASH_CREATE ? "POST" : "PATCH", path, body, on_written) != 0)
        failed(d, "sending the command", NULL);
    free(body);
}

/* GET /applications/{app}/commands answered. */
static void on_list(void *ctx, const rest_response *r)
{
    dc_daemon *d = finish(ctx);
    cJSON *list = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    cJSON *want = wanted(d);
    uint64_t recorded = 0;
    slash_plan p;
    if (r->status != 200)
        failed(d, "listing the application's commands", r);
    else if (!want)
        failed(d, "building the command (out of memory)", NULL);
    else if (recorded_id(d, &recorded) < 0)
        failed(d, "reading the recorded command id from the database", NULL);
    else if (slash_command_plan(want, list, recorded, &p) != DC_OK)
        failed(d, "reading the list of commands (not the expected JSON)", r);
    else
        carry_out(d, &p, want, recorded);
    cJSON_Delete(want);
    cJSON_Delete(list);
}

static void list_commands(dc_daemon *d)
{
    char path[64];
    snprintf(path, sizeof path, "/applications/%" PRIu64 "/commands", d->slash.app_id);
    if (slash_send(d, "GET", path, NULL, on_list) != 0)
        failed(d, "listing the application's commands", NULL);
}

/* GET /applications/@me answered (a resumed first session has no READY). */
static void on_application(void *ctx, const rest_response *r)
{
    dc_daemon *d = finish(ctx);
    cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    d->slash.app_id = snowflake_json(cJSON_GetObjectItemCaseSensitive(j, "id"));
    d->slash.unrecorded_app = d->slash.app_id != 0;
    cJSON_Delete(j);
    record_pending(d);
    if (d->slash.app_id)
        list_commands(d);
    else
        failed(d, "finding the application id (GET /applications/@me)", r);
}

/* READY's application.id, remembered for a start that resumes (no READY);
 * else the one a READY of an earlier run recorded; else 0. */
static uint64_t application_id(dc_daemon *d, dc_event ev, const cJSON *data)
{
    char value[24];
    if (ev == DC_EV_READY) {
        const cJSON *app = cJSON_GetObjectItemCaseSensitive(data, "application");
        uint64_t id = snowflake_json(cJSON_GetObjectItemCaseSensitive(app, "id"));
        d->slash.unrecorded_app = id != 0;
        return id;
    }
    return store_kv_get(d->st, APP_ID_KEY, value, sizeof value) == DC_OK ? strtoull(value, NULL, 10) : 0;
}

void slash_register_on_session(shard *s, dc_event ev, const cJSON *data)
{
    dc_daemon *d = s->d;
    slash_reg_phase ph = d->slash.phase;
    /* shard 0's process only: processes that split the shards would race */
    if (s->id != 0 || !(d->cfg->commands & COMMANDS_SLASH) || !d->lws || d->oneshot)
        return;
    record_pending(d);
    if (ph == SLASH_REG_BUSY || ph == SLASH_REG_DONE ||
        (ev != DC_EV_READY && (ev != DC_EV_RESUMED || ph != SLASH_REG_IDLE)))
        return;
    uint64_t app_id = application_id(d, ev, data);
    d->slash.phase = SLASH_REG_BUSY;
    if (app_id) {
        d->slash.app_id = app_id;
        record_pending(d);
        list_commands(d);
    } else if (slash_send(d, "GET", "/applications/@me", NULL, on_application) != 0) {
        failed(d, "finding the application id", NULL);
    }
}
