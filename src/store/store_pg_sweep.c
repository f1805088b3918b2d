/* store_pg_sweep.c - the database side of a sweep on PostgreSQL (issue #16;
 * see store_sweep.h, and store_sqlite_sweep.c for the same rules).
 *
 * The members Discord listed go into a TEMP table, pg_temp.cleaner_sweep_
 * members, not an UNLOGGED table of the bot's schema: a set belongs to one
 * sweep of one connection, so a session's own table needs no migration and
 * no DDL in the bot's schema, is invisible to the other processes that run
 * the bot's other shards (no key by process, no clash), is never written to
 * the server's WAL, and goes with the session when a process dies -- no
 * leftovers to clean after a crash.  A reconnect loses it: the sweep's
 * next scan then fails and the sweep aborts, deleting nothing, as a sweep
 * does on incomplete information.  Its user_id has the type of
 * users.discord_id's kind, so the comparison with users is the column's own.
 *
 * sweep_add inserts a whole chunk of ids in one statement (unnest of an
 * array); the scan walks the guild's rows in id order after a cursor, a
 * slice at a time, with "is it listed" for each. */
#include "store/store_pg_internal.h"
#include "store/store_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS "pg_temp.cleaner_sweep_members"
#define TEXT_KEY(col) "length(" col "), " col " COLLATE \"C\""

static const store_pg_stmt ST_SWEEP_CREATE[STORE_PG_ID_KINDS] = {
    { "dc_sweep_create_bigint", "CREATE TEMP TABLE IF NOT EXISTS cleaner_sweep_members (guild_id BIGINT NOT NULL, "
                                "user_id BIGINT NOT NULL, PRIMARY KEY (guild_id, user_id))" },
    { "dc_sweep_create_numeric", "CREATE TEMP TABLE IF NOT EXISTS cleaner_sweep_members (guild_id BIGINT NOT NULL, "
                                 "user_id NUMERIC NOT NULL, PRIMARY KEY (guild_id, user_id))" },
    { "dc_sweep_create_text", "CREATE TEMP TABLE IF NOT EXISTS cleaner_sweep_members (guild_id BIGINT NOT NULL, "
                              "user_id TEXT NOT NULL, PRIMARY KEY (guild_id, user_id))" },
};
static const store_pg_stmt ST_SWEEP_ADD[STORE_PG_ID_KINDS] = {
    { "dc_sweep_add_bigint", "INSERT INTO " MEMBERS " (guild_id, user_id) SELECT $1, unnest($2::bigint[]) "
                             "ON CONFLICT DO NOTHING" },
    { "dc_sweep_add_numeric", "INSERT INTO " MEMBERS " (guild_id, user_id) SELECT $1, unnest($2::numeric[]) "
                              "ON CONFLICT DO NOTHING" },
    { "dc_sweep_add_text", "INSERT INTO " MEMBERS " (guild_id, user_id) SELECT $1, unnest($2::text[]) "
                           "ON CONFLICT DO NOTHING" },
};
static const store_pg_stmt ST_SWEEP_CLEAR = { "dc_sweep_clear", "DELETE FROM " MEMBERS " WHERE guild_id = $1" };
/* The $2 lowest ids of a set (all of it when it has fewer): one bounded
 * statement of store_sweep_clear_step, by row address. */
static const store_pg_stmt ST_SWEEP_CLEAR_SLICE = {
    "dc_sweep_clear_slice",
    "DELETE FROM " MEMBERS " WHERE ctid = ANY (ARRAY (SELECT ctid FROM " MEMBERS " WHERE guild_id = $1 "
    "ORDER BY user_id LIMIT $2))",
};
/* One bounded slice of the guild's rows after the cursor $2, in id order,
 * each with "is it listed" ($4: the guild again, typed for the set).
 * Integer ids only: another value is no member's and no cursor's.
 * "Listed" is a range of one id, not an equality: with `=` the planner may
 * hash the whole set once per statement instead of probing its primary key
 * per row -- and a TEMP table has no statistics (autovacuum never analyses
 * it), so it guesses a small set and does: 0.45 s per slice of 20,000 rows
 * beside 1,000,000 listed members (make bench, 3. sweep on PostgreSQL: 92 s
 * in all, heartbeats seconds late), where the probes take 25 ms. */
#define LISTED "EXISTS (SELECT 1 FROM " MEMBERS " AS m WHERE m.guild_id = $4 " \
               "AND m.user_id >= u.discord_id AND m.user_id <= u.discord_id)"
