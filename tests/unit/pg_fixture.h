/* pg_fixture.h - a fresh PostgreSQL database per test, in the cluster
 * `make check` starts (tests/pg/with-pg.sh exports its URI as
 * DC_TEST_PG_URI), and raw SQL on it.  Header-only: each test is built on
 * its own.
 *
 * pgfx_need() skips the calling cmocka test when no cluster runs, and
 * fails it under CI=true, where the PostgreSQL half must never be skipped.
 * pgfx_fresh() creates database dc_<tag>_<pid> (dropped first if a crashed
 * run left it) and gives its URI; pgfx_drop() drops it; pgfx_restart()
 * restarts the server (a lost connection). */
#ifndef DC_PG_FIXTURE_H
#define DC_PG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

static inline const char *pgfx_cluster(void)
{
    const char *uri = getenv("DC_TEST_PG_URI");
    return uri && uri[0] ? uri : NULL;
}

/* In a cmocka test: skip without a cluster (fail under CI). */
#define pgfx_need()                                                                             \
    do {                                                                                        \
        if (!pgfx_cluster()) {                                                                  \
            if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)                              \
                fail_msg("DC_TEST_PG_URI is unset under CI: make check starts a PostgreSQL cluster"); \
            skip();                                                                             \
        }                                                                                       \
    } while (0)

static inline void pgfx_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Runs sql on the database at uri; 0 when it succeeded.  A failure is
 * printed (the tests then fail on their own assertions). */
static inline int pgfx_exec(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    int ok = PQstatus(c) == CONNECTION_OK;
    PQsetNoticeProcessor(c, pgfx_quiet, NULL);        /* "does not exist, skipping" */
    if (ok) {
        PGresult *r = PQexec(c, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
            fprintf(stderr, "pgfx_exec: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "pgfx_exec: %s", PQerrorMessage(c));
    }
    PQfinish(c);
    return ok ? 0 : -1;
}

/* The first value of sql's answer as an integer (-1 on failure). */
static inline long long pgfx_int(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    long long v = -1;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "pgfx_int: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

/* The cluster's URI with its database replaced by dbname (the URI ends
 * with "/DATABASE", maybe followed by "?parameters"). */
static inline void pgfx_uri_for(char *out, size_t cap, const char *dbname)
{
    const char *base = pgfx_cluster();
    const char *q = strchr(base, '?');
    size_t end = q ? (size_t)(q - base) : strlen(base);
    size_t slash = end;
    while (slash > 0 && base[slash - 1] != '/')
        slash--;
    snprintf(out, cap, "%.*s%s%s", (int)slash, base, dbname, q ? q : "");
}

static inline void pgfx_name(char *out, size_t cap, const char *tag)
{
    snprintf(out, cap, "dc_%s_%ld", tag, (long)getpid());
}

/* A new, empty database for this test: its URI in out. */
static inline int pgfx_fresh(char *out, size_t cap, const char *tag)
{
    char name[96], sql[256];
    pgfx_name(name, sizeof name, tag);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    if (pgfx_exec(pgfx_cluster(), sql) != 0)
        return -1;
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    if (pgfx_exec(pgfx_cluster(), sql) != 0)
        return -1;
    pgfx_uri_for(out, cap, name);
    return 0;
}

/* Another session holding `table` in ACCESS EXCLUSIVE mode (a bot's
 * migration, a long report): its open transaction, or NULL when that
 * failed (printed).  pgfx_unlock ends it. */
static inline PGconn *pgfx_lock(const char *uri, const char *table)
{
    char sql[160];
    PGconn *c = PQconnectdb(uri);
    PGresult *r = PQexec(c, "BEGIN");
    PQclear(r);
    snprintf(sql, sizeof sql, "LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", table);
    r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "pgfx_lock: %s", PQerrorMessage(c));
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static inline void pgfx_unlock(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
    PQfinish(c);
}

/* pg_ctl restart -m fast of the test cluster (with-pg.sh exports where it
 * is): every session is closed.  0 when it is up again; -1 when the
 * cluster cannot be restarted from here (the caller skips). */
static inline int pgfx_restart(void)
{
    const char *dir = getenv("DC_TEST_PG_DIR"), *script = getenv("DC_TEST_PG_CLUSTER");
    char cmd[1024];
    if (!dir || !script)
        return -1;
    snprintf(cmd, sizeof cmd, "sh '%s' restart '%s'", script, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static inline void pgfx_drop(const char *tag)
{
    char name[96], sql[256];
    pgfx_name(name, sizeof name, tag);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    pgfx_exec(pgfx_cluster(), sql);
}

#endif
