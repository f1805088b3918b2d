/* store_pg_pipe.c - the PostgreSQL backend's pipeline (issue #16): the
 * daemon's turn writes and commits without the event loop ever waiting on
 * the network, and a lost connection is reopened without blocking.
 *
 * Inside the daemon's turn (a transaction with bare writes on) BEGIN and
 * every write whose rows do not matter go out in libpq's pipeline mode
 * (store_pg_send); member deletes are coalesced into one statement
 * (store_pg_batch.c).  store_pg_commit_submit sends what is queued, a sync
 * point, COMMIT and another sync point and returns; the results are read by
 * store_pg_service (PQconsumeInput and PQisBusy: never a wait) and the
 * commit's outcome goes to store_submit.c's queue.  Two sync points, so
 * that a failed write (lock_timeout, say) leaves the transaction aborted
 * and the COMMIT then answers ROLLBACK: the transaction always ends.
 *
 * A statement that needs its answer (a read, a sweep slice): in the
 * daemon's loop (an answer wait set, store_set_answer_wait) it goes into
 * the pipeline behind what is queued and is waited for at most that long,
 * then given up on (store_pg_ask); elsewhere (opening, migrating, the CLI)
 * it first settles the pipeline (store_pg_settle: sends what is queued and
 * reads every result, waiting at most lock_timeout plus a round trip's
 * allowance) and then runs on its own.
 *
 * The connection lost (a server restart, a network failure): every commit
 * in flight gets STORE_RETRY_BUSY -- it did not commit and the caller still
 * has its writes -- the open transaction is gone (refused as busy), and
 * store_pg_ready reconnects on the next call, without blocking: a connect
 * started, then stepped whenever its socket is ready, retried after 100 ms
 * doubling to 5 s.  On the new connection the statements are prepared anew
 * and lock_timeout set again. */
#include "store/store_pg_internal.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/vec.h"

#define STORE_PG_BACKOFF_FIRST_MS 100
#define STORE_PG_BACKOFF_MAX_MS 5000
#define STORE_PG_SETTLE_SLACK_MS 3000    /* a read's wait beyond lock_timeout: a big batch, a round trip */
#define STORE_PG_ANSWER_MS 10000         /* beyond lock_timeout: a COMMIT in flight that long is lost */
#define STORE_PG_CONNECT_STEPS 16        /* PQconnectPoll steps per store_pg_ready */

static dc_err broken(store_pg *p);

/* ---- the queue of expected results ---------------------------------------- */

static store_pg_expect *expect(store_pg *p, store_pg_exp_kind kind)
{
    if (p->exp_head && p->exp_head == p->n_exp)
        p->exp_head = p->n_exp = 0;
    if (VEC_GROW(p->exp, p->cap_exp, p->n_exp + 1, 16) != 0)
        return NULL;
    store_pg_expect *e = &p->exp[p->n_exp++];
    *e = (store_pg_expect){ .kind = kind };
    return e;
}

static size_t waiting(const store_pg *p) { return p->n_exp - p->exp_head; }

static void pop(store_pg *p)
{
    free(p->exp[p->exp_head].meta);
    p->exp_head++;
}

int store_pg_in_flight(const store *base)
{
    const store_pg *p = store_pg_of_const(base);
    if (p->doubt.n)
        return 1;                    /* its outcome is known once connected again */
    for (size_t i = p->exp_head; i < p->n_exp; i++)
        if (p->exp[i].kind == STORE_PG_EXP_COMMIT && !p->exp[i].resolved)
            return 1;
    return 0;
}

/* A commit's outcome, to store_submit.c's queue (delivered by store_service). */
static void deliver(store_pg *p, store_pg_expect *e, store_outcome o, const char *why)
{
    store_member_totals t = e->totals;
    for (int i = 0; i < AUDIT_REASON_COUNT; i++)
        t.removed[i] += p->acc.removed[i];
    t.members += p->acc.members;
    t.rows += p->acc.rows;
    if (store_submit_push(&p->head, e->done, e->ctx, o, why, &t) != 0)
        LOG_E("store", "out of memory queueing a commit's outcome: the turn is lost until restart");
    e->resolved = 1;
    memset(&p->acc, 0, sizeof p->acc);
    p->pipe_failed = 0;
}

