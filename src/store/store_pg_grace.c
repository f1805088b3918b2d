/* store_pg_grace.c - pending departures on PostgreSQL (store_grace.h, #17;
 * table cleaner_grace of schema/pg/0009), with the meaning of
 * store_sqlite_grace.c.
 *
 * In the daemon's turn (bare writes on) marks are queued into five array
 * literals and go to the server as ONE statement (INSERT ... SELECT FROM
 * unnest(...)), like the batched member delete of store_pg_batch.c, whose
 * flush sends them first; a cancel is sent down the turn's pipeline
 * without waiting for its answer.  A burst of departures costs neither a
 * round trip nor a statement per member.
 * The expiry takes the record with DELETE ... RETURNING: a second process
 * expiring the same record waits on its row lock and then finds nothing,
 * so the rows go once and only once. */
#include "store/store_pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"

static const store_pg_stmt ST_MARK = {
    "dc_grace_mark",
    "INSERT INTO cleaner_grace (guild_id, discord_id, reason, marked_ms, due_ms) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (guild_id, discord_id) DO NOTHING",
};
static const store_pg_stmt ST_CANCEL = {
    "dc_grace_cancel", "DELETE FROM cleaner_grace WHERE guild_id = $1 AND discord_id = $2",
};
static const store_pg_stmt ST_EACH = {
    "dc_grace_each",
    "SELECT guild_id, discord_id, reason, marked_ms, due_ms FROM cleaner_grace WHERE due_ms <= $1 "
    "ORDER BY due_ms, guild_id, discord_id LIMIT $2",
};
static const store_pg_stmt ST_COUNT = {
    "dc_grace_count",
    "SELECT count(*), coalesce(min(due_ms), 0) FROM cleaner_grace WHERE $1::bigint = 0 OR guild_id = $1",
};
static const store_pg_stmt ST_TAKE = {
    "dc_grace_take",
    "DELETE FROM cleaner_grace WHERE guild_id = $1 AND discord_id = $2 AND due_ms <= $3 RETURNING reason",
};
static const store_pg_stmt ST_DROP_GUILD = { "dc_grace_drop_guild", "DELETE FROM cleaner_grace WHERE guild_id = $1" };
static const store_pg_stmt ST_ORIGIN = {
    "dc_grace_origin",
    "UPDATE cleaner_audit SET origin = $3 WHERE id = (SELECT max(id) FROM cleaner_audit WHERE guild_id = $1 "
    "AND coalesce(discord_id, 0) = $2 AND reason = 'grace_expired' AND origin IS NULL)",
};
#define STALE_HEAD "INSERT INTO cleaner_grace (guild_id, discord_id, reason, marked_ms, due_ms) " \
                   "SELECT DISTINCT $1::bigint, u.discord_id::bigint, 'sweep', $2::bigint, $3::bigint FROM users AS u " \
                   "WHERE u.guild_id = $1 AND NOT EXISTS (SELECT 1 FROM pg_temp.cleaner_sweep_members AS m " \
                   "WHERE m.guild_id = $1 AND m.user_id = u.discord_id) "
#define STALE_TAIL "ON CONFLICT (guild_id, discord_id) DO NOTHING"
static const store_pg_stmt ST_STALE[STORE_PG_ID_KINDS] = {
    { "dc_grace_stale_bigint", STALE_HEAD "AND u.discord_id > 0 " STALE_TAIL },
    { "dc_grace_stale_numeric", STALE_HEAD "AND u.discord_id > 0 AND u.discord_id = trunc(u.discord_id) " STALE_TAIL },
    { "dc_grace_stale_text", STALE_HEAD "AND u.discord_id ~ " STORE_PG_CANONICAL_RE " AND u.discord_id <> '0' "
                             STALE_TAIL },
};

static const store_pg_stmt ST_MARK_MANY = {
    "dc_grace_mark_many",
    "INSERT INTO cleaner_grace (guild_id, discord_id, reason, marked_ms, due_ms) "
    "SELECT g, u, r, m, d FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[]) "
    "AS t(g, u, r, m, d) ON CONFLICT (guild_id, discord_id) DO NOTHING",
};

/* ---- the turn's queue of marks --------------------------------------------------- */

