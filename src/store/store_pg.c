/* store_pg.c - the PostgreSQL backend (issue #16): its table of operations,
 * open and close, transactions, and the checkpoint calls a server without a
 * file of ours answers with "nothing to do".
 *
 * A db setting that starts with postgresql:// or postgres:// is a libpq
 * connection URI (store.c, store_backend_for).  The connection is opened
 * with libpq's non-blocking connect (store_pg_conn.c); the operations of
 * each group live in store_pg_<group>.c.  lock_timeout plays the part of
 * SQLite's busy_timeout: a statement that would wait longer for a lock
 * another session holds fails at once as "busy" (store_refused 1), and the
 * daemon retries its turn later, exactly as on SQLite. */
#include "store/store_pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define STORE_PG_DEFAULT_LOCK_MS 5000
#define STORE_PG_CONNECT_MS 5000          /* one attempt of store_exists */
#define STORE_PG_CONNECT_WAIT_MS 10000    /* store_open: an unreachable server, retried this long */
#define STORE_PG_ATTEMPT_MS 5000          /* ... each attempt at most this long */
#define STORE_PG_BACKOFF_FIRST_MS 100     /* ... the first pause, doubled up to */
#define STORE_PG_BACKOFF_MAX_MS 2000

/* ---- the library ---------------------------------------------------------- */

static void store_pg_global_init(void) {}

static const char *store_pg_version(void)
{
    static char v[32];
    int n = PQlibVersion();          /* 150004 for 15.4; 90624 for 9.6.24 */
    if (n >= 100000)
        snprintf(v, sizeof v, "%d.%d", n / 10000, n % 10000);
    else
        snprintf(v, sizeof v, "%d.%d.%d", n / 10000, n / 100 % 100, n % 100);
    return v;
}

static int store_pg_latest_schema_version(void) { return store_pg_latest_version(); }

/* ---- open / close --------------------------------------------------------- */

static void store_pg_close(store *base)
{
    store_pg *p = store_pg_of(base);
    if (p->tx_depth && p->conn.conn && !p->answer_wait_ms) {
        store_pg_settle(p);
        if (p->conn.conn)
            PQclear(PQexec(p->conn.conn, "ROLLBACK"));
    }                                /* else closing the connection rolls it back */
    store_pg_doubt_free(p);
    store_pg_coord_close(p);
    store_pg_conn_close(&p->conn);
    store_pg_clean_close(p);
    store_sweep_queue_free(&p->closed);
    store_pg_pipe_free(p);
    free(p);
}

/* A database exists when a connection to it succeeds; any other failure
 * is store_open's to report. */
static int store_pg_exists(const char *path)
{
    store_pg_conn c = { 0 };
    store_pg_conn_start(&c, path);
    store_pg_state st = store_pg_conn_wait(&c, STORE_PG_CONNECT_MS);
    int exists = st == STORE_PG_READY || c.failure != STORE_PG_FAIL_NO_DATABASE;
    store_pg_conn_close(&c);
    return exists;
}

static dc_err set_lock_timeout(store_pg *p, int ms)
{
    static const store_pg_stmt st = { "dc_lock_timeout", "SELECT set_config('lock_timeout', $1, false)" };
    char v[32];
    const char *param = v;
    snprintf(v, sizeof v, "%dms", ms);
    p->lock_timeout_ms = ms;
    return store_pg_run(p, &st, 1, &param, NULL, "setting lock_timeout");
}

/* The server's notices ("relation already exists, skipping") are debug
 * lines, not text on stderr. */
