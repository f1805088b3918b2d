/* store_grace.c - the grace period's store calls (store_grace.h): the
 * checks that do not depend on a backend, then the backend's operation.
 * store_grace_expire opens a transaction of its own when the caller has
 * none, so that the record and the rows always go together. */
#include "store/store_backend_internal.h"

#include <stdio.h>

static dc_err need(store *s, int ok, const char *what)
{
    if (ok)
        return DC_OK;
    snprintf(s->errmsg, sizeof s->errmsg, "%s", what);
    return DC_ERR_USAGE;
}

dc_err store_grace_mark(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                        int64_t now_ms, int64_t due_ms)
{
    dc_err e = need(s, guild_id && (int)why >= 0 && why < AUDIT_GRACE_EXPIRED && due_ms >= now_ms,
                    "a pending departure needs a guild, a departure's reason and a due time");
    return e != DC_OK ? e : s->be->grace_mark(s, guild_id, user_id, why, now_ms, due_ms);
}

dc_err store_grace_cancel(store *s, uint64_t guild_id, uint64_t user_id, int64_t *n)
{
    if (n)
        *n = 0;
    dc_err e = need(s, guild_id != 0, "cancelling a pending departure needs a guild");
    return e != DC_OK ? e : s->be->grace_cancel(s, guild_id, user_id, n);
}

dc_err store_grace_each(store *s, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx)
{
    dc_err e = need(s, fn && limit >= 0, "store_grace_each needs a callback");
    return e != DC_OK ? e : s->be->grace_each(s, due_by_ms, limit, fn, ctx);
}

dc_err store_grace_count(store *s, uint64_t guild_id, int64_t *n, int64_t *next_due_ms)
{
    int64_t dn, dd;
    *(n ? n : &dn) = 0;
    *(next_due_ms ? next_due_ms : &dd) = 0;
    return s->be->grace_count(s, guild_id, n ? n : &dn, next_due_ms ? next_due_ms : &dd);
}

dc_err store_grace_expire(store *s, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                          int *expired, int64_t *rows)
{
    int dx;
    int64_t dr;
    *(expired ? expired : &dx) = 0;
    *(rows ? rows : &dr) = 0;
    dc_err e = need(s, guild_id != 0, "expiring a pending departure needs a guild");
    if (e != DC_OK)
        return e;
    int own = !store_in_transaction(s);
    if (own && (e = store_begin(s)) != DC_OK)
        return e;
    e = s->be->grace_expire(s, guild_id, user_id, now_ms, expired ? expired : &dx, rows ? rows : &dr);
    if (!own)
        return e;
    if (e == DC_OK && (e = store_commit(s)) == DC_OK)
        return DC_OK;
    store_rollback(s);
    *(expired ? expired : &dx) = 0;
    *(rows ? rows : &dr) = 0;
    return e;
}

dc_err store_grace_mark_stale(store *s, uint64_t guild_id, int64_t now_ms, int64_t due_ms, int64_t *marked)
{
    int64_t dm;
    *(marked ? marked : &dm) = 0;
    dc_err e = need(s, guild_id && due_ms >= now_ms, "marking a sweep's stale rows needs a guild and a due time");
    return e != DC_OK ? e : s->be->grace_mark_stale(s, guild_id, now_ms, due_ms, marked ? marked : &dm);
}
