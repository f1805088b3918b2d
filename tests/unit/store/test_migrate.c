/* test_migrate.c - schema migrations: fresh create, no-op reopen, the legacy
 * single-guild users table rebuilt losslessly, failures that leave the file
 * byte-identical, read-only status on an old schema, admin migrate/status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "store_fixture.h"
#include "cli/db_cli.h"
#include "store/legacy.h"
#include "base/log.h"
#include "store/store.h"

#define LEGACY_TABLE_UNIQUE_COL                                                         \
    "CREATE TABLE users (\n"                                                            \
    "  discord_id INTEGER CONSTRAINT one_row_per_user UNIQUE ON CONFLICT ABORT,\n"      \
    "  username TEXT COLLATE NOCASE, -- display name, may contain , and (\n"            \
    "  xp INTEGER NOT NULL DEFAULT 0,\n"                                                \
    "  level INTEGER CHECK (level >= 0 AND level < 1000),\n"                            \
    "  \"odd \"\"col\" TEXT DEFAULT 'a,b(c)',\n"                                        \
    "  joined_at TEXT NOT NULL DEFAULT (datetime('now')),\n"                            \
    "  CHECK (xp >= 0)\n"                                                               \
    ");\n"                                                                              \
    "CREATE INDEX users_xp ON users (xp DESC);\n"                                       \
    "CREATE TRIGGER users_xp_cap AFTER UPDATE OF xp ON users WHEN NEW.xp > 1000000 BEGIN\n" \
    "  UPDATE users SET xp = 1000000 WHERE rowid = NEW.rowid;\n"                        \
    "END;\n"                                                                            \
    "CREATE VIEW top_users AS SELECT discord_id, xp FROM users ORDER BY xp DESC LIMIT 10;\n"

#define LEGACY_ROWS_SQL(n)                                                              \
    "INSERT INTO users (discord_id, username, xp, level, \"odd \"\"col\", joined_at) "    \
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < " #n ") "  \
    "SELECT 100000000000000000 + i, 'user' || i, i * 3, i % 50, "                        \
    "CASE WHEN i % 7 = 0 THEN NULL ELSE 'w' || i END, '2020-01-01 00:00:' || (i % 60) FROM c;"

static void make_legacy(const char *path, const char *ddl, const char *rows)
{
    sqlite3 *db = fx_open(path);
    assert_int_equal(fx_exec(db, ddl), SQLITE_OK);
    assert_int_equal(fx_exec(db, rows), SQLITE_OK);
    sqlite3_close(db);
}

static store *open_ok(const char *path, uint64_t legacy_guild)
{
    store_opts o = { .legacy_guild_id = legacy_guild };
    char err[256] = "";
    store *s = NULL;
    dc_err rc = store_open(&s, path, &o, err, sizeof err);
    if (rc != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

static void fresh_create(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    store *s = open_ok(d.db, 0);
    const store_migration_report *m = store_migration(s);
    assert_int_equal(m->from_version, 0);
    assert_int_equal(m->to_version, store_latest_schema_version());
    assert_int_equal(store_schema_version(s), store_latest_schema_version());
    assert_string_equal(m->backup_path, "");          /* nothing to back up */
    assert_int_equal(m->legacy_rebuilt, 0);
    store_close(s);
    assert_int_equal(fx_int_at(d.db, "PRAGMA user_version"), store_latest_schema_version());
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM pragma_table_info('users') "
                                     "WHERE name IN ('discord_id', 'guild_id', 'username')"), 3);
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                     "('cleaner_audit', 'cleaner_guild_state', 'cleaner_session_state')"), 3);
    assert_int_equal(fx_int_at(d.db, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    assert_int_equal(fx_count_files(&d, "pre-migration"), 0);
    fx_rmdir(&d);
}

static void reopen_is_noop(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    store_close(open_ok(d.db, 0));
    size_t len = 0;
    char *before = fx_read(d.db, &len);
    assert_non_null(before);
    store *s = open_ok(d.db, 0);
    assert_int_equal(store_migration(s)->from_version, store_migration(s)->to_version);
    store_close(s);
    assert_true(fx_same_file(d.db, before, len));
    assert_int_equal(fx_int_at(d.db, "PRAGMA user_version"), store_latest_schema_version());
    assert_int_equal(fx_count_files(&d, "pre-migration"), 0);
    free(before);
    fx_rmdir(&d);
}

/* Every row and column of the legacy table, compared with the backup. */
static void assert_rows_preserved(const char *db, const char *bak, long long n)
{
    sqlite3 *h = fx_open(db);
    char sql[4200];
    snprintf(sql, sizeof sql, "ATTACH '%s' AS old", bak);
    assert_int_equal(fx_exec(h, sql), SQLITE_OK);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM old.users"), n);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM users"), n);
    assert_int_equal(fx_int(h,
        "SELECT count(*) FROM users u JOIN old.users o ON u.rowid = o.rowid "
        "WHERE u.discord_id IS o.discord_id AND u.username IS o.username AND u.xp IS o.xp "
        "AND u.level IS o.level AND u.\"odd \"\"col\" IS o.\"odd \"\"col\" "
        "AND u.joined_at IS o.joined_at"), n);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM pragma_table_info('users', 'old') "
                               "WHERE name = 'guild_id'"), 0);
    sqlite3_close(h);
}

