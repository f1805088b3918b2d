/* commands_live.c - carries out chat command decisions in the daemon.
 *
 * commands.c decides and formats; perms.c computes permissions; this file
 * does the I/O: it reads the daemon's state for !cleanup_status, queues
 * sweeps with reconcile_request() (their done callback posts the result), fetches
 * the bot's owners once (GET /applications/@me) and posts every reply with
 * POST /channels/{id}/messages through the shared REST client.  A
 * commanded sweep of one guild answers through a reply_handle
 * (reply_handle.c): what it waits for at once when it cannot start within
 * 2 s, its figures while it runs longer than that (edits, at most one per
 * 2 s), then its result; a quick one posts only its result.  The schedule
 * command is carried out by schedule_live.c.  A reply that fails is logged
 * and forgotten: it never stops the daemon. */
#include "daemon/commands_live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/commands.h"
#include "daemon/commands_outbox.h"
#include "daemon/reply_handle.h"
#include "base/log.h"
#include "daemon/daemon_internal.h"
#include "daemon/schedule_live.h"
#include "policy/perms.h"
#include "proto/proto.h"
#include "proto/snowflake.h"

#define MAX_OWNERS 64
#define WAIT_MAX 64               /* commands waiting for permissions data; more are dropped */
#define WAIT_MS 15000             /* how long one waits before "could not check" */
#define OWNERS_RETRY_MS 30000

enum { OWNERS_NONE = 0, OWNERS_IN_FLIGHT, OWNERS_DONE, OWNERS_FAILED };
#define SUMMARY_CAP 8192          /* trimmed to a message at a line end when posted */
#define NOTICE_AFTER_MS 2000      /* a commanded sweep that waits longer says so at once */
#define PROGRESS_EVERY_MS REPLY_EDIT_EVERY_MS   /* a running sweep's reply is brought up to date */
#define PROGRESS_SLACK_MS 100     /* timers fire a little early or late */

typedef struct commands_live commands_live;

/* Who asked for a sweep (or for all of them) and where to answer. */
typedef struct commands_live_job {
    struct commands_live_job *next;
    commands_live *cl;
    uint64_t channel_id, message_id;
    int all, dry_run;
    int pending, ok, guarded, failed;
    int64_t removed;
    char details[SUMMARY_CAP];       /* all guilds: lines for guilds that did not simply finish */
    /* one guild: the reply, posted at once when the sweep waits, after
     * PROGRESS_EVERY_MS when it runs long, edited as it goes, and the
     * result edited in (reply_handle.c); NULL: the result is a reply of
     * its own (out of memory) */
    uint64_t guild_id;
    reply_handle *rh;
    dc_timer tick;                   /* the next look at the sweep's progress */
    int64_t running_since;           /* loop_now when it was first seen running; 0: not yet */
} commands_live_job;

struct commands_live {
    dc_daemon *d;
    commands_state *cs;
    perms_cache *perms;
    uint64_t owners[MAX_OWNERS];
    size_t n_owners;
    int owners_fetch;                /* OWNERS_* */
    long owners_status;              /* HTTP status of the last failed fetch */
    int64_t owners_retry_ms;         /* loop_now after which a failed fetch is retried */
    commands_live_job *jobs;
    cmdo *out;                       /* replies, admins first (commands_outbox.c) */
    reply_set *replies;              /* replies edited as a sweep goes on (reply_handle.c) */
    /* Commands waiting for what judging them needs (a guild's roles and
     * owner over REST, the bot's owners): never refused for lack of data. */
    struct waiting *wait[WAIT_MAX];
    size_t n_wait;
    dc_timer wait_timer;
};

/* ---- replies ----------------------------------------------------------------- */

/* Answers to people allowed to command, results, help: before refusals. */
static void reply_as(commands_live *cl, commands_outbox_class cls, uint64_t channel_id, uint64_t message_id, const char *text)
{
    dc_err e = commands_outbox_send(cl->out, cls, channel_id, message_id, 0, text, NULL, NULL);
    if (e == DC_ERR_NOMEM)
        LOG_E("commands", "cannot queue a reply to channel %" PRIu64, channel_id);
}

static void reply(commands_live *cl, uint64_t channel_id, uint64_t message_id, const char *text)
{
    reply_as(cl, CMDO_ANSWER, channel_id, message_id, text);
}

/* ---- owners -------------------------------------------------------------------- */

