/* store.h - the store: everything the daemon reads or writes in the bot's
 * database, whichever backend holds it.
 *
 * This header (with store_sweep.h and store_requests.h) is the one
 * interface the rest of the program sees; store.c hands each call to the
 * backend that serves the database (store_backend_internal.h, private to
 * src/store/).  The backend built in is SQLite (store_sqlite*.c): a
 * database file shared with the running bot, in WAL mode with a
 * busy_timeout.  Every backend runs prepared statements only: no SQL is
 * ever built from input; the table and column names of `clean_tables` are
 * validated against the database's catalogue at open time and quoted as
 * identifiers.
 *
 * Snowflakes are stored as 64-bit integers; every Discord id fits.
 *
 * Transactions: the caller groups work with store_begin/store_commit (one
 * transaction per event-loop turn; the daemon hands its turn's COMMIT over
 * with store_commit_submit and learns the outcome from store_service).  Calls made outside a transaction run in
 * their own implicit one.  Every delete also writes its audit rows in the
 * same transaction. */
#ifndef DC_STORE_H
#define DC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "config/config.h"
#include "proto/proto.h"

typedef struct store store;

typedef struct {
    uint64_t legacy_guild_id;                 /* 0 = leave legacy rows unassigned */
    const config_clean_table *clean_tables;   /* extra tables keyed by user+guild */
    size_t n_clean_tables;
    int busy_timeout_ms;                      /* lock wait; 0 = default 5000 */
    int read_only;                            /* status: never migrate, never write */
    int connect_wait_ms;                      /* a server that cannot be reached at open is
                                                 retried this long; 0 = default 10000 */
} store_opts;


/* What store_open's migration did (from_version == to_version: nothing ran). */
typedef struct {
    int from_version;
    int to_version;
    int legacy_rebuilt;          /* 1 when the legacy users table was rebuilt */
    int64_t legacy_rows;         /* rows carried over by that rebuild */
    char backup_path[4096];      /* "" when no backup was taken */
} store_migration_report;

/* Once at start, before any other store call (the SQLite backend turns
 * off the library's allocation statistics, which cost a global mutex per
 * allocation). */
void store_global_init(void);
/* The backends built in and their library versions, for --version:
 * "SQLite 3.45.1" (backends separated by ", "). */
const char *store_backend_versions(void);

/* Open, configure and migrate to the latest schema: the backend for path
 * (store.c, store_backend_for: a postgresql:// or postgres:// URI is
 * PostgreSQL's, anything else an SQLite database file).
 * The SQLite backend sets WAL, busy_timeout and foreign_keys, and backs a
 * legacy single-guild `users` table up to <path>.pre-migration-<UTC
 * stamp>.bak before rebuilding it losslessly.  The PostgreSQL backend
 * retries a server it cannot reach for connect_wait_ms and then fails with
 * DC_ERR_UNAVAIL; a refused login, a missing database or a URI libpq does
 * not take fail at once with DC_ERR_CONFIG; it backs a legacy table up to
 * a users_pre_migration_<UTC stamp> table (backup_path names it) and
 * migrates it in place.  err receives a human-readable reason on failure
 * (PostgreSQL's: one line "db: URI: ..." without the password). */
dc_err store_open(store **out, const char *path, const store_opts *opts, char *err, size_t errlen);
void store_close(store *s);
/* Whether a database exists at path, without opening or creating it (the
 * SQLite backend: the file exists; PostgreSQL: the server does not say the
 * database is missing -- a server it cannot reach is left to store_open to
 * report): `status` refuses to create one.  The error of store_open when
 * no backend serves path. */
dc_err store_exists(const char *path, int *exists, char *err, size_t errlen);
const char *store_errmsg(store *s);           /* the last error, as the backend words it */
int store_schema_version(store *s);
int store_latest_schema_version(void);
const store_migration_report *store_migration(store *s);