/* Types, defaults, NOT NULL, CHECKs, the index, the trigger and the view
 * survived; uniqueness is now (discord_id, guild_id). */
static void assert_schema_kept(const char *path)
{
    sqlite3 *h = fx_open(path);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM sqlite_master WHERE name IN "
                               "('users_xp', 'users_xp_cap', 'top_users')"), 3);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM top_users"), 10);
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id, guild_id, level) VALUES (1, 5, -1)"),
                     SQLITE_CONSTRAINT);                                /* column CHECK */
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id, guild_id, xp) VALUES (1, 5, NULL)"),
                     SQLITE_CONSTRAINT);                                /* NOT NULL */
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id, guild_id) VALUES (1, 5)"), SQLITE_OK);
    assert_int_equal(fx_int(h, "SELECT xp FROM users WHERE discord_id = 1"), 0);  /* DEFAULT */
    assert_int_equal(fx_int(h, "SELECT \"odd \"\"col\" = 'a,b(c)' FROM users WHERE discord_id = 1"), 1);
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id, guild_id) VALUES (1, 6)"), SQLITE_OK);
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id, guild_id) VALUES (1, 6)"),
                     SQLITE_CONSTRAINT);                                /* the new pair */
    assert_int_equal(fx_exec(h, "UPDATE users SET xp = 5000000 WHERE discord_id = 1 AND guild_id = 5"),
                     SQLITE_OK);
    assert_int_equal(fx_int(h, "SELECT xp FROM users WHERE discord_id = 1 AND guild_id = 5"), 1000000);
    assert_int_equal(fx_int(h, "SELECT username = 'USER1' FROM users WHERE rowid = 1"), 1); /* COLLATE */
    sqlite3_close(h);
}

static void legacy_10k_unassigned(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(10000));
    store *s = open_ok(d.db, 0);
    const store_migration_report *m = store_migration(s);
    assert_int_equal(m->legacy_rebuilt, 1);
    assert_int_equal(m->legacy_rows, 10000);
    assert_non_null(strstr(m->backup_path, "bot.db.pre-migration-"));
    int64_t n = 0;
    assert_int_equal(store_count_unassigned(s, &n), DC_OK);
    assert_int_equal(n, 10000);
    char bak[4096];
    snprintf(bak, sizeof bak, "%s", m->backup_path);
    store_close(s);
    assert_int_equal(access(bak, R_OK), 0);
    assert_rows_preserved(d.db, bak, 10000);
    assert_schema_kept(d.db);
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM pragma_index_list('users') "
                                     "WHERE origin = 'u'"), 1);           /* only the pair */
    fx_rmdir(&d);
}

/* The backup holds the same rows: it gets the database's mode, not 0644. */
static void backup_has_the_database_mode(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(10));
    mode_t old_mask = umask(022);
    const mode_t modes[] = { 0600, 0640 };
    for (size_t i = 0; i < 2; i++) {
        if (i == 1) {                                /* a second legacy database */
            fx_rmdir(&d);
            fx_mkdir(&d);
            make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(10));
        }
        assert_int_equal(chmod(d.db, modes[i]), 0);
        store *s = open_ok(d.db, 0);
        struct stat sb;
        assert_int_equal(stat(store_migration(s)->backup_path, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, modes[i]);
        store_close(s);
    }
    umask(old_mask);
    fx_rmdir(&d);
}

