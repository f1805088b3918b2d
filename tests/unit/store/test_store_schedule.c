/* test_store_schedule.c - the sweep schedules set by a guild's admins
 * (cleaner_guild_schedule, schema 10) on both backends with the same
 * assertions: SQLite on a temporary file, PostgreSQL on a fresh database of
 * the test cluster (skipped without one, failed under CI).  Round trip and
 * upsert, every guild in order and stopping early, clearing, the argument
 * checks, a write rolled back with its transaction, a read-only store
 * refusing the write, and a schema older than 10 answering DC_ERR_SCHEMA.
 * Beside them the guilds' names read all at once (store_each_guild_name):
 * with the schedules, what the daemon reads at start (guild_directory.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#define STORE_BOTH_TAG "schedule"
#include "store_both.h"

#define G1 111111111111111111ULL
#define G2 222222222222222222ULL
#define G3 333333333333333333ULL
#define ADMIN 900000000000000001ULL

static void set(store *s, uint64_t guild, int64_t ms, int64_t at)
{
    store_schedule sc = { .guild_id = guild, .interval_ms = ms, .set_by = ADMIN, .set_at_ms = at };
    assert_int_equal(store_schedule_set(s, &sc), DC_OK);
}

static void round_trip_and_upsert(void **state)
{
    fx *f = *state;
    need(f);
    store_schedule sc;
    assert_int_equal(store_schedule_get(f->s, G1, &sc), DC_ERR_NOTFOUND);
    set(f->s, G1, 48 * 3600000LL, 1000);
    assert_int_equal(store_schedule_get(f->s, G1, &sc), DC_OK);
    assert_true(sc.guild_id == G1 && sc.interval_ms == 48 * 3600000LL && sc.set_by == ADMIN && sc.set_at_ms == 1000);
    set(f->s, G1, 5400000, 2000);          /* 1.5 h replaces it */
    assert_int_equal(store_schedule_get(f->s, G1, &sc), DC_OK);
    assert_true(sc.interval_ms == 5400000 && sc.set_at_ms == 2000);
    assert_int_equal(store_schedule_get(f->s, G2, &sc), DC_ERR_NOTFOUND);
    assert_int_equal(store_schedule_get(f->s, 0, &sc), DC_ERR_NOTFOUND);
}

typedef struct {
    uint64_t ids[8];
    int n, stop_after;
} id_list;

static int collect(void *ctx, const store_schedule *sc)
{
    id_list *l = ctx;
    if (l->n < 8)
        l->ids[l->n++] = sc->guild_id;
    return l->stop_after && l->n >= l->stop_after;
}

static void each_in_order_and_clear(void **state)
{
    fx *f = *state;
    need(f);
    set(f->s, G3, 3600000, 1);
    set(f->s, G1, 7200000, 1);
    set(f->s, G2, 10800000, 1);
    id_list l = { .n = 0 };
    assert_int_equal(store_each_schedule(f->s, collect, &l), DC_OK);
    assert_int_equal(l.n, 3);
    assert_true(l.ids[0] == G1 && l.ids[1] == G2 && l.ids[2] == G3);
    id_list one = { .stop_after = 1 };
    assert_int_equal(store_each_schedule(f->s, collect, &one), DC_OK);
    assert_int_equal(one.n, 1);
    assert_int_equal(store_schedule_clear(f->s, G2), DC_OK);
    assert_int_equal(store_schedule_clear(f->s, G2), DC_OK);     /* none left: not an error */
    store_schedule sc;
    assert_int_equal(store_schedule_get(f->s, G2, &sc), DC_ERR_NOTFOUND);
    l.n = 0;
    assert_int_equal(store_each_schedule(f->s, collect, &l), DC_OK);
    assert_int_equal(l.n, 2);
}

static void arguments_are_checked(void **state)
{
    fx *f = *state;
    need(f);
    store_schedule zero_guild = { .guild_id = 0, .interval_ms = 1 }, zero_ms = { .guild_id = G1, .interval_ms = 0 };
    assert_int_equal(store_schedule_set(f->s, &zero_guild), DC_ERR_USAGE);
    assert_int_equal(store_schedule_set(f->s, &zero_ms), DC_ERR_USAGE);
    assert_int_equal(store_schedule_set(f->s, NULL), DC_ERR_USAGE);
    assert_int_equal(store_schedule_clear(f->s, 0), DC_ERR_USAGE);
}

