/* store_backend_internal.h - what a store backend implements (internal to
 * src/store/).
 *
 * The shape of curl's lib/vtls/: store.h (with store_sweep.h and
 * store_requests.h) is the one interface the rest of the program sees;
 * store.c checks arguments that do not depend on a backend, picks the
 * backend for a path and dispatches every call through the table below;
 * each backend (store_sqlite*.c today, PostgreSQL in #16) fills in one
 * `store_backend` and embeds `struct store` as the first member of its own
 * struct, so a backend turns the `store *` it is handed into its own type
 * with a cast.
 *
 * Every member is required: a backend that cannot do an operation says so
 * with an error (DC_ERR_USAGE and a message), never with NULL.  New
 * operations go at the end of their group, with the public function in
 * store.c that calls them. */
#ifndef DC_STORE_BACKEND_INTERNAL_H
#define DC_STORE_BACKEND_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"
#include "store/store_requests.h"
#include "store/store_sweep.h"
#include "store/store_grace.h"

typedef struct store_backend store_backend;

/* The part of every store that is not a backend's: the backend's open
 * fills it in. */
struct store {
    const store_backend *be;
    int read_only;                      /* store_opts.read_only */
    int schema_version;                 /* after store_open's migration */
    store_migration_report migration;   /* what store_open's migration did */
    char errmsg[512];                   /* the last error, "" when none is recorded */
    struct store_submitted *submitted;  /* outcomes waiting for store_service (store_submit.c) */
    size_t n_submitted, cap_submitted;
    store_member_totals tx_members;     /* store_delete_member rows known at call time, this transaction */
    const store_member_totals *delivering;   /* store_outcome_members inside a done callback */
    void (*on_pending)(void *ctx);      /* store_on_pending: an outcome was queued */
    void *on_pending_ctx;
};

/* Outcomes never delivered: dropped when the store closes (store_submit.c). */
void store_submit_free(store *s);
/* The reason an audit row names (audit_reason_name's text), -1 for a name
 * this build does not know (store.c). */
int store_audit_reason_from_name(const char *name);

/* A backend that completes later queues the outcome of a submitted commit
 * here, in submission order; store_service delivers it.  totals: what the
 * transaction's deletes did (NULL: nothing).  -1 when out of memory. */
int store_submit_push(store *s, store_done_fn done, void *ctx, store_outcome outcome, const char *why,
                      const store_member_totals *totals);
/* The commit_submit of a backend that commits at once (SQLite). */
dc_err store_submit_at_once(store *s, store_done_fn done, void *ctx);
/* A member's delete whose rows are known: added to t. */
void store_members_add(store_member_totals *t, audit_reason why, int dry_run, int64_t rows);

struct store_backend {
    const char *name;                   /* "SQLite": --version, messages */

    /* ---- the library, without a store ---- */
    /* Once, before any other call into the library (store_global_init). */
    void (*global_init)(void);
    /* The library's version ("3.45.1"). */
    const char *(*version)(void);
    /* The highest schema version this build migrates to. */
    int (*latest_schema_version)(void);
    /* store_seed_sql: a fixture's seed text, as data only. */
    dc_err (*seed_sql)(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen);

    /* ---- open, close, errors ---- */
    /* store_exists: 1 when a database is at path, without touching it. */
    int (*exists)(const char *path);
    /* Opens, migrates and configures; on failure everything is released,
     * *out stays NULL and err says why.  Sets every field of struct store
     * but `be` (store.c sets it). */
    dc_err (*open)(store **out, const char *path, const store_opts *o, char *err, size_t errlen);
    void (*close)(store *s);
    /* The library's own last message, when errmsg holds none. */
    const char *(*last_error)(store *s);

