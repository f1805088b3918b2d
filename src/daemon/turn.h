/* turn.h - the loop turn's database writes, kept until they are committed.
 *
 * Every write the daemon derives from gateway events and REST confirmations
 * (deletes, guild state) is recorded here before it is carried out in the
 * turn's transaction.  When SQLite refuses the turn because another
 * connection holds the write lock (busy) or the disk is full, the turn is
 * rolled back and the database is "held": new writes only queue, and a loop
 * timer retries the whole queue, plus the sequence numbers that cover it,
 * in one transaction with backoff.  The event loop never waits more than
 * the short busy_timeout for the lock, so heartbeats stay on time; nothing
 * is lost, because the persisted seq only ever moves together with the
 * writes of the events it covers.  Sweeps never queue: a sweep whose
 * writes were refused is aborted (nothing deleted) and tried again later.
 *
 * The journal is bounded by journal_max_writes: when a hold lasts that
 * long, the shards' sockets are no longer read (Discord keeps the events;
 * the persisted seq has not moved past them) until the database takes the
 * journal; nothing is dropped.  A connection that the pause outlasts
 * (heartbeat ACKs unread) reconnects and resumes, and a session that can no
 * longer resume identifies anew and gets a sweep. */
#ifndef DC_TURN_H
#define DC_TURN_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"
#include "store/store.h"

#define TURN_BUSY_TIMEOUT_MS 20      /* the daemon's busy_timeout once the loop runs */

typedef enum {
    TW_DELETE_MEMBER,                /* guild_id, user_id, reason */
    TW_DELETE_GUILD,                 /* guild_id, reason; forgets the guild's state */
    TW_GUILD_SEEN,                   /* available on shard_id */
    TW_GUILD_UNAVAILABLE,            /* outage */
    TW_MARK_RECONCILE,               /* seen on shard_id, and needs a sweep */
    TW_NEEDS_RECONCILE,              /* needs a sweep (REST could not confirm) */
    TW_ADOPT_UNASSIGNED,             /* legacy rows with guild_id NULL belong to guild_id */
} turn_write_kind;

typedef struct {
    turn_write_kind kind;
    int shard_id;
    uint64_t guild_id, user_id;
    audit_reason reason;
    int64_t at_ms;                   /* wall time the write was decided (audit) */
    int64_t rows_counted;            /* rows counted in d->removed by this attempt */
    int wait_shard;                  /* shard id + 1 whose RESUME replay must end first; 0: none */
} turn_write;

typedef struct {
    turn_write *v;
    size_t n, cap;
    int held;                        /* 1 busy, 2 disk full: waiting for the retry timer */
    int in_hold;                     /* a hold began and no commit has ended it yet */
    int64_t held_since_ms;           /* loop_now when the hold began */
    int64_t backoff_ms;
    int warned;                      /* the long-wait error was logged for this hold */
    size_t n_waiting;                /* writes with wait_shard set */
    int paused;                      /* the gateway is not read: the journal is full (turn.c) */
    dc_timer retry_timer;
} turn_journal;

struct dc_daemon;

/* Record w and carry it out in the turn's transaction unless the database
 * is held (then it waits for the retry). */
void turn_write_do(struct dc_daemon *d, turn_write w);
/* A member rejoined (GUILD_MEMBER_ADD): drop every delete of that member
 * in that guild that no transaction holds yet -- queued while the database
 * is held, or waiting for a RESUME replay to end -- so a leave followed by
 * a rejoin deletes nothing.  A delete already run in the open turn stays:
 * the bot cannot write the rejoined member's row before that turn commits.
 * Returns how many were dropped. */
size_t turn_cancel_member_delete(struct dc_daemon *d, uint64_t guild_id, uint64_t user_id);
/* The RESUME replay of shard_id ended (RESUMED, or the connection closed):
 * its waiting writes run in the turn now, or with the retry while held. */
void turn_release_shard(struct dc_daemon *d, int shard_id);
/* Non-zero while writes wait for the database. */
int turn_held(const struct dc_daemon *d);
/* A store call of the turn failed.  When SQLite refused it for a passing
 * reason (busy, disk full) or always_hold is set: roll the turn back, keep
 * its writes, arm the retry, return 1.  Otherwise 0: the caller reports. */
int turn_fail(struct dc_daemon *d, const char *what, int always_hold);
/* The turn's transaction committed: its writes are in the database. */
void turn_committed(struct dc_daemon *d);
/* Shutdown: cancel the retry; say what stays unwritten (a restart replays it). */
void turn_free(struct dc_daemon *d);

#endif
