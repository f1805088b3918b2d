/* store_pg_internal.h - the PostgreSQL backend's own declarations (internal
 * to src/store/; issue #16).
 *
 * First its connection (store_pg_conn.c): libpq's non-blocking connect
 * (PQconnectStartParams and PQconnectPoll) driven by the connection's
 * socket, so the daemon's event loop can watch it; store_pg_conn_wait is the
 * bounded wait for start-up and the tests.  A failed connection is sorted
 * into the classes the daemon acts on (retry then exit 69, or exit 78) and
 * worded as one line naming the `db` setting and the fix, never with the
 * password (base/uri.h).  libpq resolves a host name inside PQconnectPoll,
 * blocking: `hostaddr=` in the URI avoids the lookup.
 *
 * Then the backend's store (struct store_pg) and the helpers its files
 * share: statements are named, prepared on first use on the connection and
 * run with text parameters -- never SQL built from input; a parameter's
 * type is the column's, so one statement binds a users table whose ids are
 * BIGINT, NUMERIC, TEXT or VARCHAR.  A failed statement records its message
 * in the store's errmsg and sorts the failure the way the daemon acts on it
 * (store_refused: 1 another session holds a lock past lock_timeout, the
 * PostgreSQL counterpart of SQLite's busy_timeout; 2 the disk is full). */
#ifndef DC_STORE_PG_INTERNAL_H
#define DC_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include "base/err.h"
#include "store/store_backend_internal.h"

/* Why a connection failed. */
typedef enum {
    STORE_PG_FAIL_NONE,          /* not failed */
    STORE_PG_FAIL_URI,           /* the db setting is no URI libpq takes: nothing was tried */
    STORE_PG_FAIL_UNREACHABLE,   /* refused, unreachable, timed out, server starting: retry */
    STORE_PG_FAIL_AUTH,          /* the server refused the login (user, password) */
    STORE_PG_FAIL_NO_DATABASE,   /* the database does not exist */
    STORE_PG_FAIL_OTHER,         /* any other refusal (no CONNECT right, SSL required, ...) */
    STORE_PG_FAIL_NOMEM,         /* out of memory */
} store_pg_failure;

/* Where a connection is. */
typedef enum {
    STORE_PG_WANT_READ,          /* call store_pg_conn_step when the socket is readable */
    STORE_PG_WANT_WRITE,         /* ... when it is writable */
    STORE_PG_READY,              /* connected (the connection is non-blocking) */
    STORE_PG_FAILED,             /* failure and msg say why */
} store_pg_state;

#define STORE_PG_MSG_MAX 1024

typedef struct {
    PGconn *conn;                /* NULL when nothing was started */
    store_pg_state state;
    store_pg_failure failure;
    char *uri;                   /* the db setting (its passwords are scrubbed from msg) */
    char msg[STORE_PG_MSG_MAX];  /* the one line of a failure, "" otherwise */
} store_pg_conn;

/* Checks uri (a postgres:// or postgresql:// URI, PQconninfoParse) and
 * starts connecting, without waiting.  A URI libpq refuses (an unknown
 * parameter, a bad percent-escape) fails here with STORE_PG_FAIL_URI and no
 * connection attempted.  Returns the state; c is always to be closed. */
store_pg_state store_pg_conn_start(store_pg_conn *c, const char *uri);
/* One step of the connect (PQconnectPoll), when the socket is ready for what
 * the state asked; returns the new state. */
store_pg_state store_pg_conn_step(store_pg_conn *c);
/* The socket to watch (it may change between steps), -1 when none. */
int store_pg_conn_fd(const store_pg_conn *c);
/* What to watch it for: POLLIN, POLLOUT, or 0 once ready or failed. */
short store_pg_conn_events(const store_pg_conn *c);
/* Steps until ready or failed, waiting on the socket with poll() for at
 * most timeout_ms in all: past that, fails as STORE_PG_FAIL_UNREACHABLE. */
store_pg_state store_pg_conn_wait(store_pg_conn *c, int timeout_ms);
/* Closes the connection and frees c's parts (c may be reused). */
void store_pg_conn_close(store_pg_conn *c);

