/* legacy.c - recognise and losslessly rebuild the legacy users table.
 *
 * Dynamic SQL here is limited to DDL/DML assembled from the database's own
 * schema: the original CREATE TABLE text from sqlite_master (rewritten by
 * ddl.c), column names from PRAGMA table_info, and the saved CREATE
 * INDEX/TRIGGER statements, with every identifier we add quoted ("" escaped).
 * Nothing comes from configuration, the network or any other user input. */
#include "store/legacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "store/ddl.h"
#include "store/sqlutil.h"

#define LEGACY_NEW_TABLE "_cleaner_users_rebuild"

int64_t legacy_test_row_skew = 0;

typedef struct {
    char **names;
    char **types;
    int *pk;
    size_t n;
} col_list;

static void cols_free(col_list *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->names[i]);
        free(c->types[i]);
    }
    free(c->names);
    free(c->types);
    free(c->pk);
    memset(c, 0, sizeof *c);
}

static int cols_push(col_list *c, const char *name, const char *type, int pk)
{
    char **nn = realloc(c->names, (c->n + 1) * sizeof *nn);
    if (nn) c->names = nn;
    char **nt = realloc(c->types, (c->n + 1) * sizeof *nt);
    if (nt) c->types = nt;
    int *np = realloc(c->pk, (c->n + 1) * sizeof *np);
    if (np) c->pk = np;
    if (!nn || !nt || !np)
        return -1;
    c->names[c->n] = strdup(name ? name : "");
    c->types[c->n] = strdup(type ? type : "");
    c->pk[c->n] = pk;
    c->n++;
    return c->names[c->n - 1] && c->types[c->n - 1] ? 0 : -1;
}

static dc_err cols_load(sqlite3 *db, col_list *c, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    memset(c, 0, sizeof *c);
    int rc = sqlite3_prepare_v2(db, "SELECT name, type, pk FROM pragma_table_info('users')",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (cols_push(c, (const char *)sqlite3_column_text(st, 0),
                          (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2)) != 0) {
                rc = SQLITE_NOMEM;
                break;
            }
    if (rc != SQLITE_DONE) {
        sqlutil_errf(err, errlen, db, "reading the columns of users");
        cols_free(c);
    }
    sqlite3_finalize(st);
    return sqlutil_err(rc == SQLITE_DONE ? SQLITE_OK : rc);
}

static const char *cols_find(const col_list *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcasecmp(c->names[i], name) == 0)
            return c->names[i];
    return NULL;
}

/* The column that is an alias for rowid (INTEGER PRIMARY KEY), or NULL. */
static const char *cols_rowid_alias(const col_list *c)
{
    const char *alias = NULL;
    int n_pk = 0;
    for (size_t i = 0; i < c->n; i++)
        if (c->pk[i]) {
            n_pk++;
            alias = strcasecmp(c->types[i], "INTEGER") == 0 ? c->names[i] : NULL;
        }
    return n_pk == 1 ? alias : NULL;
}

/* Are the columns of index idx exactly {a} (b NULL) or {a, b}? */
static int index_is_exactly(sqlite3 *db, const char *idx, const char *a, const char *b)
{
    sqlite3_stmt *st = NULL;
    int n = 0, hits = 0;
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_index_info(?1)", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, idx, -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *col = (const char *)sqlite3_column_text(st, 0);
        n++;
        hits += col && (strcasecmp(col, a) == 0 || (b && strcasecmp(col, b) == 0));
    }
    sqlite3_finalize(st);
    return n == (b ? 2 : 1) && hits == n;
}

/* Is there a full (not partial) unique index on exactly {a} / {a, b}?
 * If name is non-NULL, only that index is considered. */
static int has_unique(sqlite3 *db, const char *a, const char *b, const char *name)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_index_list('users') "
                               "WHERE \"unique\" AND NOT partial AND (?1 IS NULL OR name = ?1)",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    while (!found && sqlite3_step(st) == SQLITE_ROW)
        found = index_is_exactly(db, (const char *)sqlite3_column_text(st, 0), a, b);
    sqlite3_finalize(st);
    return found;
}