static void on_notice(void *arg, const char *msg)
{
    (void)arg;
    LOG_D("store", "PostgreSQL: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* The monotonic clock in ms: retry deadlines, answer ages (store_pg_internal.h). */
int64_t store_pg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* One line for a connection that failed after `tries` attempts. */
static void say_failure(const store_pg *p, int tries, int64_t waited_ms, char *err, size_t errlen)
{
    if (tries > 1)
        snprintf(err, errlen, "%s (gave up after %d attempts in %.1f s)", p->conn.msg, tries,
                 (double)waited_ms / 1000);
    else
        snprintf(err, errlen, "%s", p->conn.msg);
}

/* Connects.  A server that cannot be reached (not running yet, a restart,
 * the network) is tried again with backoff for wait_ms in all, then fails
 * as DC_ERR_UNAVAIL (exit 69); a refused login, a missing database or a
 * bad URI fail at once with DC_ERR_CONFIG (78): waiting cures none of them.
 * Start-up only: this waits. */
static dc_err connect_db(store_pg *p, const char *uri, int wait_ms, char *err, size_t errlen)
{
    int64_t start = store_pg_mono_ms(), deadline = start + wait_ms, backoff = STORE_PG_BACKOFF_FIRST_MS;
    int tries = 0;
    for (;;) {
        int64_t left = deadline - store_pg_mono_ms();
        tries++;
        store_pg_conn_start(&p->conn, uri);
        if (store_pg_conn_wait(&p->conn, (int)(left < STORE_PG_ATTEMPT_MS ? (left > 0 ? left : 1)
                                                                          : STORE_PG_ATTEMPT_MS)) == STORE_PG_READY) {
            PQsetNoticeProcessor(p->conn.conn, on_notice, NULL);
            return DC_OK;
        }
        left = deadline - store_pg_mono_ms();
        if (!store_pg_failure_retryable(p->conn.failure) || left <= 0)
            break;
        LOG_D("store", "%s; trying again in %lld ms", p->conn.msg, (long long)(backoff < left ? backoff : left));
        store_pg_conn_close(&p->conn);
        sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 < STORE_PG_BACKOFF_MAX_MS ? backoff * 2 : STORE_PG_BACKOFF_MAX_MS;
    }
    say_failure(p, tries, store_pg_mono_ms() - start, err, errlen);
    return store_pg_failure_err(p->conn.failure);
}

static dc_err store_pg_open(store **out, const char *path, const store_opts *o, char *err, size_t errlen)
{
    store_pg *p = calloc(1, sizeof *p);
    if (!p)
        return DC_ERR_NOMEM;
    p->head.read_only = o->read_only;
    p->uri = strdup(path);
    if (!p->uri) {
        free(p);
        return DC_ERR_NOMEM;
    }
    dc_err rc = connect_db(p, path, o->connect_wait_ms > 0 ? o->connect_wait_ms : STORE_PG_CONNECT_WAIT_MS,
                           err, errlen);
    if (rc == DC_OK) {
        rc = set_lock_timeout(p, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : STORE_PG_DEFAULT_LOCK_MS);
        if (rc != DC_OK)
            snprintf(err, errlen, "%s", p->head.errmsg);
    }
    /* The id types before migrating (a users table we cannot bind gets
     * nothing written) and after (the migration may have made the table). */
    if (rc == DC_OK)
        rc = store_pg_types_detect(p, err, errlen);
    if (rc == DC_OK)
        rc = store_pg_migrate(p, o->legacy_guild_id, o->read_only, &p->head.migration, err, errlen);
    if (rc == DC_OK && (rc = store_pg_types_detect(p, err, errlen)) == DC_OK)
        store_pg_types_advise(p);
    if (rc == DC_OK)
        rc = store_pg_clean_open(p, o->clean_tables, o->n_clean_tables, err, errlen);
    if (rc == DC_OK && (rc = store_pg_batch_open(p)) != DC_OK)
        snprintf(err, errlen, "%s", p->head.errmsg);
    if (rc != DC_OK) {
        store_pg_close(&p->head);
        return rc;
    }
    p->head.schema_version = p->head.migration.to_version;
    *out = &p->head;
    return DC_OK;
}

static const char *store_pg_last_error(store *base)
{
    store_pg *p = store_pg_of(base);
    return p->conn.conn ? PQerrorMessage(p->conn.conn) : "no connection";
}

/* ---- transactions --------------------------------------------------------- */

static dc_err store_pg_begin(store *base)
{
    store_pg *p = store_pg_of(base);
    if (p->tx_depth == 0) {
        p->refused = 0;
        p->tx_broken = 0;
        if (!store_pg_ready(p))
            return store_pg_not_ready(p, "BEGIN");
        /* The daemon's turn: BEGIN goes out with its writes (store_pg_pipe.c). */
        dc_err rc = p->bare_writes && !p->head.read_only ? store_pg_send_sql(p, "BEGIN", "BEGIN")
                                                         : store_pg_exec(p, "BEGIN", "BEGIN");
        if (rc != DC_OK)
            return rc;
    }
    p->tx_depth++;
    return DC_OK;
}

static dc_err commit_statement(store_pg *p, PGresult **r)
{
    if (p->answer_wait_ms > 0)
        return store_pg_ask_commit(p, r);
    *r = PQexec(p->conn.conn, "COMMIT");
    return PQresultStatus(*r) == PGRES_COMMAND_OK ? DC_OK : store_pg_fail(p, *r, "COMMIT");
}

static dc_err store_pg_commit(store *base)
{
    store_pg *p = store_pg_of(base);
    if (p->tx_depth == 0) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "COMMIT without a transaction");
        return DC_ERR_USAGE;
    }
    if (p->tx_depth > 1) {
        p->tx_depth--;
        return DC_OK;
    }
    store_pg_settle(p);              /* a queued write that failed breaks the transaction */
    if (!p->conn.conn) {
        p->tx_depth = 0;             /* lost: the server rolled it back */
        return store_pg_not_ready(p, "COMMIT");
    }
    /* As on SQLite: a broken transaction stays open, the caller rolls it
     * back (which also clears tx_broken; writes outside it work again). */
    if (p->tx_broken) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "a write failed half-way through this transaction: "
                 "it must be rolled back, not committed");
        return DC_ERR_DB;
    }
    p->tx_depth = 0;
    /* A transaction PostgreSQL has aborted answers COMMIT with ROLLBACK
     * and no error: that is a refusal, not a commit. */
    PGresult *r = NULL;
    dc_err rc = commit_statement(p, &r);
    if (rc == DC_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "COMMIT: the transaction had failed and was rolled back");
        rc = DC_ERR_DB;
    }
    PQclear(r);
    return rc;
}