/* Another table's FOREIGN KEY to a users column that stays unique: the
 * 12-step rebuild keeps its rows and the key (valid, still cascading). */
static void legacy_referenced_by_foreign_key(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE users (id INTEGER PRIMARY KEY, discord_id INTEGER UNIQUE NOT NULL, "
                      "username TEXT);"
                      "CREATE TABLE xp (uid INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, "
                      "points INTEGER);",
                "PRAGMA foreign_keys = ON; INSERT INTO users VALUES (1, 11, 'a'), (2, 12, 'b'), (3, 13, 'c');"
                "INSERT INTO xp VALUES (1, 10), (2, 20), (2, 21), (3, 30);");
    store *s = open_ok(d.db, 4242);
    assert_int_equal(store_migration(s)->legacy_rebuilt, 1);
    store_close(s);
    sqlite3 *h = fx_open(d.db);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM xp"), 4);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM pragma_foreign_key_list('xp') "
                               "WHERE \"table\" = 'users' AND \"to\" = 'id'"), 1);
    assert_int_equal(fx_exec(h, "PRAGMA foreign_keys = ON; DELETE FROM users WHERE discord_id = 12"), SQLITE_OK);
    assert_int_equal(fx_int(h, "SELECT count(*) FROM xp"), 2);                /* cascaded */
    assert_int_equal(fx_exec(h, "INSERT INTO xp VALUES (99, 1)"), SQLITE_CONSTRAINT);   /* enforced */
    sqlite3_close(h);
    fx_rmdir(&d);
}

/* A key to users(discord_id) cannot hold once discord_id repeats per guild:
 * refused before anything is written, with what to do. */
static void legacy_foreign_key_to_discord_id_refused_clearly(void **state)
{
    (void)state;
    static const char *const children[] = {
        "CREATE TABLE xp (user_id INTEGER REFERENCES users(discord_id) ON DELETE CASCADE, points INT);",
        "CREATE TABLE xp (user_id INTEGER REFERENCES users, points INT);",   /* the primary key */
    };
    static const char *const parents[] = {
        "CREATE TABLE users (discord_id INTEGER UNIQUE NOT NULL, username TEXT);",
        "CREATE TABLE users (discord_id INTEGER PRIMARY KEY, username TEXT);",
    };
    for (size_t i = 0; i < 2; i++) {
        fx_dir d;
        fx_mkdir(&d);
        char ddl[512];
        snprintf(ddl, sizeof ddl, "%s%s", parents[i], children[i]);
        make_legacy(d.db, ddl, "INSERT INTO users VALUES (1, 'a'); INSERT INTO xp VALUES (1, 5);");
        store_opts o = { .legacy_guild_id = 1 };
        char err[512] = "";
        store *s = NULL;
        assert_int_equal(store_open(&s, d.db, &o, err, sizeof err), DC_ERR_SCHEMA);
        assert_non_null(strstr(err, "table xp (column user_id) has a FOREIGN KEY to users(discord_id)"));
        assert_non_null(strstr(err, "nothing was changed"));
        assert_int_equal(fx_count_files(&d, "pre-migration"), 0);
        assert_int_equal(fx_int_at(d.db, "PRAGMA user_version"), 0);
        fx_rmdir(&d);
    }
}

/* Unassigned legacy rows (guild_id NULL) stay one per user until adopted:
 * SQLite's UNIQUE (discord_id, guild_id) alone lets NULL guild_ids repeat. */
static void unassigned_rows_stay_unique(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(3));
    store_close(open_ok(d.db, 0));
    sqlite3 *h = fx_open(d.db);
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id) VALUES (100000000000000001)"), SQLITE_CONSTRAINT);
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id, guild_id) VALUES (100000000000000001, 7)"),
                     SQLITE_OK);                                        /* one per guild, as before */
    assert_int_equal(fx_exec(h, "UPDATE users SET guild_id = 5 WHERE discord_id = 100000000000000002 "
                                "AND guild_id IS NULL"), SQLITE_OK);   /* adopted */
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id) VALUES (100000000000000002)"), SQLITE_OK);
    assert_int_equal(fx_exec(h, "INSERT INTO users (discord_id) VALUES (100000000000000002)"), SQLITE_CONSTRAINT);
    sqlite3_close(h);
    fx_rmdir(&d);
}

/* A database already holding repeated unassigned rows: the migration that
 * adds the rule says which and what to do, and is not applied. */
