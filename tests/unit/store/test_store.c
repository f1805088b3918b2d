/* test_store.c - deletes (with clean_tables and audit), dry runs, unassigned
 * rows, adoption, key/value and guild state, audit pruning/totals,
 * transactions, the asynchronous commit, clean_tables validation and sweep
 * member sets. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "store_fixture.h"
#include "base/log.h"
#include "store/store.h"
#include "store/store_sqlite_internal.h"     /* the connection, to leave WAL (submit_refused_busy) */
#include "store/store_sweep.h"

#define G1 111111111111111111ULL
#define G2 222222222222222222ULL
#define U1 900000000000000001ULL
#define U2 900000000000000002ULL

typedef struct {
    fx_dir d;
    store *s;
} fx;

/* A bot database with an extra per-user table, opened with it as clean table. */
static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    fx_mkdir(&f->d);
    sqlite3 *db = fx_open(f->d.db);
    assert_int_equal(fx_exec(db, "CREATE TABLE \"inv entory\" (owner INTEGER, guild INTEGER, item TEXT);"
        "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT,"
        " UNIQUE (discord_id, guild_id));"), SQLITE_OK);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO users VALUES (%llu, %llu, 'a'), (%llu, %llu, 'b'), (%llu, %llu, 'c'),"
             " (%llu, NULL, 'legacy');"
             "INSERT INTO \"inv entory\" VALUES (%llu, %llu, 'x'), (%llu, %llu, 'y'), (%llu, %llu, 'z'),"
             " (%llu, NULL, 'old');",
             U1, G1, U2, G1, U1, G2, U1, U1, G1, U1, G1, U1, G2, U1);
    assert_int_equal(fx_exec(db, sql), SQLITE_OK);
    sqlite3_close(db);
    config_clean_table ct = { "inv entory", "owner", "guild" };
    store_opts o = { .clean_tables = &ct, .n_clean_tables = 1 };
    char err[256] = "";
    assert_int_equal(store_open(&f->s, f->d.db, &o, err, sizeof err), DC_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    store_close(f->s);
    fx_rmdir(&f->d);
    free(f);
    return 0;
}

static long long q(fx *f, const char *sql)
{
    /* Through a second connection: what the bot would see. */
    return fx_int_at(f->d.db, sql);
}

typedef struct {
    store_audit_row rows[16];
    int n;
} audit_list;

static int collect_audit(void *ctx, const store_audit_row *a)
{
    audit_list *l = ctx;
    if (l->n < 16)
        l->rows[l->n++] = *a;
    return 0;
}

static void delete_member_with_extra_tables(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1000, &rows), DC_OK);
    assert_int_equal(rows, 3);                        /* 1 user row + 2 inventory rows */
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 3);
    assert_int_equal(q(f, "SELECT count(*) FROM \"inv entory\""), 2);
    audit_list l = { .n = 0 };
    assert_int_equal(store_each_audit(f->s, 0, collect_audit, &l), DC_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rows[0].guild_id, G1);
    assert_int_equal(l.rows[0].discord_id, U1);
    assert_int_equal(l.rows[0].reason, AUDIT_MEMBER_REMOVE);
    assert_int_equal(l.rows[0].dry_run, 0);
    assert_int_equal(l.rows[0].rows, 3);
    assert_int_equal(l.rows[0].at_ms, 1000);
    /* Deleting again finds nothing but is still audited. */
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_SWEEP, 0, 1001, &rows), DC_OK);
    assert_int_equal(rows, 0);
}