static void add_owner(commands_live *cl, uint64_t id)
{
    for (size_t i = 0; i < cl->n_owners; i++)
        if (cl->owners[i] == id)
            return;
    if (id && cl->n_owners < MAX_OWNERS)
        cl->owners[cl->n_owners++] = id;
}

/* The application's owners (fetched), or an id of owner_ids (read where it
 * lives: a reload changes it). */
static int is_owner(const commands_live *cl, uint64_t user_id)
{
    const config *c = cl->d->cfg;
    for (size_t i = 0; i < cl->n_owners; i++)
        if (cl->owners[i] == user_id)
            return 1;
    for (size_t i = 0; i < c->n_owner_ids; i++)
        if (user_id && c->owner_ids[i] == user_id)
            return 1;
    return 0;
}

/* The application's owner, or every member of the team that owns it. */
static void recheck_waiting(commands_live *cl);

static void on_application(void *ctx, const rest_response *r)
{
    commands_live *cl = ctx;
    cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    if (!cJSON_IsObject(j)) {
        LOG_W("commands", "GET /applications/@me failed (HTTP %ld); retried after "
              "%d s; meanwhile commands that need it are answered that it could not be checked",
              r->status, OWNERS_RETRY_MS / 1000);
        cl->owners_fetch = OWNERS_FAILED;
        cl->owners_status = r->status;
        cl->owners_retry_ms = loop_now(cl->d->loop) + OWNERS_RETRY_MS;
        cJSON_Delete(j);
        recheck_waiting(cl);
        return;
    }
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(j, "owner");
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "team"), "members");
    const cJSON *m;
    if (!cJSON_IsArray(members))
        members = NULL;
    add_owner(cl, snowflake_json(cJSON_GetObjectItemCaseSensitive(owner, "id")));
    cJSON_ArrayForEach(m, members)
        add_owner(cl, snowflake_json(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(m, "user"), "id")));
    cl->owners_fetch = OWNERS_DONE;
    LOG_I("commands", "%zu bot owner(s) may use !cleanup_all_guilds (and %zu id(s) of owner_ids)", cl->n_owners,
          cl->d->cfg->n_owner_ids);
    cJSON_Delete(j);
    recheck_waiting(cl);
}

/* Once per process start (a resumed session gets no READY), and again
 * after a failure when a command needs it. */
static void fetch_owners(commands_live *cl)
{
    if (cl->owners_fetch == OWNERS_IN_FLIGHT || cl->owners_fetch == OWNERS_DONE ||
        (cl->owners_fetch == OWNERS_FAILED && loop_now(cl->d->loop) < cl->owners_retry_ms))
        return;
    cl->owners_fetch = OWNERS_IN_FLIGHT;
    if (loop_rest(cl->d->loop, "GET", "/applications/@me", NULL, NULL, on_application, cl) != DC_OK) {
        cl->owners_fetch = OWNERS_FAILED;
        cl->owners_retry_ms = loop_now(cl->d->loop) + OWNERS_RETRY_MS;
    }
}

/* ---- sweeps ------------------------------------------------------------------- */

static void free_job(commands_live *cl, commands_live_job *job)
{
    for (commands_live_job **p = &cl->jobs; *p; p = &(*p)->next)
        if (*p == job) {
            *p = job->next;
            break;
        }
    loop_cancel(cl->d->loop, &job->tick);
    free(job);
}

static commands_live_job *new_job(commands_live *cl, const commands_message *m, int all, int dry_run)
{
    commands_live_job *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    *job = (commands_live_job){ .next = cl->jobs, .cl = cl, .channel_id = m->channel_id, .message_id = m->message_id,
                      .all = all, .dry_run = dry_run };
    cl->jobs = job;
    return job;
}

/* All guilds: the summary, edited into the reply that said they were
 * queued (a reply of its own when that one could not be made). */
static void post_summary(commands_live_job *job)
{
    char text[SUMMARY_CAP + 512];
    snprintf(text, sizeof text, "%s of every server finished: %d completed, %d stopped by the guard, "
             "%d did not complete; %" PRId64 " row(s) %s.%s%s", job->dry_run ? "Dry run" : "Sweep",
             job->ok, job->guarded, job->failed, job->removed,
             job->dry_run ? "would be removed" : "removed", job->details[0] ? "\n" : "", job->details);
    if (job->rh)
        reply_final(job->rh, text);  /* the reply set owns the handle until it is sent */
    else
        reply(job->cl, job->channel_id, job->message_id, text);
    job->rh = NULL;
}

