/* store_pg_doubt.c - a COMMIT whose answer was lost: committed or not?
 *
 * The connection can go (a restart, a network failure, a read that waited
 * too long: store_pg_settle) after a COMMIT was sent and before its answer
 * was read.  The server may have committed it.  Reporting such a turn as
 * "did not commit" made the daemon redo it: its departures were audited
 * twice, and a guild whose rows the turn had deleted to the end was
 * "deleted" again, with an audit row of 0 rows (issue #16, itest_shards).
 *
 * So every turn writes, in its own transaction just before COMMIT, a
 * marker: cleaner_session_state 'pg_commit.<host>.<pid>' = "<nonce> <n>",
 * n counting this connection's commits (the nonce tells a reused pid from
 * us).  A COMMIT in flight when the connection is lost is kept here, in
 * doubt, and store_pg_in_flight stays 1 (the daemon's turn keeps waiting
 * for it, polling store_service, which reconnects).  Once the connection
 * is back, one read of the marker settles every doubt: the marker at n or
 * later means that turn committed (STORE_COMMITTED), anything else that
 * it did not (STORE_RETRY_BUSY: redo it).  The daemon commits one turn at
 * a time, so "n or later" is exact.  A clean close deletes the marker.
 *
 * The marker is read only once the lost connection's server process is
 * gone: a process that was slow (stopped, swapping, waiting for a lock)
 * still carries out the COMMIT it received after its client went away, and
 * a marker read before that would redo a turn that then commits twice.  So
 * the process is asked to end (pg_terminate_backend) and the marker read
 * when pg_stat_activity no longer lists it; until then the doubt stays and
 * service looks again every 100 ms.  The process is matched by pid, user
 * and database, never our own new one. */
#include "store/store_pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/vec.h"

static const store_pg_stmt ST_MARK = {
    "dc_commit_mark",
    "INSERT INTO cleaner_session_state (key, value) VALUES ($1, $2) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};
static const store_pg_stmt ST_MARK_GET = { "dc_commit_mark_get",
                                           "SELECT value FROM cleaner_session_state WHERE key = $1" };
static const store_pg_stmt ST_MARK_DEL = { "dc_commit_mark_del",
                                           "DELETE FROM cleaner_session_state WHERE key = $1" };

static const store_pg_stmt ST_OLD_ALIVE = {
    "dc_commit_old_alive",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = $1::int "
    "AND pid <> pg_backend_pid() AND usename = current_user AND datname = current_database()",
};

static void name_marker(store_pg *p)
{
    char host[64] = "";
    struct timespec ts;
    if (p->doubt.key[0])
        return;
    gethostname(host, sizeof host - 1);
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(p->doubt.key, sizeof p->doubt.key, "pg_commit.%s.%ld", host[0] ? host : "localhost", (long)getpid());
    p->doubt.nonce = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
}

dc_err store_pg_doubt_mark(store_pg *p, int64_t *n)
{
    char value[64];
    name_marker(p);
    *n = ++p->doubt.seq;
    snprintf(value, sizeof value, "%" PRIu64 " %" PRId64, p->doubt.nonce, *n);
    const char *params[2] = { p->doubt.key, value };
    return store_pg_send(p, &ST_MARK, 2, params, "marking the commit");
}

int store_pg_doubt_add(store_pg *p, const store_pg_expect *e)
{
    store_pg_doubt_commit *c;
    if (VEC_GROW(p->doubt.v, p->doubt.cap, p->doubt.n + 1, 4) != 0)
        return -1;
    c = &p->doubt.v[p->doubt.n++];
    *c = (store_pg_doubt_commit){ .done = e->done, .ctx = e->ctx, .totals = e->totals, .seq = e->mark };
    return 0;
}

/* The marker's count: -1 when absent or another process's (a reused pid). */
static int64_t marker_seq(store_pg *p, dc_err *rc)
{
    PGresult *r = NULL;
    const char *key = p->doubt.key;
    uint64_t nonce = 0;
    int64_t seq = -1;
    *rc = store_pg_run(p, &ST_MARK_GET, 1, &key, &r, "reading the commit marker");
    if (*rc == DC_OK && PQntuples(r) == 1 &&
        sscanf(PQgetvalue(r, 0, 0), "%" SCNu64 " %" SCNd64, &nonce, &seq) == 2 && nonce != p->doubt.nonce)
        seq = -1;
    PQclear(r);
    return seq;
}

void store_pg_doubt_lost(store_pg *p)
{
    if (p->doubt.n && !p->doubt.old_pid && p->conn.conn)
        p->doubt.old_pid = PQbackendPID(p->conn.conn);
}

/* 1 while the lost connection's server process is still there (asked to end). */
static int old_process_alive(store_pg *p, dc_err *rc)
{
    char pid[16];
    const char *param = pid;
    PGresult *r = NULL;
    snprintf(pid, sizeof pid, "%d", p->doubt.old_pid);
    *rc = store_pg_run(p, &ST_OLD_ALIVE, 1, &param, &r, "looking for the lost connection's server process");
    int alive = *rc == DC_OK && PQntuples(r) > 0;
    PQclear(r);
    if (*rc == DC_OK && !alive)
        p->doubt.old_pid = 0;
    return alive;
}

void store_pg_doubt_resolve(store_pg *p)
{
    dc_err rc;
    if (!p->doubt.n || store_pg_mono_ms() < p->doubt.next_look_ms)
        return;
    p->doubt.next_look_ms = store_pg_mono_ms() + 100;
    if (p->doubt.old_pid && (old_process_alive(p, &rc) || rc != DC_OK)) {
        if (!p->doubt.told)
            LOG_I("store", "db: waiting for the lost connection's server process %d to end before deciding "
                  "whether its COMMIT went through%s", p->doubt.old_pid, rc == DC_OK ? "" : " (cannot look yet)");
        p->doubt.told = 1;
        return;
    }
    int64_t seq = marker_seq(p, &rc);
    if (rc != DC_OK)
        return;                      /* lost again: the next reconnect asks again */
    for (size_t i = 0; i < p->doubt.n; i++) {
        store_pg_doubt_commit *c = &p->doubt.v[i];
        int committed = seq >= c->seq;
        LOG_W("store", "db: the COMMIT in flight when the connection was lost %s",
              committed ? "had gone through: not redone" : "had not gone through: the turn is redone");
        if (store_submit_push(&p->head, c->done, c->ctx, committed ? STORE_COMMITTED : STORE_RETRY_BUSY,
                              committed ? "" : "the connection to PostgreSQL was lost before COMMIT",
                              &c->totals) != 0)
            LOG_E("store", "out of memory queueing a commit's outcome: the turn is lost until restart");
    }
    p->doubt.n = 0;
    p->doubt.next_look_ms = 0;
    p->doubt.told = 0;
}

void store_pg_doubt_free(store_pg *p)
{
    const char *key = p->doubt.key;
    if (key[0] && p->conn.conn && p->conn.state == STORE_PG_READY && !p->tx_depth && !p->doubt.n)
        store_pg_run(p, &ST_MARK_DEL, 1, &key, NULL, "deleting the commit marker");
    free(p->doubt.v);
    memset(&p->doubt, 0, sizeof p->doubt);
}
