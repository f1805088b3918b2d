/* reconcile.c - when to sweep which guild, and carrying out a sweep's
 * actions (sweep.c decides; this file does the I/O).
 *
 * One sweep at a time per shard.  The scheduler runs when something may
 * have changed (a command, a guild seen, a session ready, a sweep finished)
 * and at the next due time (an interval, reconcile_delay, the end of an op 8
 * or retry wait); it never polls.  It looks at the guilds this session has
 * seen available and starts the most overdue one:
 *   - asked for (command, `discord-cleaner sweep`), first;
 *   - marked needs_reconcile (new session, doubtful GUILD_DELETE) once
 *     reconcile_delay has passed since start-up;
 *   - last swept more than its interval ago (schedule_live.h: the
 *     operator's guild_interval, else its admins' !cleanup_schedule, else
 *     interval_hours);
 *     a guild whose last sweep the guard refused waits for this one.
 * A guild is not asked for its member list again within 30 s (Discord's
 * op 8 limit), nor within a minute of an aborted attempt. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/reconcile.h"

#include "daemon/daemon_internal.h"
#include "daemon/guild_snapshot.h"
#include "daemon/metrics_live.h"
#include "daemon/schedule_live.h"
#include "base/log.h"
#include "proto/snowflake.h"
#include "store/store_sweep.h"
#include "base/vec.h"

#define RC_HELD_RETRY_MS 1000    /* the bot holds the database: look again then */
#define RC_PRESENT_COALESCE_MS 250   /* guilds seen in a burst: one scheduler run */
#define RC_PUBLISH_SLACK_MS 1000     /* next-sweep time moves less: not rewritten */
#define RC_OP8_SPACING_MS 30000
#define RC_RETRY_MS 60000
/* Rows of a guild one statement looks at: ~10 ms of loop time, so measuring
 * or deleting in a 1,000,000-row guild never holds heartbeats back. */
#define RC_SCAN_WINDOW 20000
#define RC_CLEAR_RETRY_MS 1000
/* A sweep's database step refused as busy (the bot holds a table; the
 * server slow to answer, store_set_answer_wait) is tried again this often,
 * this many times in a row, before the sweep ends as aborted: a member
 * list fetched from Discord is not thrown away for a moment's wait. */
#define RC_BUSY_RETRY_MS 500
#define RC_BUSY_TRIES 60

static void drain(shard *s);
static void wake_within(dc_daemon *d, int64_t delay_ms);

static void on_sweep_timer(dc_timer *t)
{
    shard *s = lws_container_of(t, shard, rc.sweep_timer);
    sweep_tick(s->rc.sw, loop_now(s->d->loop));
    drain(s);
}

static void arm(shard *s)
{
    int64_t due = sweep_next_deadline(s->rc.sw);
    if (due == INT64_MAX) {
        loop_cancel(s->d->loop, &s->rc.sweep_timer);
        return;
    }
    loop_timer(s->d->loop, &s->rc.sweep_timer, on_sweep_timer, due - loop_now(s->d->loop));
}

static sweep_config sweep_settings(const config *c)
{
    sweep_config sc = { .batch_size = c->batch_size, .batch_delay_ms = (int64_t)(c->batch_delay * 1000),
                        .max_delete_share = c->max_delete_share, .confirm_sample = c->confirm_sample,
                        .chunk_timeout_ms = (int64_t)(c->chunk_timeout * 1000),
                        .rest_source = c->member_source == MEMBER_SOURCE_REST, .rest_fallback = 1 };
    snprintf(sc.prefix, sizeof sc.prefix, "%s", c->prefix);
    return sc;
}

int reconcile_init(dc_daemon *d, shard *s)
{
    sweep_config sc = sweep_settings(d->cfg);
    s->rc.sw = sweep_new(&sc, (uint64_t)loop_wall(s->d->loop) ^ (uint64_t)s->id);
    return s->rc.sw ? 0 : -1;
}

void reconcile_reconfigure(dc_daemon *d)
{
    sweep_config sc = sweep_settings(d->cfg);
    for (int i = 0; i < d->n_shards; i++)
        if (d->shards[i].rc.sw)
            sweep_set_config(d->shards[i].rc.sw, &sc);
    reconcile_wake(d);               /* intervals and reconcile_delay may have moved a guild's turn */
}

void reconcile_free(shard *s)
{
    if (s->d) {
        loop_cancel(s->d->loop, &s->rc.sweep_timer);
        loop_cancel(s->d->loop, &s->rc.measure.timer);
        loop_cancel(s->d->loop, &s->rc.batch_timer);
    }
    sweep_free(s->rc.sw);
    s->rc.sw = NULL;
    free(s->rc.present);
    s->rc.present = NULL;
    s->rc.n_present = s->rc.cap_present = 0;
}

/* ---- guilds this session has seen ----------------------------------------- */

static present_guild *find_present(shard *s, uint64_t guild_id)
{
    for (size_t i = 0; i < s->rc.n_present; i++)
        if (s->rc.present[i].id == guild_id)
            return &s->rc.present[i];
    return NULL;
}

