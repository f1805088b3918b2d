/* grace_live.h - the grace period in the live daemon (#17): departures
 * marked pending instead of deleted, rejoins that cancel them, the timer
 * that expires them at their due time, and the optional direct message.
 *
 * The decisions are policy/grace.c's; the records live in the database
 * (store/store_grace.h), so a restart or a crash neither forgets nor
 * hurries them.  Every write goes through the turn's journal (turn.c):
 * marks and cancels ride the turn's transaction (on PostgreSQL its
 * pipeline: no round trip per member), and an expiry deletes the rows and
 * its record in one transaction, once -- a record another process took
 * first is simply gone.  A process expires only its own shards' guilds. */
#ifndef DC_GRACE_LIVE_H
#define DC_GRACE_LIVE_H

#include <stdint.h>

#include "loop/loop.h"
#include "policy/grace.h"
#include "proto/proto.h"

struct dc_daemon;
struct shard;

typedef struct {
    dc_timer timer;                  /* the next look for due records */
    int armed;
    int64_t armed_due_ms;            /* wall time it wakes for (0: a plain look) */
    int maybe_pending;               /* records may exist: rejoins cancel them */
    int warned_dry_run;
    grace_notice_limit notices;
    int64_t notices_failed;          /* DMs Discord refused (50007 and the like) */
} grace_live;

/* After start-up (daemon_start_work): look for records at once. */
void grace_live_start(struct dc_daemon *d);
void grace_live_free(struct dc_daemon *d);
/* A departure (user_id 0: the whole guild, after a confirmed GUILD_DELETE
 * or a guild left while offline).  1 when the grace period takes it (a
 * pending mark went into the journal, and the notice may go); 0 when the
 * caller deletes now, as without a grace period (also in a dry run). */
int grace_live_departure(struct dc_daemon *d, const struct shard *s, uint64_t guild_id, uint64_t user_id,
                         audit_reason why);
/* GUILD_MEMBER_ADD (user_id) or GUILD_CREATE (user_id 0): a pending
 * departure of it is cancelled, its rows stay. */
void grace_live_rejoin(struct dc_daemon *d, const struct shard *s, uint64_t guild_id, uint64_t user_id);
/* A sweep's delete step with a grace period: the guild's stale rows are
 * marked pending instead (one statement) and the sweep told so.  0 when
 * the sweep deletes as usual (no grace period, or a dry run). */
int grace_live_sweep_batch(struct shard *s, uint64_t guild_id, int dry_run);
/* For status: records and the earliest due time (0 none); -1 counts when
 * the database could not say. */
void grace_live_status(struct dc_daemon *d, int64_t *pending, int64_t *next_due_ms);

/* For !cleanup_test: the guild's pending members (commands_format_pending);
 * "" when none. */
void grace_live_pending_text(struct dc_daemon *d, uint64_t guild_id, char *buf, size_t cap);

#endif
