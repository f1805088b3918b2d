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
 * blocking: `hostaddr=` in the URI (or a numeric host) avoids the lookup.
 * With a name, the loop thread can still wait for the resolver at: the
 * start-up connect (before the loop runs), a reconnect after the
 * connection was lost (store_pg_ready), and the identify lock's connect
 * (store_identify_prepare when shards are leased, again after it failed). 
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
#include "store/store_sweep_queue.h"

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
    unsigned gen;                /* counts starts and steps: the socket may change at each */
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

#define STORE_PG_MAX_PREPARED 256

/* How a table of the bot stores an id column (the catalogue's type):
 * BIGINT for every integer type, NUMERIC, TEXT for TEXT and VARCHAR. */
typedef enum { STORE_PG_ID_BIGINT, STORE_PG_ID_NUMERIC, STORE_PG_ID_TEXT } store_pg_id_kind;
#define STORE_PG_ID_KINDS 3

/* The statements of one validated clean_tables entry (store_pg_clean.c):
 * names and SQL allocated with the store ("dc_clean0_member", ...). */
typedef struct {
    char *table;                        /* the catalogue's name, for messages */
    store_pg_stmt count_member, delete_member, count_guild, delete_guild;
    store_pg_stmt delete_guild_upto;    /* the guild's rows with user < $2 (a slice) */
    store_pg_stmt delete_members;       /* the guild's rows of the users in the array $2, RETURNING user */
} store_pg_clean;

/* One table the batched member delete clears (store_pg_batch.c): users
 * first, then the clean tables; names quoted (PQescapeIdentifier) and the
 * id columns' SQL type ("bigint", "numeric", "text": a fixed name from the
 * catalogue's type, never input).  The clean tables (store_pg_clean.c)
 * follow users in this list, validated at open. */
typedef struct {
    char table[160], user_col[160], guild_col[160];
    const char *user_type, *guild_type;
} store_pg_batch_table;

/* Members per batched statement: it goes out when this many are queued,
 * before the turn's COMMIT (store_pg_batch.c; was 4,096 and sent only at
 * the COMMIT or a read). */
#define STORE_PG_BATCH_SEND 256

/* The member deletes of the open turn not sent yet (store_pg_batch.c). */
typedef struct {
    char *arr[5];                       /* array literals: guild ids, user ids, reasons, dry runs, times */
    size_t len[5], cap[5];
    unsigned char *meta;                /* per member: reason | dry_run << 7 */
    size_t n, cap_meta;
} store_pg_batch;

/* What a result read from the pipeline belongs to (store_pg_pipe.c). */
typedef enum {
    STORE_PG_EXP_PREPARE,               /* a statement prepared in the pipeline */
    STORE_PG_EXP_WRITE,                 /* a queued write (or BEGIN) */
    STORE_PG_EXP_BATCH,                 /* a batched member delete: (member, rows) rows */
    STORE_PG_EXP_SYNC,                  /* a sync point */
    STORE_PG_EXP_COMMIT,                /* a submitted COMMIT: its outcome */
    STORE_PG_EXP_ASK,                   /* a statement the loop waits for (store_pg_ask) */
} store_pg_exp_kind;

typedef struct {
    store_pg_exp_kind kind;
    const store_pg_stmt *st;            /* PREPARE */
    unsigned char *meta;                /* BATCH: its members' reasons (owned) */
    size_t n_meta;
    store_done_fn done;                 /* COMMIT */
    void *ctx;
    store_member_totals totals;         /* COMMIT: rows known when it was submitted */
    int resolved;                       /* its result was taken; the NULL that ends it pops it */
    int64_t sent_ms;                    /* COMMIT, ASK: when it was sent (monotonic) */
    int64_t mark;                       /* COMMIT: its commit marker's count (store_pg_doubt.c) */
    uint64_t ticket;                    /* ASK: which store_pg_ask waits for it */
    int abandoned;                      /* ASK: its wait ended first; the answer is dropped */
    int quiet;                          /* of a transaction rolled back: its failure is no news */
} store_pg_expect;

