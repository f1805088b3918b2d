/* events.c - what each gateway dispatch does in the live daemon.
 *
 * The cleaner policy (cleaner.c) decides; this file carries its actions
 * out against the store and REST, and routes sweep-related dispatches
 * (member chunks, RATE_LIMITED, joins) to the shard's sweep (reconcile.c).
 * Every database write happens inside the loop turn's transaction. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/cleaner.h"
#include "daemon/metrics_live.h"
#include "daemon/commands_live.h"
#include "daemon/interact_live.h"
#include "daemon/slash_register.h"
#include "daemon/daemon_internal.h"
#include "base/log.h"
#include "daemon/turn_cap.h"
#include "base/vec.h"

/* A write of this turn, recorded in the journal (turn.c) so that a busy or
 * full database delays it instead of losing it. */
static void write_for(dc_daemon *d, turn_write_kind kind, const shard *s, const cleaner_action *a)
{
    turn_write w = { .kind = kind, .shard_id = s ? s->id : -1, .guild_id = a->guild_id,
                     .user_id = a->user_id, .reason = a->reason, .at_ms = loop_wall(d->loop) };
    /* A replayed departure waits for the replay's end: a rejoin replayed
     * after it cancels it (turn_cancel_member_delete). */
    if (kind == TW_DELETE_MEMBER && s && s->replaying)
        w.wait_shard = s->id + 1;
    turn_write_do(d, w);
}

/* A confirmation REST could not give (5xx, 429, no answer) is asked again
 * on a backoff timer, not only after the next IDENTIFY's READY. */
#define CONFIRM_RETRY_FIRST_MS 2000
#define CONFIRM_RETRY_MAX_MS 300000
#define CONFIRM_ATTEMPTS 10          /* ~17 min in all; then the guild waits for a sweep */

typedef struct {
    dc_pending link;                 /* first: freed at shutdown if still in flight or waiting */
    dc_daemon *d;
    uint64_t guild_id;
    audit_reason why;
    int attempts;                    /* requests sent so far */
    dc_timer retry;                  /* armed while waiting in d->confirm_waiting */
} guild_gone_query;

static void send_confirm(guild_gone_query *cc);

/* One confirmation per guild at a time: a second READY (a new session)
 * while the first is asked, or its delete not yet begun, starts none. */
static int confirming(const dc_daemon *d, uint64_t guild_id)
{
    for (size_t i = 0; i < d->n_confirming; i++)
        if (d->confirming[i] == guild_id)
            return 1;
    return 0;
}

static void confirm_done(guild_gone_query *cc)
{
    dc_daemon *d = cc->d;
    for (size_t i = 0; i < d->n_confirming; i++)
        if (d->confirming[i] == cc->guild_id) {
            d->confirming[i] = d->confirming[--d->n_confirming];
            break;
        }
    free(cc);
}

static void on_confirm_retry(dc_timer *t)
{
    guild_gone_query *cc = lws_container_of(t, guild_gone_query, retry);
    pending_del(&cc->link);
    send_confirm(cc);
}

/* 1 when another attempt was scheduled. */
static int retry_confirm(guild_gone_query *cc)
{
    dc_daemon *d = cc->d;
    if (cc->attempts >= CONFIRM_ATTEMPTS || d->stopping)
        return 0;
    int64_t wait = CONFIRM_RETRY_FIRST_MS << (cc->attempts - 1 < 8 ? cc->attempts - 1 : 8);
    if (wait > CONFIRM_RETRY_MAX_MS)
        wait = CONFIRM_RETRY_MAX_MS;
    LOG_I("cleaner", "guild %" PRIu64 ": asking REST again in %" PRId64 " s (attempt %d of %d)", cc->guild_id,
          wait / 1000, cc->attempts + 1, CONFIRM_ATTEMPTS);
    pending_add(&d->confirm_waiting, &cc->link);
    loop_timer(d->loop, &cc->retry, on_confirm_retry, wait);
    return 1;
}