static void delete_guild_with_extra_tables(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    assert_int_equal(store_delete_guild(f->s, G1, AUDIT_GUILD_DELETE, 0, 5, &rows), DC_OK);
    assert_int_equal(rows, 4);                        /* 2 users + 2 inventory */
    assert_int_equal(store_count_guild(f->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(store_count_guild(f->s, G2, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit WHERE reason = 'guild_delete' "
                          "AND discord_id IS NULL AND rows = 4"), 1);
}

static void dry_run_deletes_nothing(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    assert_int_equal(store_delete_guild(f->s, G1, AUDIT_SWEEP, 1, 5, &rows), DC_OK);
    assert_int_equal(rows, 4);
    assert_int_equal(store_delete_member(f->s, G2, U1, AUDIT_LEFT_WHILE_OFFLINE, 1, 6, &rows), DC_OK);
    assert_int_equal(rows, 2);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 4);
    assert_int_equal(q(f, "SELECT count(*) FROM \"inv entory\""), 4);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit WHERE dry_run = 1"), 2);
    int64_t totals[AUDIT_REASON_COUNT];
    assert_int_equal(store_audit_totals(f->s, 0, totals), DC_OK);
    assert_int_equal(totals[AUDIT_SWEEP], 0);         /* dry runs are not totals */
}

static void unassigned_rows_are_never_deleted(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    assert_int_equal(store_delete_guild(f->s, G1, AUDIT_SWEEP, 0, 1, &rows), DC_OK);
    assert_int_equal(store_delete_guild(f->s, G2, AUDIT_SWEEP, 0, 1, &rows), DC_OK);
    assert_int_equal(store_delete_member(f->s, 0, U1, AUDIT_SWEEP, 0, 1, &rows), DC_ERR_USAGE);
    assert_int_equal(store_delete_guild(f->s, 0, AUDIT_SWEEP, 0, 1, &rows), DC_ERR_USAGE);
    assert_int_equal(store_count_unassigned(f->s, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(q(f, "SELECT count(*) FROM users WHERE guild_id IS NULL"), 1);
    assert_int_equal(q(f, "SELECT count(*) FROM \"inv entory\" WHERE guild IS NULL"), 1);
}

static void adopt_unassigned_skips_conflicts(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    /* U1 already has a row in G2: its NULL row stays unassigned. */
    assert_int_equal(store_adopt_unassigned(f->s, G2, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(store_count_unassigned(f->s, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_SWEEP, 0, 1, &rows), DC_OK);
    assert_int_equal(store_adopt_unassigned(f->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 1);
    assert_int_equal(store_count_unassigned(f->s, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(store_adopt_unassigned(f->s, 0, &rows), DC_ERR_USAGE);
}

typedef struct {
    uint64_t ids[8];
    int64_t rows[8];
    int n, stop_after;
} guild_list;

static int collect_guild(void *ctx, uint64_t id, int64_t rows)
{
    guild_list *l = ctx;
    l->ids[l->n] = id;
    l->rows[l->n++] = rows;
    return l->n == l->stop_after;
}

static void each_user_guild_in_order(void **state)
{
    fx *f = *state;
    guild_list l = { .n = 0 };
    assert_int_equal(store_each_user_guild(f->s, collect_guild, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[0], G1);
    assert_int_equal(l.rows[0], 2);
    assert_int_equal(l.ids[1], G2);
    guild_list one = { .stop_after = 1 };
    assert_int_equal(store_each_user_guild(f->s, collect_guild, &one), DC_OK);
    assert_int_equal(one.n, 1);
}

static int collect_id(void *ctx, uint64_t id)
{
    return collect_guild(ctx, id, -1);
}

/* READY's list: the same guilds as the counting walk, one seek each.  A
 * guild_id that is not an integer (a bot's stray REAL or TEXT) is no
 * guild: skipped, and the walk goes on past it instead of seeking it
 * again and again. */
static void each_stored_guild_seeks_past_odd_values(void **state)
{
    fx *f = *state;
    guild_list l = { .n = 0 };
    assert_int_equal(store_each_stored_guild(f->s, collect_id, &l), DC_OK);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.ids[0], G1);
    assert_int_equal(l.ids[1], G2);
    assert_int_equal(l.rows[0], -1);
    sqlite3 *db = fx_open(f->d.db);
    assert_int_equal(fx_exec(db, "INSERT INTO users VALUES (1, 5.5, 'real'), (2, 'abc', 'text'),"
                                 " (3, 5, 'five'), (4, x'00', 'blob'), (5, 7.25, 'real2');"), SQLITE_OK);
    sqlite3_close(db);
    guild_list all = { .n = 0 };
    assert_int_equal(store_each_stored_guild(f->s, collect_id, &all), DC_OK);
    assert_int_equal(all.n, 3);
    assert_int_equal(all.ids[0], 5);
    assert_int_equal(all.ids[1], G1);
    assert_int_equal(all.ids[2], G2);
    guild_list one = { .stop_after = 2 };
    assert_int_equal(store_each_stored_guild(f->s, collect_id, &one), DC_OK);
    assert_int_equal(one.n, 2);
    assert_int_equal(one.ids[1], G1);
}

static void kv_round_trip(void **state)
{
    fx *f = *state;
    char v[8];
    assert_int_equal(store_kv_get(f->s, "gw.0.seq", v, sizeof v), DC_ERR_NOTFOUND);
    assert_int_equal(store_kv_set(f->s, "gw.0.seq", "41"), DC_OK);
    assert_int_equal(store_kv_set(f->s, "gw.0.seq", "42"), DC_OK);
    assert_int_equal(store_kv_get(f->s, "gw.0.seq", v, sizeof v), DC_OK);
    assert_string_equal(v, "42");
    assert_int_equal(store_kv_set(f->s, "gw.0.resume_url", "wss://gateway.example"), DC_OK);
    assert_int_equal(store_kv_get(f->s, "gw.0.resume_url", v, sizeof v), DC_OK);
    assert_string_equal(v, "wss://g");                /* truncated to cap - 1 */
    assert_int_equal(store_kv_del(f->s, "gw.0.seq"), DC_OK);
    assert_int_equal(store_kv_get(f->s, "gw.0.seq", v, sizeof v), DC_ERR_NOTFOUND);
    assert_int_equal(store_kv_set(f->s, NULL, "x"), DC_ERR_USAGE);
    assert_int_equal(store_kv_get(f->s, "k", v, 0), DC_ERR_USAGE);
}

static void guild_state_round_trip(void **state)
{
    fx *f = *state;
    store_guild_state g;
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_ERR_NOTFOUND);
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
    assert_int_equal(store_guild_forget(f->s, G1), DC_OK);
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_ERR_NOTFOUND);
    assert_int_equal(store_guild_get(f->s, G2, &g), DC_OK);
    assert_int_equal(g.last_sweep_ms, 0);
    assert_string_equal(g.last_sweep_result, "");
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
    store_guild_state g;
    char name[128], big[1200], cut[64];
    const char *guard = "guard: 6 of 11 rows (55%) would go, more than max_delete_share 50%; nothing deleted. "
                        "If that is right, confirm with `discord-cleaner sweep --guild 1000000000000000001 --force` "
                        "or `!cleanup_users force`";
    assert_int_equal(store_guild_set_last_sweep(f->s, G1, 700, 0, 34, guard), DC_OK);
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);
    assert_string_equal(g.last_sweep_result, guard);
    memset(big, 'x', 490);
    snprintf(big + 490, sizeof big - 490, " then `discord-cleaner sweep --guild 1 --force` and more words");
    store_copy_whole(cut, sizeof cut, big + 440);            /* the span starts inside, ends outside */
    assert_int_equal(ticks_in(cut) % 2, 0);
    assert_non_null(strstr(cut, "..."));
    assert_null(strstr(cut, "`discord"));
    store_copy_whole(cut, sizeof cut, "`a` b `cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc`");
    assert_string_equal(cut, "`a` b...");
    /* names (schema 5) */
    assert_int_equal(store_guild_get_name(f->s, G1, name, sizeof name), DC_ERR_NOTFOUND);
    assert_string_equal(name, "");
    assert_int_equal(store_guild_set_name(f->s, G1, "Test \"Guild\" ✓"), DC_OK);
    assert_int_equal(store_guild_get_name(f->s, G1, name, sizeof name), DC_OK);
    assert_string_equal(name, "Test \"Guild\" ✓");
    assert_int_equal(store_guild_get(f->s, G1, &g), DC_OK);  /* the rest of the state kept */
    assert_int_equal(g.last_sweep_ms, 700);
    assert_int_equal(store_guild_set_name(f->s, G2, "Other"), DC_OK);   /* creates */
    assert_int_equal(store_guild_get(f->s, G2, &g), DC_OK);
}

static void audit_prune_and_totals(void **state)
{
    fx *f = *state;
    int64_t rows, totals[AUDIT_REASON_COUNT], pruned = -1;
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 100, &rows), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_LEFT_WHILE_OFFLINE, 0, 200, &rows), DC_OK);
    assert_int_equal(store_delete_guild(f->s, G2, AUDIT_GUILD_DELETE, 0, 300, &rows), DC_OK);
    assert_int_equal(store_audit_totals(f->s, 150, totals), DC_OK);
    assert_int_equal(totals[AUDIT_MEMBER_REMOVE], 0);
    assert_int_equal(totals[AUDIT_LEFT_WHILE_OFFLINE], 1);
    assert_int_equal(totals[AUDIT_GUILD_DELETE], 2);
    assert_int_equal(store_audit_prune(f->s, 250, &pruned), DC_OK);
    assert_int_equal(pruned, 2);
    audit_list l = { .n = 0 };
    assert_int_equal(store_each_audit(f->s, 0, collect_audit, &l), DC_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.rows[0].reason, AUDIT_GUILD_DELETE);
}

static void transactions_group_and_roll_back(void **state)
{
    fx *f = *state;
    int64_t rows;
    assert_int_equal(store_commit(f->s), DC_ERR_INTERNAL);
    assert_int_equal(store_rollback(f->s), DC_ERR_INTERNAL);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_true(store_in_transaction(f->s));
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_kv_set(f->s, "sweep.next_run_ms", "99"), DC_OK);
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_false(store_in_transaction(f->s));
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 4);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_session_state"), 0);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_begin(f->s), DC_OK);        /* nested: one transaction */
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 4);   /* not yet visible */
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 3);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit"), 1);
}

