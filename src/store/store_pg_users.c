/* store_pg_users.c - deletes and counts on users (and the clean_tables) on
 * PostgreSQL (issue #16); store_sqlite_users.c's counterpart, with the same
 * results, audit rows and errors.
 *
 * Rows whose guild_id is NULL never match "guild_id = $1", so unassigned
 * legacy rows are out of reach of every delete here.  Ids go out as untyped
 * text, so "=" serves BIGINT, NUMERIC, TEXT and VARCHAR columns alike; what
 * needs an order (slices, the guild lists) has a statement per kind of
 * column (store_pg_types.c): a TEXT id sorts as a number by (length, text)
 * when it is canonical decimal, and the other values of a TEXT or NUMERIC
 * column (no integer, so no Discord id) are left to the last slice of a
 * guild and skipped by the lists, as SQLite skips them. */
#include "store/store_pg_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- statements ------------------------------------------------------------ */

static const store_pg_stmt ST_COUNT_MEMBER = {
    "dc_users_count_member", "SELECT count(*) FROM users WHERE guild_id = $1 AND discord_id = $2"
};
static const store_pg_stmt ST_DELETE_MEMBER = {
    "dc_users_delete_member", "DELETE FROM users WHERE guild_id = $1 AND discord_id = $2"
};
static const store_pg_stmt ST_COUNT_GUILD = { "dc_users_count_guild", "SELECT count(*) FROM users WHERE guild_id = $1" };
static const store_pg_stmt ST_DELETE_GUILD = { "dc_users_delete_guild", "DELETE FROM users WHERE guild_id = $1" };
static const store_pg_stmt ST_COUNT_UNASSIGNED = {
    "dc_users_count_unassigned", "SELECT count(*) FROM users WHERE guild_id IS NULL"
};
/* SQLite's UPDATE OR IGNORE: a user who already has a row in that guild
 * keeps the NULL row. */
static const store_pg_stmt ST_ADOPT = {
    "dc_users_adopt",
    "UPDATE users AS u SET guild_id = $1 WHERE u.guild_id IS NULL AND NOT EXISTS "
    "(SELECT 1 FROM users AS o WHERE o.guild_id = $1 AND o.discord_id = u.discord_id)",
};
static const store_pg_stmt ST_AUDIT_ADD = {
    "dc_audit_add",
    "INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, dry_run, rows) "
    "VALUES ($1, $2, $3, $4, $5, $6)",
};

static const store_pg_stmt ST_AUDIT_ADD_MANY = {
    "dc_audit_add_many",
    "INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, dry_run, rows) "
    "SELECT $1::bigint, $2::bigint, t.d, $3::text, 0, t.n FROM unnest($4::bigint[], $5::bigint[]) AS t(d, n)",
};

#define TEXT_KEY(col) "length(" col "), " col " COLLATE \"C\""
#define TEXT_ID(col) col " ~ " STORE_PG_CANONICAL_RE

/* A guild deleted a slice at a time: the ($2+1)-th lowest id (integers
 * only), then the rows below it; per kind of users.discord_id. */
static const store_pg_stmt ST_SLICE_END[STORE_PG_ID_KINDS] = {
    { "dc_users_slice_end_bigint",
      "SELECT discord_id FROM users WHERE guild_id = $1 ORDER BY discord_id LIMIT 1 OFFSET $2" },
    { "dc_users_slice_end_numeric",
      "SELECT discord_id FROM users WHERE guild_id = $1 AND discord_id = trunc(discord_id) "
      "ORDER BY discord_id LIMIT 1 OFFSET $2" },
    { "dc_users_slice_end_text",
      "SELECT discord_id FROM users WHERE guild_id = $1 AND " TEXT_ID("discord_id") " "
      "ORDER BY " TEXT_KEY("discord_id") " LIMIT 1 OFFSET $2" },
};
static const store_pg_stmt ST_DELETE_UPTO[STORE_PG_ID_KINDS] = {
    { "dc_users_delete_upto_bigint", "DELETE FROM users WHERE guild_id = $1 AND discord_id < $2" },
    { "dc_users_delete_upto_numeric", "DELETE FROM users WHERE guild_id = $1 AND discord_id < $2" },
    { "dc_users_delete_upto_text",
      "DELETE FROM users WHERE guild_id = $1 AND " TEXT_ID("discord_id") " AND "
      "(" TEXT_KEY("discord_id") ") < (length($2::text), $2::text COLLATE \"C\")" },
};