/* GET /guilds/{id}: 403/50001 or 404/10004 means the bot is out. */
static void on_confirm_gone(void *ctx, const rest_response *r)
{
    guild_gone_query *cc = ctx;
    dc_daemon *d = cc->d;
    pending_del(&cc->link);
    int gone = (r->status == 403 && r->json_code == 50001) || (r->status == 404 && r->json_code == 10004);
    cleaner_action a = { .guild_id = cc->guild_id, .reason = cc->why };
    if (gone && grace_live_departure(d, NULL, cc->guild_id, 0, cc->why)) {
        LOG_I("cleaner", "guild %" PRIu64 ": the bot is out; its rows are kept for the grace period",
              cc->guild_id);
    } else if (gone) {
        write_for(d, TW_DELETE_GUILD, NULL, &a);
        commands_live_guild_gone(d, cc->guild_id);
    } else if (r->status == 200) {
        LOG_W("cleaner", "guild %" PRIu64 ": %s, but the bot is still in it (REST 200): keeping its rows, "
              "marking it for reconciliation", cc->guild_id,
              cc->why == AUDIT_LEFT_WHILE_OFFLINE ? "missing from READY" : "GUILD_DELETE without unavailable");
        write_for(d, TW_NEEDS_RECONCILE, NULL, &a);
    } else {
        LOG_W("cleaner", "guild %" PRIu64 ": cannot confirm removal (HTTP %ld%s%s): keeping its rows for now",
              cc->guild_id, r->status, r->error ? ", " : "", r->error ? r->error : "");
        write_for(d, TW_NEEDS_RECONCILE, NULL, &a);
        if (retry_confirm(cc))
            return;
    }
    confirm_done(cc);
}

static void send_confirm(guild_gone_query *cc)
{
    char path[64];
    dc_daemon *d = cc->d;
    cc->attempts++;
    pending_add(&d->pending, &cc->link);
    snprintf(path, sizeof path, "/guilds/%" PRIu64, cc->guild_id);
    if (loop_rest(d->loop, "GET", path, path + 8, NULL, on_confirm_gone, cc) != DC_OK) {
        LOG_E("cleaner", "guild %" PRIu64 ": cannot send the confirmation request", cc->guild_id);
        pending_del(&cc->link);
        confirm_done(cc);
    }
}

static void confirm_gone(dc_daemon *d, const cleaner_action *a)
{
    if (confirming(d, a->guild_id)) {
        LOG_I("cleaner", "guild %" PRIu64 ": %s; its removal is being confirmed already", a->guild_id,
              a->reason == AUDIT_LEFT_WHILE_OFFLINE ? "left while offline" : "bot removed");
        return;
    }
    guild_gone_query *cc = malloc(sizeof *cc);
    if (!cc || VEC_GROW(d->confirming, d->cap_confirming, d->n_confirming + 1, 16) != 0) {
        free(cc);
        return;
    }
    d->confirming[d->n_confirming++] = a->guild_id;
    *cc = (guild_gone_query){ .d = d, .guild_id = a->guild_id, .why = a->reason };
    LOG_I("cleaner", "guild %" PRIu64 ": %s; confirming over REST before deleting", a->guild_id,
          a->reason == AUDIT_LEFT_WHILE_OFFLINE ? "left while offline" : "bot removed");
    send_confirm(cc);
}

/* The guild is available: a confirmation waiting for its retry is moot. */
static void drop_confirm_retries(dc_daemon *d, uint64_t guild_id)
{
    for (dc_pending *p = d->confirm_waiting.next; p && p != &d->confirm_waiting;) {
        guild_gone_query *cc = (guild_gone_query *)p;
        p = p->next;
        if (cc->guild_id != guild_id)
            continue;
        loop_cancel(d->loop, &cc->retry);
        pending_del(&cc->link);
        confirm_done(cc);
    }
}

void events_free(dc_daemon *d)
{
    while (d->confirm_waiting.next && d->confirm_waiting.next != &d->confirm_waiting) {
        guild_gone_query *cc = (guild_gone_query *)d->confirm_waiting.next;
        if (d->loop)
            loop_cancel(d->loop, &cc->retry);
        pending_del(&cc->link);
        free(cc);
    }
    free(d->confirming);
    d->confirming = NULL;
    d->n_confirming = d->cap_confirming = 0;
}