    /* ---- transactions ---- */
    dc_err (*begin)(store *s);
    dc_err (*commit)(store *s);
    dc_err (*rollback)(store *s);
    int (*in_transaction)(store *s);    /* open transactions, nested begins counted */
    /* A socket the caller's loop watches for commit outcomes, or -1 when
     * the backend completes a submitted commit at once (SQLite). */
    int (*fd)(const store *s);
    void (*set_bare_writes)(store *s, int on);
    int (*tx_broken)(const store *s);
    int (*refused)(store *s);
    void (*set_busy_timeout)(store *s, int ms);
    void (*set_answer_wait)(store *s, int ms);   /* NULL: nothing to bound (no network) */
    /* store_commit_submit, once store.c checked that one transaction is
     * open: hands it over and returns at once; the outcome goes to
     * store_submit_push (now, or when the database answers). */
    dc_err (*commit_submit)(store *s, store_done_fn done, void *ctx);
    /* store_service's first step: read what arrived, never waiting. */
    void (*service)(store *s);
    int (*in_flight)(const store *s);
    void (*wait)(store *s, int timeout_ms);
    void (*watch)(store *s, store_watch_info *out);   /* store_watch */

    /* ---- checkpoints (the write-ahead log) ---- */
    dc_err (*set_manual_checkpoints)(store *s);
    void (*checkpoint_request)(store *s);
    int (*checkpoint_failures)(store *s, char *msg, size_t cap);
    void (*checkpointer_stop)(store *s);
    int (*wal_frames)(const store *s);
    int (*checkpoint_tail)(store *s, int max_frames);

    /* ---- rows of users and the clean tables ---- */
    dc_err (*delete_member)(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                            int dry_run, int64_t now_ms, int64_t *rows);
    dc_err (*delete_guild)(store *s, uint64_t guild_id, audit_reason why, int dry_run,
                           int64_t now_ms, int64_t *rows);
    dc_err (*delete_guild_slice)(store *s, uint64_t guild_id, int limit, int64_t *rows, int *more);
    dc_err (*audit_guild_delete)(store *s, uint64_t guild_id, audit_reason why, int64_t at_ms,
                                 int64_t rows);
    dc_err (*count_guild)(store *s, uint64_t guild_id, int64_t *rows);
    dc_err (*count_unassigned)(store *s, int64_t *rows);
    dc_err (*adopt_unassigned)(store *s, uint64_t guild_id, int64_t *rows);
    dc_err (*each_user_guild)(store *s, store_guild_fn fn, void *ctx);
    dc_err (*each_stored_guild)(store *s, store_guild_id_fn fn, void *ctx);

    /* ---- per-guild state ---- */
    dc_err (*guild_seen)(store *s, uint64_t guild_id, int shard_id, int64_t now_ms);
    dc_err (*guild_set_unavailable)(store *s, uint64_t guild_id, int unavailable);
    dc_err (*guild_set_needs_reconcile)(store *s, uint64_t guild_id, int needs);
    dc_err (*guild_set_last_sweep)(store *s, uint64_t guild_id, int64_t when_ms, int64_t removed,
                                   int64_t duration_ms, const char *result);
    dc_err (*guild_forget)(store *s, uint64_t guild_id);
    dc_err (*guild_set_name)(store *s, uint64_t guild_id, const char *name);
    dc_err (*guild_get_name)(store *s, uint64_t guild_id, char *buf, size_t cap);
    dc_err (*each_guild_name)(store *s, store_guild_name_fn fn, void *ctx);
    dc_err (*guild_get)(store *s, uint64_t guild_id, store_guild_state *out);
    dc_err (*each_guild_state)(store *s, store_guild_state_fn fn, void *ctx);

    /* ---- key/value session state ---- */
    dc_err (*kv_get)(store *s, const char *key, char *value, size_t cap);
    dc_err (*kv_set)(store *s, const char *key, const char *value);
    dc_err (*kv_del)(store *s, const char *key);
    dc_err (*each_kv)(store *s, store_kv_fn fn, void *ctx);

