/* grace_live.c - the grace period in the live daemon (grace_live.h, #17):
 * departures marked pending, rejoins cancelling them, the expiry timer and
 * the notice (POST /users/@me/channels, then POST /channels/{id}/messages
 * with no mentions parsed).  Decisions come from policy/grace.c. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "daemon/daemon_internal.h"
#include "policy/commands.h"
#include "store/store_grace.h"

#define GRACE_RETRY_MS 1000          /* the database was held: look again */
#define GRACE_EXPIRE_MAX 256         /* records expired per turn; more: the next turn */
#define GRACE_SCAN_MAX 4096          /* records read per look, earliest first */

static grace_policy policy(const dc_daemon *d)
{
    return grace_policy_of(d->cfg);
}

static void on_timer(dc_timer *t);

/* Wake for due_wall_ms (wall time), unless an earlier wake is armed. */
static void arm_for(dc_daemon *d, int64_t due_wall_ms)
{
    grace_live *g = &d->grace;
    if (d->stopping || (g->armed && g->armed_due_ms <= due_wall_ms))
        return;
    int64_t wait = grace_sleep_ms(due_wall_ms, loop_wall(d->loop));
    if (wait < 0)
        return;
    g->armed = 1;
    g->armed_due_ms = due_wall_ms;
    loop_timer(d->loop, &g->timer, on_timer, wait);
}

static void arm_in(dc_daemon *d, int64_t ms)
{
    arm_for(d, loop_wall(d->loop) + ms);
}

/* ---- the notice --------------------------------------------------------------- */

typedef struct {
    dc_pending link;                 /* first: freed at shutdown if still in flight */
    dc_daemon *d;
    uint64_t user_id;
    char text[2048];
} notice;

static void notice_failed(notice *n, const char *step, const rest_response *r)
{
    n->d->grace.notices_failed++;
    /* 50007: no shared server, or DMs closed -- common, and never retried */
    LOG_D("grace", "user %" PRIu64 ": no direct message (%s: HTTP %ld, code %d%s%s)", n->user_id, step, r->status,
          r->json_code, r->error ? ", " : "", r->error ? r->error : "");
}

static void on_message_sent(void *ctx, const rest_response *r)
{
    notice *n = ctx;
    pending_del(&n->link);
    if (r->status == 200)
        LOG_D("grace", "user %" PRIu64 ": departure notice sent", n->user_id);
    else
        notice_failed(n, "message", r);
    free(n);
}

static char *message_body(const char *text)
{
    cJSON *o = cJSON_CreateObject(), *am = cJSON_CreateObject();
    char *body = NULL;
    if (o && am && cJSON_AddStringToObject(o, "content", text) && cJSON_AddItemToObject(o, "allowed_mentions", am)) {
        am = NULL;
        if (cJSON_AddArrayToObject(cJSON_GetObjectItem(o, "allowed_mentions"), "parse"))
            body = cJSON_PrintUnformatted(o);
    }
    cJSON_Delete(am);
    cJSON_Delete(o);
    return body;
}

static void on_channel(void *ctx, const rest_response *r)
{
    notice *n = ctx;
    cJSON *j = r->status == 200 && r->body ? cJSON_Parse(r->body) : NULL;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    char path[64], *body = NULL;
    pending_del(&n->link);
    if (!cJSON_IsString(id) || strlen(id->valuestring) > 24) {
        notice_failed(n, "DM channel", r);
        cJSON_Delete(j);
        free(n);
        return;
    }
    snprintf(path, sizeof path, "/channels/%s/messages", id->valuestring);
    cJSON_Delete(j);
    body = message_body(n->text);
    pending_add(&n->d->pending, &n->link);
    if (!body || loop_rest(n->d->loop, "POST", path, path + 10, body, on_message_sent, n) != DC_OK) {
        pending_del(&n->link);
        free(n);
    }
    free(body);
}

/* The guild's name for the notice: the label without its " (id)". */
static void guild_name(dc_daemon *d, uint64_t guild_id, char *buf, size_t cap)
{
    char label[160], tail[32];
    reconcile_guild_label(d, guild_id, label, sizeof label);
    snprintf(tail, sizeof tail, " (%" PRIu64 ")", guild_id);
    size_t n = strlen(label), t = strlen(tail);
    if (n > t && strcmp(label + n - t, tail) == 0) {
        label[n - t] = '\0';
        snprintf(buf, cap, "%s", label);
    } else {
        buf[0] = '\0';               /* unknown: the text says "a server" */
    }
}