/* A COMMIT whose answer the lost connection took (store_pg_doubt.c). */
typedef struct {
    store_done_fn done;
    void *ctx;
    store_member_totals totals;
    int64_t seq;                        /* its marker's count */
} store_pg_doubt_commit;

typedef struct {
    char key[96];                       /* 'pg_commit.<host>.<pid>' */
    uint64_t nonce;
    int64_t seq;                        /* commits marked on this store */
    store_pg_doubt_commit *v;           /* in doubt until the connection is back */
    size_t n, cap;
    int old_pid;                        /* the lost connection's server process; 0: gone */
    int64_t next_look_ms;               /* when to look again whether it is gone (monotonic) */
    int told;                           /* the log said we wait for it */
} store_pg_doubt;

typedef struct store_pg {
    struct store head;                  /* first: a store * is a store_pg * */
    store_pg_conn conn;
    char *uri;                          /* the db setting, to reconnect */
    const store_pg_stmt *prepared[STORE_PG_MAX_PREPARED];   /* on this connection */
    int n_prepared;
    int tx_depth;                       /* nested begins; 0: none open */
    int tx_broken;                      /* a bare write failed half-way */
    int bare_writes;
    int refused;                        /* since the transaction began: 1 lock, 2 disk full */
    int lock_timeout_ms;
    store_pg_id_kind id_kind;           /* users.discord_id (store_pg_types.c) */
    store_pg_id_kind guild_kind;        /* users.guild_id */
    store_pg_clean *clean;              /* clean_tables (store_pg_clean.c) */
    size_t n_clean;
    store_sweep_queue closed;           /* sweep member sets awaiting clearing (store_pg_sweep.c) */
    /* the pipeline of the daemon's turn (store_pg_pipe.c) */
    int pipe;                           /* the connection is in pipeline mode */
    store_pg_expect *exp;               /* results still to read, oldest first */
    size_t exp_head, n_exp, cap_exp;
    int pipe_failed;                    /* a statement failed since the last COMMIT's result */
    int pipe_why;                       /* and why: as store_pg_refusal */
    char pipe_msg[400];
    store_member_totals acc;            /* batched deletes' rows read since the last COMMIT's result */
    int answer_wait_ms;                 /* store_set_answer_wait: > 0 sends every statement into the
                                           pipeline and waits this long at most (store_pg_ask) */
    uint64_t ask_ticket;                /* the ASK being waited for */
    PGresult *ask_res;                  /* its result, once arrived */
    int ask_got;
    int64_t retry_at_ms, backoff_ms;    /* reconnect: when next, and the backoff */
    store_pg_batch batch;               /* member deletes queued, not sent */
    store_pg_stmt batch_st;             /* the batched delete (its SQL is built at open) */
    char *batch_sql;
    /* users, then clean table i at 1 + i (store_pg_clean.c fills those) */
    store_pg_batch_table batch_tables[1 + CONFIG_MAX_CLEAN_TABLES];
    size_t n_batch_tables;
    struct store_pg_coord *coord;       /* the identify lock's own connection (store_pg_coord.c) */
    store_pg_doubt doubt;               /* lost COMMITs: committed or not? (store_pg_doubt.c) */
    struct store_pg_grace_q *grace_q;   /* #17: pending marks queued in the turn (store_pg_grace.c) */
} store_pg;

static inline store_pg *store_pg_of(store *s) { return (store_pg *)s; }
static inline const store_pg *store_pg_of_const(const store *s) { return (const store_pg *)s; }

/* Runs st with n text parameters (NULL: SQL NULL) and waits for its result.
 * DC_OK with *res (the caller PQclear()s it; res may be NULL when the rows
 * do not matter); otherwise the store's errmsg says "what: message" and
 * store_refused knows why. */