/* The error, and so the exit status, of a failure: DC_ERR_UNAVAIL (69) for
 * an unreachable server (after the caller's bounded retry), DC_ERR_CONFIG
 * (78) for what the db setting must fix, DC_ERR_NOMEM. */
dc_err store_pg_failure_err(store_pg_failure f);
/* Non-zero when waiting may cure the failure (the server unreachable). */
int store_pg_failure_retryable(store_pg_failure f);

/* ---- the backend's store -------------------------------------------------- */

/* One statement: a name unique in the program ("dc_" prefix) and its SQL
 * with $1..$n parameters.  Declared `static const` in the file that runs
 * it; prepared on a connection the first time it runs there. */
typedef struct {
    const char *name;
    const char *sql;
} store_pg_stmt;

#define STORE_PG_MAX_PREPARED 128

/* How the bot's users table stores its ids (the catalogue's types). */
typedef enum { STORE_PG_ID_BIGINT, STORE_PG_ID_NUMERIC, STORE_PG_ID_TEXT } store_pg_id_kind;

typedef struct store_pg {
    struct store head;                  /* first: a store * is a store_pg * */
    store_pg_conn conn;
    const store_pg_stmt *prepared[STORE_PG_MAX_PREPARED];   /* on this connection */
    int n_prepared;
    int tx_depth;                       /* nested begins; 0: none open */
    int tx_broken;                      /* a bare write failed half-way */
    int bare_writes;
    int refused;                        /* since the transaction began: 1 lock, 2 disk full */
    int lock_timeout_ms;
    store_pg_id_kind id_kind;           /* users.discord_id and users.guild_id */
    struct store_pg_coord *coord;       /* the identify lock's own connection (store_pg_coord.c) */
} store_pg;

static inline store_pg *store_pg_of(store *s) { return (store_pg *)s; }
static inline const store_pg *store_pg_of_const(const store *s) { return (const store_pg *)s; }

/* Runs st with n text parameters (NULL: SQL NULL) and waits for its result.
 * DC_OK with *res (the caller PQclear()s it; res may be NULL when the rows
 * do not matter); otherwise the store's errmsg says "what: message" and
 * store_refused knows why. */
dc_err store_pg_run(store_pg *p, const store_pg_stmt *st, int n, const char *const *params,
                    PGresult **res, const char *what);
/* A statement without parameters nor rows (BEGIN, SAVEPOINT, SET ...). */
dc_err store_pg_exec(store_pg *p, const char *sql, const char *what);
/* A write runs in a transaction of its own outside the caller's, in a
 * SAVEPOINT inside it, or -- with bare writes on -- directly in it (a
 * failure then breaks the transaction: store_commit refuses it).
 * store_pg_write_end(p, mode, rc) returns rc or the error of ending. */
typedef enum { STORE_PG_OWN_TX, STORE_PG_SAVEPOINT, STORE_PG_BARE } store_pg_write_mode;
dc_err store_pg_write_begin(store_pg *p, store_pg_write_mode *mode);
dc_err store_pg_write_end(store_pg *p, store_pg_write_mode mode, dc_err rc);
/* Records a failed result or connection in errmsg and refused. */
dc_err store_pg_fail(store_pg *p, const PGresult *r, const char *what);
/* The value of row r, column c as an integer (0 for NULL or text that is
 * no integer) and as text. */
int64_t store_pg_int(const PGresult *res, int r, int c);
/* Decimal text of a snowflake / an integer, for a parameter. */
typedef struct { char s[24]; } store_pg_num;
const char *store_pg_u64(store_pg_num *b, uint64_t v);
const char *store_pg_i64(store_pg_num *b, int64_t v);

/* The migrations (store_pg_migrate.c): brings the database to the latest
 * schema/pg version, each migration in its own transaction, recorded in
 * cleaner_schema_version; read_only only reads the version. */
dc_err store_pg_migrate(store_pg *p, uint64_t legacy_guild_id, int read_only, store_migration_report *rep,
                        char *err, size_t errlen);
int store_pg_latest_version(void);

/* The operations of the backend's table (store_pg.c) that live in the
 * files of their group. */
