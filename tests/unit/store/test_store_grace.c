/* test_store_grace.c - pending departures (store_grace.h, #17) on both
 * backends: SQLite always, PostgreSQL when DC_TEST_PG_URI names a cluster
 * (skipped without one, failed under CI).
 *
 * A mark keeps the rows and records the due time (a second mark keeps the
 * first); a cancel drops the record and keeps the rows; an expiry before
 * the due time does nothing; at the due time the rows go with one audit row
 * grace_expired whose origin is the departure's reason, and a second expiry
 * (a restart, a second process) finds nothing and deletes nothing; a whole
 * guild's record takes the guild's rows, records and state; a sweep's
 * stale rows are marked instead of deleted; a failing expiry rolls back
 * and keeps the record; counts and the due-ordered listing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "pg_fixture.h"
#include "store/store.h"
#include "store/store_grace.h"
#include "store/store_sweep.h"

typedef struct {
    char db[512];                  /* SQLite path or PostgreSQL URI */
    char dir[64];
    int pg;
    store *s;
} grace_db;

static void sql(grace_db *c, const char *text)
{
    if (c->pg) {
        assert_int_equal(pgfx_exec(c->db, text), 0);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(c->db, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", text, msg);
    sqlite3_close(db);
}

static long long sql_int(grace_db *c, const char *text)
{
    if (c->pg)
        return pgfx_int(c->db, text);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    assert_int_equal(sqlite3_open(c->db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, text, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void open_store(grace_db *c)
{
    if (c->pg)
        pgfx_need();
    char err[512] = "";
    store_opts o = { 0 };
    if (store_open(&c->s, c->db, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    /* guild 1: users 10, 11, 12; guild 2: users 20, 21 */
    sql(c, "INSERT INTO users (discord_id, guild_id) VALUES (10, 1), (11, 1), (12, 1), (20, 2), (21, 2)");
}

static int setup_sqlite(void **state)
{
    grace_db *c = calloc(1, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "/tmp/dc-grace-XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    snprintf(c->db, sizeof c->db, "%s/bot.db", c->dir);
    *state = c;
    return 0;
}

static int setup_pg(void **state)
{
    grace_db *c = calloc(1, sizeof *c);
    c->pg = 1;
    *state = c;
    if (pgfx_cluster() && pgfx_fresh(c->db, sizeof c->db, "grace") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    grace_db *c = *state;
    char cmd[128];
    if (c->s)
        store_close(c->s);
    if (c->pg && pgfx_cluster())
        pgfx_drop("grace");
    if (!c->pg) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", c->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", c->dir);
    }
    free(c);
    return 0;
}

static long long users_of(grace_db *c, int guild)
{
    char q[96];
    snprintf(q, sizeof q, "SELECT count(*) FROM users WHERE guild_id = %d", guild);
    return sql_int(c, q);
}

static void a_mark_keeps_the_rows_and_its_first_due_time(void **state)
{
    grace_db *c = *state;
    open_store(c);
    int64_t n = -1, due = -1;
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_MEMBER_REMOVE, 1000, 5000), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_SWEEP, 2000, 9000), DC_OK);   /* kept: the first */
    assert_int_equal(store_grace_mark(c->s, 2, 0, AUDIT_GUILD_DELETE, 1000, 7000), DC_OK);
    assert_int_equal(store_grace_count(c->s, 0, &n, &due), DC_OK);
    assert_int_equal(n, 2);
    assert_int_equal(due, 5000);
    assert_int_equal(store_grace_count(c->s, 2, &n, &due), DC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(due, 7000);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_grace WHERE discord_id = 10 AND reason = 'member_remove'"), 1);
    assert_int_equal(users_of(c, 1), 3);
    /* refused: no guild, a reason that is no departure's, a due time in the past */
    assert_int_equal(store_grace_mark(c->s, 0, 10, AUDIT_MEMBER_REMOVE, 1000, 5000), DC_ERR_USAGE);
    assert_int_equal(store_grace_mark(c->s, 1, 11, AUDIT_GRACE_EXPIRED, 1000, 5000), DC_ERR_USAGE);
    assert_int_equal(store_grace_mark(c->s, 1, 11, AUDIT_MEMBER_REMOVE, 5000, 1000), DC_ERR_USAGE);
}

static void a_cancel_drops_the_record_and_keeps_the_rows(void **state)
{
    grace_db *c = *state;
    open_store(c);
    int64_t n = -1;
    int expired = -1;
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_MEMBER_REMOVE, 1000, 5000), DC_OK);
    assert_int_equal(store_grace_cancel(c->s, 1, 10, &n), DC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(store_grace_cancel(c->s, 1, 10, &n), DC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(store_grace_expire(c->s, 1, 10, 99999, &expired, NULL), DC_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(users_of(c, 1), 3);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_audit"), 0);
}

static void the_expiry_deletes_once_at_the_due_time(void **state)
{
    grace_db *c = *state;
    open_store(c);
    int expired = -1;
    int64_t rows = -1;
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_MEMBER_REMOVE, 1000, 5000), DC_OK);
    assert_int_equal(store_grace_expire(c->s, 1, 10, 4999, &expired, &rows), DC_OK);
    assert_int_equal(expired, 0);                           /* not due yet */
    assert_int_equal(users_of(c, 1), 3);
    assert_int_equal(store_grace_expire(c->s, 1, 10, 5000, &expired, &rows), DC_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(rows, 1);
    assert_int_equal(users_of(c, 1), 2);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_audit WHERE reason = 'grace_expired' "
                                "AND origin = 'member_remove' AND discord_id = 10 AND rows = 1"), 1);
    /* a restart, or a second process: nothing left to expire */
    store_close(c->s);
    char err[512] = "";
    store_opts o = { 0 };
    assert_int_equal(store_open(&c->s, c->db, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_grace_expire(c->s, 1, 10, 6000, &expired, &rows), DC_OK);
    assert_int_equal(expired, 0);
    assert_int_equal(rows, 0);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_audit"), 1);
}

static void a_guild_record_takes_the_guild(void **state)
{
    grace_db *c = *state;
    open_store(c);
    int expired = -1;
    int64_t rows = -1, n = -1;
    assert_int_equal(store_guild_seen(c->s, 2, 0, 100), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 2, 20, AUDIT_MEMBER_REMOVE, 1000, 9000), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 2, 0, AUDIT_GUILD_DELETE, 1000, 5000), DC_OK);
    assert_int_equal(store_begin(c->s), DC_OK);             /* in the caller's transaction */
    assert_int_equal(store_grace_expire(c->s, 2, 0, 5000, &expired, &rows), DC_OK);
    assert_int_equal(store_commit(c->s), DC_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(rows, 2);
    assert_int_equal(users_of(c, 2), 0);
    assert_int_equal(users_of(c, 1), 3);
    assert_int_equal(store_grace_count(c->s, 2, &n, NULL), DC_OK);
    assert_int_equal(n, 0);                                 /* the member's record went with it */
    store_guild_state g;
    assert_int_equal(store_guild_get(c->s, 2, &g), DC_ERR_NOTFOUND);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_audit WHERE reason = 'grace_expired' "
                                "AND origin = 'guild_delete' AND discord_id IS NULL"), 1);
}

static void a_rolled_back_expiry_keeps_the_record(void **state)
{
    grace_db *c = *state;
    open_store(c);
    int expired = -1;
    int64_t n = -1;
    assert_int_equal(store_grace_mark(c->s, 1, 11, AUDIT_SWEEP, 1000, 5000), DC_OK);
    assert_int_equal(store_begin(c->s), DC_OK);
    assert_int_equal(store_grace_expire(c->s, 1, 11, 5000, &expired, NULL), DC_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(store_rollback(c->s), DC_OK);          /* a crash before the COMMIT */
    assert_int_equal(store_grace_count(c->s, 1, &n, NULL), DC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(users_of(c, 1), 3);
    assert_int_equal(store_grace_expire(c->s, 1, 11, 5000, &expired, NULL), DC_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(users_of(c, 1), 2);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_audit WHERE origin = 'sweep'"), 1);
}

typedef struct {
    store_grace_row v[8];
    int n;
} listing;

static int take_row(void *ctx, const store_grace_row *r)
{
    listing *l = ctx;
    l->v[l->n++] = *r;
    return l->n == 8;
}

static void the_listing_is_due_ordered_and_bounded(void **state)
{
    grace_db *c = *state;
    open_store(c);
    listing l = { 0 };
    assert_int_equal(store_grace_mark(c->s, 1, 12, AUDIT_SWEEP, 1000, 8000), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_MEMBER_REMOVE, 1000, 3000), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 2, 0, AUDIT_LEFT_WHILE_OFFLINE, 1000, 6000), DC_OK);
    assert_int_equal(store_grace_each(c->s, 6000, 0, take_row, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.v[0].user_id, 10);
    assert_int_equal(l.v[0].reason, AUDIT_MEMBER_REMOVE);
    assert_int_equal(l.v[0].marked_ms, 1000);
    assert_int_equal(l.v[1].guild_id, 2);
    assert_int_equal(l.v[1].user_id, 0);
    assert_int_equal(l.v[1].reason, AUDIT_LEFT_WHILE_OFFLINE);
    l.n = 0;
    assert_int_equal(store_grace_each(c->s, INT64_MAX, 1, take_row, &l), DC_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.v[0].due_ms, 3000);
}

static void a_sweep_marks_its_stale_rows(void **state)
{
    grace_db *c = *state;
    open_store(c);
    uint64_t listed[] = { 11 };
    int64_t added = 0, marked = -1;
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_MEMBER_REMOVE, 500, 4000), DC_OK);
    assert_int_equal(store_sweep_open(c->s, 1), DC_OK);
    assert_int_equal(store_sweep_add(c->s, 1, listed, 1, &added), DC_OK);
    assert_int_equal(store_grace_mark_stale(c->s, 1, 1000, 5000, &marked), DC_OK);
    assert_int_equal(marked, 1);                            /* 12; 10 was pending already */
    assert_int_equal(store_sweep_close(c->s, 1), DC_OK);
    assert_int_equal(users_of(c, 1), 3);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_grace WHERE guild_id = 1 AND discord_id = 12 "
                                "AND reason = 'sweep' AND due_ms = 5000"), 1);
    assert_int_equal(sql_int(c, "SELECT due_ms FROM cleaner_grace WHERE discord_id = 10"), 4000);
}

