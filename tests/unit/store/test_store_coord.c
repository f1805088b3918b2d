/* test_store_coord.c - shard leases and the identify lock (store.h, #16)
 * on both backends: SQLite always, PostgreSQL when DC_TEST_PG_URI names a
 * cluster (skipped without one, failed under CI).
 *
 * Leases: a claim writes one row per shard; another owner's live lease on
 * one of those shards, or on any shard of another count, refuses the claim
 * with DC_ERR_CONFIG naming that owner's whole range, and writes nothing;
 * an expired lease, one of the claimer itself, or one whose owner the
 * callback calls gone is taken over; renewing reports how many shards are
 * still held; release deletes the owner's rows.  The identify lock: two
 * stores on one database never hold a bucket at once, other buckets are
 * free, a bucket is the holder's until it unlocks or closes, and its time
 * keeps it taken for the hold even when its holder died at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "store/store.h"

typedef struct {
    char db[512];                  /* SQLite path or PostgreSQL URI */
    char dir[64];
    int pg;
} coord_db;

static int setup_sqlite(void **state)
{
    coord_db *c = calloc(1, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "/tmp/dc-coord-XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    snprintf(c->db, sizeof c->db, "%s/bot.db", c->dir);
    *state = c;
    return 0;
}

static int setup_pg(void **state)
{
    coord_db *c = calloc(1, sizeof *c);
    c->pg = 1;
    *state = c;
    if (pgfx_cluster() && pgfx_fresh(c->db, sizeof c->db, "coord") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    coord_db *c = *state;
    char cmd[128];
    if (c->pg && pgfx_cluster())
        pgfx_drop("coord");
    if (!c->pg) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", c->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", c->dir);
    }
    free(c);
    return 0;
}

