/* test_store_pg_users.c - the PostgreSQL backend's deletes and counts on
 * users and clean_tables (issue #16), against a real server (skipped
 * without one, failed under CI): test_store.c's cases for these operations
 * -- deletes with clean tables and audit rows, dry runs, unassigned rows,
 * adoption, slices, the guild lists, savepoints and bare writes -- each run
 * on a users table whose ids are BIGINT, NUMERIC, TEXT and VARCHAR; then
 * the id types read from the catalogue (uuid refused, nothing written),
 * clean_tables validation, and a clean table with TEXT user ids beside
 * BIGINT users. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "base/log.h"
#include "pg_bot_fixture.h"

#define TAG "users"

static int setup_bigint(void **state) { return pgbot_setup(state, TAG, "BIGINT", "BIGINT"); }
static int setup_numeric(void **state) { return pgbot_setup(state, TAG, "NUMERIC", "NUMERIC"); }
static int setup_text(void **state) { return pgbot_setup(state, TAG, "TEXT", "TEXT"); }
static int setup_varchar(void **state) { return pgbot_setup(state, TAG, "VARCHAR(20)", "VARCHAR(20)"); }
/* users with BIGINT ids, the clean table's user column TEXT; and the other way round */
static int setup_mixed(void **state) { return pgbot_setup(state, TAG, "BIGINT", "TEXT"); }
static int setup_mixed_text(void **state) { return pgbot_setup(state, TAG, "TEXT", "BIGINT"); }
/* no tables of the bot: each test makes its own */
static int setup_empty(void **state)
{
    static pgbot b;
    b = (pgbot){ .tag = TAG };
    *state = &b;
    return pgfx_cluster() && pgfx_fresh(b.uri, sizeof b.uri, TAG) != 0 ? -1 : 0;
}

#define q pgbot_q

/* count users in guild g */
static long long in_guild(pgbot *b, uint64_t g)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM users WHERE guild_id = '%llu'", (unsigned long long)g);
    return q(b, sql);
}

/* count users ids first+1 .. first+n of guild g, quoted so any id type takes them */
static void add_users(pgbot *b, uint64_t g, uint64_t first, int n)
{
    char sql[4096];
    int at = snprintf(sql, sizeof sql, "INSERT INTO users VALUES ");
    for (int i = 1; i <= n; i++)
        at += snprintf(sql + at, sizeof sql - (size_t)at, "%s('%llu', '%llu', 'more')", i > 1 ? ", " : "",
                       (unsigned long long)(first + (uint64_t)i), (unsigned long long)g);
    assert_int_equal(pgbot_exec(b, sql), 0);
}

/* ---- deletes ------------------------------------------------------------------ */

static void delete_member_with_extra_tables(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1000, &rows), DC_OK);
    assert_int_equal(rows, 3);                        /* 1 user row + 2 inventory rows */
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 3);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE guild_id = 111111111111111111 AND "
                          "discord_id = 900000000000000001 AND reason = 'member_remove' AND dry_run = 0 "
                          "AND rows = 3 AND at_ms = 1000"), 1);
    /* Deleting again finds nothing but is still audited. */
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_SWEEP, 0, 1001, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE reason = 'sweep' AND rows = 0"), 1);
}

static void delete_guild_with_extra_tables(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    assert_int_equal(store_delete_guild(b->s, G1, AUDIT_GUILD_DELETE, 0, 5, &rows), DC_OK);
    assert_int_equal(rows, 4);                        /* 2 users + 2 inventory */
    assert_int_equal(store_count_guild(b->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(store_count_guild(b->s, G2, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE reason = 'guild_delete' "
                          "AND discord_id IS NULL AND rows = 4"), 1);
}

static void dry_run_deletes_nothing(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    assert_int_equal(store_delete_guild(b->s, G1, AUDIT_SWEEP, 1, 5, &rows), DC_OK);
    assert_int_equal(rows, 4);
    assert_int_equal(store_delete_member(b->s, G2, U1, AUDIT_LEFT_WHILE_OFFLINE, 1, 6, &rows), DC_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 4);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 4);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE dry_run = 1"), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE dry_run = 1 AND reason = 'left_while_offline' "
                          "AND rows = 2 AND discord_id = 900000000000000001"), 1);
}