    /* ---- audit ---- */
    dc_err (*each_audit)(store *s, int64_t since_ms, store_audit_fn fn, void *ctx);
    dc_err (*audit_prune)(store *s, int64_t older_than_ms, int64_t *pruned);
    dc_err (*audit_totals)(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT]);
    dc_err (*audit_buckets)(store *s, int64_t since_ms, int64_t bucket_ms, int n, int64_t *out);

    /* ---- sweeps (store_sweep.h) ---- */
    dc_err (*sweep_open)(store *s, uint64_t guild_id);
    dc_err (*sweep_add)(store *s, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added);
    dc_err (*sweep_scan)(store *s, uint64_t guild_id, int window, int64_t *cursor, int *more,
                         store_scan_fn fn, void *ctx);
    dc_err (*sweep_delete_batch)(store *s, uint64_t guild_id, int limit, int window, int64_t now_ms,
                                 int64_t *cursor, int64_t *users, int *more);
    dc_err (*sweep_close)(store *s, uint64_t guild_id);
    dc_err (*sweep_clear_step)(store *s, int limit, int *more);

    /* ---- sweep requests (store_requests.h) ---- */
    dc_err (*request_add)(store *s, const store_request *r, int64_t now_ms, int64_t *id);
    dc_err (*request_each_open)(store *s, int64_t after_id, store_request_fn fn, void *ctx);
    dc_err (*request_answer)(store *s, int64_t id, int64_t now_ms, int status, const char *outcome);
    dc_err (*request_get)(store *s, int64_t id, int *answered, int *status, char **outcome);
    dc_err (*request_delete)(store *s, int64_t id);

    /* ---- several processes, one bot (store.h, #16) ---- */
    dc_err (*lease_claim)(store *s, const store_lease_owner *me, int first, int last, int count,
                          int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                          store_lease_holder *conflict);
    dc_err (*lease_renew)(store *s, const store_lease_owner *me, int first, int last, int count,
                          int64_t now_ms, int64_t ttl_ms, int *held);
    dc_err (*lease_release)(store *s, const store_lease_owner *me);
    dc_err (*each_lease)(store *s, store_lease_fn fn, void *ctx);
    dc_err (*identify_lock)(store *s, int bucket, int64_t hold_ms, int *got);
    dc_err (*identify_unlock)(store *s, int bucket);

    /* ---- sweep schedules set by a guild's admins (store.h, schema 10) ---- */
    dc_err (*schedule_set)(store *s, const store_schedule *sc);
    dc_err (*schedule_clear)(store *s, uint64_t guild_id);
    dc_err (*schedule_get)(store *s, uint64_t guild_id, store_schedule *out);
    dc_err (*each_schedule)(store *s, store_schedule_fn fn, void *ctx);
    /* ---- the sweep history (store.h, schema 11) ---- */
    dc_err (*sweep_log_add)(store *s, const store_sweep_log_row *r);
    dc_err (*sweep_log_recent)(store *s, int limit, store_sweep_log_fn fn, void *ctx);
    dc_err (*sweep_log_prune)(store *s, int64_t older_than_ms, int64_t *pruned);
    /* ---- pending departures: the grace period (store_grace.h, #17) ---- */
    dc_err (*grace_mark)(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                         int64_t now_ms, int64_t due_ms);
    dc_err (*grace_cancel)(store *s, uint64_t guild_id, uint64_t user_id, int64_t *n);
    dc_err (*grace_each)(store *s, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx);
    dc_err (*grace_count)(store *s, uint64_t guild_id, int64_t *n, int64_t *next_due_ms);
    /* in an open transaction (store_grace.c opens one when the caller has none) */
    dc_err (*grace_expire)(store *s, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                           int *expired, int64_t *rows);
    dc_err (*grace_mark_stale)(store *s, uint64_t guild_id, int64_t now_ms, int64_t due_ms, int64_t *marked);
    dc_err (*identify_prepare)(store *s);
};

/* The backends built into this program. */
extern const store_backend store_sqlite_backend;
extern const store_backend store_pg_backend;

#endif
