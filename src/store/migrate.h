/* migrate.h - bring an SQLite database to the latest schema (internal to the
 * SQLite backend: store_sqlite.c).
 *
 * Migrations are schema/NNNN_name.sql, embedded as schema_migrations[].  Each
 * pending one runs in its own BEGIN IMMEDIATE transaction that also sets
 * PRAGMA user_version.  Before migration 1 the `users` table is classified:
 * absent (0001 creates it), already in the target shape (kept), or the bot's
 * legacy single-guild table (rebuilt, see legacy.c).  Before touching an
 * existing database it is copied with the online backup API to
 * <path>.pre-migration-<YYYYmmddTHHMMSSZ>.bak. */
#ifndef DC_MIGRATE_H
#define DC_MIGRATE_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "base/err.h"
#include "store/store.h"

int migrate_latest_version(void);

/* read_only: only report (rep->from_version/to_version stay equal). */
dc_err migrate_run(sqlite3 *db, const char *path, uint64_t legacy_guild_id, int read_only,
                   store_migration_report *rep, char *err, size_t errlen);

/* Copy the open database to dest with sqlite3_backup_*. */
dc_err migrate_backup(sqlite3 *db, const char *dest, char *err, size_t errlen);

#endif
