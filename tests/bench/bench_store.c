/* bench_store.c - where a bench's rows are measured: the SQLite file in the
 * bench's scratch folder, or (issue #16) a fresh PostgreSQL database in the
 * cluster `make bench` starts around the runner (tests/pg/with-pg.sh
 * exports its URI as DC_TEST_PG_URI; without one, DC_TEST_PG_SKIPPED says
 * why).  The benches' code paths are the same for both: only the db
 * string and the few helpers here differ. */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "daemon_harness.h"
#include "../unit/pg_fixture.h"

static int is_pg(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

/* "SHOW name" on the cluster, into out ("?" when it fails). */
static void show(const char *name, char *out, size_t cap)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SHOW %s", name);
    PGconn *c = PQconnectdb(pgfx_cluster());
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    snprintf(out, cap, "%s", PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    PQfinish(c);
}

const char *bench_pg_label(void)
{
    static char label[48];
    if (!label[0]) {
        char fsync[16], sync_commit[16];
        show("fsync", fsync, sizeof fsync);
        show("synchronous_commit", sync_commit, sizeof sync_commit);
        /* fsync off flatters PostgreSQL: a COMMIT does not wait for the disk. */
        snprintf(label, sizeof label, "on PG (fsync %s%s)", fsync,
                 strcmp(sync_commit, fsync) == 0 ? "" : strcmp(sync_commit, "off") == 0 ? ", async commit" : ", sync commit");
    }
    return label;
}

int bench_pg_ready(void)
{
    static int said;
    if (pgfx_cluster())
        return 1;
    if (!said++) {
        const char *why = getenv("DC_TEST_PG_SKIPPED");
        printf("  PostgreSQL rows skipped: %s\n",
               why && why[0] ? why : "no cluster (DC_TEST_PG_URI unset: run through make bench or tests/pg/with-pg.sh)");
    }
    return 0;
}

int bench_pg_fresh(char *db, size_t cap, const char *tag)
{
    if (pgfx_fresh(db, cap, tag) == 0)
        return 0;
    bench_row(bench_fmt("%s on PG", tag), "could not create its database", "-", BENCH_MISSED);
    return -1;
}

void bench_pg_drop(const char *tag)
{
    pgfx_drop(tag);
}

/* The users table of a fresh database (BIGINT ids, as `migrate` makes
 * them), filled by the server itself, analysed and checkpointed so that
 * neither autovacuum's first look nor the fill's checkpoint lands in the
 * measurement (as bench_db_fill's sync() does for SQLite). */
static int pg_fill(const char *db, uint64_t guild_id, uint64_t first_id, int64_t count)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS users (discord_id BIGINT NOT NULL, guild_id BIGINT, username TEXT, "
             "UNIQUE (discord_id, guild_id)); INSERT INTO users (discord_id, guild_id, username) "
             "SELECT %llu + k, %llu, 'bench' FROM generate_series(0, %lld) k",
             (unsigned long long)first_id, (unsigned long long)guild_id, (long long)count - 1);
    if (pgfx_exec(db, sql) != 0 || pgfx_exec(db, "VACUUM ANALYZE users") != 0 || pgfx_exec(db, "CHECKPOINT") != 0)
        return -1;
    return 0;
}

int bench_db_fill(const char *db, uint64_t guild_id, uint64_t first_id, int64_t count)
{
    return is_pg(db) ? pg_fill(db, guild_id, first_id, count) : bench_sqlite_fill(db, guild_id, first_id, count);
}

int64_t bench_db_int(const char *db, const char *sql)
{
    return is_pg(db) ? pgfx_int(db, sql) : dh_db_int(db, sql);
}
