/* test_store_pg_async.c - the PostgreSQL backend's asynchronous turn
 * (issue #16) against a real server: member deletes queued in a turn go
 * out as one batched statement (users and the clean tables) and commit with
 * one audit row per call and its true row count; a read in the turn sees the writes queued before it;
 * a turn submitted while another session holds the users table returns at
 * once and its outcome waits for the socket (busy after lock_timeout,
 * committed when the lock goes first); a write refused in the turn breaks
 * it; a server restart mid-turn is a retry, the backend reconnects and the
 * redone turn commits once; a long turn's batches reach the server before
 * its COMMIT; a read that takes a COMMIT's answer off the socket says so
 * through store_on_pending.  Skipped without a cluster, failed under CI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "store/store.h"

#define GUILD 7
#define WAIT_MS 20000

typedef struct {
    char uri[512];
} pg_db;

typedef struct {
    int calls;
    store_outcome outcome;
    store_member_totals totals;
    store *s;
} outcome_seen;

static int setup(void **state)
{
    static pg_db db;
    *state = &db;
    if (pgfx_cluster() && pgfx_fresh(db.uri, sizeof db.uri, "async") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (pgfx_cluster())
        pgfx_drop("async");
    return 0;
}

/* The whole group runs twice: without an answer wait (the CLI, a replay)
 * and with the live loop's kind of one, generous here, so that every
 * statement goes through the pipeline (store_pg_ask) and the same
 * expectations hold. */
static int answer_wait_ms;

static int without_answer_wait(void **state)
{
    answer_wait_ms = 0;
    return setup(state);
}

static int with_answer_wait(void **state)
{
    answer_wait_ms = 5000;
    return setup(state);
}

/* The daemon's setting: its turn with bare writes on and a short lock wait. */
static store *open_turn_store(const char *uri, int busy_ms)
{
    store *s = NULL;
    char err[512] = "";
    store_opts o = { .busy_timeout_ms = busy_ms };
    if (store_open(&s, uri, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    store_set_bare_writes(s, 1);
    store_set_answer_wait(s, answer_wait_ms);
    return s;
}

static void note(void *ctx, store_outcome outcome, const char *why)
{
    outcome_seen *o = ctx;
    (void)why;
    o->calls++;
    o->outcome = outcome;
    o->totals = *store_outcome_members(o->s);
}

/* Waits for the submitted turn's outcome and delivers it. */
static void finish(store *s, outcome_seen *o)
{
    int before = o->calls;
    store_wait(s, WAIT_MS);
    assert_int_equal(store_pending(s), 1);
    store_service(s);
    assert_int_equal(o->calls, before + 1);
    assert_false(store_in_flight(s));
}

static void seed(const char *uri, int first, int count, int step)
{
    char sql[256];
    pgfx_exec(uri, "DELETE FROM users; DELETE FROM cleaner_audit");
    snprintf(sql, sizeof sql,
             "INSERT INTO users (discord_id, guild_id) SELECT u, %d FROM generate_series(%d, %d, %d) u", GUILD,
             first, first + count - 1, step);
    assert_int_equal(pgfx_exec(uri, sql), 0);
}

static long long q(const char *uri, const char *sql) { return pgfx_int(uri, sql); }

static void queue_member(store *s, uint64_t user, int dry_run)
{
    int64_t rows = 0;
    assert_int_equal(store_delete_member(s, GUILD, user, AUDIT_MEMBER_REMOVE, dry_run, 1000, &rows), DC_OK);
    assert_int_equal(rows, -1);      /* queued: its rows come with the commit */
}

/* 1000 departures in one turn: queued (no round trip each), committed with
 * one audit row per call carrying that member's own count.  Members 1000..
 * 1999, the even ones have a row; 1000 is queued twice (its second call
 * finds nothing, as on SQLite); a session write in the middle keeps its
 * place, and a read sees it. */
static void a_turn_of_deletes_commits_as_one_batch_with_true_counts(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1000, 1000, 2);
    outcome_seen o = { .s = s };
    char v[32] = "";
    assert_int_equal(store_begin(s), DC_OK);
    for (uint64_t u = 1000; u < 1500; u++)
        queue_member(s, u, 0);
    assert_int_equal(store_kv_set(s, "async_k", "v1"), DC_OK);
    assert_int_equal(store_kv_get(s, "async_k", v, sizeof v), DC_OK);   /* the queue settles first */
    assert_string_equal(v, "v1");
    for (uint64_t u = 1500; u < 2000; u++)
        queue_member(s, u, 0);
    queue_member(s, 1000, 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.members, 1001);
    assert_int_equal(o.totals.rows, 500);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], 500);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 0);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), 1001);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit WHERE discord_id % 2 = 0 AND rows = 1 "
                                "AND reason = 'member_remove' AND dry_run = 0 AND at_ms = 1000 AND guild_id = 7"),
                     500);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit WHERE discord_id % 2 = 1 AND rows = 0"), 500);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit WHERE discord_id = 1000 AND rows = 0"), 1);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE value = 'v1'"), 1);
    store_close(s);
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* 20,000 departures in one turn (batched statements of 256, sent as they fill):
 * all deleted, each audited once.  The figures are printed, not asserted:
 * the time the caller spends queueing and submitting (the loop's share)
 * against the time until the outcome (the server's). */
static void a_big_turn_commits_whole(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    enum { N = 20000 };
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 100000, N, 1);
    outcome_seen o = { .s = s };
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(store_begin(s), DC_OK);
    for (uint64_t u = 100000; u < 100000 + N; u++)
        queue_member(s, u, 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    double queued = ms_since(&t0);
    finish(s, &o);
    double done = ms_since(&t0);
    printf("# %d departures in one turn: queued and submitted in %.1f ms, committed after %.1f ms\n", N,
           queued, done);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], N);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 0);
    assert_int_equal(q(db->uri, "SELECT count(DISTINCT discord_id) FROM cleaner_audit WHERE rows = 1"), N);
    store_close(s);
}