static const store_pg_stmt ST_SWEEP_SCAN[STORE_PG_ID_KINDS] = {
    { "dc_sweep_scan_bigint",
      "SELECT u.discord_id, " LISTED " FROM users AS u WHERE u.guild_id = $1 AND u.discord_id > $2 "
      "ORDER BY u.discord_id LIMIT $3" },
    { "dc_sweep_scan_numeric",
      "SELECT u.discord_id, " LISTED " FROM users AS u WHERE u.guild_id = $1 AND u.discord_id > $2 "
      "AND u.discord_id = trunc(u.discord_id) ORDER BY u.discord_id LIMIT $3" },
    { "dc_sweep_scan_text",
      "SELECT u.discord_id, " LISTED " FROM users AS u WHERE u.guild_id = $1 "
      "AND u.discord_id ~ " STORE_PG_CANONICAL_RE " "
      "AND (" TEXT_KEY("u.discord_id") ") > (length($2::text), $2::text COLLATE \"C\") "
      "ORDER BY " TEXT_KEY("u.discord_id") " LIMIT $3" },
};

/* A batch's stale users, all at once: their rows in users (users' kind of
 * array), each returned for the audit row's count. */
static const store_pg_stmt ST_DELETE_MEMBERS[STORE_PG_ID_KINDS] = {
    { "dc_sweep_delete_bigint",
      "DELETE FROM users WHERE guild_id = $1 AND discord_id = ANY ($2::bigint[]) RETURNING discord_id" },
    { "dc_sweep_delete_numeric",
      "DELETE FROM users WHERE guild_id = $1 AND discord_id = ANY ($2::numeric[]) RETURNING discord_id" },
    { "dc_sweep_delete_text",
      "DELETE FROM users WHERE guild_id = $1 AND discord_id = ANY ($2::text[]) RETURNING discord_id" },
};

/* One statement as a write of its own (store_pg_write_begin); *changed
 * (may be NULL) receives the rows it touched. */
static dc_err write1(store_pg *p, const store_pg_stmt *st, int n, const char *const *params, int64_t *changed,
                     const char *what)
{
    store_pg_write_mode mode;
    PGresult *r = NULL;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    rc = store_pg_run(p, st, n, params, &r, what);
    if (rc == DC_OK && changed)
        *changed = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return store_pg_write_end(p, mode, rc);
}

static dc_err clear_now(store_pg *p, uint64_t guild_id)
{
    store_pg_num g;
    const char *params[1] = { store_pg_u64(&g, guild_id) };
    return write1(p, &ST_SWEEP_CLEAR, 1, params, NULL, "clearing the sweep member set");
}

dc_err store_pg_sweep_open(store *base, uint64_t guild_id)
{
    store_pg *p = store_pg_of(base);
    /* First: a slice cleared later must never take members of this sweep. */
    store_sweep_queue_forget(&p->closed, guild_id);
    store_pg_num g;
    const char *params[1] = { store_pg_u64(&g, guild_id) };
    store_pg_write_mode mode;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    rc = store_pg_run(p, &ST_SWEEP_CREATE[p->id_kind], 0, NULL, NULL, "creating the sweep member set");
    if (rc == DC_OK)
        rc = store_pg_run(p, &ST_SWEEP_CLEAR, 1, params, NULL, "clearing the sweep member set");
    return store_pg_write_end(p, mode, rc);
}

dc_err store_pg_sweep_close(store *base, uint64_t guild_id)
{
    store_pg *p = store_pg_of(base);
    if (store_sweep_queue_push(&p->closed, guild_id) != 0)
        return clear_now(p, guild_id);         /* slow, but nothing is left behind */
    return DC_OK;
}

dc_err store_pg_sweep_clear_step(store *base, int limit, int *more)
{
    store_pg *p = store_pg_of(base);
    *more = p->closed.n > 0;
    if (!*more)
        return DC_OK;
    if (limit <= 0)
        return DC_ERR_USAGE;
    store_pg_num g, lim;
    const char *params[2] = { store_pg_u64(&g, p->closed.guilds[0]), store_pg_i64(&lim, limit) };
    int64_t n = 0;
    dc_err rc = write1(p, &ST_SWEEP_CLEAR_SLICE, 2, params, &n, "clearing a slice of a sweep member set");
    /* Done -- or failed: then its rows stay until that guild's next sweep
     * opens the set (which clears it) or the session ends; retrying a
     * failing statement from a timer would only repeat the error. */
    if (rc != DC_OK || n < limit)
        store_sweep_queue_forget(&p->closed, p->closed.guilds[0]);
    *more = p->closed.n > 0;
    return rc;
}

dc_err store_pg_sweep_add(store *base, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added)
{
    store_pg *p = store_pg_of(base);
    if (n == 0)
        return DC_OK;
    store_pg_num g;
    char *array = store_pg_u64_array(ids, n);
    if (!array)
        return DC_ERR_NOMEM;
    const char *params[2] = { store_pg_u64(&g, guild_id), array };
    int64_t inserted = 0;                       /* an id already listed inserts nothing */
    dc_err rc = write1(p, &ST_SWEEP_ADD[p->id_kind], 2, params, &inserted, "recording listed members");
    free(array);
    if (rc == DC_OK && added)
        *added += inserted;
    return rc;
}