/* A fixture's seed text, run as data only on the database at path (replay
 * seeds a new database with it): one transaction of ours, in which only
 * inserting rows is allowed -- and, with allow_ddl (a fixture's
 * pre_migration_sql), creating tables and indexes.  Anything else (ATTACH,
 * DELETE, UPDATE, DROP, PRAGMA, loading extensions, a BEGIN/COMMIT of its
 * own) refuses the whole text: nothing of it is applied, and err says what
 * was refused.  The SQLite backend enforces it with an authorizer
 * (store_sqlite_seed.c). */
dc_err store_seed_sql(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen);

dc_err store_begin(store *s);
dc_err store_commit(store *s);
dc_err store_rollback(store *s);
int store_in_transaction(store *s);            /* open transactions (nested begins count), 0: none */

/* The asynchronous commit (store_submit.c): the daemon hands the store its
 * turn's open transaction and learns the outcome through the event loop,
 * never assuming that a COMMIT is fast.  store_commit_submit takes over the
 * transaction (store_begin'd once, not nested) and returns at once; its
 * outcome waits until store_service delivers it (never from inside
 * store_commit_submit), in the order the commits were submitted.  A commit
 * that is not STORE_COMMITTED has been rolled back; the caller still has its
 * writes and may redo them.  The two retry outcomes say that waiting cures
 * it (another connection holds the write lock; the disk is full);
 * STORE_FAILED is any other refusal.  why: the database's message ("" when
 * committed).
 * SQLite commits inside store_commit_submit and only queues the outcome,
 * so store_pending is non-zero at once and store_fd is -1; a backend over
 * the network (PostgreSQL, #16) completes later and gives the loop a
 * socket to watch.  DC_ERR_USAGE when no single transaction is open,
 * DC_ERR_NOMEM: nothing was submitted, the transaction is still open. */
typedef enum { STORE_COMMITTED, STORE_RETRY_BUSY, STORE_RETRY_FULL, STORE_FAILED } store_outcome;
typedef void (*store_done_fn)(void *ctx, store_outcome outcome, const char *why);
dc_err store_commit_submit(store *s, store_done_fn done, void *ctx);
int store_pending(const store *s);            /* outcomes waiting for store_service */
/* fn(ctx) runs whenever an outcome is queued, wherever that happens: a
 * read that settles PostgreSQL's pipeline (store_pg_settle) may read a
 * COMMIT's answer off the socket, and the socket then has nothing left to
 * wake the loop with.  fn should only schedule store_service (a 0 ms
 * timer); it must not call into the store.  NULL: none. */
void store_on_pending(store *s, void (*fn)(void *ctx), void *ctx);
/* Reads what the database has answered without waiting (PostgreSQL:
 * PQconsumeInput on its socket), then delivers the outcomes waiting. */
void store_service(store *s);
int store_fd(const store *s);                 /* a socket for the loop to watch, or -1 (SQLite: none) */
/* What the caller's loop waits for before it calls store_service again
 * (store_watch): the socket readable (a result, a notice, the server
 * closing it) and, while libpq holds output it could not send, writable;
 * during a reconnect whatever the connect step asks for; and a delay after
 * which store_service is due anyway (the reconnect's backoff, a COMMIT's
 * answer deadline).  gen changes whenever the socket may have (every
 * connect step: libpq may open a new one under the same number).
 * store_watch may send what libpq holds (PQflush) but never waits.
 * SQLite: fd -1, nothing due. */
typedef struct {
    int fd;                                   /* -1: no socket to watch */
    int want_read, want_write;
    unsigned gen;
    int64_t due_in_ms;                        /* -1: nothing due */
} store_watch_info;
void store_watch(store *s, store_watch_info *out);
/* Non-zero while a submitted commit has no outcome yet (SQLite: never). */
int store_in_flight(const store *s);
/* Waits at most timeout_ms for the submitted commits' outcomes to be
 * pending (shutdown, replay; in the live loop only turn_begin, for a
 * writer that needs the transaction now, as a PostgreSQL read waits for
 * its queue).  SQLite: returns at once. */
void store_wait(store *s, int timeout_ms);

