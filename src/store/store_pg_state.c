/* store_pg_state.c - the PostgreSQL backend's per-guild state
 * (cleaner_guild_state): what the daemon knows of each guild it has seen,
 * the outcome of its last sweep and its name.
 *
 * The same rules as store_sqlite_state.c: every setter is an upsert that
 * creates the row with the other columns at their defaults and keeps them
 * on an existing row; a guild without a row is DC_ERR_NOTFOUND; a sweep's
 * result text is cut whole (store_copy_whole); the name calls answer
 * DC_ERR_SCHEMA on a schema older than 5 (a read-only `status` of a
 * database not migrated yet).  Ids are stored as SQLite stores them, the
 * snowflake's 64 bits as a signed BIGINT. */
#include "store/store_pg_internal.h"

#include <stdio.h>
#include <string.h>

#define STATE_COLUMNS                                                                \
    "SELECT guild_id, shard_id, last_seen_ms, unavailable, needs_reconcile, "        \
    "last_sweep_ms, last_sweep_removed, last_sweep_duration_ms, last_sweep_result "  \
    "FROM cleaner_guild_state "

static const store_pg_stmt ST_SEEN = {
    "dc_state_seen",
    "INSERT INTO cleaner_guild_state (guild_id, shard_id, last_seen_ms) VALUES ($1, $2, $3) "
    "ON CONFLICT (guild_id) DO UPDATE SET shard_id = excluded.shard_id, last_seen_ms = excluded.last_seen_ms",
};
static const store_pg_stmt ST_UNAVAILABLE = {
    "dc_state_unavailable",
    "INSERT INTO cleaner_guild_state (guild_id, unavailable) VALUES ($1, $2) "
    "ON CONFLICT (guild_id) DO UPDATE SET unavailable = excluded.unavailable",
};
static const store_pg_stmt ST_RECONCILE = {
    "dc_state_reconcile",
    "INSERT INTO cleaner_guild_state (guild_id, needs_reconcile) VALUES ($1, $2) "
    "ON CONFLICT (guild_id) DO UPDATE SET needs_reconcile = excluded.needs_reconcile",
};
static const store_pg_stmt ST_SWEEP = {
    "dc_state_sweep",
    "INSERT INTO cleaner_guild_state (guild_id, last_sweep_ms, last_sweep_removed, "
    "last_sweep_duration_ms, last_sweep_result) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (guild_id) DO UPDATE SET last_sweep_ms = excluded.last_sweep_ms, "
    "last_sweep_removed = excluded.last_sweep_removed, "
    "last_sweep_duration_ms = excluded.last_sweep_duration_ms, "
    "last_sweep_result = excluded.last_sweep_result",
};
static const store_pg_stmt ST_FORGET = { "dc_state_forget", "DELETE FROM cleaner_guild_state WHERE guild_id = $1" };
/* schema 5 (0005_guild_name.sql) */
static const store_pg_stmt ST_NAME_SET = {
    "dc_state_name_set",
    "INSERT INTO cleaner_guild_state (guild_id, name) VALUES ($1, $2) "
    "ON CONFLICT (guild_id) DO UPDATE SET name = excluded.name",
};
static const store_pg_stmt ST_NAME_GET = { "dc_state_name_get", "SELECT name FROM cleaner_guild_state WHERE guild_id = $1" };
static const store_pg_stmt ST_NAME_EACH = {
    "dc_state_name_each",
    "SELECT guild_id, name FROM cleaner_guild_state WHERE name IS NOT NULL AND name <> '' ORDER BY guild_id",
};
/* One guild, or all of them: two statements, since an untyped parameter
 * compared with NULL has no type to take. */
static const store_pg_stmt ST_GET = { "dc_state_get", STATE_COLUMNS "WHERE guild_id = $1" };
static const store_pg_stmt ST_EACH = { "dc_state_each", STATE_COLUMNS "ORDER BY guild_id" };

static const char *guild_param(store_pg_num *b, uint64_t guild_id)
{
    return store_pg_i64(b, (int64_t)guild_id);
}

dc_err store_pg_guild_seen(store *base, uint64_t guild_id, int shard_id, int64_t now_ms)
{
    store_pg_num g, sh, t;
    const char *params[3] = { guild_param(&g, guild_id), store_pg_i64(&sh, shard_id), store_pg_i64(&t, now_ms) };
    return store_pg_write(store_pg_of(base), &ST_SEEN, 3, params, NULL, "recording a guild");
}

static dc_err set_flag(store *base, const store_pg_stmt *st, uint64_t guild_id, int value)
{
    store_pg_num g;
    const char *params[2] = { guild_param(&g, guild_id), value ? "1" : "0" };
    return store_pg_write(store_pg_of(base), st, 2, params, NULL, "updating guild state");
}