static legacy_shape shape_of(sqlite3 *db, const col_list *c, char *why, size_t whylen)
{
    const char *discord = cols_find(c, "discord_id"), *guild = cols_find(c, "guild_id");
    const char *alias = cols_rowid_alias(c);
    if (!discord) {
        snprintf(why, whylen, "table users has no discord_id column");
        return USERS_UNKNOWN;
    }
    if (guild) {
        if (has_unique(db, discord, guild, NULL))
            return USERS_TARGET;
        snprintf(why, whylen, "table users has guild_id but no UNIQUE(discord_id, guild_id)");
        return USERS_UNKNOWN;
    }
    if (has_unique(db, discord, NULL, NULL) || (alias && strcasecmp(alias, discord) == 0))
        return USERS_LEGACY;
    snprintf(why, whylen, "table users has neither guild_id nor a unique discord_id");
    return USERS_UNKNOWN;
}

/* The column a FOREIGN KEY to users points at: its "to", or users' own
 * primary key when the clause names none. */
static const char *fk_parent_column(const col_list *c, const char *to)
{
    if (to)
        return to;
    for (size_t i = 0; i < c->n; i++)
        if (c->pk[i])
            return c->names[i];
    return NULL;
}

/* A FOREIGN KEY from another table to users(discord_id) cannot survive the
 * rebuild: discord_id stops being unique (one row per guild), and SQLite
 * then refuses every write to both tables ("foreign key mismatch").  Keys
 * to a column that stays unique (an INTEGER PRIMARY KEY id, say) are kept
 * as they are by the rebuild.  Found before anything is written. */
