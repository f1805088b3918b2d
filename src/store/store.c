/* store.c - the store interface (store.h): which backend serves a path,
 * and every call handed to that backend through its table
 * (store_backend_internal.h).  What does not depend on a backend lives here
 * too: argument checks before a backend exists, the last error message,
 * the migration report.  The sweep and request calls dispatch in
 * store_sweep.c and store_requests.c. */
#include "store/store_backend_internal.h"

#include "base/uri.h"

#include <stdio.h>
#include <string.h>

/* The backend of a store opened without one named: store_latest_schema_version. */
static const store_backend *const store_default_backend = &store_sqlite_backend;

/* Every backend built in, for store_global_init and store_backend_versions. */
static const store_backend *const store_backends[] = { &store_sqlite_backend, &store_pg_backend };
#define STORE_N_BACKENDS (sizeof store_backends / sizeof store_backends[0])

/* Which backend serves `path`: a "postgresql://" or "postgres://" URI
 * (libpq's two schemes) is PostgreSQL's, anything else an SQLite database
 * file.  Never fails today; err is for a backend a build leaves out. */
static const store_backend *store_backend_for(const char *path, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return uri_is_postgres(path) ? &store_pg_backend : &store_sqlite_backend;
}

void store_global_init(void)
{
    for (size_t i = 0; i < STORE_N_BACKENDS; i++)
        store_backends[i]->global_init();
}

const char *store_backend_versions(void)
{
    static char line[128];
    size_t len = 0;
    line[0] = '\0';
    for (size_t i = 0; i < STORE_N_BACKENDS && len < sizeof line; i++) {
        int n = snprintf(line + len, sizeof line - len, "%s%s %s", i ? ", " : "",
                         store_backends[i]->name, store_backends[i]->version());
        len += n > 0 ? (size_t)n : 0;
    }
    return line;
}

/* err/errlen usable whatever the caller passed; err starts empty. */
#define STORE_ERR_BUF(err, errlen, scratch)   \
    do {                                      \
        if (!(err) || !(errlen)) {            \
            (err) = (scratch);                \
            (errlen) = sizeof (scratch);      \
        }                                     \
        (err)[0] = '\0';                      \
    } while (0)

dc_err store_seed_sql(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen)
{
    char scratch[8];
    STORE_ERR_BUF(err, errlen, scratch);
    if (!path || !path[0] || !sql) {
        snprintf(err, errlen, "no database path or no text to run");
        return DC_ERR_USAGE;
    }
    const store_backend *be = store_backend_for(path, err, errlen);
    return be ? be->seed_sql(path, sql, allow_ddl, err, errlen) : DC_ERR_CONFIG;
}

dc_err store_exists(const char *path, int *exists, char *err, size_t errlen)
{
    char scratch[8];
    STORE_ERR_BUF(err, errlen, scratch);
    *exists = 0;
    if (!path || !path[0])
        return DC_OK;
    const store_backend *be = store_backend_for(path, err, errlen);
    if (!be)
        return DC_ERR_CONFIG;
    *exists = be->exists(path);
    return DC_OK;
}

dc_err store_open(store **out, const char *path, const store_opts *opts, char *err, size_t errlen)
{
    static const store_opts defaults = { 0 };
    char scratch[8];
    STORE_ERR_BUF(err, errlen, scratch);
    *out = NULL;
    if (!path || !path[0]) {
        snprintf(err, errlen, "no database path");
        return DC_ERR_USAGE;
    }
    const store_backend *be = store_backend_for(path, err, errlen);
    if (!be)
        return DC_ERR_CONFIG;
    dc_err rc = be->open(out, path, opts ? opts : &defaults, err, errlen);
    if (rc == DC_OK)
        (*out)->be = be;
    return rc;
}

void store_close(store *s)
{
    if (!s)
        return;
    store_submit_free(s);
    s->be->close(s);
}