/* All guilds: where they stand, edited in as each finishes (the handle
 * sends at most one edit every REPLY_EDIT_EVERY_MS, the latest text wins). */
static void all_progress(commands_live_job *job)
{
    char text[512];
    int done = job->ok + job->guarded + job->failed;
    if (!job->rh)
        return;
    snprintf(text, sizeof text, "%s of every server: %d of %d finished (%d completed, %d stopped by the guard, "
             "%d did not complete), %" PRId64 " row(s) %s so far.", job->dry_run ? "Dry run" : "Sweep", done,
             done + job->pending, job->ok, job->guarded, job->failed, job->removed,
             job->dry_run ? "would be removed" : "removed");
    reply_progress(job->rh, text);
}

/* The outcome of a one-guild job: the last text of its reply (edited in
 * when something was posted, else the only message).  Frees the job. */
static void deliver_result(commands_live_job *job, const char *text)
{
    commands_live *cl = job->cl;
    if (job->rh)
        reply_final(job->rh, text);  /* the reply set owns the handle until it is sent */
    else
        reply(cl, job->channel_id, job->message_id, text);
    free_job(cl, job);
}

/* #17: a dry run's reply lists the guild's pending departures too. */
static void append_pending(dc_daemon *d, uint64_t guild_id, char *text, size_t cap)
{
    char pending[512];
    size_t len = strlen(text);
    grace_live_pending_text(d, guild_id, pending, sizeof pending);
    if (pending[0] && len + 2 < cap)
        snprintf(text + len, cap - len, "\n%s", pending);
}

/* sweep_request.done: a commanded sweep finished (or was aborted). */
static void on_sweep_done(void *ctx, uint64_t guild_id, const sweep_action *res)
{
    commands_live_job *job = ctx;
    char text[1280];
    job->pending--;
    if (!job->all) {
        commands_format_result(job->dry_run, res->ok, res->text, text, sizeof text);
        if (job->dry_run)                    /* #17: the members already pending */
            append_pending(job->cl->d, guild_id, text, sizeof text);
        deliver_result(job, text);
        return;
    }
    job->removed += res->removed;
    if (res->guard_tripped || !res->ok) {
        size_t off = strlen(job->details);
        char label[160];
        snprintf(job->details + off, sizeof job->details - off, "%s%s: %s", off ? "\n" : "",
                 reconcile_guild_label(job->cl->d, guild_id, label, sizeof label), res->text ? res->text : "?");
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
    } else {
        all_progress(job);
    }
}

/* What a queued sweep of guild_id waits for, in the commands' terms. */
static commands_wait wait_of(dc_daemon *d, uint64_t guild_id, int64_t *wait_ms)
{
    switch (reconcile_eta(d, guild_id, wait_ms)) {
    case RC_WAIT_OP8:
        return CMD_WAIT_OP8;
    case RC_WAIT_BUSY:
        return CMD_WAIT_BUSY;
    case RC_WAIT_SESSION:
        return CMD_WAIT_SESSION;
    default:
        return CMD_WAIT_NONE;
    }
}

/* Where the job's sweep stands: 1 queued (why and wait_ms set), 0 running. */
static int job_progress(commands_live *cl, const commands_live_job *job, commands_progress *p)
{
    const sweep *running = reconcile_running(cl->d, job->guild_id);
    memset(p, 0, sizeof *p);
    if (running) {
        sweep_progress(running, &p->chunks_seen, &p->chunk_count, &p->members, &p->removed, &p->stale);
        return 0;
    }
    p->queued = 1;
    p->why = wait_of(cl->d, job->guild_id, &p->wait_ms);
    return 1;
}

/* A queued sweep that will not start within NOTICE_AFTER_MS. */
static int waits_long(const commands_progress *p)
{
    return p->queued && p->why != CMD_WAIT_NONE && (p->why != CMD_WAIT_OP8 || p->wait_ms > NOTICE_AFTER_MS);
}

/* Every PROGRESS_EVERY_MS while the job's sweep waits or runs: a wait
 * longer than NOTICE_AFTER_MS is said at once (the notice stands until the
 * sweep starts), a running sweep's figures are edited in (the reply is
 * posted now if nothing was: a sweep that finishes within that time shows
 * only its result). */