/* ---- the connection: lost, reopened --------------------------------------- */

void store_pg_lost(store_pg *p, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg, "the connection to PostgreSQL was lost (%s); reconnecting", why);
    LOG_W("store", "db: %s", msg);
    /* A COMMIT sent may have gone through: in doubt until the connection
     * is back (store_pg_doubt.c); one never marked did not. */
    for (size_t i = p->exp_head; i < p->n_exp; i++)
        if (p->exp[i].kind == STORE_PG_EXP_COMMIT && !p->exp[i].resolved &&
            (!p->exp[i].mark || store_pg_doubt_add(p, &p->exp[i]) != 0))
            deliver(p, &p->exp[i], STORE_RETRY_BUSY, msg);     /* did not commit: redo it */
    store_pg_doubt_lost(p);
    while (waiting(p))
        pop(p);
    p->exp_head = p->n_exp = 0;
    store_pg_batch_clear(p);
    memset(&p->acc, 0, sizeof p->acc);
    p->pipe = 0;
    p->pipe_failed = 0;
    p->tx_depth = 0;
    p->tx_broken = 0;
    p->refused = 1;                  /* the open transaction is gone: the caller retries */
    p->n_prepared = 0;
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s", msg);
    if (p->conn.conn) {
        PQfinish(p->conn.conn);
        p->conn.conn = NULL;
    }
    p->conn.state = STORE_PG_FAILED;
    p->backoff_ms = p->backoff_ms ? p->backoff_ms : STORE_PG_BACKOFF_FIRST_MS;
    p->retry_at_ms = store_pg_mono_ms() + p->backoff_ms;
}

int store_pg_check_lost(store_pg *p, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    int shutdown = state && strncmp(state, "57P0", 4) == 0;     /* admin / crash shutdown */
    if (p->conn.conn && PQstatus(p->conn.conn) == CONNECTION_OK && !shutdown)
        return 0;
    char why[200];
    store_pg_first_line(why, sizeof why,
                        r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                        : p->conn.conn ? PQerrorMessage(p->conn.conn) : "no connection");
    store_pg_lost(p, why[0] ? why : "closed");
    return 1;
}

dc_err store_pg_not_ready(store_pg *p, const char *what)
{
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s: not connected to PostgreSQL (reconnecting)", what);
    if (!p->refused)
        p->refused = 1;
    return DC_ERR_BUSY;
}

static dc_err set_up(store_pg *p)
{
    static const store_pg_stmt st = { "dc_lock_timeout_again", "SELECT set_config('lock_timeout', $1, false)" };
    char v[32];
    const char *param = v;
    snprintf(v, sizeof v, "%dms", p->lock_timeout_ms);
    PQsetnonblocking(p->conn.conn, 1);
    p->n_prepared = 0;
    return store_pg_run(p, &st, 1, &param, NULL, "setting lock_timeout");
}

/* Steps a connect as far as its socket allows now. */
static void step(store_pg *p)
{
    for (int i = 0; i < STORE_PG_CONNECT_STEPS && p->conn.state != STORE_PG_READY &&
                    p->conn.state != STORE_PG_FAILED; i++) {
        struct pollfd f = { .fd = store_pg_conn_fd(&p->conn), .events = store_pg_conn_events(&p->conn) };
        if (f.fd < 0 || poll(&f, 1, 0) <= 0)
            return;
        store_pg_conn_step(&p->conn);
    }
}

int store_pg_ready(store_pg *p)
{
    if (p->conn.conn && p->conn.state == STORE_PG_READY)
        return 1;
    if (!p->uri)
        return 0;
    if (!p->conn.conn) {
        if (store_pg_mono_ms() < p->retry_at_ms)
            return 0;
        store_pg_conn_close(&p->conn);
        store_pg_conn_start(&p->conn, p->uri);
    }
    step(p);
    if (p->conn.state == STORE_PG_FAILED) {
        LOG_W("store", "%s (retrying in %lld ms)", p->conn.msg, (long long)p->backoff_ms);
        store_pg_conn_close(&p->conn);
        p->retry_at_ms = store_pg_mono_ms() + p->backoff_ms;
        p->backoff_ms = p->backoff_ms * 2 > STORE_PG_BACKOFF_MAX_MS ? STORE_PG_BACKOFF_MAX_MS : p->backoff_ms * 2;
        return 0;
    }
    if (p->conn.state != STORE_PG_READY)
        return 0;
    if (set_up(p) != DC_OK)
        return p->conn.conn != NULL && p->conn.state == STORE_PG_READY;
    p->backoff_ms = 0;
    LOG_I("store", "db: connected to PostgreSQL again");
    store_pg_doubt_resolve(p);
    return p->conn.conn != NULL;
}

