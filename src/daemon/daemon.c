/* daemon.c - `discord-cleaner run`: wires config, store, REST and one
 * gateway session per shard onto the libwebsockets loop.
 *
 * The loop (redis-style, one thread, visible):
 *
 *   lws_service() ─► socket / timer callbacks
 *        transport_lws ─► gw_* ─► on_dispatch ─► cleaner policy ─► store (open transaction)
 *        rest (curl multi on an lws timer) ─► confirmations, /gateway/bot
 *   flush timer (0 ms, i.e. "before sleeping") ─► persist seq + session ─► COMMIT (turn_flush.c)
 *   outcome timer (0 ms) ─► committed, or held and retried (turn.c)
 *
 * Deletes caused by the events of one loop turn and the sequence number that
 * covers those events are committed together: a crash between them replays
 * the events (Discord resends on RESUME), never skips them. */
#include "daemon/daemon.h"
#include "daemon/http_live.h"
#include "http/http_server.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libwebsockets.h>

#include "daemon/checkpoint.h"
#include "daemon/commands_live.h"
#include "daemon/metrics_live.h"
#include "daemon/interact_live.h"
#include "daemon/commit_trace.h"
#include "daemon/daemon_internal.h"
#include "daemon/daemon_reload.h"
#include "daemon/daemon_record.h"
#include "daemon/dblock.h"
#include "daemon/shard_coord.h"
#include "daemon/sweep_handoff.h"
#include "base/log.h"
#include "base/uri.h"
#include "proto/proto.h"
#include "daemon/removal_log.h"
#include "rest/rest.h"
#include "store/store.h"
#include "gateway/transport_lws.h"
#include "daemon/turn_cap.h"
#include "daemon/guild_delete.h"
#include "gateway/wsctx.h"

static volatile sig_atomic_t got_term, got_hup, got_usr1;
static struct lws_context *signal_ctx;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGUSR1)
        got_usr1 = 1;                 /* a `sweep` CLI queued requests (sweep_handoff.c) */
    else
        got_term = 1;
    if (signal_ctx)
        lws_cancel_service(signal_ctx);   /* the one lws call safe here */
}


/* ---- persistence of the session --------------------------------------- */

static void kv_key(char *buf, size_t cap, int shard_id, const char *what)
{
    snprintf(buf, cap, "gw.%d.%s", shard_id, what);
}

static int kv_put(dc_daemon *d, int shard_id, const char *what, const char *value)
{
    char key[64];
    kv_key(key, sizeof key, shard_id, what);
    dc_err e = value && *value ? store_kv_set(d->st, key, value) : store_kv_del(d->st, key);
    if (e != DC_OK && e != DC_ERR_NOTFOUND) {
        LOG_E("daemon", "cannot persist %s: %s", key, store_errmsg(d->st));
        return -1;
    }
    return 0;
}

/* -1 when a write failed (the turn must not commit a seq without it). */
static int persist_shard(dc_daemon *d, shard *s)
{
    if (d->oneshot)
        return 0;                     /* a one-shot sweep's session is its own: the daemon's stays */
    const char *sid = gateway_session_id(s->gw), *url = gateway_resume_url(s->gw);
    int64_t seq = gateway_seq(s->gw);
    /* saved_seq -2: the last attempt was rolled back (turn.c), counts too. */
    if (reconcile_persist_counts(d, s, s->saved_seq == -2) != 0)
        return -1;
    if (strcmp(sid ? sid : "", s->saved_session) != 0) {
        if (kv_put(d, s->id, "session_id", sid) != 0)
            return -1;
        snprintf(s->saved_session, sizeof s->saved_session, "%s", sid ? sid : "");
    }
    if (strcmp(url ? url : "", s->saved_resume) != 0) {
        if (kv_put(d, s->id, "resume_url", url) != 0)
            return -1;
        snprintf(s->saved_resume, sizeof s->saved_resume, "%s", url ? url : "");
    }
    /* During a RESUME replay the member deletes wait (events.c) until its
     * end: the seq that covers them waits with them. */
    if (seq != s->saved_seq && !s->replaying) {
        char buf[32];
        snprintf(buf, sizeof buf, "%" PRId64, seq);
        if (kv_put(d, s->id, "seq", seq >= 0 ? buf : NULL) != 0)
            return -1;
        s->saved_seq = seq;
    }
    return 0;
}

