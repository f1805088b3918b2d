/* store_sqlite.c - the SQLite backend of the store (store_backend_internal.h):
 * open/close, configuration, migration, statements, transactions, and the
 * backend's table, store_sqlite_backend.  The operations live in
 * store_sqlite_users.c, store_sqlite_state.c, store_sqlite_audit.c,
 * store_sqlite_sweep.c, store_sqlite_requests.c, store_sqlite_wal.c and
 * store_sqlite_clean.c; a fixture's seed in store_sqlite_seed.c. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "base/log.h"
#include "store/migrate.h"
#include "store/sqlutil.h"

#define STORE_DEFAULT_BUSY_MS 5000

static const char *const stmt_sql[ST__COUNT] = {
#define STORE_STMT_SQL(id, sql) [id] = sql,
    STORE_STMTS(STORE_STMT_SQL)
#undef STORE_STMT_SQL
};


dc_err store_sqlite_fail(store_sqlite *s, int rc, const char *what)
{
    snprintf(s->head.errmsg, sizeof s->head.errmsg, "%s: %s", what, sqlite3_errmsg(s->db));
    int primary = rc & 0xff;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL)
        s->refused = primary;
    /* Busy is expected while the bot writes; the daemon retries and says so
     * itself (turn.c), so a line per attempt would only be noise. */
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        LOG_D("store", "%s", s->head.errmsg);
    else
        LOG_W("store", "%s", s->head.errmsg);
    return sqlutil_err(rc);
}

sqlite3_stmt *store_sqlite_stmt(store_sqlite *s, store_stmt_id id)
{
    if (s->stmts[id])
        return s->stmts[id];
    int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                &s->stmts[id], NULL);
    if (rc != SQLITE_OK) {
        store_sqlite_fail(s, rc, "prepare");
        s->stmts[id] = NULL;
    }
    return s->stmts[id];
}

dc_err store_sqlite_step_done(store_sqlite *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

dc_err store_sqlite_step_int(store_sqlite *s, sqlite3_stmt *st, int64_t *out, const char *what)
{
    int rc = sqlite3_step(st);
    dc_err e = DC_OK;
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    else
        e = store_sqlite_fail(s, rc == SQLITE_DONE ? SQLITE_ERROR : rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

/* ---- transactions --------------------------------------------------------- */

static dc_err exec_sql(store_sqlite *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? DC_OK : store_sqlite_fail(s, rc, sql);
}

static dc_err store_sqlite_begin(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->tx_depth == 0) {
        s->refused = 0;           /* a new transaction: forget the last one's trouble */
        s->tx_broken = 0;
        s->audit_n = 0;
        dc_err rc = exec_sql(s, "BEGIN IMMEDIATE");
        if (rc != DC_OK)
            return rc;
    }
    s->tx_depth++;
    return DC_OK;
}

static dc_err store_sqlite_commit(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->tx_depth == 0) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "commit without a transaction");
        return DC_ERR_INTERNAL;
    }
    if (s->tx_depth == 1 && s->audit_n && !s->tx_broken) {
        dc_err rc = store_sqlite_audit_flush(s);
        if (rc != DC_OK)
            return rc;            /* the transaction is broken: only ROLLBACK now */
    }
    if (s->tx_broken) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "a write failed half-way through this transaction: "
                 "it must be rolled back, not committed");
        return DC_ERR_DB;
    }
    if (s->tx_depth == 1) {
        dc_err rc = exec_sql(s, "COMMIT");
        if (rc != DC_OK)
            return rc;            /* still open: the caller may retry or roll back */
    }
    s->tx_depth--;
    return DC_OK;
}

/* Rolls back the whole transaction, whatever the nesting depth. */
static dc_err store_sqlite_rollback(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->tx_depth == 0) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "rollback without a transaction");
        return DC_ERR_INTERNAL;
    }
    s->tx_depth = 0;
    s->tx_broken = 0;
    s->audit_n = 0;                /* their rows were rolled back with them */
    return exec_sql(s, "ROLLBACK");
}

static int store_sqlite_in_transaction(store *base) { return store_sqlite_of(base)->tx_depth; }
/* SQLite commits inside store_commit_submit: nothing for the loop to watch. */
static int store_sqlite_fd(const store *base) { (void)base; return -1; }
/* Commits at once: nothing to watch, nothing due (store_watch's default). */
static void store_sqlite_watch(store *base, store_watch_info *out) { (void)base; (void)out; }
/* SQLite commits inside store_commit_submit: nothing is ever in flight. */
static void store_sqlite_service(store *base) { (void)base; }
static int store_sqlite_in_flight(const store *base) { (void)base; return 0; }
static void store_sqlite_wait(store *base, int timeout_ms) { (void)base; (void)timeout_ms; }

