/* store_pg_kv.c - the PostgreSQL backend's key/value session state
 * (cleaner_session_state: gateway sessions, seqs, the scheduler's times). */
#include "store/store_pg_internal.h"

#include <stdio.h>

static const store_pg_stmt ST_KV_GET = { "dc_kv_get", "SELECT value FROM cleaner_session_state WHERE key = $1" };
static const store_pg_stmt ST_KV_SET = {
    "dc_kv_set",
    "INSERT INTO cleaner_session_state (key, value) VALUES ($1, $2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};
static const store_pg_stmt ST_KV_DEL = { "dc_kv_del", "DELETE FROM cleaner_session_state WHERE key = $1" };
static const store_pg_stmt ST_KV_EACH = { "dc_kv_each", "SELECT key, value FROM cleaner_session_state ORDER BY key" };

dc_err store_pg_kv_get(store *base, const char *key, char *value, size_t cap)
{
    store_pg *p = store_pg_of(base);
    PGresult *r = NULL;
    if (!key || !value || cap == 0)
        return DC_ERR_USAGE;
    dc_err rc = store_pg_run(p, &ST_KV_GET, 1, &key, &r, "reading session state");
    if (rc == DC_OK && PQntuples(r) == 0)
        rc = DC_ERR_NOTFOUND;
    else if (rc == DC_OK)
        snprintf(value, cap, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

dc_err store_pg_kv_set(store *base, const char *key, const char *value)
{
    const char *params[2] = { key, value };
    if (!key || !value)
        return DC_ERR_USAGE;
    return store_pg_write(store_pg_of(base), &ST_KV_SET, 2, params, NULL, "writing session state");
}

dc_err store_pg_kv_del(store *base, const char *key)
{
    if (!key)
        return DC_ERR_USAGE;
    return store_pg_write(store_pg_of(base), &ST_KV_DEL, 1, &key, NULL, "deleting session state");
}

dc_err store_pg_each_kv(store *base, store_kv_fn fn, void *ctx)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_KV_EACH, 0, NULL, &r, "reading session state");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++)
        if (fn(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)))
            break;
    PQclear(r);
    return rc;
}