int store_pg_fd(const store *base)
{
    const store_pg *p = store_pg_of_const(base);
    return p->conn.conn ? PQsocket(p->conn.conn) : -1;
}

/* ---- sending ------------------------------------------------------------- */

int store_pg_queueing(const store_pg *p)
{
    return p->tx_depth > 0 && p->bare_writes && !p->tx_broken && p->conn.conn &&
           p->conn.state == STORE_PG_READY;
}

static dc_err send_failed(store_pg *p, const char *what)
{
    if (!store_pg_check_lost(p, NULL))
        store_pg_lost(p, PQerrorMessage(p->conn.conn));
    return store_pg_not_ready(p, what);
}

static dc_err enter(store_pg *p, const char *what)
{
    if (p->pipe)
        return DC_OK;
    if (!PQenterPipelineMode(p->conn.conn))
        return send_failed(p, what);
    p->pipe = 1;
    return DC_OK;
}

/* Prepared in the pipeline: counted as prepared now, forgotten again
 * when its result says it was not (a failed or skipped Parse). */
static dc_err send_prepare(store_pg *p, const store_pg_stmt *st, int n, const char *what)
{
    dc_err rc;
    if (!store_pg_needs_prepare(p, st, what, &rc))
        return rc;
    store_pg_expect *e = expect(p, STORE_PG_EXP_PREPARE);
    if (!e)
        return DC_ERR_NOMEM;
    e->st = st;
    if (!PQsendPrepare(p->conn.conn, st->name, st->sql, n, NULL))
        return send_failed(p, what);
    p->prepared[p->n_prepared++] = st;
    return DC_OK;
}

static dc_err send_prepared(store_pg *p, store_pg_exp_kind kind, const store_pg_stmt *st, int n,
                            const char *const *params, const char *what)
{
    dc_err rc = enter(p, what);
    if (rc == DC_OK)
        rc = send_prepare(p, st, n, what);
    store_pg_expect *e = rc == DC_OK ? expect(p, kind) : NULL;
    if (rc != DC_OK)
        return rc;
    if (!e)
        return DC_ERR_NOMEM;
    if (!PQsendQueryPrepared(p->conn.conn, st->name, n, params, NULL, NULL, 0))
        return send_failed(p, what);
    return DC_OK;
}

dc_err store_pg_send(store_pg *p, const store_pg_stmt *st, int n, const char *const *params, const char *what)
{
    dc_err rc = store_pg_batch_flush(p);     /* in order: the deletes queued before this write */
    return rc == DC_OK ? send_prepared(p, STORE_PG_EXP_WRITE, st, n, params, what) : rc;
}

dc_err store_pg_send_batch(store_pg *p, const char *const *params, unsigned char *meta, size_t n_meta)
{
    dc_err rc = send_prepared(p, STORE_PG_EXP_BATCH, &p->batch_st, 5, params, "deleting members");
    if (rc != DC_OK) {
        free(meta);
        return rc;
    }
    store_pg_expect *e = &p->exp[p->n_exp - 1];
    e->meta = meta;
    e->n_meta = n_meta;
    return DC_OK;
}

dc_err store_pg_send_sql(store_pg *p, const char *sql, const char *what)
{
    dc_err rc = enter(p, what);
    store_pg_expect *e = rc == DC_OK ? expect(p, STORE_PG_EXP_WRITE) : NULL;
    if (rc != DC_OK)
        return rc;
    if (!e)
        return DC_ERR_NOMEM;
    if (!PQsendQueryParams(p->conn.conn, sql, 0, NULL, NULL, NULL, NULL, 0))
        return send_failed(p, what);
    return DC_OK;
}

