/* store_sweep.h - the database side of a reconciliation sweep.
 *
 * A sweep streams the guild's member ids into the database (a TEMP table
 * in the SQLite backend; never a whole guild in memory), then works on the
 * set difference
 *     rows of the guild in `users`  minus  listed members
 * Rows with guild_id NULL are never part of it. */
#ifndef DC_STORE_SWEEP_H
#define DC_STORE_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

/* Start an empty member set for guild_id (replacing any left over). */
dc_err store_sweep_open(store *s, uint64_t guild_id);
/* *added (may be NULL) grows by the ids not listed before: the set's size. */
dc_err store_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added);
/* One slice of the guild's rows after *cursor (discord_id order), at most
 * `window` rows: fn sees each id and whether it is listed.  *cursor moves to
 * the last id seen; *more is 0 once the guild's rows are exhausted. */
typedef void (*store_scan_fn)(void *ctx, uint64_t user_id, int listed);
dc_err store_sweep_scan(store *s, uint64_t guild_id, int window, int64_t *cursor, int *more,
                        store_scan_fn fn, void *ctx);
/* Delete the stale users (users + clean_tables, audited as `sweep`) of one
 * slice of at most `window` rows after *cursor, stopping early after `limit`
 * users.  *cursor advances past what was handled (so a sweep reads the
 * guild's rows once); *users = users removed; *more = 0 when done. */
dc_err store_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int window, int64_t now_ms,
                                int64_t *cursor, int64_t *users, int *more);
/* The sweep of guild_id is over: its set is cleared later, a slice at a
 * time, by store_sweep_clear_step -- one DELETE of a million-member set
 * holds the loop for ~0.2 s, longer than a heartbeat may wait.  Until then
 * its rows stay; store_sweep_open of the same guild takes it back from the
 * queue before clearing it, so no later slice can touch a new sweep's set. */
dc_err store_sweep_close(store *s, uint64_t guild_id);
/* Delete at most `limit` rows of the oldest closed set.  *more = 1 while any
 * closed set is still queued.  A failed slice drops its set from the queue
 * (its rows stay until that guild's next sweep, harmlessly). */
dc_err store_sweep_clear_step(store *s, int limit, int *more);

#endif