static store *open_store(coord_db *c)
{
    if (c->pg)
        pgfx_need();
    store *s = NULL;
    char err[512] = "";
    store_opts o = { 0 };
    if (store_open(&s, c->db, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

static store_lease_owner owner(const char *host, int64_t pid)
{
    store_lease_owner o = { .pid = pid };
    snprintf(o.host, sizeof o.host, "%s", host);
    return o;
}

static int n_holders;
static store_lease_holder holders[8];

static int collect(void *ctx, const store_lease_holder *h)
{
    (void)ctx;
    if (n_holders < 8)
        holders[n_holders++] = *h;
    return 0;
}

static int each(store *s)
{
    n_holders = 0;
    assert_int_equal(store_each_lease(s, collect, NULL), DC_OK);
    return n_holders;
}

static int gone_pid;

static int gone(void *ctx, const store_lease_owner *o)
{
    (void)ctx;
    return o->pid == gone_pid;
}

static void a_live_lease_refuses_an_overlapping_claim(void **state)
{
    store *s = open_store(*state);
    store_lease_owner a = owner("host-a", 100), b = owner("host-b", 200);
    store_lease_holder h;
    assert_int_equal(store_lease_claim(s, &a, 0, 3, 16, 1000, 30000, NULL, NULL, &h), DC_OK);
    assert_int_equal(store_lease_claim(s, &b, 4, 7, 16, 1000, 30000, NULL, NULL, &h), DC_OK);
    assert_int_equal(each(s), 2);
    assert_string_equal(holders[0].owner.host, "host-a");
    assert_int_equal(holders[0].first, 0);
    assert_int_equal(holders[0].last, 3);
    assert_int_equal(holders[0].n_shards, 4);
    assert_int_equal(holders[0].expires_ms, 31000);
    assert_int_equal(holders[1].owner.pid, 200);

    store_lease_owner c = owner("host-c", 300);
    assert_int_equal(store_lease_claim(s, &c, 2, 5, 16, 2000, 30000, NULL, NULL, &h), DC_ERR_CONFIG);
    assert_string_equal(h.owner.host, "host-a");          /* the whole range of the one in the way */
    assert_int_equal(h.owner.pid, 100);
    assert_int_equal(h.first, 0);
    assert_int_equal(h.last, 3);
    assert_int_equal(h.count, 16);
    assert_int_equal(h.expires_ms, 31000);
    assert_non_null(strstr(store_errmsg(s), "host-a"));
    /* another shard count conflicts with every shard */
    assert_int_equal(store_lease_claim(s, &c, 7, 7, 8, 2000, 30000, NULL, NULL, &h), DC_ERR_CONFIG);
    assert_int_equal(each(s), 2);                           /* nothing written */
    /* a disjoint range of the same count is fine */
    assert_int_equal(store_lease_claim(s, &c, 8, 11, 16, 2000, 30000, NULL, NULL, &h), DC_OK);
    assert_int_equal(each(s), 3);
    store_close(s);
}

static void expired_own_and_gone_leases_are_taken_over(void **state)
{
    store *s = open_store(*state);
    store_lease_owner a = owner("host-a", 100), b = owner("host-b", 200);
    store_lease_holder h;
    assert_int_equal(store_lease_claim(s, &a, 0, 3, 16, 1000, 30000, NULL, NULL, &h), DC_OK);
    /* the owner itself claims again (a restart that kept its pid) */
    assert_int_equal(store_lease_claim(s, &a, 0, 3, 16, 5000, 30000, NULL, NULL, &h), DC_OK);
    /* expired at 35000 */
    assert_int_equal(store_lease_claim(s, &b, 0, 3, 16, 34999, 30000, NULL, NULL, &h), DC_ERR_CONFIG);
    assert_int_equal(store_lease_claim(s, &b, 0, 3, 16, 35000, 30000, NULL, NULL, &h), DC_OK);
    assert_int_equal(each(s), 1);
    assert_int_equal(holders[0].owner.pid, 200);
    /* live, but its owner is gone (the daemon: this host, no such pid) */
    store_lease_owner c = owner("host-b", 300);
    gone_pid = 999;
    assert_int_equal(store_lease_claim(s, &c, 0, 1, 16, 36000, 30000, gone, NULL, &h), DC_ERR_CONFIG);
    gone_pid = 200;
    assert_int_equal(store_lease_claim(s, &c, 0, 1, 16, 36000, 30000, gone, NULL, &h), DC_OK);
    assert_int_equal(each(s), 1);                           /* all of b's rows went with it */
    assert_int_equal(holders[0].owner.pid, 300);
    assert_int_equal(holders[0].last, 1);
    store_close(s);
}

static void renew_counts_what_is_still_held_and_release_deletes(void **state)
{
    store *s = open_store(*state);
    store_lease_owner a = owner("host-a", 100), b = owner("host-b", 200);
    store_lease_holder h;
    int held = -1;
    assert_int_equal(store_lease_claim(s, &a, 0, 3, 16, 1000, 30000, NULL, NULL, &h), DC_OK);
    assert_int_equal(store_lease_renew(s, &a, 0, 3, 16, 11000, 30000, &held), DC_OK);
    assert_int_equal(held, 4);
    assert_int_equal(each(s), 1);
    assert_int_equal(holders[0].expires_ms, 41000);
    /* a expired; b took two of its shards */
    assert_int_equal(store_lease_claim(s, &b, 2, 3, 16, 41000, 30000, NULL, NULL, &h), DC_OK);
    assert_int_equal(store_lease_renew(s, &a, 0, 3, 16, 42000, 30000, &held), DC_OK);
    assert_int_equal(held, 0);                              /* b's claim dropped every expired row */
    assert_int_equal(store_lease_release(s, &b), DC_OK);
    assert_int_equal(each(s), 0);
    assert_int_equal(store_lease_claim(s, &a, 4, 3, 16, 1000, 30000, NULL, NULL, &h), DC_ERR_USAGE);
    store_close(s);
}

/* The bucket got within 2 s: a lock released by an unlock (PostgreSQL:
 * sent, not waited for) or by closing (the server ends the session after
 * the client went) is free a moment later. */
static int lock_eventually(store *s, int bucket)
{
    int got = 0;
    for (int tries = 0; tries < 100 && !got; tries++) {
        assert_int_equal(store_identify_lock(s, bucket, 0, &got), DC_OK);
        if (!got)
            usleep(20 * 1000);
    }
    return got;
}

static void one_holder_per_identify_bucket(void **state)
{
    store *s1 = open_store(*state), *s2 = open_store(*state);
    int got = -1;
    assert_int_equal(store_identify_lock(s1, 0, 0, &got), DC_OK);
    assert_int_equal(got, 1);
    assert_int_equal(store_identify_lock(s2, 0, 0, &got), DC_OK);
    assert_int_equal(got, 0);                               /* another process has it */
    assert_int_equal(store_identify_lock(s1, 0, 0, &got), DC_OK);
    assert_int_equal(got, 0);                               /* and not twice for its holder */
    assert_int_equal(store_identify_lock(s2, 1, 0, &got), DC_OK);
    assert_int_equal(got, 1);                               /* another bucket is free */
    assert_int_equal(store_identify_unlock(s1, 0), DC_OK);
    assert_true(lock_eventually(s2, 0));
    store_close(s2);                                        /* closing drops its locks */
    assert_true(lock_eventually(s1, 1));
    assert_true(lock_eventually(s1, 0));
    store_close(s1);
}

/* Prepared (the daemon's way): the lock never waits for the connection
 * behind it; it is got once that is ready (SQLite: at once), and only once. */
static void a_prepared_identify_lock_is_got_without_waiting(void **state)
{
    store *s1 = open_store(*state), *s2 = open_store(*state);
    int got = -1;
    assert_int_equal(store_identify_prepare(s1), DC_OK);
    assert_int_equal(store_identify_prepare(s2), DC_OK);
    assert_true(lock_eventually(s1, 4));
    assert_false(lock_eventually(s2, 4));                   /* s2 asks for 2 s: never while s1 holds it */
    assert_int_equal(store_identify_lock(s1, 4, 0, &got), DC_OK);
    assert_int_equal(got, 0);                               /* and not twice for its holder */
    store_close(s2);
    store_close(s1);
}

/* A holder that closes (dies) right after getting a bucket keeps it for
 * hold_ms all the same: its time stays with the bucket. */
static void a_bucket_stays_taken_for_its_hold_after_its_holder_died(void **state)
{
    store *s1 = open_store(*state), *s2 = open_store(*state);
    int got = -1;
    assert_int_equal(store_identify_lock(s1, 3, 60000, &got), DC_OK);
    assert_int_equal(got, 1);
    store_close(s1);                                        /* the lock goes, its time stays */
    assert_int_equal(store_identify_lock(s2, 3, 60000, &got), DC_OK);
    assert_int_equal(got, 0);
    assert_int_equal(store_identify_lock(s2, 2, 60000, &got), DC_OK);
    assert_int_equal(got, 1);                               /* the other buckets are free */
    assert_int_equal(store_identify_unlock(s2, 2), DC_OK);
    usleep(300 * 1000);
    assert_int_equal(store_identify_lock(s2, 3, 200, &got), DC_OK);
    assert_int_equal(got, 1);                               /* its hold is over */
    store_close(s2);
}

#define BOTH(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown), \
                 cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(a_live_lease_refuses_an_overlapping_claim),
        BOTH(expired_own_and_gone_leases_are_taken_over),
        BOTH(renew_counts_what_is_still_held_and_release_deletes),
        BOTH(one_holder_per_identify_bucket),
        BOTH(a_prepared_identify_lock_is_got_without_waiting),
        BOTH(a_bucket_stays_taken_for_its_hold_after_its_holder_died),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