void reconcile_guild_present(shard *s, uint64_t guild_id, int64_t member_count)
{
    present_guild *g = find_present(s, guild_id);
    if (!g) {
        if (VEC_GROW(s->rc.present, s->rc.cap_present, s->rc.n_present + 1, 16) != 0)
            return;
        g = &s->rc.present[s->rc.n_present++];
        *g = (present_guild){ .id = guild_id, .saved_count = -1 };
        const char *name;            /* the stored name: a resumed session gets no GUILD_CREATE */
        if (guild_directory_get(&s->d->rc.dir, guild_id, &name, &g->admin_interval_ms)) {
            snprintf(g->name, sizeof g->name, "%s", name);
        } else {
            store_guild_get_name(s->d->st, guild_id, g->name, sizeof g->name);
            g->admin_interval_ms = schedule_stored_ms(s->d, guild_id);
        }
    }
    g->member_count = member_count;
    s->d->rc.last_present_ms = loop_now(s->d->loop);
    /* A burst of GUILD_CREATEs (thousands at start-up) is one look, not one each. */
    wake_within(s->d, RC_PRESENT_COALESCE_MS);
}

/* Queued requests for a guild that is gone will never start: each still
 * hears how it ended (a command's author gets a reply). */
static void drop_requests(dc_daemon *d, uint64_t guild_id)
{
    sweep_action a = { .kind = SW_ACT_DONE, .guild_id = guild_id, .ok = 0,
                    .text = "not started: the server became unavailable or the bot left it before its turn" };
    for (size_t i = 0; i < d->rc.n_requests;) {
        if (d->rc.requests[i].guild_id != guild_id) {
            i++;
            continue;
        }
        sweep_request r = d->rc.requests[i];
        memmove(&d->rc.requests[i], &d->rc.requests[i + 1], (d->rc.n_requests - i - 1) * sizeof r);
        d->rc.n_requests--;
        char label[160];
        LOG_W("sweep", "%s: a queued sweep was %s", reconcile_guild_label(d, guild_id, label, sizeof label), a.text);
        if (r.done)
            r.done(r.ctx, guild_id, &a);
    }
}

void reconcile_guild_absent(shard *s, uint64_t guild_id)
{
    present_guild *g = find_present(s, guild_id);
    if (g)
        *g = s->rc.present[--s->rc.n_present];
    drop_requests(s->d, guild_id);
    if (sweep_guild(s->rc.sw) == guild_id) {
        sweep_abort(s->rc.sw, "the guild became unavailable or was left", loop_now(s->d->loop));
        drain(s);
    }
}

void reconcile_forget_guilds(shard *s)
{
    s->rc.n_present = 0;
}

size_t reconcile_guild_count(const shard *s)
{
    return s->rc.n_present;
}

void reconcile_guild_named(shard *s, uint64_t guild_id, const char *name)
{
    present_guild *g = find_present(s, guild_id);
    if (!g || !name || !*name || strcmp(g->name, name) == 0)
        return;
    snprintf(g->name, sizeof g->name, "%s", name);
    guild_directory_set_name(&s->d->rc.dir, guild_id, g->name);
    if (turn_begin(s->d) == 0 && store_guild_set_name(s->d->st, guild_id, g->name) == DC_ERR_DB)
        LOG_W("sweep", "guild %" PRIu64 ": cannot store its name: %s", guild_id, store_errmsg(s->d->st));
}

const char *reconcile_guild_name(dc_daemon *d, uint64_t guild_id)
{
    shard *s = reconcile_shard_of(d, guild_id);
    present_guild *g = s ? find_present(s, guild_id) : NULL;
    return g && g->name[0] ? g->name : NULL;
}

const char *reconcile_guild_label(dc_daemon *d, uint64_t guild_id, char *buf, size_t cap)
{
    shard *s = reconcile_shard_of(d, guild_id);
    present_guild *g = s ? find_present(s, guild_id) : NULL;
    char stored[104] = "";
    const char *name = g && g->name[0] ? g->name : NULL;
    int64_t admin;
    if (!name && guild_directory_get(&d->rc.dir, guild_id, &name, &admin))
        name = *name ? name : NULL;
    else if (!name && store_guild_get_name(d->st, guild_id, stored, sizeof stored) == DC_OK)
        name = stored;
    if (name)
        snprintf(buf, cap, "%s (%" PRIu64 ")", name, guild_id);
    else
        snprintf(buf, cap, "guild %" PRIu64, guild_id);
    return buf;
}

void reconcile_member_count(shard *s, uint64_t guild_id, int delta)
{
    present_guild *g = find_present(s, guild_id);
    if (g && g->member_count > 0)    /* unknown (a resumed session) stays unknown */
        g->member_count += delta;
}

static void count_key(char *key, size_t cap, uint64_t guild_id)
{
    snprintf(key, cap, "mc.%" PRIu64, guild_id);
}

int reconcile_persist_counts(dc_daemon *d, shard *s, int all)
{
    char key[40], value[24];
    for (size_t i = 0; i < s->rc.n_present; i++) {
        present_guild *g = &s->rc.present[i];
        if (!all && g->member_count == g->saved_count)
            continue;
        count_key(key, sizeof key, g->id);
        snprintf(value, sizeof value, "%" PRId64, g->member_count > 0 ? g->member_count : 0);
        if (store_kv_set(d->st, key, value) != DC_OK) {
            LOG_E("sweep", "cannot persist %s: %s", key, store_errmsg(d->st));
            return -1;
        }
        g->saved_count = g->member_count;
    }
    return 0;
}

void reconcile_guild_resumed(shard *s, uint64_t guild_id)
{
    char key[40], value[24] = "";
    count_key(key, sizeof key, guild_id);
    int64_t count = store_kv_get(s->d->st, key, value, sizeof value) == DC_OK ? strtoll(value, NULL, 10) : 0;
    reconcile_guild_present(s, guild_id, count > 0 ? count : 0);
    present_guild *g = find_present(s, guild_id);
    if (g)
        g->saved_count = g->member_count;
}