dc_err store_pg_guild_set_unavailable(store *base, uint64_t guild_id, int unavailable)
{
    return set_flag(base, &ST_UNAVAILABLE, guild_id, unavailable);
}

dc_err store_pg_guild_set_needs_reconcile(store *base, uint64_t guild_id, int needs)
{
    return set_flag(base, &ST_RECONCILE, guild_id, needs);
}

dc_err store_pg_guild_set_last_sweep(store *base, uint64_t guild_id, int64_t when_ms, int64_t removed,
                                     int64_t duration_ms, const char *result)
{
    store_pg_num g, w, r, d;
    const char *params[5] = { guild_param(&g, guild_id), store_pg_i64(&w, when_ms), store_pg_i64(&r, removed),
                              store_pg_i64(&d, duration_ms), result ? result : "" };
    return store_pg_write(store_pg_of(base), &ST_SWEEP, 5, params, NULL, "recording a sweep");
}

dc_err store_pg_guild_forget(store *base, uint64_t guild_id)
{
    store_pg_num g;
    const char *param = guild_param(&g, guild_id);
    return store_pg_write(store_pg_of(base), &ST_FORGET, 1, &param, NULL, "forgetting a guild");
}

dc_err store_pg_guild_set_name(store *base, uint64_t guild_id, const char *name)
{
    store_pg_num g;
    const char *params[2] = { guild_param(&g, guild_id), name ? name : "" };
    if (base->schema_version < 5)
        return DC_ERR_SCHEMA;
    return store_pg_write(store_pg_of(base), &ST_NAME_SET, 2, params, NULL, "recording a guild's name");
}

dc_err store_pg_guild_get_name(store *base, uint64_t guild_id, char *buf, size_t cap)
{
    store_pg_num g;
    const char *param = guild_param(&g, guild_id);
    PGresult *r = NULL;
    if (cap)
        buf[0] = '\0';
    if (base->schema_version < 5)
        return DC_ERR_SCHEMA;        /* not migrated yet: no names, no error lines */
    dc_err rc = store_pg_run(store_pg_of(base), &ST_NAME_GET, 1, &param, &r, "reading a guild's name");
    if (rc == DC_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && cap)
        snprintf(buf, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc != DC_OK ? rc : cap && buf[0] ? DC_OK : DC_ERR_NOTFOUND;
}

dc_err store_pg_each_guild_name(store *base, store_guild_name_fn fn, void *ctx)
{
    PGresult *r = NULL;
    if (base->schema_version < 5)
        return DC_ERR_SCHEMA;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_NAME_EACH, 0, NULL, &r, "reading the guilds' names");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++)
        if (fn(ctx, (uint64_t)store_pg_int(r, i, 0), PQgetvalue(r, i, 1)))
            break;
    PQclear(r);
    return rc;
}

static void guild_from_row(const PGresult *r, int i, store_guild_state *g)
{
    memset(g, 0, sizeof *g);
    g->guild_id = (uint64_t)store_pg_int(r, i, 0);
    g->shard_id = (int)store_pg_int(r, i, 1);
    g->last_seen_ms = store_pg_int(r, i, 2);
    g->unavailable = (int)store_pg_int(r, i, 3);
    g->needs_reconcile = (int)store_pg_int(r, i, 4);
    g->last_sweep_ms = store_pg_int(r, i, 5);
    g->last_sweep_removed = store_pg_int(r, i, 6);
    g->last_sweep_duration_ms = store_pg_int(r, i, 7);
    store_copy_whole(g->last_sweep_result, sizeof g->last_sweep_result, PQgetvalue(r, i, 8));
}

/* The rows of st (ST_GET with its guild, or ST_EACH) to fn until it says stop. */
static dc_err each_row(store *base, const store_pg_stmt *st, int n, const char *const *params,
                       store_guild_state_fn fn, void *ctx, int *found)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), st, n, params, &r, "reading guild state");
    *found = rc == DC_OK && PQntuples(r) > 0;
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        store_guild_state g;
        guild_from_row(r, i, &g);
        if (fn(ctx, &g) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

static int copy_one(void *ctx, const store_guild_state *g)
{
    *(store_guild_state *)ctx = *g;
    return 1;
}

dc_err store_pg_guild_get(store *base, uint64_t guild_id, store_guild_state *out)
{
    store_pg_num g;
    const char *param = guild_param(&g, guild_id);
    int found = 0;
    if (!guild_id)
        return DC_ERR_NOTFOUND;
    dc_err rc = each_row(base, &ST_GET, 1, &param, copy_one, out, &found);
    return rc == DC_OK && !found ? DC_ERR_NOTFOUND : rc;
}

dc_err store_pg_each_guild_state(store *base, store_guild_state_fn fn, void *ctx)
{
    int found;
    return each_row(base, &ST_EACH, 0, NULL, fn, ctx, &found);
}
