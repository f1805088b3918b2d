/* commands_live.c - carries out chat command decisions in the daemon.
 *
 * commands.c decides and formats; perms.c computes permissions; this file
 * does the I/O: it reads the daemon's state for !cleanup_status, queues
 * sweeps with rc_request() (their done callback posts the result), fetches
 * the bot's owners once (GET /applications/@me) and posts every reply with
 * POST /channels/{id}/messages through the shared REST client.  A reply
 * that fails is logged and forgotten: it never stops the daemon. */
#include "commands_live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleaner.h"
#include "commands.h"
#include "log.h"
#include "perms.h"
#include "proto.h"

#define MAX_OWNERS 64
#define SUMMARY_CAP 8192          /* trimmed to a message at a line end when posted */

typedef struct cmd_live cmd_live;

/* Who asked for a sweep (or for all of them) and where to answer. */
typedef struct cmd_job {
    struct cmd_job *next;
    cmd_live *cl;
    uint64_t channel_id, message_id;
    int all, dry_run;
    int pending, ok, guarded, failed;
    int64_t removed;
    char details[SUMMARY_CAP];       /* all guilds: lines for guilds that did not simply finish */
} cmd_job;

struct cmd_live {
    dc_daemon *d;
    cmd_state *cs;
    perm_cache *perms;
    uint64_t owners[MAX_OWNERS];
    size_t n_owners;
    int owners_fetch;                /* 0 not yet / failed, 1 in flight, 2 done */
    cmd_job *jobs;
};

/* ---- replies ----------------------------------------------------------------- */

static void on_reply_done(void *ctx, const rest_response *r)
{
    (void)ctx;
    if (r->status < 200 || r->status > 299)
        LOG_W("commands", "a reply was not posted (HTTP %ld, code %d%s%s)", r->status, r->json_code,
              r->error ? ", " : "", r->error ? r->error : "");
}

static void reply(cmd_live *cl, uint64_t channel_id, uint64_t message_id, const char *text)
{
    char path[64], major[24];
    char *json = cmd_reply_json(message_id, text);
    snprintf(path, sizeof path, "/channels/%" PRIu64 "/messages", channel_id);
    snprintf(major, sizeof major, "%" PRIu64, channel_id);
    if (!json || loop_rest(cl->d->loop, "POST", path, major, json, on_reply_done, cl) != DC_OK)
        LOG_E("commands", "cannot queue a reply to channel %" PRIu64, channel_id);
    free(json);
}

/* ---- owners -------------------------------------------------------------------- */

static void add_owner(cmd_live *cl, uint64_t id)
{
    for (size_t i = 0; i < cl->n_owners; i++)
        if (cl->owners[i] == id)
            return;
    if (id && cl->n_owners < MAX_OWNERS)
        cl->owners[cl->n_owners++] = id;
}

static int is_owner(const cmd_live *cl, uint64_t user_id)
{
    for (size_t i = 0; i < cl->n_owners; i++)
        if (cl->owners[i] == user_id)
            return 1;
    return 0;
}

/* The application's owner, or every member of the team that owns it. */
static void on_application(void *ctx, const rest_response *r)
{
    cmd_live *cl = ctx;
    cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (!cJSON_IsObject(j)) {
        LOG_W("commands", "GET /applications/@me failed (HTTP %ld); only owner_ids may use "
              "!cleanup_all_guilds until the next session", r->status);
        cl->owners_fetch = 0;
        cJSON_Delete(j);
        return;
    }
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(j, "owner");
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "team"), "members");
    const cJSON *m;
    if (!cJSON_IsArray(members))
        members = NULL;
    add_owner(cl, cl_snowflake(cJSON_GetObjectItemCaseSensitive(owner, "id")));
    cJSON_ArrayForEach(m, members)
        add_owner(cl, cl_snowflake(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "user"), "id")));
    cl->owners_fetch = 2;
    LOG_I("commands", "%zu bot owner(s) may use !cleanup_all_guilds", cl->n_owners);
    cJSON_Delete(j);
}

