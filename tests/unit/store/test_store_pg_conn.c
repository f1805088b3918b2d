/* test_store_pg_conn.c - the PostgreSQL backend's connection
 * (store_pg_conn.c, issue #16): a connect driven from the caller's own
 * poll() loop and through store_pg_conn_wait, and each failure sorted into
 * its class with one line naming `db` and the fix, never the password: a
 * wrong password, a database that does not exist, a closed port, a server
 * that never answers, a URI with an unknown parameter or a bad escape
 * (refused before any connect).
 *
 * The tests that need a server use the throwaway cluster of `make check`
 * (DC_TEST_PG_URI, tests/pg/with-pg.sh) and skip without it -- under CI
 * (CI=true) they fail instead.  The others run everywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "store/store_pg_internal.h"

#define WAIT_MS 10000
#define WRONG_PW "Wr0ng-pw-7c1e"

/* The parts of the test cluster's URI. */
typedef struct {
    char host[256], port[16], user[64], password[128], dbname[64];
} pg_parts;

static const char *test_uri(void)
{
    const char *uri = getenv("DC_TEST_PG_URI");
    return uri && uri[0] ? uri : NULL;
}

/* The test cluster's URI taken apart, or the test skipped (failed under CI). */
static void need_cluster(pg_parts *p)
{
    const char *uri = test_uri();
    if (!uri) {
        if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
            fail_msg("DC_TEST_PG_URI is unset under CI: make check starts a PostgreSQL cluster");
        skip();
    }
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &why);
    assert_non_null(opts);
    memset(p, 0, sizeof *p);
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        struct { const char *key; char *dst; size_t cap; } map[] = {
            { "host", p->host, sizeof p->host },       { "port", p->port, sizeof p->port },
            { "user", p->user, sizeof p->user },       { "password", p->password, sizeof p->password },
            { "dbname", p->dbname, sizeof p->dbname },
        };
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
            if (o->val && strcmp(o->keyword, map[i].key) == 0)
                snprintf(map[i].dst, map[i].cap, "%s", o->val);
    }
    PQconninfoFree(opts);
    assert_true(p->password[0] && p->port[0]);
}

static void assert_no_password(const store_pg_conn *c, const char *password)
{
    assert_null(strstr(c->msg, password));
    assert_null(strchr(c->msg, '\n'));
    assert_int_equal(strncmp(c->msg, "db: ", 4), 0);
}

/* A loopback TCP port with a socket bound to it: listening (a server that
 * accepts and never answers) or not (connections are refused). */