const char *store_errmsg(store *s) { return s->errmsg[0] ? s->errmsg : s->be->last_error(s); }
int store_schema_version(store *s) { return s->schema_version; }
int store_latest_schema_version(void) { return store_default_backend->latest_schema_version(); }
const store_migration_report *store_migration(store *s) { return &s->migration; }

int store_audit_reason_from_name(const char *name)
{
    for (int r = 0; r < AUDIT_REASON_COUNT; r++)
        if (name && strcmp(name, audit_reason_name((audit_reason)r)) == 0)
            return r;
    return -1;
}

/* Copy text into buf; when it does not fit, cut at a word boundary outside
 * any `code span` (a suggested command is shown whole or not at all) and
 * mark the cut with "...". */
void store_copy_whole(char *buf, size_t cap, const char *text)
{
    size_t len = strlen(text);
    if (!cap)
        return;
    if (len < cap) {
        memcpy(buf, text, len + 1);
        return;
    }
    size_t keep = cap > 4 ? cap - 4 : 0, cut = 0;
    int ticks = 0;
    for (size_t i = 0; i < keep; i++) {
        ticks ^= text[i] == '`';
        if (!ticks && (text[i] == ' ' || text[i] == '`'))
            cut = text[i] == '`' ? i + 1 : i;   /* after a closing tick, or at a space outside */
    }
    memcpy(buf, text, cut);
    snprintf(buf + cut, cap - cut, "...");
}

/* ---- transactions --------------------------------------------------------- */

/* tx_members covers one outermost transaction (store_outcome_members). */
dc_err store_begin(store *s)
{
    if (!s->be->in_transaction(s))
        memset(&s->tx_members, 0, sizeof s->tx_members);
    return s->be->begin(s);
}

dc_err store_commit(store *s)
{
    dc_err rc = s->be->commit(s);
    if (!s->be->in_transaction(s))
        memset(&s->tx_members, 0, sizeof s->tx_members);
    return rc;
}

dc_err store_rollback(store *s)
{
    memset(&s->tx_members, 0, sizeof s->tx_members);
    return s->be->rollback(s);
}

int store_in_transaction(store *s) { return s->be->in_transaction(s); }
void store_set_bare_writes(store *s, int on) { s->be->set_bare_writes(s, on); }
int store_tx_broken(const store *s) { return s->be->tx_broken(s); }
int store_refused(store *s) { return s->be->refused(s); }
void store_set_busy_timeout(store *s, int ms) { s->be->set_busy_timeout(s, ms); }
void store_set_answer_wait(store *s, int ms)
{
    if (s->be->set_answer_wait)
        s->be->set_answer_wait(s, ms);
}

/* ---- checkpoints ---------------------------------------------------------- */

dc_err store_set_manual_checkpoints(store *s) { return s->be->set_manual_checkpoints(s); }
void store_checkpoint_request(store *s) { s->be->checkpoint_request(s); }
int store_checkpoint_failures(store *s, char *msg, size_t cap)
{
    return s->be->checkpoint_failures(s, msg, cap);
}
void store_checkpointer_stop(store *s) { s->be->checkpointer_stop(s); }
int store_wal_frames(const store *s) { return s->be->wal_frames(s); }
int store_checkpoint_tail(store *s, int max_frames) { return s->be->checkpoint_tail(s, max_frames); }

/* ---- rows ----------------------------------------------------------------- */

