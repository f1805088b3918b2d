/* test_resolve.c - gateway host names looked up without blocking
 * (resolve.h): numeric hosts answer at once; a name (localhost too)
 * answers DC_ERR_BUSY first (the lookup runs in the background) and then
 * what a blocking getaddrinfo says of it (this machine's own name: found
 * in /etc/hosts, or not at all -- both outcomes are compared); a found
 * address is cached until resolve_forget; the loopback rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "gateway/resolve.h"

static void nap_ms(int ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

/* Asks until the lookup ends (at most ~30 s: the resolver's own timeouts). */
static dc_err settle(const char *host, char *out, size_t cap)
{
    dc_err e = DC_ERR_BUSY;
    for (int i = 0; i < 6000 && e == DC_ERR_BUSY; i++) {
        e = resolve_host(host, out, cap);
        if (e == DC_ERR_BUSY)
            nap_ms(5);
    }
    return e;
}

static void numeric_hosts_answer_at_once(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(resolve_host("203.0.113.7", out, sizeof out), DC_OK);
    assert_string_equal(out, "203.0.113.7");
    assert_int_equal(resolve_host("2001:db8::1", out, sizeof out), DC_OK);
    assert_string_equal(out, "2001:db8::1");
}

static void localhost_is_its_ipv4_address(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(resolve_host("LocalHost", out, sizeof out), DC_ERR_BUSY);
    assert_int_equal(settle("LocalHost", out, sizeof out), DC_OK);
    assert_string_equal(out, "127.0.0.1");
}

static void a_name_is_looked_up_in_the_background(void **state)
{
    (void)state;
    char host[256] = "", out[64] = "", want[64] = "";
    assert_int_equal(gethostname(host, sizeof host - 1), 0);
    /* what the blocking call says of the same name */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int found = getaddrinfo(host, NULL, &hints, &res) == 0 && res;
    if (found)
        getnameinfo(res->ai_addr, res->ai_addrlen, want, sizeof want, NULL, 0, NI_NUMERICHOST);
    if (res)
        freeaddrinfo(res);
    assert_int_equal(resolve_host(host, out, sizeof out), DC_ERR_BUSY);    /* never an answer from the first call */
    dc_err e = settle(host, out, sizeof out);
    if (!found) {
        assert_int_equal(e, DC_ERR_UNAVAIL);
        assert_int_equal(resolve_host(host, out, sizeof out), DC_ERR_BUSY);   /* failures are not cached */
        settle(host, out, sizeof out);
        return;
    }
    assert_int_equal(e, DC_OK);
    assert_string_equal(out, want);
    memset(out, 0, sizeof out);
    assert_int_equal(resolve_host(host, out, sizeof out), DC_OK);           /* cached */
    assert_string_equal(out, want);
    resolve_forget(host);
    assert_int_equal(resolve_host(host, out, sizeof out), DC_ERR_BUSY);     /* looked up again */
    assert_int_equal(settle(host, out, sizeof out), DC_OK);
}

static void loopback_rule(void **state)
{
    (void)state;
    assert_true(resolve_is_loopback("localhost"));
    assert_true(resolve_is_loopback("127.0.0.1"));
    assert_true(resolve_is_loopback("127.9.9.9"));
    assert_true(resolve_is_loopback("::1"));
    assert_false(resolve_is_loopback("128.0.0.1"));
    assert_false(resolve_is_loopback("gateway.discord.gg"));
    assert_false(resolve_is_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numeric_hosts_answer_at_once),
        cmocka_unit_test(localhost_is_its_ipv4_address),
        cmocka_unit_test(a_name_is_looked_up_in_the_background),
        cmocka_unit_test(loopback_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