/* Whether another session finds user's row locked (a delete not committed). */
static int row_locked(const char *uri, int user)
{
    char sql[128];
    PGconn *c = PQconnectdb(uri);
    snprintf(sql, sizeof sql, "SELECT discord_id FROM users WHERE discord_id = %d FOR UPDATE NOWAIT", user);
    PGresult *r = PQexec(c, sql);
    int locked = PQresultStatus(r) != PGRES_TUPLES_OK;
    PQclear(r);
    PQfinish(c);
    return locked;
}

/* A turn of 600 departures: its batches go to the server every 256
 * members while the turn is still being filled (the server deletes while
 * the daemon parses on), so the first members' rows are locked by the turn
 * before its COMMIT is submitted; the last 88 wait for it.  Committed:
 * every member deleted and audited once, the counts whole. */
static void a_long_turn_sends_its_batches_before_the_commit(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 600, 1);
    outcome_seen o = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    for (uint64_t u = 1; u <= 600; u++)
        queue_member(s, u, 0);
    int locked = 0;
    for (int i = 0; i < 500 && !locked; i++)
        if (!(locked = row_locked(db->uri, 1)))
            usleep(10000);
    assert_true(locked);
    assert_true(row_locked(db->uri, 512));
    assert_false(row_locked(db->uri, 513));     /* the third batch is not full: it goes with the COMMIT */
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 600);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.members, 600);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], 600);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 0);
    assert_int_equal(q(db->uri, "SELECT count(DISTINCT discord_id) FROM cleaner_audit WHERE rows = 1"), 600);
    store_close(s);
}

/* The same turn while another session holds users: the batches sent
 * early wait for the lock like the rest, the turn comes back busy with
 * nothing of it written, and redone it commits every member once. */
static void a_long_turn_on_a_held_table_is_redone_whole(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 600, 1);
    outcome_seen o = { .s = s };
    PGconn *other = pgfx_lock(db->uri, "users");
    assert_non_null(other);
    for (int attempt = 0; attempt < 2; attempt++) {
        assert_int_equal(store_begin(s), DC_OK);
        for (uint64_t u = 1; u <= 600; u++)
            queue_member(s, u, 0);
        assert_int_equal(store_kv_set(s, "long_seq", "600"), DC_OK);
        assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
        finish(s, &o);
        if (attempt == 0) {
            assert_int_equal(o.outcome, STORE_RETRY_BUSY);
            assert_int_equal(o.totals.members, 0);
            pgfx_unlock(other);
            assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 600);
            assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), 0);
            assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE key = 'long_seq'"), 0);
        }
    }
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], 600);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 0);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), 600);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE key = 'long_seq'"), 1);
    store_close(s);
}

/* The clean tables go in the same statement, each member's audit row
 * counting its rows of every table; a clean table may keep its user ids as
 * TEXT while users has BIGINT. */
