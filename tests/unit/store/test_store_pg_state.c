/* test_store_pg_state.c - the PostgreSQL backend's operations on the
 * daemon's own tables against a real server (skipped without a cluster,
 * failed under CI): guild state, names and sweep results cut whole, the
 * audit (rows, totals, pruning), sweep requests -- the cases test_store.c
 * runs on SQLite, with the same assertions -- and the error paths: a
 * read-only store, a lock another session holds (busy within the busy
 * timeout), a failed write inside a caller's transaction (its savepoint
 * undoes it alone; with bare writes on it breaks the transaction), and a
 * schema older than the names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_pg_internal.h"      /* store_pg_audit_add: the deletes' audit rows */
#include "store/store_requests.h"

#define G1 111111111111111111ULL
#define G2 222222222222222222ULL
#define G3 333333333333333333ULL
#define GBAD 444444444444444444ULL       /* the trigger of refuse_bad_guild refuses it */
#define U1 900000000000000001ULL
#define U2 900000000000000002ULL

typedef struct {
    char uri[512];
    store *s;
} fx;

/* A fresh, migrated database per test. */
static int setup(void **state)
{
    static fx f;
    memset(&f, 0, sizeof f);
    *state = &f;
    if (!pgfx_cluster())
        return 0;
    if (pgfx_fresh(f.uri, sizeof f.uri, "state") != 0)
        return -1;
    char err[512] = "";
    if (store_open(&f.s, f.uri, NULL, err, sizeof err) != DC_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->s);
    f->s = NULL;
    if (pgfx_cluster())
        pgfx_drop("state");
    return 0;
}

static long long q(fx *f, const char *sql)
{
    return pgfx_int(f->uri, sql);      /* through a second connection: what the bot sees */
}

static store *open_read_only(fx *f)
{
    store *s = NULL;
    char err[512] = "";
    store_opts o = { .read_only = 1 };
    if (store_open(&s, f->uri, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

static void guild_state_round_trip(void **state)
{
    fx *f = *state;
    pgfx_need();
    store_guild_state g;
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_ERR_NOTFOUND);
    assert_int_equal(store_guild_get(f->s, 0, &g), DC_ERR_NOTFOUND);
    assert_int_equal(store_guild_seen(f->s, G1, 3, 500), DC_OK);
    assert_int_equal(store_guild_set_unavailable(f->s, G1, 1), DC_OK);
    assert_int_equal(store_guild_set_needs_reconcile(f->s, G1, 1), DC_OK);
    assert_int_equal(store_guild_set_last_sweep(f->s, G1, 700, 12, 34, "ok"), DC_OK);
    assert_int_equal(store_guild_seen(f->s, G1, 4, 800), DC_OK);   /* keeps the flags */
    assert_int_equal(store_guild_set_needs_reconcile(f->s, G2, 1), DC_OK);  /* creates */
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);
    assert_int_equal(g.guild_id, G1);
    assert_int_equal(g.shard_id, 4);
    assert_int_equal(g.last_seen_ms, 800);
    assert_int_equal(g.unavailable, 1);
    assert_int_equal(g.needs_reconcile, 1);
    assert_int_equal(g.last_sweep_ms, 700);
    assert_int_equal(g.last_sweep_removed, 12);
    assert_int_equal(g.last_sweep_duration_ms, 34);
    assert_string_equal(g.last_sweep_result, "ok");
    assert_int_equal(store_guild_set_unavailable(f->s, G1, 0), DC_OK);
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);
    assert_int_equal(g.unavailable, 0);
    assert_int_equal(g.needs_reconcile, 1);
    assert_int_equal(store_guild_forget(f->s, G1), DC_OK);
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_ERR_NOTFOUND);
    assert_int_equal(store_guild_forget(f->s, G1), DC_OK);         /* nothing to forget: no error */
    assert_int_equal(store_guild_get(f->s, G2, &g), DC_OK);
    assert_int_equal(g.shard_id, 0);
    assert_int_equal(g.last_sweep_ms, 0);
    assert_string_equal(g.last_sweep_result, "");
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 1);
}

typedef struct {
    uint64_t ids[8];
    int n, stop_after;
} guild_list;

static int collect_guild(void *ctx, const store_guild_state *g)
{
    guild_list *l = ctx;
    if (l->n < 8)
        l->ids[l->n++] = g->guild_id;
    return l->stop_after && l->n >= l->stop_after;
}