/* What the store_delete_member calls of one transaction did.  A backend
 * may queue a member's delete in the caller's transaction (PostgreSQL with
 * bare writes on: one statement per run of deletes) and learn its rows only
 * when that statement's result arrives; so the daemon counts removals from
 * the commit's outcome, on every backend alike: inside a store_done_fn,
 * store_outcome_members gives the totals of the transaction whose outcome
 * it is (all zero unless STORE_COMMITTED). */
typedef struct {
    int64_t members;                          /* store_delete_member calls */
    int64_t rows;                             /* rows deleted, or counted in a dry run */
    int64_t removed[AUDIT_REASON_COUNT];      /* rows deleted (not dry run), by reason */
} store_member_totals;
const store_member_totals *store_outcome_members(const store *s);

/* Inside a caller's transaction each write (a member's or a guild's rows
 * plus the audit row, a state update) runs in its own SAVEPOINT, so a
 * failure undoes just that write.  A SAVEPOINT copies every page the write
 * touches (about a quarter of the CPU of deleting one member), so the
 * daemon's per-turn transaction turns it off: with bare writes on, a write
 * that fails half-way marks the transaction broken -- store_commit refuses
 * it and further writes are refused; the caller rolls back and redoes its
 * writes with bare writes off (src/turn.c).  Off by default. */
void store_set_bare_writes(store *s, int on);
/* 1 after a bare write failed half-way, until the rollback. */
int store_tx_broken(const store *s);

/* Checkpoints on request (the SQLite backend's write-ahead log,
 * store_sqlite_wal.c; a backend without one does nothing and reports 0
 * frames): COMMIT no longer copies the WAL
 * back when it passes 1000 pages; a thread with its own connection does,
 * whenever store_checkpoint_request asks, without ever blocking this
 * connection.  store_wal_frames is the WAL's size in pages after the last
 * commit; store_checkpoint_failures counts failed checkpoints (the last
 * message in msg).  store_close stops the thread. */
dc_err store_set_manual_checkpoints(store *s);
void store_checkpoint_request(store *s);
int store_checkpoint_failures(store *s, char *msg, size_t cap);
void store_checkpointer_stop(store *s);
int store_wal_frames(const store *s);
/* After a COMMIT, with manual checkpoints: when the thread is idle and has
 * copied back all but at most max_frames of the WAL, copy the rest back on
 * this connection, so that the next transaction starts the WAL over (a
 * writer that never pauses otherwise grows it without end).  1 when the
 * WAL is now copied back whole, 0 when nothing was done or some frames
 * remain (ask the thread), -1 on error (store_errmsg). */
int store_checkpoint_tail(store *s, int max_frames);
/* Since the current (or last) transaction began, did the database refuse a
 * step for a reason that passes: 1 busy/locked (another connection holds the write
 * lock), 2 disk full; 0 otherwise.  The daemon rolls back and retries later. */
int store_refused(store *s);
/* How long one statement waits for a lock held elsewhere (0: the default). */
void store_set_busy_timeout(store *s, int ms);
/* The daemon's loop, once it runs: the longest any call waits for a
 * database over the network to answer (0, the default: as long as it
 * takes -- opening, migrating, the CLI).  PostgreSQL then sends every
 * statement into its pipeline and, unanswered after ms, gives it up with
 * DC_ERR_BUSY ("not waiting on it", store_refused 1); until the server has
 * answered it, later statements fail at once the same way, and a server
 * silent for lock_timeout + 10 s counts as lost (reconnected without
 * blocking).  A COMMIT outside the turn waits up to that longer bound.
 * SQLite (no network): nothing changes. */
void store_set_answer_wait(store *s, int ms);

/* Deletes (dry_run: count what would go, audit it as dry run, delete nothing).
 * rows receives the number of rows (users + extra tables) affected, or -1
 * for store_delete_member when the delete was queued in the caller's
 * transaction (PostgreSQL, bare writes on): its rows and its audit row's
 * count are then known at the commit (store_outcome_members).
 * Rows with guild_id NULL (unassigned legacy rows) are never touched. */