static dc_err open_with(fx_dir *d, config_clean_table ct, char *err, size_t errlen)
{
    store_opts o = { .clean_tables = &ct, .n_clean_tables = 1 };
    store *s = NULL;
    dc_err rc = store_open(&s, d->db, &o, err, errlen);
    assert_true(rc == DC_OK ? s != NULL : s == NULL);
    store_close(s);
    return rc;
}

static void clean_tables_are_validated(void **state)
{
    fx *f = *state;
    char err[256];
    config_clean_table missing_table = { "nope", "owner", "guild" };
    assert_int_equal(open_with(&f->d, missing_table, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "\"nope\""));
    config_clean_table missing_user = { "inv entory", "user_id", "guild" };
    assert_int_equal(open_with(&f->d, missing_user, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "user column \"user_id\""));
    config_clean_table missing_guild = { "inv entory", "owner", "guild_id" };
    assert_int_equal(open_with(&f->d, missing_guild, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "guild column \"guild_id\""));
    config_clean_table ours = { "users", "discord_id", "guild_id" };
    assert_int_equal(open_with(&f->d, ours, err, sizeof err), DC_ERR_CONFIG);
    config_clean_table injection = { "x\"; DROP TABLE users; --", "a", "b" };
    assert_int_equal(open_with(&f->d, injection, err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 4);
    config_clean_table good = { "INV ENTORY", "Owner", "GUILD" };   /* case-insensitive */
    assert_int_equal(open_with(&f->d, good, err, sizeof err), DC_OK);
}

static void audit_reason_names(void **state)
{
    (void)state;
    assert_string_equal(audit_reason_name(AUDIT_MEMBER_REMOVE), "member_remove");
    assert_string_equal(audit_reason_name(AUDIT_GUILD_DELETE), "guild_delete");
    assert_string_equal(audit_reason_name(AUDIT_LEFT_WHILE_OFFLINE), "left_while_offline");
    assert_string_equal(audit_reason_name(AUDIT_SWEEP), "sweep");
    assert_string_equal(audit_reason_name((audit_reason)42), "unknown");
}

static void open_errors(void **state)
{
    (void)state;
    char err[256] = "";
    store *s = NULL;
    assert_int_equal(store_open(&s, "", NULL, err, sizeof err), DC_ERR_USAGE);
    store_opts ro = { .read_only = 1 };
    assert_int_not_equal(store_open(&s, "/nonexistent/dir/bot.db", &ro, err, sizeof err), DC_OK);
    assert_null(s);
    assert_non_null(strstr(err, "/nonexistent/dir/bot.db"));
}

/* The bot's own trigger refuses deleting U1's inventory in G1: the users row
 * goes first, so the write fails half-way. */
static void refuse_inventory_delete(fx *f)
{
    assert_int_equal(fx_exec_at(f->d.db, "CREATE TRIGGER keep_inv BEFORE DELETE ON \"inv entory\" "
                                         "BEGIN SELECT RAISE(ABORT, 'inventory is kept'); END;"), SQLITE_OK);
}

static void savepoint_write_fails_alone(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    refuse_inventory_delete(f);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_not_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_false(store_tx_broken(f->s));
    assert_int_equal(store_commit(f->s), DC_OK);
    /* U2's delete is kept; U1's users row came back with its savepoint. */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE guild_id = 111111111111111111"), 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit"), 1);
}

