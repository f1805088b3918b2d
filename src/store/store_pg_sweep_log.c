/* store_pg_sweep_log.c - the PostgreSQL backend's sweep history
 * (cleaner_sweep_log, schema 11; store.h).  The same rules as
 * store_sqlite_sweep_log.c; the insert goes out in the turn's pipeline like
 * any write whose rows do not matter. */
#include "store/store_pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SWEEP_LOG_SCHEMA 11

static const store_pg_stmt ST_ADD = {
    "dc_sweep_log_add",
    "INSERT INTO cleaner_sweep_log (guild_id, started_ms, at_ms, duration_ms, removed, result, dry_run) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)",
};
static const store_pg_stmt ST_RECENT = {
    "dc_sweep_log_recent",
    "SELECT guild_id, started_ms, at_ms, duration_ms, removed, result, dry_run::int FROM cleaner_sweep_log "
    "ORDER BY at_ms DESC, id DESC LIMIT $1",
};
static const store_pg_stmt ST_PRUNE = { "dc_sweep_log_prune", "DELETE FROM cleaner_sweep_log WHERE at_ms < $1" };

dc_err store_pg_sweep_log_add(store *base, const store_sweep_log_row *r)
{
    if (base->schema_version < SWEEP_LOG_SCHEMA)
        return DC_ERR_SCHEMA;
    store_pg_num g, st, at, dur, rm;
    const char *params[7] = { store_pg_i64(&g, (int64_t)r->guild_id), store_pg_i64(&st, r->started_ms),
                              store_pg_i64(&at, r->at_ms), store_pg_i64(&dur, r->duration_ms),
                              store_pg_i64(&rm, r->removed), r->result, r->dry_run ? "true" : "false" };
    return store_pg_write(store_pg_of(base), &ST_ADD, 7, params, NULL, "recording a sweep in the history");
}

dc_err store_pg_sweep_log_recent(store *base, int limit, store_sweep_log_fn fn, void *ctx)
{
    if (base->schema_version < SWEEP_LOG_SCHEMA)
        return DC_ERR_SCHEMA;
    store_pg_num n;
    const char *param = store_pg_i64(&n, limit);
    PGresult *res = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_RECENT, 1, &param, &res, "reading the sweep history");
    for (int i = 0; rc == DC_OK && i < PQntuples(res); i++) {
        store_sweep_log_row r = { .guild_id = (uint64_t)store_pg_int(res, i, 0), .started_ms = store_pg_int(res, i, 1),
                                  .at_ms = store_pg_int(res, i, 2), .duration_ms = store_pg_int(res, i, 3),
                                  .removed = store_pg_int(res, i, 4), .dry_run = store_pg_int(res, i, 6) != 0 };
        snprintf(r.result, sizeof r.result, "%s", PQgetvalue(res, i, 5));
        if (fn(ctx, &r) != 0)
            break;
    }
    PQclear(res);
    return rc;
}

dc_err store_pg_sweep_log_prune(store *base, int64_t older_than_ms, int64_t *pruned)
{
    if (base->schema_version < SWEEP_LOG_SCHEMA)
        return DC_ERR_SCHEMA;
    store_pg_num older;
    const char *param = store_pg_i64(&older, older_than_ms);
    PGresult *r = NULL;
    dc_err rc = store_pg_write(store_pg_of(base), &ST_PRUNE, 1, &param, &r, "pruning the sweep history");
    if (pruned)
        *pruned = rc == DC_OK && r ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return rc;
}