dc_err store_delete_member(store *s, uint64_t guild_id, uint64_t user_id,
                           audit_reason why, int dry_run, int64_t now_ms, int64_t *rows);
dc_err store_delete_guild(store *s, uint64_t guild_id, audit_reason why,
                          int dry_run, int64_t now_ms, int64_t *rows);
/* One slice of a whole-guild delete (GUILD_DELETE of a large guild, so that
 * no statement holds the loop for long): the guild's `limit` lowest
 * discord_ids in users, and the rows of each clean table up to the same id.
 * When fewer than `limit` rows are left, everything left of the guild goes
 * (users and clean tables) and *more = 0.  *rows += rows deleted.  No audit
 * row: the caller writes one per guild delete (store_audit_guild_delete). */
dc_err store_delete_guild_slice(store *s, uint64_t guild_id, int limit, int64_t *rows, int *more);
/* The one audit row of a whole-guild delete done in slices (discord_id NULL). */
dc_err store_audit_guild_delete(store *s, uint64_t guild_id, audit_reason why, int64_t at_ms, int64_t rows);
dc_err store_count_guild(store *s, uint64_t guild_id, int64_t *rows);
dc_err store_count_unassigned(store *s, int64_t *rows);
/* Assign guild_id to every unassigned (NULL) row. */
dc_err store_adopt_unassigned(store *s, uint64_t guild_id, int64_t *rows);

/* Guild ids that have rows in `users`, ascending; fn returns non-zero to stop. */
typedef int (*store_guild_fn)(void *ctx, uint64_t guild_id, int64_t rows);
dc_err store_each_user_guild(store *s, store_guild_fn fn, void *ctx);
/* The same guilds without their row counts, one index seek each instead
 * of a pass over every row (READY, on every new session).  Values of
 * guild_id that are not integers are no guild and are skipped. */
typedef int (*store_guild_id_fn)(void *ctx, uint64_t guild_id);
dc_err store_each_stored_guild(store *s, store_guild_id_fn fn, void *ctx);

/* Per-guild state. */
typedef struct {
    uint64_t guild_id;
    int shard_id;
    int64_t last_seen_ms;
    int unavailable;
    int needs_reconcile;
    int64_t last_sweep_ms;        /* 0 = never */
    int64_t last_sweep_removed;
    int64_t last_sweep_duration_ms;
    char last_sweep_result[512];  /* "ok", "aborted: ...", "guard: ..." (cut whole: store_copy_whole) */
} store_guild_state;

dc_err store_guild_seen(store *s, uint64_t guild_id, int shard_id, int64_t now_ms);
dc_err store_guild_set_unavailable(store *s, uint64_t guild_id, int unavailable);
dc_err store_guild_set_needs_reconcile(store *s, uint64_t guild_id, int needs);
dc_err store_guild_set_last_sweep(store *s, uint64_t guild_id, int64_t when_ms,
                                  int64_t removed, int64_t duration_ms, const char *result);
dc_err store_guild_forget(store *s, uint64_t guild_id);
/* A guild's name (schema 5).  DC_ERR_SCHEMA on an older schema (nothing
 * logged), DC_ERR_NOTFOUND when none is known (buf ""). */
dc_err store_guild_set_name(store *s, uint64_t guild_id, const char *name);
dc_err store_guild_get_name(store *s, uint64_t guild_id, char *buf, size_t cap);
/* Every guild's name that is known, by guild id (the daemon reads them
 * once at start: guild_directory.c); fn returns non-zero to stop.
 * DC_ERR_SCHEMA on an older schema. */
typedef int (*store_guild_name_fn)(void *ctx, uint64_t guild_id, const char *name);
dc_err store_each_guild_name(store *s, store_guild_name_fn fn, void *ctx);
/* text into buf[cap], cut (when too long) at a space outside any `code
 * span`, marked "...": a suggested command is never cut in half. */
