/* store_pg_schedule.c - the PostgreSQL backend's sweep schedules set by a
 * guild's own admins (cleaner_guild_schedule, schema 10; store.h).
 *
 * The same rules as store_sqlite_schedule.c: an upsert, a delete, a read of
 * one guild (DC_ERR_NOTFOUND without a row) or of all by guild id, and
 * DC_ERR_SCHEMA on a schema older than 10.  Ids as signed BIGINTs, as
 * everywhere in this backend. */
#include "store/store_pg_internal.h"

#include <string.h>

#define SCHEDULE_SCHEMA 10

static const store_pg_stmt ST_SET = {
    "dc_schedule_set",
    "INSERT INTO cleaner_guild_schedule (guild_id, interval_ms, set_by, set_at_ms) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (guild_id) DO UPDATE SET interval_ms = excluded.interval_ms, set_by = excluded.set_by, "
    "set_at_ms = excluded.set_at_ms",
};
static const store_pg_stmt ST_CLEAR = { "dc_schedule_clear", "DELETE FROM cleaner_guild_schedule WHERE guild_id = $1" };
#define SCHEDULE_COLUMNS "SELECT guild_id, interval_ms, set_by, set_at_ms FROM cleaner_guild_schedule "
static const store_pg_stmt ST_GET = { "dc_schedule_get", SCHEDULE_COLUMNS "WHERE guild_id = $1" };
static const store_pg_stmt ST_EACH = { "dc_schedule_each", SCHEDULE_COLUMNS "ORDER BY guild_id" };

dc_err store_pg_schedule_set(store *base, const store_schedule *sc)
{
    store_pg_num g, ms, by, at;
    const char *params[4] = { store_pg_i64(&g, (int64_t)sc->guild_id), store_pg_i64(&ms, sc->interval_ms),
                              store_pg_i64(&by, (int64_t)sc->set_by), store_pg_i64(&at, sc->set_at_ms) };
    if (base->schema_version < SCHEDULE_SCHEMA)
        return DC_ERR_SCHEMA;
    return store_pg_write(store_pg_of(base), &ST_SET, 4, params, NULL, "recording a guild's schedule");
}

dc_err store_pg_schedule_clear(store *base, uint64_t guild_id)
{
    store_pg_num g;
    const char *param = store_pg_i64(&g, (int64_t)guild_id);
    if (base->schema_version < SCHEDULE_SCHEMA)
        return DC_ERR_SCHEMA;
    return store_pg_write(store_pg_of(base), &ST_CLEAR, 1, &param, NULL, "clearing a guild's schedule");
}

/* The rows of st to fn until it says stop; *found: there was one. */
static dc_err each_row(store *base, const store_pg_stmt *st, int n, const char *const *params,
                       store_schedule_fn fn, void *ctx, int *found)
{
    PGresult *r = NULL;
    *found = 0;
    if (base->schema_version < SCHEDULE_SCHEMA)
        return DC_ERR_SCHEMA;
    dc_err rc = store_pg_run(store_pg_of(base), st, n, params, &r, "reading guild schedules");
    *found = rc == DC_OK && PQntuples(r) > 0;
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        store_schedule sc = { .guild_id = (uint64_t)store_pg_int(r, i, 0), .interval_ms = store_pg_int(r, i, 1),
                              .set_by = (uint64_t)store_pg_int(r, i, 2), .set_at_ms = store_pg_int(r, i, 3) };
        if (fn(ctx, &sc) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

static int copy_one(void *ctx, const store_schedule *sc)
{
    *(store_schedule *)ctx = *sc;
    return 1;
}

dc_err store_pg_schedule_get(store *base, uint64_t guild_id, store_schedule *out)
{
    store_pg_num g;
    const char *param = store_pg_i64(&g, (int64_t)guild_id);
    int found;
    dc_err rc = each_row(base, &ST_GET, 1, &param, copy_one, out, &found);
    return rc == DC_OK && !found ? DC_ERR_NOTFOUND : rc;
}

dc_err store_pg_each_schedule(store *base, store_schedule_fn fn, void *ctx)
{
    int found;
    return each_row(base, &ST_EACH, 0, NULL, fn, ctx, &found);
}