/* The turn's carry (turn.h): every COMMIT persists each shard's session
 * with it.  -1 when a write failed. */
static int save_sessions(dc_daemon *d)
{
    for (int i = 0; i < d->n_shards; i++)
        if (persist_shard(d, &d->shards[i]) != 0)
            return -1;
    return 0;
}

/* The turn was rolled back, and the session state written in it too. */
static void sessions_lost(dc_daemon *d)
{
    for (int i = 0; i < d->n_shards; i++) {
        shard *s = &d->shards[i];
        s->saved_seq = -2;
        snprintf(s->saved_session, sizeof s->saved_session, "\x01");   /* never equal: rewrite */
        snprintf(s->saved_resume, sizeof s->saved_resume, "\x01");
    }
}

static void on_fatal(void *ctx, transport_conn *c, int exit_status, const char *message)
{
    shard *s = ctx;
    (void)c;
    LOG_E("daemon", "shard %d: %s", s->id, message);
    daemon_request_stop(s->d, exit_status);
}

/* ---- start-up: /gateway/bot, then one session per shard ------------------- */

static void restore_shard(dc_daemon *d, shard *s)
{
    char key[64], sid[128], seq[32], url[512];
    s->saved_seq = -1;
    kv_key(key, sizeof key, s->id, "session_id");
    if (store_kv_get(d->st, key, sid, sizeof sid) != DC_OK)
        return;
    kv_key(key, sizeof key, s->id, "seq");
    if (store_kv_get(d->st, key, seq, sizeof seq) != DC_OK)
        return;
    kv_key(key, sizeof key, s->id, "resume_url");
    if (store_kv_get(d->st, key, url, sizeof url) != DC_OK)
        url[0] = '\0';
    s->saved_seq = strtoll(seq, NULL, 10);
    snprintf(s->saved_session, sizeof s->saved_session, "%s", sid);
    snprintf(s->saved_resume, sizeof s->saved_resume, "%s", url);
    gateway_restore(s->gw, sid, s->saved_seq, url[0] ? url : NULL);
    LOG_I("daemon", "shard %d: resuming persisted session (seq %s)", s->id, seq);
}

/* The message intents only for prefix commands: a slash command arrives as
 * INTERACTION_CREATE, which needs no intent. */
uint32_t daemon_intents(const config *cfg)
{
    uint32_t i = DC_INTENT_GUILDS | DC_INTENT_GUILD_MEMBERS;
    if (cfg->commands & COMMANDS_PREFIX)
        i |= DC_INTENT_GUILD_MESSAGES | DC_INTENT_MESSAGE_CONTENT;
    return i;
}

int daemon_shard_init(dc_daemon *d, shard *s, int id, uint64_t seed)
{
    s->d = d;
    s->id = id;
    gateway_config gc = { .token = d->cfg->token, .intents = daemon_intents(d->cfg),
                     .shard_id = id, .shard_count = d->shard_count,
                     .gateway_url = d->gateway_url, .compress = d->cfg->compress == COMPRESS_ZLIB_STREAM,
                     .seed = seed, .budget = &d->budget,
                     /* a process with leases may share the bot with others */
                     .identify_lock = d->coord.leased };
    s->gw = gateway_new(&gc);
    return s->gw && reconcile_init(d, s) == 0 ? 0 : -1;
}

static void kick_live(void *ctx)
{
    shard *s = ctx;
    transport_conn_kick(s->conn);
}

