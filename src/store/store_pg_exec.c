/* store_pg_exec.c - running one statement on the PostgreSQL backend's
 * connection: prepared by name on first use, text parameters, and every
 * failure sorted the way the daemon acts on it (store_pg_internal.h).
 *
 * A statement's parameters are sent as text with no type: PostgreSQL takes
 * each one's type from where it stands (the column it is compared with),
 * so one statement serves a users table whose ids are BIGINT, NUMERIC,
 * TEXT or VARCHAR. */
#include "store/store_pg_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SQLSTATEs that waiting cures: another session held a lock past
 * lock_timeout (55P03), a deadlock or serialization victim, a statement
 * cancelled by statement_timeout.  Disk full (53100) waits too, but says so. */
int store_pg_refusal(const PGresult *r)
{
    const char *sqlstate = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (!sqlstate)
        return 0;
    if (strcmp(sqlstate, "55P03") == 0 || strcmp(sqlstate, "40P01") == 0 ||
        strcmp(sqlstate, "40001") == 0 || strcmp(sqlstate, "57014") == 0)
        return 1;
    if (strcmp(sqlstate, "53100") == 0)
        return 2;
    return 0;
}

/* The first line of libpq's message (it ends with a newline and may carry
 * DETAIL/HINT lines the one-line log does not want). */
void store_pg_first_line(char *dst, size_t cap, const char *msg)
{
    size_t n = strcspn(msg ? msg : "", "\n");
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, msg ? msg : "", n);
    dst[n] = '\0';
}

dc_err store_pg_fail(store_pg *p, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : "";
    char line[400];
    if (!msg || !msg[0])
        msg = p->conn.conn ? PQerrorMessage(p->conn.conn) : "no connection";
    store_pg_first_line(line, sizeof line, msg);
    snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s: %s", what, line);
    int why = store_pg_refusal(r);
    if (why && !p->refused)
        p->refused = why;
    if (why == 1)
        return DC_ERR_BUSY;
    if (why == 2)
        return DC_ERR_IO;
    if (!p->conn.conn || PQstatus(p->conn.conn) != CONNECTION_OK)
        return DC_ERR_UNAVAIL;
    if (r && PQresultStatus(r) == PGRES_FATAL_ERROR && state && strncmp(state, "42", 2) == 0)
        return DC_ERR_SCHEMA;        /* syntax or access rule: a table or column not as expected */
    return DC_ERR_DB;
}

int store_pg_needs_prepare(store_pg *p, const store_pg_stmt *st, const char *what, dc_err *rc)
{
    *rc = DC_OK;
    for (int i = 0; i < p->n_prepared; i++)
        if (p->prepared[i] == st)
            return 0;
    if (p->n_prepared == STORE_PG_MAX_PREPARED) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s: more than %d statements", what,
                 STORE_PG_MAX_PREPARED);
        *rc = DC_ERR_INTERNAL;
        return 0;
    }
    return 1;
}

static dc_err prepare(store_pg *p, const store_pg_stmt *st, int n, const char *what)
{
    dc_err rc;
    if (!store_pg_needs_prepare(p, st, what, &rc))
        return rc;
    PGresult *r = PQprepare(p->conn.conn, st->name, st->sql, n, NULL);
    rc = PQresultStatus(r) == PGRES_COMMAND_OK ? DC_OK : store_pg_fail(p, r, what);
    PQclear(r);
    if (rc == DC_OK)
        p->prepared[p->n_prepared++] = st;
    return rc;
}

