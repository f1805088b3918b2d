/* store.c - open/close, configuration, migration, statements, transactions.
 * The operations live in store_users.c, store_state.c and store_clean.c. */
#include "store/store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"
#include "store/migrate.h"
#include "store/sqlutil.h"

#define STORE_DEFAULT_BUSY_MS 5000

static const char *const stmt_sql[ST__COUNT] = {
#define STORE_STMT_SQL(id, sql) [id] = sql,
    STORE_STMTS(STORE_STMT_SQL)
#undef STORE_STMT_SQL
};


dc_err store_fail(store *s, int rc, const char *what)
{
    snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", what, sqlite3_errmsg(s->db));
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL)
        s->refused = primary;
    /* Busy is expected while the bot writes; the daemon retries and says so
     * itself (turn.c), so a line per attempt would only be noise. */
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        LOG_D("store", "%s", s->errmsg);
    else
        LOG_W("store", "%s", s->errmsg);
    return sqlu_err(rc);
}

sqlite3_stmt *store_stmt(store *s, store_stmt_id id)
{
    if (s->stmts[id])
        return s->stmts[id];
    int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &s->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        store_fail(s, rc, "prepare");
        s->stmts[id] = NULL;
    }
    return s->stmts[id];
}

dc_err store_step_done(store *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_fail(s, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

dc_err store_step_int(store *s, sqlite3_stmt *st, int64_t *out, const char *what)
{
    int rc = sqlite3_step(st);
    dc_err e = DC_OK;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        e = store_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

/* ---- transactions --------------------------------------------------------- */

static dc_err store_exec(store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? DC_OK : store_fail(s, rc, sql);
}

dc_err store_begin(store *s)
{
    if (s->tx_depth == 0) {
        s->refused = 0;           /* a new transaction: forget the last one's trouble */
        s->tx_broken = 0;
        s->audit_n = 0;
        dc_err rc = store_exec(s, "BEGIN IMMEDIATE");
        if (rc != DC_OK)
            return rc;
    }
    s->tx_depth++;
    return DC_OK;
}

dc_err store_commit(store *s)
{
    if (s->tx_depth == 0) {
        snprintf(s->errmsg, sizeof s->errmsg, "commit without a transaction");
        return DC_ERR_INTERNAL;
    }
    if (s->tx_depth == 1 && s->audit_n && !s->tx_broken) {
        dc_err rc = store_audit_flush(s);
        if (rc != DC_OK)
            return rc;            /* the transaction is broken: only ROLLBACK now */
    }
    if (s->tx_broken) {
        snprintf(s->errmsg, sizeof s->errmsg, "a write failed half-way through this transaction: "
                 "it must be rolled back, not committed");
        return DC_ERR_DB;
    }
    if (s->tx_depth == 1) {
        dc_err rc = store_exec(s, "COMMIT");
        if (rc != DC_OK)
            return rc;            /* still open: the caller may retry or roll back */
    }
    s->tx_depth--;
    return DC_OK;
}

/* Rolls back the whole transaction, whatever the nesting depth. */
dc_err store_rollback(store *s)
{
    if (s->tx_depth == 0) {
        snprintf(s->errmsg, sizeof s->errmsg, "rollback without a transaction");
        return DC_ERR_INTERNAL;
    }
    s->tx_depth = 0;
    s->tx_broken = 0;
    s->audit_n = 0;                /* their rows were rolled back with them */
    return store_exec(s, "ROLLBACK");
}

int store_in_transaction(store *s) { return s->tx_depth > 0; }

void store_set_bare_writes(store *s, int on)
{
    if (!on && s->audit_n && s->tx_depth && !s->tx_broken)
        store_audit_flush(s);     /* queued rows belong to writes already made */
    s->bare_writes = on;
}

int store_tx_broken(const store *s) { return s->tx_broken; }

static dc_err step_cached(store *s, store_stmt_id id, const char *what)
{
    sqlite3_stmt *st = store_stmt(s, id);
    return st ? store_step_done(s, st, what) : DC_ERR_DB;
}

int store_refused(store *s)
{
    if (s->refused == SQLITE_FULL)
        return 2;
    return s->refused ? 1 : 0;
}

void store_set_busy_timeout(store *s, int ms)
{
    sqlite3_busy_timeout(s->db, ms > 0 ? ms : STORE_DEFAULT_BUSY_MS);
}

dc_err store_op_begin(store *s, store_op_mode *mode)
{
    if (s->read_only) {
        snprintf(s->errmsg, sizeof s->errmsg, "the store is open read-only");
        return DC_ERR_USAGE;
    }
    if (s->tx_broken) {
        snprintf(s->errmsg, sizeof s->errmsg, "the transaction holds a half-applied write: roll it back first");
        return DC_ERR_DB;
    }
    *mode = !s->tx_depth ? STORE_OP_OWN_TX : s->bare_writes ? STORE_OP_BARE : STORE_OP_SAVEPOINT;
    if (*mode == STORE_OP_OWN_TX)
        return store_exec(s, "BEGIN IMMEDIATE");
    if (*mode == STORE_OP_BARE)
        return DC_OK;
    return step_cached(s, ST_SAVEPOINT, "SAVEPOINT store_op");
}

dc_err store_op_end(store *s, store_op_mode mode, dc_err rc)
{
    if (mode == STORE_OP_BARE) {
        if (rc != DC_OK)
            s->tx_broken = 1;
        return rc;
    }
    if (mode == STORE_OP_SAVEPOINT) {
        if (rc != DC_OK)
            step_cached(s, ST_ROLLBACK_TO, "ROLLBACK TO store_op");
        dc_err rel = step_cached(s, ST_RELEASE, "RELEASE store_op");
        return rc != DC_OK ? rc : rel;
    }
    if (rc == DC_OK && (rc = store_exec(s, "COMMIT")) == DC_OK)
        return DC_OK;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- open / close --------------------------------------------------------- */

static dc_err open_db(store *s, const char *path, const store_opts *o, char *err, size_t errlen)
{
    int flags = o->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    /* A store is used by one thread (the loop's): no per-call mutex. */
    flags |= SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return sqlu_err(rc);
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : STORE_DEFAULT_BUSY_MS);
    return DC_OK;
}

/* WAL lets the bot read while we write.  Set after migrating, so a failed
 * migration leaves a rollback-journal database byte for byte as it was;
 * on a database already in WAL mode this writes nothing. */
static dc_err configure(store *s, char *err, size_t errlen)
{
    if (s->read_only)
        return sqlu_exec(s->db, "PRAGMA foreign_keys = ON", err, errlen);
    dc_err rc = sqlu_exec(s->db, "PRAGMA journal_mode = WAL", err, errlen);
    if (rc == DC_OK)
        rc = sqlu_exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err, errlen);
    return rc;
}

dc_err store_open(store **out, const char *path, const store_opts *opts, char *err, size_t errlen)
{
    static const store_opts defaults = { 0 };
    const store_opts *o = opts ? opts : &defaults;
    char scratch[8];
    if (!err || !errlen) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    *out = NULL;
    if (!path || !path[0]) {
        snprintf(err, errlen, "no database path");
        return DC_ERR_USAGE;
    }
    store *s = calloc(1, sizeof *s);
    if (!s)
        return DC_ERR_NOMEM;
    s->read_only = o->read_only;
    dc_err rc = open_db(s, path, o, err, errlen);
    if (rc == DC_OK)
        rc = migrate_run(s->db, path, o->legacy_guild_id, o->read_only, &s->migration, err, errlen);
    if (rc == DC_OK)
        rc = configure(s, err, errlen);
    if (rc == DC_OK)
        rc = store_clean_open(s, o->clean_tables, o->n_clean_tables, err, errlen);
    if (rc != DC_OK) {
        store_close(s);
        return rc;
    }
    s->schema_version = s->migration.to_version;
    *out = s;
    return DC_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    store_checkpointer_stop(s);
    if (s->tx_depth && s->db)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    store_clean_close(s);
    sqlite3_close(s->db);
    free(s->closed_sets);
    store_submit_free(s);
    free(s);
}

const char *store_errmsg(store *s)
{
    if (s->errmsg[0])
        return s->errmsg;
    return s->db ? sqlite3_errmsg(s->db) : "no database";
}

int store_schema_version(store *s) { return s->schema_version; }
int store_latest_schema_version(void) { return migrate_latest_version(); }
const store_migration_report *store_migration(store *s) { return &s->migration; }
