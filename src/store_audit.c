/* store_audit.c - the cleaner_audit table: one row per delete or dry run. */
#include "store_int.h"

#include <string.h>
#include "sqlutil.h"

dc_err store_audit_add(store *s, int64_t at_ms, uint64_t guild_id, uint64_t user_id,
                       audit_reason why, int dry_run, int64_t rows)
{
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_ADD);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, at_ms);
    sqlite3_bind_int64(st, 2, (int64_t)guild_id);
    sqlu_bind_id_or_null(st, 3, user_id);
    sqlite3_bind_text(st, 4, audit_reason_name(why), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, dry_run ? 1 : 0);
    sqlite3_bind_int64(st, 6, rows);
    return store_step_done(s, st, "writing the audit row");
}

/* -1 for a name this build does not know. */
static int reason_from_name(const char *name)
{
    for (int r = AUDIT_MEMBER_REMOVE; r <= AUDIT_SWEEP; r++)
        if (name && strcmp(name, audit_reason_name((audit_reason)r)) == 0)
            return r;
    return -1;
}

static void audit_from_row(sqlite3_stmt *st, store_audit_row *a)
{
    int r = reason_from_name((const char *)sqlite3_column_text(st, 4));
    a->id = sqlite3_column_int64(st, 0);
    a->at_ms = sqlite3_column_int64(st, 1);
    a->guild_id = (uint64_t)sqlite3_column_int64(st, 2);
    a->discord_id = (uint64_t)sqlite3_column_int64(st, 3);   /* NULL reads as 0 */
    a->reason = r < 0 ? AUDIT_MEMBER_REMOVE : (audit_reason)r;
    a->dry_run = sqlite3_column_int(st, 5);
    a->rows = sqlite3_column_int64(st, 6);
}

dc_err store_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_EACH);
    int rc;
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, since_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_audit_row a;
        audit_from_row(st, &a);
        if (fn(ctx, &a) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_fail(s, rc, "reading the audit");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

dc_err store_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned)
{
    store_op_mode mode;
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_PRUNE);
    dc_err rc = st ? store_op_begin(s, &mode) : DC_ERR_DB;
    if (rc != DC_OK)
        return rc;
    sqlite3_bind_int64(st, 1, older_than_ms);
    rc = store_step_done(s, st, "pruning the audit");
    int64_t n = rc == DC_OK ? sqlite3_changes64(s->db) : 0;
    rc = store_op_end(s, mode, rc);
    if (pruned)
        *pruned = rc == DC_OK ? n : 0;
    return rc;
}

/* Rows actually deleted per reason since since_ms; dry runs are left out. */
dc_err store_audit_totals(store *s, int64_t since_ms, int64_t totals[4])
{
    sqlite3_stmt *st = store_stmt(s, ST_AUDIT_TOTALS);
    int rc;
    memset(totals, 0, 4 * sizeof totals[0]);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, since_ms);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int r = reason_from_name((const char *)sqlite3_column_text(st, 0));
        if (r >= 0)
            totals[r] = sqlite3_column_int64(st, 1);
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_fail(s, rc, "summing the audit");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}
