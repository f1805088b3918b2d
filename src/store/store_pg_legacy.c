/* store_pg_legacy.c - the bot's legacy single-guild users table on
 * PostgreSQL (issue #16): recognised and migrated inside the transaction of
 * migration 0001, before its SQL runs (store_pg_migrate.c), the way
 * legacy.c does it on SQLite.
 *
 * Shapes of `users` (the table the search_path finds, as 0001 does):
 *   absent  - 0001 creates it
 *   target  - guild_id and a unique key on exactly (discord_id, guild_id)
 *   legacy  - no guild_id and a unique key on exactly discord_id (PRIMARY
 *             KEY, UNIQUE constraint or unique index, not partial)
 *   unknown - refused, nothing changed: we do not guess with the bot's data.
 *
 * SQLite must rebuild the table; PostgreSQL alters it in place, so every
 * row, column, default, CHECK, index, trigger, view and foreign key stays
 * what it is:
 *   1. a backup copy, users_pre_migration_<UTC YYYYmmdd_HHMMSS> (CREATE TABLE
 *      AS TABLE users: every row and column), in the same transaction;
 *   2. ADD COLUMN guild_id typed like discord_id, with the legacy guild as
 *      a DEFAULT that is dropped at once: existing rows get it without an
 *      UPDATE (the bot's UPDATE triggers do not fire); without a legacy
 *      guild the rows stay unassigned (NULL, never deleted until adopted);
 *   3. the unique keys on discord_id alone dropped (all of them: a primary
 *      key and a unique index may both be there), UNIQUE (discord_id,
 *      guild_id) added.  Other indexes, triggers, views and foreign keys
 *      from users to other tables name columns that are still there.
 *
 * A foreign key from another table to users(discord_id) stands on the
 * unique key step 3 drops.  It is refused before anything is written, with
 * the same words as on SQLite, rather than handled behind the bot's back:
 * a foreign key needs a full (not partial) unique key on discord_id, so
 * 0006's partial index (unique while unassigned) cannot carry it, and
 * keeping discord_id unique would forbid the very rows the migration is
 * for (one user in two guilds); rewriting the bot's key would change what
 * its ON DELETE does.  Keys to a column that stays unique (an id PRIMARY
 * KEY) are kept as they are.
 *
 * Identifiers in the DDL come from the catalogue and are quoted with
 * PQescapeIdentifier; the type is format_type()'s; the guild is a number.
 * Nothing comes from input.  Any failure aborts the caller's transaction:
 * the database is exactly as it was. */
#include "store/store_pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define LEGACY_BACKUP_PREFIX "users_pre_migration_"

static const store_pg_stmt ST_USERS = {
    "dc_legacy_users",
    "SELECT coalesce(to_regclass('users')::oid, 0)",
};
/* discord_id's type as DDL text, and whether guild_id exists. */
static const store_pg_stmt ST_COLUMNS = {
    "dc_legacy_columns",
    "SELECT (SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::oid "
    "AND attname = 'discord_id' AND attnum > 0 AND NOT attisdropped), "
    "EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::oid AND attname = 'guild_id' "
    "AND attnum > 0 AND NOT attisdropped)",
};
/* The full unique keys of users on exactly the columns $2 (sorted): the
 * index, and its constraint when it is one (primary key or UNIQUE). */
static const store_pg_stmt ST_UNIQUE = {
    "dc_legacy_unique",
    "SELECT i.indexrelid::regclass::text, coalesce(c.conname::text, '') FROM pg_index i "
    "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid "
    "AND c.contype IN ('p', 'u') "
    "WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
    "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM generate_series(0, i.indnkeyatts - 1) g(n) "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[g.n]) = $2::text[] "
    "ORDER BY 1",
};
/* Foreign keys of other tables that stand on the unique key $2 of users. */
static const store_pg_stmt ST_REFERENCING = {
    "dc_legacy_referencing",
    "SELECT c.conrelid::regclass::text, (SELECT string_agg(a.attname::text, ', ' ORDER BY k.i) "
    "FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid "
    "AND a.attnum = k.n) FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = $1::oid "
    "AND c.conindid = $2::regclass ORDER BY 1",
};
static const store_pg_stmt ST_TABLE_EXISTS = {
    "dc_legacy_table_exists",
    "SELECT to_regclass(quote_ident($1)) IS NOT NULL",
};
static const store_pg_stmt ST_COUNT = {
    "dc_legacy_count",
    "SELECT count(*) FROM users",
};

#define LEGACY_MAX_KEYS 8

typedef struct {
    char index[200];             /* a unique index on discord_id alone (::regclass text) */
    char constraint[200];        /* its constraint, "" for a bare unique index */
} legacy_key;

