/* store_pg_coord.c - several processes, several hosts on one PostgreSQL
 * database (#16): the shard leases (cleaner_shard_leases, schema/pg/0008)
 * and the identify lock.
 *
 * A claim runs in one transaction that first takes
 * LOCK TABLE cleaner_shard_leases IN SHARE ROW EXCLUSIVE MODE: that mode
 * conflicts with itself, so two processes claiming at once are serialised
 * (under READ COMMITTED both would otherwise see no conflict and the later
 * upsert would overwrite the earlier lease), while `status` still reads.
 *
 * The identify lock is a session-level advisory lock per bucket,
 * pg_try_advisory_lock(STORE_PG_IDENTIFY_KEY, bucket), taken on a small
 * connection of its own: never behind the turn's transaction, and a
 * process that dies drops its locks with its session.  A session may take
 * an advisory lock it holds again, so the buckets held are remembered and
 * a second try of one answers "not got".  The time each bucket was last
 * got lives in cleaner_identify_buckets (the server's clock: hosts' clocks
 * may differ), so a holder that dies right after its IDENTIFY, dropping the
 * lock with its session, still keeps the bucket for hold_ms.
 *
 * The unlock (5.5 s after an IDENTIFY, from a loop timer) is sent without
 * waiting for its answer, which nobody needs: a server that stalls then
 * does not stall the loop.  Unlocks go out in libpq's pipeline mode (one
 * may follow another before the first is answered); their results are read
 * and dropped, and pipeline mode left, before the connection's next
 * statement, at the next identify lock.
 *
 * store_identify_prepare (the daemon, once it leases shards) starts that
 * connection without waiting and makes every later step non-blocking: the
 * connect is stepped when its socket is ready (at each identify lock and
 * each store_watch, i.e. each loop turn), and until it is ready -- or while
 * an unlock's answer is still out -- store_identify_lock answers "not got"
 * at once; the gateway asks again (GW_IDENTIFY_LOCK_RETRY_MS) and no
 * heartbeat waits.  A connect that takes longer than
 * STORE_PG_COORD_CONNECT_MS fails (and starts again on the next try).
 * Without it (tests, the CLI) the first lock connects, bounded, as before. */
#include "store/store_pg_internal.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_PG_IDENTIFY_KEY 1684228420   /* "dcID": the first key of our advisory locks */
#define STORE_PG_COORD_CONNECT_MS 5000
#define STORE_PG_COORD_ANSWER_MS 500     /* no_wait without an answer wait set: the loop's bound */
#define LEASE_MAX_CONFLICTS 64

struct store_pg_coord {
    store_pg_conn conn;
    int *held;                  /* buckets this session holds */
    size_t n_held;
    int unlocks_sent;           /* unlocks sent whose results were not read yet */
    int no_wait;                /* store_identify_prepare: connect and read without waiting */
    int64_t started_ms;         /* when the connect began (monotonic) */
};

static const store_pg_stmt ST_LEASE_CONFLICTS = {
    "dc_lease_conflicts",
    "SELECT DISTINCT owner_host, owner_pid FROM cleaner_shard_leases "
    "WHERE expires_ms > $1 AND NOT (owner_host = $2 AND owner_pid = $3) "
    "AND (shard_count <> $4 OR shard BETWEEN $5 AND $6) ORDER BY owner_host, owner_pid",
};
static const store_pg_stmt ST_LEASE_DROP_OWNER = {
    "dc_lease_drop_owner", "DELETE FROM cleaner_shard_leases WHERE owner_host = $1 AND owner_pid = $2",
};
static const store_pg_stmt ST_LEASE_DROP_EXPIRED = {
    "dc_lease_drop_expired", "DELETE FROM cleaner_shard_leases WHERE expires_ms <= $1",
};
/* The whole range in one statement: generate_series, not a row per round trip. */
static const store_pg_stmt ST_LEASE_PUT = {
    "dc_lease_put",
    "INSERT INTO cleaner_shard_leases (shard_count, shard, owner_host, owner_pid, acquired_ms, expires_ms) "
    "SELECT $1::int, g, $4::text, $5::bigint, $6::bigint, $7::bigint FROM generate_series($2::int, $3::int) AS g "
    "ON CONFLICT (shard_count, shard) DO UPDATE SET owner_host = excluded.owner_host, "
    "owner_pid = excluded.owner_pid, acquired_ms = excluded.acquired_ms, expires_ms = excluded.expires_ms",
};
static const store_pg_stmt ST_LEASE_RENEW = {
    "dc_lease_renew",
    "UPDATE cleaner_shard_leases SET expires_ms = $1 WHERE owner_host = $2 AND owner_pid = $3 "
    "AND shard_count = $4 AND shard BETWEEN $5 AND $6",
};
static const store_pg_stmt ST_LEASE_EACH = {
    "dc_lease_each",
    "SELECT owner_host, owner_pid, shard_count, min(shard), max(shard), count(*), max(expires_ms) "
    "FROM cleaner_shard_leases GROUP BY owner_host, owner_pid, shard_count ORDER BY shard_count, min(shard)",
};
static const store_pg_stmt ST_LEASE_OF = {
    "dc_lease_of",
    "SELECT owner_host, owner_pid, shard_count, min(shard), max(shard), count(*), max(expires_ms) "
    "FROM cleaner_shard_leases WHERE owner_host = $1 AND owner_pid = $2 "
    "GROUP BY owner_host, owner_pid, shard_count ORDER BY shard_count, min(shard)",
};