dc_err store_pg_run(store_pg *p, const store_pg_stmt *st, int n, const char *const *params,
                    PGresult **res, const char *what);
/* 1 when st is not prepared on this connection yet and there is room for
 * it; 0 otherwise, with *rc DC_ERR_INTERNAL (errmsg says) when no room. */
int store_pg_needs_prepare(store_pg *p, const store_pg_stmt *st, const char *what, dc_err *rc);
/* A statement without parameters nor rows (BEGIN, SAVEPOINT, SET ...). */
dc_err store_pg_exec(store_pg *p, const char *sql, const char *what);
/* A write runs in a transaction of its own outside the caller's, in a
 * SAVEPOINT inside it, or -- with bare writes on -- directly in it (a
 * failure then breaks the transaction: store_commit refuses it).
 * store_pg_write_end(p, mode, rc) returns rc or the error of ending. */
typedef enum { STORE_PG_OWN_TX, STORE_PG_SAVEPOINT, STORE_PG_BARE } store_pg_write_mode;
dc_err store_pg_write_begin(store_pg *p, store_pg_write_mode *mode);
dc_err store_pg_write_end(store_pg *p, store_pg_write_mode mode, dc_err rc);
/* One statement as one write (begin, run, end); *res (may be NULL) only
 * when it succeeded, RETURNING rows or PQcmdTuples. */
dc_err store_pg_write(store_pg *p, const store_pg_stmt *st, int n, const char *const *params,
                      PGresult **res, const char *what);
/* Records a failed result or connection in errmsg and refused. */
dc_err store_pg_fail(store_pg *p, const PGresult *r, const char *what);
/* The value of row r, column c as an integer (0 for NULL or text that is
 * no integer) and as text. */
int64_t store_pg_int(const PGresult *res, int r, int c);
int64_t store_pg_mono_ms(void);          /* CLOCK_MONOTONIC in ms */
/* Decimal text of a snowflake / an integer, for a parameter. */
typedef struct { char s[24]; } store_pg_num;
const char *store_pg_u64(store_pg_num *b, uint64_t v);
const char *store_pg_i64(store_pg_num *b, int64_t v);

/* One audit row (store_pg_audit.c), in the caller's write: no transaction
 * or savepoint of its own (the delete that it records has one).  user_id
 * 0: a whole-guild delete (discord_id NULL). */
dc_err store_pg_audit_add(store_pg *p, int64_t at_ms, uint64_t guild_id, uint64_t user_id,
                          audit_reason why, int dry_run, int64_t rows);

/* The pipeline (store_pg_pipe.c).  With bare writes on in an open
 * transaction (the daemon's turn) a write whose rows do not matter is
 * sent without waiting (store_pg_send) and a member delete is queued into
 * one batched statement (store_pg_batch_add); without an answer wait
 * (store_pg_ask for the loop's statements) store_pg_settle sends what is
 * queued and reads every result, waiting at most lock_timeout + a round
 * trip, before any statement that needs its answer.  A lost connection
 * (store_pg_lost) turns every commit in flight into STORE_RETRY_BUSY;
 * store_pg_ready reconnects without blocking, with backoff. */
int store_pg_queueing(const store_pg *p);
dc_err store_pg_send(store_pg *p, const store_pg_stmt *st, int n, const char *const *params, const char *what);
dc_err store_pg_send_sql(store_pg *p, const char *sql, const char *what);
/* The batched delete (params: its five arrays) goes out; meta (owned from
 * here on) tells its result's members apart. */