static void on_job_tick(dc_timer *t)
{
    commands_live_job *job = lws_container_of(t, commands_live_job, tick);
    commands_live *cl = job->cl;
    commands_progress p;
    char text[512];
    int64_t now = loop_now(cl->d->loop);
    int queued = job_progress(cl, job, &p);
    if (queued && p.why != CMD_WAIT_NONE)
        job->running_since = 0;      /* still waiting for something */
    else if (!job->running_since)
        job->running_since = now;    /* first seen running: its figures from the next look on */
    int ran_long = !queued && now - job->running_since >= PROGRESS_EVERY_MS - PROGRESS_SLACK_MS;
    if (ran_long || (waits_long(&p) && !reply_handle_started(job->rh))) {
        commands_format_sweep_progress(&p, job->dry_run, text, sizeof text);
        reply_progress(job->rh, text);
    }
    loop_timer(cl->d->loop, &job->tick, on_job_tick, PROGRESS_EVERY_MS);
}

/* A sweep that cannot start within NOTICE_AFTER_MS says so at once; then
 * the job looks at its progress every PROGRESS_EVERY_MS. */
static void start_progress(commands_live *cl, commands_live_job *job, uint64_t guild_id)
{
    commands_progress p;
    char text[512];
    job->guild_id = guild_id;
    job->rh = reply_prefix_new(cl->replies, cl->out, job->channel_id, job->message_id);
    if (!job->rh)
        return;                      /* the result will be a reply of its own */
    if (!job_progress(cl, job, &p) || p.why == CMD_WAIT_NONE)
        job->running_since = loop_now(cl->d->loop);   /* starts now */
    if (waits_long(&p)) {
        commands_format_sweep_progress(&p, job->dry_run, text, sizeof text);
        reply_progress(job->rh, text);
    }
    loop_timer(cl->d->loop, &job->tick, on_job_tick, PROGRESS_EVERY_MS);
}

static dc_err queue_sweep(dc_daemon *d, uint64_t guild_id, const commands_decision *dec, commands_live_job *job)
{
    sweep_request r = { .guild_id = guild_id, .force = dec->force, .dry_run = dec->dry_run,
                        .done = on_sweep_done, .ctx = job };
    return reconcile_request(d, &r);
}

static void sweep_one_guild(commands_live *cl, const commands_message *m, const commands_decision *dec)
{
    dc_daemon *d = cl->d;
    const sweep *running = reconcile_running(d, m->guild_id);
    char text[512];
    if (!reconcile_shard_of(d, m->guild_id)) {
        reply(cl, m->channel_id, m->message_id, "This server is not available to the cleaner right now "
              "(the gateway has not delivered it in this session); try again in a minute.");
        return;
    }
    if (running || reconcile_queued(d, m->guild_id)) {
        commands_progress p = { .queued = !running };
        if (p.queued)
            p.why = wait_of(d, m->guild_id, &p.wait_ms);
        else
            sweep_progress(running, &p.chunks_seen, &p.chunk_count, &p.members, &p.removed, &p.stale);
        commands_format_progress(&p, text, sizeof text);
        reply(cl, m->channel_id, m->message_id, text);
        return;
    }
    commands_live_job *job = new_job(cl, m, 0, dec->dry_run);
    if (!job || (job->pending = 1, queue_sweep(d, m->guild_id, dec, job)) != DC_OK) {
        if (job)
            free_job(cl, job);
        reply(cl, m->channel_id, m->message_id, "The sweep could not be queued (out of memory).");
        return;
    }
    char label[160];
    log_fields f = LOG_FIELDS_INIT;
    f.guild = m->guild_id;
    f.user = m->author_id;
    LOG_IF("commands", &f, "%s: %s requested by user %" PRIu64 "%s", reconcile_guild_label(d, m->guild_id, label, sizeof label),
          dec->dry_run ? "dry-run sweep" : "sweep", m->author_id, dec->force ? " (force)" : "");
    start_progress(cl, job, m->guild_id);
}

typedef struct {
    dc_daemon *d;
    const commands_decision *dec;
    commands_live_job *job;
    int skipped;
} all_guilds;

static int queue_one(void *ctx, uint64_t g)
{
    all_guilds *a = ctx;
    if (reconcile_running(a->d, g) || reconcile_queued(a->d, g) || queue_sweep(a->d, g, a->dec, a->job) != DC_OK)
        a->skipped++;
    else
        a->job->pending++;
    return 0;
}

