/* store_pg_migrate.c - the PostgreSQL backend's migrations: schema/pg/
 * NNNN_name.sql, the same numbered sequence as SQLite's schema/, each run
 * in a transaction of its own (PostgreSQL's DDL is transactional, so a
 * migration that fails leaves the database exactly as it was) and recorded
 * in cleaner_schema_version, since PostgreSQL has no user_version.
 *
 * Several cleaner processes of one bot may start at once on one database:
 * each migration takes a transaction-level advisory lock first and reads
 * the version again under it, so exactly one of them runs it. */
#include "store/store_pg_internal.h"

#include <stdio.h>
#include <string.h>

#include "store/schema.h"

/* pg_advisory_xact_lock's key for migrations: "dcmigr" in ASCII. */
#define MIGRATE_LOCK_KEY "110386121111410"

static const store_pg_stmt ST_VERSION_TABLE = {
    "dc_version_table",
    "SELECT to_regclass('cleaner_schema_version') IS NOT NULL",
};
static const store_pg_stmt ST_VERSION = {
    "dc_version",
    "SELECT coalesce(max(version), 0) FROM cleaner_schema_version",
};
static const store_pg_stmt ST_VERSION_ADD = {
    "dc_version_add",
    "INSERT INTO cleaner_schema_version (version, name) VALUES ($1, $2)",
};

int store_pg_latest_version(void)
{
    return schema_pg_migration_count ? schema_pg_migrations[schema_pg_migration_count - 1].version : 0;
}

/* The version applied, 0 for a database the daemon never migrated. */
static dc_err read_version(store_pg *p, int *version)
{
    PGresult *r = NULL;
    *version = 0;
    dc_err rc = store_pg_run(p, &ST_VERSION_TABLE, 0, NULL, &r, "reading the schema version");
    int exists = rc == DC_OK && PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (rc != DC_OK || !exists)
        return rc;
    rc = store_pg_run(p, &ST_VERSION, 0, NULL, &r, "reading the schema version");
    if (rc == DC_OK)
        *version = (int)store_pg_int(r, 0, 0);
    PQclear(r);
    return rc;
}

/* One migration in one transaction; *ran = 0 when another process had
 * already run it.  Migration 1 first migrates the legacy users table
 * (store_pg_legacy.c), in the same transaction. */
static dc_err run_one(store_pg *p, const schema_migration *m, uint64_t legacy_guild_id,
                      store_migration_report *rep, int *ran)
{
    char what[160];
    int now = 0;
    *ran = 0;
    snprintf(what, sizeof what, "migration %s", m->name);
    dc_err rc = store_pg_exec(p, "BEGIN", what);
    if (rc == DC_OK)
        rc = store_pg_exec(p, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", what);
    if (rc == DC_OK)
        rc = store_pg_exec(p, "CREATE TABLE IF NOT EXISTS cleaner_schema_version ("
                              "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                              "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())", what);
    if (rc == DC_OK)
        rc = read_version(p, &now);
    if (rc == DC_OK && now < m->version) {
        store_pg_num v;
        const char *params[2] = { store_pg_i64(&v, m->version), m->name };
        if (m->version == 1)
            rc = store_pg_legacy(p, legacy_guild_id, rep);
        if (rc == DC_OK)
            rc = store_pg_exec(p, m->sql, what);
        if (rc == DC_OK)
            rc = store_pg_run(p, &ST_VERSION_ADD, 2, params, NULL, what);
        *ran = rc == DC_OK;
    }
    if (rc == DC_OK)
        rc = store_pg_exec(p, "COMMIT", what);
    if (rc != DC_OK) {
        char keep[sizeof p->head.errmsg];
        snprintf(keep, sizeof keep, "%s", p->head.errmsg);
        store_pg_exec(p, "ROLLBACK", what);
        snprintf(p->head.errmsg, sizeof p->head.errmsg, "%s", keep);
        rep->legacy_rebuilt = 0;
        rep->backup_path[0] = '\0';
    }
    return rc;
}

dc_err store_pg_migrate(store_pg *p, uint64_t legacy_guild_id, int read_only, store_migration_report *rep,
                        char *err, size_t errlen)
{
    int version = 0;
    dc_err rc = read_version(p, &version);
    memset(rep, 0, sizeof *rep);
    rep->from_version = rep->to_version = version;
    if (rc != DC_OK || read_only || version >= store_pg_latest_version()) {
        if (rc != DC_OK)
            snprintf(err, errlen, "%s", p->head.errmsg);
        return rc;
    }
    for (int i = 0; i < schema_pg_migration_count; i++) {
        const schema_migration *m = &schema_pg_migrations[i];
        int ran = 0;
        if (m->version <= version)
            continue;
        if ((rc = run_one(p, m, legacy_guild_id, rep, &ran)) != DC_OK) {
            snprintf(err, errlen, "%s (the database is as it was before this migration)", p->head.errmsg);
            return rc;
        }
        rep->to_version = m->version;
    }
    return DC_OK;
}