/* The transport's question before an IDENTIFY (shard_coord.c). */
static int on_identify_lock(void *ctx, transport_conn *c, int bucket)
{
    shard *s = ctx;
    (void)c;
    return shard_coord_identify_lock(s->d, bucket);
}

static int start_shards(dc_daemon *d)
{
    char key[32], buf[32];
    snprintf(key, sizeof key, "gw.shard_count");
    /* A one-shot sweep never resumes the daemon's saved session (the two
     * would take it from each other) and leaves it as it found it. */
    int restorable = !d->oneshot && store_kv_get(d->st, key, buf, sizeof buf) == DC_OK &&
                     atoi(buf) == d->shard_count;
    snprintf(buf, sizeof buf, "%d", d->shard_count);
    if (!d->oneshot)
        store_kv_set(d->st, key, buf);
    for (int i = 0; i < d->n_shards; i++) {
        shard *s = &d->shards[i];
        int id = d->cfg->shard_count ? d->cfg->shard_first + i : i;
        if (daemon_shard_init(d, s, id, (uint64_t)loop_wall(d->loop) ^ ((uint64_t)id << 32)) != 0)
            return -1;
        transport_handlers h = { .on_dispatch = events_on_dispatch, .on_fatal = on_fatal,
                          .on_disconnect = events_on_disconnect, .on_identify_lock = on_identify_lock };
        daemon_record_attach(d, s, &h);
        s->conn = transport_conn_new(d->lws, s->gw, d->cfg->max_message_bytes, &h, s);
        if (!s->conn)
            return -1;
        if (restorable)
            restore_shard(d, s);
        else
            s->saved_seq = -1;
        s->kick = kick_live;
        s->kick_ctx = s;
        gateway_start(s->gw, loop_now(d->loop));
        s->kick(s->kick_ctx);
    }
    return 0;
}

static void fetch_gateway(dc_daemon *d);

void daemon_start_work(dc_daemon *d)
{
    reconcile_start(d);
    guild_delete_resume(d);                    /* guild deletes a previous run left half-done */
    grace_live_start(d);                       /* pending departures: expire the due ones */
}

static void on_start_retry(dc_timer *t)
{
    fetch_gateway(lws_container_of(t, dc_daemon, start_timer));
}

static int parse_gateway_bot(dc_daemon *d, const rest_response *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->body_len);
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(j, "url");
    const cJSON *shards = cJSON_GetObjectItemCaseSensitive(j, "shards");
    const cJSON *lim = cJSON_GetObjectItemCaseSensitive(j, "session_start_limit");
    if (!cJSON_IsString(url) || strlen(url->valuestring) >= sizeof d->gateway_url) {
        cJSON_Delete(j);
        return -1;
    }
    snprintf(d->gateway_url, sizeof d->gateway_url, "%s", url->valuestring);
    int rec = cJSON_IsNumber(shards) && shards->valueint > 0 ? shards->valueint : 1;
    const cJSON *rem = cJSON_GetObjectItemCaseSensitive(lim, "remaining");
    const cJSON *reset = cJSON_GetObjectItemCaseSensitive(lim, "reset_after");
    const cJSON *mc = cJSON_GetObjectItemCaseSensitive(lim, "max_concurrency");
    d->budget.remaining = cJSON_IsNumber(rem) ? rem->valueint : -1;
    d->budget.reset_at_ms = loop_now(d->loop) + (cJSON_IsNumber(reset) ? (int64_t)reset->valuedouble : 0);
    d->budget.max_concurrency = cJSON_IsNumber(mc) && mc->valueint > 0 ? mc->valueint : 1;
    cJSON_Delete(j);
    if (d->cfg->shard_count) {
        d->shard_count = d->cfg->shard_count;
        d->n_shards = d->cfg->shard_last - d->cfg->shard_first + 1;
    } else {
        d->shard_count = d->n_shards = rec;
    }
    if (d->n_shards > MAX_SHARDS) {
        LOG_E("daemon", "%d shards requested; one process runs at most %d", d->n_shards, MAX_SHARDS);
        return -2;
    }
    LOG_I("daemon", "gateway %s, %d shard(s) (%d recommended), %d session start(s) left",
          d->gateway_url, d->n_shards, rec, d->budget.remaining);
    return 0;
}