static void store_sqlite_set_bare_writes(store *base, int on)
{
    store_sqlite *s = store_sqlite_of(base);
    if (!on && s->audit_n && s->tx_depth && !s->tx_broken)
        store_sqlite_audit_flush(s);     /* queued rows belong to writes already made */
    s->bare_writes = on;
}

static int store_sqlite_tx_broken(const store *base) { return store_sqlite_of_const(base)->tx_broken; }

static dc_err step_cached(store_sqlite *s, store_stmt_id id, const char *what)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, id);
    return st ? store_sqlite_step_done(s, st, what) : DC_ERR_DB;
}

static int store_sqlite_refused(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->refused == SQLITE_FULL)
        return 2;
    return s->refused ? 1 : 0;
}

static void store_sqlite_set_busy_timeout(store *base, int ms)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_busy_timeout(s->db, ms > 0 ? ms : STORE_DEFAULT_BUSY_MS);
}

dc_err store_sqlite_op_begin(store_sqlite *s, store_op_mode *mode)
{
    if (s->head.read_only) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "the store is open read-only");
        return DC_ERR_USAGE;
    }
    if (s->tx_broken) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "the transaction holds a half-applied write: roll it back first");
        return DC_ERR_DB;
    }
    *mode = !s->tx_depth ? STORE_OP_OWN_TX : s->bare_writes ? STORE_OP_BARE : STORE_OP_SAVEPOINT;
    if (*mode == STORE_OP_OWN_TX)
        return exec_sql(s, "BEGIN IMMEDIATE");
    if (*mode == STORE_OP_BARE)
        return DC_OK;
    return step_cached(s, ST_SAVEPOINT, "SAVEPOINT store_op");
}

dc_err store_sqlite_op_end(store_sqlite *s, store_op_mode mode, dc_err rc)
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
    if (rc == DC_OK && (rc = exec_sql(s, "COMMIT")) == DC_OK)
        return DC_OK;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- open / close --------------------------------------------------------- */

static void store_sqlite_close(store *base);

static dc_err open_db(store_sqlite *s, const char *path, const store_opts *o, char *err, size_t errlen)
{
    int flags = o->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    /* A store is used by one thread (the loop's): no per-call mutex. */
    flags |= SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open database %s: %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        return sqlutil_err(rc);
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : STORE_DEFAULT_BUSY_MS);
    return DC_OK;
}

/* WAL lets the bot read while we write.  Set after migrating, so a failed
 * migration leaves a rollback-journal database byte for byte as it was;
 * on a database already in WAL mode this writes nothing. */
static dc_err configure(store_sqlite *s, char *err, size_t errlen)
{
    if (s->head.read_only)
        return sqlutil_exec(s->db, "PRAGMA foreign_keys = ON", err, errlen);
    dc_err rc = sqlutil_exec(s->db, "PRAGMA journal_mode = WAL", err, errlen);
    if (rc == DC_OK)
        rc = sqlutil_exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", err, errlen);
    return rc;
}

static dc_err store_sqlite_open(store **out, const char *path, const store_opts *o, char *err, size_t errlen)
{
    store_sqlite *s = calloc(1, sizeof *s);
    if (!s)
        return DC_ERR_NOMEM;
    s->head.read_only = o->read_only;
    dc_err rc = open_db(s, path, o, err, errlen);
    if (rc == DC_OK)
        rc = migrate_run(s->db, path, o->legacy_guild_id, o->read_only, &s->head.migration, err, errlen);
    if (rc == DC_OK)
        rc = configure(s, err, errlen);
    if (rc == DC_OK)
        rc = store_sqlite_clean_open(s, o->clean_tables, o->n_clean_tables, err, errlen);
    if (rc != DC_OK) {
        store_sqlite_close(&s->head);
        return rc;
    }
    s->head.schema_version = s->head.migration.to_version;
    *out = &s->head;
    return DC_OK;
}

static void store_sqlite_close(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    store_sqlite_checkpointer_stop(&s->head);
    if (s->tx_depth && s->db)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    store_sqlite_clean_close(s);
    store_sqlite_coord_close(s);
    sqlite3_close(s->db);
    store_sweep_queue_free(&s->closed);
    free(s);
}

static int store_sqlite_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static const char *store_sqlite_last_error(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    return s->db ? sqlite3_errmsg(s->db) : "no database";
}

/* ---- the library ---------------------------------------------------------- */

/* Before SQLite initialises: without its allocation statistics (which
 * nothing here reads) every sqlite3_malloc skips a global mutex -- about a
 * fifth of the CPU of deleting one member (make bench, burst). */
static void store_sqlite_global_init(void) { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); }
static const char *store_sqlite_version(void) { return sqlite3_libversion(); }