static void bare_write_failure_breaks_the_transaction(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    refuse_inventory_delete(f);
    store_set_bare_writes(f->s, 1);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_false(store_tx_broken(f->s));
    assert_int_not_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_true(store_tx_broken(f->s));
    /* Half of U1's write is in the transaction: nothing more, no commit. */
    assert_int_not_equal(store_kv_set(f->s, "k", "v"), DC_OK);
    assert_int_not_equal(store_commit(f->s), DC_OK);
    assert_non_null(strstr(store_errmsg(f->s), "rolled back"));
    assert_true(store_in_transaction(f->s));
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_false(store_tx_broken(f->s));
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE guild_id = 111111111111111111"), 2);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    /* Redone write by write (what turn.c does): U2 goes, U1 stays whole. */
    store_set_bare_writes(f->s, 0);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_not_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE guild_id = 111111111111111111"), 1);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit WHERE discord_id = 900000000000000002"), 1);
}

static void bare_writes_without_a_transaction_stay_atomic(void **state)
{
    fx *f = *state;
    int64_t rows = -1;
    refuse_inventory_delete(f);
    store_set_bare_writes(f->s, 1);
    /* No caller transaction: the write has its own, rolled back whole. */
    assert_int_not_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 2, &rows), DC_OK);
    assert_false(store_tx_broken(f->s));
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE guild_id = 111111111111111111"), 2);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 3, &rows), DC_OK);
    assert_int_equal(rows, 1);
}

/* With manual checkpoints a COMMIT leaves the WAL as it is (SQLite would
 * copy it back at 1000 pages); the checkpoint thread copies it back when
 * asked (the next COMMIT then starts the WAL over), and store_checkpoint
 * does so at once, never inside a transaction. */
static void fill_wal(fx *f, int from, int n)
{
    char key[32], value[600];
    memset(value, 'v', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    assert_int_equal(store_begin(f->s), DC_OK);
    for (int i = from; i < from + n; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(store_kv_set(f->s, key, value), DC_OK);
    }
    assert_int_equal(store_commit(f->s), DC_OK);
}

static void manual_checkpoints(void **state)
{
    fx *f = *state;
    assert_int_equal(store_set_manual_checkpoints(f->s), DC_OK);
    assert_int_equal(store_set_manual_checkpoints(f->s), DC_OK);     /* once is enough */
    fill_wal(f, 0, 12000);                                           /* ~7 MB: well past 1000 pages */
    int frames = store_wal_frames(f->s);
    assert_true(frames > 1000);
    assert_int_equal(store_kv_set(f->s, "one", "more"), DC_OK);   /* no checkpoint in this COMMIT */
    assert_true(store_wal_frames(f->s) > frames);
    /* The thread: asked, it copies the WAL back; the next COMMIT restarts it. */
    store_checkpoint_request(f->s);
    int restarted = 0;
    for (int i = 0; i < 500 && !restarted; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        char tick[16];
        snprintf(tick, sizeof tick, "%d", i);                    /* a real change: the write appends */
        assert_int_equal(store_kv_set(f->s, "tick", tick), DC_OK);
        restarted = store_wal_frames(f->s) < 100;
        if (!restarted)
            store_checkpoint_request(f->s);
    }
    assert_true(restarted);
    assert_int_equal(store_checkpoint_failures(f->s, NULL, 0), 0);
    /* The tail, on this connection: never inside a transaction, never
     * more than max_frames of it (the thread has copied none of this WAL
     * yet: the restart above began a new one). */
    fill_wal(f, 20000, 3000);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_checkpoint_tail(f->s, 1 << 20), 0);
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_int_equal(store_checkpoint_tail(f->s, 16), 0);
    /* Once the thread has copied the bulk back, the frames of a later
     * COMMIT are the tail: copied here, and the next COMMIT starts over. */
    store_checkpoint_request(f->s);
    int idle = 0;
    for (int i = 0; i < 500 && !idle; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        idle = store_checkpoint_tail(f->s, 0) == 1;         /* nothing left: 1 at once */
    }
    assert_true(idle);
    fill_wal(f, 30000, 40);
    int before = store_wal_frames(f->s);
    assert_int_equal(store_checkpoint_tail(f->s, 0), 0);      /* a tail, longer than 0 */
    assert_int_equal(store_checkpoint_tail(f->s, 1000), 1);
    assert_int_equal(store_kv_set(f->s, "after", "tail"), DC_OK);
    assert_true(store_wal_frames(f->s) < before);
    assert_true(store_wal_frames(f->s) < 10);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_session_state"), 15043);
    store_checkpointer_stop(f->s);
    store_checkpointer_stop(f->s);                                  /* harmless twice */
}

typedef struct {
    int64_t last_id, n, bad_order;
} audit_order;

static int check_order(void *ctx, const store_audit_row *a)
{
    audit_order *o = ctx;
    if (a->id <= o->last_id || a->at_ms != 1000 + o->n)
        o->bad_order++;
    o->last_id = a->id;
    o->n++;
    return 0;
}

/* Bare writes queue their audit rows (AUDIT_BATCH per INSERT): every row
 * still lands, in order, before COMMIT; a read inside the transaction sees
 * them; a rollback drops them with their deletes. */
