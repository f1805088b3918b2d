/* daemon_internal.h - state shared by the live daemon's modules:
 * daemon.c (loop, start-up, persistence), events.c (what dispatches do),
 * reconcile.c (scheduling and carrying out sweeps).  Not a public API. */
#ifndef DC_DAEMON_INTERNAL_H
#define DC_DAEMON_INTERNAL_H

#include <stdint.h>
#include <libwebsockets.h>

#include "config/config.h"
#include "gateway/gateway.h"
#include "loop/loop.h"
#include "loop/pending.h"
#include "rest/rest.h"
#include "store/store.h"
#include "policy/sweep.h"
#include "gateway/transport_lws.h"
#include "daemon/turn.h"

#define MAX_SHARDS 64
#define START_RETRY_MAX_MS 60000
#define MAX_PRESENT_GUILDS 2500      /* Discord's limit per shard */
#define SWEEP_SAMPLE_MAX SW_CONFIRM_ALL_MAX   /* stale ids kept for REST confirmation / dry-run text */

typedef struct dc_daemon dc_daemon;

/* A sweep somebody asked for (command, CLI), waiting for its shard. */
typedef struct {
    uint64_t guild_id;
    int force, dry_run;
    void (*done)(void *ctx, uint64_t guild_id, const sw_action *result);
    void *ctx;
} sweep_request;

/* A guild this session has seen available (GUILD_CREATE). */
typedef struct {
    uint64_t id;
    int64_t member_count;            /* GUILD_CREATE +- joins/leaves since; <= 0 unknown */
    int64_t saved_count;             /* what the database holds (reconcile.c rc_persist_counts) */
    int64_t not_before_ms;           /* no op 8 for this guild before (rate limit, retry) */
    char name[104];                  /* as people know it (GUILD_CREATE/UPDATE, or stored); "" unknown */
} present_guild;

typedef struct shard shard;

struct shard {
    dc_daemon *d;
    int id;
    gw_session *gw;
    tl_conn *conn;
    sweep *sw;
    int sweep_force;                 /* what the running sweep was started with */
    int sweep_dry_run;
    int64_t sweep_started_ms;
    int64_t sweep_cursor;            /* discord_id the delete batches have reached */
    int64_t sweep_listed;            /* distinct ids in the running sweep's member set */
    sweep_request current;           /* who asked for the running sweep (done NULL: the scheduler) */
    dc_timer sweep_timer;
    /* measuring the stale set a slice at a time (reconcile.c) */
    struct {
        dc_timer timer;
        uint64_t guild;
        int64_t cursor, stale, total;
        uint64_t sample[SWEEP_SAMPLE_MAX];   /* reservoir sample of stale ids */
        size_t n, cap;
        uint64_t rng;
    } measure;
    /* Run the session's pending gw actions (live: tl_conn_kick; replay: its driver). */
    void (*kick)(shard *s);
    present_guild *present;
    size_t n_present, cap_present;
    int replaying;                   /* RESUME sent, RESUMED not yet seen: events are replayed (events.c) */
    int64_t saved_seq;               /* what the database holds */
    char saved_session[128];
    char saved_resume[512];
};

struct dc_daemon {
    const config *cfg;
    store *st;
    struct lws_context *lws;
    rest_client *rest;
    gw_identify_budget budget;
    shard shards[MAX_SHARDS];
    int n_shards, shard_count;
    char gateway_url[512];
    dc_loop *loop;                   /* time, timers, REST (live or replay) */
    dc_loop live_loop;
    dc_timer start_timer, housekeeping_timer, stop_timer, reconcile_timer;
    dc_timer checkpoint_timer;       /* checkpoint.c */
    dc_timer sweep_clear_timer;      /* reconcile.c: finished sweeps' member sets */
    dc_timer guild_delete_timer;     /* guild_delete.c: a left guild's rows, a slice per turn */
    turn_state turn;                 /* the loop turn: transaction, COMMIT, journal (turn*.c) */
    int checkpoint_failures;         /* last count reported (checkpoint.c) */
    int start_attempts;
    int stopping, done, exit_status;
    int64_t started_wall_ms;
    int64_t removed[AUDIT_REASON_COUNT]; /* rows removed since start, by audit_reason */
    int64_t events;
    int64_t wakeups;                 /* lws_service() calls of the live main loop (commit trace) */
    int64_t malformed_events;        /* dispatches the cleaner refused as malformed (events.c) */
    sweep_request *requests;         /* on-demand sweeps, FIFO */
    size_t n_requests, cap_requests;
    struct oneshot *os;              /* `discord-cleaner sweep`: run its sweeps, then exit */
    int64_t last_present_ms;         /* last GUILD_CREATE seen (loop_now) */
    int rc_waking, rc_rewake;        /* reconcile.c: in the scheduler / woken meanwhile */
    int64_t rc_wake_at;              /* reconcile.c: when the scheduler runs next (INT64_MAX: not armed) */
    int64_t rc_next_published;       /* reconcile.c: kv sweep.next_run_ms as written (0: none) */
    dc_pending pending;              /* REST callback contexts in flight (each starts with a dc_pending) */
    dc_pending confirm_waiting;      /* events.c: guild confirmations waiting for their retry timer */
    struct cmd_live *cmds;           /* chat commands (commands_live.c); NULL when off */
    dc_timer removal_timer;          /* removal_log.c: periodic summary of member deletes */
    int removal_timer_armed;
    int64_t unlogged_members, unlogged_rows, unlogged_since_ms;
};

