/* store_both.h - a store test run on both backends with the same
 * assertions: SQLite on a temporary file, PostgreSQL on a fresh database of
 * the test cluster (skipped without one, failed under CI: pgfx_need).
 * Header-only, like the other fixtures: define STORE_BOTH_TAG (the
 * PostgreSQL database's tag) and include it after cmocka.h; list each test
 * with BOTH(name). */
#ifndef DC_STORE_BOTH_H
#define DC_STORE_BOTH_H

#include <string.h>
#include "pg_fixture.h"
#include "store_fixture.h"
#include "store/store.h"

#ifndef STORE_BOTH_TAG
#error "define STORE_BOTH_TAG before including store_both.h"
#endif

typedef struct {
    int pg;
    fx_dir d;
    char uri[512];
    const char *path;
    store *s;
} fx;

static store *open_store(fx *f, int read_only)
{
    store *s = NULL;
    char err[512] = "";
    store_opts o = { .read_only = read_only };
    if (store_open(&s, f->path, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

static int setup_backend(void **state, int pg)
{
    static fx f;
    memset(&f, 0, sizeof f);
    f.pg = pg;
    *state = &f;
    if (pg) {
        if (!pgfx_cluster())
            return 0;
        if (pgfx_fresh(f.uri, sizeof f.uri, STORE_BOTH_TAG) != 0)
            return -1;
        f.path = f.uri;
    } else {
        fx_mkdir(&f.d);
        f.path = f.d.db;
    }
    f.s = open_store(&f, 0);
    return 0;
}

static int setup_sqlite(void **state) { return setup_backend(state, 0); }
static int setup_pg(void **state) { return setup_backend(state, 1); }

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->s);
    f->s = NULL;
    if (!f->pg)
        fx_rmdir(&f->d);
    else if (pgfx_cluster())
        pgfx_drop(STORE_BOTH_TAG);
    return 0;
}

/* The database as a schema before `version` left it (the table that
 * version added dropped, the recorded version one lower), opened
 * read-only as `status` opens it; f->s is closed first. */
static store *open_older_schema(fx *f, const char *table, int version)
{
    char sql[256];
    store_close(f->s);
    f->s = NULL;
    if (f->pg) {
        snprintf(sql, sizeof sql, "DROP TABLE %s; DELETE FROM cleaner_schema_version WHERE version >= %d", table,
                 version);
        assert_int_equal(pgfx_exec(f->uri, sql), 0);
    } else {
        snprintf(sql, sizeof sql, "DROP TABLE %s; PRAGMA user_version = %d;", table, version - 1);
        assert_int_equal(fx_exec_at(f->d.db, sql), SQLITE_OK);
    }
    return open_store(f, 1);
}

static int need(fx *f)
{
    if (f->pg)
        pgfx_need();
    return 1;
}

#define BOTH(name) cmocka_unit_test_setup_teardown(name, setup_sqlite, teardown), \
                   cmocka_unit_test_setup_teardown(name, setup_pg, teardown)

#endif
