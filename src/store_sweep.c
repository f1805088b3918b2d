/* store_sweep.c - the database side of a sweep (see store_sweep.h). */
#include "store_int.h"
#include "store_sweep.h"

#include <stdlib.h>

dc_err store_sweep_open(store *s, uint64_t guild_id)
{
    sqlite3_stmt *st = store_stmt(s, ST_SWEEP_CREATE);
    dc_err rc = st ? store_step_done(s, st, "creating the sweep member set") : DC_ERR_DB;
    if (rc != DC_OK)
        return rc;
    st = store_stmt(s, ST_SWEEP_CLEAR);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    return store_step_done(s, st, "clearing the sweep member set");
}

dc_err store_sweep_close(store *s, uint64_t guild_id)
{
    sqlite3_stmt *st = store_stmt(s, ST_SWEEP_CLEAR);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    return store_step_done(s, st, "clearing the sweep member set");
}

dc_err store_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n)
{
    sqlite3_stmt *st = store_stmt(s, ST_SWEEP_ADD);
    if (!st)
        return DC_ERR_DB;
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
        sqlite3_bind_int64(st, 2, (int64_t)ids[i]);
        dc_err rc = store_step_done(s, st, "recording a listed member");
        if (rc != DC_OK)
            return rc;
    }
    return DC_OK;
}

dc_err store_sweep_measure(store *s, uint64_t guild_id, int64_t *stale, int64_t *total,
                           uint64_t *sample, size_t cap, size_t *n_sample)
{
    sqlite3_stmt *st = store_stmt(s, ST_SWEEP_STALE);
    dc_err rc;
    *n_sample = 0;
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    if ((rc = store_step_int(s, st, stale, "counting stale rows")) != DC_OK ||
        (rc = store_count_guild(s, guild_id, total)) != DC_OK)
        return rc;
    if (!(st = store_stmt(s, ST_SWEEP_SAMPLE)))
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    sqlite3_bind_int64(st, 2, (int64_t)cap);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && *n_sample < cap)
        sample[(*n_sample)++] = (uint64_t)sqlite3_column_int64(st, 0);
    rc = r == SQLITE_ROW || r == SQLITE_DONE ? DC_OK : store_fail(s, r, "sampling stale rows");
    sqlite3_reset(st);
    return rc;
}

/* The next batch of stale user ids after *cursor. */
static dc_err next_batch(store *s, uint64_t guild_id, int limit, int64_t cursor, int64_t *ids, int *n)
{
    sqlite3_stmt *st = store_stmt(s, ST_SWEEP_BATCH);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    sqlite3_bind_int64(st, 2, cursor);
    sqlite3_bind_int64(st, 3, limit);
    int r;
    *n = 0;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < limit)
        ids[(*n)++] = sqlite3_column_int64(st, 0);
    dc_err rc = r == SQLITE_ROW || r == SQLITE_DONE ? DC_OK : store_fail(s, r, "listing stale rows");
    sqlite3_reset(st);
    return rc;
}

dc_err store_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int64_t now_ms,
                                int64_t *cursor, int64_t *users)
{
    int n = 0;
    *users = 0;
    if (limit <= 0)
        return DC_ERR_USAGE;
    /* Ids are read first, then deleted: never delete while a SELECT over the
     * same rows is still stepping. */
    int64_t *ids = malloc((size_t)limit * sizeof *ids);
    if (!ids)
        return DC_ERR_NOMEM;
    dc_err rc = next_batch(s, guild_id, limit, *cursor, ids, &n);
    for (int i = 0; rc == DC_OK && i < n; i++) {
        rc = store_delete_member(s, guild_id, (uint64_t)ids[i], AUDIT_SWEEP, 0, now_ms, NULL);
        if (rc == DC_OK) {
            *cursor = ids[i];
            (*users)++;
        }
    }
    free(ids);
    return rc;
}
