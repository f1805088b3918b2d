/* test_guild_snapshot.c - the scheduler's one read of every guild's state
 * (guild_snapshot.h): every stored guild found by id whatever order the
 * store gives them, the flags and the "result holds" verdict carried over,
 * a guild with no state row not found, the allocation kept from read to
 * read, and a read that fails leaves an empty snapshot and says so. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "store_fixture.h"
#include "daemon/guild_snapshot.h"

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

/* Ids seen in descending order, some above 2^63 (unsigned order). */
static void a_read_finds_every_guild_by_id(void **state)
{
    (void)state;
    fx_dir d;
    store *s = open_store(&d);
    static const uint64_t ids[] = { 18446744073709551000u, 9223372036854775809u, 900, 50, 7 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        assert_int_equal(store_guild_seen(s, ids[i], 0, 1000), DC_OK);
    assert_int_equal(store_guild_set_unavailable(s, 50, 1), DC_OK);
    assert_int_equal(store_guild_set_needs_reconcile(s, 900, 1), DC_OK);
    assert_int_equal(store_guild_set_last_sweep(s, 7, 5000, 3, 20, "ok"), DC_OK);
    assert_int_equal(store_guild_set_last_sweep(s, 900, 6000, 0, 20, "guard: 80% of the rows"), DC_OK);
    guild_snapshot gs = { 0 };
    assert_int_equal(guild_snapshot_read(&gs, s), DC_OK);
    assert_int_equal(gs.n, 5);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const guild_sched_state *g = guild_snapshot_find(&gs, ids[i]);
        assert_non_null(g);
        assert_true(g->guild_id == ids[i]);
    }
    assert_null(guild_snapshot_find(&gs, 8));
    assert_null(guild_snapshot_find(&gs, UINT64_MAX));
    assert_true(guild_snapshot_find(&gs, 50)->unavailable);
    assert_false(guild_snapshot_find(&gs, 7)->unavailable);
    assert_true(guild_snapshot_find(&gs, 900)->needs_reconcile);
    assert_true(guild_snapshot_find(&gs, 900)->result_holds);      /* the guard's refusal holds it */
    assert_false(guild_snapshot_find(&gs, 7)->result_holds);
    assert_true(guild_snapshot_find(&gs, 7)->last_sweep_ms == 5000);
    assert_true(guild_snapshot_find(&gs, 18446744073709551000u)->last_sweep_ms == 0);
    /* read again: the same allocation, the state as it is now */
    guild_sched_state *before = gs.v;
    assert_int_equal(store_guild_forget(s, 900), DC_OK);
    assert_int_equal(guild_snapshot_read(&gs, s), DC_OK);
    assert_int_equal(gs.n, 4);
    assert_ptr_equal(gs.v, before);
    assert_null(guild_snapshot_find(&gs, 900));
    guild_snapshot_free(&gs);
    store_close(s);
    fx_rmdir(&d);
}

static void an_empty_store_is_an_empty_snapshot(void **state)
{
    (void)state;
    fx_dir d;
    store *s = open_store(&d);
    guild_snapshot gs = { 0 };
    assert_int_equal(guild_snapshot_read(&gs, s), DC_OK);
    assert_int_equal(gs.n, 0);
    assert_null(guild_snapshot_find(&gs, 1));
    guild_snapshot_free(&gs);
    store_close(s);
    fx_rmdir(&d);
}

/* The table gone under the daemon (an operator's mistake): an error, an
 * empty snapshot, and the store's message names what failed. */
static void a_failed_read_is_an_empty_snapshot_and_an_error(void **state)
{
    (void)state;
    fx_dir d;
    store *s = open_store(&d);
    assert_int_equal(store_guild_seen(s, 1, 0, 1000), DC_OK);
    guild_snapshot gs = { 0 };
    assert_int_equal(guild_snapshot_read(&gs, s), DC_OK);
    assert_int_equal(gs.n, 1);
    assert_int_equal(fx_exec_at(d.db, "DROP TABLE cleaner_guild_state"), 0);
    assert_int_not_equal(guild_snapshot_read(&gs, s), DC_OK);
    assert_int_equal(gs.n, 0);
    assert_null(guild_snapshot_find(&gs, 1));
    assert_true(strlen(store_errmsg(s)) > 0);
    guild_snapshot_free(&gs);
    store_close(s);
    fx_rmdir(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_read_finds_every_guild_by_id),
        cmocka_unit_test(an_empty_store_is_an_empty_snapshot),
        cmocka_unit_test(a_failed_read_is_an_empty_snapshot_and_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