static dc_err sync_point(store_pg *p)
{
    if (!expect(p, STORE_PG_EXP_SYNC))
        return DC_ERR_NOMEM;
    if (!PQpipelineSync(p->conn.conn))
        return send_failed(p, "sync");
    return DC_OK;
}

/* ---- reading results ------------------------------------------------------ */

static void forget_prepared(store_pg *p, const store_pg_stmt *st)
{
    for (int i = 0; i < p->n_prepared; i++)
        if (p->prepared[i] == st) {
            p->prepared[i] = p->prepared[--p->n_prepared];
            return;
        }
}

void store_pg_tx_gone(store_pg *p)
{
    for (size_t i = p->n_exp; i-- > p->exp_head && p->exp[i].kind != STORE_PG_EXP_COMMIT;)
        p->exp[i].quiet = 1;
    p->pipe_failed = 0;
}

static void record_failure(store_pg *p, const PGresult *r)
{
    if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED || p->pipe_failed)
        return;                      /* the first failure says why */
    p->pipe_failed = 1;
    store_pg_first_line(p->pipe_msg, sizeof p->pipe_msg, PQresultErrorMessage(r));
    p->pipe_why = store_pg_refusal(r);
}

static void note_failure(store_pg *p, const store_pg_expect *e, const PGresult *r)
{
    if (!e->quiet)
        record_failure(p, r);
}

static void commit_result(store_pg *p, store_pg_expect *e, const PGresult *r)
{
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (ok && !p->pipe_failed && strcmp(PQcmdStatus((PGresult *)r), "COMMIT") == 0) {
        deliver(p, e, STORE_COMMITTED, "");
        return;
    }
    int why = p->pipe_failed ? p->pipe_why : ok ? 0 : store_pg_refusal(r);
    char msg[400];
    if (p->pipe_failed)
        snprintf(msg, sizeof msg, "%s", p->pipe_msg);
    else if (ok)
        snprintf(msg, sizeof msg, "COMMIT: the transaction had failed and was rolled back");
    else
        store_pg_first_line(msg, sizeof msg, PQresultErrorMessage(r));
    deliver(p, e, why == 1 ? STORE_RETRY_BUSY : why == 2 ? STORE_RETRY_FULL : STORE_FAILED, msg);
}

/* An asked statement's result: the waiter's (kept: 1), or dropped when
 * its wait ended first -- a failure then still counts for the open
 * transaction, which PostgreSQL has aborted. */
static int ask_result(store_pg *p, store_pg_expect *e, PGresult *r, int ok)
{
    e->resolved = 1;
    if (!e->abandoned && e->ticket == p->ask_ticket && !p->ask_got) {
        p->ask_res = r;
        p->ask_got = 1;
        return 1;
    }
    if (!ok && p->tx_depth)
        note_failure(p, e, r);
    return 0;
}

/* One result for the oldest expectation; 1 when it was kept (not to be
 * cleared). */
static int take(store_pg *p, store_pg_expect *e, PGresult *r)
{
    ExecStatusType t = PQresultStatus(r);
    int ok = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
    if (e->kind == STORE_PG_EXP_COMMIT) {
        commit_result(p, e, r);
        return 0;
    }
    if (e->kind == STORE_PG_EXP_ASK)
        return ask_result(p, e, r, ok);
    if (!ok)
        note_failure(p, e, r);
    if (!ok && e->kind == STORE_PG_EXP_PREPARE)
        forget_prepared(p, e->st);
    if (ok && e->kind == STORE_PG_EXP_BATCH)
        store_pg_batch_result(p, e, r);
    return 0;
}

/* Reads every result that has arrived, never waiting.  -1: the
 * connection was lost. */
static int read_results(store_pg *p)
{
    while (waiting(p) && p->conn.conn) {
        if (PQisBusy(p->conn.conn))
            return 0;
        PGresult *r = PQgetResult(p->conn.conn);
        store_pg_expect *e = &p->exp[p->exp_head];
        if (!r) {
            if (e->kind == STORE_PG_EXP_SYNC)
                return 0;            /* the sync point's result has not arrived */
            pop(p);                  /* the end of a statement's results */
            continue;
        }
        ExecStatusType t = PQresultStatus(r);
        if (t == PGRES_FATAL_ERROR && store_pg_check_lost(p, r)) {
            PQclear(r);
            return -1;
        }
        if (t == PGRES_PIPELINE_SYNC) {
            if (e->kind == STORE_PG_EXP_SYNC)
                pop(p);
        } else if (take(p, e, r)) {
            continue;                /* the asking statement's now */
        }
        PQclear(r);
    }
    return p->conn.conn ? 0 : -1;
}

