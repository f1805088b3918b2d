/* store_sqlite_schedule.c - the SQLite backend's sweep schedules set by a
 * guild's own admins (cleaner_guild_schedule, schema 10; store.h).
 *
 * Its own file so the schedule is one concern: an upsert, a delete and a
 * read of one guild or all.  A schema older than 10 (a read-only `status`
 * of a database not migrated yet) answers DC_ERR_SCHEMA, never an SQL
 * error about a missing table. */
#include "store/store_sqlite_internal.h"

#include <string.h>
#include "store/sqlutil.h"

#define SCHEDULE_SCHEMA 10

dc_err store_sqlite_schedule_set(store *base, const store_schedule *sc)
{
    store_sqlite *s = store_sqlite_of(base);
    if (base->schema_version < SCHEDULE_SCHEMA)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SCHEDULE_SET);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)sc->guild_id);
        sqlite3_bind_int64(st, 2, sc->interval_ms);
        sqlite3_bind_int64(st, 3, (int64_t)sc->set_by);
        sqlite3_bind_int64(st, 4, sc->set_at_ms);
    }
    return store_sqlite_write_stmt(s, st, "recording a guild's schedule");
}

dc_err store_sqlite_schedule_clear(store *base, uint64_t guild_id)
{
    store_sqlite *s = store_sqlite_of(base);
    if (base->schema_version < SCHEDULE_SCHEMA)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SCHEDULE_CLEAR);
    if (st)
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    return store_sqlite_write_stmt(s, st, "clearing a guild's schedule");
}

/* guild_id 0: every guild.  *found: a row was seen. */
static dc_err each(store_sqlite *s, uint64_t guild_id, store_schedule_fn fn, void *ctx, int *found)
{
    *found = 0;
    if (s->head.schema_version < SCHEDULE_SCHEMA)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, guild_id ? ST_SCHEDULE_GET : ST_SCHEDULE_EACH);
    int rc;
    if (!st)
        return DC_ERR_DB;
    if (guild_id)                    /* one statement each: "?1 IS NULL OR" scans the table */
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_schedule sc = { .guild_id = (uint64_t)sqlite3_column_int64(st, 0),
                              .interval_ms = sqlite3_column_int64(st, 1),
                              .set_by = (uint64_t)sqlite3_column_int64(st, 2),
                              .set_at_ms = sqlite3_column_int64(st, 3) };
        *found = 1;
        if (fn(ctx, &sc) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    if (rc != SQLITE_DONE)
        store_sqlite_fail(s, rc, "reading guild schedules");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? DC_OK : DC_ERR_DB;
}

static int copy_one(void *ctx, const store_schedule *sc)
{
    *(store_schedule *)ctx = *sc;
    return 1;
}

dc_err store_sqlite_schedule_get(store *base, uint64_t guild_id, store_schedule *out)
{
    int found;
    dc_err rc = each(store_sqlite_of(base), guild_id, copy_one, out, &found);
    return rc == DC_OK && !found ? DC_ERR_NOTFOUND : rc;
}

dc_err store_sqlite_each_schedule(store *base, store_schedule_fn fn, void *ctx)
{
    int found;
    return each(store_sqlite_of(base), 0, fn, ctx, &found);
}