static void on_gateway_bot(void *ctx, const rest_response *r)
{
    dc_daemon *d = ctx;
    if (d->stopping)
        return;
    if (r->status == 401) {
        LOG_E("daemon", "Discord rejected the bot token (GET /gateway/bot answered 401); "
              "check DISCORD_TOKEN / token_file");
        daemon_request_stop(d, 77);
        return;
    }
    if (r->status == 200) {
        int p = parse_gateway_bot(d, r);
        int claim = p == 0 && !d->coord.leased ? shard_coord_claim(d, 0, d->n_shards - 1, d->shard_count) : 0;
        if (claim) {
            d->n_shards = 0;              /* none started */
            daemon_request_stop(d, claim);
            return;
        }
        if (p == 0) {
            if (start_shards(d) != 0) {
                LOG_E("daemon", "cannot create the gateway sessions (out of memory)");
                daemon_request_stop(d, 70);
                return;
            }
            daemon_start_work(d);
            return;
        }
        if (p == -2) {
            daemon_request_stop(d, 78);
            return;
        }
    }
    int64_t wait = 1000LL << (d->start_attempts < 6 ? d->start_attempts : 6);
    if (wait > START_RETRY_MAX_MS)
        wait = START_RETRY_MAX_MS;
    d->start_attempts++;
    LOG_W("daemon", "GET /gateway/bot failed (HTTP %ld%s%s); retrying in %lld ms", r->status,
          r->error ? ": " : "", r->error ? r->error : "", (long long)wait);
    loop_timer(d->loop, &d->start_timer, on_start_retry, wait);
}

static void fetch_gateway(dc_daemon *d)
{
    if (loop_rest(d->loop, "GET", "/gateway/bot", NULL, NULL, on_gateway_bot, d) != DC_OK) {
        LOG_E("daemon", "cannot send GET /gateway/bot");
        daemon_request_stop(d, 70);
    }
}

/* ---- housekeeping: audit retention --------------------------------------- */

static void on_housekeeping(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, housekeeping_timer);
    int64_t pruned = 0;
    int64_t cutoff = loop_wall(d->loop) - (int64_t)d->cfg->audit_retention_days * 86400000LL;
    if (store_audit_prune(d->st, cutoff, &pruned) == DC_OK && pruned)
        LOG_I("daemon", "pruned %" PRId64 " audit row(s) older than %d days", pruned,
              d->cfg->audit_retention_days);
    if (store_sweep_log_prune(d->st, cutoff, &pruned) == DC_OK && pruned)   /* the stats page's history */
        LOG_I("daemon", "pruned %" PRId64 " sweep history row(s) older than %d days", pruned,
              d->cfg->audit_retention_days);
    loop_timer(d->loop, &d->housekeeping_timer, on_housekeeping, 3600LL * 1000);
}

/* ---- stopping ------------------------------------------------------------- */

static int all_stopped(dc_daemon *d)
{
    for (int i = 0; i < d->n_shards; i++)
        if (d->shards[i].gw && gateway_get_state(d->shards[i].gw) != GW_STOPPED &&
            transport_conn_is_open(d->shards[i].conn))
            return 0;
    return 1;
}

/* While stopping, wake the loop regularly so its deadline is checked. */
static void on_stop_tick(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, stop_timer);
    loop_timer(d->loop, &d->stop_timer, on_stop_tick, 100);
}

