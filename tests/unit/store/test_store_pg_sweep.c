/* test_store_pg_sweep.c - the PostgreSQL backend's side of a sweep (issue
 * #16; store_sweep.h), against a real server (skipped without one, failed
 * under CI): test_store.c's cases for member sets (closed sets cleared in
 * slices, distinct ids counted, a reopened set never cleared behind a new
 * sweep, a failed slice given up), plus the scan's windows and cursor in
 * numeric order, batched deletes with their audit rows, a failed batch
 * that hands its slice back, large chunks in one statement, and sets that
 * belong to one connection -- each on users ids of BIGINT, NUMERIC, TEXT and
 * VARCHAR. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "base/log.h"
#include "pg_bot_fixture.h"
#include "store/store_sweep.h"

#define TAG "sweep"

static int setup_bigint(void **state) { return pgbot_setup(state, TAG, "BIGINT", "BIGINT"); }
static int setup_numeric(void **state) { return pgbot_setup(state, TAG, "NUMERIC", "NUMERIC"); }
static int setup_text(void **state) { return pgbot_setup(state, TAG, "TEXT", "TEXT"); }
static int setup_varchar(void **state) { return pgbot_setup(state, TAG, "VARCHAR(20)", "VARCHAR(20)"); }

#define q pgbot_q

typedef struct {
    uint64_t id[16];
    int listed[16];
    int n;
} scanned;

static void on_scanned(void *ctx, uint64_t user_id, int listed)
{
    scanned *l = ctx;
    if (l->n < 16) {
        l->id[l->n] = user_id;
        l->listed[l->n++] = listed;
    }
}

/* How many of the guild's rows the member set of its sweep lists. */
static int listed_rows(store *s, uint64_t guild)
{
    scanned l = { .n = 0 };
    int64_t cursor = 0;
    int more = 0, n = 0;
    assert_int_equal(store_sweep_scan(s, guild, 100, &cursor, &more, on_scanned, &l), DC_OK);
    for (int i = 0; i < l.n; i++)
        n += l.listed[i];
    return n;
}

static int clear_steps(store *s, int limit)
{
    int more = 1, steps = 0;
    while (more) {
        assert_int_equal(store_sweep_clear_step(s, limit, &more), DC_OK);
        steps++;
    }
    return steps;
}

/* G1 gets users 9, 10 and U2+1..U2+3 besides U1 and U2 (quoted: any type). */
static void more_users(pgbot *b)
{
    assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('9', '111111111111111111', 'n'),"
                                   " ('10', '111111111111111111', 'n'), ('900000000000000003', '111111111111111111', 'n'),"
                                   " ('900000000000000004', '111111111111111111', 'n'),"
                                   " ('900000000000000005', '111111111111111111', 'n')"), 0);
}

/* ---- member sets ---------------------------------------------------------------- */

/* A finished sweep's set is not deleted at close but a bounded slice per step. */
static void closed_sweep_sets_clear_in_slices(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    const uint64_t members[] = { U1, U2, 5, 6, 7 };
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, members, 5, NULL), DC_OK);
    assert_int_equal(store_sweep_close(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_close(b->s, G1), DC_OK);   /* queued once */
    assert_int_equal(listed_rows(b->s, G1), 2);              /* still there */
    int more = 0;
    assert_int_equal(store_sweep_clear_step(b->s, 2, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(listed_rows(b->s, G1), 2);              /* the two lowest ids went: 5 and 6 */
    assert_int_equal(store_sweep_clear_step(b->s, 2, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(listed_rows(b->s, G1), 1);              /* 7 and U1 */
    assert_int_equal(store_sweep_clear_step(b->s, 2, &more), DC_OK);
    assert_int_equal(more, 0);                               /* U2 alone: fewer than the limit */
    assert_int_equal(listed_rows(b->s, G1), 0);
    assert_int_equal(store_sweep_clear_step(b->s, 2, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(store_sweep_clear_step(b->s, 0, &more), DC_OK);   /* nothing queued */
}

/* The set's size as the sweep counts it: ids listed twice count once,
 * within one chunk too. */
static void sweep_add_counts_distinct_ids(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    const uint64_t both[] = { U1, U2 }, again[] = { U2, 5, 5 };
    int64_t added = 0;
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, both, 2, &added), DC_OK);
    assert_int_equal(added, 2);
    assert_int_equal(store_sweep_add(b->s, G1, again, 3, &added), DC_OK);
    assert_int_equal(added, 3);
    assert_int_equal(store_sweep_add(b->s, G1, again, 0, &added), DC_OK);
    assert_int_equal(added, 3);
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);     /* a new sweep starts empty */
    assert_int_equal(listed_rows(b->s, G1), 0);
}

/* A chunk goes in as one statement, whatever its size. */
static void large_chunks_in_one_statement(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    enum { N = 5000 };
    static uint64_t ids[N];
    for (int i = 0; i < N; i++)
        ids[i] = 800000000000000000ULL + (uint64_t)i * 7;
    ids[N - 1] = U2;
    int64_t added = 0;
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, ids, N, &added), DC_OK);
    assert_int_equal(added, N);
    assert_int_equal(listed_rows(b->s, G1), 1);
}

/* A new sweep of the same guild takes its set back from the queue: no
 * later slice may remove what the new sweep listed. */
static void reopened_sweep_set_is_never_cleared_behind_it(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    const uint64_t both[] = { U1, U2 }, other[] = { U1 };
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, both, 2, NULL), DC_OK);
    assert_int_equal(store_sweep_open(b->s, G2), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G2, other, 1, NULL), DC_OK);
    assert_int_equal(store_sweep_close(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_close(b->s, G2), DC_OK);
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);     /* cleared at once, off the queue */
    assert_int_equal(listed_rows(b->s, G1), 0);
    assert_int_equal(store_sweep_add(b->s, G1, other, 1, NULL), DC_OK);
    assert_int_equal(clear_steps(b->s, 1), 2);               /* only G2's one row, then empty */
    assert_int_equal(listed_rows(b->s, G1), 1);
    assert_int_equal(listed_rows(b->s, G2), 0);
}

