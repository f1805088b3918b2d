/* store_sqlite_grace.c - pending departures on SQLite (store_grace.h, #17;
 * table cleaner_grace of schema/0009).  The expiry takes the record with a
 * DELETE ... RETURNING: SQLite's one write lock serialises two processes,
 * so the second finds no record and deletes nothing -- the rows go once. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>

static void bind_ids(sqlite3_stmt *st, uint64_t guild_id, uint64_t user_id)
{
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    sqlite3_bind_int64(st, 2, (int64_t)user_id);
}

/* One statement as one write (its own transaction, a savepoint or bare). */
static dc_err write_one(store_sqlite *s, sqlite3_stmt *st, const char *what, int64_t *changed)
{
    store_op_mode mode;
    dc_err rc = store_sqlite_op_begin(s, &mode);
    if (rc != DC_OK) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return rc;
    }
    rc = store_sqlite_step_done(s, st, what);
    int64_t n = rc == DC_OK ? sqlite3_changes64(s->db) : 0;
    rc = store_sqlite_op_end(s, mode, rc);
    if (changed)
        *changed = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_sqlite_grace_mark(store *base, uint64_t guild_id, uint64_t user_id, audit_reason why,
                               int64_t now_ms, int64_t due_ms)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GRACE_MARK);
    if (!st)
        return DC_ERR_DB;
    bind_ids(st, guild_id, user_id);
    sqlite3_bind_text(st, 3, audit_reason_name(why), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    sqlite3_bind_int64(st, 5, due_ms);
    return write_one(s, st, "recording a pending departure", NULL);
}

dc_err store_sqlite_grace_cancel(store *base, uint64_t guild_id, uint64_t user_id, int64_t *n)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GRACE_CANCEL);
    if (!st)
        return DC_ERR_DB;
    bind_ids(st, guild_id, user_id);
    return write_one(s, st, "cancelling a pending departure", n);
}

static void row_of(sqlite3_stmt *st, store_grace_row *r)
{
    int why = store_audit_reason_from_name((const char *)sqlite3_column_text(st, 2));
    r->guild_id = (uint64_t)sqlite3_column_int64(st, 0);
    r->user_id = (uint64_t)sqlite3_column_int64(st, 1);
    r->reason = why < 0 ? AUDIT_MEMBER_REMOVE : (audit_reason)why;
    r->marked_ms = sqlite3_column_int64(st, 3);
    r->due_ms = sqlite3_column_int64(st, 4);
}

dc_err store_sqlite_grace_each(store *base, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GRACE_EACH);
    int rc;
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, due_by_ms);
    sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_grace_row r;
        row_of(st, &r);
        if (fn(ctx, &r))
            break;
    }
    dc_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading pending departures");
    sqlite3_reset(st);
    return e;
}

dc_err store_sqlite_grace_count(store *base, uint64_t guild_id, int64_t *n, int64_t *next_due_ms)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GRACE_COUNT);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *n = sqlite3_column_int64(st, 0);
        *next_due_ms = sqlite3_column_int64(st, 1);
    }
    dc_err e = rc == SQLITE_ROW ? DC_OK : store_sqlite_fail(s, rc, "counting pending departures");
    sqlite3_reset(st);
    return e;
}

/* The record, if still there and due: taken (deleted) and its reason read.
 * *found 0 when there is none. */
static dc_err take(store_sqlite *s, uint64_t guild_id, uint64_t user_id, int64_t now_ms, int *found,
                   audit_reason *why)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GRACE_TAKE);
    if (!st)
        return DC_ERR_DB;
    bind_ids(st, guild_id, user_id);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found) {
        int r = store_audit_reason_from_name((const char *)sqlite3_column_text(st, 0));
        *why = r < 0 ? AUDIT_MEMBER_REMOVE : (audit_reason)r;
        rc = sqlite3_step(st);       /* one row at most (the primary key): done */
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "taking a pending departure");
    sqlite3_reset(st);
    return e;
}

/* The audit row just written gets the departure's reason as its origin. */
static dc_err set_origin(store_sqlite *s, uint64_t guild_id, uint64_t user_id, audit_reason why)
{
    dc_err rc = s->audit_n ? store_sqlite_audit_flush(s) : DC_OK;
    sqlite3_stmt *st = rc == DC_OK ? store_sqlite_stmt(s, ST_GRACE_ORIGIN) : NULL;
    if (!st)
        return rc != DC_OK ? rc : DC_ERR_DB;
    bind_ids(st, guild_id, user_id);
    sqlite3_bind_text(st, 3, audit_reason_name(why), -1, SQLITE_STATIC);
    return store_sqlite_step_done(s, st, "recording the departure's reason in the audit");
}

/* A whole guild's record: its rows, the other records of the guild and its state. */
static dc_err expire_guild(store *base, uint64_t guild_id, int64_t now_ms, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    dc_err rc = store_sqlite_delete_guild(base, guild_id, AUDIT_GRACE_EXPIRED, 0, now_ms, rows);
    sqlite3_stmt *st = rc == DC_OK ? store_sqlite_stmt(s, ST_GRACE_DROP_GUILD) : NULL;
    if (rc != DC_OK || !st)
        return rc != DC_OK ? rc : DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    rc = store_sqlite_step_done(s, st, "dropping a guild's pending departures");
    return rc == DC_OK ? store_sqlite_guild_forget(base, guild_id) : rc;
}

dc_err store_sqlite_grace_expire(store *base, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                                 int *expired, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    store_op_mode mode;
    audit_reason why = AUDIT_MEMBER_REMOVE;
    int found = 0;
    int64_t n = 0;
    dc_err rc = store_sqlite_op_begin(s, &mode);
    if (rc != DC_OK)
        return rc;
    rc = take(s, guild_id, user_id, now_ms, &found, &why);
    if (rc == DC_OK && found)
        rc = user_id ? store_sqlite_delete_member(base, guild_id, user_id, AUDIT_GRACE_EXPIRED, 0, now_ms, &n)
                     : expire_guild(base, guild_id, now_ms, &n);
    if (rc == DC_OK && found)
        rc = set_origin(s, guild_id, user_id, why);
    rc = store_sqlite_op_end(s, mode, rc);
    *expired = rc == DC_OK && found;
    *rows = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_sqlite_grace_mark_stale(store *base, uint64_t guild_id, int64_t now_ms, int64_t due_ms,
                                     int64_t *marked)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GRACE_STALE);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_int64(st, 3, due_ms);
    return write_one(s, st, "recording a sweep's stale rows as pending", marked);
}