void daemon_request_stop(dc_daemon *d, int status)
{
    if (!d->stopping || (status && !d->exit_status))
        d->exit_status = status;
    if (d->stopping)
        return;
    d->stopping = 1;
    on_stop_tick(&d->stop_timer);
    for (int i = 0; i < d->n_shards; i++)
        reconcile_abort(&d->shards[i], "the daemon is stopping");
    turn_flush(d);
    for (int i = 0; i < d->n_shards; i++)
        if (d->shards[i].gw && gateway_get_state(d->shards[i].gw) != GW_STOPPED) {
            gateway_shutdown(d->shards[i].gw, loop_now(d->loop));
            d->shards[i].kick(d->shards[i].kick_ctx);
        }
}

/* ---- the loop -------------------------------------------------------------- */

int daemon_open_store(dc_daemon *d)
{
    char err[512];
    const config *cfg = d->cfg;
    store_opts so = { .legacy_guild_id = cfg->legacy_guild_id, .clean_tables = cfg->clean_tables,
                      .n_clean_tables = cfg->n_clean_tables };
    dc_err e = store_open(&d->st, cfg->db, &so, err, sizeof err);
    if (e != DC_OK) {
        /* One line on stderr as well as in the log: the daemon stops here.
         * The PostgreSQL backend's lines name the setting already ("db: "
         * and the URI without its password). */
        char shown[URI_SHOWN_MAX], line[URI_SHOWN_MAX + 600];
        uri_redact(cfg->db, shown, sizeof shown);
        if (strncmp(err, "db: ", 4) == 0)
            snprintf(line, sizeof line, "%s", err);
        else
            snprintf(line, sizeof line, "database %s: %s", shown, err);
        fprintf(stderr, "discord-cleaner: %s\n", line);
        LOG_E("daemon", "%s", line);
        return dc_err_exit_status(e);
    }
    /* One read of what GUILD_CREATEs need (guild_directory.h), while waiting is still fine. */
    dc_err de = guild_directory_load(&d->rc.dir, d->st);
    if (de != DC_OK && de != DC_ERR_SCHEMA)
        LOG_W("daemon", "the guilds' stored names and schedules could not be read at start (%s); each is read "
              "when its guild becomes available instead", de == DC_ERR_NOMEM ? "out of memory" : store_errmsg(d->st));
    /* Opening and migrating may wait for the bot (default busy_timeout);
     * once the loop runs, a statement waits only briefly for its lock and a
     * refused turn is retried from a timer (turn.c), so heartbeats keep time. */
    store_set_busy_timeout(d->st, TURN_BUSY_TIMEOUT_MS);
    /* ... and never waits long for a server over the network to answer (a
     * replay's virtual loop has no heartbeats to keep: it waits). */
    if (!loop_waits_inline(d->loop))
        store_set_answer_wait(d->st, TURN_ANSWER_WAIT_MS);
    /* No SAVEPOINT per write: a turn whose write fails half-way is rolled
     * back and redone write by write (turn.c). */
    store_set_bare_writes(d->st, 1);
    store_on_pending(d->st, turn_outcome_queued, d);
    if (checkpoint_start(&d->ckpt, d->loop, d->st) != 0)   /* checkpoint.c: never inside a COMMIT */
        return dc_err_exit_status(DC_ERR_INTERNAL);
    return 0;
}

void daemon_free_core(dc_daemon *d)
{
    for (int i = 0; i < d->n_shards; i++) {
        transport_conn_free(d->shards[i].conn);
        gateway_free(d->shards[i].gw);
        reconcile_free(&d->shards[i]);
    }
    removal_log_flush(&d->removals);
    commit_trace_close();
    if (d->loop) {
        loop_cancel(d->loop, &d->start_timer);
        loop_cancel(d->loop, &d->housekeeping_timer);
        loop_cancel(d->loop, &d->stop_timer);
        guild_delete_stop(d);
        grace_live_free(d);
    }
    reconcile_sched_free(d);
    checkpoint_cancel(&d->ckpt);
    events_free(d);
    store_wake_stop(d);
    turn_free(d);
    /* Contexts of REST requests still in flight: the client is freed
     * next and cancels them without calling back. */
    while (d->pending.next && d->pending.next != &d->pending) {
        dc_pending *p = d->pending.next;
        pending_del(p);
        free(p);
    }
    store_close(d->st);
}