static void send_notice(dc_daemon *d, uint64_t guild_id, uint64_t user_id, int64_t due_ms)
{
    grace_live *g = &d->grace;
    if (!grace_notice_take(&g->notices, d->cfg->notify_per_minute, loop_wall(d->loop))) {
        LOG_I("grace", "user %" PRIu64 " left guild %" PRIu64 ": notice skipped (notify_per_minute %d reached; "
              "%" PRId64 " skipped so far)", user_id, guild_id, d->cfg->notify_per_minute, g->notices.skipped);
        return;
    }
    notice *n = calloc(1, sizeof *n);
    char name[160], body[64];
    if (!n)
        return;
    n->d = d;
    n->user_id = user_id;
    guild_name(d, guild_id, name, sizeof name);
    grace_format_notice(d->cfg->notify_message, name, d->cfg->grace_hours, due_ms, n->text, sizeof n->text);
    snprintf(body, sizeof body, "{\"recipient_id\":\"%" PRIu64 "\"}", user_id);
    pending_add(&d->pending, &n->link);
    if (loop_rest(d->loop, "POST", "/users/@me/channels", NULL, body, on_channel, n) != DC_OK) {
        pending_del(&n->link);
        free(n);
    }
}

/* ---- departures and rejoins -------------------------------------------------- */

int grace_live_departure(dc_daemon *d, const shard *s, uint64_t guild_id, uint64_t user_id, audit_reason why)
{
    grace_policy p = policy(d);
    int64_t now = loop_wall(d->loop);
    grace_plan plan = grace_on_departure(&p, why, user_id, now);
    if (plan.verdict != GRACE_MARK)
        return 0;
    turn_write w = { .kind = TW_GRACE_MARK, .shard_id = s ? s->id : -1, .guild_id = guild_id,
                     .user_id = user_id, .reason = why, .at_ms = now };
    d->grace.maybe_pending = 1;
    turn_write_do(d, w);
    arm_for(d, plan.due_ms);
    if (plan.notify)
        send_notice(d, guild_id, user_id, plan.due_ms);
    return 1;
}

void grace_live_rejoin(dc_daemon *d, const shard *s, uint64_t guild_id, uint64_t user_id)
{
    if (!d->grace.maybe_pending)
        return;                      /* nothing pending: no write per join */
    turn_write w = { .kind = TW_GRACE_CANCEL, .shard_id = s ? s->id : -1, .guild_id = guild_id,
                     .user_id = user_id, .at_ms = loop_wall(d->loop) };
    turn_write_do(d, w);
}

/* ---- the journal's writes --------------------------------------------------- */

static dc_err expire(dc_daemon *d, turn_write *w)
{
    int expired = 0;
    int64_t rows = 0;
    dc_err e = store_grace_expire(d->st, w->guild_id, w->user_id, w->at_ms, &expired, &rows);
    if (e != DC_OK || !expired)
        return e;                    /* cancelled or taken by another process meanwhile: nothing */
    if (rows) {
        removal_log_count(&d->removals, AUDIT_GRACE_EXPIRED, rows);
        w->rows_counted = rows;      /* what a rollback takes back (turn.c) */
    }
    log_fields f = LOG_FIELDS_INIT;
    f.guild = w->guild_id;
    f.user = w->user_id;
    f.reason = audit_reason_name(AUDIT_GRACE_EXPIRED);
    f.rows = rows;
    if (w->user_id)
        LOG_IF("grace", &f, "user %" PRIu64 " of guild %" PRIu64 ": grace period over, %" PRId64 " row(s) deleted",
              w->user_id, w->guild_id, rows);
    else
        LOG_IF("grace", &f, "guild %" PRIu64 ": grace period over, %" PRId64 " row(s) deleted", w->guild_id, rows);
    return DC_OK;
}

dc_err grace_live_run_write(dc_daemon *d, turn_write *w)
{
    grace_policy p = policy(d);
    int64_t n = 0;
    dc_err e;
    switch (w->kind) {
    case TW_GRACE_MARK:
        p.dry_run = 0;               /* decided when it was journaled: the same due time on a redo */
        e = store_grace_mark(d->st, w->guild_id, w->user_id, w->reason, w->at_ms,
                             grace_on_departure(&p, w->reason, w->user_id, w->at_ms).due_ms);
        if (e == DC_OK)
            LOG_D("grace", "%s: user %" PRIu64 " of guild %" PRIu64 ": rows kept for %g h", audit_reason_name(w->reason),
                  w->user_id, w->guild_id, d->cfg->grace_hours);
        return e;
    case TW_GRACE_CANCEL:
        e = store_grace_cancel(d->st, w->guild_id, w->user_id, &n);
        if (e == DC_OK && n > 0)
            LOG_I("grace", "%s %" PRIu64 " is back within the grace period: its rows stay",
                  w->user_id ? "user" : "guild", w->user_id ? w->user_id : w->guild_id);
        return e;
    case TW_GRACE_EXPIRE:
        return expire(d, w);
    default:
        return DC_OK;
    }
}

/* ---- the expiry timer ------------------------------------------------------- */

typedef struct {
    dc_daemon *d;
    int64_t now;
    turn_write due[GRACE_EXPIRE_MAX];
    int n, seen;
    int64_t next;                    /* the earliest own record not due yet; 0 none */
} expiry_scan;