static void repeated_unassigned_rows_refused_clearly(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    store_close(open_ok(d.db, 0));
    assert_int_equal(fx_exec_at(d.db, "DROP INDEX cleaner_users_unassigned; PRAGMA user_version = 5; "
                                      "INSERT INTO users (discord_id) VALUES (1), (1), (2)"), SQLITE_OK);
    store_opts o = { 0 };
    char err[512] = "";
    store *s = NULL;
    assert_int_equal(store_open(&s, d.db, &o, err, sizeof err), DC_ERR_SCHEMA);
    assert_non_null(strstr(err, "1 user(s) have more than one unassigned row"));
    assert_int_equal(fx_int_at(d.db, "PRAGMA user_version"), 5);
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM users"), 3);
    fx_rmdir(&d);
}

static void legacy_unique_index_with_guild(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE users (discord_id INTEGER NOT NULL, username TEXT, score REAL);"
                      "CREATE UNIQUE INDEX users_discord ON users (discord_id);"
                      "CREATE INDEX users_score ON users (score);",
                "INSERT INTO users VALUES (11, 'a', 1.5), (12, 'b', NULL), (13, 'c', 3);");
    store *s = open_ok(d.db, 4242);
    int64_t n = 0;
    assert_int_equal(store_count_guild(s, 4242, &n), DC_OK);
    assert_int_equal(n, 3);
    assert_int_equal(store_count_unassigned(s, &n), DC_OK);
    assert_int_equal(n, 0);
    store_close(s);
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM sqlite_master WHERE name = 'users_discord'"), 0);
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM sqlite_master WHERE name = 'users_score'"), 1);
    assert_int_equal(fx_int_at(d.db, "SELECT sum(score) * 10 FROM users"), 45);
    fx_rmdir(&d);
}

static void legacy_integer_primary_key(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE users (discord_id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);",
                "INSERT INTO users VALUES (5, 'x'), (9, 'y');");
    store_close(open_ok(d.db, 77));
    assert_int_equal(fx_int_at(d.db, "SELECT count(*) FROM users WHERE guild_id = 77"), 2);
    assert_int_equal(fx_exec_at(d.db, "INSERT INTO users (discord_id, guild_id) VALUES (5, 78)"), SQLITE_OK);
    fx_rmdir(&d);
}

static void target_shape_is_kept(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, "
                      "username TEXT, coins INTEGER DEFAULT 3, UNIQUE (guild_id, discord_id));",
                "INSERT INTO users VALUES (1, 2, 'a', 10), (1, 3, 'b', 20);");
    store *s = open_ok(d.db, 0);
    assert_int_equal(store_migration(s)->legacy_rebuilt, 0);
    store_close(s);
    assert_int_equal(fx_int_at(d.db, "SELECT sum(coins) FROM users"), 30);
    fx_rmdir(&d);
}

/* Open must fail with `want` and leave the file exactly as it was. */
static void assert_refused_unchanged(const char *path, dc_err want)
{
    size_t len = 0;
    char *before = fx_read(path, &len);
    store_opts o = { .legacy_guild_id = 1 };
    char err[256] = "";
    store *s = NULL;
    assert_non_null(before);
    assert_int_equal(store_open(&s, path, &o, err, sizeof err), want);
    assert_null(s);
    assert_true(err[0] != '\0');
    assert_true(fx_same_file(path, before, len));
    free(before);
}

static void failed_rebuild_leaves_file_identical(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(2000));
    legacy_test_row_skew = 1;                          /* force a count mismatch */
    assert_refused_unchanged(d.db, DC_ERR_DB);
    legacy_test_row_skew = 0;
    assert_int_equal(fx_int_at(d.db, "PRAGMA user_version"), 0);
    assert_int_equal(fx_count_files(&d, "-journal"), 0);
    /* A clash with our scratch table fails at CREATE: same guarantee. */
    assert_int_equal(fx_exec_at(d.db, "CREATE TABLE _cleaner_users_rebuild (x)"), SQLITE_OK);
    assert_refused_unchanged(d.db, DC_ERR_DB);
    fx_rmdir(&d);
}

