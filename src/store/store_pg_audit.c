/* store_pg_audit.c - the PostgreSQL backend's audit (cleaner_audit): one
 * row per delete or dry run, read back in id order, pruned by age, summed
 * per reason.
 *
 * The same rules as store_sqlite_audit.c: discord_id is NULL for a
 * whole-guild delete and reads back as 0; a reason this build does not
 * know reads as member_remove in rows and is left out of the totals; the
 * totals count rows actually deleted (dry runs left out).  SQLite queues
 * the audit rows of bare writes and inserts AUDIT_BATCH per statement;
 * here each row is one INSERT in the caller's write, and batching a
 * turn's writes into one round trip is the turn's business (#16). */
#include "store/store_pg_internal.h"

#include <stdlib.h>
#include <string.h>

static const store_pg_stmt ST_AUDIT_ADD = {
    "dc_audit_add",
    "INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, dry_run, rows) "
    "VALUES ($1, $2, $3, $4, $5, $6)",
};
static const store_pg_stmt ST_AUDIT_EACH = {
    "dc_audit_each",
    "SELECT id, at_ms, guild_id, discord_id, reason, dry_run, rows FROM cleaner_audit "
    "WHERE at_ms >= $1 ORDER BY id",
};
static const store_pg_stmt ST_AUDIT_PRUNE = { "dc_audit_prune", "DELETE FROM cleaner_audit WHERE at_ms < $1" };
static const store_pg_stmt ST_AUDIT_BUCKETS = {
    "dc_audit_buckets",
    "SELECT reason, (at_ms - $1::bigint) / $2::bigint AS b, sum(rows)::bigint FROM cleaner_audit "
    "WHERE at_ms >= $1::bigint AND at_ms < $1::bigint + $2::bigint * $3::bigint AND dry_run = 0 "
    "GROUP BY reason, b",
};
static const store_pg_stmt ST_AUDIT_TOTALS = {
    "dc_audit_totals",
    "SELECT reason, sum(rows)::bigint FROM cleaner_audit WHERE at_ms >= $1 AND dry_run = 0 GROUP BY reason",
};

dc_err store_pg_audit_add(store_pg *p, int64_t at_ms, uint64_t guild_id, uint64_t user_id, audit_reason why,
                          int dry_run, int64_t rows)
{
    store_pg_num at, g, u, n;
    const char *params[6] = { store_pg_i64(&at, at_ms), store_pg_i64(&g, (int64_t)guild_id),
                              user_id ? store_pg_i64(&u, (int64_t)user_id) : NULL, audit_reason_name(why),
                              dry_run ? "1" : "0", store_pg_i64(&n, rows) };
    return store_pg_run(p, &ST_AUDIT_ADD, 6, params, NULL, "writing the audit row");
}

static void audit_from_row(const PGresult *r, int i, store_audit_row *a)
{
    int why = store_audit_reason_from_name(PQgetvalue(r, i, 4));
    a->id = store_pg_int(r, i, 0);
    a->at_ms = store_pg_int(r, i, 1);
    a->guild_id = (uint64_t)store_pg_int(r, i, 2);
    a->discord_id = (uint64_t)store_pg_int(r, i, 3);     /* NULL reads as 0 */
    a->reason = why < 0 ? AUDIT_MEMBER_REMOVE : (audit_reason)why;
    a->dry_run = (int)store_pg_int(r, i, 5);
    a->rows = store_pg_int(r, i, 6);
}

dc_err store_pg_each_audit(store *base, int64_t since_ms, store_audit_fn fn, void *ctx)
{
    store_pg_num since;
    const char *param = store_pg_i64(&since, since_ms);
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_AUDIT_EACH, 1, &param, &r, "reading the audit");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        store_audit_row a;
        audit_from_row(r, i, &a);
        if (fn(ctx, &a) != 0)
            break;
    }
    PQclear(r);
    return rc;
}

dc_err store_pg_audit_prune(store *base, int64_t older_than_ms, int64_t *pruned)
{
    store_pg_num older;
    const char *param = store_pg_i64(&older, older_than_ms);
    PGresult *r = NULL;
    dc_err rc = store_pg_write(store_pg_of(base), &ST_AUDIT_PRUNE, 1, &param, &r, "pruning the audit");
    if (pruned)
        *pruned = rc == DC_OK ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return rc;
}

/* Rows actually deleted per reason since since_ms; dry runs are left out. */
dc_err store_pg_audit_totals(store *base, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT])
{
    store_pg_num since;
    const char *param = store_pg_i64(&since, since_ms);
    PGresult *r = NULL;
    memset(totals, 0, AUDIT_REASON_COUNT * sizeof totals[0]);
    dc_err rc = store_pg_run(store_pg_of(base), &ST_AUDIT_TOTALS, 1, &param, &r, "summing the audit");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        int why = store_audit_reason_from_name(PQgetvalue(r, i, 0));
        if (why >= 0)
            totals[why] = store_pg_int(r, i, 1);
    }
    PQclear(r);
    return rc;
}

/* Rows deleted per reason and bucket (store.h); dry runs are left out. */
dc_err store_pg_audit_buckets(store *base, int64_t since_ms, int64_t bucket_ms, int n, int64_t *out)
{
    store_pg_num since, width, count;
    const char *params[3] = { store_pg_i64(&since, since_ms), store_pg_i64(&width, bucket_ms),
                              store_pg_i64(&count, n) };
    PGresult *r = NULL;
    memset(out, 0, (size_t)n * AUDIT_REASON_COUNT * sizeof out[0]);
    dc_err rc = store_pg_run(store_pg_of(base), &ST_AUDIT_BUCKETS, 3, params, &r, "summing the audit by time");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        int why = store_audit_reason_from_name(PQgetvalue(r, i, 0));
        int64_t b = store_pg_int(r, i, 1);
        if (why >= 0 && b >= 0 && b < n)
            out[b * AUDIT_REASON_COUNT + why] = store_pg_int(r, i, 2);
    }
    PQclear(r);
    return rc;
}
