/* test_store_pg_open.c - store_open and store_exists on a PostgreSQL URI
 * (store_pg.c, issue #16): a server that cannot be reached is retried with
 * backoff for store_opts.connect_wait_ms and then refused as unavailable
 * (exit 69); a refused login, a missing database and a URI with an unknown
 * parameter fail at once as configuration (78); no message carries the
 * password.  The cases that need a server use the cluster make check
 * starts (skipped without one, failed under CI). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "base/log.h"
#include "store/store.h"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* store_open fails with want within [min_ms, max_ms]; err in err. */
static void open_fails(const char *uri, int wait_ms, dc_err want, long long min_ms, long long max_ms, char *err,
                       size_t cap)
{
    store_opts o = { .connect_wait_ms = wait_ms };
    store *s = NULL;
    long long t0 = now_ms();
    err[0] = '\0';
    assert_int_equal(store_open(&s, uri, &o, err, cap), want);
    long long took = now_ms() - t0;
    assert_null(s);
    if (took < min_ms || took > max_ms)
        fail_msg("store_open took %lld ms, not within [%lld, %lld]: %s", took, min_ms, max_ms, err);
    assert_null(strchr(err, '\n'));
    assert_int_equal(strncmp(err, "db: ", 4), 0);
}

static void unreachable_is_retried_then_unavailable(void **state)
{
    (void)state;
    char err[1024];
    open_fails("postgresql://bot:pw-secret-16@127.0.0.1:1/bot", 600, DC_ERR_UNAVAIL, 600, 3000, err, sizeof err);
    assert_non_null(strstr(err, "cannot reach the PostgreSQL server"));
    assert_non_null(strstr(err, "gave up after"));
    assert_null(strstr(err, "gave up after 1 attempts"));        /* retried */
    assert_null(strstr(err, "pw-secret-16"));
    assert_int_equal(dc_err_exit_status(DC_ERR_UNAVAIL), 69);
}

static void unknown_parameter_fails_at_once(void **state)
{
    (void)state;
    char err[1024];
    open_fails("postgresql://bot:pw-secret-16@127.0.0.1:1/bot?frobnicate=1", 5000, DC_ERR_CONFIG, 0, 500, err,
               sizeof err);
    assert_non_null(strstr(err, "invalid URI query parameter: \"frobnicate\""));
    assert_null(strstr(err, "pw-secret-16"));
    assert_int_equal(dc_err_exit_status(DC_ERR_CONFIG), 78);
}

/* The cluster's URI with another password. */
static void with_password(char *out, size_t cap, const char *password)
{
    const char *base = pgfx_cluster(), *scheme = strstr(base, "//"), *at = strchr(base, '@');
    const char *colon = scheme ? strchr(scheme + 2, ':') : NULL;
    assert_true(colon && at && colon < at);
    snprintf(out, cap, "%.*s%s%s", (int)(colon + 1 - base), base, password, at);
}

static void wrong_password_and_missing_database_fail_at_once(void **state)
{
    (void)state;
    pgfx_need();
    char uri[512], err[1024];
    with_password(uri, sizeof uri, "Wr0ng-pw-16");
    open_fails(uri, 5000, DC_ERR_CONFIG, 0, 2000, err, sizeof err);
    assert_non_null(strstr(err, "PostgreSQL refused the login"));
    assert_null(strstr(err, "Wr0ng-pw-16"));
    pgfx_uri_for(uri, sizeof uri, "dc_open_no_such_db");
    open_fails(uri, 5000, DC_ERR_CONFIG, 0, 2000, err, sizeof err);
    assert_non_null(strstr(err, "the database does not exist"));
}

/* store_exists: a database there, one that is not, and a server that
 * cannot be asked (store_open then says why). */
static void exists_tells_a_missing_database(void **state)
{
    (void)state;
    pgfx_need();
    char uri[512], err[256];
    int exists = -1;
    assert_int_equal(store_exists(pgfx_cluster(), &exists, err, sizeof err), DC_OK);
    assert_int_equal(exists, 1);
    pgfx_uri_for(uri, sizeof uri, "dc_open_no_such_db");
    assert_int_equal(store_exists(uri, &exists, err, sizeof err), DC_OK);
    assert_int_equal(exists, 0);
    assert_int_equal(store_exists("postgresql://bot@127.0.0.1:1/bot", &exists, err, sizeof err), DC_OK);
    assert_int_equal(exists, 1);
}

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unreachable_is_retried_then_unavailable),
        cmocka_unit_test(unknown_parameter_fails_at_once),
        cmocka_unit_test(wrong_password_and_missing_database_fail_at_once),
        cmocka_unit_test(exists_tells_a_missing_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