/* ---- shard leases ---------------------------------------------------------- */

static void read_holder(const PGresult *r, int row, store_lease_holder *h)
{
    snprintf(h->owner.host, sizeof h->owner.host, "%s", PQgetvalue(r, row, 0));
    h->owner.pid = store_pg_int(r, row, 1);
    h->count = (int)store_pg_int(r, row, 2);
    h->first = (int)store_pg_int(r, row, 3);
    h->last = (int)store_pg_int(r, row, 4);
    h->n_shards = (int)store_pg_int(r, row, 5);
    h->expires_ms = store_pg_int(r, row, 6);
}

static dc_err drop_owner(store_pg *p, const store_lease_owner *o)
{
    store_pg_num pid;
    const char *params[2] = { o->host, store_pg_i64(&pid, o->pid) };
    return store_pg_run(p, &ST_LEASE_DROP_OWNER, 2, params, NULL, "releasing shard leases");
}

/* The first row of an owner's leases into conflict, and the refusal. */
static dc_err refuse(store_pg *p, const store_lease_owner *o, store_lease_holder *conflict)
{
    store_pg_num pid;
    const char *params[2] = { o->host, store_pg_i64(&pid, o->pid) };
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, &ST_LEASE_OF, 2, params, &r, "reading shard leases");
    if (rc == DC_OK && PQntuples(r) > 0)
        read_holder(r, 0, conflict);
    PQclear(r);
    if (rc != DC_OK)
        return rc;
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "shards held by %.200s pid %lld", o->host, (long long)o->pid);
    return DC_ERR_CONFIG;
}

/* Gone owners' leases are dropped; the first live one refuses the claim. */
static dc_err take_over(store_pg *p, const store_lease_owner *me, int first, int last, int count,
                        int64_t now_ms, store_lease_gone_fn gone, void *ctx, store_lease_holder *conflict)
{
    store_pg_num now, pid, cnt, lo, hi;
    const char *params[6] = { store_pg_i64(&now, now_ms), me->host, store_pg_i64(&pid, me->pid),
                              store_pg_i64(&cnt, count), store_pg_i64(&lo, first), store_pg_i64(&hi, last) };
    PGresult *r = NULL;
    dc_err rc = store_pg_run(p, &ST_LEASE_CONFLICTS, 6, params, &r, "reading shard leases");
    int n = rc == DC_OK ? PQntuples(r) : 0;
    store_lease_owner others[LEASE_MAX_CONFLICTS];
    for (int i = 0; i < n && i < LEASE_MAX_CONFLICTS; i++) {
        snprintf(others[i].host, sizeof others[i].host, "%s", PQgetvalue(r, i, 0));
        others[i].pid = store_pg_int(r, i, 1);
    }
    PQclear(r);
    for (int i = 0; rc == DC_OK && i < n && i < LEASE_MAX_CONFLICTS; i++)
        rc = gone && gone(ctx, &others[i]) ? drop_owner(p, &others[i]) : refuse(p, &others[i], conflict);
    return rc;
}

static dc_err put_leases(store_pg *p, const store_lease_owner *me, int first, int last, int count,
                         int64_t now_ms, int64_t ttl_ms)
{
    store_pg_num now, exp, cnt, lo, hi, pid;
    const char *now_s = store_pg_i64(&now, now_ms);
    dc_err rc = store_pg_run(p, &ST_LEASE_DROP_EXPIRED, 1, &now_s, NULL, "dropping expired shard leases");
    const char *params[7] = { store_pg_i64(&cnt, count), store_pg_i64(&lo, first), store_pg_i64(&hi, last),
                              me->host, store_pg_i64(&pid, me->pid), now_s, store_pg_i64(&exp, now_ms + ttl_ms) };
    if (rc == DC_OK)
        rc = store_pg_run(p, &ST_LEASE_PUT, 7, params, NULL, "writing shard leases");
    return rc;
}