/* run and sweep never create a database: a typo in --db would otherwise
 * start a daemon happily cleaning an empty file.  `migrate` creates one. */
static int need_database(const char *path)
{
    struct stat sb;
    if (uri_is_postgres(path))
        return 0;                     /* no file: store_open says what it finds */
    if (stat(path, &sb) == 0 || errno != ENOENT)
        return 0;                     /* other errors: store_open says why */
    fprintf(stderr, "discord-cleaner: no such database %s; create it with "
                    "`discord-cleaner migrate --db %s`\n", path, path);
    LOG_E("daemon", "no such database %s; create it with `discord-cleaner migrate --db %s`", path, path);
    return dc_err_exit_status(DC_ERR_NOTFOUND);
}

static int db_lock_fds[2] = { -1, -1 };   /* dblock.h: held while this process runs */

static void db_lock_refused(const dc_daemon *d, const char *holder, const char *range)
{
    char msg[320], who[96] = "another discord-cleaner";
    char *kind = NULL;
    long pid = strtol(holder, &kind, 10);
    if (pid > 0)
        snprintf(who, sizeof who, "%s (pid %ld)", strncmp(kind, " sweep", 6) == 0 ? "a one-shot sweep" : "a daemon", pid);
    if (d->oneshot)
        snprintf(msg, sizeof msg, "%s is running on this database; use !cleanup_users in Discord "
                 "or stop it", who);
    else if (pid > 0 && strncmp(kind, " sweep", 6) == 0)
        snprintf(msg, sizeof msg, "%s is running on this database; start the daemon when it is done", who);
    else
        snprintf(msg, sizeof msg, "%s is already running on this database (shards %s); stop it first (two "
                 "would take each other's gateway session)", who, range);
    fprintf(stderr, "discord-cleaner: %s\n", msg);
    LOG_E("daemon", "%s", msg);
}

/* One gateway session per shard and database: a second `run` of the same
 * shards, or a `sweep` while `run` works, would resume the other's saved
 * session and the two would close each other (4000) in a loop.  The one
 * that comes second refuses (dblock.h).  Daemons of other ranges share the
 * database; overlapping ranges are the leases' to refuse (shard_coord.c). */
static int take_db_lock(const dc_daemon *d)
{
    char holder[96], range[48] = "all";
    const config *cfg = d->cfg;
    if (uri_is_postgres(cfg->db))
        return 0;                     /* no file to lock beside: the leases keep processes apart */
    if (cfg->shard_count)
        shard_coord_range(range, sizeof range, cfg->shard_first, cfg->shard_last, cfg->shard_count);
    dblock_result r = d->oneshot ? dblock_take(cfg->db, "sweep", &db_lock_fds[0], holder, sizeof holder)
                                 : dblock_take_run(cfg->db, range, db_lock_fds, holder, sizeof holder);
    if (r == DBLOCK_TAKEN)
        return 0;
    if (r == DBLOCK_ERROR) {
        char shown[URI_SHOWN_MAX];
        uri_redact(cfg->db, shown, sizeof shown);
        LOG_W("daemon", "cannot lock %s.lock (%s): another process on this database would go unnoticed",
              shown, strerror(errno));
        return 0;
    }
    db_lock_refused(d, holder, range);
    return 75;
}

/* The shards this process runs, leased in the database (shard_coord.h): a
 * configured range at once, automatic shards once /gateway/bot named them. */
