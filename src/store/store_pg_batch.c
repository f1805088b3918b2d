/* store_pg_batch.c - the PostgreSQL backend's batched member delete (issue
 * #16): in the daemon's turn, the departures of a run of
 * GUILD_MEMBER_REMOVEs go to the server as ONE statement, not one round
 * trip per member.
 *
 * store_pg_batch_add queues a member (guild, user, audit reason, dry run,
 * time) into five array literals; store_pg_batch_flush sends them, in the
 * pipeline, as one data-modifying CTE over unnest(...) WITH ORDINALITY.
 * A long turn's batch goes out every STORE_PG_BATCH_SEND members, handed
 * to the server at once (store_pg_push, never a wait): the server deletes
 * while the daemon parses the rest of the turn, instead of starting at the
 * COMMIT (make bench, replay on PostgreSQL: the server's share is most of
 * the time).  Same transaction, same pipeline: a failed batch aborts it and
 * the COMMIT answers ROLLBACK, as before.  The statement:
 * each table's rows of those members deleted (a dry run counts them
 * instead), and one multi-row INSERT into cleaner_audit with every member's
 * own row count, reason and dry run -- the audit rows SQLite writes, one
 * per call.  A member queued twice is deleted once: its first call gets the
 * rows, as on SQLite.  The statement returns (member, rows); the rows reach
 * the commit's outcome (store_outcome_members), because the daemon learns
 * them only there.
 *
 * The statement is built once at open from fixed text, each id column's
 * kind (store_pg_types.c) as a fixed type name (bigint, numeric, text) and
 * the catalogue's names quoted (store_pg_clean.c): nothing of it comes from
 * input.  Its table list holds users, then each clean table (one DELETE and
 * one dry-run count each). */
#include "store/store_pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/vec.h"

enum { B_GUILD, B_USER, B_REASON, B_DRY, B_AT, B_ARRAYS };

/* A kind's fixed type name, for the casts of the statement. */
static const char *kind_type(store_pg_id_kind k)
{
    return k == STORE_PG_ID_NUMERIC ? "numeric" : k == STORE_PG_ID_TEXT ? "text" : "bigint";
}

static void put_name(char *dst, size_t cap, const char *quoted)
{
    snprintf(dst, cap, "%s", quoted);
}

void store_pg_batch_table_set(store_pg_batch_table *t, const char *table, const char *user_col,
                              const char *guild_col, store_pg_id_kind user_kind, store_pg_id_kind guild_kind)
{
    put_name(t->table, sizeof t->table, table);
    put_name(t->user_col, sizeof t->user_col, user_col);
    put_name(t->guild_col, sizeof t->guild_col, guild_col);
    t->user_type = kind_type(user_kind);
    t->guild_type = kind_type(guild_kind);
}

/* Appends fmt to the growing text *buf (length *len, capacity *cap). */
static int put(char **buf, size_t *len, size_t *cap, const char *text)
{
    size_t n = strlen(text);
    if (VEC_GROW(*buf, *cap, *len + n + 1, 256) != 0)
        return -1;
    memcpy(*buf + *len, text, n + 1);
    *len += n;
    return 0;
}

/* One table's DELETE of the members (d<j>) and its dry-run count (c<j>). */
static int put_table(char **sql, size_t *len, size_t *cap, const store_pg_batch_table *t, size_t j)
{
    char part[1200];
    snprintf(part, sizeof part,
             ", d%zu AS (DELETE FROM %s x USING k WHERE x.%s = k.g::%s AND x.%s = k.d::%s RETURNING k.i)"
             ", c%zu AS (SELECT m.i, count(*) AS n FROM m JOIN %s x ON x.%s = m.g::%s AND x.%s = m.d::%s "
             "WHERE m.dry = 1 GROUP BY m.i)",
             j, t->table, t->guild_col, t->guild_type, t->user_col, t->user_type,
             j, t->table, t->guild_col, t->guild_type, t->user_col, t->user_type);
    return put(sql, len, cap, part);
}

static int build(store_pg *p)
{
    char *sql = NULL, part[200];
    size_t len = 0, cap = 0;
    int bad = put(&sql, &len, &cap,
                  "WITH m AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::int[], "
                  "$5::bigint[]) WITH ORDINALITY AS m(g, d, reason, dry, at_ms, i)), "
                  "k AS (SELECT g, d, min(i) AS i FROM m WHERE dry = 0 GROUP BY g, d)");
    for (size_t j = 0; !bad && j < p->n_batch_tables; j++)
        bad = put_table(&sql, &len, &cap, &p->batch_tables[j], j);
    for (size_t j = 0; !bad && j < p->n_batch_tables; j++) {
        snprintf(part, sizeof part, "%s SELECT i, count(*) AS n FROM d%zu GROUP BY i UNION ALL SELECT i, n FROM c%zu",
                 j ? " UNION ALL" : ", per AS (", j, j);
        bad = put(&sql, &len, &cap, part);
    }
    bad = bad || put(&sql, &len, &cap,
                     "), ps AS (SELECT i, sum(n) AS n FROM per GROUP BY i), "
                     "tot AS (SELECT m.*, COALESCE(ps.n, 0)::bigint AS n FROM m LEFT JOIN ps USING (i)), "
                     "aud AS (INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, dry_run, rows) "
                     "SELECT at_ms, g, d, reason, dry, n FROM tot ORDER BY i) "
                     "SELECT i, n FROM tot ORDER BY i");
    if (bad) {
        free(sql);
        return -1;
    }
    free(p->batch_sql);
    p->batch_sql = sql;
    p->batch_st = (store_pg_stmt){ "dc_delete_batch", sql };
    return 0;
}