static void fetch_owners(cmd_live *cl)
{
    if (cl->owners_fetch)
        return;
    cl->owners_fetch = 1;
    if (loop_rest(cl->d->loop, "GET", "/applications/@me", NULL, NULL, on_application, cl) != DC_OK)
        cl->owners_fetch = 0;
}

/* ---- sweeps ------------------------------------------------------------------- */

static void free_job(cmd_live *cl, cmd_job *job)
{
    for (cmd_job **p = &cl->jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            break;
        }
    free(job);
}

static cmd_job *new_job(cmd_live *cl, const cmd_message *m, int all, int dry_run)
{
    cmd_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    *job = (cmd_job){ .next = cl->jobs, .cl = cl, .channel_id = m->channel_id, .message_id = m->message_id,
                      .all = all, .dry_run = dry_run };
    cl->jobs = job;
    return job;
}

static void post_summary(cmd_job *job)
{
    char text[SUMMARY_CAP + 512];
    snprintf(text, sizeof text, "%s of every server finished: %d completed, %d stopped by the guard, "
             "%d did not complete; %" PRId64 " row(s) %s.%s%s", job->dry_run ? "Dry run" : "Sweep",
             job->ok, job->guarded, job->failed, job->removed,
             job->dry_run ? "would be removed" : "removed", job->details[0] ? "\n" : "", job->details);
    reply(job->cl, job->channel_id, job->message_id, text);
}

/* sweep_request.done: a commanded sweep finished (or was aborted). */
static void on_sweep_done(void *ctx, uint64_t guild_id, const sw_action *res)
{
    cmd_job *job = ctx;
    char text[768];
    job->pending--;
    if (!job->all) {
        cmd_format_result(job->dry_run, res->ok, res->text, text, sizeof text);
        reply(job->cl, job->channel_id, job->message_id, text);
        free_job(job->cl, job);
        return;
    }
    job->removed += res->removed;
    if (res->guard_tripped || !res->ok) {
        size_t off = strlen(job->details);
        snprintf(job->details + off, sizeof job->details - off, "%sguild %" PRIu64 ": %s",
                 off ? "\n" : "", guild_id, res->text ? res->text : "?");
    }
    if (res->guard_tripped)
        job->guarded++;
    else if (res->ok)
        job->ok++;
    else
        job->failed++;
    if (job->pending <= 0) {
        post_summary(job);
        free_job(job->cl, job);
    }
}

static int queued(const dc_daemon *d, uint64_t guild_id)
{
    for (size_t i = 0; i < d->n_requests; i++)
        if (d->requests[i].guild_id == guild_id)
            return 1;
    return 0;
}

static int running(const shard *s, uint64_t guild_id)
{
    return s && sw_get_state(s->sw) != SW_IDLE && sw_guild(s->sw) == guild_id;
}

static dc_err queue_sweep(dc_daemon *d, uint64_t guild_id, const cmd_decision *dec, cmd_job *job)
{
    sweep_request r = { .guild_id = guild_id, .force = dec->force, .dry_run = dec->dry_run,
                        .done = on_sweep_done, .ctx = job };
    return rc_request(d, &r);
}

static void sweep_guild(cmd_live *cl, const cmd_message *m, const cmd_decision *dec)
{
    dc_daemon *d = cl->d;
    shard *s = rc_shard_of(d, m->guild_id);
    char text[512];
    if (!s) {
        reply(cl, m->channel_id, m->message_id, "This server is not available to the cleaner right now "
              "(the gateway has not delivered it in this session); try again in a minute.");
        return;
    }
    if (running(s, m->guild_id) || queued(d, m->guild_id)) {
        int chunks = 0, count = 0;
        int64_t members = 0, removed = 0, stale = 0;
        if (running(s, m->guild_id))
            sw_progress(s->sw, &chunks, &count, &members, &removed, &stale);
        cmd_format_progress(!running(s, m->guild_id), chunks, count, members, removed, text, sizeof text);
        reply(cl, m->channel_id, m->message_id, text);
        return;
    }
    cmd_job *job = new_job(cl, m, 0, dec->dry_run);
    if (!job || (job->pending = 1, queue_sweep(d, m->guild_id, dec, job)) != DC_OK) {
        if (job)
            free_job(cl, job);
        reply(cl, m->channel_id, m->message_id, "The sweep could not be queued (out of memory).");
        return;
    }
    LOG_I("commands", "guild %" PRIu64 ": %s requested by user %" PRIu64 "%s", m->guild_id,
          dec->dry_run ? "dry-run sweep" : "sweep", m->author_id, dec->force ? " (force)" : "");
}