static void apply(dc_daemon *d, shard *s, const cleaner_action *a)
{
    switch (a->kind) {
    case CL_DELETE_MEMBER:
        if (!grace_live_departure(d, s, a->guild_id, a->user_id, a->reason))
            write_for(d, TW_DELETE_MEMBER, s, a);
        break;
    case CL_CONFIRM_GONE:
        reconcile_guild_absent(s, a->guild_id);
        confirm_gone(d, a);
        break;
    case CL_GUILD_SEEN:
        drop_confirm_retries(d, a->guild_id);
        write_for(d, TW_GUILD_SEEN, s, a);
        grace_live_rejoin(d, s, a->guild_id, 0);
        break;
    case CL_GUILD_UNAVAILABLE:
        LOG_W("cleaner", "guild %" PRIu64 " is unavailable (Discord outage): keeping its rows", a->guild_id);
        write_for(d, TW_GUILD_UNAVAILABLE, s, a);
        reconcile_guild_absent(s, a->guild_id);
        break;
    case CL_MARK_RECONCILE:
        /* A one-shot sweep's new session says nothing of what the daemon
         * missed: the daemon judges that from its own session. */
        write_for(d, d->oneshot ? TW_GUILD_SEEN : TW_MARK_RECONCILE, s, a);
        break;
    case CL_ADOPT_UNASSIGNED:
        write_for(d, TW_ADOPT_UNASSIGNED, s, a);
        break;
    case CL_MEMBER_PRESENT:
        turn_cancel_member_delete(d, a->guild_id, a->user_id);
        grace_live_rejoin(d, s, a->guild_id, a->user_id);
        reconcile_on_member_add(s, a->guild_id, a->user_id);
        break;
    }
}

/* ---- gateway events ------------------------------------------------------ */

typedef struct {
    uint64_t *v;
    size_t n, cap;
    const shard *s;
} guild_list;

/* READY: the stored guilds of this shard only; another process runs the
 * others (#16), and their absence from this READY says nothing. */
static int collect_guild(void *ctx, uint64_t guild_id)
{
    guild_list *l = ctx;
    if (!reconcile_shard_owns(l->s, guild_id))
        return 0;
    if (VEC_GROW(l->v, l->cap, l->n + 1, 64) != 0)
        return 1;
    l->v[l->n++] = guild_id;
    return 0;
}

static int add_known_guild(void *ctx, const store_guild_state *g)
{
    shard *s = ctx;
    /* the shard count may have changed since the row was written */
    if (g->shard_id == s->id && !g->unavailable && reconcile_shard_owns(s, g->guild_id))
        reconcile_guild_resumed(s, g->guild_id);
    return 0;
}

static uint64_t id_field(const cJSON *data, const char *name)
{
    return snowflake_json(cJSON_GetObjectItemCaseSensitive(data, name));
}

/* A GUILD_CREATE or GUILD_UPDATE names its guild. */
static void take_name(shard *s, const cJSON *data)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(data, "name");
    if (cJSON_IsString(name))
        reconcile_guild_named(s, id_field(data, "id"), name->valuestring);
}

/* Dispatches the sweep needs beyond the cleaner's policy, by the kind the
 * gateway gave the event (gateway_action.ev). */