dc_err store_pg_batch_open(store_pg *p)
{
    if (p->head.read_only)
        return DC_OK;
    store_pg_batch_table_set(&p->batch_tables[0], "\"users\"", "\"discord_id\"", "\"guild_id\"", p->id_kind,
                             p->guild_kind);
    p->n_batch_tables = 1 + p->n_clean;      /* the clean tables' entries: store_pg_clean.c */
    if (build(p) != 0) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "out of memory building the batched delete");
        return DC_ERR_NOMEM;
    }
    return DC_OK;
}

/* ---- the queue ------------------------------------------------------------ */

static int add_value(store_pg_batch *b, int which, const char *v)
{
    const char *sep = b->len[which] ? "," : "{";
    return put(&b->arr[which], &b->len[which], &b->cap[which], sep) ||
           put(&b->arr[which], &b->len[which], &b->cap[which], v);
}

dc_err store_pg_batch_add(store_pg *p, uint64_t guild_id, uint64_t user_id, audit_reason why, int dry_run,
                          int64_t at_ms)
{
    store_pg_batch *b = &p->batch;
    store_pg_num g, u, at;
    if (VEC_GROW(b->meta, b->cap_meta, b->n + 1, 256) != 0 ||
        add_value(b, B_GUILD, store_pg_u64(&g, guild_id)) || add_value(b, B_USER, store_pg_u64(&u, user_id)) ||
        add_value(b, B_REASON, audit_reason_name(why)) || add_value(b, B_DRY, dry_run ? "1" : "0") ||
        add_value(b, B_AT, store_pg_i64(&at, at_ms))) {
        store_pg_batch_clear(p);     /* a half-added member: the turn is redone */
        p->tx_broken = 1;
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "out of memory queueing a delete");
        return DC_ERR_NOMEM;
    }
    b->meta[b->n++] = (unsigned char)((unsigned)why | (dry_run ? 0x80u : 0u));
    if (b->n < STORE_PG_BATCH_SEND)
        return DC_OK;
    dc_err rc = store_pg_batch_flush(p);
    return rc == DC_OK ? store_pg_push(p) : rc;
}

void store_pg_batch_clear(store_pg *p)
{
    store_pg_batch *b = &p->batch;
    store_pg_grace_clear(p);         /* #17: the turn's queued pending marks go with it */
    for (int i = 0; i < B_ARRAYS; i++)
        b->len[i] = 0;
    b->n = 0;
}

dc_err store_pg_batch_flush(store_pg *p)
{
    store_pg_batch *b = &p->batch;
    dc_err grc = store_pg_grace_flush(p);   /* #17: queued pending marks first */
    if (grc != DC_OK || !b->n)
        return grc;
    const char *params[B_ARRAYS];
    for (int i = 0; i < B_ARRAYS; i++) {
        if (put(&b->arr[i], &b->len[i], &b->cap[i], "}") != 0) {
            store_pg_batch_clear(p);
            p->tx_broken = 1;
            return DC_ERR_NOMEM;
        }
        params[i] = b->arr[i];
    }
    unsigned char *meta = b->meta;   /* handed to the expectation, which frees it */
    size_t n = b->n;
    b->meta = NULL;
    b->cap_meta = 0;
    store_pg_batch_clear(p);
    return store_pg_send_batch(p, params, meta, n);
}

void store_pg_batch_result(store_pg *p, const store_pg_expect *e, const PGresult *r)
{
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t i = store_pg_int(r, row, 0);
        if (i < 1 || (size_t)i > e->n_meta)
            continue;
        unsigned m = e->meta[i - 1];
        store_members_add(&p->acc, (audit_reason)(m & 0x7fu), (m & 0x80u) != 0, store_pg_int(r, row, 1));
    }
}

void store_pg_batch_free(store_pg *p)
{
    store_pg_batch *b = &p->batch;
    store_pg_grace_free(p);
    for (int i = 0; i < B_ARRAYS; i++)
        free(b->arr[i]);
    free(b->meta);
    free(p->batch_sql);
    memset(b, 0, sizeof *b);
    p->batch_sql = NULL;
}

dc_err store_pg_delete_member_queued(store *base, uint64_t guild_id, uint64_t user_id, audit_reason why,
                                     int dry_run, int64_t now_ms, int64_t *rows)
{
    store_pg *p = store_pg_of(base);
    if (!store_pg_queueing(p) || !p->batch_sql)
        return store_pg_delete_member(base, guild_id, user_id, why, dry_run, now_ms, rows);
    if (!guild_id || !user_id) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "delete needs a guild id and a user id");
        return DC_ERR_USAGE;
    }
    dc_err rc = store_pg_batch_add(p, guild_id, user_id, why, dry_run, now_ms);
    if (rows)
        *rows = rc == DC_OK ? -1 : 0;
    return rc;
}