static void sweep_all(cmd_live *cl, const cmd_message *m, const cmd_decision *dec)
{
    dc_daemon *d = cl->d;
    cmd_job *job = new_job(cl, m, 1, dec->dry_run);
    int skipped = 0;
    char text[512];
    if (!job) {
        reply(cl, m->channel_id, m->message_id, "The sweeps could not be queued (out of memory).");
        return;
    }
    for (int i = 0; i < d->n_shards; i++) {
        shard *s = &d->shards[i];
        for (size_t k = 0; k < s->n_present; k++) {
            uint64_t g = s->present[k].id;
            if (running(s, g) || queued(d, g) || queue_sweep(d, g, dec, job) != DC_OK)
                skipped++;
            else
                job->pending++;
        }
    }
    LOG_I("commands", "sweep of all %d guild(s) requested by owner %" PRIu64 "%s%s", job->pending,
          m->author_id, dec->force ? " (force)" : "", dec->dry_run ? " (dry run)" : "");
    if (!job->pending) {
        free_job(cl, job);
        snprintf(text, sizeof text, "Nothing to sweep: %d server(s) already have a sweep running or queued, "
                 "and no other server is available.", skipped);
    } else {
        snprintf(text, sizeof text, "%s of %d server(s) queued%s; I will reply here when all have finished.",
                 dec->dry_run ? "Dry runs" : "Sweeps", job->pending,
                 skipped ? " (some skipped: a sweep already runs or is queued there)" : "");
    }
    reply(cl, m->channel_id, m->message_id, text);
}

/* ---- status ------------------------------------------------------------------- */

static int count_awaiting(void *ctx, const store_guild_state *g)
{
    *(int64_t *)ctx += g->needs_reconcile && !g->unavailable;
    return 0;
}

static double interval_hours(const config *c, uint64_t guild_id)
{
    for (size_t i = 0; i < c->n_guild_intervals; i++)
        if (c->guild_intervals[i].guild_id == guild_id)
            return c->guild_intervals[i].hours;
    return c->interval_hours;
}

/* When the scheduler will next pick this guild (reconcile.c's rules). */
static int64_t next_run(const dc_daemon *d, const store_guild_state *g)
{
    int64_t settled = d->started_wall_ms + (int64_t)(d->cfg->reconcile_delay * 1000);
    if (!g->last_sweep_ms)
        return settled;
    int64_t due = g->last_sweep_ms + (int64_t)(interval_hours(d->cfg, g->guild_id) * 3600000.0);
    return g->needs_reconcile && settled < due && !sw_result_holds(g->last_sweep_result) ? settled : due;
}

static void status(cmd_live *cl, const cmd_message *m)
{
    dc_daemon *d = cl->d;
    cmd_shard_status shards[MAX_SHARDS];
    cmd_status st = { .shards = shards, .uptime_ms = loop_wall(d->loop) - d->started_wall_ms, .events = d->events,
                      .guild_id = m->guild_id, .guild_rows = -1, .now_wall_ms = loop_wall(d->loop),
                      .dry_run = d->cfg->dry_run };
    store_guild_state g = { .guild_id = m->guild_id };
    char text[2048];
    for (int i = 0; i < d->n_shards && i < MAX_SHARDS; i++) {
        const shard *s = &d->shards[i];
        if (!s->gw)
            continue;
        shards[st.n_shards++] = (cmd_shard_status){ s->id, gw_state_name(gw_get_state(s->gw)),
                                                    gw_latency_ms(s->gw), gw_resumed(s->gw) };
    }
    memcpy(st.removed, d->removed, sizeof st.removed);
    store_count_guild(d->st, m->guild_id, &st.guild_rows);
    if (store_guild_get(d->st, m->guild_id, &g) == DC_OK) {
        st.last_sweep_ms = g.last_sweep_ms;
        st.last_sweep_removed = g.last_sweep_removed;
        st.last_sweep_duration_ms = g.last_sweep_duration_ms;
        st.last_sweep_result = g.last_sweep_result;
        st.held = sw_result_holds(g.last_sweep_result);
    }
    st.next_run_ms = next_run(d, &g);
    store_each_guild_state(d->st, count_awaiting, &st.awaiting_reconcile);
    shard *s = rc_shard_of(d, m->guild_id);
    if (running(s, m->guild_id)) {
        int64_t stale = 0;
        st.sweep_running = 1;
        sw_progress(s->sw, &st.chunks_seen, &st.chunk_count, &st.members, &st.sweep_removed, &stale);
    }
    cmd_format_status(&st, text, sizeof text);
    reply(cl, m->channel_id, m->message_id, text);
}