static int result_ok(const PGresult *r)
{
    ExecStatusType t = PQresultStatus(r);
    return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

dc_err store_pg_run(store_pg *p, const store_pg_stmt *st, int n, const char *const *params,
                    PGresult **res, const char *what)
{
    if (res)
        *res = NULL;
    if (!store_pg_ready(p))
        return store_pg_not_ready(p, what);
    if (!res && store_pg_queueing(p))
        return store_pg_send(p, st, n, params, what);    /* the turn's write: no wait (store_pg_pipe.c) */
    if (p->answer_wait_ms > 0)
        return store_pg_ask(p, STORE_PG_ASK_NORMAL, st, NULL, n, params, res, what);
    dc_err rc = store_pg_settle(p);
    if (rc == DC_OK)
        rc = prepare(p, st, n, what);
    if (rc != DC_OK)
        return rc;
    PGresult *r = PQexecPrepared(p->conn.conn, st->name, n, params, NULL, NULL, 0);
    if (!result_ok(r)) {
        rc = store_pg_check_lost(p, r) ? store_pg_not_ready(p, what) : store_pg_fail(p, r, what);
        PQclear(r);
        return rc;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return DC_OK;
}

/* With an answer wait (the loop): an undo goes unwaited, a COMMIT waits
 * for its answer (bounded), anything else is asked (store_pg_ask). */
static dc_err exec_asked(store_pg *p, const char *sql, const char *what)
{
    if (strncmp(sql, "ROLLBACK", 8) == 0 || strncmp(sql, "RELEASE", 7) == 0) {
        store_pg_undo(p, sql);
        return p->conn.conn ? DC_OK : store_pg_not_ready(p, what);
    }
    if (strcmp(sql, "COMMIT") == 0)
        return store_pg_ask_commit(p, NULL);
    return store_pg_ask(p, STORE_PG_ASK_NORMAL, NULL, sql, 0, NULL, NULL, what);
}

dc_err store_pg_exec(store_pg *p, const char *sql, const char *what)
{
    if (!store_pg_ready(p))
        return store_pg_not_ready(p, what);
    if (p->answer_wait_ms > 0)
        return exec_asked(p, sql, what);
    dc_err rc = store_pg_settle(p);
    if (rc != DC_OK)
        return rc;
    PGresult *r = PQexec(p->conn.conn, sql);
    rc = result_ok(r) ? DC_OK : store_pg_check_lost(p, r) ? store_pg_not_ready(p, what) : store_pg_fail(p, r, what);
    PQclear(r);
    return rc;
}

int64_t store_pg_int(const PGresult *res, int r, int c)
{
    if (PQgetisnull(res, r, c))
        return 0;
    char *end = NULL;
    const char *v = PQgetvalue(res, r, c);
    long long x = strtoll(v, &end, 10);
    return end && end != v && *end == '\0' ? (int64_t)x : 0;
}

const char *store_pg_u64(store_pg_num *b, uint64_t v)
{
    snprintf(b->s, sizeof b->s, "%" PRIu64, v);
    return b->s;
}

const char *store_pg_i64(store_pg_num *b, int64_t v)
{
    snprintf(b->s, sizeof b->s, "%" PRId64, v);
    return b->s;
}

dc_err store_pg_write_begin(store_pg *p, store_pg_write_mode *mode)
{
    if (p->head.read_only) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "the store is open read-only");
        return DC_ERR_USAGE;
    }
    if (p->tx_broken) {
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "the transaction holds a half-applied write: roll it back first");
        return DC_ERR_DB;
    }
    *mode = !p->tx_depth ? STORE_PG_OWN_TX : p->bare_writes ? STORE_PG_BARE : STORE_PG_SAVEPOINT;
    if (*mode == STORE_PG_OWN_TX)
        return store_pg_exec(p, "BEGIN", "BEGIN");
    if (*mode == STORE_PG_BARE)
        return DC_OK;
    return store_pg_exec(p, "SAVEPOINT store_op", "SAVEPOINT");
}

/* PostgreSQL aborts the whole transaction on a failed statement: only a
 * savepoint (or a transaction of the write's own) confines the failure. */
dc_err store_pg_write_end(store_pg *p, store_pg_write_mode mode, dc_err rc)
{
    if (mode == STORE_PG_BARE) {
        if (rc != DC_OK)
            p->tx_broken = 1;
        return rc;
    }
    if (mode == STORE_PG_SAVEPOINT) {
        if (rc != DC_OK)
            store_pg_exec(p, "ROLLBACK TO store_op", "ROLLBACK TO");
        dc_err rel = store_pg_exec(p, "RELEASE store_op", "RELEASE");
        return rc != DC_OK ? rc : rel;
    }
    if (rc == DC_OK && (rc = store_pg_exec(p, "COMMIT", "COMMIT")) == DC_OK)
        return DC_OK;
    store_pg_tx_gone(p);
    store_pg_undo(p, "ROLLBACK");
    return rc;
}

dc_err store_pg_write(store_pg *p, const store_pg_stmt *st, int n, const char *const *params,
                      PGresult **res, const char *what)
{
    store_pg_write_mode mode;
    if (res)
        *res = NULL;
    dc_err rc = store_pg_write_begin(p, &mode);
    if (rc != DC_OK)
        return rc;
    rc = store_pg_write_end(p, mode, store_pg_run(p, st, n, params, res, what));
    if (rc != DC_OK && res) {
        PQclear(*res);            /* not committed: its rows are no answer */
        *res = NULL;
    }
    return rc;
}