dc_err store_pg_send_batch(store_pg *p, const char *const *params, unsigned char *meta, size_t n_meta);
dc_err store_pg_settle(store_pg *p);
/* A statement that needs its answer while the daemon's loop runs (an
 * answer wait set): sent into the pipeline behind what is queued, then
 * waited for at most answer_wait_ms.  st with n params, or sql (one
 * statement, no parameters).  Unanswered by then it is abandoned -- its
 * answer is dropped when it comes -- and DC_ERR_BUSY says the server is
 * slow; while an abandoned statement is unanswered, later ones fail at once
 * without being sent, and one unanswered for lock_timeout +
 * STORE_PG_ANSWER_MS loses the connection.  A COMMIT (STORE_PG_ASK_COMMIT)
 * is never abandoned: it waits up to that longer bound and then the
 * connection counts as lost (the commit in doubt, its writes idempotent:
 * leases, answers to requests, pruning). */
typedef enum { STORE_PG_ASK_NORMAL, STORE_PG_ASK_COMMIT } store_pg_ask_kind;
dc_err store_pg_ask(store_pg *p, store_pg_ask_kind kind, const store_pg_stmt *st, const char *sql, int n,
                    const char *const *params, PGresult **res, const char *what);
/* COMMIT outside the turn, asked (STORE_PG_ASK_COMMIT); res may be NULL. */
dc_err store_pg_ask_commit(store_pg *p, PGresult **res);
/* 1 while an abandoned statement has not been answered. */
int store_pg_behind(const store_pg *p);
/* ROLLBACK, ROLLBACK TO, RELEASE: with an answer wait, sent in order and
 * never waited for (nobody needs the answer; behind a statement given up
 * on it still goes); without one, run as before.  Nothing when lost. */
void store_pg_undo(store_pg *p, const char *sql);
/* The open transaction is being rolled back: the failures of its
 * statements still unanswered say nothing about the next one. */
void store_pg_tx_gone(store_pg *p);
/* Hands what is queued in the pipeline to the server and reads the results
 * that have arrived, never waiting: DC_OK, or DC_ERR_BUSY when the
 * connection was lost (the open transaction is gone). */
dc_err store_pg_push(store_pg *p);
int store_pg_ready(store_pg *p);
dc_err store_pg_not_ready(store_pg *p, const char *what);
void store_pg_lost(store_pg *p, const char *why);
/* After a failed statement or send: 1 (and store_pg_lost) when the
 * connection is gone -- the server closed it or shuts down. */
int store_pg_check_lost(store_pg *p, const PGresult *r);
dc_err store_pg_commit_submit(store *s, store_done_fn done, void *ctx);
void store_pg_service(store *s);
int store_pg_in_flight(const store *s);
void store_pg_wait(store *s, int timeout_ms);
void store_pg_watch(store *s, store_watch_info *out);
int store_pg_fd(const store *s);
void store_pg_pipe_free(store_pg *p);
/* Which waiting cures a failed result: 1 a lock (or deadlock,
 * serialization), 2 disk full, 0 none; its message's first line. */
int store_pg_refusal(const PGresult *r);
void store_pg_first_line(char *dst, size_t cap, const char *msg);

/* The batched member delete (store_pg_batch.c): the id types from the
 * catalogue and the statement, at open; a member queued; the queue sent as
 * one statement (nothing when empty); its result's rows counted. */
dc_err store_pg_batch_open(store_pg *p);
/* One table of the batched delete: quoted names, the id columns' kinds. */
void store_pg_batch_table_set(store_pg_batch_table *t, const char *table, const char *user_col,
                              const char *guild_col, store_pg_id_kind user_kind, store_pg_id_kind guild_kind);
dc_err store_pg_batch_add(store_pg *p, uint64_t guild_id, uint64_t user_id, audit_reason why, int dry_run,
                          int64_t at_ms);
dc_err store_pg_batch_flush(store_pg *p);
void store_pg_batch_result(store_pg *p, const store_pg_expect *e, const PGresult *r);

/* store_pg_doubt.c: a COMMIT whose answer was lost is not taken for a
 * rollback.  mark: in the turn, just before COMMIT, the marker write (*n
 * its count, for the COMMIT's expectation); add: the connection was lost
 * with e in flight (-1: no memory); resolve: connected again, each doubt's
 * outcome queued from the marker; free: at close (deletes the marker). */