shard *reconcile_shard_of(dc_daemon *d, uint64_t guild_id)
{
    for (int i = 0; i < d->n_shards; i++)
        if (find_present(&d->shards[i], guild_id))
            return &d->shards[i];
    return NULL;
}

int reconcile_shard_owns(const shard *s, uint64_t guild_id)
{
    int count = s->d->shard_count;
    return count <= 1 || (int)((guild_id >> 22) % (uint64_t)count) == s->id;
}

int reconcile_owns_guild(const dc_daemon *d, uint64_t guild_id)
{
    for (int i = 0; i < d->n_shards; i++)
        if (reconcile_shard_owns(&d->shards[i], guild_id))
            return 1;
    return 0;
}

/* ---- carrying out sweep actions --------------------------------------------- */

typedef struct {
    dc_pending link;                 /* first: freed at shutdown if still in flight */
    shard *s;
    uint64_t user_id;
} member_lookup;

static void on_confirmed(void *ctx, const rest_response *r)
{
    member_lookup *cc = ctx;
    shard *s = cc->s;
    pending_del(&cc->link);
    sweep_on_confirmed(s->rc.sw, cc->user_id, r->status, r->json_code, loop_now(s->d->loop));
    free(cc);
    drain(s);
}

static void do_confirm(shard *s, const sweep_action *a)
{
    char path[96], major[24];
    member_lookup *cc = malloc(sizeof *cc);
    snprintf(path, sizeof path, "/guilds/%" PRIu64 "/members/%" PRIu64, a->guild_id, a->user_id);
    snprintf(major, sizeof major, "%" PRIu64, a->guild_id);
    if (cc) {
        cc->s = s;
        cc->user_id = a->user_id;
        pending_add(&s->d->pending, &cc->link);
    }
    if (!cc || loop_rest(s->d->loop, "GET", path, major, NULL, on_confirmed, cc) != DC_OK) {
        if (cc)
            pending_del(&cc->link);
        free(cc);
        sweep_on_confirmed(s->rc.sw, a->user_id, 0, 0, loop_now(s->d->loop));   /* "could not confirm" */
    }
}

/* ---- REST member pages (member_source = rest, or op 8's fallback) ---------- */

typedef struct {
    dc_pending link;                 /* first: freed at shutdown if still in flight */
    shard *s;
    uint64_t guild_id;
} page_ctx;

/* User ids of an array of guild members (an op 8 chunk or a REST page);
 * NULL (and *bad = 1) when a member has no user id: a list with a hole must
 * never count as complete. */
static uint64_t *member_ids(const cJSON *members, size_t *n, int *bad)
{
    size_t cap = (size_t)cJSON_GetArraySize(members);
    uint64_t *ids = malloc((cap ? cap : 1) * sizeof *ids);
    const cJSON *m;
    *n = 0;
    *bad = 0;
    if (!ids)
        return NULL;
    cJSON_ArrayForEach(m, members) {
        uint64_t id = snowflake_json(cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(m, "user"), "id"));
        if (!id) {
            *bad = 1;
            free(ids);
            return NULL;
        }
        ids[(*n)++] = id;
    }
    return ids;
}

/* Member ids of a REST page (a JSON array of guild members); NULL when the
 * body is not that shape. */
static uint64_t *page_ids(const rest_response *r, size_t *n)
{
    cJSON *arr = cJSON_ParseWithLength(r->body, r->body_len);
    int bad = 0;
    uint64_t *ids = cJSON_IsArray(arr) ? member_ids(arr, n, &bad) : NULL;
    cJSON_Delete(arr);
    return ids;
}

static void on_page(void *ctx, const rest_response *r)
{
    page_ctx *pc = ctx;
    shard *s = pc->s;
    size_t n = 0;
    uint64_t *ids = r->status == 200 ? page_ids(r, &n) : NULL;
    pending_del(&pc->link);
    sweep_on_page(s->rc.sw, pc->guild_id, r->status == 200 && !ids ? 0 : r->status, ids, n, loop_now(s->d->loop));
    free(pc);
    drain(s);                        /* ADD_MEMBERS points into ids */
    free(ids);
}

static void do_fetch_page(shard *s, const sweep_action *a)
{
    dc_daemon *d = s->d;
    char path[128], major[24];
    if (a->user_id == 0)
        s->rc.sweep_listed = 0;
    if (a->user_id == 0 && (turn_begin(d) != 0 || store_sweep_open(d->st, a->guild_id) != DC_OK)) {
        sweep_abort(s->rc.sw, "cannot prepare the member set in the database", loop_now(d->loop));
        return;
    }
    if (a->user_id == 0)
        s->rc.write_turn = turn_seq(d);
    snprintf(path, sizeof path, "/guilds/%" PRIu64 "/members?limit=%d&after=%" PRIu64, a->guild_id,
             SW_PAGE_SIZE, a->user_id);
    snprintf(major, sizeof major, "%" PRIu64, a->guild_id);
    page_ctx *pc = malloc(sizeof *pc);
    if (pc) {
        *pc = (page_ctx){ .s = s, .guild_id = a->guild_id };
        pending_add(&d->pending, &pc->link);
    }
    if (!pc || loop_rest(d->loop, "GET", path, major, NULL, on_page, pc) != DC_OK) {
        if (pc)
            pending_del(&pc->link);
        free(pc);
        sweep_on_page(s->rc.sw, a->guild_id, 0, NULL, 0, loop_now(d->loop));
    }
}

