/* store_sweep.h - the database side of a reconciliation sweep.
 *
 * A sweep streams the guild's member ids into a TEMP table (never a whole
 * guild in memory), then works on the set difference
 *     rows of the guild in `users`  minus  listed members
 * Rows with guild_id NULL are never part of it. */
#ifndef DC_STORE_SWEEP_H
#define DC_STORE_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

/* Start an empty member set for guild_id (replacing any left over). */
dc_err store_sweep_open(store *s, uint64_t guild_id);
dc_err store_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n);
/* stale: rows whose user is not listed; total: rows of the guild; sample:
 * up to cap stale ids chosen at random. */
dc_err store_sweep_measure(store *s, uint64_t guild_id, int64_t *stale, int64_t *total,
                           uint64_t *sample, size_t cap, size_t *n_sample);
/* Delete up to limit stale users' rows (users + clean_tables, audited as
 * `sweep`), walking discord_id upwards from *cursor (start at 0; it is
 * advanced past the last user handled, so the whole sweep reads the guild's
 * rows once).  users receives how many users were removed. */
dc_err store_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int64_t now_ms,
                                int64_t *cursor, int64_t *users);
dc_err store_sweep_close(store *s, uint64_t guild_id);

#endif
