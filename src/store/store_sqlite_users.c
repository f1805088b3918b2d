/* store_sqlite_users.c - deletes and counts on users (and the clean_tables).
 * Rows whose guild_id is NULL never match "guild_id = ?", so unassigned
 * legacy rows are out of reach of every delete here. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>
#include "store/sqlutil.h"

/* Run a count (dry run) or delete statement bound to (guild[, user]) and add
 * what it counted or deleted to *rows. */
static dc_err run_counted(store_sqlite *s, sqlite3_stmt *st, int dry_run, uint64_t guild_id,
                          uint64_t user_id, int64_t *rows)
{
    int64_t n = 0;
    dc_err rc;
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, (int64_t)user_id);
    if (dry_run) {
        rc = store_sqlite_step_int(s, st, &n, "counting rows");
    } else {
        rc = store_sqlite_step_done(s, st, "deleting rows");
        n = sqlite3_changes64(s->db);
    }
    if (rc == DC_OK)
        *rows += n;
    return rc;
}

static dc_err member_rows(store_sqlite *s, uint64_t guild_id, uint64_t user_id, int dry_run, int64_t *rows)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, dry_run ? ST_COUNT_MEMBER : ST_DELETE_MEMBER);
    dc_err rc = run_counted(s, st, dry_run, guild_id, user_id, rows);
    for (size_t i = 0; rc == DC_OK && i < s->n_clean; i++) {
        store_clean *c = &s->clean[i];
        rc = run_counted(s, dry_run ? c->count_member : c->delete_member, dry_run,
                         guild_id, user_id, rows);
    }
    return rc;
}

static dc_err guild_rows(store_sqlite *s, uint64_t guild_id, int dry_run, int64_t *rows)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, dry_run ? ST_COUNT_GUILD : ST_DELETE_GUILD);
    dc_err rc = run_counted(s, st, dry_run, guild_id, 0, rows);
    for (size_t i = 0; rc == DC_OK && i < s->n_clean; i++) {
        store_clean *c = &s->clean[i];
        rc = run_counted(s, dry_run ? c->count_guild : c->delete_guild, dry_run, guild_id, 0, rows);
    }
    return rc;
}

static dc_err need_ids(store_sqlite *s, uint64_t guild_id, uint64_t user_id, int want_user)
{
    if (guild_id && (user_id || !want_user))
        return DC_OK;
    snprintf(s->head.errmsg, sizeof s->head.errmsg, "delete needs a guild id%s", want_user ? " and a user id" : "");
    return DC_ERR_USAGE;
}

dc_err store_sqlite_delete_member(store *base, uint64_t guild_id, uint64_t user_id,
                                  audit_reason why, int dry_run, int64_t now_ms, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    int64_t n = 0;
    store_op_mode mode;
    dc_err rc = need_ids(s, guild_id, user_id, 1);
    if (rc != DC_OK || (rc = store_sqlite_op_begin(s, &mode)) != DC_OK)
        return rc;
    rc = member_rows(s, guild_id, user_id, dry_run, &n);
    if (rc == DC_OK)
        rc = store_sqlite_audit_add(s, now_ms, guild_id, user_id, why, dry_run, n);
    rc = store_sqlite_op_end(s, mode, rc);
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_sqlite_delete_guild(store *base, uint64_t guild_id, audit_reason why,
                                 int dry_run, int64_t now_ms, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    int64_t n = 0;
    store_op_mode mode;
    dc_err rc = need_ids(s, guild_id, 0, 0);
    if (rc != DC_OK || (rc = store_sqlite_op_begin(s, &mode)) != DC_OK)
        return rc;
    rc = guild_rows(s, guild_id, dry_run, &n);
    if (rc == DC_OK)
        rc = store_sqlite_audit_add(s, now_ms, guild_id, 0, why, dry_run, n);
    rc = store_sqlite_op_end(s, mode, rc);
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

/* The id after the guild's `limit` lowest (users, discord_id order): the
 * slice is everything below it.  *found = 0 when fewer rows are left. */
static dc_err slice_end(store_sqlite *s, uint64_t guild_id, int limit, int64_t *end, int *found)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_SLICE_END);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    sqlite3_bind_int64(st, 2, limit);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found)
        *end = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "finding a guild's next slice");
}