enum { Q_GUILD, Q_USER, Q_REASON, Q_MARKED, Q_DUE, Q_ARRAYS };
#define GRACE_Q_MAX 4096                 /* marks per statement */

struct store_pg_grace_q {
    char *arr[Q_ARRAYS];
    size_t len[Q_ARRAYS], cap[Q_ARRAYS];
    size_t n;
};

static int q_put(struct store_pg_grace_q *q, int which, const char *v)
{
    size_t n = strlen(v), need = q->len[which] + n + 3;
    if (VEC_GROW(q->arr[which], q->cap[which], need, 1024) != 0)
        return -1;
    char sep = q->len[which] ? ',' : '{';
    q->arr[which][q->len[which]++] = sep;
    memcpy(q->arr[which] + q->len[which], v, n + 1);
    q->len[which] += n;
    return 0;
}

void store_pg_grace_clear(store_pg *p)
{
    if (!p->grace_q)
        return;
    memset(p->grace_q->len, 0, sizeof p->grace_q->len);
    p->grace_q->n = 0;
}

void store_pg_grace_free(store_pg *p)
{
    if (!p->grace_q)
        return;
    for (int i = 0; i < Q_ARRAYS; i++)
        free(p->grace_q->arr[i]);
    free(p->grace_q);
    p->grace_q = NULL;
}

dc_err store_pg_grace_flush(store_pg *p)
{
    struct store_pg_grace_q *q = p->grace_q;
    if (!q || !q->n)
        return DC_OK;
    const char *params[Q_ARRAYS];
    for (int i = 0; i < Q_ARRAYS; i++) {
        q->arr[i][q->len[i]++] = '}';     /* q_put left room */
        q->arr[i][q->len[i]] = '\0';
        params[i] = q->arr[i];
    }
    q->n = 0;                            /* sent below: store_pg_send flushes the member batch first */
    dc_err rc = store_pg_send(p, &ST_MARK_MANY, Q_ARRAYS, params, "recording pending departures");
    memset(q->len, 0, sizeof q->len);
    return rc;
}

/* A mark queued in the turn; a half-queued one breaks the turn (redone). */
static dc_err enqueue(store_pg *p, const char *const *v)
{
    if (!p->grace_q && !(p->grace_q = calloc(1, sizeof *p->grace_q)))
        return DC_ERR_NOMEM;
    for (int i = 0; i < Q_ARRAYS; i++)
        if (q_put(p->grace_q, i, v[i]) != 0) {
            store_pg_grace_clear(p);
            p->tx_broken = 1;
            snprintf(p->head.errmsg, sizeof p->head.errmsg, "out of memory queueing a pending departure");
            return DC_ERR_NOMEM;
        }
    return ++p->grace_q->n >= GRACE_Q_MAX ? store_pg_grace_flush(p) : DC_OK;
}

dc_err store_pg_grace_mark(store *base, uint64_t guild_id, uint64_t user_id, audit_reason why,
                           int64_t now_ms, int64_t due_ms)
{
    store_pg_num g, u, m, d;
    const char *params[5] = { store_pg_u64(&g, guild_id), store_pg_u64(&u, user_id), audit_reason_name(why),
                              store_pg_i64(&m, now_ms), store_pg_i64(&d, due_ms) };
    store_pg *p = store_pg_of(base);
    if (store_pg_queueing(p))
        return enqueue(p, params);
    return store_pg_write(p, &ST_MARK, 5, params, NULL, "recording a pending departure");
}

dc_err store_pg_grace_cancel(store *base, uint64_t guild_id, uint64_t user_id, int64_t *n)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g, u;
    const char *params[2] = { store_pg_u64(&g, guild_id), store_pg_u64(&u, user_id) };
    int queued = store_pg_queueing(p);
    PGresult *r = NULL;
    dc_err rc = store_pg_write(p, &ST_CANCEL, 2, params, queued ? NULL : &r, "cancelling a pending departure");
    if (n)
        *n = rc != DC_OK ? 0 : queued ? -1 : (int64_t)atoll(PQcmdTuples(r));
    PQclear(r);
    return rc;
}