static void unassigned_rows_are_never_deleted(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    assert_int_equal(store_delete_guild(b->s, G1, AUDIT_SWEEP, 0, 1, &rows), DC_OK);
    assert_int_equal(store_delete_guild(b->s, G2, AUDIT_SWEEP, 0, 1, &rows), DC_OK);
    assert_int_equal(store_delete_member(b->s, 0, U1, AUDIT_SWEEP, 0, 1, &rows), DC_ERR_USAGE);
    assert_int_equal(store_delete_guild(b->s, 0, AUDIT_SWEEP, 0, 1, &rows), DC_ERR_USAGE);
    assert_int_equal(store_count_unassigned(b->s, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id IS NULL"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\" WHERE guild IS NULL"), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 1);
}

static void adopt_unassigned_skips_conflicts(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    /* U1 already has a row in G2: its NULL row stays unassigned. */
    assert_int_equal(store_adopt_unassigned(b->s, G2, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(store_count_unassigned(b->s, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_SWEEP, 0, 1, &rows), DC_OK);
    assert_int_equal(store_adopt_unassigned(b->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(store_count_unassigned(b->s, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(in_guild(b, G1), 2);
    assert_int_equal(store_adopt_unassigned(b->s, 0, &rows), DC_ERR_USAGE);
}

/* A guild's rows a slice at a time (test_store.c's delete_guild_in_slices):
 * each slice takes the lowest ids of users and the inventory rows below the
 * next id; the last one everything left of G1, nothing of G2, of the
 * legacy rows or of the audit. */
static void delete_guild_in_slices(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    char sql[256];
    add_users(b, G1, U2, 5);
    snprintf(sql, sizeof sql, "INSERT INTO \"inv entory\" VALUES ('%llu', '%llu', 'orphan')", U2 + 100, G1);
    assert_int_equal(pgbot_exec(b, sql), 0);
    int64_t rows = 0;
    int more = 0;
    /* U1, U2 and U1's two inventory rows */
    assert_int_equal(store_delete_guild_slice(b->s, G1, 2, &rows, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(rows, 4);
    assert_int_equal(in_guild(b, G1), 5);
    /* U2+1..U2+3 */
    assert_int_equal(store_delete_guild_slice(b->s, G1, 3, &rows, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(rows, 7);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE discord_id = '900000000000000006'"), 1);
    /* two users left, fewer than the slice: all of it, the orphan inventory row too */
    assert_int_equal(store_delete_guild_slice(b->s, G1, 3, &rows, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(rows, 10);
    assert_int_equal(store_count_guild(b->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\" WHERE guild = '111111111111111111'"), 0);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 2);          /* G2's row, the legacy row */
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 0);
    assert_int_equal(store_audit_guild_delete(b->s, G1, AUDIT_GUILD_DELETE, 5, 10), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE reason = 'guild_delete' "
                          "AND discord_id IS NULL AND rows = 10 AND at_ms = 5"), 1);
    /* an empty guild: nothing, done */
    rows = 0;
    assert_int_equal(store_delete_guild_slice(b->s, G1, 3, &rows, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(rows, 0);
    assert_int_equal(store_delete_guild_slice(b->s, G1, 0, &rows, &more), DC_ERR_USAGE);
    assert_int_equal(store_audit_guild_delete(b->s, 0, AUDIT_GUILD_DELETE, 5, 10), DC_ERR_USAGE);
}

/* Ids of different lengths: numeric order, not text order ("10" after
 * "9"), in every kind of column. */
static void slices_follow_numeric_order(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('9', '5', 'a'), ('10', '5', 'b'), ('100', '5', 'c'),"
                                   " ('11', '5', 'd'); INSERT INTO \"inv entory\" VALUES ('9', '5', 'i9'),"
                                   " ('10', '5', 'i10'), ('100', '5', 'i100')"), 0);
    int64_t rows = 0;
    int more = 0;
    assert_int_equal(store_delete_guild_slice(b->s, 5, 2, &rows, &more), DC_OK);   /* 9 and 10 */
    assert_int_equal(more, 1);
    assert_int_equal(rows, 4);
    assert_int_equal(q(b, "SELECT count(*) FROM users WHERE guild_id = '5' AND discord_id IN ('11', '100')"), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\" WHERE guild = '5' AND owner = '100'"), 1);
}

/* ---- the guild lists ------------------------------------------------------------ */

typedef struct {
    uint64_t ids[8];
    int64_t rows[8];
    int n, stop_after;
} guild_list;

static int collect_guild(void *ctx, uint64_t id, int64_t rows)
{
    guild_list *l = ctx;
    if (l->n < 8) {
        l->ids[l->n] = id;
        l->rows[l->n++] = rows;
    }
    return l->n == l->stop_after;
}

static int collect_id(void *ctx, uint64_t id) { return collect_guild(ctx, id, -1); }

static void each_user_guild_in_order(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    guild_list l = { .n = 0 };
    assert_int_equal(store_each_user_guild(b->s, collect_guild, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[0], G1);
    assert_int_equal(l.rows[0], 2);
    assert_int_equal(l.ids[1], G2);
    assert_int_equal(l.rows[1], 1);
    guild_list one = { .stop_after = 1 };
    assert_int_equal(store_each_user_guild(b->s, collect_guild, &one), DC_OK);
    assert_int_equal(one.n, 1);
    /* numeric order whatever the column's type: 9 before 10 before G1 */
    assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('1', '10', 'x'), ('1', '9', 'y')"), 0);
    guild_list all = { .n = 0 };
    assert_int_equal(store_each_user_guild(b->s, collect_guild, &all), DC_OK);
    assert_int_equal(all.n, 4);
    assert_int_equal(all.ids[0], 9);
    assert_int_equal(all.ids[1], 10);
    assert_int_equal(all.ids[2], G1);
}

/* READY's list: the same guilds, in order; values that are not integers
 * (NUMERIC 5.5, TEXT 'abc' or '05') are no guild and are skipped. */
static void each_stored_guild_skips_odd_values(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    guild_list l = { .n = 0 };
    assert_int_equal(store_each_stored_guild(b->s, collect_id, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[0], G1);
    assert_int_equal(l.ids[1], G2);
    assert_int_equal(l.rows[0], -1);
    int integer_ids = strcmp(b->type, "BIGINT") == 0;
    if (integer_ids)
        assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES (3, 5, 'five'), (4, 10, 'ten')"), 0);
    else
        assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('1', '5.5', 'real'), ('3', '5', 'five'),"
                                       " ('4', '10', 'ten'), ('5', '7.25', 'real2')"), 0);
    if (strcmp(b->type, "NUMERIC") != 0 && !integer_ids)
        assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('2', 'abc', 'text'), ('6', '05', 'zero')"), 0);
    guild_list all = { .n = 0 };
    assert_int_equal(store_each_stored_guild(b->s, collect_id, &all), DC_OK);
    assert_int_equal(all.n, 4);
    assert_int_equal(all.ids[0], 5);
    assert_int_equal(all.ids[1], 10);
    assert_int_equal(all.ids[2], G1);
    assert_int_equal(all.ids[3], G2);
    guild_list two = { .stop_after = 2 };
    assert_int_equal(store_each_stored_guild(b->s, collect_id, &two), DC_OK);
    assert_int_equal(two.n, 2);
    assert_int_equal(two.ids[1], 10);
    guild_list counted = { .n = 0 };
    assert_int_equal(store_each_user_guild(b->s, collect_guild, &counted), DC_OK);
    assert_int_equal(counted.n, 4);
}

/* TEXT ids that are no integers cannot be sliced by id: the slice that
 * finds fewer integer ids than its limit takes all that is left. */
static void delete_guild_slice_with_text_ids_makes_progress(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('x1', '111111111111111111', 't'),"
                                   "('x2', '111111111111111111', 't'), ('007', '111111111111111111', 't')"), 0);
    int64_t rows = 0;
    int more = 1, slices = 0;
    while (more && slices < 10) {
        assert_int_equal(store_delete_guild_slice(b->s, G1, 2, &rows, &more), DC_OK);
        slices++;
    }
    assert_int_equal(more, 0);
    assert_int_equal(rows, 7);                         /* 5 users + 2 inventory */
    assert_int_equal(in_guild(b, G1), 0);
    /* a member delete matches the id as written: 'x1' is no Discord id */
    assert_int_equal(pgbot_exec(b, "INSERT INTO users VALUES ('x1', '111111111111111111', 't')"), 0);
    assert_int_equal(store_count_guild(b->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 1);
}

/* ---- transactions ---------------------------------------------------------------- */

static void transactions_group_and_roll_back(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows;
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_delete_guild(b->s, G2, AUDIT_GUILD_DELETE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_rollback(b->s), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 4);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 4);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 0);
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_begin(b->s), DC_OK);        /* nested: one transaction */
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_commit(b->s), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 4);   /* not yet visible */
    assert_int_equal(store_commit(b->s), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 3);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 1);
}

/* The bot's own trigger refuses deleting U1's inventory: the users row
 * goes first, so the write fails half-way. */
static void refuse_inventory_delete(pgbot *b)
{
    assert_int_equal(pgbot_exec(b, "CREATE FUNCTION keep_inv() RETURNS trigger LANGUAGE plpgsql AS "
                                   "$$BEGIN RAISE EXCEPTION 'inventory is kept'; END$$;"
                                   "CREATE TRIGGER keep_inv BEFORE DELETE ON \"inv entory\" "
                                   "FOR EACH ROW EXECUTE FUNCTION keep_inv()"), 0);
}

static void savepoint_write_fails_alone(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    refuse_inventory_delete(b);
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_int_equal(store_delete_member(b->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_not_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_non_null(strstr(store_errmsg(b->s), "inventory is kept"));
    assert_int_equal(rows, 0);
    assert_false(store_tx_broken(b->s));
    assert_int_equal(store_commit(b->s), DC_OK);
    /* U2's delete is kept; U1's users row came back with its savepoint. */
    assert_int_equal(in_guild(b, G1), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 1);
}

static void bare_write_failure_breaks_the_transaction(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    int64_t n = 0;
    refuse_inventory_delete(b);
    store_set_bare_writes(b->s, 1);
    assert_int_equal(store_begin(b->s), DC_OK);
    /* Bare member deletes are queued into the turn's one batched statement
     * (store_pg_batch.c): their rows, and U1's failure, come with its result. */
    assert_int_equal(store_delete_member(b->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(rows, -1);
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_false(store_tx_broken(b->s));
    /* A statement that needs its answer sends the batch first: it fails as
     * one statement and breaks the transaction. */
    assert_int_not_equal(store_count_guild(b->s, G1, &n), DC_OK);
    assert_non_null(strstr(store_errmsg(b->s), "inventory is kept"));
    assert_true(store_tx_broken(b->s));
    /* Half of the batch may be in the transaction: nothing more, no commit. */
    assert_int_not_equal(store_delete_member(b->s, G2, U1, AUDIT_MEMBER_REMOVE, 0, 3, &rows), DC_OK);
    assert_int_not_equal(store_commit(b->s), DC_OK);
    assert_int_equal(store_rollback(b->s), DC_OK);
    assert_int_equal(in_guild(b, G1), 2);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit"), 0);
    /* Redone write by write (what turn.c does): U2 goes, U1 stays whole. */
    store_set_bare_writes(b->s, 0);
    assert_int_equal(store_begin(b->s), DC_OK);
    assert_false(store_tx_broken(b->s));
    assert_int_equal(store_delete_member(b->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_not_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_int_equal(store_commit(b->s), DC_OK);
    assert_int_equal(in_guild(b, G1), 1);
    assert_int_equal(q(b, "SELECT count(*) FROM cleaner_audit WHERE discord_id = 900000000000000002"), 1);
}

static void bare_writes_without_a_transaction_stay_atomic(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    refuse_inventory_delete(b);
    store_set_bare_writes(b->s, 1);
    /* No caller transaction: the write has its own, rolled back whole. */
    assert_int_not_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_false(store_tx_broken(b->s));
    assert_int_equal(in_guild(b, G1), 2);
    assert_int_equal(store_delete_member(b->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 3, &rows), DC_OK);
    assert_int_equal(rows, 1);
}

/* A read-only store writes nothing. */
static void read_only_refuses_writes(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    store *ro = NULL;
    char err[512] = "";
    store_opts o = { .read_only = 1 };
    int64_t rows = -1;
    assert_int_equal(store_open(&ro, b->uri, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_delete_member(ro, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_ERR_USAGE);
    assert_int_equal(store_count_guild(ro, G1, &rows), DC_OK);
    assert_int_equal(rows, 2);
    store_close(ro);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 4);
}

/* ---- the id types -------------------------------------------------------------- */

static dc_err open_plain(pgbot *b, int read_only, char *err, size_t errlen)
{
    store_opts o = { .read_only = read_only };
    store *s = NULL;
    dc_err rc = store_open(&s, b->uri, &o, err, errlen);
    assert_true(rc == DC_OK ? s != NULL : s == NULL);
    store_close(s);
    return rc;
}

/* A users table whose ids we cannot bind: one line naming the column, its
 * type and the fix; nothing written, not even the version table. */
static void unbindable_id_types_are_refused(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    char err[512] = "";
    assert_int_equal(pgbot_exec(b, "CREATE TABLE users (discord_id uuid NOT NULL, guild_id BIGINT)"), 0);
    assert_int_equal(open_plain(b, 0, err, sizeof err), DC_ERR_SCHEMA);
    assert_non_null(strstr(err, "users.discord_id is uuid; discord-cleaner binds BIGINT, NUMERIC, TEXT or VARCHAR"));
    assert_non_null(strstr(err, "ALTER TABLE"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(q(b, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 1);
    assert_int_equal(open_plain(b, 1, err, sizeof err), DC_ERR_SCHEMA);       /* read-only too */
    assert_int_equal(pgbot_exec(b, "DROP TABLE users; CREATE TABLE users (discord_id TEXT NOT NULL,"
                                   " guild_id double precision)"), 0);
    assert_int_equal(open_plain(b, 0, err, sizeof err), DC_ERR_SCHEMA);
    assert_non_null(strstr(err, "users.guild_id is double precision"));
    assert_int_equal(q(b, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 1);
    /* a domain over a type we bind is that type */
    assert_int_equal(pgbot_exec(b, "DROP TABLE users; CREATE DOMAIN snowflake AS BIGINT;"
                                   " CREATE TABLE users (discord_id snowflake NOT NULL, guild_id snowflake,"
                                   " UNIQUE (discord_id, guild_id))"), 0);
    assert_int_equal(open_plain(b, 0, err, sizeof err), DC_OK);
}

/* A read-only open of a database without a users table finds nothing to
 * read the types of, and fails not. */
static void read_only_without_users_opens(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    char err[512] = "";
    assert_int_equal(open_plain(b, 1, err, sizeof err), DC_OK);
    assert_int_equal(q(b, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
}

/* ---- clean_tables ---------------------------------------------------------------- */

static dc_err open_with(pgbot *b, config_clean_table ct, char *err, size_t errlen)
{
    store_opts o = { .clean_tables = &ct, .n_clean_tables = 1 };
    store *s = NULL;
    err[0] = '\0';
    dc_err rc = store_open(&s, b->uri, &o, err, errlen);
    assert_true(rc == DC_OK ? s != NULL : s == NULL);
    store_close(s);
    return rc;
}

static void clean_tables_are_validated(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    char err[512];
    config_clean_table missing_table = { "nope", "owner", "guild" };
    assert_int_equal(open_with(b, missing_table, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "clean_tables: no table \"nope\" in the database");
    config_clean_table missing_user = { "inv entory", "user_id", "guild" };
    assert_int_equal(open_with(b, missing_user, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "clean_tables: table \"inv entory\" has no user column \"user_id\"");
    config_clean_table missing_guild = { "inv entory", "owner", "guild_id" };
    assert_int_equal(open_with(b, missing_guild, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "clean_tables: table \"inv entory\" has no guild column \"guild_id\"");
    config_clean_table ours = { "users", "discord_id", "guild_id" };
    assert_int_equal(open_with(b, ours, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "managed by the cleaner"));
    config_clean_table audit = { "Cleaner_Audit", "discord_id", "guild_id" };
    assert_int_equal(open_with(b, audit, err, sizeof err), DC_ERR_CONFIG);
    config_clean_table empty = { "inv entory", "", "guild" };
    assert_int_equal(open_with(b, empty, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "needs a table, a user column and a guild column"));
    config_clean_table injection = { "x\"; DROP TABLE users; --", "a", "b" };
    assert_int_equal(open_with(b, injection, err, sizeof err), DC_ERR_CONFIG);
    config_clean_table column_injection = { "inv entory", "owner\" = owner OR 1=1 --", "guild" };
    assert_int_equal(open_with(b, column_injection, err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(q(b, "SELECT count(*) FROM users"), 4);
    /* a column of a type we cannot bind */
    assert_int_equal(pgbot_exec(b, "CREATE TABLE pets (owner uuid, guild BIGINT)"), 0);
    config_clean_table pets = { "pets", "owner", "guild" };
    assert_int_equal(open_with(b, pets, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "clean_tables: pets.owner is uuid; discord-cleaner binds"));
    /* names ignore case, as on SQLite; the catalogue's spelling is used */
    config_clean_table good = { "INV ENTORY", "Owner", "GUILD" };
    assert_int_equal(open_with(b, good, err, sizeof err), DC_OK);
    int64_t rows = -1;
    store_close(b->s);
    store_opts o = { .clean_tables = &good, .n_clean_tables = 1 };
    assert_int_equal(store_open(&b->s, b->uri, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_delete_member(b->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(rows, 3);
    /* a table of another schema of the search_path */
    assert_int_equal(pgbot_exec(b, "CREATE SCHEMA bot; CREATE TABLE bot.\"Items\" (\"Owner\" BIGINT, guild BIGINT);"
                                   " INSERT INTO bot.\"Items\" VALUES (900000000000000002, 111111111111111111)"), 0);
    config_clean_table items = { "items", "owner", "guild" };
    assert_int_equal(open_with(b, items, err, sizeof err), DC_ERR_CONFIG);   /* not on the search_path */
    char uri[600];
    snprintf(uri, sizeof uri, "%s%coptions=-csearch_path%%3Dpublic,bot", b->uri, strchr(b->uri, '?') ? '&' : '?');
    store *s = NULL;
    o = (store_opts){ .clean_tables = &items, .n_clean_tables = 1 };
    assert_int_equal(store_open(&s, uri, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_delete_member(s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(rows, 2);
    store_close(s);
    assert_int_equal(q(b, "SELECT count(*) FROM bot.\"Items\""), 0);
}

/* The clean table keeps its user ids in another type than users (TEXT
 * beside BIGINT, or BIGINT beside TEXT): member deletes, dry runs and
 * slices reach it all the same, slices in numeric order. */
static void clean_table_of_another_id_type(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    int64_t rows = -1;
    int more = 0;
    assert_int_equal(q(b, "SELECT count(*) FROM information_schema.columns AS a, information_schema.columns AS u "
                          "WHERE a.table_name = 'inv entory' AND a.column_name = 'owner' AND u.table_name = 'users' "
                          "AND u.column_name = 'discord_id' AND a.data_type <> u.data_type"), 1);
    assert_int_equal(store_delete_member(b->s, G2, U1, AUDIT_MEMBER_REMOVE, 1, 1, &rows), DC_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(store_delete_member(b->s, G2, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(rows, 2);
    add_users(b, G1, U2, 3);
    assert_int_equal(pgbot_exec(b, "INSERT INTO \"inv entory\" VALUES ('900000000000000004', '111111111111111111', 'w'),"
                                   " ('1000000000000000000', '111111111111111111', 'long')"), 0);
    rows = 0;
    /* U1, U2 and U1's two rows: not U2+2's, nor the longer id's */
    assert_int_equal(store_delete_guild_slice(b->s, G1, 2, &rows, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(rows, 4);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\" WHERE guild = '111111111111111111'"), 2);
    while (more)
        assert_int_equal(store_delete_guild_slice(b->s, G1, 2, &rows, &more), DC_OK);
    assert_int_equal(rows, 9);
    assert_int_equal(q(b, "SELECT count(*) FROM \"inv entory\""), 1);        /* the legacy row */
}

/* The log of one open of the fixture's database, into buf. */
static void log_of_open(pgbot *b, char *buf, size_t cap)
{
    char path[] = "/tmp/dc-pg-users-log-XXXXXX", err[512];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_open(path, DCL_WARN, 0), DC_OK);
    store_close(b->s);
    assert_int_equal(pgbot_open(b, err, sizeof err), DC_OK);
    log_close();
    log_set_level(DCL_ERROR);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    unlink(path);
}

/* TEXT ids without an index in numeric order, a clean table without an
 * index on its columns: each a warning naming the index to create, gone
 * once it exists. */
static void missing_indexes_are_named(void **state)
{
    pgbot *b = *state;
    pgfx_need();
    char text[4096];
    log_of_open(b, text, sizeof text);
    assert_non_null(strstr(text, "users.discord_id is text"));
    assert_non_null(strstr(text, "ON users (guild_id, length(discord_id), discord_id COLLATE \"C\")"));
    assert_non_null(strstr(text, "clean_tables: \"inv entory\" has no index"));
    assert_int_equal(pgbot_exec(b, "CREATE INDEX users_by_guild_id_order ON users (guild_id, length(discord_id), "
                                   "discord_id COLLATE \"C\"); CREATE INDEX inv_by_guild ON \"inv entory\" (guild)"), 0);
    log_of_open(b, text, sizeof text);
    assert_null(strstr(text, "users.discord_id is text"));
    assert_null(strstr(text, "has no index"));
}

#define ON(fn, type) { #fn " (" #type ")", fn, setup_##type, pgbot_teardown, NULL }
#define ON_EACH_TYPE(fn) ON(fn, bigint), ON(fn, numeric), ON(fn, text), ON(fn, varchar)

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        ON_EACH_TYPE(delete_member_with_extra_tables),
        ON_EACH_TYPE(delete_guild_with_extra_tables),
        ON_EACH_TYPE(dry_run_deletes_nothing),
        ON_EACH_TYPE(unassigned_rows_are_never_deleted),
        ON_EACH_TYPE(adopt_unassigned_skips_conflicts),
        ON_EACH_TYPE(delete_guild_in_slices),
        ON_EACH_TYPE(slices_follow_numeric_order),
        ON_EACH_TYPE(each_user_guild_in_order),
        ON_EACH_TYPE(each_stored_guild_skips_odd_values),
        ON(delete_guild_slice_with_text_ids_makes_progress, text),
        ON(delete_guild_slice_with_text_ids_makes_progress, varchar),
        ON_EACH_TYPE(transactions_group_and_roll_back),
        ON(savepoint_write_fails_alone, bigint),
        ON(savepoint_write_fails_alone, text),
        ON(bare_write_failure_breaks_the_transaction, bigint),
        ON(bare_write_failure_breaks_the_transaction, numeric),
        ON(bare_writes_without_a_transaction_stay_atomic, bigint),
        ON(read_only_refuses_writes, bigint),
        ON(unbindable_id_types_are_refused, empty),
        ON(read_only_without_users_opens, empty),
        ON(clean_tables_are_validated, bigint),
        ON(clean_table_of_another_id_type, mixed),
        ON(clean_table_of_another_id_type, mixed_text),
        ON(missing_indexes_are_named, text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