/* Sends what libpq holds and reads what arrived: -1 when the connection
 * was lost. */
static int pump(store_pg *p)
{
    if (!p->conn.conn)
        return -1;
    if (PQflush(p->conn.conn) < 0 || !PQconsumeInput(p->conn.conn)) {
        if (!store_pg_check_lost(p, NULL))
            store_pg_lost(p, PQerrorMessage(p->conn.conn));
        return -1;
    }
    if (read_results(p) != 0)
        return -1;
    if (!waiting(p) && p->pipe && !p->batch.n && PQexitPipelineMode(p->conn.conn))
        p->pipe = 0;                 /* idle: synchronous calls work again */
    return 0;
}

/* The connection readable while nothing is expected: a notice, or the
 * server closing it (a restart): read it now, so that the socket does not
 * stay readable (the loop would spin) and a lost connection is reopened
 * before the next turn needs it. */
static void idle_read(store_pg *p)
{
    if (!PQconsumeInput(p->conn.conn) || PQstatus(p->conn.conn) != CONNECTION_OK) {
        if (!store_pg_check_lost(p, NULL))
            store_pg_lost(p, PQerrorMessage(p->conn.conn));
        return;
    }
    PQisBusy(p->conn.conn);          /* parses what arrived: notices go to their processor */
}

/* A COMMIT in flight or an abandoned statement not answered yet: either
 * one unanswered for lock_timeout + STORE_PG_ANSWER_MS loses the
 * connection (a server that never answers is a lost one). */
static int awaited(const store_pg_expect *e)
{
    return !e->resolved && (e->kind == STORE_PG_EXP_COMMIT || (e->kind == STORE_PG_EXP_ASK && e->abandoned));
}

int store_pg_behind(const store_pg *p)
{
    for (size_t i = p->exp_head; i < p->n_exp; i++)
        if (p->exp[i].kind == STORE_PG_EXP_ASK && p->exp[i].abandoned && !p->exp[i].resolved)
            return 1;
    return 0;
}

void store_pg_service(store *base)
{
    store_pg *p = store_pg_of(base);
    if (!p->conn.conn || p->conn.state != STORE_PG_READY) {
        store_pg_ready(p);
        return;
    }
    if (p->doubt.n)
        store_pg_doubt_resolve(p);   /* once the lost connection's process has ended */
    if (p->pipe && waiting(p))
        pump(p);
    else if (!p->pipe)
        idle_read(p);
    /* A server that never answers (a network gone quiet) is a lost one. */
    for (size_t i = p->exp_head; p->conn.conn && i < p->n_exp; i++)
        if (awaited(&p->exp[i]) &&
            store_pg_mono_ms() - p->exp[i].sent_ms > p->lock_timeout_ms + STORE_PG_ANSWER_MS) {
            store_pg_lost(p, p->exp[i].kind == STORE_PG_EXP_COMMIT ? "no answer to COMMIT"
                                                                  : "no answer to a statement given up on");
            break;
        }
}

/* The earliest answer deadline of a COMMIT in flight or a statement given
 * up on, in ms from now; -1: none. */
static int64_t answer_due(const store_pg *p)
{
    int64_t due = -1, now = store_pg_mono_ms();
    for (size_t i = p->exp_head; i < p->n_exp; i++)
        if (awaited(&p->exp[i])) {
            int64_t left = p->exp[i].sent_ms + p->lock_timeout_ms + STORE_PG_ANSWER_MS - now + 1;
            if (due < 0 || left < due)
                due = left < 0 ? 0 : left;
        }
    return due;
}

