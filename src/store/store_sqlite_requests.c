/* store_sqlite_requests.c - cleaner_sweep_requests (see store_requests.h).  Few and
 * rare: prepared per call rather than cached in STORE_STMTS. */
#include "store/store_sqlite_internal.h"
#include "store/store_requests.h"

#include <stdlib.h>
#include <string.h>

static sqlite3_stmt *prep(store_sqlite *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        store_sqlite_fail(s, rc, "prepare");
        return NULL;
    }
    return st;
}

/* Steps a write to completion and finalizes it. */
static dc_err run_write(store_sqlite *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, what);
    sqlite3_finalize(st);
    return e;
}

dc_err store_sqlite_request_add(store *base, const store_request *r, int64_t now_ms, int64_t *id)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = prep(s, "INSERT INTO cleaner_sweep_requests (guild_id, force, dry_run, "
                               "requester, requested_ms) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->guild_id);
    sqlite3_bind_int(st, 2, r->force ? 1 : 0);
    sqlite3_bind_int(st, 3, r->dry_run ? 1 : 0);
    sqlite3_bind_int64(st, 4, r->requester);
    sqlite3_bind_int64(st, 5, now_ms);
    dc_err e = run_write(s, st, "adding a sweep request");
    if (e == DC_OK)
        *id = sqlite3_last_insert_rowid(s->db);
    return e;
}

dc_err store_sqlite_request_each_open(store *base, int64_t after_id, store_request_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = prep(s, "SELECT id, guild_id, force, dry_run, requester FROM cleaner_sweep_requests "
                               "WHERE done_ms IS NULL AND id > ?1 ORDER BY id");
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, after_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_request r = { .id = sqlite3_column_int64(st, 0),
                            .guild_id = (uint64_t)sqlite3_column_int64(st, 1),
                            .force = sqlite3_column_int(st, 2),
                            .dry_run = sqlite3_column_int(st, 3),
                            .requester = (long)sqlite3_column_int64(st, 4) };
        if (fn(ctx, &r) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading sweep requests");
    sqlite3_finalize(st);
    return e;
}

dc_err store_sqlite_request_answer(store *base, int64_t id, int64_t now_ms, int status, const char *outcome)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = prep(s, "UPDATE cleaner_sweep_requests SET done_ms = ?2, status = ?3, "
                               "outcome = ?4 WHERE id = ?1");
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int(st, 3, status);
    sqlite3_bind_text(st, 4, outcome ? outcome : "", -1, SQLITE_TRANSIENT);
    return run_write(s, st, "answering a sweep request");
}

dc_err store_sqlite_request_get(store *base, int64_t id, int *answered, int *status, char **outcome)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = prep(s, "SELECT done_ms IS NOT NULL, coalesce(status, 0), outcome "
                               "FROM cleaner_sweep_requests WHERE id = ?1");
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    dc_err e = DC_OK;
    *outcome = NULL;
    if (rc == SQLITE_ROW) {
        *answered = sqlite3_column_int(st, 0);
        *status = sqlite3_column_int(st, 1);
        const char *text = (const char *)sqlite3_column_text(st, 2);
        if (*answered && !(*outcome = strdup(text ? text : "")))
            e = DC_ERR_NOMEM;
    } else {
        e = rc == SQLITE_DONE ? DC_ERR_NOTFOUND : store_sqlite_fail(s, rc, "reading a sweep request");
    }
    sqlite3_finalize(st);
    return e;
}

dc_err store_sqlite_request_delete(store *base, int64_t id)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = prep(s, "DELETE FROM cleaner_sweep_requests WHERE id = ?1");
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, id);
    return run_write(s, st, "deleting a sweep request");
}