static void unknown_shapes_are_refused(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE users (discord_id INTEGER, name TEXT);",
                "INSERT INTO users VALUES (1, 'a'), (1, 'b');");
    assert_refused_unchanged(d.db, DC_ERR_SCHEMA);
    fx_rmdir(&d);
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE users (discord_id INTEGER, guild_id INTEGER);", "SELECT 1;");
    assert_refused_unchanged(d.db, DC_ERR_SCHEMA);
    fx_rmdir(&d);
    fx_mkdir(&d);
    make_legacy(d.db, "CREATE TABLE t (x);", "PRAGMA user_version = 999;");
    assert_refused_unchanged(d.db, DC_ERR_SCHEMA);   /* newer than this program */
    fx_rmdir(&d);
}

static void read_only_on_old_schema(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(10));
    size_t len = 0;
    char *before = fx_read(d.db, &len);
    store_opts o = { .read_only = 1 };
    char err[256] = "";
    store *s = NULL;
    assert_int_equal(store_open(&s, d.db, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_schema_version(s), 0);
    assert_true(store_schema_version(s) < store_latest_schema_version());
    assert_int_equal(store_kv_set(s, "k", "v"), DC_ERR_USAGE);
    int64_t n = 0;
    assert_int_not_equal(store_count_unassigned(s, &n), DC_OK);   /* no guild_id yet */
    store_close(s);
    assert_true(fx_same_file(d.db, before, len));
    assert_int_equal(fx_count_files(&d, "pre-migration"), 0);
    free(before);
    fx_rmdir(&d);
}

static char *capture(int (*fn)(const char *, FILE *), const char *path, int *status)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *status = fn(path, f);
    fclose(f);
    return buf;
}

static int migrate_unassigned(const char *path, FILE *out) { return db_cli_migrate(path, 0, out); }
static int status_fixed_now(const char *path, FILE *out) { return db_cli_status_at(path, 1000, out); }

static void admin_migrate_and_status(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    make_legacy(d.db, LEGACY_TABLE_UNIQUE_COL, LEGACY_ROWS_SQL(25));
    int st = -1;
    char *out = capture(status_fixed_now, d.db, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "migrations pending"));
    assert_non_null(strstr(out, "this database needs `discord-cleaner migrate --db "));
    assert_null(strstr(out, "unavailable"));                /* no raw SQL errors */
    assert_null(strstr(out, "no such"));
    free(out);
    out = capture(migrate_unassigned, d.db, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "from version 0 to"));
    assert_non_null(strstr(out, "backup:  "));
    assert_non_null(strstr(out, "25 rows kept"));
    assert_non_null(strstr(out, "left unassigned"));
    free(out);
    out = capture(migrate_unassigned, d.db, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "nothing to do"));
    free(out);
    out = capture(status_fixed_now, d.db, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "(up to date)"));
    assert_non_null(strstr(out, "25 rows (legacy rows without a guild"));
    free(out);
    fx_rmdir(&d);
}

static void admin_missing_database_migrate_creates(void **state)
{
    (void)state;
    fx_dir d;
    fx_mkdir(&d);
    int st = -1;
    free(capture(status_fixed_now, d.db, &st));
    assert_int_equal(st, 66);
    assert_int_equal(access(d.db, F_OK), -1);          /* status did not create it */
    char *out = capture(migrate_unassigned, d.db, &st);  /* migrate is how one is made */
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "new database created at schema version"));
    free(out);
    assert_int_equal(fx_int_at(d.db, "PRAGMA user_version"), store_latest_schema_version());
    fx_rmdir(&d);
}

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fresh_create),
        cmocka_unit_test(reopen_is_noop),
        cmocka_unit_test(legacy_10k_unassigned),
        cmocka_unit_test(legacy_unique_index_with_guild),
        cmocka_unit_test(backup_has_the_database_mode),
        cmocka_unit_test(unassigned_rows_stay_unique),
        cmocka_unit_test(repeated_unassigned_rows_refused_clearly),
        cmocka_unit_test(legacy_referenced_by_foreign_key),
        cmocka_unit_test(legacy_foreign_key_to_discord_id_refused_clearly),
        cmocka_unit_test(legacy_integer_primary_key),
        cmocka_unit_test(target_shape_is_kept),
        cmocka_unit_test(failed_rebuild_leaves_file_identical),
        cmocka_unit_test(unknown_shapes_are_refused),
        cmocka_unit_test(read_only_on_old_schema),
        cmocka_unit_test(admin_migrate_and_status),
        cmocka_unit_test(admin_missing_database_migrate_creates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