dc_err store_sqlite_delete_guild_slice(store *base, uint64_t guild_id, int limit, int64_t *rows, int *more)
{
    store_sqlite *s = store_sqlite_of(base);
    int64_t end = 0, n = 0;
    store_op_mode mode;
    *more = 0;
    dc_err rc = need_ids(s, guild_id, 0, 0);
    if (rc == DC_OK && limit <= 0)
        rc = DC_ERR_USAGE;
    if (rc != DC_OK || (rc = store_sqlite_op_begin(s, &mode)) != DC_OK)
        return rc;
    rc = slice_end(s, guild_id, limit, &end, more);
    if (rc == DC_OK && !*more) {
        rc = guild_rows(s, guild_id, 0, &n);            /* the last slice: all that is left */
    } else if (rc == DC_OK) {
        /* Everything below the (limit+1)-th id: `limit` users rows (the ids
         * are unique per guild), clean tables' rows up to the same id. */
        end--;
        rc = run_counted(s, store_sqlite_stmt(s, ST_DELETE_GUILD_UPTO), 0, guild_id, (uint64_t)end, &n);
        for (size_t i = 0; rc == DC_OK && i < s->n_clean; i++)
            rc = run_counted(s, s->clean[i].delete_guild_upto, 0, guild_id, (uint64_t)end, &n);
        if (rc == DC_OK && n == 0) {   /* ids that are not integers: no progress by id, take it all */
            rc = guild_rows(s, guild_id, 0, &n);
            *more = 0;
        }
    }
    rc = store_sqlite_op_end(s, mode, rc);
    if (rc == DC_OK)
        *rows += n;
    return rc;
}

dc_err store_sqlite_audit_guild_delete(store *base, uint64_t guild_id, audit_reason why, int64_t at_ms, int64_t rows)
{
    store_sqlite *s = store_sqlite_of(base);
    store_op_mode mode;
    dc_err rc = need_ids(s, guild_id, 0, 0);
    if (rc != DC_OK || (rc = store_sqlite_op_begin(s, &mode)) != DC_OK)
        return rc;
    return store_sqlite_op_end(s, mode, store_sqlite_audit_add(s, at_ms, guild_id, 0, why, 0, rows));
}

dc_err store_sqlite_count_guild(store *base, uint64_t guild_id, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_COUNT_GUILD);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    return store_sqlite_step_int(s, st, rows, "counting a guild's rows");
}

dc_err store_sqlite_count_unassigned(store *base, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_COUNT_UNASSIGNED);
    return st ? store_sqlite_step_int(s, st, rows, "counting unassigned rows") : DC_ERR_DB;
}

dc_err store_sqlite_adopt_unassigned(store *base, uint64_t guild_id, int64_t *rows)
{
    store_sqlite *s = store_sqlite_of(base);
    store_op_mode mode;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_ADOPT);
    dc_err rc = need_ids(s, guild_id, 0, 0);
    if (rc == DC_OK && !st)
        rc = DC_ERR_DB;
    if (rc != DC_OK || (rc = store_sqlite_op_begin(s, &mode)) != DC_OK)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    rc = store_sqlite_step_done(s, st, "adopting unassigned rows");
    int64_t n = rc == DC_OK ? sqlite3_changes64(s->db) : 0;
    rc = store_sqlite_op_end(s, mode, rc);
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_sqlite_each_user_guild(store *base, store_guild_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_USER_GUILDS);
    int rc = SQLITE_ERROR;
    if (!st)
        return DC_ERR_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "listing guilds");
    sqlite3_reset(st);
    return e;
}

/* Walks the (guild_id, discord_id) index from one guild to the next: the
 * lower bound is the last value itself (not its integer), so a stray REAL
 * or TEXT guild_id cannot make the walk repeat itself. */
dc_err store_sqlite_each_stored_guild(store *base, store_guild_id_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_NEXT_GUILD);
    sqlite3_value *after = NULL;
    int rc = SQLITE_OK, stop = 0;
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, INT64_MIN);
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        sqlite3_value_free(after);
        after = sqlite3_value_dup(sqlite3_column_value(st, 0));
        int is_id = sqlite3_column_type(st, 0) == SQLITE_INTEGER;
        uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        if (!after) {
            rc = SQLITE_NOMEM;
            break;
        }
        stop = is_id && fn(ctx, id) != 0;
        sqlite3_bind_value(st, 1, after);
    }
    dc_err e = stop || rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "listing guilds");
    sqlite3_reset(st);
    sqlite3_value_free(after);
    return e;
}
