/* store_pg_requests.c - the PostgreSQL backend's sweep requests
 * (cleaner_sweep_requests, store_requests.h): `discord-cleaner sweep`
 * hands its request to the running daemon through the database.
 *
 * The same rules as store_sqlite_requests.c: ids are never reused (an
 * identity column; the new id comes back with INSERT ... RETURNING), open
 * requests are read in id order, an answer sets done_ms, status and
 * outcome, and a request not found is DC_ERR_NOTFOUND.  Each call is one
 * write of its own (the callers keep no transaction open). */
#include "store/store_pg_internal.h"
#include "store/store_requests.h"

#include <stdlib.h>
#include <string.h>

static const store_pg_stmt ST_REQ_ADD = {
    "dc_req_add",
    "INSERT INTO cleaner_sweep_requests (guild_id, force, dry_run, requester, requested_ms) "
    "VALUES ($1, $2, $3, $4, $5) RETURNING id",
};
static const store_pg_stmt ST_REQ_OPEN = {
    "dc_req_open",
    "SELECT id, guild_id, force, dry_run, requester FROM cleaner_sweep_requests "
    "WHERE done_ms IS NULL AND id > $1 ORDER BY id",
};
static const store_pg_stmt ST_REQ_ANSWER = {
    "dc_req_answer",
    "UPDATE cleaner_sweep_requests SET done_ms = $2, status = $3, outcome = $4 WHERE id = $1",
};
static const store_pg_stmt ST_REQ_GET = {
    "dc_req_get",
    "SELECT (done_ms IS NOT NULL)::int, coalesce(status, 0), outcome FROM cleaner_sweep_requests WHERE id = $1",
};
static const store_pg_stmt ST_REQ_DELETE = { "dc_req_delete", "DELETE FROM cleaner_sweep_requests WHERE id = $1" };

dc_err store_pg_request_add(store *base, const store_request *q, int64_t now_ms, int64_t *id)
{
    store_pg_num g, who, t;
    const char *params[5] = { store_pg_i64(&g, (int64_t)q->guild_id), q->force ? "1" : "0", q->dry_run ? "1" : "0",
                              store_pg_i64(&who, q->requester), store_pg_i64(&t, now_ms) };
    PGresult *r = NULL;
    dc_err rc = store_pg_write(store_pg_of(base), &ST_REQ_ADD, 5, params, &r, "adding a sweep request");
    if (rc == DC_OK)
        *id = store_pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

dc_err store_pg_request_each_open(store *base, int64_t after_id, store_request_fn fn, void *ctx)
{
    store_pg_num after;
    const char *param = store_pg_i64(&after, after_id);
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_REQ_OPEN, 1, &param, &r, "reading sweep requests");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        store_request q = { .id = store_pg_int(r, i, 0),
                            .guild_id = (uint64_t)store_pg_int(r, i, 1),
                            .force = (int)store_pg_int(r, i, 2),
                            .dry_run = (int)store_pg_int(r, i, 3),
                            .requester = (long)store_pg_int(r, i, 4) };
        if (fn(ctx, &q) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

dc_err store_pg_request_answer(store *base, int64_t id, int64_t now_ms, int status, const char *outcome)
{
    store_pg_num i, t, st;
    const char *params[4] = { store_pg_i64(&i, id), store_pg_i64(&t, now_ms), store_pg_i64(&st, status),
                              outcome ? outcome : "" };
    return store_pg_write(store_pg_of(base), &ST_REQ_ANSWER, 4, params, NULL, "answering a sweep request");
}

dc_err store_pg_request_get(store *base, int64_t id, int *answered, int *status, char **outcome)
{
    store_pg_num i;
    const char *param = store_pg_i64(&i, id);
    PGresult *r = NULL;
    *outcome = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_REQ_GET, 1, &param, &r, "reading a sweep request");
    if (rc == DC_OK && PQntuples(r) == 0)
        rc = DC_ERR_NOTFOUND;
    if (rc == DC_OK) {
        *answered = (int)store_pg_int(r, 0, 0);
        *status = (int)store_pg_int(r, 0, 1);
        if (*answered && !(*outcome = strdup(PQgetvalue(r, 0, 2))))
            rc = DC_ERR_NOMEM;
    }
    PQclear(r);
    return rc;
}

dc_err store_pg_request_delete(store *base, int64_t id)
{
    store_pg_num i;
    const char *param = store_pg_i64(&i, id);
    return store_pg_write(store_pg_of(base), &ST_REQ_DELETE, 1, &param, NULL, "deleting a sweep request");
}
