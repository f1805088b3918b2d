/* store_pg_todo.c - the PostgreSQL backend's operations not written yet
 * (issue #16 is built in steps): each one refuses with a message naming
 * itself.  An operation moves out of here into the file of its group when
 * it is written; this file goes when it is empty.  While it exists the
 * backend is not selected by store_backend_for outside the tests. */
#include "store/store_pg_internal.h"

#include <stdio.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

static dc_err todo(store *s, const char *op)
{
    snprintf(s->errmsg, sizeof s->errmsg, "%s: not yet on PostgreSQL", op);
    return DC_ERR_USAGE;
}

dc_err store_pg_seed_sql(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen)
{
    snprintf(err, errlen, "seed_sql: not yet on PostgreSQL");
    return DC_ERR_USAGE;
}

dc_err store_pg_delete_member(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why, int dry_run, int64_t now_ms, int64_t *rows)
{
    return todo(s, "delete_member");
}

dc_err store_pg_delete_guild(store *s, uint64_t guild_id, audit_reason why, int dry_run, int64_t now_ms, int64_t *rows)
{
    return todo(s, "delete_guild");
}

dc_err store_pg_delete_guild_slice(store *s, uint64_t guild_id, int limit, int64_t *rows, int *more)
{
    return todo(s, "delete_guild_slice");
}

dc_err store_pg_audit_guild_delete(store *s, uint64_t guild_id, audit_reason why, int64_t at_ms, int64_t rows)
{
    return todo(s, "audit_guild_delete");
}

dc_err store_pg_count_guild(store *s, uint64_t guild_id, int64_t *rows)
{
    return todo(s, "count_guild");
}

dc_err store_pg_count_unassigned(store *s, int64_t *rows)
{
    return todo(s, "count_unassigned");
}

dc_err store_pg_adopt_unassigned(store *s, uint64_t guild_id, int64_t *rows)
{
    return todo(s, "adopt_unassigned");
}

dc_err store_pg_each_user_guild(store *s, store_guild_fn fn, void *ctx)
{
    return todo(s, "each_user_guild");
}

dc_err store_pg_each_stored_guild(store *s, store_guild_id_fn fn, void *ctx)
{
    return todo(s, "each_stored_guild");
}

dc_err store_pg_sweep_open(store *s, uint64_t guild_id)
{
    return todo(s, "sweep_open");
}

dc_err store_pg_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added)
{
    return todo(s, "sweep_add");
}

dc_err store_pg_sweep_scan(store *s, uint64_t guild_id, int window, int64_t *cursor, int *more, store_scan_fn fn, void *ctx)
{
    return todo(s, "sweep_scan");
}

dc_err store_pg_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int window, int64_t now_ms, int64_t *cursor, int64_t *users, int *more)
{
    return todo(s, "sweep_delete_batch");
}

dc_err store_pg_sweep_close(store *s, uint64_t guild_id)
{
    return todo(s, "sweep_close");
}

dc_err store_pg_sweep_clear_step(store *s, int limit, int *more)
{
    return todo(s, "sweep_clear_step");
}