/* Several processes run the bot (#16): this one sweeps its own shards'
 * servers only, and says so. */
static void scope_note(const dc_daemon *d, char *text, size_t cap)
{
    const config *c = d->cfg;
    char range[48];
    size_t len = strlen(text);
    if (c->shard_count && len < cap)
        snprintf(text + len, cap - len, " Only the servers of shards %s (the ones this process runs); "
                 "the processes of the other shards sweep theirs on their own schedule.",
                 shard_coord_range(range, sizeof range, c->shard_first, c->shard_last, c->shard_count));
}

static void sweep_all(commands_live *cl, const commands_message *m, const commands_decision *dec)
{
    commands_live_job *job = new_job(cl, m, 1, dec->dry_run);
    char text[768];
    if (!job) {
        reply(cl, m->channel_id, m->message_id, "The sweeps could not be queued (out of memory).");
        return;
    }
    all_guilds all = { .d = cl->d, .dec = dec, .job = job };
    reconcile_each_guild(cl->d, queue_one, &all);
    int skipped = all.skipped;
    LOG_I("commands", "sweep of all %d guild(s) requested by owner %" PRIu64 "%s%s", job->pending,
          m->author_id, dec->force ? " (force)" : "", dec->dry_run ? " (dry run)" : "");
    if (!job->pending) {
        free_job(cl, job);
        snprintf(text, sizeof text, "Nothing to sweep: %d server(s) already have a sweep running or queued, "
                 "and no other server is available.", skipped);
        scope_note(cl->d, text, sizeof text);
        reply(cl, m->channel_id, m->message_id, text);
        return;
    }
    snprintf(text, sizeof text, "%s of %d server(s) queued%s; this message shows how they go and their result.",
             dec->dry_run ? "Dry runs" : "Sweeps", job->pending,
             skipped ? " (some skipped: a sweep already runs or is queued there)" : "");
    scope_note(cl->d, text, sizeof text);
    job->rh = reply_prefix_new(cl->replies, cl->out, m->channel_id, m->message_id);
    if (job->rh)
        reply_progress(job->rh, text);   /* posted now: nothing was yet */
    else
        reply(cl, m->channel_id, m->message_id, text);
}

/* ---- status ------------------------------------------------------------------- */

static int count_awaiting(void *ctx, const store_guild_state *g)
{
    *(int64_t *)ctx += g->needs_reconcile && !g->unavailable;
    return 0;
}

static void status(commands_live *cl, const commands_message *m)
{
    dc_daemon *d = cl->d;
    commands_shard_status shards[MAX_SHARDS];
    commands_status st = { .shards = shards, .uptime_ms = loop_wall(d->loop) - d->started_wall_ms, .events = d->events,
                      .guild_id = m->guild_id, .guild_rows = -1, .now_wall_ms = loop_wall(d->loop),
                      .dry_run = d->cfg->dry_run };
    store_guild_state g = { .guild_id = m->guild_id };
    char text[2048], label[160];
    for (int i = 0; i < d->n_shards && i < MAX_SHARDS; i++) {
        const shard *s = &d->shards[i];
        if (!s->gw)
            continue;
        shards[st.n_shards++] = (commands_shard_status){ s->id, gateway_state_name(gateway_get_state(s->gw)),
                                                    gateway_latency_ms(s->gw), gateway_resumed(s->gw) };
    }
    removal_log_totals(&d->removals, st.removed);
    store_count_guild(d->st, m->guild_id, &st.guild_rows);
    if (store_guild_get(d->st, m->guild_id, &g) == DC_OK) {
        st.last_sweep_ms = g.last_sweep_ms;
        st.last_sweep_removed = g.last_sweep_removed;
        st.last_sweep_duration_ms = g.last_sweep_duration_ms;
        st.last_sweep_result = g.last_sweep_result;
        st.held = sweep_result_holds(g.last_sweep_result);
    }
    st.next_run_ms = reconcile_next_run(d, &g);
    commands_interval_source src;
    st.interval_ms = schedule_interval_ms(d, m->guild_id, &src);
    st.interval_source = (int)src;
    st.guild_label = reconcile_guild_label(d, m->guild_id, label, sizeof label);
    store_each_guild_state(d->st, count_awaiting, &st.awaiting_reconcile);
    const sweep *running = reconcile_running(d, m->guild_id);
    if (running) {
        int64_t stale = 0;
        st.sweep_running = 1;
        sweep_progress(running, &st.chunks_seen, &st.chunk_count, &st.members, &st.sweep_removed, &stale);
    }
    st.grace_hours = d->cfg->grace_hours;             /* #17 */
    grace_live_status(d, &st.grace_pending, &st.grace_next_due_ms);
    st.notices_sent = d->grace.notices.sent;
    st.notices_skipped = d->grace.notices.skipped;
    st.notices_failed = d->grace.notices_failed;
    commands_format_status(&st, text, sizeof text);
    reply(cl, m->channel_id, m->message_id, text);
}