static int claim_configured(dc_daemon *d)
{
    const config *cfg = d->cfg;
    return cfg->shard_count ? shard_coord_claim(d, cfg->shard_first, cfg->shard_last, cfg->shard_count) : 0;
}

static int setup(dc_daemon *d, const config *cfg)
{
    char err[512];
    if (!cfg->token || !*cfg->token) {
        fprintf(stderr, "discord-cleaner: no bot token: set DISCORD_TOKEN or token_file "
                        "(or run `make run` for the loopback demo)\n");
        return 78;
    }
    if (rest_check_base_url(cfg->api_base, err, sizeof err) != DC_OK) {
        fprintf(stderr, "discord-cleaner: api_base: %s\n", err);
        return 78;
    }
    int rc = need_database(cfg->db);
    if (rc == 0)
        rc = take_db_lock(d);
    if (rc == 0)
        rc = daemon_open_store(d);
    if (rc == 0)
        rc = claim_configured(d);
    if (rc != 0)
        return rc;
    static struct lws_protocols protocols[3];   /* lws keeps the pointer */
    protocols[0] = transport_protocol;
    protocols[1] = loop_watch_protocol;         /* the store's socket (store_wake.c) */
    memset(&protocols[2], 0, sizeof protocols[2]);
    /* TLS set up on the first wss:// (wsctx.h); room for the HTTP endpoint's clients */
    d->lws = wsctx_new(protocols, 64 + HTTP_MAX_CONNECTIONS + 16);
    if (!d->lws) {
        LOG_E("daemon", "cannot create the libwebsockets context");
        return 70;
    }
    rest_opts ro = { .api_base = cfg->api_base, .token = cfg->token, .max_retries = 5 };
    if (rest_new(&d->rest, d->lws, &ro, err, sizeof err) != DC_OK) {
        LOG_E("daemon", "REST client: %s", err);
        return 70;
    }
    loop_live_init(&d->live_loop, d->lws, d->rest);
    loop_live_set_vhost(&d->live_loop, wsctx_vhost(d->lws, 0));
    return http_live_start(d);       /* #18: metrics, health, stats page; off unless http_listen */
}

static void teardown(dc_daemon *d)
{
    notify_free(d);
    shard_coord_stop(d);              /* leases released, the store still open */
    daemon_free_core(d);
    sweep_handoff_free(d);
    dblock_release(&db_lock_fds[1]);  /* after the store is closed */
    dblock_release(&db_lock_fds[0]);
    daemon_record_stop();
    rest_free(d->rest);
    commands_live_free(d);
    interact_live_free(d);
    if (d->lws)
        lws_context_destroy(d->lws);
    http_live_free(d);               /* after the context: its connections' last callbacks */
}

static void lws_log_to_ours(int level, const char *line)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", line);
    buf[strcspn(buf, "\r\n")] = '\0';
    log_msg(level & LLL_ERR ? DCL_WARN : DCL_DEBUG, "lws", "%s", buf);
}

int daemon_run(const config *cfg, int argc, char **argv)
{
    int rc = daemon_record_args(argc, argv);
    return rc ? rc : daemon_main(cfg, NULL);
}

void daemon_init(dc_daemon *d, const config *cfg, dc_loop *loop)
{
    static const turn_carry sessions = { save_sessions, sessions_lost };
    memset(d, 0, sizeof *d);
    turn_init(d, &sessions);
    d->cfg = cfg;
    d->loop = loop;
    pending_init(&d->pending);
    pending_init(&d->confirm_waiting);
    d->started_wall_ms = loop_wall(loop);
    removal_log_init(&d->removals, cfg->dry_run);
}