/* The guilds of users in ascending order, per kind of users.guild_id. */
static const store_pg_stmt ST_USER_GUILDS = {
    "dc_users_guilds",
    "SELECT guild_id, count(*) FROM users WHERE guild_id IS NOT NULL GROUP BY guild_id ORDER BY guild_id",
};
static const store_pg_stmt ST_USER_GUILDS_TEXT = {
    "dc_users_guilds_text",
    "SELECT guild_id, count(*) FROM users WHERE " TEXT_ID("guild_id") " GROUP BY guild_id "
    "ORDER BY " TEXT_KEY("guild_id"),
};
/* READY's list: one index seek per guild on (guild_id, discord_id), all in
 * one statement (a recursive walk from each guild to the next). */
static const store_pg_stmt ST_STORED_GUILDS = {
    "dc_users_stored_guilds",
    "WITH RECURSIVE g(id) AS ("
    "(SELECT guild_id FROM users WHERE guild_id IS NOT NULL ORDER BY guild_id LIMIT 1) "
    "UNION ALL SELECT (SELECT u.guild_id FROM users AS u WHERE u.guild_id > g.id ORDER BY u.guild_id LIMIT 1) "
    "FROM g WHERE g.id IS NOT NULL) SELECT id FROM g WHERE id IS NOT NULL",
};
/* A TEXT guild_id has no index in numeric order: one pass. */
static const store_pg_stmt ST_STORED_GUILDS_TEXT = {
    "dc_users_stored_guilds_text",
    "SELECT guild_id FROM users WHERE " TEXT_ID("guild_id") " GROUP BY guild_id ORDER BY " TEXT_KEY("guild_id"),
};

/* ---- deletes ---------------------------------------------------------------- */

/* Runs a count (dry run) or delete statement bound to (guild[, user]) and
 * adds what it counted or deleted to *rows. */
static dc_err run_counted(store_pg *p, const store_pg_stmt *st, int dry_run, int nparams, const char *const *params,
                          int64_t *rows)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, st, nparams, params, &r, dry_run ? "counting rows" : "deleting rows");
    if (rc == DC_OK)
        *rows += dry_run ? store_pg_int(r, 0, 0) : strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return rc;
}

static dc_err member_rows(store_pg *p, const char *const params[2], int dry_run, int64_t *rows)
{
    dc_err rc = run_counted(p, dry_run ? &ST_COUNT_MEMBER : &ST_DELETE_MEMBER, dry_run, 2, params, rows);
    for (size_t i = 0; rc == DC_OK && i < p->n_clean; i++) {
        store_pg_clean *c = &p->clean[i];
        rc = run_counted(p, dry_run ? &c->count_member : &c->delete_member, dry_run, 2, params, rows);
    }
    return rc;
}

static dc_err guild_rows(store_pg *p, const char *guild, int dry_run, int64_t *rows)
{
    const char *params[1] = { guild };
    dc_err rc = run_counted(p, dry_run ? &ST_COUNT_GUILD : &ST_DELETE_GUILD, dry_run, 1, params, rows);
    for (size_t i = 0; rc == DC_OK && i < p->n_clean; i++) {
        store_pg_clean *c = &p->clean[i];
        rc = run_counted(p, dry_run ? &c->count_guild : &c->delete_guild, dry_run, 1, params, rows);
    }
    return rc;
}

static dc_err need_ids(store_pg *p, uint64_t guild_id, uint64_t user_id, int want_user)
{
    if (guild_id && (user_id || !want_user))
        return DC_OK;
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "delete needs a guild id%s", want_user ? " and a user id" : "");
    return DC_ERR_USAGE;
}

dc_err store_pg_audit_add(store_pg *p, int64_t at_ms, uint64_t guild_id, uint64_t user_id, audit_reason why,
                          int dry_run, int64_t rows)
{
    store_pg_num at, g, u, n;
    const char *params[6] = { store_pg_i64(&at, at_ms), store_pg_u64(&g, guild_id),
                              user_id ? store_pg_u64(&u, user_id) : NULL, audit_reason_name(why),
                              dry_run ? "1" : "0", store_pg_i64(&n, rows) };
    return store_pg_run(p, &ST_AUDIT_ADD, 6, params, NULL, "writing the audit row");
}

