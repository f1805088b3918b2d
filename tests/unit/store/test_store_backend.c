/* test_store_backend.c - the seams of the store interface (store.c):
 * which backend serves a path (a postgresql:// URI goes to libpq, never
 * to a file of that name), whether a database exists, the store's global set-up and --version line, a fixture's
 * seed run as data only through the store (store_seed_sql), and the
 * outcome text of a sweep request. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <libpq-fe.h>
#include "store_fixture.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_requests.h"

/* A fresh, migrated database in its own directory. */
static int setup(void **state)
{
    fx_dir *d = calloc(1, sizeof *d);
    store *s = NULL;
    char err[256];
    fx_mkdir(d);
    assert_int_equal(store_open(&s, d->db, NULL, err, sizeof err), DC_OK);
    store_close(s);
    *state = d;
    return 0;
}

static int teardown(void **state)
{
    fx_rmdir(*state);
    free(*state);
    return 0;
}

/* A postgresql:// URI goes to libpq, never to a file of that name: with no
 * server there the open fails, without the URI's password in the message. */
static void postgresql_urls_go_to_libpq_not_to_files(void **state)
{
    (void)state;
    static const struct { const char *url; dc_err want; } urls[] = {
        { "postgresql://cleaner:s3cret@127.0.0.1:1/bot", DC_ERR_UNAVAIL },   /* nothing listens */
        { "postgres://cleaner:s3cret@127.0.0.1:1/bot", DC_ERR_UNAVAIL },
        { "PostgreSQL://cleaner:s3cret@127.0.0.1:1/b", DC_ERR_CONFIG },      /* libpq wants lower case */
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        store *s = (store *)&s;                      /* must come back NULL */
        char err[512] = "";
        assert_int_equal(store_open(&s, urls[i].url, NULL, err, sizeof err), urls[i].want);
        assert_null(s);
        assert_non_null(strstr(err, "db: "));
        assert_null(strstr(err, "s3cret"));          /* a URI's password is never echoed */
    }
    struct stat sb;
    assert_int_not_equal(stat("postgresql:", &sb), 0);   /* nothing was created for it */
    assert_int_not_equal(stat("postgres:", &sb), 0);
}

/* Anything that is not a postgresql:// URL is an SQLite file, even a name
 * that starts like one. */
static void other_paths_are_sqlite_files(void **state)
{
    fx_dir *d = *state;
    char path[256], err[256];
    store *s = NULL;
    snprintf(path, sizeof path, "%s/postgresql-notes.db", d->dir);
    assert_int_equal(store_open(&s, path, NULL, err, sizeof err), DC_OK);
    assert_int_equal(store_schema_version(s), store_latest_schema_version());
    store_close(s);
    assert_int_equal(fx_int_at(path, "PRAGMA user_version"), store_latest_schema_version());
    store_close(NULL);                               /* harmless */
}

/* status asks before opening: opening an SQLite path would create the file. */
static void exists_looks_without_creating(void **state)
{
    fx_dir *d = *state;
    char path[256], err[256] = "";
    int exists = -1;
    assert_int_equal(store_exists(d->db, &exists, err, sizeof err), DC_OK);
    assert_int_equal(exists, 1);
    snprintf(path, sizeof path, "%s/none.db", d->dir);
    assert_int_equal(store_exists(path, &exists, err, sizeof err), DC_OK);
    assert_int_equal(exists, 0);
    assert_int_equal(fx_count_files(d, "none"), 0);
    assert_int_equal(store_exists("", &exists, NULL, 0), DC_OK);
    assert_int_equal(exists, 0);
    assert_int_equal(store_exists(NULL, &exists, NULL, 0), DC_OK);
    assert_int_equal(exists, 0);
}

static void versions_name_each_backend_and_its_library(void **state)
{
    (void)state;
    char want[64];
    int v = PQlibVersion();
    snprintf(want, sizeof want, "SQLite %s, libpq %d.%d", sqlite3_libversion(), v / 10000, v % 10000);
    assert_string_equal(store_backend_versions(), want);
}

/* main() calls store_global_init before any store call; run first here
 * too, it turns off SQLite's allocation statistics (the mutex they cost). */
static void global_init_turns_off_allocation_statistics(void **state)
{
    fx_dir *d = *state;
    sqlite3_int64 used = -1, high = -1;
    store *s = NULL;
    char err[256];
    assert_int_equal(store_open(&s, d->db, NULL, err, sizeof err), DC_OK);
    assert_int_equal(sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &used, &high, 0), SQLITE_OK);
    assert_int_equal(used, 0);                       /* counted: the store would use memory */
    store_close(s);
}