typedef struct {
    char oid[24];
    char type[128];              /* discord_id's type, format_type() */
    int has_guild;
    legacy_key keys[LEGACY_MAX_KEYS];   /* every one goes: discord_id stops being unique */
    int n_keys;
} legacy_users;

/* The unique keys of users on exactly cols ("{a}" or "{a,b}", sorted):
 * *found, and for discord_id alone their index and constraint names. */
static dc_err find_unique(store_pg *p, legacy_users *u, const char *cols, int *found)
{
    PGresult *r = NULL;
    const char *params[2] = { u->oid, cols };
    dc_err rc = store_pg_run(p, &ST_UNIQUE, 2, params, &r, "legacy users: reading its unique keys");
    *found = rc == DC_OK && PQntuples(r) > 0;
    for (int i = 0; *found && strcmp(cols, "{discord_id}") == 0 && i < PQntuples(r) && i < LEGACY_MAX_KEYS; i++) {
        snprintf(u->keys[i].index, sizeof u->keys[i].index, "%s", PQgetvalue(r, i, 0));
        snprintf(u->keys[i].constraint, sizeof u->keys[i].constraint, "%s", PQgetvalue(r, i, 1));
        u->n_keys = i + 1;
    }
    PQclear(r);
    return rc;
}

static dc_err load_users(store_pg *p, legacy_users *u, int *exists)
{
    PGresult *r = NULL;
    memset(u, 0, sizeof *u);
    dc_err rc = store_pg_run(p, &ST_USERS, 0, NULL, &r, "legacy users: looking for users");
    if (rc == DC_OK)
        snprintf(u->oid, sizeof u->oid, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    *exists = rc == DC_OK && strcmp(u->oid, "0") != 0;
    if (!*exists)
        return rc;
    const char *param = u->oid;
    rc = store_pg_run(p, &ST_COLUMNS, 1, &param, &r, "legacy users: reading its columns");
    if (rc == DC_OK) {
        snprintf(u->type, sizeof u->type, "%s", PQgetvalue(r, 0, 0));
        u->has_guild = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    }
    PQclear(r);
    return rc;
}

/* The message of a refusal, in the store's errmsg (what run_one reports). */
#define LEGACY_SAY(p, ...) snprintf((p)->head.errmsg, sizeof (p)->head.errmsg, __VA_ARGS__)

/* Refuses (DC_ERR_SCHEMA, saying what to do) when another table's foreign
 * key stands on a unique key of discord_id: see the top of the file. */
static dc_err check_referencing(store_pg *p, const legacy_users *u)
{
    dc_err rc = DC_OK;
    for (int i = 0; rc == DC_OK && i < u->n_keys; i++) {
        PGresult *r = NULL;
        const char *params[2] = { u->oid, u->keys[i].index };
        rc = store_pg_run(p, &ST_REFERENCING, 2, params, &r, "legacy users: reading the foreign keys to it");
        if (rc == DC_OK && PQntuples(r) > 0) {
            LEGACY_SAY(p, "table %.64s (column %.64s) has a FOREIGN KEY to users(discord_id), which will no "
                          "longer be unique (one row per guild). Fix: point it at a column that stays unique "
                          "(e.g. an id PRIMARY KEY of users) or drop its REFERENCES clause, then "
                          "migrate again; nothing was changed", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
            rc = DC_ERR_SCHEMA;
        }
        PQclear(r);
    }
    return rc;
}

/* The shape of users (*legacy: to migrate); an unknown one refused. */
static dc_err classify(store_pg *p, legacy_users *u, int *legacy)
{
    int exists = 0, found = 0;
    *legacy = 0;
    dc_err rc = load_users(p, u, &exists);
    if (rc != DC_OK || !exists)
        return rc;
    if (!u->type[0]) {
        LEGACY_SAY(p, "table users has no discord_id column; refusing to migrate");
        return DC_ERR_SCHEMA;
    }
    rc = find_unique(p, u, u->has_guild ? "{discord_id,guild_id}" : "{discord_id}", &found);
    if (rc != DC_OK || found) {
        *legacy = rc == DC_OK && !u->has_guild;
        return rc;
    }
    LEGACY_SAY(p, "%s; refusing to migrate",
               u->has_guild ? "table users has guild_id but no UNIQUE(discord_id, guild_id)"
                            : "table users has neither guild_id nor a unique discord_id");
    return DC_ERR_SCHEMA;
}

static int table_exists(store_pg *p, const char *name, dc_err *rc)
{
    PGresult *r = NULL;
    *rc = store_pg_run(p, &ST_TABLE_EXISTS, 1, &name, &r, "legacy users: naming the backup");
    int yes = *rc != DC_OK || strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return yes;
}

/* users_pre_migration_YYYYmmdd_HHMMSS (UTC), with _N appended if taken. */
static dc_err backup_name(store_pg *p, char *out, size_t cap)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    dc_err rc = DC_OK;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
    snprintf(out, cap, LEGACY_BACKUP_PREFIX "%s", stamp);
    for (int n = 1; table_exists(p, out, &rc) && rc == DC_OK && n < 100; n++)
        snprintf(out, cap, LEGACY_BACKUP_PREFIX "%s_%d", stamp, n);
    return rc;
}

static dc_err make_backup(store_pg *p, store_migration_report *rep)
{
    char name[64], sql[160];
    dc_err rc = backup_name(p, name, sizeof name);
    if (rc != DC_OK)
        return rc;
    snprintf(sql, sizeof sql, "CREATE TABLE %s AS TABLE users", name);   /* name: ours, [a-z0-9_] */
    rc = store_pg_exec(p, sql, "legacy users: backing it up");
    if (rc == DC_OK)
        snprintf(rep->backup_path, sizeof rep->backup_path, "%s", name);
    return rc;
}

/* ALTER TABLE users ADD COLUMN guild_id <type> [DEFAULT 'guild'], then the
 * default dropped: the rows are filled without an UPDATE. */
static dc_err add_guild_column(store_pg *p, const legacy_users *u, uint64_t guild_id)
{
    char sql[320];
    if (!guild_id)
        snprintf(sql, sizeof sql, "ALTER TABLE users ADD COLUMN guild_id %s", u->type);
    else
        snprintf(sql, sizeof sql, "ALTER TABLE users ADD COLUMN guild_id %s DEFAULT '%" PRIu64 "'; "
                 "ALTER TABLE users ALTER COLUMN guild_id DROP DEFAULT", u->type, guild_id);
    return store_pg_exec(p, sql, "legacy users: adding guild_id");
}

/* One unique key on discord_id alone dropped.  The index name is
 * ::regclass text, already quoted (and qualified) as needed. */
static dc_err drop_key(store_pg *p, const legacy_key *k)
{
    char sql[512];
    if (k->constraint[0]) {
        char *name = PQescapeIdentifier(p->conn.conn, k->constraint, strlen(k->constraint));
        if (!name) {
            LEGACY_SAY(p, "legacy users: out of memory");
            return DC_ERR_NOMEM;
        }
        snprintf(sql, sizeof sql, "ALTER TABLE users DROP CONSTRAINT %s", name);
        PQfreemem(name);
    } else {
        snprintf(sql, sizeof sql, "DROP INDEX %s", k->index);
    }
    return store_pg_exec(p, sql, "legacy users: dropping the unique key on discord_id");
}

/* The unique keys on discord_id alone make way for the pair's. */
static dc_err swap_unique(store_pg *p, const legacy_users *u)
{
    dc_err rc = DC_OK;
    for (int i = 0; rc == DC_OK && i < u->n_keys; i++)
        rc = drop_key(p, &u->keys[i]);
    if (rc == DC_OK)
        rc = store_pg_exec(p, "ALTER TABLE users ADD UNIQUE (discord_id, guild_id)",
                           "legacy users: adding UNIQUE (discord_id, guild_id)");
    return rc;
}

static dc_err count_rows(store_pg *p, int64_t *rows)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, &ST_COUNT, 0, NULL, &r, "legacy users: counting its rows");
    if (rc == DC_OK)
        *rows = store_pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