dc_err store_pg_doubt_mark(store_pg *p, int64_t *n);
int store_pg_doubt_add(store_pg *p, const store_pg_expect *e);
void store_pg_doubt_resolve(store_pg *p);
/* Before the lost connection is closed: remember its server process, which
 * may still carry out the COMMIT it received (store_pg_doubt.c). */
void store_pg_doubt_lost(store_pg *p);
void store_pg_doubt_free(store_pg *p);
void store_pg_batch_clear(store_pg *p);
void store_pg_batch_free(store_pg *p);
/* The table's delete_member: queued in the turn, else the one-statement
 * store_pg_delete_member. */
dc_err store_pg_delete_member_queued(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                                     int dry_run, int64_t now_ms, int64_t *rows);

/* The migrations (store_pg_migrate.c): brings the database to the latest
 * schema/pg version, each migration in its own transaction, recorded in
 * cleaner_schema_version; read_only only reads the version. */
dc_err store_pg_migrate(store_pg *p, uint64_t legacy_guild_id, int read_only, store_migration_report *rep,
                        char *err, size_t errlen);
int store_pg_latest_version(void);
/* The legacy single-guild users table (store_pg_legacy.c): recognised and
 * migrated in the caller's transaction, before migration 0001's SQL; a
 * users table in no known shape is refused (DC_ERR_SCHEMA).  The message
 * of a failure is in the store's errmsg; rep gets legacy_rebuilt,
 * legacy_rows and the backup table's name (backup_path). */
dc_err store_pg_legacy(store_pg *p, uint64_t legacy_guild_id, store_migration_report *rep);

/* ---- the bot's id columns (store_pg_types.c) ---------------------------- */

/* One column of a table the search_path shows, as the catalogue has it.
 * The table and column are matched by exact name, or with nocase
 * ignoring case (an exact match preferred), as SQLite matches names. */
typedef struct {
    char oid[16];                /* the table's oid; "" when there is no such table */
    char table[64];              /* the catalogue's names (NAMEDATALEN 64) */
    char column[64];             /* "" when the table has no such column */
    char type[128];              /* as format_type words it: "uuid", "numeric(20,0)" */
    int supported;               /* a type we bind: kind says which */
    store_pg_id_kind kind;
} store_pg_column;
dc_err store_pg_column_find(store_pg *p, const char *table, const char *column, int nocase, store_pg_column *out);
/* Reads the kinds of users.discord_id and users.guild_id into p (BIGINT
 * when the table or a column is not there yet).  A type we cannot bind
 * refuses with DC_ERR_SCHEMA and one line in err naming the column, its
 * type and the fix. */
dc_err store_pg_types_detect(store_pg *p, char *err, size_t errlen);
/* A warning with the index to create when users' TEXT ids have none in
 * numeric order (a sweep then sorts every slice). */
void store_pg_types_advise(store_pg *p);
/* "users.discord_id is uuid; discord-cleaner binds BIGINT, NUMERIC, TEXT or
 * VARCHAR ids: ..." for a column whose type is not supported. */
void store_pg_type_refusal(const store_pg_column *c, char *err, size_t errlen);
/* Parses an id as the server prints it (an integer, maybe NUMERIC's ".00");
 * 0 for anything else. */
int store_pg_id_parse(const char *text, int64_t *out);
/* An array literal of n integers ("{1,2,3}") for a parameter; NULL when
 * out of memory (the caller frees it). */
char *store_pg_u64_array(const uint64_t *v, size_t n);
/* The array type of a kind's ids, for a cast: "bigint[]", "numeric[]", "text[]". */
const char *store_pg_kind_array(store_pg_id_kind k);
/* A decimal integer in text: the SQL condition "is a canonical id" for a
 * TEXT column (no sign, no leading zero): ordered by (length, text) such
 * ids sort as numbers. */