static dc_err store_pg_rollback(store *base)
{
    store_pg *p = store_pg_of(base);
    if (p->tx_depth == 0)
        return DC_OK;
    p->tx_depth = 0;
    store_pg_settle(p);              /* its failure is what is being rolled back */
    store_pg_tx_gone(p);
    p->tx_broken = 0;
    if (!p->conn.conn)
        return DC_OK;                /* lost: the server rolled it back */
    if (p->answer_wait_ms > 0) {
        store_pg_undo(p, "ROLLBACK");
        return DC_OK;
    }
    return store_pg_exec(p, "ROLLBACK", "ROLLBACK");
}

static int store_pg_in_transaction(store *base) { return store_pg_of(base)->tx_depth; }
static void store_pg_set_bare_writes(store *base, int on) { store_pg_of(base)->bare_writes = on; }
static int store_pg_tx_broken(const store *base) { return store_pg_of_const(base)->tx_broken; }
static int store_pg_refused(store *base) { return store_pg_of(base)->refused; }

static void store_pg_set_busy_timeout(store *base, int ms)
{
    store_pg *p = store_pg_of(base);
    set_lock_timeout(p, ms > 0 ? ms : STORE_PG_DEFAULT_LOCK_MS);
}

static void store_pg_set_answer_wait(store *base, int ms) { store_pg_of(base)->answer_wait_ms = ms > 0 ? ms : 0; }

/* ---- checkpoints: the server manages its own write-ahead log -------------- */

static dc_err store_pg_set_manual_checkpoints(store *s) { (void)s; return DC_OK; }
static void store_pg_checkpoint_request(store *s) { (void)s; }
static int store_pg_checkpoint_failures(store *s, char *msg, size_t cap)
{
    (void)s;
    if (msg && cap)
        msg[0] = '\0';
    return 0;
}
static void store_pg_checkpointer_stop(store *s) { (void)s; }
static int store_pg_wal_frames(const store *s) { (void)s; return 0; }
static int store_pg_checkpoint_tail(store *s, int max_frames) { (void)s; (void)max_frames; return 0; }