/* ---- dispatches ------------------------------------------------------------------ */

static void free_live(commands_live *cl)
{
    if (!cl)
        return;
    loop_cancel(cl->d->loop, &cl->wait_timer);
    while (cl->n_wait)
        free(cl->wait[--cl->n_wait]);
    while (cl->jobs)
        free_job(cl, cl->jobs);
    reply_set_free(cl->replies);
    commands_outbox_free(cl->out);
    perms_cache_free(cl->perms);
    commands_state_free(cl->cs);
    free(cl);
}

static commands_config settings(const dc_daemon *d)
{
    return (commands_config){ .prefix = d->cfg->prefix, .admin_permission = d->cfg->admin_permission,
                              .dry_run = d->cfg->dry_run, .min_interval_hours = d->cfg->min_interval_hours };
}

void commands_live_reconfigure(dc_daemon *d)
{
    if (d->cmds) {
        commands_config cc = settings(d);
        commands_state_reconfigure(d->cmds->cs, &cc);
    }
}

static commands_live *live(dc_daemon *d)
{
    if (d->cmds)
        return d->cmds;
    commands_live *cl = calloc(1, sizeof *cl);
    commands_config cc = settings(d);
    if (!cl)
        return NULL;
    cl->d = d;
    if (!(cl->cs = commands_state_new(&cc)) || !(cl->perms = perms_cache_new()) ||
        !(cl->out = commands_outbox_new(d->loop, &d->pending)) || !(cl->replies = reply_set_new(d->loop))) {
        free_live(cl);
        return NULL;
    }
    d->cmds = cl;
    return cl;
}

static void act(commands_live *cl, const commands_message *m, const commands_decision *dec)
{
    char label[160];
    switch (dec->kind) {
    case CMD_IGNORE:
        return;
    case CMD_REFUSE:
        LOG_I("commands", "%s: refused a command of user %" PRIu64 " (%s)",
              reconcile_guild_label(cl->d, m->guild_id, label, sizeof label), m->author_id, strstr(dec->text, "could not check") ? "permissions could not be checked"
                                                                  : "missing permission");
        reply_as(cl, CMDO_REFUSAL, m->channel_id, m->message_id, dec->text);
        return;
    case CMD_HELP:
        reply(cl, m->channel_id, m->message_id, dec->text);
        return;
    case CMD_STATUS:
        status(cl, m);
        return;
    case CMD_SWEEP:
        sweep_one_guild(cl, m, dec);
        return;
    case CMD_ALL_GUILDS:
        sweep_all(cl, m, dec);
        return;
    case CMD_SCHEDULE: {
        char text[1024];
        schedule_live_do(cl->d, m->guild_id, m->author_id, dec, text, sizeof text);
        reply(cl, m->channel_id, m->message_id, text);
        return;
    }
    }
}

/* ---- commands waiting for permissions data ----------------------------------- */

typedef struct waiting {
    commands_message m;
    int need;                        /* commands_needs() */
    int64_t deadline_ms;
    char why[128];                   /* set when what it waits for failed */
    char content[];                  /* m.content points here */
} waiting;

typedef struct {
    dc_pending link;                 /* first: freed at shutdown if still in flight */
    commands_live *cl;
    uint64_t guild_id;
} guild_fetch;

/* What judging m still lacks: 1 the guild's roles, 2 the bot's owners, 0 nothing.
 * Only asked of an author that what is known does not allow. */
static int lacking(const commands_live *cl, const commands_message *m, int need)
{
    if (need == CMD_NEEDS_PERMISSION && !perms_guild_known(cl->perms, m->guild_id))
        return 1;
    return cl->owners_fetch != OWNERS_DONE ? 2 : 0;
}

