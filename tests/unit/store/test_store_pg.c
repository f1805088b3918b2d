/* test_store_pg.c - the PostgreSQL backend against a real server (the
 * cluster make check starts; skipped without one, failed under CI):
 * migrations recorded in cleaner_schema_version, one numbered sequence
 * with SQLite's, a second open that runs nothing, read-only opens that
 * create nothing, session state, transactions, and a statement refused
 * for a lock another session holds reported as busy within lock_timeout. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "store/schema.h"
#include "store/store.h"

typedef struct {
    char uri[512];
} pg_db;

static int setup(void **state)
{
    static pg_db db;
    *state = &db;
    if (pgfx_cluster() && pgfx_fresh(db.uri, sizeof db.uri, "store") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (pgfx_cluster())
        pgfx_drop("store");
    return 0;
}

static store *open_ok(const char *uri, int read_only)
{
    store *s = NULL;
    char err[512] = "";
    store_opts o = { .read_only = read_only };
    if (store_open(&s, uri, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

/* Both dialects number their migrations alike: a version means one thing. */
static void the_two_dialects_share_one_sequence(void **state)
{
    (void)state;
    assert_int_equal(schema_pg_migration_count, schema_migration_count);
    for (int i = 0; i < schema_migration_count; i++) {
        assert_int_equal(schema_pg_migrations[i].version, schema_migrations[i].version);
        assert_string_equal(schema_pg_migrations[i].name, schema_migrations[i].name);
    }
}

static void a_fresh_database_is_migrated_and_recorded(void **state)
{
    pg_db *db = *state;
    pgfx_need();
    store *ro = open_ok(db->uri, 1);                   /* read-only: nothing created */
    assert_int_equal(store_schema_version(ro), 0);
    store_close(ro);
    assert_int_equal(pgfx_int(db->uri, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);

    store *s = open_ok(db->uri, 0);
    assert_int_equal(store_schema_version(s), store_latest_schema_version());
    assert_int_equal(store_migration(s)->from_version, 0);
    store_close(s);
    assert_int_equal(pgfx_int(db->uri, "SELECT count(*) FROM cleaner_schema_version"), schema_pg_migration_count);
    assert_int_equal(pgfx_int(db->uri, "SELECT max(version) FROM cleaner_schema_version"),
                     store_latest_schema_version());
    /* A fresh users table has BIGINT NOT NULL ids and the pair unique. */
    assert_int_equal(pgfx_int(db->uri, "SELECT count(*) FROM information_schema.columns WHERE "
                                       "table_name = 'users' AND column_name IN ('discord_id', 'guild_id') "
                                       "AND data_type = 'bigint' AND is_nullable = 'NO'"), 2);

    s = open_ok(db->uri, 0);                           /* again: nothing to run */
    assert_int_equal(store_migration(s)->from_version, store_latest_schema_version());
    assert_int_equal(store_migration(s)->to_version, store_latest_schema_version());
    store_close(s);
}

static void session_state_round_trips(void **state)
{
    pg_db *db = *state;
    pgfx_need();
    store *s = open_ok(db->uri, 0);
    char v[64];
    assert_int_equal(store_kv_get(s, "gw.0.seq", v, sizeof v), DC_ERR_NOTFOUND);
    assert_int_equal(store_kv_set(s, "gw.0.seq", "41"), DC_OK);
    assert_int_equal(store_kv_set(s, "gw.0.seq", "42"), DC_OK);
    assert_int_equal(store_kv_get(s, "gw.0.seq", v, sizeof v), DC_OK);
    assert_string_equal(v, "42");
    assert_int_equal(store_kv_get(s, "gw.0.seq", v, 2), DC_OK);    /* cut to cap - 1 */
    assert_string_equal(v, "4");
    assert_int_equal(store_kv_del(s, "gw.0.seq"), DC_OK);
    assert_int_equal(store_kv_get(s, "gw.0.seq", v, sizeof v), DC_ERR_NOTFOUND);
    store_close(s);
}

/* A rolled-back transaction leaves nothing; a committed one everything. */
static void transactions_commit_and_roll_back(void **state)
{
    pg_db *db = *state;
    pgfx_need();
    store *s = open_ok(db->uri, 0);
    char v[16];
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_kv_set(s, "k", "rolled back"), DC_OK);
    assert_int_equal(store_rollback(s), DC_OK);
    assert_int_equal(store_kv_get(s, "k", v, sizeof v), DC_ERR_NOTFOUND);
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_begin(s), DC_OK);           /* nested: counted */
    assert_int_equal(store_in_transaction(s), 2);
    assert_int_equal(store_kv_set(s, "k", "kept"), DC_OK);
    assert_int_equal(store_commit(s), DC_OK);
    assert_int_equal(store_commit(s), DC_OK);
    assert_int_equal(store_in_transaction(s), 0);
    store_close(s);
    assert_int_equal(pgfx_int(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE value = 'kept'"), 1);
}

/* Another session holds the table: the write gives up after lock_timeout
 * as busy (store_refused 1), the way SQLite's busy_timeout does. */
static void a_held_lock_is_busy_not_a_wait(void **state)
{
    pg_db *db = *state;
    pgfx_need();
    store *s = open_ok(db->uri, 0);
    PGconn *other = PQconnectdb(db->uri);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    PQclear(PQexec(other, "BEGIN"));
    PQclear(PQexec(other, "LOCK TABLE cleaner_session_state IN ACCESS EXCLUSIVE MODE"));
    store_set_busy_timeout(s, 50);
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_kv_set(s, "k", "v"), DC_ERR_BUSY);
    assert_int_equal(store_refused(s), 1);
    assert_non_null(strstr(store_errmsg(s), "lock"));
    assert_int_equal(store_rollback(s), DC_OK);
    PQclear(PQexec(other, "ROLLBACK"));
    PQfinish(other);
    assert_int_equal(store_kv_set(s, "k", "v"), DC_OK);
    store_close(s);
}

/* A database that does not exist: configuration, named, no password. */
static void a_missing_database_is_a_configuration_error(void **state)
{
    (void)state;
    pgfx_need();
    char uri[512], err[512] = "";
    store *s = NULL;
    int exists = 1;
    pgfx_uri_for(uri, sizeof uri, "dc_no_such_database");
    assert_int_equal(store_exists(uri, &exists, err, sizeof err), DC_OK);
    assert_int_equal(exists, 0);
    assert_int_equal(store_open(&s, uri, NULL, err, sizeof err), DC_ERR_CONFIG);
    assert_null(s);
    assert_non_null(strstr(err, "dc_no_such_database"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_two_dialects_share_one_sequence),
        cmocka_unit_test(a_fresh_database_is_migrated_and_recorded),
        cmocka_unit_test(session_state_round_trips),
        cmocka_unit_test(transactions_commit_and_roll_back),
        cmocka_unit_test(a_held_lock_is_busy_not_a_wait),
        cmocka_unit_test(a_missing_database_is_a_configuration_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