static dc_err migrate_legacy(store_pg *p, const legacy_users *u, uint64_t guild_id, store_migration_report *rep)
{
    int64_t rows = 0;
    dc_err rc = check_referencing(p, u);
    if (rc == DC_OK)
        rc = make_backup(p, rep);
    if (rc == DC_OK)
        rc = add_guild_column(p, u, guild_id);
    if (rc == DC_OK)
        rc = swap_unique(p, u);
    if (rc == DC_OK)
        rc = count_rows(p, &rows);
    if (rc != DC_OK) {
        rep->backup_path[0] = '\0';          /* rolled back with the rest */
        return rc;
    }
    rep->legacy_rebuilt = 1;
    rep->legacy_rows = rows;
    LOG_I("store", "legacy users table migrated: %" PRId64 " rows kept, %s; backup in table %s", rows,
          guild_id ? "assigned to the legacy guild" : "left unassigned (guild_id NULL)", rep->backup_path);
    return DC_OK;
}

dc_err store_pg_legacy(store_pg *p, uint64_t legacy_guild_id, store_migration_report *rep)
{
    legacy_users u;
    int legacy = 0;
    dc_err rc = classify(p, &u, &legacy);
    if (rc != DC_OK || !legacy)
        return rc;
    return migrate_legacy(p, &u, legacy_guild_id, rep);
}