static void route_to_sweep(shard *s, dc_event ev, const cJSON *data)
{
    switch (ev) {
    case DC_EV_READY:
        reconcile_wake(s->d);               /* the shard may sweep again */
        break;
    case DC_EV_RESUMED:
        reconcile_wake(s->d);
        /* A process that resumed a persisted session gets no READY and no
         * GUILD_CREATEs: its guilds are the ones this shard had available
         * (any it left meanwhile arrive as replayed GUILD_DELETEs). */
        if (reconcile_guild_count(s) == 0)
            store_each_guild_state(s->d->st, add_known_guild, s);
        break;
    case DC_EV_GUILD_MEMBERS_CHUNK:
        reconcile_on_chunk(s, data);
        break;
    case DC_EV_RATE_LIMITED:
        reconcile_on_rate_limited(s, data);
        break;
    case DC_EV_GUILD_MEMBER_ADD:
        reconcile_member_count(s, id_field(data, "guild_id"), 1);
        break;
    case DC_EV_GUILD_MEMBER_REMOVE:
        reconcile_member_count(s, id_field(data, "guild_id"), -1);
        break;
    case DC_EV_GUILD_CREATE:
        if (cJSON_IsObject(data) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(data, "unavailable"))) {
            const cJSON *mc = cJSON_GetObjectItemCaseSensitive(data, "member_count");
            uint64_t id = id_field(data, "id");
            if (id)
                reconcile_guild_present(s, id, cJSON_IsNumber(mc) ? (int64_t)mc->valuedouble : 0);
        }
        take_name(s, data);
        break;
    case DC_EV_GUILD_UPDATE:
        take_name(s, data);
        break;
    default:
        break;
    }
}

/* The events between RESUME and RESUMED are the ones Discord replays:
 * their member deletes are netted against the rejoins among them and
 * written when the replay ends, with the seq that covers them.  A
 * connection that closes mid-replay ends it too (the session's seq has
 * moved past those events: they are not replayed again). */
static void track_replay(shard *s)
{
    if (gateway_get_state(s->gw) == GW_RESUMING) {
        s->replaying = 1;
    } else if (s->replaying) {
        s->replaying = 0;
        turn_release_shard(s->d, s->id);
    }
}

void events_on_dispatch(void *ctx, transport_conn *c, dc_event ev, const char *event, int64_t seq, const cJSON *data)
{
    shard *s = ctx;
    dc_daemon *d = s->d;
    (void)c;
    (void)seq;
    d->events++;
    if (!event)
        return;
    metrics_live_dispatch(s, ev, event);
    /* Arms the commit that persists this event's seq.  When the database is
     * held, or a commit's outcome is awaited, the event's writes queue in the
     * journal (turn.c) and its seq is persisted with them. */
    turn_event_begin(d);
    track_replay(s);
    guild_list stored = { .s = s };
    cleaner_context cx = { .shard_id = s->id, .shard_count = d->shard_count,
                      .max_delete_share = d->cfg->max_delete_share };
    if (ev == DC_EV_READY) {
        if (store_each_stored_guild(d->st, collect_guild, &stored) != DC_OK)
            LOG_W("cleaner", "shard %d: the stored guilds could not be read at READY (%s): guilds left while "
                  "the daemon was away are looked for at the next new session, not this one", s->id,
                  store_errmsg(d->st));
        store_count_unassigned(d->st, &cx.unassigned_rows);
        cx.stored_guilds = stored.v;
        cx.n_stored = stored.n;
        reconcile_forget_guilds(s);             /* a new session lists its guilds anew */
    }
    cleaner_actions acts = { 0 };
    dc_err e = cleaner_on_dispatch(&cx, ev, data, &acts);
    if (e == DC_ERR_PROTO) {
        d->malformed_events++;           /* replay reports these as anomalies */
        LOG_W("cleaner", "shard %d: %s with a malformed payload skipped (nothing deleted)", s->id, event);
    }
    if (acts.guard[0])
        LOG_E("cleaner", "%s", acts.guard);
    for (size_t i = 0; i < acts.n; i++)
        apply(d, s, &acts.v[i]);
    cleaner_actions_free(&acts);
    free(stored.v);
    route_to_sweep(s, ev, data);
    commands_live_on_dispatch(s, ev, event, data);
    interact_live_on_dispatch(s, ev, data);
    slash_register_on_session(s, ev, data);
    turn_event_done(d);
}

void events_on_disconnect(void *ctx, transport_conn *c)
{
    shard *s = ctx;
    (void)c;
    if (s->replaying) {
        s->replaying = 0;
        turn_release_shard(s->d, s->id);
    }
    reconcile_on_disconnect(ctx);
}