static void bare_writes_batch_audit_rows(void **state)
{
    fx *f = *state;
    int64_t rows;
    char sql[256];
    snprintf(sql, sizeof sql, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
                              "INSERT INTO users SELECT 800000000000000000 + i, %llu, 'x' FROM n", G2);
    assert_int_equal(fx_exec_at(f->d.db, sql), SQLITE_OK);
    store_set_bare_writes(f->s, 1);
    assert_int_equal(store_begin(f->s), DC_OK);
    for (int i = 1; i <= 10; i++)
        assert_int_equal(store_delete_member(f->s, G2, 800000000000000000ULL + (uint64_t)i, AUDIT_MEMBER_REMOVE, 0,
                                             1000 + i - 1, &rows), DC_OK);
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit"), 0);
    assert_int_equal(store_begin(f->s), DC_OK);
    for (int i = 1; i <= 37; i++)           /* two full batches and 5 queued */
        assert_int_equal(store_delete_member(f->s, G2, 800000000000000000ULL + (uint64_t)i, AUDIT_MEMBER_REMOVE, 0,
                                             1000 + i - 1, &rows), DC_OK);
    audit_order o = { 0 };
    assert_int_equal(store_each_audit(f->s, 0, check_order, &o), DC_OK);
    assert_int_equal(o.n, 37);
    for (int i = 38; i <= 40; i++)
        assert_int_equal(store_delete_member(f->s, G2, 800000000000000000ULL + (uint64_t)i, AUDIT_MEMBER_REMOVE, 0,
                                             1000 + i - 1, &rows), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);
    audit_order after = { 0 };
    assert_int_equal(store_each_audit(f->s, 0, check_order, &after), DC_OK);
    assert_int_equal(after.n, 40);
    assert_int_equal(after.bad_order, 0);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit WHERE rows = 1 AND reason = 'member_remove'"), 40);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE discord_id BETWEEN 800000000000000001 AND 800000000000000040"), 0);
}

/* A queued audit row refused at its batch INSERT: the deletes before it are
 * in the transaction without their rows, so it is broken, and COMMIT says
 * why. */
static void bare_audit_batch_failure_breaks_the_transaction(void **state)
{
    fx *f = *state;
    int64_t rows;
    char sql[400];
    snprintf(sql, sizeof sql, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20) "
                              "INSERT INTO users SELECT 800000000000000000 + i, %llu, 'x' FROM n;"
                              "CREATE TRIGGER refuse_audit BEFORE INSERT ON cleaner_audit "
                              "WHEN NEW.discord_id = 800000000000000005 BEGIN SELECT RAISE(ABORT, 'no audit'); END", G2);
    assert_int_equal(fx_exec_at(f->d.db, sql), SQLITE_OK);
    store_set_bare_writes(f->s, 1);
    assert_int_equal(store_begin(f->s), DC_OK);
    dc_err last = DC_OK;
    for (int i = 1; i <= 3; i++)          /* queued, not yet inserted */
        assert_int_equal(store_delete_member(f->s, G2, 800000000000000000ULL + (uint64_t)i, AUDIT_MEMBER_REMOVE, 0,
                                             1000, &rows), DC_OK);
    assert_int_equal(store_commit(f->s), DC_OK);            /* flushed one by one */
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit"), 3);
    assert_int_equal(store_begin(f->s), DC_OK);
    for (int i = 4; i <= 19 && last == DC_OK; i++)          /* the 16th queued row fails the batch */
        last = store_delete_member(f->s, G2, 800000000000000000ULL + (uint64_t)i, AUDIT_MEMBER_REMOVE, 0, 1000, &rows);
    assert_int_not_equal(last, DC_OK);
    assert_true(store_tx_broken(f->s));
    assert_int_not_equal(store_commit(f->s), DC_OK);
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE discord_id BETWEEN 800000000000000004 AND 800000000000000020"), 17);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM cleaner_audit"), 3);
    /* A failure at COMMIT's flush is reported by COMMIT, with SQLite's reason. */
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G2, 800000000000000005ULL, AUDIT_MEMBER_REMOVE, 0, 1000, &rows), DC_OK);
    assert_int_not_equal(store_commit(f->s), DC_OK);
    assert_non_null(strstr(store_errmsg(f->s), "no audit"));
    assert_true(store_tx_broken(f->s));
    assert_int_equal(store_rollback(f->s), DC_OK);
    assert_int_equal(q(f, "SELECT COUNT(*) FROM users WHERE discord_id = 800000000000000005"), 1);
}

/* ---- sweep member sets ---------------------------------------------------- */

typedef struct {
    uint64_t id[8];
    int listed[8];
    int n;
} scanned;

static void on_scanned(void *ctx, uint64_t user_id, int listed)
{
    scanned *l = ctx;
    if (l->n < 8) {
        l->id[l->n] = user_id;
        l->listed[l->n++] = listed;
    }
}

/* How many of the guild's rows the member set of its sweep lists. */
static int listed_rows(fx *f, uint64_t guild)
{
    scanned l = { .n = 0 };
    int64_t cursor = 0;
    int more = 0, n = 0;
    assert_int_equal(store_sweep_scan(f->s, guild, 100, &cursor, &more, on_scanned, &l), DC_OK);
    for (int i = 0; i < l.n; i++)
        n += l.listed[i];
    return n;
}

static int clear_steps(fx *f, int limit)
{
    int more = 1, steps = 0;
    while (more) {
        assert_int_equal(store_sweep_clear_step(f->s, limit, &more), DC_OK);
        steps++;
    }
    return steps;
}

/* A finished sweep's set is not deleted at close (one DELETE of a million
 * members holds the loop ~0.2 s) but a bounded slice per step. */