/* In guild id order; the callback stops the walk.  A snowflake above
 * INT64_MAX is stored as SQLite stores it (its 64 bits, signed) and reads
 * back the same. */
static void each_guild_state_in_order(void **state)
{
    fx *f = *state;
    pgfx_need();
    guild_list l = { .n = 0 };
    assert_int_equal(store_each_guild_state(f->s, collect_guild, &l), DC_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(store_guild_seen(f->s, G3, 1, 1), DC_OK);
    assert_int_equal(store_guild_seen(f->s, G1, 1, 1), DC_OK);
    assert_int_equal(store_guild_seen(f->s, G2, 1, 1), DC_OK);
    assert_int_equal(store_each_guild_state(f->s, collect_guild, &l), DC_OK);
    assert_int_equal(l.n, 3);
    assert_true(l.ids[0] == G1 && l.ids[1] == G2 && l.ids[2] == G3);
    guild_list one = { .stop_after = 1 };
    assert_int_equal(store_each_guild_state(f->s, collect_guild, &one), DC_OK);
    assert_int_equal(one.n, 1);
    store_guild_state g;
    assert_int_equal(store_guild_seen(f->s, UINT64_MAX - 5, 2, 9), DC_OK);
    assert_int_equal(store_guild_get(f->s, UINT64_MAX - 5, &g), DC_OK);
    assert_true(g.guild_id == UINT64_MAX - 5);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state WHERE guild_id = -6"), 1);
}

static int ticks_in(const char *t)
{
    int n = 0;
    for (; *t; t++)
        n += *t == '`';
    return n;
}

/* The guard's text with its suggested command reads back whole; a text too
 * long for the field is cut outside the command, never inside it. */
static void guild_names_and_whole_results(void **state)
{
    fx *f = *state;
    pgfx_need();
    store_guild_state g;
    char name[128], big[1200];
    const char *guard = "guard: 6 of 11 rows (55%) would go, more than max_delete_share 50%; nothing deleted. "
                        "If that is right, confirm with `discord-cleaner sweep --guild 1000000000000000001 --force` "
                        "or `!cleanup_users force`";
    assert_int_equal(store_guild_set_last_sweep(f->s, G1, 700, 0, 34, guard), DC_OK);
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);
    assert_string_equal(g.last_sweep_result, guard);
    memset(big, 'x', 490);
    snprintf(big + 490, sizeof big - 490, " then `discord-cleaner sweep --guild 1 --force` and more words");
    assert_int_equal(store_guild_set_last_sweep(f->s, G1, 701, 0, 34, big), DC_OK);
    assert_int_equal(q(f, "SELECT length(last_sweep_result) FROM cleaner_guild_state"), (long long)strlen(big));
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);        /* kept whole, cut on reading */
    assert_true(strlen(g.last_sweep_result) < sizeof g.last_sweep_result);
    assert_int_equal(ticks_in(g.last_sweep_result) % 2, 0);
    assert_null(strstr(g.last_sweep_result, "`discord"));
    assert_non_null(strstr(g.last_sweep_result, "..."));
    /* names (schema 5) */
    assert_int_equal(store_guild_get_name(f->s, G1, name, sizeof name), DC_ERR_NOTFOUND);
    assert_string_equal(name, "");
    assert_int_equal(store_guild_get_name(f->s, G3, name, sizeof name), DC_ERR_NOTFOUND);   /* no row */
    assert_int_equal(store_guild_set_name(f->s, G1, "Test \"Guild\" ✓ '; DROP TABLE users; --"), DC_OK);
    assert_int_equal(store_guild_get_name(f->s, G1, name, sizeof name), DC_OK);
    assert_string_equal(name, "Test \"Guild\" ✓ '; DROP TABLE users; --");
    assert_int_equal(store_guild_get_name(f->s, G1, name, 5), DC_OK);       /* cut to cap - 1 */
    assert_string_equal(name, "Test");
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);  /* the rest of the state kept */
    assert_int_equal(g.last_sweep_ms, 701);
    assert_int_equal(store_guild_set_name(f->s, G2, "Other"), DC_OK);   /* creates */
    assert_int_equal(store_guild_get(f->s, G2, &g), DC_OK);
    assert_int_equal(store_guild_set_name(f->s, G2, ""), DC_OK);        /* an empty name is none */
    assert_int_equal(store_guild_get_name(f->s, G2, name, sizeof name), DC_ERR_NOTFOUND);
}