static void do_request(shard *s, const sweep_action *a)
{
    dc_daemon *d = s->d;
    present_guild *g = find_present(s, a->guild_id);
    if (g)
        g->not_before_ms = loop_now(s->d->loop) + RC_OP8_SPACING_MS;
    s->rc.sweep_cursor = 0;
    s->rc.sweep_listed = 0;
    if (turn_begin(d) != 0 || store_sweep_open(d->st, a->guild_id) != DC_OK) {
        sweep_abort(s->rc.sw, "cannot prepare the member set in the database", loop_now(s->d->loop));
        return;
    }
    s->rc.write_turn = turn_seq(d);
    if (gateway_request_members(s->gw, a->guild_id, a->nonce, loop_now(s->d->loop)) != DC_OK) {
        sweep_abort(s->rc.sw, "the gateway session is not ready", loop_now(s->d->loop));
        return;
    }
    s->kick(s->kick_ctx);
}

/* ---- measuring the stale set, a slice per loop turn ------------------------ */

static void on_scanned(void *ctx, uint64_t user_id, int listed)
{
    shard *s = ctx;
    s->rc.measure.total++;
    if (listed)
        return;
    /* Reservoir sample: every stale id equally likely, whatever the guild's size. */
    int64_t k = ++s->rc.measure.stale;
    if (s->rc.measure.n < s->rc.measure.cap) {
        s->rc.measure.sample[s->rc.measure.n++] = user_id;
        return;
    }
    s->rc.measure.rng = s->rc.measure.rng * 6364136223846793005ULL + 1442695040888963407ULL;
    uint64_t j = (s->rc.measure.rng >> 33) % (uint64_t)k;
    if (j < s->rc.measure.cap)
        s->rc.measure.sample[j] = user_id;
}

/* After a step refused as busy: 1 when it is to be tried again in
 * RC_BUSY_RETRY_MS (said once per run of refusals), 0 when the sweep is
 * to give up (another error, or busy too long). */
static int busy_again(shard *s, uint64_t guild_id, int held)
{
    if ((!held && store_refused(s->d->st) != 1) || s->rc.busy_tries >= RC_BUSY_TRIES)
        return 0;
    if (!s->rc.busy_tries++)
        LOG_W("sweep", "guild %" PRIu64 ": the database is busy (%s); the sweep's step is tried again every "
              "%d ms, for up to %d s", guild_id, held ? "a commit's answer is awaited" : store_errmsg(s->d->st),
              RC_BUSY_RETRY_MS, RC_BUSY_RETRY_MS * RC_BUSY_TRIES / 1000);
    return 1;
}

static void measure_slice(dc_timer *t)
{
    shard *s = lws_container_of(t, shard, rc.measure.timer);
    dc_loop *l = s->d->loop;
    int more = 0;
    if (sweep_get_state(s->rc.sw) != SW_MEASURING || sweep_guild(s->rc.sw) != s->rc.measure.guild)
        return;                      /* aborted meanwhile */
    int64_t seen = s->rc.measure.total;
    dc_err rc = store_sweep_scan(s->d->st, s->rc.measure.guild, RC_SCAN_WINDOW, &s->rc.measure.cursor, &more,
                                 on_scanned, s);
    if (rc != DC_OK && s->rc.measure.total == seen && busy_again(s, s->rc.measure.guild, 0)) {
        loop_timer(l, &s->rc.measure.timer, measure_slice, RC_BUSY_RETRY_MS);
        return;
    }
    if (rc == DC_OK)
        s->rc.busy_tries = 0;
    if (rc != DC_OK) {
        sweep_abort(s->rc.sw, "the database could not compare the member list", loop_now(l));
    } else if (more) {
        loop_timer(l, &s->rc.measure.timer, measure_slice, 0);   /* let the loop breathe */
        return;
    } else {
        char path[96];
        snprintf(path, sizeof path, "/guilds/%" PRIu64 "/members/1", s->rc.measure.guild);
        sweep_set_lookups_free(s->rc.sw, loop_rest_available(l, "GET", path, NULL));
        sweep_on_measured(s->rc.sw, s->rc.measure.stale, s->rc.measure.total, s->rc.measure.sample, s->rc.measure.n, loop_now(l));
    }
    drain(s);
}

static void do_measure(shard *s, const sweep_action *a)
{
    size_t cap = (size_t)s->d->cfg->confirm_sample;
    present_guild *g = find_present(s, a->guild_id);
    sweep_on_list_size(s->rc.sw, s->rc.sweep_listed, g ? g->member_count : 0);
    s->rc.measure.cap = cap < 5 ? 5 : cap > SWEEP_SAMPLE_MAX ? SWEEP_SAMPLE_MAX : cap;
    if (sweep_list_short(s->rc.sw))        /* every stale id, when they are few */
        s->rc.measure.cap = SWEEP_SAMPLE_MAX;
    s->rc.measure.guild = a->guild_id;
    s->rc.measure.cursor = s->rc.measure.stale = s->rc.measure.total = 0;
    s->rc.measure.n = 0;
    s->rc.measure.rng = a->guild_id ^ (uint64_t)s->id;   /* deterministic: replays agree */
    loop_timer(s->d->loop, &s->rc.measure.timer, measure_slice, 0);
}

static void on_batch_retry(dc_timer *t);