dc_err store_pg_lease_claim(store *base, const store_lease_owner *me, int first, int last, int count,
                            int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                            store_lease_holder *conflict)
{
    store_pg *p = store_pg_of(base);
    store_pg_write_mode mode;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    rc = store_pg_exec(p, "LOCK TABLE cleaner_shard_leases IN SHARE ROW EXCLUSIVE MODE", "locking shard leases");
    if (rc == DC_OK)
        rc = take_over(p, me, first, last, count, now_ms, gone, ctx, conflict);
    if (rc == DC_OK)
        rc = put_leases(p, me, first, last, count, now_ms, ttl_ms);
    return store_pg_write_end(p, mode, rc);
}

dc_err store_pg_lease_renew(store *base, const store_lease_owner *me, int first, int last, int count,
                            int64_t now_ms, int64_t ttl_ms, int *held)
{
    store_pg *p = store_pg_of(base);
    store_pg_num exp, pid, cnt, lo, hi;
    const char *params[6] = { store_pg_i64(&exp, now_ms + ttl_ms), me->host, store_pg_i64(&pid, me->pid),
                              store_pg_i64(&cnt, count), store_pg_i64(&lo, first), store_pg_i64(&hi, last) };
    store_pg_write_mode mode;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    PGresult *r = NULL;
    rc = store_pg_run(p, &ST_LEASE_RENEW, 6, params, &r, "renewing shard leases");
    if (rc == DC_OK)
        *held = atoi(PQcmdTuples(r));
    PQclear(r);
    return store_pg_write_end(p, mode, rc);
}

dc_err store_pg_lease_release(store *base, const store_lease_owner *me)
{
    store_pg *p = store_pg_of(base);
    store_pg_write_mode mode;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    return store_pg_write_end(p, mode, drop_owner(p, me));
}

dc_err store_pg_each_lease(store *base, store_lease_fn fn, void *ctx)
{
    PGresult *r = NULL;
    dc_err rc = store_pg_run(store_pg_of(base), &ST_LEASE_EACH, 0, NULL, &r, "reading shard leases");
    for (int i = 0; rc == DC_OK && i < PQntuples(r); i++) {
        store_lease_holder h;
        read_holder(r, i, &h);
        if (fn(ctx, &h))
            break;
    }
    PQclear(r);
    return rc;
}

/* ---- the identify lock ------------------------------------------------------ */

static int64_t coord_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The results of the unlocks sent, read and dropped (the connection takes
 * one statement at a time); then out of pipeline mode.  Without waiting
 * (no_wait) only what has arrived: 1 while some are still out. */
