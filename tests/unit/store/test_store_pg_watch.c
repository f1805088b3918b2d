/* test_store_pg_watch.c - store_watch on PostgreSQL (the loop wakes on the
 * database's socket instead of polling store_service): a loop that sleeps
 * in poll() on exactly what store_watch names gets every commit's outcome,
 * one held by another session's lock included, without ever polling on a
 * timer; a connection the server closes makes the socket readable, and
 * after the backoff store_watch names the new connection's socket (a new
 * gen) until the store accepts writes again.  Skipped without a cluster,
 * failed under CI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "store/store.h"

#define WAIT_MS 20000
#define MAX_WAKES 200                /* a loop that polled on a timer would need thousands */

typedef struct {
    char uri[512];
} pg_db;

static int setup(void **state)
{
    static pg_db db;
    *state = &db;
    if (pgfx_cluster() && pgfx_fresh(db.uri, sizeof db.uri, "watch") != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (pgfx_cluster())
        pgfx_drop("watch");
    return 0;
}

static store *open_turn_store(const char *uri, int busy_ms)
{
    store *s = NULL;
    char err[512] = "";
    store_opts o = { .busy_timeout_ms = busy_ms };
    if (store_open(&s, uri, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    store_set_bare_writes(s, 1);
    return s;
}

static void note(void *ctx, store_outcome outcome, const char *why)
{
    (void)why;
    *(int *)ctx = (int)outcome + 1;
}

/* Sleeps until what store_watch names happens (or its delay ends, or
 * cap_ms), as the daemon's loop does; returns 1 when the socket fired. */
static int sleep_on_watch_at_most(store *s, store_watch_info *wi, int cap_ms)
{
    store_watch(s, wi);
    struct pollfd f = { .fd = wi->fd, .events = (short)((wi->want_read ? POLLIN : 0) | (wi->want_write ? POLLOUT : 0)) };
    int timeout = wi->due_in_ms >= 0 && wi->due_in_ms < cap_ms ? (int)wi->due_in_ms : cap_ms;
    return poll(&f, wi->fd >= 0 ? 1 : 0, timeout) > 0;
}

static int sleep_on_watch(store *s, store_watch_info *wi) { return sleep_on_watch_at_most(s, wi, WAIT_MS); }

/* The outcome of a submitted turn, woken only by what store_watch names. */
static int outcome_by_watch(store *s, int *seen)
{
    store_watch_info wi;
    int wakes = 0;
    while (!*seen && wakes < MAX_WAKES) {
        sleep_on_watch(s, &wi);
        wakes++;
        store_service(s);
    }
    assert_true(*seen);
    return wakes;
}

static void submit_one(store *s, int *seen)
{
    assert_int_equal(store_begin(s), DC_OK);
    assert_int_equal(store_kv_set(s, "watch", "1"), DC_OK);
    *seen = 0;
    assert_int_equal(store_commit_submit(s, note, seen), DC_OK);
}

/* Idle: the socket, read side only, nothing due.  In flight: the COMMIT's
 * answer deadline is due; the outcome arrives by the socket waking the loop
 * a handful of times, also when another session's lock holds the COMMIT
 * for a while (a timer-driven loop would have woken hundreds of times). */
static void a_loop_sleeping_on_store_watch_gets_every_outcome(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 60000);
    store_watch_info wi;
    store_watch(s, &wi);
    assert_int_equal(wi.fd, store_fd(s));
    assert_true(wi.fd >= 0 && wi.want_read && !wi.want_write);
    assert_int_equal(wi.due_in_ms, -1);
    int seen;
    submit_one(s, &seen);
    store_watch(s, &wi);
    assert_true(wi.due_in_ms > 0);                     /* the answer's deadline */
    int wakes = outcome_by_watch(s, &seen);
    assert_int_equal(seen, STORE_COMMITTED + 1);
    assert_true(wakes < 20);

    PGconn *other = pgfx_lock(db->uri, "cleaner_session_state");
    assert_non_null(other);
    submit_one(s, &seen);
    for (int i = 0; i < 3; i++) {                      /* no outcome while the lock holds it */
        if (sleep_on_watch_at_most(s, &wi, 300))
            store_service(s);
        assert_int_equal(seen, 0);
        assert_true(wi.due_in_ms > 0);
    }
    pgfx_unlock(other);
    wakes = outcome_by_watch(s, &seen);
    assert_int_equal(seen, STORE_COMMITTED + 1);
    store_watch(s, &wi);
    assert_int_equal(wi.due_in_ms, -1);                /* answered: nothing due */
    store_close(s);
}

/* The server ends the connection (pg_terminate_backend): the idle socket
 * wakes the loop, store_service sees it lost; store_watch then names the
 * backoff's delay, and after it a new connection (another gen) whose steps
 * it names until writes are accepted again. */
static void a_lost_connection_is_watched_again_after_the_backoff(void **state)
{
    pgfx_need();
    pg_db *db = *state;
    store *s = open_turn_store(db->uri, 20);
    store_watch_info wi;
    store_watch(s, &wi);
    unsigned gen = wi.gen;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    assert_true(pgfx_int(db->uri, sql) >= 1);
    for (int i = 0; i < 5 && wi.fd >= 0; i++) {        /* its FATAL notice, then the close: readable */
        assert_true(sleep_on_watch(s, &wi));
        store_service(s);
        store_watch(s, &wi);
    }
    assert_int_equal(wi.fd, -1);
    assert_true(wi.due_in_ms >= 0 && wi.due_in_ms <= 5000);
    int wakes = 0;
    dc_err rc = DC_ERR_BUSY;
    while (rc != DC_OK && wakes++ < MAX_WAKES) {
        sleep_on_watch(s, &wi);
        store_service(s);
        store_watch(s, &wi);
        if (wi.fd >= 0 && wi.gen != gen)
            rc = store_kv_set(s, "again", "1");        /* refused (busy) until connected */
    }
    assert_int_equal(rc, DC_OK);
    assert_true(wi.gen != gen);
    assert_true(wi.want_read && wi.due_in_ms == -1);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_loop_sleeping_on_store_watch_gets_every_outcome),
        cmocka_unit_test(a_lost_connection_is_watched_again_after_the_backoff),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