/* One delete batch of the running sweep (batch_guild, batch_n); refused
 * as busy, tried again from batch_timer (the store puts the cursor back
 * when a batch fails, so the retry redoes that slice). */
static void delete_batch(shard *s)
{
    dc_daemon *d = s->d;
    int64_t users = -1;
    int more = 1;
    int held = turn_begin(d) != 0;
    dc_err rc = held ? DC_ERR_BUSY
                     : store_sweep_delete_batch(d->st, s->rc.batch_guild, (int)s->rc.batch_n, RC_SCAN_WINDOW,
                                                loop_wall(d->loop), &s->rc.sweep_cursor, &users, &more);
    if (rc != DC_OK && busy_again(s, s->rc.batch_guild, held)) {
        loop_timer(d->loop, &s->rc.batch_timer, on_batch_retry, RC_BUSY_RETRY_MS);
        return;
    }
    if (rc != DC_OK) {
        LOG_E("sweep", "guild %" PRIu64 ": delete batch failed: %s", s->rc.batch_guild,
              held ? "the database stayed busy" : store_errmsg(d->st));
        users = -1;
    } else {
        s->rc.busy_tries = 0;
        s->rc.write_turn = turn_seq(d);
    }
    if (users > 0)
        removal_log_count(&d->removals, AUDIT_SWEEP, users);
    sweep_on_batch_deleted(s->rc.sw, users, more, loop_now(d->loop));
}

static void on_batch_retry(dc_timer *t)
{
    shard *s = lws_container_of(t, shard, rc.batch_timer);
    if (sweep_get_state(s->rc.sw) != SW_DELETING || sweep_guild(s->rc.sw) != s->rc.batch_guild)
        return;                      /* aborted meanwhile */
    delete_batch(s);
    drain(s);
}

static void do_delete_batch(shard *s, const sweep_action *a)
{
    if (grace_live_sweep_batch(s, a->guild_id, s->rc.sweep_dry_run))
        return;                      /* #17: marked pending instead (grace_live.c) */
    s->rc.batch_guild = a->guild_id;
    s->rc.batch_n = (int64_t)a->n;
    delete_batch(s);
}

/* Finished sweeps' member sets, one bounded DELETE per loop turn (see
 * store_sweep_close); a held turn (the bot holds the database) retries later. */
static void clear_slice(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, rc.clear_timer);
    int held = turn_begin(d) != 0, more = 1;
    if (!held && store_sweep_clear_step(d->st, RC_SCAN_WINDOW, &more) != DC_OK)
        LOG_W("sweep", "clearing a finished sweep's member list: %s", store_errmsg(d->st));
    if (more)
        loop_timer(d->loop, &d->rc.clear_timer, clear_slice, held ? RC_CLEAR_RETRY_MS : 0);
}

/* The guild's last sweep and a row of the history (the stats page's last
 * sweeps), in the turn that carries the sweep's last writes. */
static void log_sweep(shard *s, const sweep_action *a, int64_t now)
{
    dc_daemon *d = s->d;
    store_sweep_log_row r = { .guild_id = a->guild_id, .at_ms = loop_wall(d->loop),
                              .duration_ms = now - s->rc.sweep_started_ms, .removed = a->removed,
                              .dry_run = s->rc.sweep_dry_run };
    r.started_ms = r.at_ms - r.duration_ms;
    snprintf(r.result, sizeof r.result, "%s", a->text ? a->text : "");
    store_guild_set_last_sweep(d->st, a->guild_id, r.at_ms, a->removed, r.duration_ms, a->text);
    if (store_sweep_log_add(d->st, &r) == DC_ERR_DB)
        LOG_W("sweep", "guild %" PRIu64 ": cannot record the sweep in the history: %s", a->guild_id,
              store_errmsg(d->st));
}

static void do_done(shard *s, const sweep_action *a)
{
    dc_daemon *d = s->d;
    int64_t now = loop_now(s->d->loop);
    metrics_live_sweep_done(a->ok, a->guard_tripped, s->rc.sweep_dry_run, now - s->rc.sweep_started_ms);
    if (turn_begin(d) == 0) {
        if (store_sweep_close(d->st, a->guild_id) == DC_OK)
            loop_timer(d->loop, &d->rc.clear_timer, clear_slice, 0);
        log_sweep(s, a, now);
        if (a->ok && !a->guard_tripped && !s->rc.sweep_dry_run)
            store_guild_set_needs_reconcile(d->st, a->guild_id, 0);
    }
    present_guild *g = find_present(s, a->guild_id);
    if (g && !a->ok)
        g->not_before_ms = now + RC_RETRY_MS;
    sweep_request who = s->rc.current;
    memset(&s->rc.current, 0, sizeof s->rc.current);
    if (who.done)
        who.done(who.ctx, a->guild_id, a);
    reconcile_wake(d);                      /* the shard is free: the next one may start */
}

static void run_action(shard *s, const sweep_action *a)
{
    dc_daemon *d = s->d;
    switch (a->kind) {
    case SW_ACT_REQUEST_MEMBERS:
        do_request(s, a);
        break;
    case SW_ACT_ADD_MEMBERS:
        if (turn_begin(d) != 0 ||
            store_sweep_add(d->st, a->guild_id, a->ids ? a->ids : &a->user_id, a->n, &s->rc.sweep_listed) != DC_OK)
            sweep_abort(s->rc.sw, "cannot record the member list in the database", loop_now(s->d->loop));
        else
            s->rc.write_turn = turn_seq(d);
        break;
    case SW_ACT_MEASURE:
        do_measure(s, a);
        break;
    case SW_ACT_CONFIRM:
        do_confirm(s, a);
        break;
    case SW_ACT_DELETE_BATCH:
        do_delete_batch(s, a);
        break;
    case SW_ACT_DONE:
        do_done(s, a);
        break;
    case SW_ACT_FETCH_PAGE:
        do_fetch_page(s, a);
        break;
    }
}