static int allowed_now(const commands_live *cl, const commands_message *m, int need)
{
    if (is_owner(cl, m->author_id))
        return 1;
    uint64_t perms = perms_compute(cl->perms, m->guild_id, m->author_id, m->roles, m->n_roles);
    return need == CMD_NEEDS_PERMISSION && perms_has(perms, cl->d->cfg->admin_permission);
}

static void judge(commands_live *cl, const commands_message *m, const char *unchecked)
{
    commands_decision dec;
    uint64_t perms = perms_compute(cl->perms, m->guild_id, m->author_id, m->roles, m->n_roles);
    if (unchecked)
        commands_decide_unchecked(cl->cs, m, perms, is_owner(cl, m->author_id), unchecked, loop_now(cl->d->loop), &dec);
    else
        commands_decide(cl->cs, m, perms, is_owner(cl, m->author_id), loop_now(cl->d->loop), &dec);
    act(cl, m, &dec);
}

static void on_guild_fetched(void *ctx, const rest_response *r)
{
    guild_fetch *gf = ctx;
    commands_live *cl = gf->cl;
    cJSON *j = r->status == 200 ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    char why[128] = "";
    pending_del(&gf->link);
    if (r->status != 200)
        snprintf(why, sizeof why, "Discord answered HTTP %ld when asked for this server's roles", r->status);
    else if (perms_on_guild(cl->perms, j) != DC_OK && !perms_guild_known(cl->perms, gf->guild_id))
        snprintf(why, sizeof why, "Discord's description of this server's roles had an unexpected shape");
    else
        LOG_I("commands", "guild %" PRIu64 ": roles and owner fetched over REST", gf->guild_id);
    if (why[0]) {
        LOG_W("commands", "guild %" PRIu64 ": %s", gf->guild_id, why);
        for (size_t i = 0; i < cl->n_wait; i++)
            if (cl->wait[i]->m.guild_id == gf->guild_id && !perms_guild_known(cl->perms, gf->guild_id))
                snprintf(cl->wait[i]->why, sizeof cl->wait[i]->why, "%s", why);
    }
    cJSON_Delete(j);
    free(gf);
    recheck_waiting(cl);
}

static int fetching_guild(const commands_live *cl, uint64_t guild_id, const waiting *except)
{
    for (size_t i = 0; i < cl->n_wait; i++)
        if (cl->wait[i] != except && cl->wait[i]->m.guild_id == guild_id && cl->wait[i]->need == CMD_NEEDS_PERMISSION)
            return 1;
    return 0;
}

/* GET /guilds/{id}: the owner and the roles, as GUILD_CREATE would bring. */
static void fetch_guild(commands_live *cl, waiting *w)
{
    char path[64];
    guild_fetch *gf = malloc(sizeof *gf);
    if (!gf) {
        snprintf(w->why, sizeof w->why, "out of memory");
        return;
    }
    *gf = (guild_fetch){ .cl = cl, .guild_id = w->m.guild_id };
    pending_add(&cl->d->pending, &gf->link);
    snprintf(path, sizeof path, "/guilds/%" PRIu64, w->m.guild_id);
    LOG_I("commands", "guild %" PRIu64 ": roles not known yet (resumed session or no GUILD_CREATE); "
          "asking Discord before judging a command", w->m.guild_id);
    if (loop_rest(cl->d->loop, "GET", path, path + 8, NULL, on_guild_fetched, gf) != DC_OK) {
        pending_del(&gf->link);
        free(gf);
        snprintf(w->why, sizeof w->why, "the request for this server's roles could not be sent");
    }
}

static void on_wait_timer(dc_timer *t)
{
    commands_live *cl = lws_container_of(t, commands_live, wait_timer);
    recheck_waiting(cl);
}

static void arm_wait_timer(commands_live *cl)
{
    int64_t first = INT64_MAX;
    for (size_t i = 0; i < cl->n_wait; i++)
        if (cl->wait[i]->deadline_ms < first)
            first = cl->wait[i]->deadline_ms;
    if (first == INT64_MAX)
        loop_cancel(cl->d->loop, &cl->wait_timer);
    else
        loop_timer(cl->d->loop, &cl->wait_timer, on_wait_timer, first - loop_now(cl->d->loop));
}