dc_err store_pg_kv_get(store *s, const char *key, char *value, size_t cap);
dc_err store_pg_kv_set(store *s, const char *key, const char *value);
dc_err store_pg_kv_del(store *s, const char *key);
dc_err store_pg_each_kv(store *s, store_kv_fn fn, void *ctx);
dc_err store_pg_seed_sql(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen);
dc_err store_pg_delete_member(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why, int dry_run, int64_t now_ms, int64_t *rows);
dc_err store_pg_delete_guild(store *s, uint64_t guild_id, audit_reason why, int dry_run, int64_t now_ms, int64_t *rows);
dc_err store_pg_delete_guild_slice(store *s, uint64_t guild_id, int limit, int64_t *rows, int *more);
dc_err store_pg_audit_guild_delete(store *s, uint64_t guild_id, audit_reason why, int64_t at_ms, int64_t rows);
dc_err store_pg_count_guild(store *s, uint64_t guild_id, int64_t *rows);
dc_err store_pg_count_unassigned(store *s, int64_t *rows);
dc_err store_pg_adopt_unassigned(store *s, uint64_t guild_id, int64_t *rows);
dc_err store_pg_each_user_guild(store *s, store_guild_fn fn, void *ctx);
dc_err store_pg_each_stored_guild(store *s, store_guild_id_fn fn, void *ctx);
dc_err store_pg_guild_seen(store *s, uint64_t guild_id, int shard_id, int64_t now_ms);
dc_err store_pg_guild_set_unavailable(store *s, uint64_t guild_id, int unavailable);
dc_err store_pg_guild_set_needs_reconcile(store *s, uint64_t guild_id, int needs);
dc_err store_pg_guild_set_last_sweep(store *s, uint64_t guild_id, int64_t when_ms, int64_t removed, int64_t duration_ms, const char *result);
dc_err store_pg_guild_forget(store *s, uint64_t guild_id);
dc_err store_pg_guild_set_name(store *s, uint64_t guild_id, const char *name);
dc_err store_pg_guild_get_name(store *s, uint64_t guild_id, char *buf, size_t cap);
dc_err store_pg_guild_get(store *s, uint64_t guild_id, store_guild_state *out);
dc_err store_pg_each_guild_state(store *s, store_guild_state_fn fn, void *ctx);
dc_err store_pg_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx);
dc_err store_pg_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned);
dc_err store_pg_audit_totals(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT]);
dc_err store_pg_sweep_open(store *s, uint64_t guild_id);
dc_err store_pg_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added);
dc_err store_pg_sweep_scan(store *s, uint64_t guild_id, int window, int64_t *cursor, int *more, store_scan_fn fn, void *ctx);
dc_err store_pg_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int window, int64_t now_ms, int64_t *cursor, int64_t *users, int *more);
dc_err store_pg_sweep_close(store *s, uint64_t guild_id);
dc_err store_pg_sweep_clear_step(store *s, int limit, int *more);
dc_err store_pg_request_add(store *s, const store_request *r, int64_t now_ms, int64_t *id);
dc_err store_pg_request_each_open(store *s, int64_t after_id, store_request_fn fn, void *ctx);
dc_err store_pg_request_answer(store *s, int64_t id, int64_t now_ms, int status, const char *outcome);
dc_err store_pg_request_get(store *s, int64_t id, int *answered, int *status, char **outcome);
dc_err store_pg_request_delete(store *s, int64_t id);
/* store_pg_coord.c: shard leases and the identify lock (store.h, #16) */
dc_err store_pg_lease_claim(store *s, const store_lease_owner *me, int first, int last, int count,
                            int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                            store_lease_holder *conflict);
dc_err store_pg_lease_renew(store *s, const store_lease_owner *me, int first, int last, int count,
                            int64_t now_ms, int64_t ttl_ms, int *held);
dc_err store_pg_lease_release(store *s, const store_lease_owner *me);
dc_err store_pg_each_lease(store *s, store_lease_fn fn, void *ctx);
dc_err store_pg_identify_lock(store *s, int bucket, int64_t hold_ms, int *got);
dc_err store_pg_identify_unlock(store *s, int bucket);
/* Closes the identify lock's connection (its locks go with it). */
void store_pg_coord_close(store_pg *p);

#endif