/* The loop behind `run` (os NULL) and `sweep` (sweep_cli.c). */
int daemon_main(const config *cfg, struct oneshot *os);
/* Pieces of the daemon that `replay` (with its virtual loop) reuses. */
void daemon_init(dc_daemon *d, const config *cfg, dc_loop *loop);   /* zeroed, lists ready */
int daemon_open_store(dc_daemon *d);                /* 0 or an exit status */
int daemon_shard_init(dc_daemon *d, shard *s, int id, uint64_t seed);   /* gw session + sweep */
void daemon_free_core(dc_daemon *d);                /* shards, timers, store */
/* sweep_cli.c: called every scheduler tick while a oneshot runs. */
void oneshot_tick(dc_daemon *d);

void request_stop(dc_daemon *d, int status);
void count_removed(dc_daemon *d, audit_reason why, int64_t rows);

/* events.c */
void ev_on_dispatch(void *ctx, tl_conn *c, dc_event ev, const char *event, int64_t seq, const cJSON *data);
void ev_on_disconnect(void *ctx, tl_conn *c);
void ev_free(dc_daemon *d);          /* confirmations waiting for a retry: cancelled, freed */

/* reconcile.c */
int rc_init(dc_daemon *d, shard *s);
void rc_free(shard *s);
void rc_guild_present(shard *s, uint64_t guild_id, int64_t member_count);
void rc_guild_absent(shard *s, uint64_t guild_id);
void rc_on_chunk(shard *s, const cJSON *d);
void rc_on_rate_limited(shard *s, const cJSON *d);
void rc_on_member_add(shard *s, uint64_t guild_id, uint64_t user_id);
/* GUILD_MEMBER_ADD (+1) / REMOVE (-1): keeps the guild's member count current. */
void rc_member_count(shard *s, uint64_t guild_id, int delta);
/* The member counts go to the database with the seq that covers their
 * events (turn_flush), so a resumed session, which gets no GUILD_CREATE,
 * starts from them and the replayed events bring them up to date.  all:
 * rewrite every count (the last attempt was rolled back).  0 or -1. */
int rc_persist_counts(dc_daemon *d, shard *s, int all);
/* A resumed session's guild: present, with its saved member count. */
void rc_guild_resumed(shard *s, uint64_t guild_id);
void rc_on_disconnect(shard *s);
/* Queue an on-demand sweep; DC_ERR_NOTFOUND when no shard of this process
 * has the guild available. */
dc_err rc_request(dc_daemon *d, const sweep_request *r);
/* Abort a running sweep (shutdown). */
void rc_abort(shard *s, const char *why);
/* Start the periodic scheduler. */
void rc_start(dc_daemon *d);
/* Why a sweep of guild_id would not start at once: RC_WAIT_OP8 (Discord's
 * one member list per guild per 30 s, or a RATE_LIMITED; *wait_ms left),
 * RC_WAIT_BUSY (another guild's sweep runs or is queued first on its
 * shard), RC_WAIT_SESSION (its shard is reconnecting), RC_WAIT_NONE. */
typedef enum { RC_WAIT_NONE = 0, RC_WAIT_OP8, RC_WAIT_BUSY, RC_WAIT_SESSION } rc_wait;
rc_wait rc_eta(dc_daemon *d, uint64_t guild_id, int64_t *wait_ms);
/* Run the scheduler before the loop sleeps: something it waits for changed
 * (a request, a guild seen, a session ready, a sweep finished). */
void rc_wake(dc_daemon *d);
shard *rc_shard_of(dc_daemon *d, uint64_t guild_id);
/* GUILD_CREATE / GUILD_UPDATE named the guild: keep the name (and store it). */
void rc_guild_named(shard *s, uint64_t guild_id, const char *name);
/* "Test Guild (1234)" or "guild 1234": how logs and replies name a guild. */
const char *rc_guild_label(dc_daemon *d, uint64_t guild_id, char *buf, size_t cap);

#endif