void store_copy_whole(char *buf, size_t cap, const char *text);
/* NOTFOUND when the guild has no state row. */
dc_err store_guild_get(store *s, uint64_t guild_id, store_guild_state *out);
typedef int (*store_guild_state_fn)(void *ctx, const store_guild_state *g);
dc_err store_each_guild_state(store *s, store_guild_state_fn fn, void *ctx);

/* Key/value session state (gateway session id, last seq, resume url, next sweep).
 * get: NOTFOUND when absent; value truncated to cap-1 bytes. */
dc_err store_kv_get(store *s, const char *key, char *value, size_t cap);
dc_err store_kv_set(store *s, const char *key, const char *value);
dc_err store_kv_del(store *s, const char *key);
/* Every pair, ordered by key; fn returns non-zero to stop. */
typedef int (*store_kv_fn)(void *ctx, const char *key, const char *value);
dc_err store_each_kv(store *s, store_kv_fn fn, void *ctx);

/* Audit. */
typedef struct {
    int64_t id;
    int64_t at_ms;
    uint64_t guild_id;
    uint64_t discord_id;          /* 0 for whole-guild deletes */
    audit_reason reason;
    int dry_run;
    int64_t rows;
} store_audit_row;
typedef int (*store_audit_fn)(void *ctx, const store_audit_row *a);
dc_err store_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx);
dc_err store_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned);
dc_err store_audit_totals(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT]);
/* Rows deleted per reason in n buckets of bucket_ms from since_ms (dry runs
 * left out): out[i * AUDIT_REASON_COUNT + reason], zeroed first.  One
 * grouped query over the at_ms index (the stats page, #18). */
dc_err store_audit_buckets(store *s, int64_t since_ms, int64_t bucket_ms, int n, int64_t *out);

/* ---- several processes, one bot (#16): shard leases and the identify lock ----
 *
 * Shard leases (cleaner_shard_leases, schema 8): each process records the
 * shards it runs, renews them and lets them expire; a shard held by a live
 * lease of another owner is refused.  An owner is a host name and a pid. */
typedef struct {
    char host[256];
    int64_t pid;
} store_lease_owner;

/* One owner's leases of one shard count: its range and its latest expiry. */
typedef struct {
    store_lease_owner owner;
    int first, last, count;       /* the lowest and highest shard it holds */
    int n_shards;                 /* how many it holds (last-first+1 unless it is split) */
    int64_t expires_ms;
} store_lease_holder;

/* Asked during a claim about each other owner whose live lease conflicts:
 * non-zero when that owner is known to be gone (the daemon: the same host
 * and no such pid), so its leases count as expired and are taken over. */
typedef int (*store_lease_gone_fn)(void *ctx, const store_lease_owner *o);

/* Claims shards first..last of count for `me` until now_ms + ttl_ms, in one
 * transaction of its own (call it outside one).  Leases that expired by
 * now_ms, leases of `me` and leases of owners `gone` calls gone are taken
 * over.  A live lease of another owner on one of those shards, or on any
 * shard of another count, refuses the claim: DC_ERR_CONFIG, nothing
 * written, *conflict says who (its whole range of that count). */
dc_err store_lease_claim(store *s, const store_lease_owner *me, int first, int last, int count,
                         int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                         store_lease_holder *conflict);
/* Moves the expiry of me's leases of first..last/count to now_ms + ttl_ms;
 * *held receives how many it still holds (fewer than the range: another
 * owner took some over after they expired). */
dc_err store_lease_renew(store *s, const store_lease_owner *me, int first, int last, int count,
                         int64_t now_ms, int64_t ttl_ms, int *held);
/* Deletes every lease of me. */
dc_err store_lease_release(store *s, const store_lease_owner *me);
/* Every owner's leases, one holder per owner and shard count, by count and
 * first shard; expired ones too (compare expires_ms with the time). */
typedef int (*store_lease_fn)(void *ctx, const store_lease_holder *h);
dc_err store_each_lease(store *s, store_lease_fn fn, void *ctx);