static legacy_shape check_references(sqlite3 *db, const col_list *c, char *why, size_t whylen)
{
    const char *discord = cols_find(c, "discord_id");
    sqlite3_stmt *st = NULL;
    legacy_shape shape = USERS_LEGACY;
    if (sqlite3_prepare_v2(db, "SELECT m.name, f.\"from\", f.\"to\" FROM sqlite_master m, "
                               "pragma_foreign_key_list(m.name) f WHERE m.type = 'table' "
                               "AND f.\"table\" = 'users' COLLATE NOCASE AND m.name <> 'users' "
                               "COLLATE NOCASE ORDER BY m.name", -1, &st, NULL) != SQLITE_OK) {
        sqlutil_errf(why, whylen, db, "reading the foreign keys that point at users");
        return USERS_UNKNOWN;
    }
    while (shape == USERS_LEGACY && sqlite3_step(st) == SQLITE_ROW) {
        const char *to = fk_parent_column(c, (const char *)sqlite3_column_text(st, 2));
        if (to && strcasecmp(to, discord) != 0)
            continue;
        snprintf(why, whylen,
                 "table %.64s (column %.64s) has a FOREIGN KEY to users(discord_id), which will no "
                 "longer be unique (one row per guild). Fix: point it at a column that stays unique "
                 "(e.g. an INTEGER PRIMARY KEY id of users) or drop its REFERENCES clause, then "
                 "migrate again; nothing was changed",
                 (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
        shape = USERS_UNKNOWN;
    }
    sqlite3_finalize(st);
    return shape;
}

dc_err legacy_classify(sqlite3 *db, legacy_shape *shape, char *why, size_t whylen)
{
    col_list c;
    dc_err rc = cols_load(db, &c, why, whylen);
    if (rc != DC_OK)
        return rc;
    *shape = c.n == 0 ? USERS_ABSENT : shape_of(db, &c, why, whylen);
    if (*shape == USERS_LEGACY)
        *shape = check_references(db, &c, why, whylen);
    cols_free(&c);
    return DC_OK;
}

/* ---- rebuild -------------------------------------------------------------- */

typedef struct {
    char **sql;
    size_t n;
} sql_list;

static void sql_list_free(sql_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->sql[i]);
    free(l->sql);
    memset(l, 0, sizeof *l);
}

/* Remember one sqlite_master row (type, name, sql) unless it is the old
 * single-column unique index on discord_id, which the rebuild replaces. */
static int keep_dependent(sqlite3 *db, const char *discord, sqlite3_stmt *row, sql_list *l)
{
    const char *type = (const char *)sqlite3_column_text(row, 0);
    const char *name = (const char *)sqlite3_column_text(row, 1);
    if (strcmp(type, "index") == 0 && has_unique(db, discord, NULL, name))
        return 0;
    char **grown = realloc(l->sql, (l->n + 1) * sizeof *grown);
    if (!grown)
        return -1;
    l->sql = grown;
    if (!(l->sql[l->n] = strdup((const char *)sqlite3_column_text(row, 2))))
        return -1;
    l->n++;
    return 0;
}

/* The table's indexes and triggers, as written; they go away with DROP
 * TABLE and are created again after the rename. */
static dc_err save_dependents(sqlite3 *db, const char *discord, sql_list *l, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    memset(l, 0, sizeof *l);
    int rc = sqlite3_prepare_v2(db,
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'users' COLLATE NOCASE "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, rowid",
        -1, &st, NULL);
    if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            if (keep_dependent(db, discord, st, l) != 0) {
                rc = SQLITE_NOMEM;
                break;
            }
    if (rc != SQLITE_DONE) {
        sqlutil_errf(err, errlen, db, "reading indexes and triggers of users");
        sql_list_free(l);
    }
    sqlite3_finalize(st);
    return sqlutil_err(rc == SQLITE_DONE ? SQLITE_OK : rc);
}

static char *table_sql(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    if (sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = 'users' COLLATE NOCASE", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        sql = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return sql;
}

static int has_rowid(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(db, "SELECT rowid FROM users LIMIT 0", -1, &st, NULL) == SQLITE_OK;
    sqlite3_finalize(st);
    return ok;
}

/* INSERT INTO new (rowid, c1, ..., guild_id) SELECT rowid, c1, ..., ?1 FROM users.
 * rowid is carried over unless another column already is its alias. */
static char *copy_sql(sqlite3 *db, const col_list *c, const char *discord)
{
    const char *alias = cols_rowid_alias(c);
    int with_rowid = has_rowid(db) && (!alias || strcasecmp(alias, discord) == 0);
    sqlutil_str cols = { 0 }, s = { 0 };
    if (with_rowid)
        sqlutil_str_add(&cols, "rowid, ");
    for (size_t i = 0; i < c->n; i++) {
        sqlutil_str_ident(&cols, c->names[i]);
        sqlutil_str_add(&cols, ", ");
    }
    char *list = sqlutil_str_take(&cols);
    if (!list)
        return NULL;
    sqlutil_str_add(&s, "INSERT INTO \"" LEGACY_NEW_TABLE "\" (");
    sqlutil_str_add(&s, list);
    sqlutil_str_add(&s, "\"guild_id\") SELECT ");
    sqlutil_str_add(&s, list);
    sqlutil_str_add(&s, "?1 FROM \"users\"");
    free(list);
    return sqlutil_str_take(&s);
}

static dc_err copy_rows(sqlite3 *db, const col_list *c, const char *discord, uint64_t guild_id,
                        char *err, size_t errlen)
{
    char *sql = copy_sql(db, c, discord);
    sqlite3_stmt *st = NULL;
    if (!sql)
        return DC_ERR_NOMEM;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    free(sql);
    if (rc == SQLITE_OK) {
        sqlutil_bind_id_or_null(st, 1, guild_id);
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        sqlutil_errf(err, errlen, db, "copying the rows of users");
    sqlite3_finalize(st);
    return sqlutil_err(rc == SQLITE_DONE ? SQLITE_OK : rc);
}

static dc_err create_new_table(sqlite3 *db, const col_list *c, const char *discord,
                               char *err, size_t errlen)
{
    char *old = table_sql(db), *ddl = NULL;
    if (!old) {
        snprintf(err, errlen, "cannot read the CREATE TABLE statement of users");
        return DC_ERR_SCHEMA;
    }
    dc_err rc = ddl_rebuild_users(old, LEGACY_NEW_TABLE, discord,
                                  (const char *const *)c->names, c->n, &ddl, err, errlen);
    free(old);
    if (rc == DC_OK)
        rc = sqlutil_exec(db, ddl, err, errlen);
    free(ddl);
    return rc;
}

static dc_err restore_dependents(sqlite3 *db, const sql_list *l, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++) {
        dc_err rc = sqlutil_exec(db, l->sql[i], err, errlen);
        if (rc != DC_OK)
            return rc;
    }
    return DC_OK;
}

static dc_err check_counts(sqlite3 *db, int64_t before, int64_t *rows, char *err, size_t errlen)
{
    int64_t after = 0;
    dc_err rc = sqlutil_int(db, "SELECT count(*) FROM \"" LEGACY_NEW_TABLE "\"", &after, err, errlen);
    if (rc != DC_OK)
        return rc;
    after += legacy_test_row_skew;
    if (after != before) {
        snprintf(err, errlen, "row count mismatch after copying users: %lld before, %lld after",
                 (long long)before, (long long)after);
        return DC_ERR_DB;
    }
    *rows = after;
    return DC_OK;
}

static dc_err swap_tables(sqlite3 *db, const sql_list *deps, char *err, size_t errlen)
{
    dc_err rc = sqlutil_exec(db, "DROP TABLE \"users\"", err, errlen);
    if (rc == DC_OK)
        rc = sqlutil_exec(db, "ALTER TABLE \"" LEGACY_NEW_TABLE "\" RENAME TO \"users\"", err, errlen);
    if (rc == DC_OK)
        rc = restore_dependents(db, deps, err, errlen);
    return rc;
}

/* The rebuild must not add foreign-key violations (12-step procedure, step 10). */
static dc_err fk_violations(sqlite3 *db, int64_t *n, char *err, size_t errlen)
{
    dc_err rc = sqlutil_int(db, "SELECT count(*) FROM pragma_foreign_key_check", n, err, errlen);
    if (rc != DC_OK)
        sqlutil_errf(err, errlen, db, "checking the foreign keys of the rebuilt users table");
    return rc;
}

static dc_err rebuild_steps(sqlite3 *db, const col_list *c, uint64_t guild_id, int64_t *rows,
                            char *err, size_t errlen)
{
    const char *discord = cols_find(c, "discord_id");
    int64_t before = 0, fk_before = 0, fk_after = 0;
    sql_list deps;
    dc_err rc = save_dependents(db, discord, &deps, err, errlen);
    if (rc != DC_OK)
        return rc;
    if ((rc = fk_violations(db, &fk_before, err, errlen)) == DC_OK &&
        (rc = sqlutil_int(db, "SELECT count(*) FROM \"users\"", &before, err, errlen)) == DC_OK &&
        (rc = create_new_table(db, c, discord, err, errlen)) == DC_OK &&
        (rc = copy_rows(db, c, discord, guild_id, err, errlen)) == DC_OK &&
        (rc = check_counts(db, before, rows, err, errlen)) == DC_OK &&
        (rc = swap_tables(db, &deps, err, errlen)) == DC_OK &&
        (rc = fk_violations(db, &fk_after, err, errlen)) == DC_OK && fk_after > fk_before) {
        snprintf(err, errlen, "rebuilding users would add %lld foreign key violation(s)",
                 (long long)(fk_after - fk_before));
        rc = DC_ERR_SCHEMA;
    }
    sql_list_free(&deps);
    return rc;
}

dc_err legacy_rebuild(sqlite3 *db, uint64_t guild_id, int64_t *rows, char *err, size_t errlen)
{
    col_list c;
    dc_err rc = cols_load(db, &c, err, errlen);
    if (rc != DC_OK)
        return rc;
    char why[256] = "";
    if (shape_of(db, &c, why, sizeof why) != USERS_LEGACY) {
        snprintf(err, errlen, "users is not the legacy single-guild table%s%s",
                 why[0] ? ": " : "", why);
        rc = DC_ERR_SCHEMA;
    } else {
        rc = rebuild_steps(db, &c, guild_id, rows, err, errlen);
    }
    cols_free(&c);
    return rc;
}