dc_err store_pg_audit_add_many(store_pg *p, int64_t at_ms, uint64_t guild_id, const uint64_t *ids,
                               const uint64_t *rows, size_t n, audit_reason why)
{
    store_pg_num at, g;
    char *id_list = store_pg_u64_array(ids, n), *row_list = store_pg_u64_array(rows, n);
    const char *params[5] = { store_pg_i64(&at, at_ms), store_pg_u64(&g, guild_id), audit_reason_name(why),
                              id_list, row_list };
    dc_err rc = id_list && row_list ? store_pg_run(p, &ST_AUDIT_ADD_MANY, 5, params, NULL, "writing audit rows")
                                    : DC_ERR_NOMEM;
    free(id_list);
    free(row_list);
    return rc;
}

/* One member's rows (users and every clean table) and its audit row, in a
 * write of its own: a transaction, a savepoint of the caller's, or bare. */
dc_err store_pg_delete_member(store *base, uint64_t guild_id, uint64_t user_id, audit_reason why, int dry_run,
                              int64_t now_ms, int64_t *rows)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g, u;
    const char *params[2] = { store_pg_u64(&g, guild_id), store_pg_u64(&u, user_id) };
    int64_t n = 0;
    store_pg_write_mode mode;
    dc_err rc = need_ids(p, guild_id, user_id, 1);
    if (rc != DC_OK || (rc = store_pg_write_begin(p, &mode)) != DC_OK)
        return rc;
    rc = member_rows(p, params, dry_run, &n);
    if (rc == DC_OK)
        rc = store_pg_audit_add(p, now_ms, guild_id, user_id, why, dry_run, n);
    rc = store_pg_write_end(p, mode, rc);
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_pg_delete_guild(store *base, uint64_t guild_id, audit_reason why, int dry_run, int64_t now_ms,
                             int64_t *rows)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g;
    int64_t n = 0;
    store_pg_write_mode mode;
    dc_err rc = need_ids(p, guild_id, 0, 0);
    if (rc != DC_OK || (rc = store_pg_write_begin(p, &mode)) != DC_OK)
        return rc;
    rc = guild_rows(p, store_pg_u64(&g, guild_id), dry_run, &n);
    if (rc == DC_OK)
        rc = store_pg_audit_add(p, now_ms, guild_id, 0, why, dry_run, n);
    rc = store_pg_write_end(p, mode, rc);
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

/* The id after the guild's `limit` lowest (users, id order) as decimal
 * text in end: the slice is everything below it.  *found = 0 when fewer
 * integer ids are left (or that id is out of our range): the slice then
 * takes all that is left. */
static dc_err slice_end(store_pg *p, const char *guild, int limit, store_pg_num *end, int *found)
{
    store_pg_num lim;
    const char *params[2] = { guild, store_pg_i64(&lim, limit) };
    PGresult *r = NULL;
    int64_t id = 0;
    dc_err rc = store_pg_run(p, &ST_SLICE_END[p->id_kind], 2, params, &r, "finding a guild's next slice");
    *found = rc == DC_OK && PQntuples(r) == 1 && store_pg_id_parse(PQgetvalue(r, 0, 0), &id);
    if (*found)
        store_pg_i64(end, id);
    PQclear(r);
    return rc;
}

/* Everything below end: `limit` users rows (the ids are unique per guild)
 * and the clean tables' rows below the same id. */
static dc_err slice_rows(store_pg *p, const char *guild, const char *end, int64_t *rows)
{
    const char *params[2] = { guild, end };
    dc_err rc = run_counted(p, &ST_DELETE_UPTO[p->id_kind], 0, 2, params, rows);
    for (size_t i = 0; rc == DC_OK && i < p->n_clean; i++)
        rc = run_counted(p, &p->clean[i].delete_guild_upto, 0, 2, params, rows);
    return rc;
}