static void a_batch_clears_the_clean_tables_with_each_members_count(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    static const config_clean_table xp = { "xp", "user_id", "guild_id" };
    store *s = NULL;
    char err[512] = "";
    assert_int_equal(pgfx_exec(db->uri, "DROP TABLE IF EXISTS xp; "
                                        "CREATE TABLE xp (user_id TEXT, guild_id BIGINT, points INT)"), 0);
    store_opts o = { .busy_timeout_ms = 20, .clean_tables = &xp, .n_clean_tables = 1 };
    if (store_open(&s, db->uri, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    store_set_bare_writes(s, 1);
    seed(db->uri, 1, 3, 1);
    assert_int_equal(pgfx_exec(db->uri, "INSERT INTO xp VALUES ('1', 7, 1), ('1', 7, 2), ('3', 7, 3), ('3', 8, 4)"), 0);
    outcome_seen seen = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    for (uint64_t u = 1; u <= 3; u++)
        queue_member(s, u, 0);
    assert_int_equal(store_commit_submit(s, note, &seen), DC_OK);
    finish(s, &seen);
    assert_int_equal(seen.outcome, STORE_COMMITTED);
    assert_int_equal(seen.totals.removed[AUDIT_MEMBER_REMOVE], 6);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM xp"), 1);       /* guild 8's row stays */
    assert_int_equal(q(db->uri, "SELECT rows FROM cleaner_audit WHERE discord_id = 1"), 3);
    assert_int_equal(q(db->uri, "SELECT rows FROM cleaner_audit WHERE discord_id = 2"), 1);
    assert_int_equal(q(db->uri, "SELECT rows FROM cleaner_audit WHERE discord_id = 3"), 2);
    store_close(s);
    pgfx_exec(db->uri, "DROP TABLE xp");
}

/* A dry run in the batch counts and audits, and deletes nothing. */
static void a_dry_run_in_the_batch_counts_only(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 10, 3, 1);
    outcome_seen o = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 10, 1);
    queue_member(s, 11, 1);
    queue_member(s, 99, 1);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.rows, 2);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], 0);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 3);
    assert_int_equal(q(db->uri, "SELECT sum(rows) FROM cleaner_audit WHERE dry_run = 1"), 2);
    store_close(s);
}

static PGconn *lock_users(const char *uri, const char *table)
{
    PGconn *other = pgfx_lock(uri, table);
    assert_non_null(other);
    return other;
}

static int readable(store *s)
{
    struct pollfd f = { .fd = store_fd(s), .events = POLLIN };
    assert_true(f.fd >= 0);
    return poll(&f, 1, 0) > 0;
}

/* Submitted while another session holds users (a lock wait longer than the
 * test): the submit returns with nothing pending, store_service on a socket
 * with nothing to read delivers nothing, and once the lock goes the same
 * turn commits. */
static void a_submit_never_waits_for_a_held_table(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 600000);
    seed(db->uri, 1, 2, 1);
    outcome_seen o = { .s = s };
    PGconn *other = lock_users(db->uri, "users");
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 1, 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    assert_int_equal(store_pending(s), 0);
    assert_true(store_in_flight(s));
    assert_false(readable(s));
    store_service(s);
    assert_int_equal(o.calls, 0);
    pgfx_unlock(other);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], 1);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 1);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit WHERE discord_id = 1 AND rows = 1"), 1);
    store_close(s);
}

/* With the daemon's short lock wait the held table refuses the turn as
 * busy: nothing of it is written; redone after the lock goes, it commits. */
static void a_held_table_makes_the_turn_retry_busy(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 2, 1);
    outcome_seen o = { .s = s };
    PGconn *other = lock_users(db->uri, "users");
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 1, 0);
    assert_int_equal(store_kv_set(s, "seq", "41"), DC_OK);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_RETRY_BUSY);
    assert_int_equal(o.totals.members, 0);
    pgfx_unlock(other);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 2);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), 0);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE key = 'seq'"), 0);
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 1, 0);
    assert_int_equal(store_kv_set(s, "seq", "41"), DC_OK);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 1);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), 1);
    store_close(s);
}

/* A queued write refused for a lock is found when the turn next needs an
 * answer: that call fails as busy and the turn is broken until rolled back. */
static void a_refused_queued_write_breaks_the_turn(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 1, 1);
    char v[32];
    PGconn *other = lock_users(db->uri, "cleaner_session_state");
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_kv_set(s, "k", "v"), DC_OK);       /* queued: no answer yet */
    assert_int_equal(store_kv_get(s, "k", v, sizeof v), DC_ERR_BUSY);
    assert_true(store_tx_broken(s));
    assert_int_equal(store_refused(s), 1);
    assert_int_equal(store_rollback(s), DC_OK);
    pgfx_unlock(other);
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_kv_set(s, "k", "v"), DC_OK);
    assert_int_equal(store_commit(s), DC_OK);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE key = 'k'"), 1);
    store_close(s);
}