/* A database at schema 4 opened read-only (status before migrate): the
 * name calls answer DC_ERR_SCHEMA, the rest of the state reads. */
static void names_need_schema_5(void **state)
{
    fx *f = *state;
    pgfx_need();
    assert_int_equal(store_guild_seen(f->s, G1, 1, 5), DC_OK);
    store_close(f->s);
    f->s = NULL;
    assert_int_equal(pgfx_exec(f->uri, "DROP TABLE cleaner_sweep_requests;"
                                       "DROP INDEX cleaner_users_unassigned;"
                                       "ALTER TABLE cleaner_guild_state DROP COLUMN name;"
                                       "DELETE FROM cleaner_schema_version WHERE version >= 5"), 0);
    store *ro = open_read_only(f);
    char name[16] = "x";
    store_guild_state g;
    assert_int_equal(store_schema_version(ro), 4);
    assert_int_equal(store_guild_get_name(ro, G1, name, sizeof name), DC_ERR_SCHEMA);
    assert_string_equal(name, "");
    assert_int_equal(store_guild_set_name(ro, G1, "n"), DC_ERR_SCHEMA);
    assert_int_equal(store_guild_get(ro, G1, &g), DC_OK);
    assert_int_equal(g.last_seen_ms, 5);
    store_close(ro);
}

typedef struct {
    store_audit_row rows[16];
    int n, stop_after;
} audit_list;

static int collect_audit(void *ctx, const store_audit_row *a)
{
    audit_list *l = ctx;
    if (l->n < 16)
        l->rows[l->n++] = *a;
    return l->stop_after && l->n >= l->stop_after;
}

/* The rows test_store.c's deletes write (users + clean table rows). */
static void add_audit_rows(fx *f)
{
    store_pg *p = store_pg_of(f->s);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_pg_audit_add(p, 100, G1, U1, AUDIT_MEMBER_REMOVE, 0, 3), DC_OK);
    assert_int_equal(store_pg_audit_add(p, 200, G1, U2, AUDIT_LEFT_WHILE_OFFLINE, 0, 1), DC_OK);
    assert_int_equal(store_pg_audit_add(p, 300, G2, 0, AUDIT_GUILD_DELETE, 0, 2), DC_OK);
    assert_int_equal(store_pg_audit_add(p, 310, G1, U1, AUDIT_SWEEP, 1, 7), DC_OK);   /* dry run */
    assert_int_equal(store_commit(f->s), DC_OK);
}

