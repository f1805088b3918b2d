/* replay_seed.h - a fixture's seed SQL, run as data only (replay_seed.c). */
#ifndef DC_REPLAY_SEED_H
#define DC_REPLAY_SEED_H

#include <stddef.h>
#include <sqlite3.h>

/* Runs sql on the database at db_path in one transaction, under an
 * authorizer that allows only INSERT into its tables (and, with allow_ddl,
 * CREATE TABLE / CREATE INDEX, for pre_migration_sql).  Anything else --
 * ATTACH, DELETE, UPDATE, DROP, PRAGMA, load_extension, BEGIN/COMMIT of its
 * own -- refuses the whole text: nothing of it is applied.  0 on success,
 * -1 with err set. */
int replay_seed_exec(const char *db_path, const char *sql, int allow_ddl, char *err, size_t errlen);

#endif
