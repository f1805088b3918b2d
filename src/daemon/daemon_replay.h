/* daemon_replay.h - what replay drives of the daemon (daemon_replay.c):
 * the live daemon's core (store, one shard's gateway session and sweep,
 * scheduler, turn) on a loop replay owns, fed dispatches the way the
 * transport feeds them.  Functions only: the daemon's struct and the
 * shard stay opaque outside src/daemon. */
#ifndef DC_DAEMON_REPLAY_H
#define DC_DAEMON_REPLAY_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "daemon/daemon.h"
#include "gateway/gateway.h"
#include "loop/loop.h"
#include "policy/sweep.h"
#include "proto/proto.h"
#include "store/store.h"

typedef struct shard shard;
/* Run the session's pending gateway actions (live: the transport's). */
typedef void daemon_kick_fn(void *ctx);

/* A daemon on loop with cfg (both must outlive it), no store, no shard.
 * turn_max_events: commit after this many dispatches (0: the live cap).
 * NULL when out of memory. */
dc_daemon *daemon_new(const config *cfg, dc_loop *loop, int turn_max_events);
/* Open (and migrate) cfg->db: 0 or an exit status. */
int daemon_open_store(dc_daemon *d);
void daemon_close_store(dc_daemon *d);
/* The one shard of this daemon: shard_id of shard_count, its session
 * seeded with seed and not resuming; kick(kick_ctx) runs its actions.
 * NULL when out of memory. */
shard *daemon_add_shard(dc_daemon *d, int shard_id, int shard_count, uint64_t seed, daemon_kick_fn *kick,
                        void *kick_ctx);
gateway_session *daemon_shard_session(shard *s);
sweep *daemon_shard_sweep(shard *s);
/* The scheduler and the guild deletes a previous run left (after the shards). */
void daemon_start_work(dc_daemon *d);
/* A dispatch the session handed on, and the end of a connection. */
void daemon_dispatch(shard *s, dc_event ev, const char *event, int64_t seq, const cJSON *data);
void daemon_disconnected(shard *s);
/* The end of the run: persist the sessions, COMMIT the open turn and take
 * every outcome the store still owes (turn_finish). */
void daemon_finish(dc_daemon *d);
int daemon_stopping(const dc_daemon *d);
int daemon_exit_status(const dc_daemon *d);
/* What the daemon counted since it started. */
typedef struct {
    int64_t events;                  /* dispatches */
    int64_t malformed_events;        /* of them, refused by the cleaner as malformed */
    int64_t removed[AUDIT_REASON_COUNT];   /* rows removed, by audit_reason */
} daemon_counts;
void daemon_get_counts(const dc_daemon *d, daemon_counts *out);
store *daemon_store(dc_daemon *d);
/* Shards, timers, store, then the daemon itself. */
void daemon_free(dc_daemon *d);

#endif