void store_pg_watch(store *base, store_watch_info *out)
{
    store_pg *p = store_pg_of(base);
    store_pg_coord_step(p);              /* the identify lock's connection, connecting */
    if (!p->conn.conn) {                 /* lost: reconnect when the backoff ends */
        if (p->uri) {
            int64_t left = p->retry_at_ms - store_pg_mono_ms();
            out->due_in_ms = left < 0 ? 0 : left;
        }
        return;
    }
    out->fd = PQsocket(p->conn.conn);
    out->gen = p->conn.gen;
    if (p->conn.state != STORE_PG_READY) {
        out->want_read = p->conn.state == STORE_PG_WANT_READ;
        out->want_write = p->conn.state == STORE_PG_WANT_WRITE;
        return;
    }
    out->want_read = 1;                  /* results, notices, the server closing it */
    out->want_write = PQflush(p->conn.conn) == 1;
    out->due_in_ms = answer_due(p);
    if (p->doubt.n) {                    /* a lost COMMIT: look again whether its process ended */
        int64_t left = p->doubt.next_look_ms - store_pg_mono_ms();
        if (left < 0)
            left = 0;
        if (out->due_in_ms < 0 || left < out->due_in_ms)
            out->due_in_ms = left;       /* a time, not a delay: the loop asks before each turn */
    }
}

/* Waits for the socket (readable, or writable while libpq holds output). */
static void wait_socket(store_pg *p, int timeout_ms)
{
    struct pollfd f = { .fd = PQsocket(p->conn.conn), .events = POLLIN };
    if (PQflush(p->conn.conn) == 1)
        f.events |= POLLOUT;
    if (f.fd >= 0)
        poll(&f, 1, timeout_ms < 0 ? 0 : timeout_ms);
}

void store_pg_wait(store *base, int timeout_ms)
{
    store_pg *p = store_pg_of(base);
    int64_t end = store_pg_mono_ms() + timeout_ms;
    while (store_pg_in_flight(base) && !p->head.n_submitted && store_pg_mono_ms() < end) {
        if (!p->conn.conn || p->conn.state != STORE_PG_READY) {
            /* a COMMIT in doubt is settled once connected again */
            struct timespec nap = { 0, 5000000 };
            if (!p->doubt.n)
                break;
            if (!store_pg_ready(p))
                nanosleep(&nap, NULL);
            continue;
        }
        if (p->doubt.n && !waiting(p)) {
            /* Never wait for the lost connection's process to end: it may be
             * stopped for as long as it likes.  The loop looks again. */
            store_pg_doubt_resolve(p);
            if (p->doubt.n)
                break;
            continue;
        }
        wait_socket(p, (int)(end - store_pg_mono_ms()));
        pump(p);
    }
}

dc_err store_pg_push(store_pg *p)
{
    if (p->pipe && pump(p) != 0)
        return store_pg_not_ready(p, "deleting members");
    return DC_OK;
}

dc_err store_pg_settle(store_pg *p)
{
    if (!p->pipe)
        return DC_OK;
    dc_err rc = store_pg_batch_flush(p);
    if (rc == DC_OK && waiting(p) && p->exp[p->n_exp - 1].kind != STORE_PG_EXP_SYNC)
        rc = sync_point(p);
    /* The loop's statements go into the pipeline behind it (store_pg_ask):
     * nothing to wait for here. */
    int64_t end = store_pg_mono_ms() + (p->answer_wait_ms > 0 ? 0 : p->lock_timeout_ms + STORE_PG_SETTLE_SLACK_MS);
    if (rc == DC_OK && p->answer_wait_ms > 0)
        pump(p);
    while (rc == DC_OK && p->answer_wait_ms <= 0 && p->pipe && pump(p) == 0 && waiting(p)) {
        if (store_pg_mono_ms() >= end) {
            store_pg_lost(p, "no answer within lock_timeout");
            break;
        }
        wait_socket(p, (int)(end - store_pg_mono_ms()));
    }
    if (!p->conn.conn)
        return store_pg_not_ready(p, "sync");
    if (rc != DC_OK || !p->pipe_failed)
        return rc;
    return broken(p);
}

/* A queued write of the open transaction failed: it is aborted. */
static dc_err broken(store_pg *p)
{
    p->tx_broken = 1;
    p->pipe_failed = 0;
    if (p->pipe_why && !p->refused)
        p->refused = p->pipe_why;
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s", p->pipe_msg);
    return p->refused == 1 ? DC_ERR_BUSY : p->refused == 2 ? DC_ERR_IO : DC_ERR_DB;
}