static void audit_prune_and_totals(void **state)
{
    fx *f = *state;
    pgfx_need();
    int64_t totals[AUDIT_REASON_COUNT], pruned = -1;
    add_audit_rows(f);
    assert_int_equal(store_audit_totals(f->s, 150, totals), DC_OK);
    assert_int_equal(totals[AUDIT_MEMBER_REMOVE], 0);
    assert_int_equal(totals[AUDIT_LEFT_WHILE_OFFLINE], 1);
    assert_int_equal(totals[AUDIT_GUILD_DELETE], 2);
    assert_int_equal(totals[AUDIT_SWEEP], 0);                   /* dry runs are left out */
    assert_int_equal(store_audit_totals(f->s, 0, totals), DC_OK);
    assert_int_equal(totals[AUDIT_MEMBER_REMOVE], 3);
    audit_list all = { .n = 0 };
    assert_int_equal(store_each_audit(f->s, 0, collect_audit, &all), DC_OK);
    assert_int_equal(all.n, 4);
    for (int i = 1; i < all.n; i++)
        assert_true(all.rows[i].id > all.rows[i - 1].id);
    assert_int_equal(all.rows[0].at_ms, 100);
    assert_true(all.rows[0].guild_id == G1 && all.rows[0].discord_id == U1);
    assert_int_equal(all.rows[0].rows, 3);
    assert_int_equal(all.rows[2].discord_id, 0);                /* a whole-guild delete */
    assert_int_equal(all.rows[3].dry_run, 1);
    assert_int_equal(all.rows[3].reason, AUDIT_SWEEP);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit WHERE discord_id IS NULL"), 1);
    audit_list one = { .stop_after = 1 };
    assert_int_equal(store_each_audit(f->s, 250, collect_audit, &one), DC_OK);
    assert_int_equal(one.n, 1);
    assert_int_equal(one.rows[0].reason, AUDIT_GUILD_DELETE);
    assert_int_equal(store_audit_prune(f->s, 250, &pruned), DC_OK);
    assert_int_equal(pruned, 2);
    assert_int_equal(store_audit_prune(f->s, 250, NULL), DC_OK);
    audit_list l = { .n = 0 };
    assert_int_equal(store_each_audit(f->s, 0, collect_audit, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.rows[0].reason, AUDIT_GUILD_DELETE);
    assert_true(l.rows[0].guild_id == G2);
}

typedef struct {
    store_request r[4];
    int n;
} request_list;

static int collect_request(void *ctx, const store_request *r)
{
    request_list *l = ctx;
    if (l->n < 4)
        l->r[l->n++] = *r;
    return 0;
}

static void sweep_requests_round_trip(void **state)
{
    fx *f = *state;
    pgfx_need();
    store_request one = { .guild_id = G1, .force = 1, .requester = 4242 };
    store_request all = { .guild_id = 0, .dry_run = 1, .requester = 77 };
    int64_t id1 = 0, id2 = 0, id3 = 0;
    int answered = -1, status = -1;
    char *outcome = (char *)"untouched";
    assert_int_equal(store_request_add(f->s, &one, 1000, &id1), DC_OK);
    assert_int_equal(store_request_add(f->s, &all, 1001, &id2), DC_OK);
    assert_true(id1 > 0 && id2 > id1);
    request_list l = { .n = 0 };
    assert_int_equal(store_request_each_open(f->s, 0, collect_request, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.r[0].id, id1);
    assert_true(l.r[0].guild_id == G1);
    assert_int_equal(l.r[0].force, 1);
    assert_int_equal(l.r[0].dry_run, 0);
    assert_int_equal(l.r[0].requester, 4242);
    assert_int_equal(l.r[1].id, id2);
    assert_int_equal(l.r[1].guild_id, 0);
    assert_int_equal(l.r[1].dry_run, 1);
    assert_int_equal(store_request_get(f->s, id1, &answered, &status, &outcome), DC_OK);
    assert_int_equal(answered, 0);
    assert_null(outcome);
    assert_int_equal(store_request_answer(f->s, id1, 2000, 66, "guild 1: not found\n"), DC_OK);
    assert_int_equal(store_request_get(f->s, id1, &answered, &status, &outcome), DC_OK);
    assert_int_equal(answered, 1);
    assert_int_equal(status, 66);
    assert_string_equal(outcome, "guild 1: not found\n");
    free(outcome);
    request_list open = { .n = 0 };
    assert_int_equal(store_request_each_open(f->s, 0, collect_request, &open), DC_OK);
    assert_int_equal(open.n, 1);                                /* answered: no longer open */
    assert_int_equal(open.r[0].id, id2);
    request_list after = { .n = 0 };
    assert_int_equal(store_request_each_open(f->s, id2, collect_request, &after), DC_OK);
    assert_int_equal(after.n, 0);
    assert_int_equal(store_request_delete(f->s, id1), DC_OK);
    assert_int_equal(store_request_get(f->s, id1, &answered, &status, &outcome), DC_ERR_NOTFOUND);
    assert_int_equal(store_request_delete(f->s, id2), DC_OK);
    assert_int_equal(store_request_add(f->s, &one, 1002, &id3), DC_OK);
    assert_true(id3 > id2);                                    /* never reused */
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_sweep_requests"), 1);
}

/* status opens read-only: every write is refused, nothing is written, the
 * reads answer. */
static void a_read_only_store_refuses_writes(void **state)
{
    fx *f = *state;
    pgfx_need();
    store *ro = open_read_only(f);
    store_request r = { .guild_id = G1 };
    store_guild_state g;
    int64_t id = -1, pruned = -1, totals[AUDIT_REASON_COUNT];
    guild_list l = { .n = 0 };
    assert_int_equal(store_guild_seen(ro, G1, 0, 1), DC_ERR_USAGE);
    assert_non_null(strstr(store_errmsg(ro), "read-only"));
    assert_int_equal(store_guild_set_unavailable(ro, G1, 1), DC_ERR_USAGE);
    assert_int_equal(store_guild_set_needs_reconcile(ro, G1, 1), DC_ERR_USAGE);
    assert_int_equal(store_guild_set_last_sweep(ro, G1, 1, 1, 1, "ok"), DC_ERR_USAGE);
    assert_int_equal(store_guild_set_name(ro, G1, "n"), DC_ERR_USAGE);
    assert_int_equal(store_guild_forget(ro, G1), DC_ERR_USAGE);
    assert_int_equal(store_audit_prune(ro, 1000, &pruned), DC_ERR_USAGE);
    assert_int_equal(pruned, 0);
    assert_int_equal(store_request_add(ro, &r, 1, &id), DC_ERR_USAGE);
    assert_int_equal(id, -1);
    assert_int_equal(store_request_answer(ro, 1, 1, 0, "x"), DC_ERR_USAGE);
    assert_int_equal(store_request_delete(ro, 1), DC_ERR_USAGE);
    assert_int_equal(store_guild_get(ro, G1, &g), DC_ERR_NOTFOUND);
    assert_int_equal(store_each_guild_state(ro, collect_guild, &l), DC_OK);
    assert_int_equal(store_audit_totals(ro, 0, totals), DC_OK);
    store_close(ro);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_sweep_requests"), 0);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Another session holds the table: the write gives up as busy after the
 * busy timeout, not before and not much later, and is redone once the
 * lock is gone. */
static void a_held_lock_makes_a_write_busy(void **state)
{
    fx *f = *state;
    pgfx_need();
    PGconn *other = PQconnectdb(f->uri);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    PQclear(PQexec(other, "BEGIN"));
    PQclear(PQexec(other, "LOCK TABLE cleaner_guild_state, cleaner_sweep_requests IN ACCESS EXCLUSIVE MODE"));
    store_set_busy_timeout(f->s, 200);
    int64_t t0 = now_ms();
    assert_int_equal(store_guild_seen(f->s, G1, 0, 1), DC_ERR_BUSY);
    int64_t waited = now_ms() - t0;
    assert_true(waited >= 190);
    assert_true(waited < 3000);
    assert_int_equal(store_refused(f->s), 1);
    assert_non_null(strstr(store_errmsg(f->s), "lock"));
    assert_false(store_in_transaction(f->s));               /* its own transaction is gone */
    store_request r = { .guild_id = G1 };
    int64_t id = -1;
    assert_int_equal(store_request_add(f->s, &r, 1, &id), DC_ERR_BUSY);
    assert_int_equal(id, -1);
    PQclear(PQexec(other, "ROLLBACK"));
    PQfinish(other);
    assert_int_equal(store_guild_seen(f->s, G1, 0, 1), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 1);
}

/* Inside the caller's transaction a busy write is undone by its savepoint
 * alone: the transaction goes on and commits (store_refused still says
 * that a step was refused).  With bare writes on it breaks the transaction. */
static void a_busy_write_inside_a_transaction(void **state)
{
    fx *f = *state;
    pgfx_need();
    PGconn *other = PQconnectdb(f->uri);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    PQclear(PQexec(other, "BEGIN"));
    PQclear(PQexec(other, "LOCK TABLE cleaner_guild_state IN ACCESS EXCLUSIVE MODE"));
    store_set_busy_timeout(f->s, 100);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_kv_set(f->s, "a", "1"), DC_OK);
    assert_int_equal(store_guild_set_needs_reconcile(f->s, G1, 1), DC_ERR_BUSY);
    assert_int_equal(store_refused(f->s), 1);
    assert_false(store_tx_broken(f->s));
    assert_int_equal(store_kv_set(f->s, "b", "2"), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_session_state"), 2);
    store_set_bare_writes(f->s, 1);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_refused(f->s), 0);               /* a new transaction */
    assert_int_equal(store_kv_set(f->s, "c", "3"), DC_OK);
    /* Bare writes in a transaction are sent without waiting (the turn's
     * pipeline, store_pg_pipe.c): the lock's refusal comes with the answer
     * of the next statement that needs one, and breaks the transaction. */
    assert_int_equal(store_guild_set_needs_reconcile(f->s, G1, 1), DC_OK);
    store_guild_state g;
    assert_int_not_equal(store_guild_get(f->s, G1, &g), DC_OK);
    assert_int_equal(store_refused(f->s), 1);
    assert_true(store_tx_broken(f->s));
    assert_int_not_equal(store_commit(f->s), DC_OK);
    assert_int_equal(store_rollback(f->s), DC_OK);
    PQclear(PQexec(other, "ROLLBACK"));
    PQfinish(other);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_session_state"), 2);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 0);
}

/* A trigger of the bot's refuses one guild's state row. */
static void refuse_bad_guild(fx *f)
{
    assert_int_equal(pgfx_exec(f->uri, "CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$ "
                                       "BEGIN IF NEW.guild_id = 444444444444444444 THEN "
                                       "RAISE EXCEPTION 'guild refused'; END IF; RETURN NEW; END $$;"
                                       "CREATE TRIGGER refuse_bad BEFORE INSERT OR UPDATE ON cleaner_guild_state "
                                       "FOR EACH ROW EXECUTE FUNCTION refuse_bad()"), 0);
}

static void savepoint_write_fails_alone(void **state)
{
    fx *f = *state;
    pgfx_need();
    refuse_bad_guild(f);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_guild_seen(f->s, G1, 0, 1), DC_OK);
    assert_int_equal(store_guild_seen(f->s, GBAD, 0, 2), DC_ERR_DB);
    assert_non_null(strstr(store_errmsg(f->s), "guild refused"));
    assert_false(store_tx_broken(f->s));
    assert_int_equal(store_guild_set_last_sweep(f->s, G2, 5, 1, 1, "ok"), DC_OK);   /* still usable */
    assert_int_equal(store_kv_set(f->s, "k", "v"), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state WHERE guild_id IN "
                          "(111111111111111111, 222222222222222222)"), 2);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state WHERE guild_id = 444444444444444444"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_session_state"), 1);
}

