/* test_guild_directory.c - every guild's stored name and admin interval,
 * read once (guild_directory.h): each found by id (ids above 2^63 too, and
 * enough guilds to grow the table several times), a guild it lacks known
 * to have neither, the daemon's own writes kept, a forgotten name gone; a
 * read that fails leaves it unloaded, so lookups say "ask the store". */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "store_fixture.h"
#include "daemon/guild_directory.h"

#define MANY 5000

static store *open_store(fx_dir *d)
{
    store *s = NULL;
    char err[512] = "";
    store_opts o = { 0 };
    fx_mkdir(d);
    if (store_open(&s, d->db, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

static void expect(const guild_directory *g, uint64_t id, const char *name, int64_t admin_ms)
{
    const char *n = NULL;
    int64_t ms = -1;
    assert_int_equal(guild_directory_get(g, id, &n, &ms), 1);
    assert_string_equal(n, name);
    assert_true(ms == admin_ms);
}

static void every_stored_name_and_schedule_is_found(void **state)
{
    (void)state;
    fx_dir d;
    store *s = open_store(&d);
    assert_int_equal(store_begin(s), DC_OK);
    for (uint64_t i = 1; i <= MANY; i++) {
        char name[32];
        snprintf(name, sizeof name, "guild %llu", (unsigned long long)i);
        assert_int_equal(store_guild_set_name(s, (i << 22) | 7, name), DC_OK);
    }
    assert_int_equal(store_guild_set_name(s, UINT64_C(18446744073709551000), "high"), DC_OK);
    assert_int_equal(store_guild_seen(s, 42, 0, 1000), DC_OK);          /* a state row, no name */
    store_schedule sc = { .guild_id = (UINT64_C(3) << 22) | 7, .interval_ms = 7200000, .set_by = 9, .set_at_ms = 5 };
    assert_int_equal(store_schedule_set(s, &sc), DC_OK);
    sc.guild_id = 99;                                                    /* a schedule, no name */
    sc.interval_ms = 3600000;
    assert_int_equal(store_schedule_set(s, &sc), DC_OK);
    assert_int_equal(store_commit(s), DC_OK);

    guild_directory g = { 0 };
    assert_int_equal(guild_directory_load(&g, s), DC_OK);
    for (uint64_t i = 1; i <= MANY; i += 499) {
        char name[32];
        snprintf(name, sizeof name, "guild %llu", (unsigned long long)i);
        expect(&g, (i << 22) | 7, name, i == 3 ? 7200000 : 0);
    }
    expect(&g, (UINT64_C(3) << 22) | 7, "guild 3", 7200000);
    expect(&g, UINT64_C(18446744073709551000), "high", 0);
    expect(&g, 42, "", 0);
    expect(&g, 99, "", 3600000);
    expect(&g, 12345, "", 0);                                            /* unknown: known to have neither */

    /* the daemon's own writes */
    assert_int_equal(guild_directory_set_name(&g, 12345, "joined later"), 0);
    assert_int_equal(guild_directory_set_admin(&g, 12345, 600000), 0);
    expect(&g, 12345, "joined later", 600000);
    assert_int_equal(guild_directory_set_name(&g, (UINT64_C(3) << 22) | 7, NULL), 0);   /* forgotten */
    expect(&g, (UINT64_C(3) << 22) | 7, "", 7200000);
    assert_int_equal(guild_directory_set_admin(&g, 99, 0), 0);          /* back to the default */
    expect(&g, 99, "", 0);

    /* loading again starts over from the database */
    assert_int_equal(guild_directory_load(&g, s), DC_OK);
    expect(&g, 12345, "", 0);
    expect(&g, 99, "", 3600000);
    guild_directory_free(&g);
    store_close(s);
    fx_rmdir(&d);
}

/* The schedules' table gone under the daemon: the load fails, the
 * directory is unloaded and says so at every lookup, and its writes are
 * no-ops; nothing leaks of the names read before the failure. */
static void a_failed_load_leaves_it_unloaded(void **state)
{
    (void)state;
    fx_dir d;
    store *s = open_store(&d);
    assert_int_equal(store_guild_set_name(s, 5, "five"), DC_OK);
    assert_int_equal(fx_exec_at(d.db, "DROP TABLE cleaner_guild_schedule"), 0);
    guild_directory g = { 0 };
    assert_int_not_equal(guild_directory_load(&g, s), DC_OK);
    assert_true(strlen(store_errmsg(s)) > 0);
    const char *n = NULL;
    int64_t ms = 0;
    assert_int_equal(guild_directory_get(&g, 5, &n, &ms), 0);
    assert_int_equal(guild_directory_set_name(&g, 5, "renamed"), 0);
    assert_int_equal(guild_directory_get(&g, 5, &n, &ms), 0);
    guild_directory_free(&g);
    store_close(s);
    fx_rmdir(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_stored_name_and_schedule_is_found),
        cmocka_unit_test(a_failed_load_leaves_it_unloaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
