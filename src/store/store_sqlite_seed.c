/* store_sqlite_seed.c - run a fixture's seed SQL as data only (the SQLite
 * backend's store_seed_sql).
 *
 * A fixture is a file someone sent you; its "seed_sql" and
 * "pre_migration_sql" must not reach beyond the replay's own database (an
 * ATTACH of another file, a DELETE, a PRAGMA, load_extension...).  They run
 * under an SQLite authorizer that allows:
 *   seed_sql           INSERT into the database's tables (SELECT, read,
 *                      recursive CTEs and plain scalar functions to make rows)
 *   pre_migration_sql  the same, plus CREATE TABLE and CREATE INDEX (the
 *                      legacy tables a migration fixture starts from)
 * and refuses everything else at prepare time.  The whole text runs in one
 * transaction of ours (the seed may not BEGIN/COMMIT itself), so a refused
 * statement anywhere leaves nothing of the seed behind. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "store/sqlutil.h"

typedef struct {
    int allow_ddl;
    char refused[160];                /* the first refused action, for the message */
} seed_policy;

/* Scalar functions that only compute values.  Anything else (load_extension,
 * fts3_tokenizer, sqlite_* introspection, future additions) is refused. */
static const char *const seed_functions[] = {
    "abs", "char", "coalesce", "concat", "concat_ws", "format", "hex", "ifnull", "iif",
    "instr", "length", "lower", "ltrim", "max", "min", "nullif", "printf", "quote",
    "random", "randomblob", "replace", "round", "rtrim", "sign", "substr", "substring",
    "trim", "typeof", "unhex", "unicode", "upper", "zeroblob", "date", "time", "datetime",
    "julianday", "strftime", "unixepoch", NULL
};

static int known_function(const char *name)
{
    for (size_t i = 0; name && seed_functions[i]; i++)
        if (strcasecmp(name, seed_functions[i]) == 0)
            return 1;
    return 0;
}

static int is_main(const char *db) { return db && strcmp(db, "main") == 0; }
static int is_schema_table(const char *t)
{
    return t && (strcasecmp(t, "sqlite_master") == 0 || strcasecmp(t, "sqlite_schema") == 0);
}
static int is_internal(const char *name) { return !name || strncasecmp(name, "sqlite_", 7) == 0; }

/* Yes or no for one action; a, b are the authorizer's third and fourth
 * arguments, db the database name. */
static int allowed(const seed_policy *p, int action, const char *a, const char *b, const char *db)
{
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_RECURSIVE:
        return 1;
    case SQLITE_FUNCTION:
        return known_function(b);
    case SQLITE_INSERT:                  /* CREATE writes its row into sqlite_master */
        return is_main(db) && (is_schema_table(a) ? p->allow_ddl : !is_internal(a));
    case SQLITE_UPDATE:
        return p->allow_ddl && is_main(db) && is_schema_table(a);
    case SQLITE_CREATE_TABLE:
    case SQLITE_CREATE_INDEX:
    case SQLITE_REINDEX:                 /* CREATE INDEX fills the new index */
        return p->allow_ddl && is_main(db);
    default:
        return 0;
    }
}

static const char *action_name(int action)
{
    switch (action) {
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_PRAGMA: return "PRAGMA";
    case SQLITE_FUNCTION: return "function";
    case SQLITE_TRANSACTION: return "BEGIN/COMMIT/ROLLBACK";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    case SQLITE_CREATE_TABLE: return "CREATE TABLE";
    case SQLITE_CREATE_INDEX: return "CREATE INDEX";
    case SQLITE_CREATE_TRIGGER: return "CREATE TRIGGER";
    case SQLITE_CREATE_VIEW: return "CREATE VIEW";
    case SQLITE_DROP_TABLE: return "DROP TABLE";
    case SQLITE_DROP_INDEX: return "DROP INDEX";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    default: return "this statement";
    }
}

static int authorize(void *ctx, int action, const char *a, const char *b, const char *db,
                     const char *trigger)
{
    seed_policy *p = ctx;
    (void)trigger;
    if (allowed(p, action, a, b, db))
        return SQLITE_OK;
    if (!p->refused[0]) {
        const char *what = action == SQLITE_FUNCTION ? b : a;
        snprintf(p->refused, sizeof p->refused, "%s%s%.64s%s", action_name(action),
                 what ? " (" : "", what ? what : "", what ? ")" : "");
    }
    return SQLITE_DENY;
}

static int exec_plain(sqlite3 *db, const char *sql) { return sqlite3_exec(db, sql, NULL, NULL, NULL); }

/* Runs sql in one transaction under the policy; on failure err says why. */
static int run_guarded(sqlite3 *db, const char *sql, seed_policy *p, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = exec_plain(db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return rc;
    }
    sqlite3_set_authorizer(db, authorize, p);
    rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    sqlite3_set_authorizer(db, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = exec_plain(db, "COMMIT");
    if (rc != SQLITE_OK) {
        if (p->refused[0])
            snprintf(err, errlen, "refused: %s is not allowed; a fixture's %s may only %s",
                     p->refused, p->allow_ddl ? "pre_migration_sql" : "seed_sql",
                     p->allow_ddl ? "create tables and indexes and insert rows" : "insert rows");
        else
            snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        exec_plain(db, "ROLLBACK");
    }
    sqlite3_free(msg);
    return rc;
}

dc_err store_sqlite_seed_sql(const char *db_path, const char *sql, int allow_ddl, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    seed_policy p = { .allow_ddl = allow_ddl };
    int rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK) {
        /* Belt and braces: no schema writes by hand, no extensions. */
        sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
        rc = run_guarded(db, sql, &p, err, errlen);
    } else {
        snprintf(err, errlen, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    }
    sqlite3_close(db);
    return rc == SQLITE_OK ? DC_OK : sqlutil_err(rc);
}