static void bare_write_failure_breaks_the_transaction(void **state)
{
    fx *f = *state;
    pgfx_need();
    refuse_bad_guild(f);
    store_set_bare_writes(f->s, 1);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_guild_seen(f->s, G1, 0, 1), DC_OK);
    assert_false(store_tx_broken(f->s));
    /* Queued (the turn's pipeline): its failure comes with the answer of
     * the next statement that needs one, and breaks the transaction. */
    assert_int_equal(store_guild_seen(f->s, GBAD, 0, 2), DC_OK);
    assert_false(store_tx_broken(f->s));
    store_guild_state g;
    assert_int_not_equal(store_guild_get(f->s, G1, &g), DC_OK);
    assert_true(store_tx_broken(f->s));
    /* Nothing more, no commit. */
    assert_int_not_equal(store_guild_set_name(f->s, G2, "n"), DC_OK);
    assert_int_not_equal(store_commit(f->s), DC_OK);
    assert_non_null(strstr(store_errmsg(f->s), "rolled back"));
    assert_true(store_in_transaction(f->s));               /* the caller rolls it back */
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_false(store_tx_broken(f->s));
    assert_int_equal(store_guild_seen(f->s, G3, 0, 1), DC_OK);      /* writes work again */
    assert_int_equal(store_guild_forget(f->s, G3), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 0);
    /* Redone write by write (what turn.c does): G1 is kept. */
    store_set_bare_writes(f->s, 0);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_guild_seen(f->s, G1, 0, 1), DC_OK);
    assert_int_not_equal(store_guild_seen(f->s, GBAD, 0, 2), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 1);
}

static void bare_writes_without_a_transaction_stay_atomic(void **state)
{
    fx *f = *state;
    pgfx_need();
    refuse_bad_guild(f);
    store_set_bare_writes(f->s, 1);
    assert_int_not_equal(store_guild_seen(f->s, GBAD, 0, 2), DC_OK);   /* its own transaction */
    assert_false(store_tx_broken(f->s));
    assert_int_equal(store_guild_seen(f->s, G1, 0, 3), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_guild_state"), 1);
}

int main(void)
{
    log_set_level(DCL_ERROR);
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(guild_state_round_trip),
        T(each_guild_state_in_order),
        T(guild_names_and_whole_results),
        T(names_need_schema_5),
        T(audit_prune_and_totals),
        T(sweep_requests_round_trip),
        T(a_read_only_store_refuses_writes),
        T(a_held_lock_makes_a_write_busy),
        T(a_busy_write_inside_a_transaction),
        T(savepoint_write_fails_alone),
        T(bare_write_failure_breaks_the_transaction),
        T(bare_writes_without_a_transaction_stay_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
