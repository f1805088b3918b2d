/* store_sqlite_internal.h - the SQLite backend's store and the helpers its
 * files (store_sqlite*.c) share; private to them.
 *
 * Statements are listed once in STORE_STMTS and prepared lazily on first use
 * (SQLITE_PREPARE_PERSISTENT) then kept for the life of the store; lazily
 * because a read-only store on a database whose schema is behind must still
 * open and answer what it can. */
#ifndef DC_STORE_SQLITE_INTERNAL_H
#define DC_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include "store/store_backend_internal.h"
#include "store/store_sweep_queue.h"

/* One audit row's parameters; ST_AUDIT_ADD_BATCH holds AUDIT_BATCH of them. */
#define AUDIT_ROW_PARAMS "(?, ?, ?, ?, ?, ?)"
#define AUDIT_ROWS_4 AUDIT_ROW_PARAMS ", " AUDIT_ROW_PARAMS ", " AUDIT_ROW_PARAMS ", " AUDIT_ROW_PARAMS
#define AUDIT_BATCH 16

typedef struct store_ckpt store_ckpt;

#define STORE_STMTS(X)                                                                   \
    /* per-write savepoints run once per deleted member: prepared, not re-parsed */     \
    X(ST_SAVEPOINT, "SAVEPOINT store_op")                                                \
    X(ST_RELEASE, "RELEASE store_op")                                                    \
    X(ST_ROLLBACK_TO, "ROLLBACK TO store_op")                                            \
    X(ST_COUNT_MEMBER, "SELECT count(*) FROM users WHERE guild_id = ?1 AND discord_id = ?2") \
    X(ST_DELETE_MEMBER, "DELETE FROM users WHERE guild_id = ?1 AND discord_id = ?2")      \
    X(ST_COUNT_GUILD, "SELECT count(*) FROM users WHERE guild_id = ?1")                  \
    X(ST_DELETE_GUILD, "DELETE FROM users WHERE guild_id = ?1")                          \
    /* a guild deleted a slice at a time: the ?2+1-th lowest id, then up to it */      \
    X(ST_GUILD_SLICE_END, "SELECT discord_id FROM users WHERE guild_id = ?1 "            \
                          "ORDER BY discord_id LIMIT 1 OFFSET ?2")                        \
    X(ST_DELETE_GUILD_UPTO, "DELETE FROM users WHERE guild_id = ?1 AND discord_id <= ?2") \
    X(ST_COUNT_UNASSIGNED, "SELECT count(*) FROM users WHERE guild_id IS NULL")          \
    /* OR IGNORE: a user who already has a row in that guild keeps the NULL row */      \
    X(ST_ADOPT, "UPDATE OR IGNORE users SET guild_id = ?1 WHERE guild_id IS NULL")       \
    X(ST_NEXT_GUILD, "SELECT guild_id FROM users WHERE guild_id > ?1 "                   \
                     "ORDER BY guild_id LIMIT 1")                                         \
    X(ST_USER_GUILDS, "SELECT guild_id, count(*) FROM users WHERE guild_id IS NOT NULL " \
                      "GROUP BY guild_id ORDER BY guild_id")                             \
    X(ST_AUDIT_ADD, "INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, "   \
                    "dry_run, rows) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                    \
    X(ST_AUDIT_ADD_BATCH, "INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, " \
                          "dry_run, rows) VALUES " AUDIT_ROWS_4 ", " AUDIT_ROWS_4 ", "   \
                          AUDIT_ROWS_4 ", " AUDIT_ROWS_4)                               \
    X(ST_AUDIT_EACH, "SELECT id, at_ms, guild_id, discord_id, reason, dry_run, rows "    \
                     "FROM cleaner_audit WHERE at_ms >= ?1 ORDER BY id")                 \
    X(ST_AUDIT_PRUNE, "DELETE FROM cleaner_audit WHERE at_ms < ?1")                      \
    X(ST_AUDIT_TOTALS, "SELECT reason, sum(rows) FROM cleaner_audit "                    \
                       "WHERE at_ms >= ?1 AND dry_run = 0 GROUP BY reason")              \
    X(ST_AUDIT_BUCKETS, "SELECT reason, (at_ms - ?1) / ?2 AS b, sum(rows) FROM cleaner_audit " \
                        "WHERE at_ms >= ?1 AND at_ms < ?1 + ?2 * ?3 AND dry_run = 0 "    \
                        "GROUP BY reason, b")                                            \
    X(ST_GUILD_SEEN, "INSERT INTO cleaner_guild_state (guild_id, shard_id, last_seen_ms) " \
                     "VALUES (?1, ?2, ?3) ON CONFLICT (guild_id) DO UPDATE SET "         \
                     "shard_id = excluded.shard_id, last_seen_ms = excluded.last_seen_ms") \
    X(ST_GUILD_UNAVAIL, "INSERT INTO cleaner_guild_state (guild_id, unavailable) "       \
                        "VALUES (?1, ?2) ON CONFLICT (guild_id) DO UPDATE SET "          \
                        "unavailable = excluded.unavailable")                            \
    X(ST_GUILD_RECONCILE, "INSERT INTO cleaner_guild_state (guild_id, needs_reconcile) " \
                          "VALUES (?1, ?2) ON CONFLICT (guild_id) DO UPDATE SET "        \
                          "needs_reconcile = excluded.needs_reconcile")                  \
    X(ST_GUILD_SWEEP, "INSERT INTO cleaner_guild_state (guild_id, last_sweep_ms, "       \
                      "last_sweep_removed, last_sweep_duration_ms, last_sweep_result) "  \
                      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (guild_id) DO UPDATE SET " \
                      "last_sweep_ms = excluded.last_sweep_ms, "                         \
                      "last_sweep_removed = excluded.last_sweep_removed, "               \
                      "last_sweep_duration_ms = excluded.last_sweep_duration_ms, "       \
                      "last_sweep_result = excluded.last_sweep_result")                  \
    X(ST_GUILD_FORGET, "DELETE FROM cleaner_guild_state WHERE guild_id = ?1")            \
    /* schema 5 (0005_guild_name.sql) */                                        \
    X(ST_GUILD_NAME_SET, "INSERT INTO cleaner_guild_state (guild_id, name) VALUES (?1, ?2) " \
                         "ON CONFLICT (guild_id) DO UPDATE SET name = excluded.name")    \
    X(ST_GUILD_NAME_GET, "SELECT name FROM cleaner_guild_state WHERE guild_id = ?1")    \
    X(ST_GUILD_NAME_EACH, "SELECT guild_id, name FROM cleaner_guild_state "             \
                          "WHERE name IS NOT NULL AND name <> '' ORDER BY guild_id")     \
    /* Two statements, not "?1 IS NULL OR guild_id = ?1": SQLite cannot use  \
     * the primary key for that, and every single read scanned the table     \
     * (10,000 guilds: 0.11 ms a read instead of a few microseconds). */     \
    X(ST_GUILD_GET, "SELECT guild_id, shard_id, last_seen_ms, unavailable, needs_reconcile, " \
                    "last_sweep_ms, last_sweep_removed, last_sweep_duration_ms, "        \
                    "last_sweep_result FROM cleaner_guild_state WHERE guild_id = ?1")   \
    X(ST_GUILD_EACH, "SELECT guild_id, shard_id, last_seen_ms, unavailable, needs_reconcile, " \
                     "last_sweep_ms, last_sweep_removed, last_sweep_duration_ms, "       \
                     "last_sweep_result FROM cleaner_guild_state ORDER BY guild_id")     \
    X(ST_KV_GET, "SELECT value FROM cleaner_session_state WHERE key = ?1")               \
    X(ST_KV_SET, "INSERT INTO cleaner_session_state (key, value) VALUES (?1, ?2) "       \
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value")               \
    X(ST_KV_DEL, "DELETE FROM cleaner_session_state WHERE key = ?1")                     \
    X(ST_KV_EACH, "SELECT key, value FROM cleaner_session_state ORDER BY key")           \
    /* sweeps: the listed members live in a TEMP table (store_sqlite_sweep.c) */                \
    X(ST_SWEEP_CREATE, "CREATE TEMP TABLE IF NOT EXISTS cleaner_sweep_members ("         \
                       "guild_id INTEGER NOT NULL, user_id INTEGER NOT NULL, "           \
                       "PRIMARY KEY (guild_id, user_id)) WITHOUT ROWID")                 \
    X(ST_SWEEP_CLEAR, "DELETE FROM temp.cleaner_sweep_members WHERE guild_id = ?1")      \
    /* the ?2 lowest ids of a set (all of it when it has fewer): one bounded  \
     * statement of store_sweep_clear_step */                                 \
    X(ST_SWEEP_CLEAR_SLICE, "DELETE FROM temp.cleaner_sweep_members WHERE guild_id = ?1 " \
                            "AND user_id <= coalesce((SELECT user_id "                    \
                            "FROM temp.cleaner_sweep_members WHERE guild_id = ?1 "        \
                            "ORDER BY user_id LIMIT 1 OFFSET ?2 - 1), 9223372036854775807)") \
    X(ST_SWEEP_ADD, "INSERT OR IGNORE INTO temp.cleaner_sweep_members (guild_id, user_id) " \
                    "VALUES (?1, ?2)")                                                   \
    /* one bounded slice of the guild's rows in id order, each with "is it     \
     * listed"; measuring and deleting walk the guild with it a slice at a    \
     * time so no statement holds the loop for long */                        \
    /* shard leases, schema 8 (store_sqlite_coord.c) */                                 \
    X(ST_LEASE_CONFLICTS, "SELECT DISTINCT owner_host, owner_pid FROM cleaner_shard_leases " \
                          "WHERE expires_ms > ?1 AND NOT (owner_host = ?2 AND owner_pid = ?3) " \
                          "AND (shard_count <> ?4 OR shard BETWEEN ?5 AND ?6) "             \
                          "ORDER BY owner_host, owner_pid")                                 \
    X(ST_LEASE_DROP_OWNER, "DELETE FROM cleaner_shard_leases WHERE owner_host = ?1 AND owner_pid = ?2") \
    X(ST_LEASE_DROP_EXPIRED, "DELETE FROM cleaner_shard_leases WHERE expires_ms <= ?1")  \
    X(ST_LEASE_PUT, "INSERT INTO cleaner_shard_leases (shard_count, shard, owner_host, owner_pid, " \
                    "acquired_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "            \
                    "ON CONFLICT (shard_count, shard) DO UPDATE SET owner_host = excluded.owner_host, " \
                    "owner_pid = excluded.owner_pid, acquired_ms = excluded.acquired_ms, " \
                    "expires_ms = excluded.expires_ms")                                   \
    X(ST_LEASE_RENEW, "UPDATE cleaner_shard_leases SET expires_ms = ?1 WHERE owner_host = ?2 " \
                      "AND owner_pid = ?3 AND shard_count = ?4 AND shard BETWEEN ?5 AND ?6") \
    /* one row per owner and count; ?1 NULL: every owner */                           \
    X(ST_LEASE_EACH, "SELECT owner_host, owner_pid, shard_count, min(shard), max(shard), count(*), " \
                     "max(expires_ms) FROM cleaner_shard_leases WHERE ?1 IS NULL OR " \
                     "(owner_host = ?1 AND owner_pid = ?2) GROUP BY owner_host, owner_pid, " \
                     "shard_count ORDER BY shard_count, min(shard)")                     \
    X(ST_SWEEP_SCAN, "SELECT u.discord_id, EXISTS (SELECT 1 FROM temp.cleaner_sweep_members m " \
                     "WHERE m.guild_id = ?1 AND m.user_id = u.discord_id) FROM users u " \
                     "WHERE u.guild_id = ?1 AND u.discord_id > ?2 ORDER BY u.discord_id LIMIT ?3") \
    /* admins' schedules, schema 10 (store_sqlite_schedule.c); ?1 NULL: every guild */ \
    X(ST_SCHEDULE_SET, "INSERT INTO cleaner_guild_schedule (guild_id, interval_ms, set_by, set_at_ms) " \
                       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (guild_id) DO UPDATE SET "  \
                       "interval_ms = excluded.interval_ms, set_by = excluded.set_by, " \
                       "set_at_ms = excluded.set_at_ms")                                \
    X(ST_SCHEDULE_CLEAR, "DELETE FROM cleaner_guild_schedule WHERE guild_id = ?1")     \
    X(ST_SCHEDULE_GET, "SELECT guild_id, interval_ms, set_by, set_at_ms FROM cleaner_guild_schedule " \
                       "WHERE guild_id = ?1")                                           \
    X(ST_SCHEDULE_EACH, "SELECT guild_id, interval_ms, set_by, set_at_ms FROM cleaner_guild_schedule " \
                        "ORDER BY guild_id")                                            \
    /* the sweep history (store_sqlite_sweep_log.c, schema 0011) */                    \
    X(ST_SWEEP_LOG_ADD, "INSERT INTO cleaner_sweep_log (guild_id, started_ms, at_ms, duration_ms, " \
                        "removed, result, dry_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")  \
    X(ST_SWEEP_LOG_RECENT, "SELECT guild_id, started_ms, at_ms, duration_ms, removed, result, " \
                           "dry_run FROM cleaner_sweep_log ORDER BY at_ms DESC, id DESC LIMIT ?1") \
    X(ST_SWEEP_LOG_PRUNE, "DELETE FROM cleaner_sweep_log WHERE at_ms < ?1")           \
    /* #17 pending departures (store_sqlite_grace.c, schema 0009) */                   \
    X(ST_GRACE_MARK, "INSERT OR IGNORE INTO cleaner_grace (guild_id, discord_id, reason, marked_ms, " \
                     "due_ms) VALUES (?1, ?2, ?3, ?4, ?5)")                               \
    X(ST_GRACE_CANCEL, "DELETE FROM cleaner_grace WHERE guild_id = ?1 AND discord_id = ?2") \
    X(ST_GRACE_EACH, "SELECT guild_id, discord_id, reason, marked_ms, due_ms FROM cleaner_grace " \
                     "WHERE due_ms <= ?1 ORDER BY due_ms, guild_id, discord_id LIMIT ?2")  \
    X(ST_GRACE_COUNT, "SELECT count(*), coalesce(min(due_ms), 0) FROM cleaner_grace "     \
                      "WHERE ?1 = 0 OR guild_id = ?1")                                    \
    X(ST_GRACE_TAKE, "DELETE FROM cleaner_grace WHERE guild_id = ?1 AND discord_id = ?2 " \
                     "AND due_ms <= ?3 RETURNING reason")                                 \
    X(ST_GRACE_DROP_GUILD, "DELETE FROM cleaner_grace WHERE guild_id = ?1")               \
    X(ST_GRACE_ORIGIN, "UPDATE cleaner_audit SET origin = ?3 WHERE id = (SELECT max(id) " \
                       "FROM cleaner_audit WHERE guild_id = ?1 AND coalesce(discord_id, 0) = ?2 " \
                       "AND reason = 'grace_expired' AND origin IS NULL)")               \
    X(ST_GRACE_STALE, "INSERT OR IGNORE INTO cleaner_grace (guild_id, discord_id, reason, " \
                      "marked_ms, due_ms) SELECT ?1, CAST(u.discord_id AS INTEGER), 'sweep', ?2, ?3 " \
                      "FROM users u WHERE u.guild_id = ?1 AND CAST(u.discord_id AS INTEGER) > 0 " \
                      "AND NOT EXISTS (SELECT 1 FROM temp.cleaner_sweep_members m "        \
                      "WHERE m.guild_id = ?1 AND m.user_id = u.discord_id)")

typedef enum {
#define STORE_STMT_ENUM(id, sql) id,
    STORE_STMTS(STORE_STMT_ENUM)
#undef STORE_STMT_ENUM
    ST__COUNT
} store_stmt_id;

/* The statements for one validated clean_tables entry. */
typedef struct {
    char table[64];
    sqlite3_stmt *count_member, *delete_member, *count_guild, *delete_guild;
    sqlite3_stmt *delete_guild_upto;   /* the guild's rows with user <= ?2 */
} store_clean;

/* An SQLite store: struct store first (store_backend_internal.h), so the
 * `store *` the interface hands over is this struct. */
typedef struct {
    struct store head;
    sqlite3 *db;
    int tx_depth;                 /* store_begin nesting; 0 = no caller transaction */
    sqlite3_stmt *stmts[ST__COUNT];
    store_clean *clean;
    size_t n_clean;
    int refused;                  /* this transaction hit BUSY/LOCKED/FULL (store_refused) */
    int bare_writes;              /* store_set_bare_writes */
    int tx_broken;                /* a bare write failed half-way: only ROLLBACK is allowed */
    int wal_frames;               /* WAL size after the last commit (store_sqlite_wal.c) */
    store_ckpt *ckpt;             /* the checkpoint thread, when manual */
    store_audit_row audit_q[AUDIT_BATCH];   /* bare writes' audit rows not yet inserted */
    int audit_n;
    store_sweep_queue closed;     /* sweep member sets awaiting clearing (store_sqlite_sweep.c) */
    struct store_sqlite_idlock *idlocks;   /* identify locks held (store_sqlite_coord.c) */
    size_t n_idlocks;
} store_sqlite;

/* Every store this backend is handed is one it opened. */
static inline store_sqlite *store_sqlite_of(store *s) { return (store_sqlite *)s; }
static inline const store_sqlite *store_sqlite_of_const(const store *s) { return (const store_sqlite *)s; }


/* The cached statement, prepared on first use; NULL on failure (errmsg set). */
sqlite3_stmt *store_sqlite_stmt(store_sqlite *s, store_stmt_id id);
/* Record "what: sqlite message" as the last error and map rc. */
dc_err store_sqlite_fail(store_sqlite *s, int rc, const char *what);
/* Step a write statement to completion, then reset it. */
dc_err store_sqlite_step_done(store_sqlite *s, sqlite3_stmt *st, const char *what);
/* Step a one-integer query, then reset it. */
dc_err store_sqlite_step_int(store_sqlite *s, sqlite3_stmt *st, int64_t *out, const char *what);

/* Each write runs atomically: in its own BEGIN IMMEDIATE transaction when the
 * caller has none, else inside a savepoint of the caller's transaction --
 * or, with bare writes on, directly in it (a failure then breaks the
 * transaction: store_commit refuses it). */
typedef enum { STORE_OP_OWN_TX, STORE_OP_SAVEPOINT, STORE_OP_BARE } store_op_mode;
dc_err store_sqlite_op_begin(store_sqlite *s, store_op_mode *mode);
dc_err store_sqlite_op_end(store_sqlite *s, store_op_mode mode, dc_err rc);
/* One prepared write (st NULL: its prepare failed) as one atomic op. */
dc_err store_sqlite_write_stmt(store_sqlite *s, sqlite3_stmt *st, const char *what);

/* One audit row, in the caller's transaction (store_sqlite_audit.c).  With bare
 * writes inside a transaction the row is queued and inserted with the next
 * ones (AUDIT_BATCH per statement), at the latest by store_sqlite_audit_flush,
 * which store_commit and every audit read call first. */
dc_err store_sqlite_audit_add(store_sqlite *s, int64_t at_ms, uint64_t guild_id, uint64_t user_id,
                              audit_reason why, int dry_run, int64_t rows);
/* Insert the queued audit rows; a failure breaks the transaction. */
dc_err store_sqlite_audit_flush(store_sqlite *s);

/* clean_tables: validate and prepare (store_sqlite_clean.c). */
dc_err store_sqlite_clean_open(store_sqlite *s, const config_clean_table *t, size_t n, char *err, size_t errlen);
void store_sqlite_clean_close(store_sqlite *s);

/* The operations of the backend's table (store_backend_internal.h) that live
 * outside store_sqlite.c, each taking the interface's `store *`. */
/* store_sqlite_wal.c */
dc_err store_sqlite_set_manual_checkpoints(store *s);
void store_sqlite_checkpoint_request(store *s);
int store_sqlite_checkpoint_failures(store *s, char *msg, size_t cap);
void store_sqlite_checkpointer_stop(store *s);
int store_sqlite_wal_frames(const store *s);
int store_sqlite_checkpoint_tail(store *s, int max_frames);
/* store_sqlite_coord.c: shard leases and the identify lock (store.h, #16) */
dc_err store_sqlite_lease_claim(store *s, const store_lease_owner *me, int first, int last, int count,
                                int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                                store_lease_holder *conflict);
dc_err store_sqlite_lease_renew(store *s, const store_lease_owner *me, int first, int last, int count,
                                int64_t now_ms, int64_t ttl_ms, int *held);
dc_err store_sqlite_lease_release(store *s, const store_lease_owner *me);
dc_err store_sqlite_each_lease(store *s, store_lease_fn fn, void *ctx);
dc_err store_sqlite_identify_lock(store *s, int bucket, int64_t hold_ms, int *got);
dc_err store_sqlite_identify_unlock(store *s, int bucket);
dc_err store_sqlite_identify_prepare(store *s);
/* Drops every identify lock (store close). */
void store_sqlite_coord_close(store_sqlite *s);
/* store_sqlite_users.c */
dc_err store_sqlite_delete_member(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                                  int dry_run, int64_t now_ms, int64_t *rows);
dc_err store_sqlite_delete_guild(store *s, uint64_t guild_id, audit_reason why, int dry_run,
                                 int64_t now_ms, int64_t *rows);
dc_err store_sqlite_delete_guild_slice(store *s, uint64_t guild_id, int limit, int64_t *rows, int *more);
dc_err store_sqlite_audit_guild_delete(store *s, uint64_t guild_id, audit_reason why, int64_t at_ms,
                                       int64_t rows);
dc_err store_sqlite_count_guild(store *s, uint64_t guild_id, int64_t *rows);
dc_err store_sqlite_count_unassigned(store *s, int64_t *rows);
dc_err store_sqlite_adopt_unassigned(store *s, uint64_t guild_id, int64_t *rows);
dc_err store_sqlite_each_user_guild(store *s, store_guild_fn fn, void *ctx);
dc_err store_sqlite_each_stored_guild(store *s, store_guild_id_fn fn, void *ctx);
/* store_sqlite_state.c */
dc_err store_sqlite_guild_seen(store *s, uint64_t guild_id, int shard_id, int64_t now_ms);
dc_err store_sqlite_guild_set_unavailable(store *s, uint64_t guild_id, int unavailable);
dc_err store_sqlite_guild_set_needs_reconcile(store *s, uint64_t guild_id, int needs);
dc_err store_sqlite_guild_set_last_sweep(store *s, uint64_t guild_id, int64_t when_ms, int64_t removed,
                                         int64_t duration_ms, const char *result);
dc_err store_sqlite_guild_forget(store *s, uint64_t guild_id);
dc_err store_sqlite_guild_set_name(store *s, uint64_t guild_id, const char *name);
dc_err store_sqlite_guild_get_name(store *s, uint64_t guild_id, char *buf, size_t cap);
dc_err store_sqlite_each_guild_name(store *s, store_guild_name_fn fn, void *ctx);
dc_err store_sqlite_guild_get(store *s, uint64_t guild_id, store_guild_state *out);
dc_err store_sqlite_each_guild_state(store *s, store_guild_state_fn fn, void *ctx);
dc_err store_sqlite_kv_get(store *s, const char *key, char *value, size_t cap);
dc_err store_sqlite_kv_set(store *s, const char *key, const char *value);
dc_err store_sqlite_kv_del(store *s, const char *key);
dc_err store_sqlite_each_kv(store *s, store_kv_fn fn, void *ctx);
/* store_sqlite_grace.c (#17) */
dc_err store_sqlite_grace_mark(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                               int64_t now_ms, int64_t due_ms);
dc_err store_sqlite_grace_cancel(store *s, uint64_t guild_id, uint64_t user_id, int64_t *n);
dc_err store_sqlite_grace_each(store *s, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx);
dc_err store_sqlite_grace_count(store *s, uint64_t guild_id, int64_t *n, int64_t *next_due_ms);
dc_err store_sqlite_grace_expire(store *s, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                                 int *expired, int64_t *rows);
dc_err store_sqlite_grace_mark_stale(store *s, uint64_t guild_id, int64_t now_ms, int64_t due_ms,
                                     int64_t *marked);
/* store_sqlite_audit.c */
dc_err store_sqlite_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx);
dc_err store_sqlite_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned);
dc_err store_sqlite_audit_totals(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT]);
dc_err store_sqlite_audit_buckets(store *s, int64_t since_ms, int64_t bucket_ms, int n, int64_t *out);
/* store_sqlite_sweep.c */
dc_err store_sqlite_sweep_open(store *s, uint64_t guild_id);
dc_err store_sqlite_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added);
dc_err store_sqlite_sweep_scan(store *s, uint64_t guild_id, int window, int64_t *cursor, int *more,
                               store_scan_fn fn, void *ctx);