const store_backend store_pg_backend = {
    .name = "libpq",
    .global_init = store_pg_global_init,
    .version = store_pg_version,
    .latest_schema_version = store_pg_latest_schema_version,
    .seed_sql = store_pg_seed_sql,
    .exists = store_pg_exists,
    .open = store_pg_open,
    .close = store_pg_close,
    .last_error = store_pg_last_error,
    .begin = store_pg_begin,
    .commit = store_pg_commit,
    .rollback = store_pg_rollback,
    .in_transaction = store_pg_in_transaction,
    .fd = store_pg_fd,
    .set_bare_writes = store_pg_set_bare_writes,
    .tx_broken = store_pg_tx_broken,
    .refused = store_pg_refused,
    .set_busy_timeout = store_pg_set_busy_timeout,
    .set_answer_wait = store_pg_set_answer_wait,
    .commit_submit = store_pg_commit_submit,
    .service = store_pg_service,
    .in_flight = store_pg_in_flight,
    .wait = store_pg_wait,
    .watch = store_pg_watch,
    .set_manual_checkpoints = store_pg_set_manual_checkpoints,
    .checkpoint_request = store_pg_checkpoint_request,
    .checkpoint_failures = store_pg_checkpoint_failures,
    .checkpointer_stop = store_pg_checkpointer_stop,
    .wal_frames = store_pg_wal_frames,
    .checkpoint_tail = store_pg_checkpoint_tail,
    .delete_member = store_pg_delete_member_queued,
    .delete_guild = store_pg_delete_guild,
    .delete_guild_slice = store_pg_delete_guild_slice,
    .audit_guild_delete = store_pg_audit_guild_delete,
    .count_guild = store_pg_count_guild,
    .count_unassigned = store_pg_count_unassigned,
    .adopt_unassigned = store_pg_adopt_unassigned,
    .each_user_guild = store_pg_each_user_guild,
    .each_stored_guild = store_pg_each_stored_guild,
    .guild_seen = store_pg_guild_seen,
    .guild_set_unavailable = store_pg_guild_set_unavailable,
    .guild_set_needs_reconcile = store_pg_guild_set_needs_reconcile,
    .guild_set_last_sweep = store_pg_guild_set_last_sweep,
    .guild_forget = store_pg_guild_forget,
    .guild_set_name = store_pg_guild_set_name,
    .guild_get_name = store_pg_guild_get_name,
    .each_guild_name = store_pg_each_guild_name,
    .guild_get = store_pg_guild_get,
    .each_guild_state = store_pg_each_guild_state,
    .kv_get = store_pg_kv_get,
    .kv_set = store_pg_kv_set,
    .kv_del = store_pg_kv_del,
    .each_kv = store_pg_each_kv,
    .each_audit = store_pg_each_audit,
    .audit_prune = store_pg_audit_prune,
    .audit_totals = store_pg_audit_totals,
    .audit_buckets = store_pg_audit_buckets,
    .sweep_open = store_pg_sweep_open,
    .sweep_add = store_pg_sweep_add,
    .sweep_scan = store_pg_sweep_scan,
    .sweep_delete_batch = store_pg_sweep_delete_batch,
    .sweep_close = store_pg_sweep_close,
    .sweep_clear_step = store_pg_sweep_clear_step,
    .request_add = store_pg_request_add,
    .request_each_open = store_pg_request_each_open,
    .request_answer = store_pg_request_answer,
    .request_get = store_pg_request_get,
    .request_delete = store_pg_request_delete,
    .lease_claim = store_pg_lease_claim,
    .lease_renew = store_pg_lease_renew,
    .lease_release = store_pg_lease_release,
    .each_lease = store_pg_each_lease,
    .identify_lock = store_pg_identify_lock,
    .identify_unlock = store_pg_identify_unlock,
    .schedule_set = store_pg_schedule_set,
    .schedule_clear = store_pg_schedule_clear,
    .schedule_get = store_pg_schedule_get,
    .each_schedule = store_pg_each_schedule,
    .sweep_log_add = store_pg_sweep_log_add,
    .sweep_log_recent = store_pg_sweep_log_recent,
    .sweep_log_prune = store_pg_sweep_log_prune,
    .grace_mark = store_pg_grace_mark,
    .grace_cancel = store_pg_grace_cancel,
    .grace_each = store_pg_grace_each,
    .grace_count = store_pg_grace_count,
    .grace_expire = store_pg_grace_expire,
    .grace_mark_stale = store_pg_grace_mark_stale,
    .identify_prepare = store_pg_identify_prepare,
};
