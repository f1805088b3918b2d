/* store_sqlite_state.c - per-guild state and the key/value session state. */
#include "store/store_sqlite_internal.h"

#include <stdio.h>
#include <string.h>
#include "store/sqlutil.h"

/* Run one of the upsert/delete statements atomically (store_sqlite_internal.h). */
dc_err store_sqlite_write_stmt(store_sqlite *s, sqlite3_stmt *st, const char *what)
{
    store_op_mode mode;
    dc_err rc = store_sqlite_op_begin(s, &mode);
    if (rc != DC_OK) {
        if (st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        return rc;
    }
    return store_sqlite_op_end(s, mode, st ? store_sqlite_step_done(s, st, what) : DC_ERR_DB);
}

dc_err store_sqlite_guild_seen(store *base, uint64_t guild_id, int shard_id, int64_t now_ms)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_SEEN);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
        sqlite3_bind_int(st, 2, shard_id);
        sqlite3_bind_int64(st, 3, now_ms);
    }
    return store_sqlite_write_stmt(s, st, "recording a guild");
}

static dc_err set_flag(store_sqlite *s, store_stmt_id id, uint64_t guild_id, int value)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, id);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
        sqlite3_bind_int(st, 2, value ? 1 : 0);
    }
    return store_sqlite_write_stmt(s, st, "updating guild state");
}

dc_err store_sqlite_guild_set_unavailable(store *base, uint64_t guild_id, int unavailable)
{
    store_sqlite *s = store_sqlite_of(base);
    return set_flag(s, ST_GUILD_UNAVAIL, guild_id, unavailable);
}

dc_err store_sqlite_guild_set_needs_reconcile(store *base, uint64_t guild_id, int needs)
{
    store_sqlite *s = store_sqlite_of(base);
    return set_flag(s, ST_GUILD_RECONCILE, guild_id, needs);
}

dc_err store_sqlite_guild_set_last_sweep(store *base, uint64_t guild_id, int64_t when_ms,
                                         int64_t removed, int64_t duration_ms, const char *result)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_SWEEP);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
        sqlite3_bind_int64(st, 2, when_ms);
        sqlite3_bind_int64(st, 3, removed);
        sqlite3_bind_int64(st, 4, duration_ms);
        sqlite3_bind_text(st, 5, result ? result : "", -1, SQLITE_TRANSIENT);
    }
    return store_sqlite_write_stmt(s, st, "recording a sweep");
}

dc_err store_sqlite_guild_forget(store *base, uint64_t guild_id)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_FORGET);
    if (st)
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    return store_sqlite_write_stmt(s, st, "forgetting a guild");
}

static void guild_from_row(sqlite3_stmt *st, store_guild_state *g)
{
    const unsigned char *result = sqlite3_column_text(st, 8);
    memset(g, 0, sizeof *g);
    g->guild_id = (uint64_t)sqlite3_column_int64(st, 0);
    g->shard_id = sqlite3_column_int(st, 1);
    g->last_seen_ms = sqlite3_column_int64(st, 2);
    g->unavailable = sqlite3_column_int(st, 3);
    g->needs_reconcile = sqlite3_column_int(st, 4);
    g->last_sweep_ms = sqlite3_column_int64(st, 5);
    g->last_sweep_removed = sqlite3_column_int64(st, 6);
    g->last_sweep_duration_ms = sqlite3_column_int64(st, 7);
    store_copy_whole(g->last_sweep_result, sizeof g->last_sweep_result, result ? (const char *)result : "");
}

dc_err store_sqlite_guild_set_name(store *base, uint64_t guild_id, const char *name)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->head.schema_version < 5)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_NAME_SET);
    if (st) {
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
        sqlite3_bind_text(st, 2, name ? name : "", -1, SQLITE_TRANSIENT);
    }
    return store_sqlite_write_stmt(s, st, "recording a guild's name");
}

dc_err store_sqlite_guild_get_name(store *base, uint64_t guild_id, char *buf, size_t cap)
{
    store_sqlite *s = store_sqlite_of(base);
    if (cap)
        buf[0] = '\0';
    if (s->head.schema_version < 5)
        return DC_ERR_SCHEMA;        /* not migrated yet: no names, no error lines */
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_NAME_GET);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? (buf[0] ? DC_OK : DC_ERR_NOTFOUND) : DC_ERR_DB;
}

dc_err store_sqlite_each_guild_name(store *base, store_guild_name_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->head.schema_version < 5)
        return DC_ERR_SCHEMA;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_GUILD_NAME_EACH);
    if (!st)
        return DC_ERR_DB;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, (uint64_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1)))
            break;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading the guilds' names");
}

/* guild_id 0 = every guild. */
static dc_err each_guild(store_sqlite *s, uint64_t guild_id, store_guild_state_fn fn, void *ctx)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, guild_id ? ST_GUILD_GET : ST_GUILD_EACH);
    int rc, found = 0;
    if (!st)
        return DC_ERR_DB;
    if (guild_id)
        sqlite3_bind_int64(st, 1, (int64_t)guild_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_guild_state g;
        guild_from_row(st, &g);
        found = 1;
        if (fn(ctx, &g) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading guild state");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e == DC_OK && guild_id && !found ? DC_ERR_NOTFOUND : e;
}

static int copy_one(void *ctx, const store_guild_state *g)
{
    *(store_guild_state *)ctx = *g;
    return 1;
}

dc_err store_sqlite_guild_get(store *base, uint64_t guild_id, store_guild_state *out)
{
    store_sqlite *s = store_sqlite_of(base);
    if (!guild_id)
        return DC_ERR_NOTFOUND;
    return each_guild(s, guild_id, copy_one, out);
}

dc_err store_sqlite_each_guild_state(store *base, store_guild_state_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    return each_guild(s, 0, fn, ctx);
}

/* ---- key/value ------------------------------------------------------------ */

dc_err store_sqlite_kv_get(store *base, const char *key, char *value, size_t cap)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_KV_GET);
    if (!st)
        return DC_ERR_DB;
    if (!key || !value || cap == 0)
        return DC_ERR_USAGE;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    dc_err e = DC_OK;
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(value, cap, "%s", v ? (const char *)v : "");
    } else {
        e = rc == SQLITE_DONE ? DC_ERR_NOTFOUND : store_sqlite_fail(s, rc, "reading session state");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

dc_err store_sqlite_kv_set(store *base, const char *key, const char *value)
{
    store_sqlite *s = store_sqlite_of(base);
    if (!key || !value)
        return DC_ERR_USAGE;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_KV_SET);
    if (st) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    }
    return store_sqlite_write_stmt(s, st, "writing session state");
}

dc_err store_sqlite_kv_del(store *base, const char *key)
{
    store_sqlite *s = store_sqlite_of(base);
    if (!key)
        return DC_ERR_USAGE;
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_KV_DEL);
    if (st)
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    return store_sqlite_write_stmt(s, st, "deleting session state");
}

dc_err store_sqlite_each_kv(store *base, store_kv_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_KV_EACH);
    int rc;
    if (!st)
        return DC_ERR_DB;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        const char *v = (const char *)sqlite3_column_text(st, 1);
        if (fn(ctx, k ? k : "", v ? v : "") != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    dc_err e = rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading session state");
    sqlite3_reset(st);
    return e;
}