dc_err store_pg_delete_guild_slice(store *base, uint64_t guild_id, int limit, int64_t *rows, int *more)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g, end;
    const char *guild = store_pg_u64(&g, guild_id);
    int64_t n = 0;
    store_pg_write_mode mode;
    *more = 0;
    dc_err rc = need_ids(p, guild_id, 0, 0);
    if (rc == DC_OK && limit <= 0)
        rc = DC_ERR_USAGE;
    if (rc != DC_OK || (rc = store_pg_write_begin(p, &mode)) != DC_OK)
        return rc;
    rc = slice_end(p, guild, limit, &end, more);
    if (rc == DC_OK && !*more) {
        rc = guild_rows(p, guild, 0, &n);               /* the last slice: all that is left */
    } else if (rc == DC_OK) {
        rc = slice_rows(p, guild, end.s, &n);
        if (rc == DC_OK && n == 0) {                     /* no progress by id: take it all */
            rc = guild_rows(p, guild, 0, &n);
            *more = 0;
        }
    }
    rc = store_pg_write_end(p, mode, rc);
    if (rc == DC_OK)
        *rows += n;
    else
        *more = 0;
    return rc;
}

dc_err store_pg_audit_guild_delete(store *base, uint64_t guild_id, audit_reason why, int64_t at_ms, int64_t rows)
{
    store_pg *p = store_pg_of(base);
    store_pg_write_mode mode;
    dc_err rc = need_ids(p, guild_id, 0, 0);
    if (rc != DC_OK || (rc = store_pg_write_begin(p, &mode)) != DC_OK)
        return rc;
    return store_pg_write_end(p, mode, store_pg_audit_add(p, at_ms, guild_id, 0, why, 0, rows));
}

/* ---- counts and lists ------------------------------------------------------- */

static dc_err count(store_pg *p, const store_pg_stmt *st, int nparams, const char *const *params, int64_t *rows,
                    const char *what)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, st, nparams, params, &r, what);
    *rows = rc == DC_OK ? store_pg_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

dc_err store_pg_count_guild(store *base, uint64_t guild_id, int64_t *rows)
{
    store_pg_num g;
    const char *params[1] = { store_pg_u64(&g, guild_id) };
    return count(store_pg_of(base), &ST_COUNT_GUILD, 1, params, rows, "counting a guild's rows");
}

dc_err store_pg_count_unassigned(store *base, int64_t *rows)
{
    return count(store_pg_of(base), &ST_COUNT_UNASSIGNED, 0, NULL, rows, "counting unassigned rows");
}

dc_err store_pg_adopt_unassigned(store *base, uint64_t guild_id, int64_t *rows)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g;
    const char *params[1] = { store_pg_u64(&g, guild_id) };
    int64_t n = 0;
    store_pg_write_mode mode;
    dc_err rc = need_ids(p, guild_id, 0, 0);
    if (rc != DC_OK || (rc = store_pg_write_begin(p, &mode)) != DC_OK)
        return rc;
    rc = store_pg_write_end(p, mode, run_counted(p, &ST_ADOPT, 0, 1, params, &n));
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

/* Each guild of a list statement (guild_id[, count]) to with_rows or
 * ids_only.  Values of guild_id that are not integers (NUMERIC 5.5, TEXT
 * 'abc') are no guild and are skipped. */
static dc_err each_guild(store_pg *p, const store_pg_stmt *st, store_guild_fn with_rows, store_guild_id_fn ids_only,
                         void *ctx)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, st, 0, NULL, &r, "listing guilds");
    int n = rc == DC_OK ? PQntuples(r) : 0, stop = 0;
    for (int i = 0; i < n && !stop; i++) {
        int64_t id;
        if (store_pg_id_parse(PQgetvalue(r, i, 0), &id))
            stop = with_rows ? with_rows(ctx, (uint64_t)id, store_pg_int(r, i, 1)) : ids_only(ctx, (uint64_t)id);
    }
    PQclear(r);
    return rc;
}

dc_err store_pg_each_user_guild(store *base, store_guild_fn fn, void *ctx)
{
    store_pg *p = store_pg_of(base);
    return each_guild(p, p->guild_kind == STORE_PG_ID_TEXT ? &ST_USER_GUILDS_TEXT : &ST_USER_GUILDS, fn, NULL, ctx);
}

dc_err store_pg_each_stored_guild(store *base, store_guild_id_fn fn, void *ctx)
{
    store_pg *p = store_pg_of(base);
    return each_guild(p, p->guild_kind == STORE_PG_ID_TEXT ? &ST_STORED_GUILDS_TEXT : &ST_STORED_GUILDS, NULL, fn,
                      ctx);
}