dc_err store_sqlite_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int window, int64_t now_ms,
                                       int64_t *cursor, int64_t *users, int *more);
dc_err store_sqlite_sweep_close(store *s, uint64_t guild_id);
dc_err store_sqlite_sweep_clear_step(store *s, int limit, int *more);
/* store_sqlite_requests.c */
dc_err store_sqlite_request_add(store *s, const store_request *r, int64_t now_ms, int64_t *id);
dc_err store_sqlite_request_each_open(store *s, int64_t after_id, store_request_fn fn, void *ctx);
dc_err store_sqlite_request_answer(store *s, int64_t id, int64_t now_ms, int status, const char *outcome);
dc_err store_sqlite_request_get(store *s, int64_t id, int *answered, int *status, char **outcome);
dc_err store_sqlite_request_delete(store *s, int64_t id);
/* store_sqlite_seed.c */
dc_err store_sqlite_seed_sql(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen);
/* store_sqlite_schedule.c: the admins' schedules (schema 10) */
dc_err store_sqlite_schedule_set(store *s, const store_schedule *sc);
dc_err store_sqlite_schedule_clear(store *s, uint64_t guild_id);
dc_err store_sqlite_schedule_get(store *s, uint64_t guild_id, store_schedule *out);
dc_err store_sqlite_each_schedule(store *s, store_schedule_fn fn, void *ctx);
/* store_sqlite_sweep_log.c: the sweep history (schema 11) */
dc_err store_sqlite_sweep_log_add(store *s, const store_sweep_log_row *r);
dc_err store_sqlite_sweep_log_recent(store *s, int limit, store_sweep_log_fn fn, void *ctx);
dc_err store_sqlite_sweep_log_prune(store *s, int64_t older_than_ms, int64_t *pruned);

#endif
