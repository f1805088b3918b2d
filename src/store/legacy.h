/* legacy.h - recognise and rebuild the bot's original single-guild users table.
 *
 * Shapes of `users`:
 *   absent  - nothing to keep; migration 0001 creates the target table
 *   target  - has guild_id and a UNIQUE(discord_id, guild_id) index: kept
 *   legacy  - discord_id unique (column constraint, unique index or primary
 *             key) and no guild_id: rebuilt by legacy_rebuild()
 *   unknown - anything else: refused, we do not guess with someone's data */
#ifndef DC_LEGACY_H
#define DC_LEGACY_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "base/err.h"

typedef enum { USERS_ABSENT, USERS_TARGET, USERS_LEGACY, USERS_UNKNOWN } legacy_shape;

/* why receives the reason for USERS_UNKNOWN. */
dc_err legacy_classify(sqlite3 *db, legacy_shape *shape, char *why, size_t whylen);

/* SQLite's 12-step table rebuild, inside the caller's transaction (the
 * caller turns foreign_keys off and legacy_alter_table on around it).
 * guild_id 0 leaves rows unassigned (NULL).  *rows: rows copied. */
dc_err legacy_rebuild(sqlite3 *db, uint64_t guild_id, int64_t *rows, char *err, size_t errlen);

/* Test hook: added to the copied row count so a mismatch can be forced. */
extern int64_t legacy_test_row_skew;

#endif