static void closed_sweep_sets_clear_in_slices(void **state)
{
    fx *f = *state;
    const uint64_t members[] = { U1, U2, 5, 6, 7 };
    assert_int_equal(store_sweep_open(f->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(f->s, G1, members, 5, NULL), DC_OK);
    assert_int_equal(store_sweep_close(f->s, G1), DC_OK);
    assert_int_equal(store_sweep_close(f->s, G1), DC_OK);   /* queued once */
    assert_int_equal(listed_rows(f, G1), 2);                 /* still there */
    int more = 0;
    assert_int_equal(store_sweep_clear_step(f->s, 2, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(listed_rows(f, G1), 2);                 /* the two lowest ids went: 5 and 6 */
    assert_int_equal(store_sweep_clear_step(f->s, 2, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(listed_rows(f, G1), 1);                 /* 7 and U1 */
    assert_int_equal(store_sweep_clear_step(f->s, 2, &more), DC_OK);
    assert_int_equal(more, 0);                               /* U2 alone: fewer than the limit */
    assert_int_equal(listed_rows(f, G1), 0);
    assert_int_equal(store_sweep_clear_step(f->s, 2, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(store_sweep_clear_step(f->s, 0, &more), DC_OK);   /* nothing queued */
}

/* The set's size as the sweep counts it: ids listed twice count once. */
static void sweep_add_counts_distinct_ids(void **state)
{
    fx *f = *state;
    const uint64_t both[] = { U1, U2 }, again[] = { U2, 5 };
    int64_t added = 0;
    assert_int_equal(store_sweep_open(f->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(f->s, G1, both, 2, &added), DC_OK);
    assert_int_equal(added, 2);
    assert_int_equal(store_sweep_add(f->s, G1, again, 2, &added), DC_OK);
    assert_int_equal(added, 3);
}

/* A new sweep of the same guild takes its set back from the queue: no
 * later slice may remove what the new sweep listed (its members would look
 * stale). */
static void reopened_sweep_set_is_never_cleared_behind_it(void **state)
{
    fx *f = *state;
    const uint64_t both[] = { U1, U2 }, other[] = { U1 };
    assert_int_equal(store_sweep_open(f->s, G1), DC_OK);
    assert_int_equal(store_sweep_add(f->s, G1, both, 2, NULL), DC_OK);
    assert_int_equal(store_sweep_open(f->s, G2), DC_OK);
    assert_int_equal(store_sweep_add(f->s, G2, other, 1, NULL), DC_OK);
    assert_int_equal(store_sweep_close(f->s, G1), DC_OK);
    assert_int_equal(store_sweep_close(f->s, G2), DC_OK);
    assert_int_equal(store_sweep_open(f->s, G1), DC_OK);     /* cleared at once, off the queue */
    assert_int_equal(listed_rows(f, G1), 0);
    assert_int_equal(store_sweep_add(f->s, G1, other, 1, NULL), DC_OK);
    assert_int_equal(clear_steps(f, 1), 2);                  /* only G2's one row, then empty */
    assert_int_equal(listed_rows(f, G1), 1);
    assert_int_equal(listed_rows(f, G2), 0);
}

/* A slice that fails is reported and drops its set from the queue rather
 * than failing again on every step. */
static void failed_clear_step_gives_up_that_set(void **state)
{
    fx *f = *state;
    int more = 0;
    assert_int_equal(store_sweep_close(f->s, G1), DC_OK);    /* never opened: no member table */
    assert_int_equal(store_sweep_clear_step(f->s, 0, &more), DC_ERR_USAGE);
    assert_int_equal(store_sweep_clear_step(f->s, 10, &more), DC_ERR_DB);
    assert_non_null(strstr(store_errmsg(f->s), "cleaner_sweep_members"));
    assert_int_equal(more, 0);
}

/* ---- the asynchronous commit (store_submit.c) ------------------------------ */

typedef struct outcomes outcomes;

typedef struct {                     /* one submitted commit: the callback's ctx */
    outcomes *o;
    int id;
} commit_tag;

struct outcomes {                    /* what the callbacks were told, in order */
    int n;
    int id[4];
    store_outcome outcome[4];
    char why[4][160];
    store *resubmit;                 /* set: the next callback submits commit `later` */
    commit_tag later;
};

static void note_outcome(void *ctx, store_outcome outcome, const char *why)
{
    commit_tag *t = ctx;
    outcomes *o = t->o;
    assert_true(o->n < 4);
    o->id[o->n] = t->id;
    o->outcome[o->n] = outcome;
    snprintf(o->why[o->n], sizeof o->why[o->n], "%s", why);
    o->n++;
    if (o->resubmit) {
        store *s = o->resubmit;
        o->resubmit = NULL;
        assert_int_equal(store_begin(s), DC_OK);
        assert_int_equal(store_kv_set(s, "k3", "3"), DC_OK);
        assert_int_equal(store_commit_submit(s, note_outcome, &o->later), DC_OK);
    }
}

/* The COMMIT happens inside store_commit_submit (SQLite: at once), its
 * outcome only from store_service; no socket to watch. */
static void submit_commits_and_delivers_through_service(void **state)
{
    fx *f = *state;
    outcomes o = { 0 };
    commit_tag c1 = { &o, 1 };
    int64_t rows;
    store_watch_info wi;
    assert_int_equal(store_fd(f->s), -1);
    store_watch(f->s, &wi);                            /* nothing for a loop to watch, nothing due */
    assert_int_equal(wi.fd, -1);
    assert_int_equal(wi.due_in_ms, -1);
    assert_false(wi.want_read || wi.want_write);
    assert_int_equal(store_pending(f->s), 0);
    store_service(f->s);                               /* nothing waits: nothing happens */
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c1), DC_OK);
    assert_int_equal(o.n, 0);                          /* not from inside submit */
    assert_int_equal(store_pending(f->s), 1);
    assert_false(store_in_transaction(f->s));
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 3);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit"), 1);
    store_service(f->s);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.outcome[0], STORE_COMMITTED);
    assert_string_equal(o.why[0], "");
    assert_int_equal(store_pending(f->s), 0);
    store_service(f->s);
    assert_int_equal(o.n, 1);                          /* delivered once */
}

typedef struct {
    store *s;
    int calls;
    store_member_totals t;
} totals_seen;

static void note_totals(void *ctx, store_outcome outcome, const char *why)
{
    totals_seen *seen = ctx;
    (void)why;
    assert_int_equal(outcome, STORE_COMMITTED);
    seen->calls++;
    seen->t = *store_outcome_members(seen->s);
}

/* What the transaction's member deletes did comes with its outcome, as on
 * PostgreSQL where the rows are known only then: every call, its rows, the
 * rows deleted by reason (a dry run's count is not a removal). */
static void submit_outcome_carries_the_member_totals(void **state)
{
    fx *f = *state;
    totals_seen seen = { .s = f->s };
    int64_t first = 0, again = 0, dry = 0;
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &first), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &again), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_SWEEP, 1, 1, &dry), DC_OK);
    assert_true(first > 0 && again == 0 && dry > 0);
    assert_int_equal(store_commit_submit(f->s, note_totals, &seen), DC_OK);
    store_service(f->s);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.t.members, 3);
    assert_int_equal(seen.t.rows, first + dry);
    assert_int_equal(seen.t.removed[AUDIT_MEMBER_REMOVE], first);
    assert_int_equal(seen.t.removed[AUDIT_SWEEP], 0);
    assert_int_equal(store_outcome_members(f->s)->members, 0);   /* only inside the callback */
}