dc_err store_delete_member(store *s, uint64_t guild_id, uint64_t user_id,
                           audit_reason why, int dry_run, int64_t now_ms, int64_t *rows)
{
    int64_t n = 0;
    dc_err rc = s->be->delete_member(s, guild_id, user_id, why, dry_run, now_ms, &n);
    if (rc == DC_OK && n >= 0 && s->be->in_transaction(s))
        store_members_add(&s->tx_members, why, dry_run, n);    /* n < 0: queued, counted at its result */
    if (rows)
        *rows = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_delete_guild(store *s, uint64_t guild_id, audit_reason why,
                          int dry_run, int64_t now_ms, int64_t *rows)
{
    return s->be->delete_guild(s, guild_id, why, dry_run, now_ms, rows);
}

dc_err store_delete_guild_slice(store *s, uint64_t guild_id, int limit, int64_t *rows, int *more)
{
    return s->be->delete_guild_slice(s, guild_id, limit, rows, more);
}

dc_err store_audit_guild_delete(store *s, uint64_t guild_id, audit_reason why, int64_t at_ms, int64_t rows)
{
    return s->be->audit_guild_delete(s, guild_id, why, at_ms, rows);
}

dc_err store_count_guild(store *s, uint64_t guild_id, int64_t *rows)
{
    return s->be->count_guild(s, guild_id, rows);
}
dc_err store_count_unassigned(store *s, int64_t *rows) { return s->be->count_unassigned(s, rows); }
dc_err store_adopt_unassigned(store *s, uint64_t guild_id, int64_t *rows)
{
    return s->be->adopt_unassigned(s, guild_id, rows);
}
dc_err store_each_user_guild(store *s, store_guild_fn fn, void *ctx)
{
    return s->be->each_user_guild(s, fn, ctx);
}
dc_err store_each_stored_guild(store *s, store_guild_id_fn fn, void *ctx)
{
    return s->be->each_stored_guild(s, fn, ctx);
}

/* ---- per-guild state ------------------------------------------------------ */

dc_err store_guild_seen(store *s, uint64_t guild_id, int shard_id, int64_t now_ms)
{
    return s->be->guild_seen(s, guild_id, shard_id, now_ms);
}

dc_err store_guild_set_unavailable(store *s, uint64_t guild_id, int unavailable)
{
    return s->be->guild_set_unavailable(s, guild_id, unavailable);
}

dc_err store_guild_set_needs_reconcile(store *s, uint64_t guild_id, int needs)
{
    return s->be->guild_set_needs_reconcile(s, guild_id, needs);
}

dc_err store_guild_set_last_sweep(store *s, uint64_t guild_id, int64_t when_ms,
                                  int64_t removed, int64_t duration_ms, const char *result)
{
    return s->be->guild_set_last_sweep(s, guild_id, when_ms, removed, duration_ms, result);
}

dc_err store_guild_forget(store *s, uint64_t guild_id) { return s->be->guild_forget(s, guild_id); }
dc_err store_guild_set_name(store *s, uint64_t guild_id, const char *name)
{
    return s->be->guild_set_name(s, guild_id, name);
}
dc_err store_guild_get_name(store *s, uint64_t guild_id, char *buf, size_t cap)
{
    return s->be->guild_get_name(s, guild_id, buf, cap);
}
dc_err store_each_guild_name(store *s, store_guild_name_fn fn, void *ctx)
{
    return s->be->each_guild_name(s, fn, ctx);
}
dc_err store_guild_get(store *s, uint64_t guild_id, store_guild_state *out)
{
    return s->be->guild_get(s, guild_id, out);
}
dc_err store_each_guild_state(store *s, store_guild_state_fn fn, void *ctx)
{
    return s->be->each_guild_state(s, fn, ctx);
}

/* ---- key/value ------------------------------------------------------------ */

dc_err store_kv_get(store *s, const char *key, char *value, size_t cap)
{
    return s->be->kv_get(s, key, value, cap);
}
dc_err store_kv_set(store *s, const char *key, const char *value) { return s->be->kv_set(s, key, value); }
dc_err store_kv_del(store *s, const char *key) { return s->be->kv_del(s, key); }
dc_err store_each_kv(store *s, store_kv_fn fn, void *ctx) { return s->be->each_kv(s, fn, ctx); }

/* ---- audit ---------------------------------------------------------------- */

dc_err store_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx)
{
    return s->be->each_audit(s, since_ms, fn, ctx);
}
dc_err store_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned)
{
    return s->be->audit_prune(s, older_than_ms, pruned);
}
dc_err store_audit_buckets(store *s, int64_t since_ms, int64_t bucket_ms, int n, int64_t *out)
{
    if (bucket_ms <= 0 || n <= 0)
        return DC_ERR_USAGE;
    return s->be->audit_buckets(s, since_ms, bucket_ms, n, out);
}