static void seed_inserts_rows(void **state)
{
    fx_dir *d = *state;
    char err[256] = "x";
    assert_int_equal(store_seed_sql(d->db, "INSERT INTO cleaner_session_state (key, value) "
                                           "VALUES ('a', '1'), ('b', '2');", 0, err, sizeof err), DC_OK);
    assert_string_equal(err, "");
    assert_int_equal(fx_int_at(d->db, "SELECT count(*) FROM cleaner_session_state"), 2);
}

/* A refused statement anywhere refuses the whole text: the INSERT before it
 * is not applied either. */
static void seed_refuses_a_delete_and_applies_nothing(void **state)
{
    fx_dir *d = *state;
    char err[256] = "";
    assert_int_equal(store_seed_sql(d->db, "INSERT INTO cleaner_session_state (key, value) VALUES ('a', '1');"
                                           "DELETE FROM users;", 0, err, sizeof err), DC_ERR_DB);
    assert_non_null(strstr(err, "refused: DELETE (users) is not allowed; a fixture's seed_sql may only insert rows"));
    assert_int_equal(fx_int_at(d->db, "SELECT count(*) FROM cleaner_session_state"), 0);
}

static void seed_creates_tables_only_when_allowed(void **state)
{
    fx_dir *d = *state;
    char err[256] = "";
    const char *ddl = "CREATE TABLE legacy (id INTEGER); INSERT INTO legacy VALUES (7);";
    assert_int_equal(store_seed_sql(d->db, ddl, 0, err, sizeof err), DC_ERR_DB);
    /* CREATE's first step is writing its row into the schema table */
    assert_non_null(strstr(err, "refused: INSERT (sqlite_master) is not allowed; a fixture's seed_sql "
                                "may only insert rows"));
    assert_int_equal(fx_int_at(d->db, "SELECT count(*) FROM sqlite_master WHERE name = 'legacy'"), 0);
    assert_int_equal(store_seed_sql(d->db, ddl, 1, err, sizeof err), DC_OK);
    assert_int_equal(fx_int_at(d->db, "SELECT id FROM legacy"), 7);
    assert_int_equal(store_seed_sql(d->db, "ATTACH 'x.db' AS x;", 1, err, sizeof err), DC_ERR_DB);
    assert_non_null(strstr(err, "refused: ATTACH"));
    assert_non_null(strstr(err, "pre_migration_sql may only create tables and indexes and insert rows"));
}

static void seed_needs_a_path_and_text(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(store_seed_sql("", "SELECT 1", 0, err, sizeof err), DC_ERR_USAGE);
    assert_int_equal(store_seed_sql("/tmp/x.db", NULL, 0, err, sizeof err), DC_ERR_USAGE);
    assert_int_equal(store_seed_sql("/nonexistent/dir/bot.db", "SELECT 1", 0, NULL, 0), DC_ERR_IO);
}

static void request_outcome_grows_a_line_at_a_time(void **state)
{
    (void)state;
    store_request_outcome o = { 0 };
    char line[64];
    assert_null(o.text);
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof line, "guild %d: ok\n", i);
        store_request_outcome_add(&o, line);
    }
    assert_int_equal(o.failed, 0);
    assert_int_equal(o.len, strlen(o.text));
    assert_true(strncmp(o.text, "guild 0: ok\nguild 1: ok\n", 24) == 0);
    assert_non_null(strstr(o.text, "guild 99: ok\n"));
    store_request_outcome_free(&o);
    assert_null(o.text);
    assert_int_equal(o.len, 0);
}

int main(void)
{
    store_global_init();
    log_set_level(DCL_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(global_init_turns_off_allocation_statistics),
        cmocka_unit_test(postgresql_urls_go_to_libpq_not_to_files),
        T(other_paths_are_sqlite_files),
        T(exists_looks_without_creating),
        cmocka_unit_test(versions_name_each_backend_and_its_library),
        T(seed_inserts_rows),
        T(seed_refuses_a_delete_and_applies_nothing),
        T(seed_creates_tables_only_when_allowed),
        cmocka_unit_test(seed_needs_a_path_and_text),
        cmocka_unit_test(request_outcome_grows_a_line_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