/* ---- a statement the loop waits for, bounded ------------------------------- */

void store_pg_undo(store_pg *p, const char *sql)
{
    if (!p->conn.conn || p->conn.state != STORE_PG_READY)
        return;                      /* lost: the server undid it */
    if (p->answer_wait_ms > 0) {     /* nobody needs its answer: it goes, in order, unwaited */
        if (store_pg_send_sql(p, sql, sql) == DC_OK)
            store_pg_push(p);
        return;
    }
    store_pg_settle(p);
    if (p->conn.conn)
        PQclear(PQexec(p->conn.conn, sql));
}

static void abandon(store_pg *p, uint64_t ticket)
{
    for (size_t i = p->exp_head; i < p->n_exp; i++)
        if (p->exp[i].kind == STORE_PG_EXP_ASK && p->exp[i].ticket == ticket)
            p->exp[i].abandoned = 1;
}

static dc_err slow(store_pg *p, const char *what, const char *how)
{
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s: PostgreSQL %s (slow or unreachable); not waiting on it",
             what, how);
    if (!p->refused)
        p->refused = 1;
    return DC_ERR_BUSY;
}

static dc_err ask_send(store_pg *p, const store_pg_stmt *st, const char *sql, int n, const char *const *params,
                       const char *what)
{
    dc_err rc = store_pg_batch_flush(p);     /* in order: the deletes queued before it */
    if (rc == DC_OK)
        rc = enter(p, what);
    if (rc == DC_OK && st)
        rc = send_prepare(p, st, n, what);
    store_pg_expect *e = rc == DC_OK ? expect(p, STORE_PG_EXP_ASK) : NULL;
    if (rc != DC_OK)
        return rc;
    if (!e)
        return DC_ERR_NOMEM;
    e->ticket = ++p->ask_ticket;
    e->sent_ms = store_pg_mono_ms();
    PQclear(p->ask_res);
    p->ask_res = NULL;
    p->ask_got = 0;
    int sent = st ? PQsendQueryPrepared(p->conn.conn, st->name, n, params, NULL, NULL, 0)
                  : PQsendQueryParams(p->conn.conn, sql, 0, NULL, NULL, NULL, NULL, 0);
    if (!sent)
        return send_failed(p, what);
    return sync_point(p);            /* the server answers at a sync point (or a flush) */
}

/* Waits for the ticket's answer until end; DC_OK once it is in ask_res. */
static dc_err ask_wait(store_pg *p, store_pg_ask_kind kind, int64_t end, const char *what)
{
    while (!p->ask_got) {
        if (pump(p) != 0)
            return store_pg_not_ready(p, what);
        if (p->ask_got)
            break;
        int64_t left = end - store_pg_mono_ms();
        if (left <= 0 && kind == STORE_PG_ASK_COMMIT) {
            store_pg_lost(p, "no answer to COMMIT");     /* in doubt, as a turn's would be */
            return store_pg_not_ready(p, what);
        }
        if (left <= 0) {
            abandon(p, p->ask_ticket);
            char how[64];
            snprintf(how, sizeof how, "did not answer within %d ms", p->answer_wait_ms);
            return slow(p, what, how);
        }
        wait_socket(p, (int)left);
    }
    return DC_OK;
}

dc_err store_pg_ask(store_pg *p, store_pg_ask_kind kind, const store_pg_stmt *st, const char *sql, int n,
                    const char *const *params, PGresult **res, const char *what)
{
    if (res)
        *res = NULL;
    if (!store_pg_ready(p))
        return store_pg_not_ready(p, what);
    if (p->pipe && pump(p) != 0)     /* what arrived meanwhile: perhaps no longer behind */
        return store_pg_not_ready(p, what);
    if (store_pg_behind(p))
        return slow(p, what, "has not answered an earlier statement yet");
    dc_err rc = ask_send(p, st, sql, n, params, what);
    if (rc != DC_OK)
        return rc;
    int64_t wait = kind == STORE_PG_ASK_COMMIT ? p->lock_timeout_ms + STORE_PG_ANSWER_MS : p->answer_wait_ms;
    rc = ask_wait(p, kind, store_pg_mono_ms() + wait, what);
    if (rc != DC_OK)
        return rc;
    PGresult *r = p->ask_res;
    p->ask_res = NULL;
    ExecStatusType t = PQresultStatus(r);
    if (t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return DC_OK;
    }
    if (p->pipe_failed && p->tx_depth) {
        PQclear(r);                  /* a queued write before it failed: that is the reason */
        return broken(p);
    }
    rc = store_pg_check_lost(p, r) ? store_pg_not_ready(p, what) : store_pg_fail(p, r, what);
    /* PostgreSQL has aborted the turn's transaction (no savepoint around a
     * bare statement): its COMMIT is refused for this statement's reason
     * (a lock: busy, redone as it was), not for "transaction is aborted". */
    if (p->conn.conn && p->tx_depth && p->bare_writes)
        record_failure(p, r);
    PQclear(r);
    return rc;
}

