/* reconcile.h - the scheduler (reconcile.c): when to sweep which guild,
 * and carrying out a sweep's actions.  Its state is its own (reconcile_sched in
 * the daemon, reconcile_shard in each shard, read and written only by
 * reconcile.c); the rest of the daemon asks it questions through these
 * functions: is a guild queued or running, when is its next automatic
 * sweep, which guilds are available, are the sessions ready.  A private
 * header of src/daemon (the CLI reaches these through daemon.h). */
#ifndef DC_RECONCILE_H
#define DC_RECONCILE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "daemon/guild_directory.h"
#include "daemon/guild_snapshot.h"
#include "daemon/daemon.h"
#include "loop/loop.h"
#include "store/store.h"

typedef struct shard shard;

#define SWEEP_SAMPLE_MAX SW_CONFIRM_ALL_MAX   /* stale ids kept for REST confirmation / dry-run text */

/* A guild this session has seen available (GUILD_CREATE). */
typedef struct {
    uint64_t id;
    int64_t member_count;            /* GUILD_CREATE +- joins/leaves since; <= 0 unknown */
    int64_t saved_count;             /* what the database holds (reconcile.c reconcile_persist_counts) */
    int64_t not_before_ms;           /* no op 8 for this guild before (rate limit, retry) */
    char name[104];                  /* as people know it (GUILD_CREATE/UPDATE, or stored); "" unknown */
    int64_t admin_interval_ms;       /* the guild's admins' schedule (schedule_live.c); 0: none */
} present_guild;

/* One shard's part of the scheduler: its sweep and the guilds its session
 * has seen.  Only reconcile.c reads or writes it. */
typedef struct {
    sweep *sw;
    int sweep_force;                 /* what the running sweep was started with */
    int sweep_dry_run;
    int64_t sweep_started_ms;
    int64_t sweep_cursor;            /* discord_id the delete batches have reached */
    int64_t sweep_listed;            /* distinct ids in the running sweep's member set */
    sweep_request current;           /* who asked for the running sweep (done NULL: the scheduler) */
    dc_timer sweep_timer;
    int busy_tries;                  /* the running sweep's database step refused as busy, in a row */
    int64_t write_turn;              /* the turn (turn_seq) of the running sweep's last write, 0: none */
    dc_timer batch_timer;            /* a delete batch refused as busy, tried again */
    uint64_t batch_guild;
    int64_t batch_n;
    /* measuring the stale set a slice at a time */
    struct {
        dc_timer timer;
        uint64_t guild;
        int64_t cursor, stale, total;
        uint64_t sample[SWEEP_SAMPLE_MAX];   /* reservoir sample of stale ids */
        size_t n, cap;
        uint64_t rng;
    } measure;
    present_guild *present;
    size_t n_present, cap_present;
} reconcile_shard;

/* The daemon's part of the scheduler. */
typedef struct {
    sweep_request *requests;         /* on-demand sweeps, FIFO */
    size_t n_requests, cap_requests;
    dc_timer timer;                  /* the next scheduler run */
    dc_timer clear_timer;            /* finished sweeps' member sets */
    int waking, rewake;              /* in the scheduler / woken meanwhile */
    int64_t wake_at;                 /* when the scheduler runs next (INT64_MAX: not armed, 0: never) */
    int64_t next_published;          /* kv sweep.next_run_ms as written (0: none) */
    int64_t last_present_ms;         /* last GUILD_CREATE seen (loop_now) */
    daemon_tick_fn *tick;            /* reconcile_set_tick */
    void *tick_ctx;
    guild_snapshot states;           /* every guild's state, read once per scheduler run */
    guild_directory dir;             /* every guild's stored name and admin interval, read at start */
} reconcile_sched;

int reconcile_init(dc_daemon *d, shard *s);
/* A reload (daemon_reload.c): the sweep settings now in d->cfg from each
 * shard's next sweep on (a running one keeps its own), and the schedule
 * looked at again with the intervals as they are now. */
void reconcile_reconfigure(dc_daemon *d);
void reconcile_free(shard *s);
void reconcile_sched_free(dc_daemon *d);    /* timers cancelled, queue freed */
void reconcile_guild_present(shard *s, uint64_t guild_id, int64_t member_count);
void reconcile_guild_absent(shard *s, uint64_t guild_id);
/* A new session lists its guilds anew (READY); 0 guilds: none seen yet. */
void reconcile_forget_guilds(shard *s);
size_t reconcile_guild_count(const shard *s);
void reconcile_on_chunk(shard *s, const cJSON *d);
void reconcile_on_rate_limited(shard *s, const cJSON *d);
void reconcile_on_member_add(shard *s, uint64_t guild_id, uint64_t user_id);
/* GUILD_MEMBER_ADD (+1) / REMOVE (-1): keeps the guild's member count current. */
void reconcile_member_count(shard *s, uint64_t guild_id, int delta);
/* The member counts go to the database with the seq that covers their
 * events (daemon_flush), so a resumed session, which gets no GUILD_CREATE,
 * starts from them and the replayed events bring them up to date.  all:
 * rewrite every count (the last attempt was rolled back).  0 or -1. */
