/* shard_coord.h - several processes run one bot's shards (#16): the
 * process's shard leases and its identify locks (shard_coord.c).
 *
 * Leases: at start the process claims its range in the store
 * (store_lease_claim), renews it every SHARD_LEASE_RENEW_MS and lets it
 * expire SHARD_LEASE_TTL_MS after the last renewal; it releases it when it
 * stops.  A range held by another live owner refuses the start (exit 78,
 * one line naming that owner).  An owner on this host whose pid no longer
 * exists counts as gone: a process restarted after a crash takes its
 * shards back at once, without waiting for the lease to expire (on another
 * host the lease's expiry is the only sign of death).
 *
 * Identify locks: the transport asks before each IDENTIFY
 * (transport_handlers.on_identify_lock); a lock got is held
 * SHARD_IDENTIFY_HOLD_MS, then released from a timer.  A bucket one of the
 * process's own shards holds is "not got" for its others, so they wait
 * for the release as another process would. */
#ifndef DC_SHARD_COORD_H
#define DC_SHARD_COORD_H

#include <stdint.h>
#include "loop/loop.h"
#include "store/store.h"

#define SHARD_LEASE_RENEW_MS 10000
#define SHARD_LEASE_TTL_MS 30000
#define SHARD_IDENTIFY_HOLD_MS 5500      /* Discord counts 5 s from arrival: room for jitter */
#define SHARD_COORD_MAX_HELD 64

typedef struct dc_daemon dc_daemon;

typedef struct {
    int leased;                          /* the range below is claimed */
    store_lease_owner me;
    int first, last, count;
    dc_timer renew_timer, unlock_timer;
    struct { int bucket; int64_t release_at; } held[SHARD_COORD_MAX_HELD];
    int n_held;
    int lock_failed_logged;              /* one warning per failure streak */
} shard_coord;

/* This process as a lease owner: the host name and pid. */
void shard_coord_owner(store_lease_owner *me);
/* Claims first..last/count for this process; 0, or the exit status after
 * one line on stderr and in the log (78: held by another live owner). */
int shard_coord_claim(dc_daemon *d, int first, int last, int count);
/* The loop exists: the renewal timer of a claim made before it starts. */
void shard_coord_start(dc_daemon *d);
/* The transport's question before an IDENTIFY: 1 got (held for
 * SHARD_IDENTIFY_HOLD_MS), 0 not now. */
int shard_coord_identify_lock(dc_daemon *d, int bucket);
/* Stopping: timers cancelled, identify locks and leases released (the
 * store still open). */
void shard_coord_stop(dc_daemon *d);
/* "0-3/16" (or "2/16" for one shard) into buf. */
const char *shard_coord_range(char *buf, size_t cap, int first, int last, int count);

#endif
