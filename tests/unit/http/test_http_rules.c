/* test_http_rules.c - the HTTP endpoint's pure rules (http_server.h):
 * listen addresses, loopback, the Bearer check, acceptable paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http/http_server.h"

static void listen_addresses(void **state)
{
    (void)state;
    char host[64], err[128];
    int port;
    assert_int_equal(http_parse_listen("127.0.0.1:9464", host, sizeof host, &port, err, sizeof err), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 9464);
    assert_int_equal(http_parse_listen("[::1]:0", host, sizeof host, &port, err, sizeof err), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    assert_int_equal(http_parse_listen("localhost:80", host, sizeof host, &port, err, sizeof err), 0);
    static const char *const bad[] = { "", "9464", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", ":9464",
                                       "127.0.0.1:65536", "127.0.0.1:-1", "::1:80", "[::1]80", "[::1:80" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(http_parse_listen(bad[i], host, sizeof host, &port, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
}

static void loopback(void **state)
{
    (void)state;
    assert_true(http_host_is_loopback("127.0.0.1"));
    assert_true(http_host_is_loopback("127.9.8.7"));
    assert_true(http_host_is_loopback("::1"));
    assert_true(http_host_is_loopback("localhost"));
    assert_false(http_host_is_loopback("0.0.0.0"));
    assert_false(http_host_is_loopback("::"));
    assert_false(http_host_is_loopback("10.0.0.1"));
    assert_false(http_host_is_loopback("128.0.0.1"));
    assert_false(http_host_is_loopback("example.org"));
}

static void bearer(void **state)
{
    (void)state;
    assert_true(http_auth_ok("Bearer abc123", "abc123"));
    assert_true(http_auth_ok("bearer abc123", "abc123"));        /* the scheme is case-insensitive */
    assert_false(http_auth_ok("Bearer abc12", "abc123"));
    assert_false(http_auth_ok("Bearer abc1234", "abc123"));
    assert_false(http_auth_ok("Bearer ABC123", "abc123"));       /* the token is not */
    assert_false(http_auth_ok("Basic abc123", "abc123"));
    assert_false(http_auth_ok("abc123", "abc123"));
    assert_false(http_auth_ok("", "abc123"));
    assert_false(http_auth_ok(NULL, "abc123"));
}

static void paths(void **state)
{
    (void)state;
    assert_int_equal(http_path_ok("/"), 0);
    assert_int_equal(http_path_ok("/metrics"), 0);
    assert_int_equal(http_path_ok("/stats.js"), 0);
    assert_int_equal(http_path_ok("metrics"), -1);
    assert_int_equal(http_path_ok("/../etc/passwd"), -1);
    assert_int_equal(http_path_ok("/a/..%2f"), -1);
    assert_int_equal(http_path_ok("/a\\b"), -1);
    assert_int_equal(http_path_ok("/a\x01"), -1);
    assert_int_equal(http_path_ok(""), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listen_addresses),
        cmocka_unit_test(loopback),
        cmocka_unit_test(bearer),
        cmocka_unit_test(paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