/* Begins a turn on a store whose connection was lost: refused as busy
 * until the backend has reconnected (it retries after 100 ms, doubling). */
static void begin_again(store *s)
{
    for (int i = 0; i < 400; i++) {
        store_service(s);            /* steps the reconnect, never waiting */
        if (store_begin(s) == DC_OK)
            return;
        assert_int_equal(store_refused(s), 1);
        usleep(25000);
    }
    fail_msg("the store did not reconnect: %s", store_errmsg(s));
}

/* The turn of members 1..n came back a retry after the connection was
 * lost: nothing of it is written; redone once reconnected, it commits once. */
static void redo_after_loss(const pg_db *db, store *s, outcome_seen *o, int n, int seeded)
{
    assert_int_equal(o->outcome, STORE_RETRY_BUSY);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), seeded);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), 0);
    begin_again(s);
    for (int u = 1; u <= n; u++)
        queue_member(s, (uint64_t)u, 0);
    assert_int_equal(store_commit_submit(s, note, o), DC_OK);
    finish(s, o);
    assert_int_equal(o->outcome, STORE_COMMITTED);
    assert_int_equal(o->totals.removed[AUDIT_MEMBER_REMOVE], n);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), seeded - n);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_audit"), n);
}

/* pg_ctl restart -m fast with a turn open: the turn is a retry (nothing of
 * it written), the backend reconnects, the redone turn commits once. */
static void a_restart_mid_turn_is_retried_and_nothing_doubles(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    if (!getenv("DC_TEST_PG_DIR"))
        skip();
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 3, 1);
    outcome_seen o = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    char v[8];
    assert_int_equal(store_kv_get(s, "none", v, sizeof v), DC_ERR_NOTFOUND);   /* BEGIN reached the server */
    for (uint64_t u = 1; u <= 3; u++)
        queue_member(s, u, 0);
    assert_int_equal(pgfx_restart(), 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    redo_after_loss(db, s, &o, 3, 3);
    store_close(s);
}

/* The server restarts while the turn's statements run (a trigger of the
 * bot's that takes its time): the answer is the closed connection, so the
 * turn is a retry; nothing of it was written. */
static void a_restart_with_the_commit_in_flight_is_a_retry(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    if (!getenv("DC_TEST_PG_DIR"))
        skip();
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 2, 1);
    assert_int_equal(pgfx_exec(db->uri, "CREATE FUNCTION slow() RETURNS trigger AS "
                                        "$$ BEGIN PERFORM pg_sleep(60); RETURN OLD; END $$ LANGUAGE plpgsql; "
                                        "CREATE TRIGGER slow BEFORE DELETE ON users FOR EACH ROW "
                                        "EXECUTE FUNCTION slow()"), 0);
    outcome_seen o = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 1, 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    assert_true(store_in_flight(s));
    assert_int_equal(pgfx_restart(), 0);
    finish(s, &o);
    assert_int_equal(pgfx_exec(db->uri, "DROP TRIGGER slow ON users"), 0);
    redo_after_loss(db, s, &o, 1, 2);
    store_close(s);
}

static void count_pending(void *ctx)
{
    ++*(int *)ctx;
}

/* The daemon's loop learns of a COMMIT's answer from the socket.  A read
 * made while the COMMIT is in flight settles the pipeline and takes that
 * answer off the socket, which then stays quiet: the hook is what wakes
 * the loop (without it the writes queued behind that commit waited for the
 * next event -- itest_metrics on PostgreSQL, after a RESUME). */
static void a_read_that_takes_the_commits_answer_calls_the_hook(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    seed(db->uri, 1, 10, 1);
    int woke = 0;
    store_on_pending(s, count_pending, &woke);
    outcome_seen o = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 3, 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    assert_int_equal(woke, 0);
    store_guild_state g;
    assert_int_equal(store_guild_get(s, GUILD, &g), DC_ERR_NOTFOUND);   /* a read, outside the turn */
    assert_int_equal(woke, 1);
    assert_false(store_in_flight(s));
    assert_int_equal(store_pending(s), 1);
    store_service(s);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 9);
    store_on_pending(s, NULL, NULL);
    store_close(s);
}

/* Reads until one answers (the one given up on has been answered and
 * dropped meanwhile); the count it read. */
static int64_t count_once_caught_up(store *s)
{
    int64_t rows = -1;
    for (int i = 0; i < WAIT_MS / 10; i++) {
        if (store_count_guild(s, GUILD, &rows) == DC_OK)
            return rows;
        struct pollfd f = { .fd = store_fd(s), .events = POLLIN };
        poll(&f, 1, 10);
        store_service(s);
    }
    fail_msg("no answer after %d ms: %s", WAIT_MS, store_errmsg(s));
    return -1;
}