/* The identify lock (Discord: max_concurrency IDENTIFYs per 5 s per bucket,
 * shard_id % max_concurrency, for the whole bot): one lock per bucket,
 * shared by every process on the database and tried without waiting, and
 * the time it was last got, kept beside it: a process that dies (or stops)
 * right after its IDENTIFY drops the lock, but not its time.
 * SQLite: an flock on <db>.identify-<bucket>.lock beside the database file,
 * the time (this host's clock) written in it; PostgreSQL: a session-level
 * advisory lock on a small connection of its own, so it never waits behind
 * a transaction, the time (the server's clock) in cleaner_identify_buckets.
 * *got 1 when this store now holds it, its time now; 0 when another holder
 * has it, when it was got less than hold_ms ago, or when this store holds
 * it already.  The holder releases it with store_identify_unlock once
 * hold_ms have passed; the lock also goes when the store closes or the
 * process dies. */
dc_err store_identify_lock(store *s, int bucket, int64_t hold_ms, int *got);
dc_err store_identify_unlock(store *s, int bucket);
/* The daemon's loop never waits for the identify lock: this starts what
 * it needs (PostgreSQL: its connection) without waiting, and from then on
 * store_identify_lock never waits either -- until that connection is ready
 * (or while an unlock's answer is still out) it answers *got 0 at once and
 * the caller asks again.  SQLite: nothing to prepare (an flock never waits). */
dc_err store_identify_prepare(store *s);

/* ---- sweep schedules set by a guild's own admins (schema 10) ----
 *
 * `!cleanup_schedule HOURS` (and the slash command's `schedule`) store the
 * guild's own sweep interval in cleaner_guild_schedule.  Which interval
 * applies is the daemon's business (reconcile.c: the operator's
 * guild_interval, then this, then interval_hours); the store only keeps it.
 * Every call answers DC_ERR_SCHEMA on a schema older than 10 (a read-only
 * `status` of a database not migrated yet), nothing logged. */
typedef struct {
    uint64_t guild_id;
    int64_t interval_ms;          /* > 0 */
    uint64_t set_by;              /* the admin's user id (0: unknown) */
    int64_t set_at_ms;            /* when (Unix ms) */
} store_schedule;
/* Upsert; DC_ERR_USAGE for guild 0 or interval_ms <= 0. */
dc_err store_schedule_set(store *s, const store_schedule *sc);
/* Back to the default; no row is not an error. */
dc_err store_schedule_clear(store *s, uint64_t guild_id);
/* DC_ERR_NOTFOUND when the guild's admins set none. */
dc_err store_schedule_get(store *s, uint64_t guild_id, store_schedule *out);
/* Every guild's, by guild id; fn returns non-zero to stop. */
typedef int (*store_schedule_fn)(void *ctx, const store_schedule *sc);
dc_err store_each_schedule(store *s, store_schedule_fn fn, void *ctx);

/* ---- the sweep history (schema 11) ----
 *
 * One row per finished sweep, written in the turn that records the guild's
 * last sweep, read newest first by the stats page ("the last 20 sweeps"),
 * pruned with the audit.  DC_ERR_SCHEMA on a schema older than 11. */
typedef struct {
    uint64_t guild_id;
    int64_t started_ms, at_ms;    /* Unix ms */
    int64_t duration_ms;
    int64_t removed;              /* rows deleted (would be, in a dry run) */
    int dry_run;
    char result[512];             /* as last_sweep_result */
} store_sweep_log_row;
dc_err store_sweep_log_add(store *s, const store_sweep_log_row *r);
/* The newest `limit` rows, newest first; fn returns non-zero to stop. */
typedef int (*store_sweep_log_fn)(void *ctx, const store_sweep_log_row *r);
dc_err store_sweep_log_recent(store *s, int limit, store_sweep_log_fn fn, void *ctx);
dc_err store_sweep_log_prune(store *s, int64_t older_than_ms, int64_t *pruned);

#endif