/* A slice that fails is reported and drops its set from the queue rather
 * than failing again on every step; inside the caller's transaction it
 * fails alone (a savepoint), the transaction goes on. */
static void failed_clear_step_gives_up_that_set(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int more = 0;
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_sweep_close(b->s, G1), DC_OK);    /* never opened: no member table */
    assert_int_equal(store_sweep_clear_step(b->s, 0, &more), DC_ERR_USAGE);
    assert_int_not_equal(store_sweep_clear_step(b->s, 10, &more), DC_OK);
    assert_non_null(strstr(store_errmsg(b->s), "cleaner_sweep_members"));
    assert_int_equal(more, 0);
    assert_int_equal(store_kv_set(b->s, "k", "v"), DC_OK);
    assert_int_equal(store_commit(b->s), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_session_state"), 1);
}

/* Sets belong to one connection: another process sweeping the same guild
 * (a TEMP table each) neither sees nor clears this one. */
static void sets_belong_to_one_connection(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    store *other = NULL;
    char err[512] = "";
    store_opts o = { 0 };
    const uint64_t mine[] = { U1 }, theirs[] = { U2 };
    assert_int_equal(store_open(&other, b->uri, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, mine, 1, NULL), DC_OK);
    assert_int_equal(store_sweep_open(other, G1), DC_OK);
    assert_int_equal(store_sweep_add(other, G1, theirs, 1, NULL), DC_OK);
    scanned l = { .n = 0 };
    int64_t cursor = 0;
    int more = 0;
    assert_int_equal(store_sweep_scan(b->s, G1, 10, &cursor, &more, on_scanned, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.id[0], U1);
    assert_int_equal(l.listed[0], 1);
    assert_int_equal(l.listed[1], 0);
    store_close(other);
    assert_int_equal(listed_rows(b->s, G1), 1);
}

/* ---- scans and deletes ---------------------------------------------------------- */

/* Windows of the guild's rows in numeric id order (9 before 10 before the
 * snowflakes, whatever the column's type), the cursor on the last id seen,
 * more = 0 once a window comes back short; no unassigned row, no other guild. */
static void scan_walks_the_guild_in_windows(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    more_users(b);
    const uint64_t members[] = { 10, U2, 900000000000000004ULL };
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, members, 3, NULL), DC_OK);
    scanned l = { .n = 0 };
    int64_t cursor = 0;
    int more = 0, windows = 0;
    do {
        assert_int_equal(store_sweep_scan(b->s, G1, 3, &cursor, &more, on_scanned, &l), DC_OK);
        windows++;
    } while (more && windows < 10);
    assert_int_equal(windows, 3);                      /* 3 + 3 + 1 rows: the last one short */
    assert_int_equal(l.n, 7);
    const uint64_t want[] = { 9, 10, U1, U2, 900000000000000003ULL, 900000000000000004ULL, 900000000000000005ULL };
    const int listed[] = { 0, 1, 0, 1, 0, 1, 0 };
    for (int i = 0; i < 7; i++) {
        assert_int_equal(l.id[i], want[i]);
        assert_int_equal(l.listed[i], listed[i]);
    }
    assert_int_equal(cursor, (int64_t)900000000000000005ULL);
    assert_int_equal(store_sweep_scan(b->s, G1, 0, &cursor, &more, on_scanned, &l), DC_ERR_USAGE);
}

/* Stale users go a batch at a time, each with its clean-table rows and an
 * audit row "sweep"; the cursor resumes right after a full batch. */