/* Outcomes come in the order of their commits; one submitted by a callback
 * waits for the next store_service. */
static void submit_outcomes_in_order(void **state)
{
    fx *f = *state;
    outcomes o = { 0 };
    commit_tag c1 = { &o, 1 }, c2 = { &o, 2 };
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_kv_set(f->s, "k1", "1"), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c1), DC_OK);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_kv_set(f->s, "k2", "2"), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c2), DC_OK);
    assert_int_equal(store_pending(f->s), 2);
    o.resubmit = f->s;
    o.later = (commit_tag){ &o, 3 };
    store_service(f->s);
    assert_int_equal(o.n, 2);
    assert_int_equal(o.id[0], 1);
    assert_int_equal(o.id[1], 2);
    assert_int_equal(store_pending(f->s), 1);          /* the third, submitted by the first callback */
    store_service(f->s);
    assert_int_equal(o.n, 3);
    assert_int_equal(o.id[2], 3);
    assert_int_equal(o.outcome[2], STORE_COMMITTED);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_session_state WHERE key IN ('k1', 'k2', 'k3')"), 3);
}

/* A reader of the bot holds its lock past our busy_timeout (outside WAL,
 * a COMMIT needs every reader gone): the commit is refused, rolled back,
 * and the outcome says the caller may retry. */
static void submit_refused_busy(void **state)
{
    fx *f = *state;
    outcomes o = { 0 };
    commit_tag c1 = { &o, 1 }, c2 = { &o, 2 };
    int64_t rows;
    assert_int_equal(sqlite3_exec(store_sqlite_of(f->s)->db, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL), SQLITE_OK);
    store_set_busy_timeout(f->s, 10);
    sqlite3 *bot = fx_open(f->d.db);
    assert_int_equal(fx_exec(bot, "BEGIN"), SQLITE_OK);
    assert_int_equal(fx_int(bot, "SELECT count(*) FROM users"), 4);   /* holds its read lock */
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c1), DC_OK);
    assert_int_equal(o.n, 0);
    assert_false(store_in_transaction(f->s));          /* rolled back: the caller redoes it */
    assert_int_equal(fx_exec(bot, "COMMIT"), SQLITE_OK);
    sqlite3_close(bot);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 4);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit"), 0);
    store_service(f->s);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.outcome[0], STORE_RETRY_BUSY);
    assert_non_null(strstr(o.why[0], "locked"));
    assert_int_equal(store_begin(f->s), DC_OK);        /* the retry goes through */
    assert_int_equal(store_delete_member(f->s, G1, U1, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c2), DC_OK);
    store_service(f->s);
    assert_int_equal(o.id[1], 2);
    assert_int_equal(o.outcome[1], STORE_COMMITTED);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 3);
}

/* A COMMIT SQLite refuses for good (a deferred foreign key of the bot's
 * schema still violated): rolled back, STORE_FAILED with the reason. */
static void submit_refused_for_good(void **state)
{
    fx *f = *state;
    outcomes o = { 0 };
    commit_tag c1 = { &o, 1 };
    int64_t rows;
    char sql[300];
    snprintf(sql, sizeof sql, "CREATE TABLE pets (owner INTEGER, guild INTEGER, FOREIGN KEY (owner, guild) "
             "REFERENCES users (discord_id, guild_id) DEFERRABLE INITIALLY DEFERRED);"
             "INSERT INTO pets VALUES (%llu, %llu)", U2, G1);
    assert_int_equal(fx_exec_at(f->d.db, sql), SQLITE_OK);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_delete_member(f->s, G1, U2, AUDIT_MEMBER_REMOVE, 0, 1, &rows), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c1), DC_OK);
    assert_false(store_in_transaction(f->s));
    store_service(f->s);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.outcome[0], STORE_FAILED);
    assert_non_null(strstr(o.why[0], "FOREIGN KEY"));
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 4);
}

/* Only one open, outermost transaction can be handed over; nothing queued. */
static void submit_needs_one_open_transaction(void **state)
{
    fx *f = *state;
    outcomes o = { 0 };
    commit_tag c1 = { &o, 1 };
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c1), DC_ERR_USAGE);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_begin(f->s), DC_OK);
    assert_int_equal(store_commit_submit(f->s, note_outcome, &c1), DC_ERR_USAGE);   /* nested */
    assert_int_equal(store_commit(f->s), DC_OK);
    assert_int_equal(store_commit_submit(f->s, NULL, &c1), DC_ERR_USAGE);
    assert_true(store_in_transaction(f->s));           /* still the caller's */
    assert_int_equal(store_pending(f->s), 0);
    assert_int_equal(store_rollback(f->s), DC_OK);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