static void park(commands_live *cl, const commands_message *m, int need)
{
    size_t len = strlen(m->content);
    waiting *w = cl->n_wait < WAIT_MAX ? malloc(sizeof *w + len + 1) : NULL;
    if (!w) {
        LOG_W("commands", "guild %" PRIu64 ": a command of user %" PRIu64 " dropped: %d commands already "
              "wait for their permissions to be learnt", m->guild_id, m->author_id, WAIT_MAX);
        return;
    }
    w->m = *m;
    memcpy(w->content, m->content, len + 1);
    w->m.content = w->content;
    w->need = need;
    w->why[0] = '\0';
    w->deadline_ms = loop_now(cl->d->loop) + WAIT_MS;
    if (lacking(cl, m, need) == 1 && !fetching_guild(cl, m->guild_id, NULL))
        fetch_guild(cl, w);
    cl->wait[cl->n_wait++] = w;
    fetch_owners(cl);
    recheck_waiting(cl);             /* what it lacks may have failed already */
}

/* Judge every waiting command that has what it needs, or whose wait failed
 * or timed out ("could not check", never a refusal for lack of data). */
static void recheck_waiting(commands_live *cl)
{
    int64_t now = loop_now(cl->d->loop);
    for (size_t i = 0; i < cl->n_wait;) {
        waiting *w = cl->wait[i];
        int lack = allowed_now(cl, &w->m, w->need) ? 0 : lacking(cl, &w->m, w->need);
        char why[128];
        if (lack == 2 && cl->owners_fetch == OWNERS_FAILED && !w->why[0])
            snprintf(w->why, sizeof w->why, "Discord answered HTTP %ld when asked for the bot's owners",
                     cl->owners_status);
        if (lack && !w->why[0] && now < w->deadline_ms) {
            i++;
            continue;
        }
        snprintf(why, sizeof why, "%s", w->why[0] ? w->why : "Discord did not answer in time");
        cl->wait[i] = cl->wait[--cl->n_wait];
        judge(cl, &w->m, lack ? why : NULL);
        free(w);
    }
    arm_wait_timer(cl);
}

static void on_message(commands_live *cl, const cJSON *data)
{
    commands_message m;
    if (commands_parse_message(data, &m) != DC_OK) {
        LOG_D("commands", "MESSAGE_CREATE of an unexpected shape skipped");
        return;
    }
    int need = commands_needs(cl->cs, &m);
    if (need == CMD_NEEDS_NOTHING)
        return;
    if (!allowed_now(cl, &m, need) && lacking(cl, &m, need))
        park(cl, &m, need);
    else
        judge(cl, &m, NULL);
}

void commands_live_on_dispatch(shard *s, dc_event ev, const char *event, const cJSON *data)
{
    dc_daemon *d = s->d;
    if (!d->cfg->commands || !event)
        return;
    commands_live *cl = live(d);
    if (!cl)
        return;
    fetch_owners(cl);                /* at every start, READY or RESUMED */
    if (ev == DC_EV_MESSAGE_CREATE) {
        if (d->cfg->commands & COMMANDS_PREFIX)   /* slash alone: no message is a command */
            on_message(cl, data);
    } else if (perms_on_dispatch(cl->perms, ev, data) == DC_ERR_PROTO)
        LOG_W("commands", "shard %d: %s of an unexpected shape: its malformed parts left out of the role cache", s->id, event);
    else if (ev == DC_EV_GUILD_CREATE)
        LOG_D("commands", "guild %" PRIu64 ": roles known",
              snowflake_json(cJSON_GetObjectItemCaseSensitive(data, "id")));
}

void commands_live_guild_gone(dc_daemon *d, uint64_t guild_id)
{
    if (d->cmds)
        perms_forget(d->cmds->perms, guild_id);
}

void commands_live_free(dc_daemon *d)
{
    free_live(d->cmds);
    d->cmds = NULL;
}

/* ---- for the slash commands (interact_live.c) ---------------------------- */

commands_live *commands_live_get(dc_daemon *d)
{
    return d->cfg->commands ? live(d) : NULL;
}

cmdo *commands_live_outbox(commands_live *cl)
{
    return cl->out;
}

int commands_live_owner(commands_live *cl, uint64_t user_id)
{
    if (is_owner(cl, user_id))
        return 1;
    fetch_owners(cl);
    return cl->owners_fetch == OWNERS_DONE ? 0 : -1;
}

void commands_live_act(commands_live *cl, const commands_message *m, const commands_decision *dec)
{
    act(cl, m, dec);
}