static void delete_batches_remove_the_stale(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    more_users(b);
    const uint64_t members[] = { U1, 10 };
    int64_t cursor = 0, users = -1;
    int more = 0;
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, members, 2, NULL), DC_OK);
    /* stale: 9, U2, U2+1, U2+2, U2+3.  Batch of 2: 9 and U2, stopping there. */
    assert_int_equal(store_sweep_delete_batch(b->s, G1, 2, 100, 77, &cursor, &users, &more), DC_OK);
    assert_int_equal(users, 2);
    assert_int_equal(more, 1);
    assert_int_equal(cursor, (int64_t)U2);
    /* windows of 2 rows: U2+1 and U2+2, then U2+3 */
    assert_int_equal(store_sweep_delete_batch(b->s, G1, 10, 2, 78, &cursor, &users, &more), DC_OK);
    assert_int_equal(users, 2);
    assert_int_equal(more, 1);
    assert_int_equal(store_sweep_delete_batch(b->s, G1, 10, 2, 79, &cursor, &users, &more), DC_OK);
    assert_int_equal(users, 1);
    assert_int_equal(more, 0);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id = '111111111111111111'"), 2);   /* U1, 10 */
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 4);    /* all U1's */
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 4);               /* + G2's, the legacy row */
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 5);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE reason = 'sweep' AND dry_run = 0 "
                          "AND rows = 1 AND guild_id = 111111111111111111"), 5);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE discord_id = 9 AND at_ms = 77"), 1);
    /* audit rows in id order, as one delete after the other would write them */
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit AS a JOIN cleaner_audit AS z "
                          "ON a.id < z.id AND a.discord_id > z.discord_id"), 0);
    assert_int_equal(store_sweep_delete_batch(b->s, G1, 0, 2, 79, &cursor, &users, &more), DC_ERR_USAGE);
    /* G2 lists nobody: U1 goes with its inventory row, counted in its audit row */
    cursor = 0;
    assert_int_equal(store_sweep_open(b->s, G2), DC_OK);
    assert_int_equal(store_sweep_delete_batch(b->s, G2, 10, 100, 80, &cursor, &users, &more), DC_OK);
    assert_int_equal(users, 1);
    assert_int_equal(more, 0);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE guild_id = 222222222222222222 AND rows = 2 "
                          "AND discord_id = 900000000000000001 AND reason = 'sweep'"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 3);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id IS NULL"), 1);
}

/* A member's delete refused (the bot's trigger): the batch fails and hands
 * its slice back (the cursor where it was) for the caller to redo. */
static void failed_batch_keeps_its_cursor(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    assert_int_equal(pgbot_exec(b, "CREATE FUNCTION keep_inv() RETURNS trigger LANGUAGE plpgsql AS "
                                   "$$BEGIN RAISE EXCEPTION 'inventory is kept'; END$$;"
                                   "CREATE TRIGGER keep_inv BEFORE DELETE ON \"inv entory\" "
                                   "FOR EACH ROW EXECUTE FUNCTION keep_inv()"), 0);
    const uint64_t members[] = { U2 };
    int64_t cursor = 0, users = -1;
    int more = 0;
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, members, 1, NULL), DC_OK);
    assert_int_not_equal(store_sweep_delete_batch(b->s, G1, 10, 100, 1, &cursor, &users, &more), DC_OK);
    assert_non_null(strstr(store_errmsg(b->s), "inventory is kept"));
    assert_int_equal(cursor, 0);
    assert_int_equal(users, 0);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id = '111111111111111111'"), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 0);
}

/* The daemon's way: every step inside its turn's transaction with bare
 * writes; a turn rolled back takes its deletes and audit rows with it. */
static void sweep_in_bare_turns(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    const uint64_t members[] = { U1 };
    int64_t cursor = 0, users = -1;
    int more = 0;
    store_set_bare_writes(b->s, 1);
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_sweep_open(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(b->s, G1, members, 1, NULL), DC_OK);
    assert_int_equal(store_commit(b->s), DC_OK);
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_sweep_delete_batch(b->s, G1, 10, 100, 1, &cursor, &users, &more), DC_OK);
    assert_int_equal(users, 1);
    assert_int_equal(store_rollback(b->s), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id = '111111111111111111'"), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 0);
    cursor = 0;
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_sweep_delete_batch(b->s, G1, 10, 100, 1, &cursor, &users, &more), DC_OK);
    assert_int_equal(store_sweep_close(b->s, G1), DC_OK);
    assert_int_equal(store_sweep_clear_step(b->s, 100, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(store_commit(b->s), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id = '111111111111111111'"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE discord_id = 900000000000000002"), 1);
    assert_int_equal(listed_rows(b->s, G1), 0);
}

#define ON(fn, type) { #fn " (" #type ")", fn, setup_##type, pgbot_teardown, NULL }
#define ON_EACH_TYPE(fn) ON(fn, bigint), ON(fn, numeric), ON(fn, text), ON(fn, varchar)

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        ON_EACH_TYPE(closed_sweep_sets_clear_in_slices),
        ON_EACH_TYPE(sweep_add_counts_distinct_ids),
        ON(large_chunks_in_one_statement, bigint),
        ON(large_chunks_in_one_statement, text),
        ON_EACH_TYPE(reopened_sweep_set_is_never_cleared_behind_it),
        ON(failed_clear_step_gives_up_that_set, bigint),
        ON(sets_belong_to_one_connection, bigint),
        ON_EACH_TYPE(scan_walks_the_guild_in_windows),
        ON_EACH_TYPE(delete_batches_remove_the_stale),
        ON(sweep_in_bare_turns, bigint),
        ON(sweep_in_bare_turns, text),
        ON(failed_batch_keeps_its_cursor, bigint),
        ON(failed_batch_keeps_its_cursor, varchar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