dc_err store_pg_ask_commit(store_pg *p, PGresult **res)
{
    dc_err rc = store_pg_ask(p, STORE_PG_ASK_COMMIT, NULL, "COMMIT", 0, NULL, res, "COMMIT");
    p->pipe_failed = 0;              /* every answer before it is in: a failure there made it ROLLBACK */
    return rc;
}

/* ---- the asynchronous commit ---------------------------------------------- */

/* The transaction is not handed over: rolled back (when the connection
 * still has it) and its outcome queued at once, for store_service. */
static void refuse_now(store_pg *p, store_done_fn done, void *ctx, store_outcome o, const char *why)
{
    char msg[sizeof p->head.errmsg];
    snprintf(msg, sizeof msg, "%s", why);
    if (p->conn.conn && p->conn.state == STORE_PG_READY) {
        store_pg_settle(p);
        store_pg_tx_gone(p);
        store_pg_undo(p, "ROLLBACK");
    }
    p->tx_broken = 0;
    p->tx_depth = 0;
    store_submit_push(&p->head, done, ctx, o, msg, NULL);
}

dc_err store_pg_commit_submit(store *base, store_done_fn done, void *ctx)
{
    store_pg *p = store_pg_of(base);
    if (!p->conn.conn || p->conn.state != STORE_PG_READY) {
        refuse_now(p, done, ctx, STORE_RETRY_BUSY, "not connected to PostgreSQL (reconnecting)");
        return DC_OK;
    }
    if (p->tx_broken) {
        refuse_now(p, done, ctx, p->refused == 1 ? STORE_RETRY_BUSY : p->refused == 2 ? STORE_RETRY_FULL
                                                                                     : STORE_FAILED,
                   p->head.errmsg);
        return DC_OK;
    }
    int64_t mark = 0;
    dc_err rc = enter(p, "COMMIT");
    if (rc == DC_OK)
        rc = store_pg_doubt_mark(p, &mark);      /* flushes the queued deletes first */
    if (rc == DC_OK)
        rc = sync_point(p);          /* a failed write ends its segment here; COMMIT then rolls back */
    store_pg_expect *e = rc == DC_OK ? expect(p, STORE_PG_EXP_COMMIT) : NULL;
    if (!e) {                        /* lost (a retry), or out of memory: not committed */
        refuse_now(p, done, ctx, p->conn.conn ? STORE_FAILED : STORE_RETRY_BUSY, p->head.errmsg);
        return DC_OK;
    }
    e->done = done;
    e->ctx = ctx;
    e->totals = p->head.tx_members;
    e->sent_ms = store_pg_mono_ms();
    e->mark = mark;
    memset(&p->head.tx_members, 0, sizeof p->head.tx_members);
    p->tx_depth = 0;
    if (!PQsendQueryParams(p->conn.conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0)) {
        send_failed(p, "COMMIT");    /* lost: the outcome is STORE_RETRY_BUSY */
        return DC_OK;
    }
    if (sync_point(p) == DC_OK)
        pump(p);
    return DC_OK;
}

void store_pg_pipe_free(store_pg *p)
{
    while (waiting(p))
        pop(p);
    free(p->exp);
    p->exp = NULL;
    p->exp_head = p->n_exp = p->cap_exp = 0;
    PQclear(p->ask_res);
    p->ask_res = NULL;
    store_pg_batch_free(p);
    free(p->uri);
    p->uri = NULL;
}
