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

dc_err store_pg_guild_seen(store *s, uint64_t guild_id, int shard_id, int64_t now_ms)
{
    return todo(s, "guild_seen");
}

dc_err store_pg_guild_set_unavailable(store *s, uint64_t guild_id, int unavailable)
{
    return todo(s, "guild_set_unavailable");
}

dc_err store_pg_guild_set_needs_reconcile(store *s, uint64_t guild_id, int needs)
{
    return todo(s, "guild_set_needs_reconcile");
}

dc_err store_pg_guild_set_last_sweep(store *s, uint64_t guild_id, int64_t when_ms, int64_t removed, int64_t duration_ms, const char *result)
{
    return todo(s, "guild_set_last_sweep");
}

dc_err store_pg_guild_forget(store *s, uint64_t guild_id)
{
    return todo(s, "guild_forget");
}

dc_err store_pg_guild_set_name(store *s, uint64_t guild_id, const char *name)
{
    return todo(s, "guild_set_name");
}

dc_err store_pg_guild_get_name(store *s, uint64_t guild_id, char *buf, size_t cap)
{
    return todo(s, "guild_get_name");
}

dc_err store_pg_guild_get(store *s, uint64_t guild_id, store_guild_state *out)
{
    return todo(s, "guild_get");
}

dc_err store_pg_each_guild_state(store *s, store_guild_state_fn fn, void *ctx)
{
    return todo(s, "each_guild_state");
}

dc_err store_pg_each_audit(store *s, int64_t since_ms, store_audit_fn fn, void *ctx)
{
    return todo(s, "each_audit");
}

dc_err store_pg_audit_prune(store *s, int64_t older_than_ms, int64_t *pruned)
{
    return todo(s, "audit_prune");
}

dc_err store_pg_audit_totals(store *s, int64_t since_ms, int64_t totals[AUDIT_REASON_COUNT])
{
    return todo(s, "audit_totals");
}

dc_err store_pg_request_add(store *s, const store_request *r, int64_t now_ms, int64_t *id)
{
    return todo(s, "request_add");
}

dc_err store_pg_request_each_open(store *s, int64_t after_id, store_request_fn fn, void *ctx)
{
    return todo(s, "request_each_open");
}

dc_err store_pg_request_answer(store *s, int64_t id, int64_t now_ms, int status, const char *outcome)
{
    return todo(s, "request_answer");
}

dc_err store_pg_request_get(store *s, int64_t id, int *answered, int *status, char **outcome)
{
    return todo(s, "request_get");
}

dc_err store_pg_request_delete(store *s, int64_t id)
{
    return todo(s, "request_delete");
}