static void drain(shard *s)
{
    sweep_action a;
    while (sweep_next_action(s->rc.sw, &a))
        run_action(s, &a);
    arm(s);
}

/* ---- dispatches ------------------------------------------------------------- */

void reconcile_on_chunk(shard *s, const cJSON *d)
{
    uint64_t guild = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "guild_id"));
    const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(d, "nonce");
    const cJSON *idx = cJSON_GetObjectItemCaseSensitive(d, "chunk_index");
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(d, "chunk_count");
    const cJSON *members = cJSON_GetObjectItemCaseSensitive(d, "members");
    if (!guild || guild != sweep_guild(s->rc.sw) || !cJSON_IsString(nonce))
        return;                      /* not a chunk of our request */
    size_t n = 0;
    int bad = 0;
    uint64_t *ids = cJSON_IsArray(members) ? member_ids(members, &n, &bad) : NULL;
    if (!cJSON_IsNumber(idx) || !cJSON_IsNumber(count) || !ids) {
        sweep_abort(s->rc.sw, bad ? "a member chunk lists a member without a user id"
                            : "a member chunk of the wrong shape", loop_now(s->d->loop));
    } else {
        sweep_on_chunk(s->rc.sw, guild, nonce->valuestring, idx->valueint, count->valueint, ids, n, loop_now(s->d->loop));
    }
    drain(s);                        /* ADD_MEMBERS points into ids */
    free(ids);
}

void reconcile_on_rate_limited(shard *s, const cJSON *d)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(d, "opcode");
    const cJSON *ra = cJSON_GetObjectItemCaseSensitive(d, "retry_after");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(d, "meta");
    uint64_t guild = snowflake_json(cJSON_GetObjectItemCaseSensitive(meta, "guild_id"));
    if (!cJSON_IsNumber(op) || op->valueint != 8 || !guild)
        return;
    double retry = cJSON_IsNumber(ra) && ra->valuedouble > 0 ? ra->valuedouble : 30.0;
    present_guild *g = find_present(s, guild);
    if (g)
        g->not_before_ms = loop_now(s->d->loop) + (int64_t)(retry * 1000) + 500;
    sweep_on_rate_limited(s->rc.sw, guild, retry, loop_now(s->d->loop));
    drain(s);
}

void reconcile_on_member_add(shard *s, uint64_t guild_id, uint64_t user_id)
{
    sweep_on_member_add(s->rc.sw, guild_id, user_id);
    drain(s);
}

void reconcile_on_disconnect(shard *s)
{
    sweep_on_disconnect(s->rc.sw, loop_now(s->d->loop));
    drain(s);
}

/* ---- scheduling --------------------------------------------------------------- */

dc_err reconcile_request(dc_daemon *d, const sweep_request *r)
{
    if (!reconcile_shard_of(d, r->guild_id))
        return DC_ERR_NOTFOUND;
    if (VEC_GROW(d->rc.requests, d->rc.cap_requests, d->rc.n_requests + 1, 8) != 0)
        return DC_ERR_NOMEM;
    d->rc.requests[d->rc.n_requests++] = *r;
    reconcile_wake(d);
    return DC_OK;
}

reconcile_wait reconcile_eta(dc_daemon *d, uint64_t guild_id, int64_t *wait_ms)
{
    shard *s = reconcile_shard_of(d, guild_id);
    present_guild *g = s ? find_present(s, guild_id) : NULL;
    int64_t now = loop_now(d->loop);
    *wait_ms = 0;
    if (!g)
        return RC_WAIT_NONE;
    if (gateway_get_state(s->gw) != GW_READY)
        return RC_WAIT_SESSION;
    if (sweep_get_state(s->rc.sw) != SW_IDLE && sweep_guild(s->rc.sw) != guild_id)
        return RC_WAIT_BUSY;
    for (size_t i = 0; i < d->rc.n_requests && d->rc.requests[i].guild_id != guild_id; i++)
        if (reconcile_shard_of(d, d->rc.requests[i].guild_id) == s)
            return RC_WAIT_BUSY;     /* another guild of this shard goes first */
    *wait_ms = g->not_before_ms > now ? g->not_before_ms - now : 0;
    return *wait_ms ? RC_WAIT_OP8 : RC_WAIT_NONE;
}

static void begin(shard *s, const sweep_request *r)
{
    char label[160];
    log_fields f = LOG_FIELDS_INIT;
    f.guild = r->guild_id;
    f.shard = s->id;
    LOG_IF("sweep", &f, "%s: %s sweep starting%s%s", reconcile_guild_label(s->d, r->guild_id, label, sizeof label),
          r->done ? "requested" : "scheduled", r->dry_run ? " (dry run)" : "", r->force ? " (force)" : "");
    s->rc.current = *r;
    s->rc.sweep_force = r->force;
    s->rc.sweep_dry_run = r->dry_run;
    s->rc.sweep_started_ms = loop_now(s->d->loop);
    s->rc.busy_tries = 0;
    s->rc.write_turn = 0;
    loop_cancel(s->d->loop, &s->rc.batch_timer);     /* a retry of an earlier sweep's batch */
    if (sweep_start(s->rc.sw, r->guild_id, r->force, r->dry_run, s->rc.sweep_started_ms) != DC_OK)
        return;
    drain(s);
}