dc_err store_pg_sweep_scan(store *base, uint64_t guild_id, int window, int64_t *cursor, int *more,
                           store_scan_fn fn, void *ctx)
{
    store_pg *p = store_pg_of(base);
    store_pg_num g, c, w;
    PGresult *r = NULL;
    *more = 0;
    if (window <= 0)
        return DC_ERR_USAGE;
    const char *guild = store_pg_u64(&g, guild_id);
    const char *params[4] = { guild, store_pg_i64(&c, *cursor), store_pg_i64(&w, window), guild };
    dc_err rc = store_pg_run(p, &ST_SWEEP_SCAN[p->id_kind], 4, params, &r, "scanning a guild's rows");
    int n = rc == DC_OK ? PQntuples(r) : 0, i = 0;
    for (int64_t id; i < n && store_pg_id_parse(PQgetvalue(r, i, 0), &id); i++) {
        *cursor = id;
        fn(ctx, (uint64_t)id, PQgetvalue(r, i, 1)[0] == 't');
    }
    /* An id past 64 bits (a NUMERIC or TEXT column) is no Discord id and
     * sorts after every id that is: the guild's rows end there. */
    *more = i == n && n == window;
    PQclear(r);
    return rc;
}

/* Stale ids of one slice, up to cap (ascending, as the scan gives them);
 * where the slice stopped. */
typedef struct {
    uint64_t *ids;
    int n, cap;
    int64_t stop_at;                 /* last id handled once ids is full, else 0 */
} stale_ids;

static void collect_stale(void *ctx, uint64_t user_id, int listed)
{
    stale_ids *c = ctx;
    if (c->stop_at)
        return;
    if (!listed)
        c->ids[c->n++] = user_id;
    if (c->n == c->cap)
        c->stop_at = (int64_t)user_id;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Runs one batch delete (params: guild, array) and adds each returned
 * row to its user's count in rows (ids ascending). */
static dc_err count_deleted(store_pg *p, const store_pg_stmt *st, const char *const params[2], const uint64_t *ids,
                            size_t n, uint64_t *rows)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, st, 2, params, &r, "deleting stale members");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        int64_t id = 0;
        if (!store_pg_id_parse(PQgetvalue(r, i, 0), &id))
            continue;
        uint64_t key = (uint64_t)id;
        const uint64_t *at = bsearch(&key, ids, n, sizeof *ids, cmp_u64);
        if (at)
            rows[at - ids]++;
    }
    PQclear(r);
    return rc;
}

/* The stale users of one batch go together, in one write: users rows,
 * each clean table's rows, one audit row "sweep" per user (its rows in
 * users and the clean tables) -- a few statements per batch instead of a
 * few per member, and all of the batch or none of it. */
static dc_err delete_stale(store_pg *p, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t now_ms)
{
    store_pg_num g;
    store_pg_write_mode mode;
    uint64_t *rows = calloc(n, sizeof *rows);
    char *array = store_pg_u64_array(ids, n);
    const char *params[2] = { store_pg_u64(&g, guild_id), array };
    dc_err rc = rows && array ? store_pg_write_begin(p, &mode) : DC_ERR_NOMEM;
    if (rc == DC_OK) {
        rc = count_deleted(p, &ST_DELETE_MEMBERS[p->id_kind], params, ids, n, rows);
        for (size_t i = 0; rc == DC_OK && i < p->n_clean; i++)
            rc = count_deleted(p, &p->clean[i].delete_members, params, ids, n, rows);
        if (rc == DC_OK)
            rc = store_pg_audit_add_many(p, now_ms, guild_id, ids, rows, n, AUDIT_SWEEP);
        rc = store_pg_write_end(p, mode, rc);
    }
    free(rows);
    free(array);
    return rc;
}

dc_err store_pg_sweep_delete_batch(store *base, uint64_t guild_id, int limit, int window, int64_t now_ms,
                                   int64_t *cursor, int64_t *users, int *more)
{
    *users = 0;
    *more = 0;
    if (limit <= 0)
        return DC_ERR_USAGE;
    stale_ids c = { .ids = malloc((size_t)limit * sizeof *c.ids), .cap = limit };
    if (!c.ids)
        return DC_ERR_NOMEM;
    int64_t start = *cursor;
    dc_err rc = store_pg_sweep_scan(base, guild_id, window, cursor, more, collect_stale, &c);
    if (rc == DC_OK && c.stop_at) {   /* batch full mid-slice: resume right after it */
        *cursor = c.stop_at;
        *more = 1;
    }
    if (rc == DC_OK && c.n > 0)
        rc = delete_stale(store_pg_of(base), guild_id, c.ids, (size_t)c.n, now_ms);
    if (rc == DC_OK)
        *users = c.n;
    else
        *cursor = start;              /* nothing of the batch stays: redo the slice */
    free(c.ids);
    return rc;
}