dc_err store_audit_totals(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT])
{
    return s->be->audit_totals(s, since_ms, totals);
}

/* ---- several processes, one bot (#16) ------------------------------------- */

static int bad_range(store *s, const store_lease_owner *me, int first, int last, int count)
{
    if (me && me->host[0] && count >= 1 && first >= 0 && first <= last && last < count)
        return 0;
    snprintf(s->errmsg, sizeof s->errmsg, "shard leases: no owner or a bad range %d-%d/%d", first, last, count);
    return 1;
}

dc_err store_lease_claim(store *s, const store_lease_owner *me, int first, int last, int count,
                         int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                         store_lease_holder *conflict)
{
    if (bad_range(s, me, first, last, count) || !conflict)
        return DC_ERR_USAGE;
    memset(conflict, 0, sizeof *conflict);
    return s->be->lease_claim(s, me, first, last, count, now_ms, ttl_ms, gone, ctx, conflict);
}

dc_err store_lease_renew(store *s, const store_lease_owner *me, int first, int last, int count,
                         int64_t now_ms, int64_t ttl_ms, int *held)
{
    if (bad_range(s, me, first, last, count) || !held)
        return DC_ERR_USAGE;
    *held = 0;
    return s->be->lease_renew(s, me, first, last, count, now_ms, ttl_ms, held);
}

dc_err store_lease_release(store *s, const store_lease_owner *me)
{
    return me && me->host[0] ? s->be->lease_release(s, me) : DC_ERR_USAGE;
}

dc_err store_each_lease(store *s, store_lease_fn fn, void *ctx) { return s->be->each_lease(s, fn, ctx); }

dc_err store_identify_lock(store *s, int bucket, int64_t hold_ms, int *got)
{
    if (!got || bucket < 0 || hold_ms < 0)
        return DC_ERR_USAGE;
    *got = 0;
    return s->be->identify_lock(s, bucket, hold_ms, got);
}

dc_err store_identify_prepare(store *s)
{
    return s->be->identify_prepare(s);
}

dc_err store_identify_unlock(store *s, int bucket)
{
    return bucket < 0 ? DC_ERR_USAGE : s->be->identify_unlock(s, bucket);
}

/* ---- admins' schedules ------------------------------------------------------ */

dc_err store_schedule_set(store *s, const store_schedule *sc)
{
    if (!sc || !sc->guild_id || sc->interval_ms <= 0)
        return DC_ERR_USAGE;
    return s->be->schedule_set(s, sc);
}
dc_err store_schedule_clear(store *s, uint64_t guild_id)
{
    return guild_id ? s->be->schedule_clear(s, guild_id) : DC_ERR_USAGE;
}
dc_err store_schedule_get(store *s, uint64_t guild_id, store_schedule *out)
{
    memset(out, 0, sizeof *out);
    return guild_id ? s->be->schedule_get(s, guild_id, out) : DC_ERR_NOTFOUND;
}
dc_err store_each_schedule(store *s, store_schedule_fn fn, void *ctx)
{
    return s->be->each_schedule(s, fn, ctx);
}

/* ---- the sweep history -------------------------------------------------------- */

dc_err store_sweep_log_add(store *s, const store_sweep_log_row *r)
{
    if (!r || !r->guild_id)
        return DC_ERR_USAGE;
    return s->be->sweep_log_add(s, r);
}
dc_err store_sweep_log_recent(store *s, int limit, store_sweep_log_fn fn, void *ctx)
{
    return limit > 0 ? s->be->sweep_log_recent(s, limit, fn, ctx) : DC_OK;
}
dc_err store_sweep_log_prune(store *s, int64_t older_than_ms, int64_t *pruned)
{
    if (pruned)
        *pruned = 0;
    return s->be->sweep_log_prune(s, older_than_ms, pruned);
}