int reconcile_persist_counts(dc_daemon *d, shard *s, int all);
/* A resumed session's guild: present, with its saved member count. */
void reconcile_guild_resumed(shard *s, uint64_t guild_id);
void reconcile_on_disconnect(shard *s);
/* Queue an on-demand sweep; DC_ERR_NOTFOUND when no shard of this process
 * has the guild available. */
dc_err reconcile_request(dc_daemon *d, const sweep_request *r);
/* Abort a running sweep (shutdown). */
void reconcile_abort(shard *s, const char *why);
/* A turn was rolled back: the running sweep ends (nothing more deleted;
 * the scheduler retries later) when that turn may have held some of its
 * writes -- its member list would lack rows, its count would be wrong --
 * and goes on when all of them committed before. */
void reconcile_turn_lost(shard *s, const char *why);
/* Start the periodic scheduler. */
void reconcile_start(dc_daemon *d);
/* fn(ctx) at every scheduler run from now on (NULL: none), and a run at
 * least every RC_TICK_MS while it is set. */
void reconcile_set_tick(dc_daemon *d, daemon_tick_fn *fn, void *ctx);
#define RC_TICK_MS 1000
/* Why a sweep of guild_id would not start at once: RC_WAIT_OP8 (Discord's
 * one member list per guild per 30 s, or a RATE_LIMITED; *wait_ms left),
 * RC_WAIT_BUSY (another guild's sweep runs or is queued first on its
 * shard), RC_WAIT_SESSION (its shard is reconnecting), RC_WAIT_NONE. */
typedef enum { RC_WAIT_NONE = 0, RC_WAIT_OP8, RC_WAIT_BUSY, RC_WAIT_SESSION } reconcile_wait;
reconcile_wait reconcile_eta(dc_daemon *d, uint64_t guild_id, int64_t *wait_ms);
/* Run the scheduler before the loop sleeps: something it waits for changed
 * (a request, a guild seen, a session ready, a sweep finished). */
void reconcile_wake(dc_daemon *d);
shard *reconcile_shard_of(dc_daemon *d, uint64_t guild_id);
/* Is guild_id one of shard s's ((guild_id >> 22) % shard_count == s->id,
 * every guild when unsharded)?  And one of this process's shards?  READY
 * reconciliation, resumed sessions and handed-over sweeps look at these
 * guilds only: other processes run the others (#16). */
int reconcile_shard_owns(const shard *s, uint64_t guild_id);
int reconcile_owns_guild(const dc_daemon *d, uint64_t guild_id);
/* GUILD_CREATE / GUILD_UPDATE named the guild: keep the name (and store it). */
void reconcile_guild_named(shard *s, uint64_t guild_id, const char *name);
/* The guild's name as GUILD_CREATE/UPDATE gave it this session, or NULL. */
const char *reconcile_guild_name(dc_daemon *d, uint64_t guild_id);
/* "Test Guild (1234)" or "guild 1234": how logs and replies name a guild. */
const char *reconcile_guild_label(dc_daemon *d, uint64_t guild_id, char *buf, size_t cap);

/* ---- what the scheduler answers ---- */
/* 1 when an on-demand sweep of guild_id waits in the queue. */
int reconcile_queued(const dc_daemon *d, uint64_t guild_id);
/* The sweep of guild_id running now (for its progress), or NULL. */
const sweep *reconcile_running(dc_daemon *d, uint64_t guild_id);
/* When the scheduler will next pick guild g of its own accord (wall ms):
 * reconcile_delay after start-up for a guild never swept, else its last
 * sweep plus its interval (schedule_live.h: guild_interval, then its
 * admins' schedule, then interval_hours), sooner when it is
 * marked needs_reconcile and its last result does not hold it. */
int64_t reconcile_next_run(const dc_daemon *d, const store_guild_state *g);
/* fn for every guild available to this process, until it returns nonzero. */
void reconcile_each_guild(dc_daemon *d, int (*fn)(void *ctx, uint64_t guild_id), void *ctx);
int64_t reconcile_last_present_ms(const dc_daemon *d);
/* 1 when every shard's session is READY (0 before the shards exist). */
int reconcile_sessions_ready(const dc_daemon *d);

#endif