typedef struct {
    store *s;
    dc_err rc;
    int expired;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    r->rc = store_grace_expire(r->s, 1, 10, 5000, &r->expired, NULL);
    return NULL;
}

/* Two processes on one database expire the same record at once: the
 * second waits for the first's transaction and then finds nothing. */
static void two_stores_expire_a_record_once(void **state)
{
    grace_db *c = *state;
    open_store(c);
    char err[512] = "";
    store_opts o = { 0 };
    racer r = { .rc = DC_ERR_INTERNAL, .expired = -1 };
    int expired = -1;
    pthread_t th;
    assert_int_equal(store_open(&r.s, c->db, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 1, 10, AUDIT_MEMBER_REMOVE, 1000, 5000), DC_OK);
    assert_int_equal(store_begin(c->s), DC_OK);
    assert_int_equal(store_grace_expire(c->s, 1, 10, 5000, &expired, NULL), DC_OK);
    assert_int_equal(expired, 1);
    assert_int_equal(pthread_create(&th, NULL, race, &r), 0);
    usleep(300 * 1000);                                     /* the other one waits on our lock */
    assert_int_equal(store_commit(c->s), DC_OK);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(r.rc, DC_OK);
    assert_int_equal(r.expired, 0);
    store_close(r.s);
    assert_int_equal(users_of(c, 1), 2);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_audit"), 1);
}