/* An on-demand request for this shard, removed from the queue. */
static int take_request(dc_daemon *d, shard *s, sweep_request *out)
{
    for (size_t i = 0; i < d->rc.n_requests; i++) {
        present_guild *g = find_present(s, d->rc.requests[i].guild_id);
        if (!g || g->not_before_ms > loop_now(s->d->loop))
            continue;
        *out = d->rc.requests[i];
        memmove(&d->rc.requests[i], &d->rc.requests[i + 1], (d->rc.n_requests - i - 1) * sizeof *out);
        d->rc.n_requests--;
        return 1;
    }
    return 0;
}

int reconcile_queued(const dc_daemon *d, uint64_t guild_id)
{
    for (size_t i = 0; i < d->rc.n_requests; i++)
        if (d->rc.requests[i].guild_id == guild_id)
            return 1;
    return 0;
}

const sweep *reconcile_running(dc_daemon *d, uint64_t guild_id)
{
    shard *s = reconcile_shard_of(d, guild_id);
    return s && sweep_get_state(s->rc.sw) != SW_IDLE && sweep_guild(s->rc.sw) == guild_id ? s->rc.sw : NULL;
}

void reconcile_each_guild(dc_daemon *d, int (*fn)(void *ctx, uint64_t guild_id), void *ctx)
{
    for (int i = 0; i < d->n_shards; i++)
        for (size_t k = 0; k < d->shards[i].rc.n_present; k++)
            if (fn(ctx, d->shards[i].rc.present[k].id))
                return;
}

int reconcile_sessions_ready(const dc_daemon *d)
{
    for (int i = 0; i < d->n_shards; i++)
        if (!d->shards[i].gw || gateway_get_state(d->shards[i].gw) != GW_READY)
            return 0;
    return d->n_shards > 0;
}

int64_t reconcile_last_present_ms(const dc_daemon *d)
{
    return d->rc.last_present_ms;
}

static int64_t next_run(const dc_daemon *d, const guild_sched_state *g)
{
    int64_t settled = d->started_wall_ms + (int64_t)(d->cfg->reconcile_delay * 1000);
    if (!g->last_sweep_ms)
        return settled;
    int64_t due = g->last_sweep_ms + schedule_interval_ms(d, g->guild_id, NULL);
    /* Refused by the guard (or an incomplete list): not again before its
     * interval, or it would re-read the whole list every 30 s. */
    return g->needs_reconcile && settled < due && !g->result_holds ? settled : due;
}

int64_t reconcile_next_run(const dc_daemon *d, const store_guild_state *g)
{
    guild_sched_state s = { .guild_id = g->guild_id, .last_sweep_ms = g->last_sweep_ms,
                            .needs_reconcile = g->needs_reconcile != 0,
                            .result_holds = sweep_result_holds(g->last_sweep_result) != 0 };
    return next_run(d, &s);
}

/* When guild g becomes wanted (loop_now time), or INT64_MAX: the end of
 * its op 8 / retry wait, else next_run. */
static int64_t wanted_at(dc_daemon *d, const present_guild *g, const guild_sched_state *st)
{
    int64_t now = loop_now(d->loop), now_wall = loop_wall(d->loop);
    int64_t at_wall = next_run(d, st);
    int64_t at = now + (at_wall > now_wall ? at_wall - now_wall : 0);
    return g->not_before_ms > at ? g->not_before_ms : at;
}

/* The most overdue guild of this shard, or 0; *next: when the earliest
 * guild not wanted yet will be; *first: when the earliest is or was wanted
 * (both loop_now times, INT64_MAX: none).  The guilds' states come from
 * the scheduler run's one read (guild_snapshot.h). */
static uint64_t most_overdue(dc_daemon *d, shard *s, int64_t *next, int64_t *first)
{
    int64_t now = loop_now(d->loop), best_last = INT64_MAX;
    uint64_t best = 0;
    for (size_t i = 0; i < s->rc.n_present; i++) {
        present_guild *g = &s->rc.present[i];
        const guild_sched_state *st = guild_snapshot_find(&d->rc.states, g->id);
        if (!st || st->unavailable)
            continue;
        int64_t at = wanted_at(d, g, st);
        if (at < *first)
            *first = at;
        if (at > now) {
            if (at < *next)
                *next = at;
        } else if (st->last_sweep_ms < best_last) {
            best_last = st->last_sweep_ms;
            best = g->id;
        }
    }
    return best;
}

/* When a request of this shard waits only for its op 8 spacing. */
static void requests_due(dc_daemon *d, shard *s, int64_t *next)
{
    for (size_t i = 0; i < d->rc.n_requests; i++) {
        present_guild *g = find_present(s, d->rc.requests[i].guild_id);
        if (g && g->not_before_ms < *next)
            *next = g->not_before_ms;
    }
}

/* Start what this shard should do now; *next: when to look again; *first:
 * when its next automatic sweep is due (for status). */