/* Issue #14 item 8: a guild's rows a slice at a time.  G1 gets 5 more users
 * (U2+1..U2+5) and an inventory row of an owner with no users row; each
 * slice takes the lowest ids of users and the inventory rows up to the same
 * id; the last one takes everything left of G1 and nothing of G2, of the
 * legacy rows or of the audit (the caller writes one audit row at the end). */
static void delete_guild_in_slices(void **state)
{
    fx *f = *state;
    char sql[512];
    snprintf(sql, sizeof sql, "INSERT INTO users SELECT %llu + value, %llu, 'more' FROM generate_series(1, 5);"
             "INSERT INTO \"inv entory\" VALUES (%llu, %llu, 'orphan')", U2, G1, U2 + 100, G1);
    if (fx_exec_at(f->d.db, sql) != SQLITE_OK) {   /* no generate_series: insert one by one */
        for (unsigned long long k = 1; k <= 5; k++) {
            snprintf(sql, sizeof sql, "INSERT INTO users VALUES (%llu, %llu, 'more')", U2 + k, G1);
            assert_int_equal(fx_exec_at(f->d.db, sql), SQLITE_OK);
        }
        snprintf(sql, sizeof sql, "INSERT INTO \"inv entory\" VALUES (%llu, %llu, 'orphan')", U2 + 100, G1);
        assert_int_equal(fx_exec_at(f->d.db, sql), SQLITE_OK);
    }
    int64_t rows = 0;
    int more = 0;
    /* U1, U2 and U1's two inventory rows */
    assert_int_equal(store_delete_guild_slice(f->s, G1, 2, &rows, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(rows, 4);
    assert_int_equal(q(f, "SELECT count(*) FROM users WHERE guild_id = 111111111111111111"), 5);
    /* U2+1..U2+3 */
    assert_int_equal(store_delete_guild_slice(f->s, G1, 3, &rows, &more), DC_OK);
    assert_int_equal(more, 1);
    assert_int_equal(rows, 7);
    /* two users left, fewer than the slice: all of it, the orphan inventory row too */
    assert_int_equal(store_delete_guild_slice(f->s, G1, 3, &rows, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(rows, 10);
    assert_int_equal(store_count_guild(f->s, G1, &rows), DC_OK);
    assert_int_equal(rows, 0);
    assert_int_equal(q(f, "SELECT count(*) FROM \"inv entory\" WHERE guild = 111111111111111111"), 0);
    assert_int_equal(q(f, "SELECT count(*) FROM users"), 2);          /* G2's row, the legacy row */
    assert_int_equal(q(f, "SELECT count(*) FROM \"inv entory\""), 2);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit"), 0);
    assert_int_equal(store_audit_guild_delete(f->s, G1, AUDIT_GUILD_DELETE, 5, 10), DC_OK);
    assert_int_equal(q(f, "SELECT count(*) FROM cleaner_audit WHERE reason = 'guild_delete' "
                          "AND discord_id IS NULL AND rows = 10 AND at_ms = 5"), 1);
    /* an empty guild: nothing, done */
    rows = 0;
    assert_int_equal(store_delete_guild_slice(f->s, G1, 3, &rows, &more), DC_OK);
    assert_int_equal(more, 0);
    assert_int_equal(rows, 0);
    assert_int_equal(store_delete_guild_slice(f->s, G1, 0, &rows, &more), DC_ERR_USAGE);
}

/* Ids that are not integers cannot be sliced by id: the slice takes all. */
static void delete_guild_slice_with_text_ids_makes_progress(void **state)
{
    fx *f = *state;
    assert_int_equal(fx_exec_at(f->d.db, "INSERT INTO users VALUES ('x1', 111111111111111111, 't'),"
                                         "('x2', 111111111111111111, 't'), ('x3', 111111111111111111, 't')"),
                     SQLITE_OK);
    int64_t rows = 0;
    int more = 1, slices = 0;
    while (more && slices < 10) {
        assert_int_equal(store_delete_guild_slice(f->s, G1, 2, &rows, &more), DC_OK);
        slices++;
    }
    assert_int_equal(more, 0);
    assert_int_equal(rows, 7);                         /* 5 users + 2 inventory */
    assert_int_equal(q(f, "SELECT count(*) FROM users WHERE guild_id = 111111111111111111"), 0);
}

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        T(delete_member_with_extra_tables),
        T(delete_guild_with_extra_tables),
        T(delete_guild_in_slices),
        T(delete_guild_slice_with_text_ids_makes_progress),
        T(dry_run_deletes_nothing),
        T(unassigned_rows_are_never_deleted),
        T(adopt_unassigned_skips_conflicts),
        T(each_user_guild_in_order),
        T(each_stored_guild_seeks_past_odd_values),
        T(kv_round_trip),
        T(guild_state_round_trip),
        T(guild_names_and_whole_results),
        T(audit_prune_and_totals),
        T(transactions_group_and_roll_back),
        T(submit_commits_and_delivers_through_service),
        T(submit_outcome_carries_the_member_totals),
    T(submit_outcomes_in_order),
        T(submit_refused_busy),
        T(submit_refused_for_good),
        T(submit_needs_one_open_transaction),
        T(clean_tables_are_validated),
        T(savepoint_write_fails_alone),
        T(bare_write_failure_breaks_the_transaction),
        T(bare_writes_without_a_transaction_stay_atomic),
        T(manual_checkpoints),
        T(bare_writes_batch_audit_rows),
        T(bare_audit_batch_failure_breaks_the_transaction),
        T(closed_sweep_sets_clear_in_slices),
        T(sweep_add_counts_distinct_ids),
        T(reopened_sweep_set_is_never_cleared_behind_it),
        T(failed_clear_step_gives_up_that_set),
        cmocka_unit_test(audit_reason_names),
        cmocka_unit_test(open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
