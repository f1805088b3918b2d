/* test_store_sweep_log.c - the sweep history (cleaner_sweep_log, schema
 * 11) on both backends with the same assertions: SQLite on a temporary
 * file, PostgreSQL on a fresh database of the test cluster (skipped without
 * one, failed under CI).  Rows read back newest first with every field,
 * several sweeps of one guild kept apart, the limit and an early stop, the
 * prune by age, the argument checks, a row rolled back with its
 * transaction, and a schema older than 11 answering DC_ERR_SCHEMA. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#define STORE_BOTH_TAG "sweeplog"
#include "store_both.h"

#define G1 111111111111111111ULL
#define G2 9223372036854775900ULL   /* above 2^63: stored as a signed id */

static void add(store *s, uint64_t guild, int64_t at, int64_t removed, int dry, const char *result)
{
    store_sweep_log_row r = { .guild_id = guild, .started_ms = at - 40, .at_ms = at, .duration_ms = 40,
                              .removed = removed, .dry_run = dry };
    snprintf(r.result, sizeof r.result, "%s", result);
    assert_int_equal(store_sweep_log_add(s, &r), DC_OK);
}

typedef struct {
    store_sweep_log_row v[16];
    int n, stop_after;
} rows;

static int collect(void *ctx, const store_sweep_log_row *r)
{
    rows *l = ctx;
    if (l->n < 16)
        l->v[l->n++] = *r;
    return l->stop_after && l->n >= l->stop_after;
}

static void newest_first_with_every_field(void **state)
{
    fx *f = *state;
    need(f);
    add(f->s, G1, 1000, 3, 0, "ok: 10 members listed, 3 stale row(s) removed");
    add(f->s, G2, 3000, 0, 1, "dry run: 1 would go");
    add(f->s, G1, 2000, 0, 0, "guard: 2 of 3 rows (67%) would go");
    rows l = { .n = 0 };
    assert_int_equal(store_sweep_log_recent(f->s, 10, collect, &l), DC_OK);
    assert_int_equal(l.n, 3);
    assert_true(l.v[0].guild_id == G2 && l.v[0].at_ms == 3000 && l.v[0].dry_run == 1);
    assert_true(l.v[1].guild_id == G1 && l.v[1].at_ms == 2000 && l.v[1].removed == 0);
    assert_true(l.v[2].guild_id == G1 && l.v[2].at_ms == 1000 && l.v[2].removed == 3);
    assert_true(l.v[2].started_ms == 960 && l.v[2].duration_ms == 40 && l.v[2].dry_run == 0);
    assert_string_equal(l.v[1].result, "guard: 2 of 3 rows (67%) would go");
    /* the limit, and a callback that stops */
    l.n = 0;
    assert_int_equal(store_sweep_log_recent(f->s, 2, collect, &l), DC_OK);
    assert_int_equal(l.n, 2);
    l = (rows){ .stop_after = 1 };
    assert_int_equal(store_sweep_log_recent(f->s, 10, collect, &l), DC_OK);
    assert_int_equal(l.n, 1);
    l.n = 0;
    assert_int_equal(store_sweep_log_recent(f->s, 0, collect, &l), DC_OK);
    assert_int_equal(l.n, 0);
}

static void pruned_by_age(void **state)
{
    fx *f = *state;
    need(f);
    add(f->s, G1, 1000, 1, 0, "ok");
    add(f->s, G1, 2000, 1, 0, "ok");
    add(f->s, G1, 3000, 1, 0, "ok");
    int64_t pruned = -1;
    assert_int_equal(store_sweep_log_prune(f->s, 2500, &pruned), DC_OK);
    assert_int_equal(pruned, 2);
    rows l = { .n = 0 };
    assert_int_equal(store_sweep_log_recent(f->s, 10, collect, &l), DC_OK);
    assert_int_equal(l.n, 1);
    assert_true(l.v[0].at_ms == 3000);
    assert_int_equal(store_sweep_log_prune(f->s, 2500, &pruned), DC_OK);
    assert_int_equal(pruned, 0);
}

static void arguments_and_rollback(void **state)
{
    fx *f = *state;
    need(f);
    store_sweep_log_row none = { .guild_id = 0, .at_ms = 1 };
    assert_int_equal(store_sweep_log_add(f->s, &none), DC_ERR_USAGE);
    assert_int_equal(store_sweep_log_add(f->s, NULL), DC_ERR_USAGE);
    assert_int_equal(store_begin(f->s), DC_OK);
    add(f->s, G1, 1000, 1, 0, "ok");
    assert_int_equal(store_rollback(f->s), DC_OK);
    rows l = { .n = 0 };
    assert_int_equal(store_sweep_log_recent(f->s, 10, collect, &l), DC_OK);
    assert_int_equal(l.n, 0);
}

/* A database whose schema predates 11, opened read-only (`status`). */
static void older_schema_answers_schema(void **state)
{
    fx *f = *state;
    need(f);
    store *ro = open_older_schema(f, "cleaner_sweep_log", 11);
    rows l = { .n = 0 };
    int64_t pruned = 0;
    store_sweep_log_row r = { .guild_id = G1, .at_ms = 1 };
    assert_int_equal(store_schema_version(ro), 10);
    assert_int_equal(store_sweep_log_recent(ro, 10, collect, &l), DC_ERR_SCHEMA);
    assert_int_equal(store_sweep_log_add(ro, &r), DC_ERR_SCHEMA);
    assert_int_equal(store_sweep_log_prune(ro, 5, &pruned), DC_ERR_SCHEMA);
    store_close(ro);
}

int main(void)
{
    store_global_init();
    const struct CMUnitTest tests[] = {
        BOTH(newest_first_with_every_field),
        BOTH(pruned_by_age),
        BOTH(arguments_and_rollback),
        BOTH(older_schema_answers_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