static int read_unlocks(struct store_pg_coord *c)
{
    PGconn *conn = c->conn.conn;
    for (int nulls = 0; c->unlocks_sent > 0 && nulls < 2;) {
        if (c->no_wait && (!PQconsumeInput(conn) || PQisBusy(conn)))
            return PQstatus(conn) == CONNECTION_OK ? 1 : (store_pg_conn_close(&c->conn), 0);
        PGresult *r = PQgetResult(conn);
        nulls = r ? 0 : nulls + 1;       /* one NULL ends each statement; two: nothing more comes */
        if (r && PQresultStatus(r) == PGRES_PIPELINE_SYNC)
            c->unlocks_sent--;
        PQclear(r);
    }
    c->unlocks_sent = 0;
    if (PQpipelineStatus(conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(conn))
        store_pg_conn_close(&c->conn);    /* broken: coord_ready opens another (its locks went) */
    return 0;
}

/* Steps a non-blocking connect as far as its socket allows now. */
static void coord_step(struct store_pg_coord *c)
{
    for (int i = 0; i < 16 && (c->conn.state == STORE_PG_WANT_READ || c->conn.state == STORE_PG_WANT_WRITE); i++) {
        struct pollfd f = { .fd = store_pg_conn_fd(&c->conn), .events = store_pg_conn_events(&c->conn) };
        if (f.fd < 0 || poll(&f, 1, 0) <= 0)
            return;
        store_pg_conn_step(&c->conn);
    }
}

static struct store_pg_coord *coord_of(store_pg *p)
{
    if (!p->coord)
        p->coord = calloc(1, sizeof *p->coord);
    return p->coord;
}

static void coord_start(store_pg *p, struct store_pg_coord *c)
{
    store_pg_conn_close(&c->conn);
    c->n_held = 0;
    c->unlocks_sent = 0;
    c->started_ms = coord_now_ms();
    store_pg_conn_start(&c->conn, p->conn.uri);
}

/* The coordination connection, connected (again, after a failure: its
 * locks went with the old session).  DC_ERR_BUSY: still connecting, or an
 * unlock's answer still out (no_wait); ask again later. */
static dc_err coord_ready(store_pg *p)
{
    struct store_pg_coord *c = coord_of(p);
    if (!c)
        return DC_ERR_NOMEM;
    if (c->conn.conn && c->conn.state == STORE_PG_READY && read_unlocks(c))
        return DC_ERR_BUSY;
    if (c->conn.conn && c->conn.state == STORE_PG_READY && PQstatus(c->conn.conn) == CONNECTION_OK)
        return DC_OK;
    if (!c->conn.conn || c->conn.state == STORE_PG_READY)
        coord_start(p, c);
    if (c->no_wait)
        coord_step(c);
    else
        store_pg_conn_wait(&c->conn, STORE_PG_COORD_CONNECT_MS);
    if (c->conn.state == STORE_PG_READY)
        return DC_OK;
    if (c->conn.state != STORE_PG_FAILED && coord_now_ms() - c->started_ms < STORE_PG_COORD_CONNECT_MS)
        return DC_ERR_BUSY;
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "identify lock: %.400s",
             c->conn.state == STORE_PG_FAILED ? c->conn.msg : "connecting took too long");
    dc_err rc = c->conn.state == STORE_PG_FAILED ? store_pg_failure_err(c->conn.failure) : DC_ERR_UNAVAIL;
    store_pg_conn_close(&c->conn);
    return rc;
}

dc_err store_pg_identify_prepare(store *base)
{
    store_pg *p = store_pg_of(base);
    struct store_pg_coord *c = coord_of(p);
    if (!c)
        return DC_ERR_NOMEM;
    c->no_wait = 1;
    dc_err rc = coord_ready(p);
    return rc == DC_ERR_BUSY ? DC_OK : rc;
}

void store_pg_coord_step(store_pg *p)
{
    struct store_pg_coord *c = p->coord;
    if (c && c->no_wait && c->conn.conn && c->conn.state != STORE_PG_READY)
        coord_step(c);
}

static long held_at(const struct store_pg_coord *c, int bucket)
{
    for (size_t i = 0; c && i < c->n_held; i++)
        if (c->held[i] == bucket)
            return (long)i;
    return -1;
}

#define ADVISORY_PARAMS(key, b, bucket)                              \
    snprintf(key, sizeof key, "%d", STORE_PG_IDENTIFY_KEY);          \
    snprintf(b, sizeof b, "%d", bucket)

/* The coordination connection given up: its locks go with its session
 * (the time stamped in cleaner_identify_buckets stays), the next try
 * opens another. */
static PGresult *coord_gone(store_pg *p, const char *why)
{
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "identify lock: %.400s", why);
    store_pg_conn_close(&p->coord->conn);
    p->coord->n_held = 0;
    return NULL;
}

/* One statement on the coordination connection, its last result (NULL:
 * failed, errmsg says).  In the daemon (no_wait) the answer is waited for
 * at most the loop's answer wait: a server that has gone quiet costs the
 * loop that, once, and the connection. */
static PGresult *coord_exec(store_pg *p, const char *sql, int n, const char *const *params)
{
    PGconn *conn = p->coord->conn.conn;
    if (!p->coord->no_wait) {
        PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
        if (!r)
            snprintf(p->head.errmsg, sizeof p->head.errmsg, "identify lock: %.400s", PQerrorMessage(conn));
        return r;
    }
    if (!PQsendQueryParams(conn, sql, n, NULL, params, NULL, NULL, 0))
        return coord_gone(p, PQerrorMessage(conn));
    int wait = p->answer_wait_ms > 0 ? p->answer_wait_ms : STORE_PG_COORD_ANSWER_MS;
    int64_t end = coord_now_ms() + wait;
    PGresult *last = NULL;
    for (;;) {
        int out = PQflush(conn);
        if (out < 0 || !PQconsumeInput(conn))
            break;
        while (!PQisBusy(conn)) {
            PGresult *r = PQgetResult(conn);
            if (!r)
                return last;
            PQclear(last);
            last = r;
        }
        int64_t left = end - coord_now_ms();
        if (left <= 0) {
            char why[96];
            snprintf(why, sizeof why, "PostgreSQL did not answer within %d ms (slow or unreachable)", wait);
            PQclear(last);
            return coord_gone(p, why);
        }
        struct pollfd f = { .fd = PQsocket(conn), .events = POLLIN | (out == 1 ? POLLOUT : 0) };
        poll(&f, 1, (int)left);
    }
    PQclear(last);
    return coord_gone(p, PQerrorMessage(conn));
}