static int loopback_socket(int listening, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    if (listening)
        assert_int_equal(listen(fd, 4), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void connects_from_own_poll_loop(void **state)
{
    (void)state;
    pg_parts p;
    need_cluster(&p);
    store_pg_conn c;
    store_pg_state st = store_pg_conn_start(&c, test_uri());
    int steps = 0;
    while (st == STORE_PG_WANT_READ || st == STORE_PG_WANT_WRITE) {
        struct pollfd pfd = { .fd = store_pg_conn_fd(&c), .events = store_pg_conn_events(&c) };
        assert_true(pfd.fd >= 0);
        assert_true(poll(&pfd, 1, WAIT_MS) > 0);
        st = store_pg_conn_step(&c);
        steps++;
    }
    assert_int_equal(st, STORE_PG_READY);
    assert_true(steps > 1);            /* it did wait on the socket */
    assert_int_equal(store_pg_conn_events(&c), 0);
    assert_int_equal(c.failure, STORE_PG_FAIL_NONE);
    assert_int_equal(PQisnonblocking(c.conn), 1);
    PGresult *r = PQexec(c.conn, "SELECT 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "1");
    PQclear(r);
    store_pg_conn_close(&c);
}

static void connects_with_wait(void **state)
{
    (void)state;
    pg_parts p;
    need_cluster(&p);
    store_pg_conn c;
    store_pg_conn_start(&c, test_uri());
    assert_int_equal(store_pg_conn_wait(&c, WAIT_MS), STORE_PG_READY);
    assert_string_equal(c.msg, "");
    assert_string_equal(PQdb(c.conn), p.dbname);
    store_pg_conn_close(&c);
}

static void wrong_password_is_auth(void **state)
{
    (void)state;
    pg_parts p;
    need_cluster(&p);
    char uri[1024];
    snprintf(uri, sizeof uri, "postgresql://%s:%s@%s:%s/%s", p.user, WRONG_PW, p.host, p.port, p.dbname);
    store_pg_conn c;
    store_pg_conn_start(&c, uri);
    assert_int_equal(store_pg_conn_wait(&c, WAIT_MS), STORE_PG_FAILED);
    assert_int_equal(c.failure, STORE_PG_FAIL_AUTH);
    assert_int_equal(store_pg_failure_err(c.failure), DC_ERR_CONFIG);
    assert_false(store_pg_failure_retryable(c.failure));
    assert_no_password(&c, WRONG_PW);
    assert_no_password(&c, p.password);
    assert_non_null(strstr(c.msg, ":***@"));
    assert_non_null(strstr(c.msg, "password authentication failed"));
    assert_null(strstr(c.msg, "28P01"));
    assert_non_null(strstr(c.msg, "fix the user or the password in the db setting"));
    store_pg_conn_close(&c);
}

static void missing_database_is_its_class(void **state)
{
    (void)state;
    pg_parts p;
    need_cluster(&p);
    char uri[1024];
    snprintf(uri, sizeof uri, "postgresql://%s:%s@%s:%s/no_such_db_16", p.user, p.password, p.host, p.port);
    store_pg_conn c;
    store_pg_conn_start(&c, uri);
    assert_int_equal(store_pg_conn_wait(&c, WAIT_MS), STORE_PG_FAILED);
    assert_int_equal(c.failure, STORE_PG_FAIL_NO_DATABASE);
    assert_int_equal(store_pg_failure_err(c.failure), DC_ERR_CONFIG);
    assert_no_password(&c, p.password);
    assert_non_null(strstr(c.msg, "\"no_such_db_16\" does not exist"));
    assert_non_null(strstr(c.msg, "createdb"));
    store_pg_conn_close(&c);
}

/* Connects to a loopback socket of ours (loopback_socket) and waits at
 * most timeout_ms: the server is out of reach, and c says so without the
 * password.  Returns the socket, for the caller to close. */
static int unreachable_on_loopback(int listening, int timeout_ms, store_pg_conn *c)
{
    int port, fd = loopback_socket(listening, &port);
    char uri[256];
    snprintf(uri, sizeof uri, "postgresql://cleaner:pw-secret-16@127.0.0.1:%d/bot", port);
    store_pg_conn_start(c, uri);
    assert_int_equal(store_pg_conn_wait(c, timeout_ms), STORE_PG_FAILED);
    assert_int_equal(c->failure, STORE_PG_FAIL_UNREACHABLE);
    assert_true(store_pg_failure_retryable(c->failure));
    assert_int_equal(store_pg_failure_err(c->failure), DC_ERR_UNAVAIL);
    assert_no_password(c, "pw-secret-16");
    assert_non_null(strstr(c->msg, "cannot reach the PostgreSQL server"));
    return fd;
}

static void closed_port_is_refused(void **state)
{
    (void)state;
    store_pg_conn c;
    int fd = unreachable_on_loopback(0, WAIT_MS, &c);
    assert_non_null(strstr(c.msg, "Connection refused"));
    store_pg_conn_close(&c);
    close(fd);
}

static void silent_server_times_out(void **state)
{
    (void)state;
    store_pg_conn c;
    int fd = unreachable_on_loopback(1, 200, &c);
    assert_non_null(strstr(c.msg, "no answer within 200 ms"));
    store_pg_conn_close(&c);
    close(fd);
}

/* Refused before connecting: no connection object, the failure at once. */
static void assert_uri_refused(const char *uri, const char *secret, const char *reason)
{
    store_pg_conn c;
    assert_int_equal(store_pg_conn_start(&c, uri), STORE_PG_FAILED);
    assert_null(c.conn);
    assert_int_equal(store_pg_conn_fd(&c), -1);
    assert_int_equal(c.failure, STORE_PG_FAIL_URI);
    assert_int_equal(store_pg_failure_err(c.failure), DC_ERR_CONFIG);
    assert_no_password(&c, secret);
    assert_non_null(strstr(c.msg, reason));
    assert_non_null(strstr(c.msg, "fix the db setting"));
    store_pg_conn_close(&c);
}

static void bad_uris_refused_before_connecting(void **state)
{
    (void)state;
    /* port 1: were a connect tried, it would fail differently */
    assert_uri_refused("postgresql://u:pw-secret-16@127.0.0.1:1/bot?frobnicate=1", "pw-secret-16",
                       "invalid URI query parameter: \"frobnicate\"");
    assert_uri_refused("postgresql://u:pw%zzsecret@127.0.0.1:1/bot", "pw%zzsecret", "percent-encoded");
    assert_uri_refused("postgresql://u@127.0.0.1:1/bot?password=pw-secret-16&frobnicate=1", "pw-secret-16",
                       "frobnicate");
    assert_uri_refused("bot.db", "\x01", "does not start with postgresql://");
    assert_uri_refused("postgresql://u:pw-secret-16@127.0.0.1:1/bot?sslmode=bogus", "pw-secret-16",
                       "invalid sslmode value: \"bogus\"");
    assert_uri_refused("postgresql://u:pw-secret-16@127.0.0.1:port/bot", "pw-secret-16", "invalid");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connects_from_own_poll_loop),
        cmocka_unit_test(connects_with_wait),
        cmocka_unit_test(wrong_password_is_auth),
        cmocka_unit_test(missing_database_is_its_class),
        cmocka_unit_test(closed_port_is_refused),
        cmocka_unit_test(silent_server_times_out),
        cmocka_unit_test(bad_uris_refused_before_connecting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