const store_backend store_sqlite_backend = {
    .name = "SQLite",
    .global_init = store_sqlite_global_init,
    .version = store_sqlite_version,
    .latest_schema_version = migrate_latest_version,
    .seed_sql = store_sqlite_seed_sql,
    .exists = store_sqlite_exists,
    .open = store_sqlite_open,
    .close = store_sqlite_close,
    .last_error = store_sqlite_last_error,
    .begin = store_sqlite_begin,
    .commit = store_sqlite_commit,
    .rollback = store_sqlite_rollback,
    .in_transaction = store_sqlite_in_transaction,
    .fd = store_sqlite_fd,
    .set_bare_writes = store_sqlite_set_bare_writes,
    .tx_broken = store_sqlite_tx_broken,
    .refused = store_sqlite_refused,
    .set_busy_timeout = store_sqlite_set_busy_timeout,
    .commit_submit = store_submit_at_once,
    .service = store_sqlite_service,
    .in_flight = store_sqlite_in_flight,
    .wait = store_sqlite_wait,
    .watch = store_sqlite_watch,
    .set_manual_checkpoints = store_sqlite_set_manual_checkpoints,
    .checkpoint_request = store_sqlite_checkpoint_request,
    .checkpoint_failures = store_sqlite_checkpoint_failures,
    .checkpointer_stop = store_sqlite_checkpointer_stop,
    .wal_frames = store_sqlite_wal_frames,
    .checkpoint_tail = store_sqlite_checkpoint_tail,
    .delete_member = store_sqlite_delete_member,
    .delete_guild = store_sqlite_delete_guild,
    .delete_guild_slice = store_sqlite_delete_guild_slice,
    .audit_guild_delete = store_sqlite_audit_guild_delete,
    .count_guild = store_sqlite_count_guild,
    .count_unassigned = store_sqlite_count_unassigned,
    .adopt_unassigned = store_sqlite_adopt_unassigned,
    .each_user_guild = store_sqlite_each_user_guild,
    .each_stored_guild = store_sqlite_each_stored_guild,
    .guild_seen = store_sqlite_guild_seen,
    .guild_set_unavailable = store_sqlite_guild_set_unavailable,
    .guild_set_needs_reconcile = store_sqlite_guild_set_needs_reconcile,
    .guild_set_last_sweep = store_sqlite_guild_set_last_sweep,
    .guild_forget = store_sqlite_guild_forget,
    .guild_set_name = store_sqlite_guild_set_name,
    .guild_get_name = store_sqlite_guild_get_name,
    .each_guild_name = store_sqlite_each_guild_name,
    .guild_get = store_sqlite_guild_get,
    .each_guild_state = store_sqlite_each_guild_state,
    .kv_get = store_sqlite_kv_get,
    .kv_set = store_sqlite_kv_set,
    .kv_del = store_sqlite_kv_del,
    .each_kv = store_sqlite_each_kv,
    .each_audit = store_sqlite_each_audit,
    .audit_prune = store_sqlite_audit_prune,
    .audit_totals = store_sqlite_audit_totals,
    .audit_buckets = store_sqlite_audit_buckets,
    .sweep_open = store_sqlite_sweep_open,
    .sweep_add = store_sqlite_sweep_add,
    .sweep_scan = store_sqlite_sweep_scan,
    .sweep_delete_batch = store_sqlite_sweep_delete_batch,
    .sweep_close = store_sqlite_sweep_close,
    .sweep_clear_step = store_sqlite_sweep_clear_step,
    .request_add = store_sqlite_request_add,
    .request_each_open = store_sqlite_request_each_open,
    .request_answer = store_sqlite_request_answer,
    .request_get = store_sqlite_request_get,
    .request_delete = store_sqlite_request_delete,
    .lease_claim = store_sqlite_lease_claim,
    .lease_renew = store_sqlite_lease_renew,
    .lease_release = store_sqlite_lease_release,
    .each_lease = store_sqlite_each_lease,
    .identify_lock = store_sqlite_identify_lock,
    .identify_unlock = store_sqlite_identify_unlock,
    .schedule_set = store_sqlite_schedule_set,
    .schedule_clear = store_sqlite_schedule_clear,
    .schedule_get = store_sqlite_schedule_get,
    .each_schedule = store_sqlite_each_schedule,
    .sweep_log_add = store_sqlite_sweep_log_add,
    .sweep_log_recent = store_sqlite_sweep_log_recent,
    .sweep_log_prune = store_sqlite_sweep_log_prune,
    .grace_mark = store_sqlite_grace_mark,
    .grace_cancel = store_sqlite_grace_cancel,
    .grace_each = store_sqlite_grace_each,
    .grace_count = store_sqlite_grace_count,
    .grace_expire = store_sqlite_grace_expire,
    .grace_mark_stale = store_sqlite_grace_mark_stale,
    .identify_prepare = store_sqlite_identify_prepare,
};
