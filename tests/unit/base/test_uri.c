/* test_uri.c - uri_redact and uri_scrub: the password of a libpq URI (after
 * USER: and in a password= parameter, percent-encoded or not) becomes
 * "***", everything else, and any text that is not such a URI, stays as it
 * was; a short buffer is cut and terminated, the full length returned. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "base/uri.h"

static const struct {
    const char *in, *want;
} cases[] = {
    { "postgresql://cleaner:s3cret@127.0.0.1:5432/bot", "postgresql://cleaner:***@127.0.0.1:5432/bot" },
    { "postgres://u:pw@db.example/bot?sslmode=require", "postgres://u:***@db.example/bot?sslmode=require" },
    { "POSTGRESQL://u:pw@h/d", "POSTGRESQL://u:***@h/d" },
    { "postgresql://cleaner@127.0.0.1/bot", "postgresql://cleaner@127.0.0.1/bot" },
    { "postgresql://127.0.0.1:5432/bot", "postgresql://127.0.0.1:5432/bot" },
    { "postgresql:///bot?host=/run/postgresql", "postgresql:///bot?host=/run/postgresql" },
    { "postgresql://h/d?user=u&password=hunter2&sslmode=disable",
      "postgresql://h/d?user=u&password=***&sslmode=disable" },
    { "postgresql://h/d?password=hunter2", "postgresql://h/d?password=***" },
    { "postgresql://h/d?pass%77ord=hunter2", "postgresql://h/d?pass%77ord=***" },
    { "postgresql://u:p%40ss%3Aw0rd@h/d", "postgresql://u:***@h/d" },
    { "postgresql://u:a:b@h/d", "postgresql://u:***@h/d" },
    { "postgresql://u:@h/d", "postgresql://u:@h/d" },
    { "postgresql://u:x@h1:5432,h2:5433/d?password=y&application_name=c",
      "postgresql://u:***@h1:5432,h2:5433/d?password=***&application_name=c" },
    { "postgresql://h/d?passwordx=1&xpassword=2", "postgresql://h/d?passwordx=1&xpassword=2" },
    { "bot.db", "bot.db" },
    { "/var/lib/bot/u:p@x.db", "/var/lib/bot/u:p@x.db" },
    { "file:bot.db?password=x", "file:bot.db?password=x" },
    { "", "" },
};

static void redacts_each_case(void **state)
{
    (void)state;
    char out[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = uri_redact(cases[i].in, out, sizeof out);
        assert_string_equal(out, cases[i].want);
        assert_int_equal(n, strlen(cases[i].want));
    }
}

static void short_buffer_is_cut_and_terminated(void **state)
{
    (void)state;
    char out[16];
    const char *want = "postgresql://u:***@host/db";
    memset(out, 'x', sizeof out);
    assert_int_equal(uri_redact("postgresql://u:longpassword@host/db", out, sizeof out), strlen(want));
    assert_int_equal(strlen(out), sizeof out - 1);
    assert_memory_equal(out, want, sizeof out - 1);
    assert_int_equal(uri_redact("bot.db", NULL, 0), 6);
}

static void recognises_libpq_schemes(void **state)
{
    (void)state;
    assert_true(uri_is_postgres("postgresql://h/d"));
    assert_true(uri_is_postgres("postgres://h/d"));
    assert_true(uri_is_postgres("PostgreSQL://h/d"));
    assert_false(uri_is_postgres("postgresql:/h/d"));
    assert_false(uri_is_postgres("bot.db"));
    assert_false(uri_is_postgres(NULL));
}

static void scrub_hides_passwords_quoted_back(void **state)
{
    (void)state;
    char out[256];
    const char *uri = "postgresql://u:p%zz@h/d?password=other";
    uri_scrub(uri, "invalid percent-encoded token: \"p%zz\"; also other", out, sizeof out);
    assert_string_equal(out, "invalid percent-encoded token: \"***\"; also ***");
    uri_scrub("bot.db", "no secret in bot.db", out, sizeof out);
    assert_string_equal(out, "no secret in bot.db");
    uri_scrub("postgresql://u@h/d", "nothing to hide", out, sizeof out);
    assert_string_equal(out, "nothing to hide");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redacts_each_case),
        cmocka_unit_test(short_buffer_is_cut_and_terminated),
        cmocka_unit_test(recognises_libpq_schemes),
        cmocka_unit_test(scrub_hides_passwords_quoted_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