/* ---- dispatches ------------------------------------------------------------------ */

static cmd_live *live(dc_daemon *d)
{
    if (d->cmds)
        return d->cmds;
    cmd_live *cl = calloc(1, sizeof *cl);
    cmd_config cc = { .prefix = d->cfg->prefix, .admin_permission = d->cfg->admin_permission,
                      .dry_run = d->cfg->dry_run };
    if (!cl || !(cl->cs = cmd_state_new(&cc)) || !(cl->perms = perm_cache_new())) {
        if (cl) {
            cmd_state_free(cl->cs);
            free(cl);
        }
        return NULL;
    }
    cl->d = d;
    for (size_t i = 0; i < d->cfg->n_owner_ids; i++)
        add_owner(cl, d->cfg->owner_ids[i]);
    d->cmds = cl;
    return cl;
}

static void on_message(cmd_live *cl, const cJSON *data)
{
    cmd_message m;
    cmd_decision dec;
    if (cmd_parse_message(data, &m) != DC_OK) {
        LOG_D("commands", "MESSAGE_CREATE of an unexpected shape skipped");
        return;
    }
    uint64_t perms = perm_compute(cl->perms, m.guild_id, m.author_id, m.roles, m.n_roles);
    cmd_decide(cl->cs, &m, perms, is_owner(cl, m.author_id), loop_now(cl->d->loop), &dec);
    switch (dec.kind) {
    case CMD_IGNORE:
        return;
    case CMD_REFUSE:
        LOG_I("commands", "guild %" PRIu64 ": refused a command of user %" PRIu64 " (missing permission)",
              m.guild_id, m.author_id);
        reply(cl, m.channel_id, m.message_id, dec.text);
        return;
    case CMD_HELP:
        reply(cl, m.channel_id, m.message_id, dec.text);
        return;
    case CMD_STATUS:
        status(cl, &m);
        return;
    case CMD_SWEEP:
        sweep_guild(cl, &m, &dec);
        return;
    case CMD_ALL_GUILDS:
        sweep_all(cl, &m, &dec);
        return;
    }
}

void cmdl_on_dispatch(shard *s, const char *event, const cJSON *data)
{
    dc_daemon *d = s->d;
    if (!d->cfg->commands || !event)
        return;
    cmd_live *cl = live(d);
    if (!cl)
        return;
    dc_event ev = dc_event_from_name(event);
    if (ev == DC_EV_READY)
        fetch_owners(cl);
    if (ev == DC_EV_MESSAGE_CREATE)
        on_message(cl, data);
    else if (perm_on_dispatch(cl->perms, event, data) == DC_ERR_PROTO)
        LOG_W("commands", "shard %d: %s of an unexpected shape: role cache unchanged", s->id, event);
    else if (ev == DC_EV_GUILD_CREATE)
        LOG_D("commands", "guild %" PRIu64 ": roles known",
              cl_snowflake(cJSON_GetObjectItemCaseSensitive(data, "id")));
}

void cmdl_free(dc_daemon *d)
{
    cmd_live *cl = d->cmds;
    if (!cl)
        return;
    while (cl->jobs)
        free_job(cl, cl->jobs);
    perm_cache_free(cl->perms);
    cmd_state_free(cl->cs);
    free(cl);
    d->cmds = NULL;
}