static void schedule_shard(dc_daemon *d, shard *s, int64_t *next, int64_t *first)
{
    sweep_request r;
    int idle = sweep_get_state(s->rc.sw) == SW_IDLE && gateway_get_state(s->gw) == GW_READY;
    /* not idle: the finished sweep or READY/RESUMED wakes us */
    if (idle && turn_held(d)) {      /* a sweep could not write its member list */
        int64_t retry = loop_now(d->loop) + RC_HELD_RETRY_MS;
        *next = retry < *next ? retry : *next;
        idle = 0;
    }
    if (idle && take_request(d, s, &r)) {
        begin(s, &r);
        idle = 0;
    }
    if (idle)
        requests_due(d, s, next);
    memset(&r, 0, sizeof r);
    r.guild_id = most_overdue(d, s, next, first);
    r.dry_run = d->cfg->dry_run;
    if (idle && !d->oneshot && r.guild_id)
        begin(s, &r);
}

/* `discord-cleaner status` shows when the next automatic sweep is due
 * (kv sweep.next_run_ms, wall time); written when it moves. */
static void publish_next(dc_daemon *d, int64_t first)
{
    int64_t now = loop_now(d->loop), wall = 0;
    char buf[24];
    if (first != INT64_MAX)
        wall = loop_wall(d->loop) + (first > now ? first - now : 0);
    if ((wall == 0) == (d->rc.next_published == 0) && llabs(wall - d->rc.next_published) < RC_PUBLISH_SLACK_MS)
        return;
    if (turn_begin(d) != 0)
        return;                      /* held: the next wake writes it */
    snprintf(buf, sizeof buf, "%" PRId64, wall);
    if ((wall ? store_kv_set(d->st, "sweep.next_run_ms", buf) : store_kv_del(d->st, "sweep.next_run_ms")) == DC_OK)
        d->rc.next_published = wall;
}

/* Every guild's state for this scheduler run, in one read; -1 when it
 * failed (then no guild is picked this time). */
static int read_states(dc_daemon *d)
{
    size_t present = 0;
    for (int i = 0; i < d->n_shards; i++)
        present += d->shards[i].rc.n_present;
    if (!present) {
        d->rc.states.n = 0;
        return 0;
    }
    dc_err e = guild_snapshot_read(&d->rc.states, d->st);
    if (e == DC_OK)
        return 0;
    LOG_W("sweep", "cannot read the guilds' sweep state (%s): looking again in %d ms",
          e == DC_ERR_NOMEM ? "out of memory" : store_errmsg(d->st), RC_HELD_RETRY_MS);
    return -1;
}

static void on_reconcile_wake(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, rc.timer);
    int64_t now = loop_now(d->loop), next = INT64_MAX;
    if (d->stopping)
        return;
    if (d->rc.tick) {               /* daemon_main's hook (the `sweep` CLI's settle waits) */
        d->rc.tick(d, d->rc.tick_ctx);
        next = now + RC_TICK_MS;
    }
    int64_t first = INT64_MAX;
    d->rc.waking = 1;
    d->rc.rewake = 0;
    d->rc.wake_at = INT64_MAX;
    if (read_states(d) != 0) {
        int64_t retry = now + RC_HELD_RETRY_MS;    /* no guild looks due: look again then */
        next = retry < next ? retry : next;
    }
    for (int i = 0; i < d->n_shards && !d->stopping; i++)
        schedule_shard(d, &d->shards[i], &next, &first);
    d->rc.waking = 0;
    publish_next(d, first);
    if (d->rc.rewake)                /* a sweep ended while we looked: look again */
        next = now;
    if (next == INT64_MAX || d->stopping) {
        loop_cancel(d->loop, &d->rc.timer);
    } else {
        d->rc.wake_at = next > now ? next : now;
        loop_timer(d->loop, &d->rc.timer, on_reconcile_wake, d->rc.wake_at - now);
    }
}

/* Run the scheduler within delay_ms (sooner if it already will). */
static void wake_within(dc_daemon *d, int64_t delay_ms)
{
    int64_t at = loop_now(d->loop) + delay_ms;
    if (d->rc.waking) {
        d->rc.rewake = 1;
    } else if (!d->stopping && (d->rc.wake_at == 0 || at < d->rc.wake_at)) {   /* 0: never armed */
        d->rc.wake_at = at;
        loop_timer(d->loop, &d->rc.timer, on_reconcile_wake, delay_ms);
    }
}

void reconcile_wake(dc_daemon *d)
{
    wake_within(d, 0);
}

void reconcile_set_tick(dc_daemon *d, daemon_tick_fn *fn, void *ctx)
{
    d->rc.tick = fn;
    d->rc.tick_ctx = ctx;
}

void reconcile_sched_free(dc_daemon *d)
{
    if (d->loop) {
        loop_cancel(d->loop, &d->rc.timer);
        loop_cancel(d->loop, &d->rc.clear_timer);
    }
    free(d->rc.requests);
    d->rc.requests = NULL;
    d->rc.n_requests = d->rc.cap_requests = 0;
    guild_snapshot_free(&d->rc.states);
    guild_directory_free(&d->rc.dir);
}

void reconcile_start(dc_daemon *d)
{
    d->rc.wake_at = INT64_MAX;
    reconcile_wake(d);
}

void reconcile_turn_lost(shard *s, const char *why)
{
    if (s->rc.write_turn && !turn_seq_committed(s->d, s->rc.write_turn))
        reconcile_abort(s, why);
}

void reconcile_abort(shard *s, const char *why)
{
    if (s->rc.sw && sweep_get_state(s->rc.sw) != SW_IDLE) {
        sweep_abort(s->rc.sw, why, loop_now(s->d->loop));
        drain(s);
    }
}