#define STORE_PG_CANONICAL_RE "'^(0|[1-9][0-9]{0,18})$'"

/* ---- clean_tables (store_pg_clean.c) ---------------------------------------- */

/* Validates each entry against the catalogue and builds its statements. */
dc_err store_pg_clean_open(store_pg *p, const config_clean_table *t, size_t n, char *err, size_t errlen);
void store_pg_clean_close(store_pg *p);

/* ---- rows of users (store_pg_users.c) ----------------------------------------- */

/* n audit rows of one guild in one statement, in the order of ids (each
 * user's rows[i]), not dry runs. */
dc_err store_pg_audit_add_many(store_pg *p, int64_t at_ms, uint64_t guild_id, const uint64_t *ids,
                               const uint64_t *rows, size_t n, audit_reason why);

/* The operations of the backend's table (store_pg.c) that live in the
 * files of their group. */
dc_err store_pg_kv_get(store *s, const char *key, char *value, size_t cap);
dc_err store_pg_kv_set(store *s, const char *key, const char *value);
dc_err store_pg_kv_del(store *s, const char *key);
dc_err store_pg_each_kv(store *s, store_kv_fn fn, void *ctx);
/* A fixture's seed text (store_pg_seed.c). */
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
dc_err store_pg_each_guild_name(store *s, store_guild_name_fn fn, void *ctx);
dc_err store_pg_guild_get(store *s, uint64_t guild_id, store_guild_state *out);
dc_err store_pg_each_guild_state(store *s, store_guild_state_fn fn, void *ctx);
dc_err store_pg_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx);
dc_err store_pg_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned);
dc_err store_pg_audit_totals(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT]);
dc_err store_pg_audit_buckets(store *s, int64_t since_ms, int64_t bucket_ms, int n, int64_t *out);
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
/* store_pg_grace.c: pending departures (store_grace.h, #17) */
dc_err store_pg_grace_mark(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                           int64_t now_ms, int64_t due_ms);
dc_err store_pg_grace_cancel(store *s, uint64_t guild_id, uint64_t user_id, int64_t *n);
dc_err store_pg_grace_each(store *s, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx);
dc_err store_pg_grace_count(store *s, uint64_t guild_id, int64_t *n, int64_t *next_due_ms);
dc_err store_pg_grace_expire(store *s, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                             int *expired, int64_t *rows);
dc_err store_pg_grace_mark_stale(store *s, uint64_t guild_id, int64_t now_ms, int64_t due_ms, int64_t *marked);
/* The turn's queued marks: sent as one statement (store_pg_batch_flush
 * calls it first, so they go out before any later write), dropped with
 * the member batch, freed with it. */
dc_err store_pg_grace_flush(store_pg *p);
void store_pg_grace_clear(store_pg *p);
void store_pg_grace_free(store_pg *p);
dc_err store_pg_identify_prepare(store *s);
/* Steps the identify lock's connection when it connects without waiting
 * (store_pg_watch, each loop turn). */
void store_pg_coord_step(store_pg *p);
/* Closes the identify lock's connection (its locks go with it). */
void store_pg_coord_close(store_pg *p);
/* store_pg_schedule.c: the admins' schedules (schema 10) */
dc_err store_pg_schedule_set(store *s, const store_schedule *sc);
dc_err store_pg_schedule_clear(store *s, uint64_t guild_id);
dc_err store_pg_schedule_get(store *s, uint64_t guild_id, store_schedule *out);
dc_err store_pg_each_schedule(store *s, store_schedule_fn fn, void *ctx);
/* store_pg_sweep_log.c: the sweep history (schema 11) */
dc_err store_pg_sweep_log_add(store *s, const store_sweep_log_row *r);
dc_err store_pg_sweep_log_recent(store *s, int limit, store_sweep_log_fn fn, void *ctx);
dc_err store_pg_sweep_log_prune(store *s, int64_t older_than_ms, int64_t *pruned);

#endif