/* The live loop's bound: a read held past the answer wait (another
 * session holds users, the lock wait is long) is given up on -- busy, "did
 * not answer" -- and the next read fails at once without being sent;
 * once the lock goes, the given-up answer is dropped and reads answer
 * truly again. */
static void a_read_past_the_answer_wait_is_given_up_and_the_next_fails_at_once(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 600000);
    store_set_answer_wait(s, 100);
    seed(db->uri, 1, 2, 1);
    int64_t rows = 0;
    PGconn *other = lock_users(db->uri, "users");
    assert_int_equal(store_count_guild(s, GUILD, &rows), DC_ERR_BUSY);
    assert_int_equal(store_refused(s), 1);
    assert_non_null(strstr(store_errmsg(s), "did not answer within 100 ms"));
    assert_int_equal(store_count_guild(s, GUILD, &rows), DC_ERR_BUSY);
    assert_non_null(strstr(store_errmsg(s), "has not answered an earlier statement yet"));
    store_guild_state g;
    assert_int_equal(store_guild_get(s, GUILD, &g), DC_ERR_BUSY);   /* any statement: not sent */
    pgfx_unlock(other);
    assert_int_equal(count_once_caught_up(s), 2);
    assert_int_equal(store_guild_get(s, GUILD, &g), DC_ERR_NOTFOUND);
    store_close(s);
}

/* A turn rolled back behind a read given up on: the turn's queued write
 * fails on the server after it was rolled back (lock_timeout), and that
 * failure is no news for the next turn, which commits and says so (taken
 * for the next turn's, it made a committed turn look refused: redone, its
 * audit rows doubled). */
static void a_turn_rolled_back_behind_a_given_up_read_leaves_the_next_clean(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 300);
    store_set_answer_wait(s, 50);
    seed(db->uri, 1, 3, 1);
    int64_t rows = 0;
    PGconn *other = lock_users(db->uri, "cleaner_session_state");
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_kv_set(s, "k", "v"), DC_OK);          /* queued: waits for the lock */
    assert_int_equal(store_count_guild(s, GUILD, &rows), DC_ERR_BUSY);
    assert_int_equal(store_rollback(s), DC_OK);
    struct timespec nap = { 0, 600 * 1000000L };                   /* past lock_timeout: it failed */
    nanosleep(&nap, NULL);
    store_service(s);
    pgfx_unlock(other);
    assert_int_equal(count_once_caught_up(s), 3);
    outcome_seen o = { .s = s };
    assert_int_equal(store_begin(s), DC_OK);
    queue_member(s, 1, 0);
    assert_int_equal(store_commit_submit(s, note, &o), DC_OK);
    finish(s, &o);
    assert_int_equal(o.outcome, STORE_COMMITTED);
    assert_int_equal(o.totals.removed[AUDIT_MEMBER_REMOVE], 1);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM users"), 2);
    assert_int_equal(q(db->uri, "SELECT count(*) FROM cleaner_session_state WHERE key = 'k'"), 0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest bounded[] = {
        cmocka_unit_test(a_read_past_the_answer_wait_is_given_up_and_the_next_fails_at_once),
        cmocka_unit_test(a_turn_rolled_back_behind_a_given_up_read_leaves_the_next_clean),
    };
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_turn_of_deletes_commits_as_one_batch_with_true_counts),
        cmocka_unit_test(a_big_turn_commits_whole),
        cmocka_unit_test(a_long_turn_sends_its_batches_before_the_commit),
        cmocka_unit_test(a_long_turn_on_a_held_table_is_redone_whole),
        cmocka_unit_test(a_batch_clears_the_clean_tables_with_each_members_count),
        cmocka_unit_test(a_dry_run_in_the_batch_counts_only),
        cmocka_unit_test(a_submit_never_waits_for_a_held_table),
        cmocka_unit_test(a_held_table_makes_the_turn_retry_busy),
        cmocka_unit_test(a_refused_queued_write_breaks_the_turn),
        cmocka_unit_test(a_restart_mid_turn_is_retried_and_nothing_doubles),
        cmocka_unit_test(a_restart_with_the_commit_in_flight_is_a_retry),
        cmocka_unit_test(a_read_that_takes_the_commits_answer_calls_the_hook),
    };
    int failed = cmocka_run_group_tests_name("without an answer wait", tests, without_answer_wait, teardown);
    failed += cmocka_run_group_tests_name("with the live loop's answer wait", tests, with_answer_wait, teardown);
    return failed + cmocka_run_group_tests_name("bounded", bounded, with_answer_wait, teardown);
}