static int scan_row(void *ctx, const store_grace_row *r)
{
    expiry_scan *x = ctx;
    x->seen++;
    if (!reconcile_owns_guild(x->d, r->guild_id))
        return 0;                    /* another process's shard (#16) */
    if (!grace_is_due(r->due_ms, x->now)) {
        x->next = r->due_ms;         /* earliest first: the rest are later */
        return 1;
    }
    if (x->n == GRACE_EXPIRE_MAX) {
        x->next = x->now;            /* more due: the next turn */
        return 1;
    }
    x->due[x->n++] = (turn_write){ .kind = TW_GRACE_EXPIRE, .guild_id = r->guild_id, .user_id = r->user_id,
                                   .reason = AUDIT_GRACE_EXPIRED, .at_ms = x->now, .shard_id = -1 };
    return 0;
}

static void on_timer(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, grace.timer);
    grace_live *g = &d->grace;
    g->armed = 0;
    if (d->stopping)
        return;
    if (d->cfg->dry_run) {
        if (!g->warned_dry_run)
            LOG_I("grace", "dry run: pending departures are not expired (their rows stay)");
        g->warned_dry_run = 1;
        return;
    }
    if (d->n_shards == 0 || turn_begin(d) != 0) {
        arm_in(d, GRACE_RETRY_MS);   /* no shards yet, or the database is held */
        return;
    }
    expiry_scan *x = calloc(1, sizeof *x);
    if (!x) {
        arm_in(d, GRACE_RETRY_MS);
        return;
    }
    x->d = d;
    x->now = loop_wall(d->loop);
    if (store_grace_each(d->st, INT64_MAX, GRACE_SCAN_MAX, scan_row, x) != DC_OK) {
        LOG_W("grace", "cannot read pending departures: %s", store_errmsg(d->st));
        x->next = x->now + GRACE_RETRY_MS;
    }
    /* Nothing of ours due soon: look again later all the same -- records
     * another process (a `sweep` run, a shard handed over) wrote. */
    if (!x->next && (x->seen || d->cfg->grace_hours > 0))
        x->next = x->now + GRACE_MAX_SLEEP_MS;
    g->maybe_pending |= x->n > 0 || x->next > 0;
    for (int i = 0; i < x->n; i++)
        turn_write_do(d, x->due[i]);
    if (x->next)
        arm_for(d, x->next);
    free(x);
}

void grace_live_start(dc_daemon *d)
{
    grace_live *g = &d->grace;
    g->maybe_pending = d->cfg->grace_hours > 0;
    arm_in(d, 0);
}

void grace_live_free(dc_daemon *d)
{
    if (d->loop && d->grace.armed)
        loop_cancel(d->loop, &d->grace.timer);
    d->grace.armed = 0;
}

void grace_live_status(dc_daemon *d, int64_t *pending, int64_t *next_due_ms)
{
    if (store_grace_count(d->st, 0, pending, next_due_ms) != DC_OK) {
        *pending = -1;
        *next_due_ms = 0;
    }
}

/* ---- sweeps ------------------------------------------------------------------ */

int grace_live_sweep_batch(shard *s, uint64_t guild_id, int dry_run)
{
    dc_daemon *d = s->d;
    grace_policy p = policy(d);
    int64_t now = loop_wall(d->loop), marked = -1;
    p.dry_run |= dry_run;
    grace_plan plan = grace_on_departure(&p, AUDIT_SWEEP, 0, now);
    if (plan.verdict != GRACE_MARK)
        return 0;
    if (turn_begin(d) == 0 && store_grace_mark_stale(d->st, guild_id, now, plan.due_ms, &marked) != DC_OK) {
        LOG_E("sweep", "guild %" PRIu64 ": marking stale rows pending failed: %s", guild_id, store_errmsg(d->st));
        marked = -1;
    }
    if (marked >= 0) {
        d->grace.maybe_pending = 1;
        arm_for(d, plan.due_ms);
    }
    sweep_on_marked_pending(s->rc.sw, marked, d->cfg->grace_hours, loop_now(d->loop));
    return 1;
}

/* ---- !cleanup_test ------------------------------------------------------------ */

#define PENDING_LISTED 20

typedef struct {
    uint64_t guild_id;
    uint64_t ids[PENDING_LISTED];
    size_t n;
    int64_t count, first_due;
} pending_list;

static int list_row(void *ctx, const store_grace_row *r)
{
    pending_list *l = ctx;
    if (r->guild_id != l->guild_id)
        return 0;
    if (!l->first_due)
        l->first_due = r->due_ms;
    if (r->user_id && l->n < PENDING_LISTED)
        l->ids[l->n++] = r->user_id;
    l->count++;
    return 0;
}

void grace_live_pending_text(dc_daemon *d, uint64_t guild_id, char *buf, size_t cap)
{
    pending_list l = { .guild_id = guild_id };
    buf[0] = '\0';
    if (store_grace_each(d->st, INT64_MAX, 0, list_row, &l) != DC_OK)
        return;
    commands_format_pending(l.count, l.ids, l.n, l.first_due, loop_wall(d->loop), buf, cap);
}