static int run_daemon(config *cfg, const daemon_hook *hook)
{
    dc_daemon d;
    dc_loop boot;                    /* clocks only, until setup() has lws and REST */
    loop_live_init(&boot, NULL, NULL);
    daemon_init(&d, cfg, &boot);
    daemon_reload_attach(&d, cfg);
    d.live_loop = boot;
    d.loop = &d.live_loop;
    d.oneshot = hook != NULL;
    if (hook)
        reconcile_set_tick(&d, hook->tick, hook->ctx);
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_ours);
    /* Handlers first: a SIGTERM while setup() runs (systemd stopping a unit
     * that is still starting) is seen by the loop and ends in a clean stop,
     * not in death by the default action; and SIGUSR1 before the database
     * lock is taken: a CLI that finds it held may wake us at once, and
     * SIGUSR1's default action would end the daemon. */
    struct sigaction sa = { .sa_handler = on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = setup(&d, cfg);
    if (rc != 0) {
        teardown(&d);
        return rc;
    }
    signal_ctx = d.lws;
    metrics_live_start(&d);          /* counters for the process, every known label at 0 */
    shard_coord_start(&d);
    sweep_handoff_start(&d);
    char shown[URI_SHOWN_MAX];
    uri_redact(cfg->db, shown, sizeof shown);
    LOG_I("daemon", "discord-cleaner starting: database %s, api %s%s", shown, cfg->api_base,
          cfg->dry_run ? ", DRY RUN (nothing is deleted)" : "");
    notify_start(&d);
    fetch_gateway(&d);
    on_housekeeping(&d.housekeeping_timer);
    int64_t stop_deadline = 0;
    while (!d.done) {
        store_wake_update(&d);       /* what the store waits for, before the loop sleeps */
        if (lws_service(d.lws, 0) < 0)
            break;
        d.wakeups++;
        turn_flush_if_due(&d);
        if (got_hup) {
            got_hup = 0;
            daemon_reload(&d);
        }
        if (got_usr1) {
            got_usr1 = 0;
            if (!d.oneshot && !d.stopping)
                sweep_handoff_wake(&d);
        }
        if (got_term && !d.stopping) {
            LOG_I("daemon", "signal received: finishing the current turn and closing (session kept resumable)");
            notify_stopping(&d);
            daemon_request_stop(&d, 0);
        }
        if (d.stopping) {
            if (!stop_deadline)
                stop_deadline = loop_now(d.loop) + 3000;
            d.done = all_stopped(&d) || loop_now(d.loop) > stop_deadline;
        }
    }
    turn_finish(&d);                 /* the last turn, committed before the store closes */
    sweep_handoff_stop(&d);
    signal_ctx = NULL;
    metrics_live_stop(&d);
    LOG_I("daemon", "stopped (exit status %d)", d.exit_status);
    teardown(&d);
    return d.exit_status;
}

int daemon_main(const config *cfg, const daemon_hook *hook)
{
    /* The daemon's own copy of the settings: SIGHUP changes it in place
     * (daemon_reload.c), the caller's stays as it was given. */
    config live;
    if (config_copy(&live, cfg) != DC_OK) {
        fprintf(stderr, "discord-cleaner: out of memory\n");
        return dc_err_exit_status(DC_ERR_NOMEM);
    }
    int rc = run_daemon(&live, hook);
    config_free(&live);
    return rc;
}

/* ---- what the CLI asks (daemon.h) ------------------------------------------ */

dc_err daemon_request_sweep(dc_daemon *d, const sweep_request *r)
{
    return reconcile_request(d, r);
}

int daemon_sessions_ready(dc_daemon *d)
{
    return reconcile_sessions_ready(d);
}

int daemon_has_guild(dc_daemon *d, uint64_t guild_id)
{
    return reconcile_shard_of(d, guild_id) != NULL;
}

void daemon_each_guild(dc_daemon *d, int (*fn)(void *ctx, uint64_t guild_id), void *ctx)
{
    reconcile_each_guild(d, fn, ctx);
}

int64_t daemon_now_ms(dc_daemon *d)
{
    return loop_now(d->loop);
}

int64_t daemon_last_guild_seen_ms(dc_daemon *d)
{
    return reconcile_last_present_ms(d);
}