static int committed = -1;
static void on_commit(void *ctx, store_outcome o, const char *why)
{
    (void)ctx;
    (void)why;
    committed = o == STORE_COMMITTED;
}

/* In the daemon's turn (bare writes, the commit handed over): PostgreSQL
 * queues the marks into one statement; a cancel after a mark of the same
 * member, and a repeated mark, keep their meaning. */
static void marks_in_a_turn_keep_their_order(void **state)
{
    grace_db *c = *state;
    open_store(c);
    int64_t n = -1, due = 0;
    store_set_bare_writes(c->s, 1);
    assert_int_equal(store_begin(c->s), DC_OK);
    for (uint64_t u = 1; u <= 300; u++)
        assert_int_equal(store_grace_mark(c->s, 3, u, AUDIT_MEMBER_REMOVE, 1000, 5000 + (int64_t)u), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 3, 7, AUDIT_SWEEP, 1000, 9999), DC_OK);    /* the first stays */
    assert_int_equal(store_grace_cancel(c->s, 3, 5, NULL), DC_OK);
    assert_int_equal(store_grace_mark(c->s, 3, 6, AUDIT_MEMBER_REMOVE, 1000, 5006), DC_OK);
    assert_int_equal(store_grace_cancel(c->s, 3, 6, NULL), DC_OK);
    committed = -1;
    assert_int_equal(store_commit_submit(c->s, on_commit, NULL), DC_OK);
    for (int i = 0; i < 100 && committed < 0; i++) {
        if (!store_pending(c->s))
            store_wait(c->s, 100);
        store_service(c->s);
    }
    assert_int_equal(committed, 1);
    assert_int_equal(store_grace_count(c->s, 3, &n, &due), DC_OK);
    assert_int_equal(n, 298);
    assert_int_equal(due, 5001);
    assert_int_equal(sql_int(c, "SELECT due_ms FROM cleaner_grace WHERE discord_id = 7"), 5007);
    assert_int_equal(sql_int(c, "SELECT count(*) FROM cleaner_grace WHERE discord_id IN (5, 6)"), 0);
}

#define BOTH(fn) cmocka_unit_test_setup_teardown(fn, setup_sqlite, teardown), \
                 cmocka_unit_test_setup_teardown(fn, setup_pg, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(a_mark_keeps_the_rows_and_its_first_due_time),
        BOTH(a_cancel_drops_the_record_and_keeps_the_rows),
        BOTH(the_expiry_deletes_once_at_the_due_time),
        BOTH(a_guild_record_takes_the_guild),
        BOTH(a_rolled_back_expiry_keeps_the_record),
        BOTH(the_listing_is_due_ordered_and_bounded),
        BOTH(a_sweep_marks_its_stale_rows),
        BOTH(two_stores_expire_a_record_once),
        BOTH(marks_in_a_turn_keep_their_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
