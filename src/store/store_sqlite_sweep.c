/* store_sqlite_sweep.c - the database side of a sweep (see store_sweep.h). */
#include "store/store_sqlite_internal.h"
#include "store/store_sweep.h"

#include <stdlib.h>
#include <string.h>

static dc_err clear_now(store_sqlite *s, uint64_t guild_id)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_CLEAR);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    return store_sqlite_step_done(s, st, "clearing the sweep member set");
}

dc_err store_sqlite_sweep_open(store *base, uint64_t guild_id)
{
    store_sqlite *s = store_sqlite_of(base);
    /* First: a slice cleared later must never take members of this sweep. */
    store_sweep_queue_forget(&s->closed, guild_id);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_CREATE);
    dc_err rc = st ? store_sqlite_step_done(s, st, "creating the sweep member set") : DC_ERR_DB;
    return rc == DC_OK ? clear_now(s, guild_id) : rc;
}

dc_err store_sqlite_sweep_close(store *base, uint64_t guild_id)
{
    store_sqlite *s = store_sqlite_of(base);
    if (store_sweep_queue_push(&s->closed, guild_id) != 0)
        return clear_now(s, guild_id);         /* slow, but nothing is left behind */
    return DC_OK;
}

dc_err store_sqlite_sweep_clear_step(store *base, int limit, int *more)
{
    store_sqlite *s = store_sqlite_of(base);
    *more = s->closed.n > 0;
    if (!*more)
        return DC_OK;
    if (limit <= 0)
        return DC_ERR_USAGE;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_CLEAR_SLICE);
    dc_err rc = DC_ERR_DB;
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)s->closed.guilds[0]);
        sqlite3_bind_int64(st, 2, limit);
        rc = store_sqlite_step_done(s, st, "clearing a slice of a sweep member set");
    }
    /* Done -- or failed: then its rows stay until that guild's next sweep
     * opens the set (which clears it) or the connection closes; retrying a
     * failing statement from a timer would only repeat the error. */
    if (rc != DC_OK || sqlite3_changes(s->db) < limit)
        store_sweep_queue_forget(&s->closed, s->closed.guilds[0]);
    *more = s->closed.n > 0;
    return rc;
}

dc_err store_sqlite_sweep_add(store *base, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_ADD);
    if (!st)
        return DC_ERR_DB;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
        sqlite3_bind_int64(st, 2, (int64_t)ids[i]);
        dc_err rc = store_sqlite_step_done(s, st, "recording a listed member");
        if (rc != DC_OK)
            return rc;
        if (added)
            *added += sqlite3_changes(s->db);   /* 0 for an id already listed */
    }
    return DC_OK;
}

dc_err store_sqlite_sweep_scan(store *base, uint64_t guild_id, int window, int64_t *cursor, int *more,
                               store_scan_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_SWEEP_SCAN);
    int r, seen = 0;
    if (!st)
        return DC_ERR_DB;
    if (window <= 0)
        return DC_ERR_USAGE;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    sqlite3_bind_int64(st, 2, *cursor);
    sqlite3_bind_int64(st, 3, window);
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        *cursor = sqlite3_column_int64(st, 0);
        seen++;
        fn(ctx, (uint64_t)*cursor, sqlite3_column_int(st, 1));
    }
    dc_err rc = r == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, r, "scanning a guild's rows");
    sqlite3_reset(st);
    *more = rc == DC_OK && seen == window;
    return rc;
}

/* Stale ids of one slice, up to cap; where the slice stopped. */
typedef struct {
    int64_t *ids;
    int n, cap;
    int64_t stop_at;                 /* last id handled once ids is full, else 0 */
} stale_ids;

static void collect_stale(void *ctx, uint64_t user_id, int listed)
{
    stale_ids *c = ctx;
    if (c->stop_at)
        return;
    if (!listed)
        c->ids[c->n++] = (int64_t)user_id;
    if (c->n == c->cap)
        c->stop_at = (int64_t)user_id;
}

dc_err store_sqlite_sweep_delete_batch(store *base, uint64_t guild_id, int limit, int window, int64_t now_ms,
                                       int64_t *cursor, int64_t *users, int *more)
{
    *users = 0;
    *more = 0;
    if (limit <= 0)
        return DC_ERR_USAGE;
    /* Ids are read first, then deleted: never delete while a SELECT over the
     * same rows is still stepping. */
    stale_ids c = { .ids = malloc((size_t)limit * sizeof *c.ids), .cap = limit };
    if (!c.ids)
        return DC_ERR_NOMEM;
    int64_t start = *cursor;
    dc_err rc = store_sqlite_sweep_scan(base, guild_id, window, cursor, more, collect_stale, &c);
    if (rc == DC_OK && c.stop_at) {   /* batch full mid-slice: resume right after it */
        *cursor = c.stop_at;
        *more = 1;
    }
    for (int i = 0; rc == DC_OK && i < c.n; i++) {
        rc = store_sqlite_delete_member(base, guild_id, (uint64_t)c.ids[i], AUDIT_SWEEP, 0, now_ms, NULL);
        if (rc == DC_OK)
            (*users)++;
    }
    if (rc != DC_OK)
        *cursor = start;              /* the caller's transaction rolls back: redo the slice */
    free(c.ids);
    return rc;
}
