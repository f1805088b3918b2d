/* store_sqlite_clean.c - the extra tables (clean_tables) deleted along with users.
 *
 * Each configured table and its two columns are checked against
 * sqlite_master and PRAGMA table_info (with bound parameters) before any
 * statement is built; the statements then use the validated names quoted as
 * identifiers, so configuration can never inject SQL. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base/log.h"
#include "store/sqlutil.h"

static dc_err count_bound(store_sqlite *s, const char *sql, const char *a, const char *b, int64_t *n)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_fail(s, rc, "validating clean_tables");
    sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
    if (b)
        sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
    dc_err e = store_sqlite_step_int(s, st, n, "validating clean_tables");
    sqlite3_finalize(st);
    return e;
}

static dc_err check_column(store_sqlite *s, const char *table, const char *col, const char *role,
                           char *err, size_t errlen)
{
    int64_t n = 0;
    dc_err rc = count_bound(s, "SELECT count(*) FROM pragma_table_info(?1) "
                               "WHERE name = ?2 COLLATE NOCASE", table, col, &n);
    if (rc == DC_OK && n == 0) {
        snprintf(err, errlen, "clean_tables: table \"%s\" has no %s column \"%s\"",
                 table, role, col);
        rc = DC_ERR_CONFIG;
    }
    return rc;
}

static dc_err check_table(store_sqlite *s, const config_clean_table *t, char *err, size_t errlen)
{
    int64_t n = 0;
    if (!t->table[0] || !t->user_col[0] || !t->guild_col[0]) {
        snprintf(err, errlen, "clean_tables: an entry needs a table, a user column and a guild column");
        return DC_ERR_CONFIG;
    }
    if (strcasecmp(t->table, "users") == 0 || strncasecmp(t->table, "cleaner_", 8) == 0) {
        snprintf(err, errlen, "clean_tables: \"%s\" is managed by the cleaner itself", t->table);
        return DC_ERR_CONFIG;
    }
    dc_err rc = count_bound(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                               "AND name = ?1 COLLATE NOCASE", t->table, NULL, &n);
    if (rc == DC_OK && n == 0) {
        snprintf(err, errlen, "clean_tables: no table \"%s\" in the database", t->table);
        return DC_ERR_CONFIG;
    }
    if (rc == DC_OK)
        rc = check_column(s, t->table, t->user_col, "user", err, errlen);
    if (rc == DC_OK)
        rc = check_column(s, t->table, t->guild_col, "guild", err, errlen);
    return rc;
}

/* "<verb> FROM "t" WHERE "g" = ?1 [AND "u" <user_cmp> ?2]" from validated
 * names; user_cmp NULL: the whole guild. */
static sqlite3_stmt *prepare_for(store_sqlite *s, const config_clean_table *t, const char *verb,
                                 const char *user_cmp)
{
    sqlutil_str q = { 0 };
    sqlite3_stmt *st = NULL;
    sqlutil_str_add(&q, verb);
    sqlutil_str_add(&q, " FROM ");
    sqlutil_str_ident(&q, t->table);
    sqlutil_str_add(&q, " WHERE ");
    sqlutil_str_ident(&q, t->guild_col);
    sqlutil_str_add(&q, " = ?1");
    if (user_cmp) {
        sqlutil_str_add(&q, " AND ");
        sqlutil_str_ident(&q, t->user_col);
        sqlutil_str_add(&q, user_cmp);
    }
    char *sql = sqlutil_str_take(&q);
    int rc = sql ? sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL)
                 : SQLITE_NOMEM;
    if (rc != SQLITE_OK)
        store_sqlite_fail(s, rc, "preparing a clean_tables statement");
    free(sql);
    return rc == SQLITE_OK ? st : NULL;
}

static dc_err prepare_clean(store_sqlite *s, const config_clean_table *t, store_clean *c)
{
    snprintf(c->table, sizeof c->table, "%s", t->table);
    c->count_member = prepare_for(s, t, "SELECT count(*)", " = ?2");
    c->delete_member = prepare_for(s, t, "DELETE", " = ?2");
    c->count_guild = prepare_for(s, t, "SELECT count(*)", NULL);
    c->delete_guild = prepare_for(s, t, "DELETE", NULL);
    c->delete_guild_upto = prepare_for(s, t, "DELETE", " <= ?2");   /* a slice (store_delete_guild_slice) */
    int ok = c->count_member && c->delete_member && c->count_guild && c->delete_guild && c->delete_guild_upto;
    return ok ? DC_OK : DC_ERR_DB;
}

/* Every member delete runs "DELETE ... WHERE guild = ? AND user = ?" on each
 * clean table; without an index led by one of those columns that is a full
 * scan per departure, and a sweep of thousands of departures would hold the
 * loop for minutes.  Say so at start-up rather than fail later. */
static void warn_if_unindexed(store_sqlite *s, const config_clean_table *t)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM pragma_index_list(?1) AS il, "
                                       "pragma_index_info(il.name) AS ii WHERE ii.seqno = 0 "
                                       "AND (ii.name = ?2 COLLATE NOCASE OR ii.name = ?3 COLLATE NOCASE)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, t->table, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, t->guild_col, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, t->user_col, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK && n == 0)
        LOG_W("store", "clean_tables: \"%s\" has no index on %s or %s; every departure scans the whole "
              "table. Create one: CREATE INDEX \"%s_by_guild_user\" ON \"%s\" (%s, %s)", t->table,
              t->guild_col, t->user_col, t->table, t->table, t->guild_col, t->user_col);
}

dc_err store_sqlite_clean_open(store_sqlite *s, const config_clean_table *t, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return DC_OK;
    s->clean = calloc(n, sizeof *s->clean);
    if (!s->clean)
        return DC_ERR_NOMEM;
    s->n_clean = n;
    for (size_t i = 0; i < n; i++) {
        dc_err rc = check_table(s, &t[i], err, errlen);
        if (rc == DC_OK && (rc = prepare_clean(s, &t[i], &s->clean[i])) != DC_OK)
            snprintf(err, errlen, "%s", s->head.errmsg);
        if (rc == DC_OK)
            warn_if_unindexed(s, &t[i]);
        if (rc != DC_OK)
            return rc;
    }
    return DC_OK;
}

void store_sqlite_clean_close(store_sqlite *s)
{
    for (size_t i = 0; i < s->n_clean; i++) {
        sqlite3_finalize(s->clean[i].count_member);
        sqlite3_finalize(s->clean[i].delete_member);
        sqlite3_finalize(s->clean[i].count_guild);
        sqlite3_finalize(s->clean[i].delete_guild);
        sqlite3_finalize(s->clean[i].delete_guild_upto);
    }
    free(s->clean);
    s->clean = NULL;
    s->n_clean = 0;
}
