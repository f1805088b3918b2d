/* daemon_internal.h - the daemon's struct and the shards, shared by the
 * files of src/daemon only: daemon.c (loop, start-up, persistence),
 * events.c (what dispatches do), turn*.c, commands_live.c, reconcile.c,
 * guild_delete.c, sweep_handoff.c, daemon_record.c, daemon_replay.c.
 * Modules with state of their own keep it in a struct of their own that
 * sits in dc_daemon (reconcile_sched, reconcile_shard, checkpoint, removal_log,
 * guild_delete_state) and only they touch; the others call their functions
 * (checkpoint.c and removal_log.c do not include this header at all).
 * Not a public API: src/cli uses daemon.h, src/replay daemon_replay.h. */
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
#include "daemon/checkpoint.h"
#include "daemon/daemon.h"
#include "daemon/daemon_replay.h"
#include "daemon/grace_live.h"
#include "daemon/guild_delete.h"
#include "daemon/notify_live.h"
#include "daemon/reconcile.h"
#include "daemon/removal_log.h"
#include "daemon/shard_coord.h"
#include "daemon/slash_register.h"
#include "daemon/store_wake.h"
#include "daemon/turn.h"

#define MAX_SHARDS 64
#define START_RETRY_MAX_MS 60000
#define MAX_PRESENT_GUILDS 2500      /* Discord's limit per shard */

struct shard {
    dc_daemon *d;
    int id;
    gateway_session *gw;
    transport_conn *conn;
    reconcile_shard rc;                     /* the scheduler's part of the shard (reconcile.c) */
    /* Run the session's pending gw actions (live: transport_conn_kick; replay: its driver). */
    daemon_kick_fn *kick;
    void *kick_ctx;
    int replaying;                   /* RESUME sent, RESUMED not yet seen: events are replayed (events.c) */
    int64_t saved_seq;               /* what the database holds */
    char saved_session[128];
    char saved_resume[512];
};

struct dc_daemon {
    const config *cfg;
    config *live_cfg;                       /* the same, for a reload to change (daemon_reload.c); NULL: none */
    store *st;
    struct lws_context *lws;
    rest_client *rest;
    gateway_identify_budget budget;
    shard shards[MAX_SHARDS];
    int n_shards, shard_count;
    char gateway_url[512];
    dc_loop *loop;                   /* time, timers, REST (live or replay) */
    dc_loop live_loop;
    dc_timer start_timer, housekeeping_timer, stop_timer;
    reconcile_sched rc;                     /* the scheduler's own (reconcile.c) */
    checkpoint ckpt;                 /* checkpoint.c's own */
    guild_delete_state gd;                     /* guild_delete.c's own: a left guild's rows, a slice per turn */
    turn_state turn;                 /* the loop turn: transaction, COMMIT, journal (turn*.c) */
    int start_attempts;
    int stopping, done, exit_status;
    int64_t started_wall_ms;
    int64_t events;
    int64_t wakeups;                 /* lws_service() calls of the live main loop (commit trace) */
    int64_t malformed_events;        /* dispatches the cleaner refused as malformed (events.c) */
    int oneshot;                     /* `discord-cleaner sweep` (daemon_main's hook): requested sweeps only */
    dc_pending pending;              /* REST callback contexts in flight (each starts with a dc_pending) */
    dc_pending confirm_waiting;      /* events.c: guild confirmations waiting for their retry timer */
    uint64_t *confirming;            /* events.c: guilds with a confirmation in flight or waiting */
    size_t n_confirming, cap_confirming;
    struct commands_live *cmds;           /* chat commands (commands_live.c); NULL when off */
    struct interact_live *ix;             /* slash commands (interact_live.c); NULL until one came */
    removal_log removals;            /* removal_log.c's own: periodic summary of member deletes */
    shard_coord coord;               /* shard_coord.c's own: shard leases, identify locks */
    slash_reg slash;                 /* slash_register.c's own: the global slash command */
    grace_live grace;                /* grace_live.c's own: pending departures, notices (#17) */
    store_wake wake;                 /* store_wake.c's own: the store's socket in the loop */
    notify_live notify;              /* notify_live.c's own: what systemd is told (#18) */
};

/* Pieces of the daemon that replay (daemon_replay.c) and the unit tests reuse. */
void daemon_init(dc_daemon *d, const config *cfg, dc_loop *loop);   /* zeroed, lists ready */
int daemon_shard_init(dc_daemon *d, shard *s, int id, uint64_t seed);   /* gw session + sweep */
uint32_t daemon_intents(const config *cfg);         /* what IDENTIFY asks for */
void daemon_free_core(dc_daemon *d);                /* shards, timers, store */

/* events.c */
void events_on_dispatch(void *ctx, transport_conn *c, dc_event ev, const char *event, int64_t seq, const cJSON *data);
void events_on_disconnect(void *ctx, transport_conn *c);
void events_free(dc_daemon *d);          /* confirmations waiting for a retry: cancelled, freed */

#endif