static void row_of(const PGresult *r, int i, store_grace_row *g)
{
    int why = store_audit_reason_from_name(PQgetvalue(r, i, 2));
    g->guild_id = (uint64_t)store_pg_int(r, i, 0);
    g->user_id = (uint64_t)store_pg_int(r, i, 1);
    g->reason = why < 0 ? AUDIT_MEMBER_REMOVE : (audit_reason)why;
    g->marked_ms = store_pg_int(r, i, 3);
    g->due_ms = store_pg_int(r, i, 4);
}

dc_err store_pg_grace_each(store *base, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx)
{
    store_pg_num b, l;
    const char *params[2] = { store_pg_i64(&b, due_by_ms), limit > 0 ? store_pg_i64(&l, limit) : NULL };
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_EACH, 2, params, &r, "reading pending departures");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        store_grace_row g;
        row_of(r, i, &g);
        if (fn(ctx, &g))
            break;
    }
    PQclear(r);
    return rc;
}

dc_err store_pg_grace_count(store *base, uint64_t guild_id, int64_t *n, int64_t *next_due_ms)
{
    store_pg_num g;
    const char *param = store_pg_u64(&g, guild_id);
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_COUNT, 1, &param, &r, "counting pending departures");
    if (rc == DC_OK && PQntuples(r) == 1) {
        *n = store_pg_int(r, 0, 0);
        *next_due_ms = store_pg_int(r, 0, 1);
    }
    PQclear(r);
    return rc;
}

/* A whole guild's record: its rows, the guild's other records and its state. */
static dc_err expire_guild(store_pg *p, const char *const *ids, uint64_t guild_id, int64_t now_ms, int64_t *rows)
{
    dc_err rc = store_pg_delete_guild(&p->head, guild_id, AUDIT_GRACE_EXPIRED, 0, now_ms, rows);
    PGresult *r = NULL;
    if (rc == DC_OK)
        rc = store_pg_run(p, &ST_DROP_GUILD, 1, ids, &r, "dropping a guild's pending departures");
    PQclear(r);
    return rc == DC_OK ? store_pg_guild_forget(&p->head, guild_id) : rc;
}

dc_err store_pg_grace_expire(store *base, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                             int *expired, int64_t *rows)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g, u, t;
    const char *params[3] = { store_pg_u64(&g, guild_id), store_pg_u64(&u, user_id), store_pg_i64(&t, now_ms) };
    store_pg_write_mode mode;
    PGresult *r = NULL;
    int64_t n = 0;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    /* results wanted: every statement here waits for its answer (the turn's pipeline settles first) */
    rc = store_pg_run(p, &ST_TAKE, 3, params, &r, "taking a pending departure");
    int found = rc == DC_OK && PQntuples(r) == 1;
    int why = found ? store_audit_reason_from_name(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    r = NULL;
    if (found)
        rc = user_id ? store_pg_delete_member(base, guild_id, user_id, AUDIT_GRACE_EXPIRED, 0, now_ms, &n)
                     : expire_guild(p, params, guild_id, now_ms, &n);
    if (rc == DC_OK && found) {
        const char *op[3] = { params[0], params[1], audit_reason_name(why < 0 ? AUDIT_MEMBER_REMOVE : (audit_reason)why) };
        rc = store_pg_run(p, &ST_ORIGIN, 3, op, &r, "recording the departure's reason in the audit");
        PQclear(r);
    }
    rc = store_pg_write_end(p, mode, rc);
    *expired = rc == DC_OK && found;
    *rows = rc == DC_OK ? n : 0;
    return rc;
}

dc_err store_pg_grace_mark_stale(store *base, uint64_t guild_id, int64_t now_ms, int64_t due_ms, int64_t *marked)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g, m, d;
    const char *params[3] = { store_pg_u64(&g, guild_id), store_pg_i64(&m, now_ms), store_pg_i64(&d, due_ms) };
    PGresult *r = NULL;
    dc_err rc = store_pg_write(p, &ST_STALE[p->id_kind], 3, params, &r, "recording a sweep's stale rows as pending");
    *marked = rc == DC_OK ? (int64_t)atoll(PQcmdTuples(r)) : 0;
    PQclear(r);
    return rc;
}
