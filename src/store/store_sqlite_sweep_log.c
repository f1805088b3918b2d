/* store_sqlite_sweep_log.c - the SQLite backend's sweep history
 * (cleaner_sweep_log, schema 11; store.h): a row per finished sweep, the
 * newest read back for the stats page, the old ones pruned with the audit.
 * A schema older than 11 (a read-only `status` of a database not migrated
 * yet) answers DC_ERR_SCHEMA, never an SQL error about a missing table. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>
#include <string.h>

#define SWEEP_LOG_SCHEMA 11

dc_err store_sqlite_sweep_log_add(store *base, const store_sweep_log_row *r)
{
    store_sqlite *s = store_sqlite_of(base);
    if (base->schema_version < SWEEP_LOG_SCHEMA)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_LOG_ADD);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)r->guild_id);
        sqlite3_bind_int64(st, 2, r->started_ms);
        sqlite3_bind_int64(st, 3, r->at_ms);
        sqlite3_bind_int64(st, 4, r->duration_ms);
        sqlite3_bind_int64(st, 5, r->removed);
        sqlite3_bind_text(st, 6, r->result, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 7, r->dry_run != 0);
    }
    return store_sqlite_write_stmt(s, st, "recording a sweep in the history");
}

dc_err store_sqlite_sweep_log_recent(store *base, int limit, store_sweep_log_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    if (base->schema_version < SWEEP_LOG_SCHEMA)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_LOG_RECENT);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int(st, 1, limit);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_sweep_log_row r = { .guild_id = (uint64_t)sqlite3_column_int64(st, 0),
                                  .started_ms = sqlite3_column_int64(st, 1),
                                  .at_ms = sqlite3_column_int64(st, 2),
                                  .duration_ms = sqlite3_column_int64(st, 3),
                                  .removed = sqlite3_column_int64(st, 4),
                                  .dry_run = sqlite3_column_int(st, 6) };
        const unsigned char *text = sqlite3_column_text(st, 5);
        snprintf(r.result, sizeof r.result, "%s", text ? (const char *)text : "");
        if (fn(ctx, &r) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading the sweep history");
    sqlite3_reset(st);
    return e;
}

dc_err store_sqlite_sweep_log_prune(store *base, int64_t older_than_ms, int64_t *pruned)
{
    store_sqlite *s = store_sqlite_of(base);
    if (base->schema_version < SWEEP_LOG_SCHEMA)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_LOG_PRUNE);
    if (st)
        sqlite3_bind_int64(st, 1, older_than_ms);
    dc_err rc = store_sqlite_write_stmt(s, st, "pruning the sweep history");
    if (pruned)
        *pruned = rc == DC_OK ? sqlite3_changes64(s->db) : 0;
    return rc;
}
