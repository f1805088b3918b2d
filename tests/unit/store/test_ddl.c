/* test_ddl.c - the CREATE TABLE rewrite for the legacy users rebuild. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "store/ddl.h"

static char *rewrite(const char *sql, const char *const *cols, size_t n, dc_err want)
{
    char *out = NULL, err[256] = "";
    assert_int_equal(ddl_rebuild_users(sql, "new t", "discord_id", cols, n, &out, err, sizeof err), want);
    if (want != DC_OK) {
        assert_null(out);
        assert_true(err[0] != '\0');
    }
    return out;
}

static void column_unique_is_dropped(void **state)
{
    (void)state;
    const char *cols[] = { "discord_id", "name" };
    char *out = rewrite("CREATE TABLE users (discord_id INTEGER NOT NULL CONSTRAINT u1 UNIQUE "
                        "ON CONFLICT REPLACE DEFAULT 0, name TEXT CHECK (name <> ','))",
                        cols, 2, DC_OK);
    assert_string_equal(out, "CREATE TABLE \"new t\" (\n"
                             "  discord_id INTEGER NOT NULL DEFAULT 0,\n"
                             "  name TEXT CHECK (name <> ','),\n"
                             "  \"guild_id\" INTEGER,\n"
                             "  UNIQUE(\"discord_id\", \"guild_id\")\n)");
    free(out);
}

static void primary_key_and_table_constraints(void **state)
{
    (void)state;
    const char *cols[] = { "Discord_ID", "a", "b" };
    char *out = rewrite("create table \"users\" ( -- c, (\n"
                        " \"Discord_ID\" integer primary key desc autoincrement, /* x, ( */\n"
                        " a text, b int, unique (a, b), PRIMARY KEY (discord_id),\n"
                        " constraint c unique (\"discord_id\" collate nocase), check (b > 0)) strict",
                        cols, 3, DC_OK);
    assert_null(strstr(out, "primary"));
    assert_null(strstr(out, "PRIMARY"));
    assert_null(strstr(out, "constraint c"));
    assert_non_null(strstr(out, "\"Discord_ID\" integer"));
    assert_non_null(strstr(out, "unique (a, b)"));
    assert_non_null(strstr(out, "check (b > 0)"));
    assert_non_null(strstr(out, "UNIQUE(\"discord_id\", \"guild_id\")\n) strict"));
    free(out);
}

static void multi_column_unique_is_kept(void **state)
{
    (void)state;
    const char *cols[] = { "discord_id", "x" };
    char *out = rewrite("CREATE TABLE users (discord_id INT UNIQUE, x INT, UNIQUE (discord_id, x))",
                        cols, 2, DC_OK);
    assert_non_null(strstr(out, "UNIQUE (discord_id, x)"));
    assert_non_null(strstr(out, "discord_id INT,"));
    free(out);
}

static void unparseable_or_missing_column(void **state)
{
    (void)state;
    const char *cols[] = { "discord_id", "ghost" };
    free(rewrite("CREATE TABLE users (discord_id INT UNIQUE", cols, 1, DC_ERR_SCHEMA));
    free(rewrite("CREATE TABLE users (discord_id INT UNIQUE)", cols, 2, DC_ERR_SCHEMA));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(column_unique_is_dropped),
        cmocka_unit_test(primary_key_and_table_constraints),
        cmocka_unit_test(multi_column_unique_is_kept),
        cmocka_unit_test(unparseable_or_missing_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