static void rolled_back_with_its_transaction(void **state)
{
    fx *f = *state;
    need(f);
    set(f->s, G1, 3600000, 1);
    assert_int_equal(store_begin(f->s), DC_OK);
    set(f->s, G1, 7200000, 2);
    set(f->s, G2, 7200000, 2);
    assert_int_equal(store_rollback(f->s), DC_OK);
    store_schedule sc;
    assert_int_equal(store_schedule_get(f->s, G1, &sc), DC_OK);
    assert_int_equal(sc.interval_ms, 3600000);
    assert_int_equal(store_schedule_get(f->s, G2, &sc), DC_ERR_NOTFOUND);
}

static void read_only_store_refuses_the_write(void **state)
{
    fx *f = *state;
    need(f);
    set(f->s, G1, 3600000, 1);
    store *ro = open_store(f, 1);
    store_schedule sc = { .guild_id = G1, .interval_ms = 7200000 };
    assert_int_not_equal(store_schedule_set(ro, &sc), DC_OK);
    assert_int_equal(store_schedule_get(ro, G1, &sc), DC_OK);
    assert_int_equal(sc.interval_ms, 3600000);
    store_close(ro);
}

/* A database whose schema predates 10, opened read-only (`status`). */
static void older_schema_answers_schema(void **state)
{
    fx *f = *state;
    need(f);
    store *ro = open_older_schema(f, "cleaner_guild_schedule", 10);
    store_schedule sc = { .guild_id = G1, .interval_ms = 1 };
    id_list l = { .n = 0 };
    assert_true(store_schema_version(ro) < 10);
    assert_int_equal(store_schedule_get(ro, G1, &sc), DC_ERR_SCHEMA);
    assert_int_equal(store_each_schedule(ro, collect, &l), DC_ERR_SCHEMA);
    sc.guild_id = G1;
    sc.interval_ms = 1;
    assert_int_equal(store_schedule_set(ro, &sc), DC_ERR_SCHEMA);
    assert_int_equal(store_schedule_clear(ro, G1), DC_ERR_SCHEMA);
    store_close(ro);
}

typedef struct {
    uint64_t ids[4];
    char names[4][32];
    int n;
} names_seen;

static int note_name(void *ctx, uint64_t id, const char *name)
{
    names_seen *n = ctx;
    n->ids[n->n] = id;
    snprintf(n->names[n->n], sizeof n->names[0], "%s", name);
    return ++n->n == 3;              /* stops early after three */
}

/* Named guilds in id order; a guild
 * with a state row and no name, or an empty one, is left out. */
static void every_name_in_id_order(void **state)
{
    fx *f = *state;
    need(f);
    assert_int_equal(store_guild_set_name(f->s, G2, "Second"), DC_OK);
    assert_int_equal(store_guild_set_name(f->s, G1, "First"), DC_OK);
    assert_int_equal(store_guild_set_name(f->s, G3, ""), DC_OK);
    assert_int_equal(store_guild_seen(f->s, 44, 0, 1000), DC_OK);
    names_seen n = { 0 };
    assert_int_equal(store_each_guild_name(f->s, note_name, &n), DC_OK);
    assert_int_equal(n.n, 2);
    assert_true(n.ids[0] == G1 && n.ids[1] == G2);
    assert_string_equal(n.names[0], "First");
    assert_string_equal(n.names[1], "Second");
    assert_int_equal(store_guild_set_name(f->s, 45, "a"), DC_OK);
    assert_int_equal(store_guild_set_name(f->s, 46, "b"), DC_OK);
    n.n = 0;
    assert_int_equal(store_each_guild_name(f->s, note_name, &n), DC_OK);
    assert_int_equal(n.n, 3);                                /* stopped */
    assert_true(n.ids[0] == 45 && n.ids[1] == 46 && n.ids[2] == G1);
}

int main(void)
{
    store_global_init();
    const struct CMUnitTest tests[] = {
        BOTH(round_trip_and_upsert),
        BOTH(each_in_order_and_clear),
        BOTH(arguments_are_checked),
        BOTH(rolled_back_with_its_transaction),
        BOTH(read_only_store_refuses_the_write),
        BOTH(older_schema_answers_schema),
        BOTH(every_name_in_id_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