/* SELECT fn(key, bucket) on the coordination connection: 1 true, 0 false, -1 failed. */
static int advisory(store_pg *p, const char *sql, int bucket)
{
    char key[16], b[16];
    ADVISORY_PARAMS(key, b, bucket);
    const char *params[2] = { key, b };
    PGresult *r = coord_exec(p, sql, 2, params);
    int v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    else if (r)
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "identify lock: %.400s", PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

/* With the advisory lock held: stamps the bucket's time when hold_ms have
 * passed since its last; 1 stamped, 0 not yet, -1 failed. */
static int stamp_if_due(store_pg *p, int bucket, int64_t hold_ms)
{
    char b[16], h[24];
    snprintf(b, sizeof b, "%d", bucket);
    snprintf(h, sizeof h, "%lld", (long long)hold_ms);
    const char *params[2] = { b, h };
    PGresult *r = coord_exec(p,
        "INSERT INTO cleaner_identify_buckets AS t (bucket, identified_at) VALUES ($1::int, clock_timestamp()) "
        "ON CONFLICT (bucket) DO UPDATE SET identified_at = clock_timestamp() "
        "WHERE t.identified_at <= clock_timestamp() - make_interval(secs => $2::float8 / 1000) RETURNING 1",
        2, params);
    int v = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) == 1 : -1;
    if (v < 0 && r)
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "identify lock: %.400s", PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

dc_err store_pg_identify_lock(store *base, int bucket, int64_t hold_ms, int *got)
{
    store_pg *p = store_pg_of(base);
    dc_err rc = coord_ready(p);
    if (rc == DC_ERR_BUSY)
        return DC_OK;                 /* not got yet: connecting, or an unlock still out */
    if (rc != DC_OK || held_at(p->coord, bucket) >= 0)
        return rc;
    struct store_pg_coord *c = p->coord;
    int *grown = realloc(c->held, (c->n_held + 1) * sizeof *grown);
    if (!grown)
        return DC_ERR_NOMEM;
    c->held = grown;
    int v = advisory(p, "SELECT pg_try_advisory_lock($1::int4, $2::int4)", bucket);
    if (v <= 0)
        return v < 0 ? DC_ERR_DB : DC_OK;
    int due = stamp_if_due(p, bucket, hold_ms);
    if (due <= 0 && p->coord->conn.conn) {    /* its last holder died or stopped right after */
        advisory(p, "SELECT pg_advisory_unlock($1::int4, $2::int4)", bucket);
        return due < 0 ? DC_ERR_DB : DC_OK;
    }
    if (due <= 0)
        return DC_ERR_DB;             /* the connection was given up on, and the lock with it */
    c->held[c->n_held++] = bucket;
    *got = 1;
    return DC_OK;
}

dc_err store_pg_identify_unlock(store *base, int bucket)
{
    store_pg *p = store_pg_of(base);
    long i = held_at(p->coord, bucket);
    if (i < 0)
        return DC_OK;                 /* not held (or its session is gone, and the lock with it) */
    struct store_pg_coord *c = p->coord;
    c->held[i] = c->held[--c->n_held];
    char key[16], b[16];
    ADVISORY_PARAMS(key, b, bucket);
    const char *params[2] = { key, b };
    if (!c->conn.conn || (PQpipelineStatus(c->conn.conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(c->conn.conn)) ||
        !PQsendQueryParams(c->conn.conn, "SELECT pg_advisory_unlock($1::int4, $2::int4)", 2, NULL, params,
                           NULL, NULL, 0) || !PQpipelineSync(c->conn.conn)) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "identify lock: %.400s", PQerrorMessage(c->conn.conn));
        return DC_ERR_DB;
    }
    c->unlocks_sent++;
    return DC_OK;
}

void store_pg_coord_close(store_pg *p)
{
    if (!p->coord)
        return;
    store_pg_conn_close(&p->coord->conn);
    free(p->coord->held);
    free(p->coord);
    p->coord = NULL;
}
