/* test_store_pg_migrate.c - the legacy single-guild users table migrated on
 * PostgreSQL (store_pg_legacy.c), as test_migrate.c checks it on SQLite:
 * every row and column kept, an index, a trigger, a view, foreign keys in
 * and out, legacy_guild_id set and unset, the backup table, a failing
 * migration that leaves everything as it was, a second open that does
 * nothing, two processes opening a fresh database at once; then a fixture's
 * seed text on PostgreSQL (store_pg_seed.c): allowed, refused, and quotes
 * and comments that hide keywords.  Against the cluster make check starts
 * (skipped without one, failed under CI). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "base/log.h"
#include "cli/db_cli.h"
#include "store/schema.h"
#include "store/store.h"

static char uri[512];

static int fresh(void **state)
{
    (void)state;
    if (pgfx_cluster() && pgfx_fresh(uri, sizeof uri, "migrate") != 0)
        return -1;
    return 0;
}

static int drop(void **state)
{
    (void)state;
    if (pgfx_cluster())
        pgfx_drop("migrate");
    return 0;
}

static void sql_ok(const char *sql)
{
    if (pgfx_exec(uri, sql) != 0)
        fail_msg("SQL failed: %s", sql);
}

/* sql must fail (a constraint doing its work): 1 when it did. */
static int refused(const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    int failed = PQresultStatus(r) == PGRES_FATAL_ERROR;
    PQclear(r);
    PQfinish(c);
    return failed;
}

static store *open_ok(uint64_t legacy_guild)
{
    store_opts o = { .legacy_guild_id = legacy_guild };
    char err[512] = "";
    store *s = NULL;
    if (store_open(&s, uri, &o, err, sizeof err) != DC_OK)
        fail_msg("store_open: %s", err);
    return s;
}

static dc_err open_fails(uint64_t legacy_guild, char *err, size_t cap)
{
    store_opts o = { .legacy_guild_id = legacy_guild };
    store *s = NULL;
    err[0] = '\0';
    dc_err rc = store_open(&s, uri, &o, err, cap);
    assert_int_not_equal(rc, DC_OK);
    assert_null(s);
    return rc;
}

static long long q(const char *sql) { return pgfx_int(uri, sql); }


/* A number that changes with anything in the public schema: each relation,
 * column (type, NOT NULL, default), constraint, index, trigger and view
 * definition, and every row of users. */
#define FINGERPRINT_SQL                                                                                \
    "SELECT ('x' || substr(md5(string_agg(x, '|' ORDER BY x)), 1, 15))::bit(60)::bigint FROM ("        \
    "SELECT c.relname::text || c.relkind::text AS x FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " \
    " WHERE n.nspname = 'public' "                                                                       \
    "UNION ALL SELECT a.attrelid::regclass::text || '.' || a.attname::text || format_type(a.atttypid, a.atttypmod) " \
    " || a.attnotnull::text || coalesce(pg_get_expr(d.adbin, d.adrelid), '') FROM pg_attribute a "            \
    " JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "              \
    " LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "                          \
    " WHERE n.nspname = 'public' AND a.attnum > 0 AND NOT a.attisdropped "                               \
    "UNION ALL SELECT conrelid::regclass::text || conname::text || pg_get_constraintdef(oid) FROM pg_constraint "    \
    " WHERE connamespace = 'public'::regnamespace "                                                      \
    "UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' "                             \
    "UNION ALL SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal "                    \
    "UNION ALL SELECT pg_get_viewdef(c.oid) FROM pg_class c WHERE c.relkind = 'v' "                      \
    " AND c.relnamespace = 'public'::regnamespace "                                                      \
    "UNION ALL SELECT u::text FROM users u) t"

static long long fingerprint(void)
{
    long long f = q(FINGERPRINT_SQL);
    assert_true(f != -1);
    return f;
}

/* The bot's legacy table: a UNIQUE constraint of its own name, extra
 * columns with defaults, CHECKs and a collation, an index, a trigger and
 * a view; n rows. */
static void make_legacy(int n)
{
    char rows[640];
    sql_ok("CREATE TABLE users (\n"
           "  discord_id BIGINT CONSTRAINT one_row_per_user UNIQUE,\n"
           "  username TEXT COLLATE \"C\",\n"
           "  xp INTEGER NOT NULL DEFAULT 0 CHECK (xp >= 0),\n"
           "  level INTEGER CHECK (level >= 0 AND level < 1000),\n"
           "  \"odd \"\"col\" TEXT DEFAULT 'a,b(c)',\n"
           "  joined_at TIMESTAMPTZ NOT NULL DEFAULT now());\n"
           "CREATE INDEX users_xp ON users (xp DESC);\n"
           "CREATE FUNCTION cap_xp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN\n"
           "  IF NEW.xp > 1000000 THEN NEW.xp := 1000000; END IF; RETURN NEW; END $$;\n"
           "CREATE TRIGGER users_xp_cap BEFORE UPDATE OF xp ON users FOR EACH ROW EXECUTE FUNCTION cap_xp();\n"
           "CREATE VIEW top_users AS SELECT discord_id, xp FROM users ORDER BY xp DESC LIMIT 10;");
    snprintf(rows, sizeof rows,
             "INSERT INTO users (discord_id, username, xp, level, \"odd \"\"col\", joined_at) "
             "SELECT 100000000000000000 + i, 'user' || i, i * 3, i %% 50, "
             "CASE WHEN i %% 7 = 0 THEN NULL ELSE 'w' || i END, "
             "timestamptz '2020-01-01 00:00:00+00' + i * interval '1 s' FROM generate_series(1, %d) i", n);
    sql_ok(rows);
}

static void legacy_rows_kept_unassigned_with_backup(void **state)
{
    (void)state;
    pgfx_need();
    make_legacy(1000);
    store *s = open_ok(0);
    const store_migration_report *m = store_migration(s);
    assert_int_equal(m->legacy_rebuilt, 1);
    assert_int_equal(m->legacy_rows, 1000);
    assert_int_equal(m->to_version, store_latest_schema_version());
    assert_memory_equal(m->backup_path, "users_pre_migration_", 20);
    char sql[1024];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %.60s b JOIN users u ON u.discord_id = b.discord_id AND "
             "u.username IS NOT DISTINCT FROM b.username AND u.xp = b.xp AND u.level IS NOT DISTINCT FROM "
             "b.level AND u.\"odd \"\"col\" IS NOT DISTINCT FROM b.\"odd \"\"col\" AND u.joined_at = b.joined_at",
             m->backup_path);
    store_close(s);
    assert_int_equal(q(sql), 1000);                                   /* every row, every column */
    assert_int_equal(q("SELECT count(*) FROM users"), 1000);
    assert_int_equal(q("SELECT count(*) FROM users WHERE guild_id IS NULL"), 1000);   /* unassigned */
    assert_int_equal(q("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'users_pre_migration_%'"), 1);
    /* guild_id typed like discord_id */
    assert_int_equal(q("SELECT count(DISTINCT data_type) FROM information_schema.columns WHERE "
                       "table_name = 'users' AND column_name IN ('discord_id', 'guild_id')"), 1);
}

/* Index, trigger, view, CHECKs, defaults kept; uniqueness is the pair's,
 * and an unassigned row stays the one row of its user (0006). */
static void legacy_schema_objects_kept(void **state)
{
    (void)state;
    pgfx_need();
    make_legacy(20);
    store_close(open_ok(0));
    assert_int_equal(q("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_xp'"), 1);
    assert_int_equal(q("SELECT count(*) FROM pg_trigger WHERE tgname = 'users_xp_cap'"), 1);
    assert_int_equal(q("SELECT count(*) FROM top_users"), 10);
    assert_int_equal(q("SELECT count(*) FROM pg_constraint WHERE conname = 'one_row_per_user'"), 0);
    assert_true(refused("INSERT INTO users (discord_id, guild_id, level) VALUES (1, 5, -1)"));
    assert_true(refused("INSERT INTO users (discord_id, guild_id, xp) VALUES (1, 5, NULL)"));
    sql_ok("INSERT INTO users (discord_id, guild_id) VALUES (1, 5), (1, 6)");   /* one user, two guilds */
    assert_int_equal(q("SELECT xp FROM users WHERE discord_id = 1 AND guild_id = 5"), 0);      /* DEFAULT */
    assert_true(refused("INSERT INTO users (discord_id, guild_id) VALUES (1, 6)"));
    sql_ok("UPDATE users SET xp = 5000000 WHERE discord_id = 1 AND guild_id = 5");
    assert_int_equal(q("SELECT xp FROM users WHERE discord_id = 1 AND guild_id = 5"), 1000000);  /* trigger */
    assert_true(refused("INSERT INTO users (discord_id) VALUES (100000000000000001)"));
    sql_ok("UPDATE users SET guild_id = 9 WHERE discord_id = 100000000000000002");             /* adopted */
    sql_ok("INSERT INTO users (discord_id) VALUES (100000000000000002)");
}

/* A bare unique index; legacy_guild_id given: every row gets it without an
 * UPDATE (the bot's update trigger does not fire), the other index stays,
 * no default is left behind. */
static void legacy_guild_id_assigned(void **state)
{
    (void)state;
    pgfx_need();
    sql_ok("CREATE TABLE users (discord_id NUMERIC(20) NOT NULL, username TEXT, score REAL, touched INT DEFAULT 0);"
           "CREATE UNIQUE INDEX users_discord ON users (discord_id);"
           "CREATE INDEX users_score ON users (score);"
           "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN\n"
           "  NEW.touched := NEW.touched + 1; RETURN NEW; END $$;"
           "CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();"
           "INSERT INTO users VALUES (11, 'a', 1.5), (12, 'b', NULL), (13, 'c', 3);");
    store *s = open_ok(1234567890123456789ull);
    assert_int_equal(store_migration(s)->legacy_rows, 3);
    store_close(s);
    assert_int_equal(q("SELECT count(*) FROM users WHERE guild_id = 1234567890123456789"), 3);
    assert_int_equal(q("SELECT sum(touched) FROM users"), 0);
    assert_int_equal(q("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_discord'"), 0);
    assert_int_equal(q("SELECT count(*) FROM pg_indexes WHERE indexname = 'users_score'"), 1);
    assert_int_equal(q("SELECT count(*) FROM information_schema.columns WHERE table_name = 'users' "
                       "AND column_name = 'guild_id' AND column_default IS NULL AND data_type = 'numeric'"), 1);
    assert_int_equal(q("SELECT sum(score) * 10 FROM users"), 45);
}

/* A primary key and a unique index on discord_id, names that need quotes. */
static void legacy_primary_key(void **state)
{
    (void)state;
    pgfx_need();
    sql_ok("CREATE TABLE users (discord_id TEXT PRIMARY KEY, name TEXT);"
           "CREATE UNIQUE INDEX \"Users By Id\" ON users (discord_id);"    /* a second key on it */
           "INSERT INTO users VALUES ('5', 'x'), ('9', 'y');");
    store_close(open_ok(77));
    assert_int_equal(q("SELECT count(*) FROM users WHERE guild_id = '77'"), 2);
    assert_int_equal(q("SELECT count(*) FROM pg_index WHERE indrelid = 'users'::regclass AND indnkeyatts = 1 "
                       "AND indisunique AND indpred IS NULL"), 0);          /* both gone */
    sql_ok("INSERT INTO users (discord_id, guild_id) VALUES ('5', '78')");
}

/* Keys from other tables to a column that stays unique, and from users to
 * another table: kept, valid, enforced, still cascading. */
static void legacy_foreign_keys_in_and_out_kept(void **state)
{
    (void)state;
    pgfx_need();
    sql_ok("CREATE TABLE teams (id INT PRIMARY KEY);"
           "CREATE TABLE users (id SERIAL PRIMARY KEY, discord_id BIGINT UNIQUE NOT NULL, "
           "team INT REFERENCES teams(id), username TEXT);"
           "CREATE TABLE xp (uid INT NOT NULL REFERENCES users(id) ON DELETE CASCADE, points INT);"
           "INSERT INTO teams VALUES (1), (2);"
           "INSERT INTO users (discord_id, team, username) VALUES (11, 1, 'a'), (12, 2, 'b'), (13, NULL, 'c');"
           "INSERT INTO xp VALUES (1, 10), (2, 20), (2, 21), (3, 30);");
    store_close(open_ok(4242));
    assert_int_equal(q("SELECT count(*) FROM xp"), 4);
    assert_int_equal(q("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND convalidated"), 2);
    sql_ok("DELETE FROM users WHERE discord_id = 12");
    assert_int_equal(q("SELECT count(*) FROM xp"), 2);                               /* cascaded */
    assert_true(refused("INSERT INTO xp VALUES (99, 1)"));        /* enforced in */
    assert_true(refused("INSERT INTO users (discord_id, guild_id, team) VALUES (14, 1, 7)"));
    sql_ok("INSERT INTO users (discord_id, guild_id, team) VALUES (11, 1, 2)");       /* a second guild */
}

/* A key to users(discord_id) stands on the unique key the migration drops:
 * refused before anything is written, with what to do (as on SQLite). */
static void legacy_foreign_key_to_discord_id_refused_clearly(void **state)
{
    (void)state;
    pgfx_need();
    sql_ok("CREATE TABLE users (discord_id BIGINT PRIMARY KEY, username TEXT);"
           "CREATE TABLE xp (user_id BIGINT REFERENCES users(discord_id) ON DELETE CASCADE, points INT);"
           "INSERT INTO users VALUES (1, 'a'); INSERT INTO xp VALUES (1, 5);");
    long long before = fingerprint();
    char err[512];
    assert_int_equal(open_fails(1, err, sizeof err), DC_ERR_SCHEMA);
    assert_non_null(strstr(err, "table xp (column user_id) has a FOREIGN KEY to users(discord_id)"));
    assert_non_null(strstr(err, "nothing was changed"));
    assert_int_equal(fingerprint(), before);
    assert_int_equal(q("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 2);
}

/* A view that leans on the primary key (GROUP BY discord_id) makes dropping
 * it fail half-way: everything done before is undone, a second open fails
 * the same way, and once the view is gone the migration runs. */
static void failed_migration_leaves_everything_as_it_was(void **state)
{
    (void)state;
    pgfx_need();
    sql_ok("CREATE TABLE users (discord_id BIGINT PRIMARY KEY, username TEXT);"
           "INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 50) i;"
           "CREATE VIEW names AS SELECT discord_id, username FROM users GROUP BY discord_id;");
    long long before = fingerprint();
    char err[512];
    for (int i = 0; i < 2; i++) {
        assert_int_not_equal(open_fails(0, err, sizeof err), DC_OK);
        assert_non_null(strstr(err, "dropping the unique key on discord_id"));
        assert_non_null(strstr(err, "the database is as it was"));
        assert_int_equal(fingerprint(), before);
        assert_int_equal(q("SELECT count(*) FROM pg_class WHERE relname = 'cleaner_schema_version' "
                           "OR relname LIKE 'users_pre_migration_%'"), 0);
    }
    /* A guild id the INTEGER ids cannot hold fails at ADD COLUMN: same guarantee. */
    sql_ok("DROP VIEW names; ALTER TABLE users ALTER COLUMN discord_id TYPE INTEGER");
    before = fingerprint();
    assert_int_not_equal(open_fails(1ull << 40, err, sizeof err), DC_OK);
    assert_non_null(strstr(err, "adding guild_id"));
    assert_int_equal(fingerprint(), before);
    store *s = open_ok(7);
    assert_int_equal(store_migration(s)->legacy_rows, 50);
    store_close(s);
}

static void second_open_does_nothing(void **state)
{
    (void)state;
    pgfx_need();
    make_legacy(10);
    store_close(open_ok(0));
    long long before = fingerprint();
    store *s = open_ok(5);                   /* a legacy guild now changes nothing */
    const store_migration_report *m = store_migration(s);
    assert_int_equal(m->from_version, m->to_version);
    assert_int_equal(m->legacy_rebuilt, 0);
    assert_string_equal(m->backup_path, "");
    store_close(s);
    assert_int_equal(fingerprint(), before);
    assert_int_equal(q("SELECT count(*) FROM users WHERE guild_id IS NULL"), 10);
}

/* Two processes open the database at once; how many migrated the legacy
 * table.  Both must succeed. */
static int open_twice_at_once(void)
{
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            store_opts o = { 0 };
            char err[512];
            store *s = NULL;
            if (store_open(&s, uri, &o, err, sizeof err) != DC_OK)
                _exit(10);
            int rebuilt = store_migration(s)->legacy_rebuilt;
            store_close(s);
            _exit(rebuilt ? 1 : 2);
        }
    }
    int rebuilt = 0;
    for (int i = 0; i < 2; i++) {
        int st = 0;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st));
        assert_true(WEXITSTATUS(st) == 1 || WEXITSTATUS(st) == 2);
        rebuilt += WEXITSTATUS(st) == 1;
    }
    return rebuilt;
}

/* A fresh database and a legacy one: each migration runs once, the legacy
 * table is migrated and backed up once. */
static void two_opens_at_once_migrate_once(void **state)
{
    (void)state;
    pgfx_need();
    assert_int_equal(open_twice_at_once(), 0);
    assert_int_equal(q("SELECT count(*) FROM cleaner_schema_version"), schema_pg_migration_count);
    sql_ok("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
    make_legacy(200);
    assert_int_equal(open_twice_at_once(), 1);
    assert_int_equal(q("SELECT count(*) FROM cleaner_schema_version"), schema_pg_migration_count);
    assert_int_equal(q("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'users_pre_migration_%'"), 1);
    assert_int_equal(q("SELECT count(*) FROM users"), 200);
}

/* Shapes we do not guess about: refused, nothing changed. */
static void unknown_shapes_are_refused(void **state)
{
    (void)state;
    pgfx_need();
    static const char *const shapes[] = {
        "CREATE TABLE users (discord_id BIGINT, name TEXT)",
        "CREATE TABLE users (discord_id BIGINT, guild_id BIGINT)",
        "CREATE TABLE users (discord_id BIGINT, guild_id BIGINT, UNIQUE (discord_id))",
        "CREATE TABLE users (id BIGINT PRIMARY KEY)",
        "CREATE TABLE users (discord_id BIGINT); CREATE UNIQUE INDEX u ON users (discord_id) WHERE discord_id > 0",
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        sql_ok("DROP TABLE IF EXISTS users");
        sql_ok(shapes[i]);
        long long before = fingerprint();
        char err[512];
        assert_int_equal(open_fails(0, err, sizeof err), DC_ERR_SCHEMA);
        assert_non_null(strstr(err, "refusing to migrate"));
        assert_int_equal(fingerprint(), before);
    }
}

static void target_shape_is_kept(void **state)
{
    (void)state;
    pgfx_need();
    sql_ok("CREATE TABLE users (discord_id VARCHAR(20) NOT NULL, guild_id VARCHAR(20), username TEXT, "
           "coins INT DEFAULT 3, PRIMARY KEY (guild_id, discord_id));"
           "INSERT INTO users VALUES ('1', '2', 'a', 10), ('1', '3', 'b', 20);");
    store *s = open_ok(0);
    assert_int_equal(store_migration(s)->legacy_rebuilt, 0);
    assert_string_equal(store_migration(s)->backup_path, "");
    store_close(s);
    assert_int_equal(q("SELECT sum(coins) FROM users"), 30);
    assert_int_equal(q("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'users_pre_migration_%'"), 0);
}

static void read_only_leaves_legacy_alone(void **state)
{
    (void)state;
    pgfx_need();
    make_legacy(10);
    long long before = fingerprint();
    store_opts o = { .read_only = 1 };
    char err[512] = "";
    store *s = NULL;
    assert_int_equal(store_open(&s, uri, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_schema_version(s), 0);
    store_close(s);
    assert_int_equal(fingerprint(), before);
}

static char *capture_migrate(uint64_t guild, int *status)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    *status = db_cli_migrate(uri, guild, f);
    fclose(f);
    return buf;
}

/* `discord-cleaner migrate` names the backup table and what it did. */
static void cli_migrate_names_the_backup_table(void **state)
{
    (void)state;
    pgfx_need();
    make_legacy(25);
    int st = -1;
    char *out = capture_migrate(0, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "from version 0 to"));
    assert_non_null(strstr(out, "backup:  users_pre_migration_"));
    assert_non_null(strstr(out, "25 rows kept"));
    assert_non_null(strstr(out, "left unassigned"));
    free(out);
    out = capture_migrate(0, &st);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "nothing to do"));
    free(out);
}

/* ---- a fixture's seed text (store_pg_seed.c) ------------------------------ */

static void migrated(void) { store_close(open_ok(0)); }

static dc_err seed(const char *sql, int allow_ddl, char *err, size_t cap)
{
    err[0] = '\0';
    return store_seed_sql(uri, sql, allow_ddl, err, cap);
}

/* The fixtures' own seed texts (written for SQLite) run as they are. */
static void seed_runs_the_fixtures_texts(void **state)
{
    (void)state;
    pgfx_need();
    char err[512];
    assert_int_equal(seed("CREATE TABLE users (discord_id INTEGER UNIQUE NOT NULL, username TEXT); "
                          "INSERT INTO users VALUES (1, 'ann'), (2, 'bob'), (3, 'cy');", 1, err, sizeof err), DC_OK);
    store *s = open_ok(111);                              /* legacy_adoption.jsonl's pre_migration_sql */
    assert_int_equal(store_migration(s)->legacy_rows, 3);
    store_close(s);
    assert_int_equal(seed("INSERT INTO users (discord_id, guild_id) WITH RECURSIVE c(x) AS (SELECT 100000 "
                          "UNION ALL SELECT x + 1 FROM c WHERE x < 109999) SELECT x, 777 FROM c; "
                          "INSERT INTO users (discord_id, guild_id) VALUES (1, 222), (2, 333);", 0, err, sizeof err),
                     DC_OK);
    assert_int_equal(q("SELECT count(*) FROM users"), 3 + 10000 + 2);
    assert_int_equal(seed("INSERT INTO users (discord_id, guild_id, username) SELECT i, 5, lower(md5(i::text)) "
                          "FROM generate_series(1, 4) AS g(i); CREATE UNIQUE INDEX users_name ON users (username);",
                          1, err, sizeof err), DC_OK);
    assert_int_equal(q("SELECT count(*) FROM users WHERE guild_id = 5"), 4);
    assert_int_equal(seed("INSERT INTO users (discord_id, guild_id) VALUES (1e3, 2.5e+1::int), (.5e1, 0)", 0, err,
                          sizeof err), DC_OK);
    assert_int_equal(q("SELECT count(*) FROM users WHERE discord_id = 1000 AND guild_id = 25"), 1);
}

/* Anything but inserting rows (and, before migrating, creating tables and
 * indexes) refuses the whole text, naming what; nothing of it is applied. */
static void seed_refuses_all_but_inserts(void **state)
{
    (void)state;
    pgfx_need();
    migrated();
    static const struct { const char *sql; int ddl; const char *what; } cases[] = {
        { "DELETE FROM users", 0, "DELETE" },
        { "update users SET guild_id = 1", 1, "UPDATE" },
        { "CREATE TABLE x (a INT)", 0, "CREATE TABLE" },
        { "CREATE UNIQUE INDEX x ON users (username)", 0, "CREATE UNIQUE" },
        { "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", 1, "CREATE FUNCTION" },
        { "CREATE TEMP TABLE x (a INT)", 1, "CREATE TEMP" },
        { "INSERT INTO users (discord_id, guild_id) SELECT length(pg_read_file('/etc/passwd')), 1", 0,
          "function (pg_read_file)" },
        { "INSERT INTO users (discord_id, guild_id) SELECT 1, 2 FROM dblink('x', 'y') AS t(a int)", 0,
          "function (dblink)" },
        { "INSERT INTO users (discord_id, guild_id) VALUES (\"pg_sleep\"(1), 1)", 0, "function (\"pg_sleep\")" },
        { "INSERT INTO users (discord_id, guild_id) VALUES (pg_catalog.lower('1')::bigint, 1)", 0, "function (lower)" },
        { "INSERT INTO users (discord_id, guild_id) VALUES (nextval('s'), 1)", 0, "function (nextval)" },
        /* a call's alias that looks like a CTE's "AS MATERIALIZED" */
        { "INSERT INTO users (discord_id, guild_id, username) SELECT 1, 2, pg_read_file('/etc/passwd') "
          "AS materialized", 0, "function (pg_read_file)" },
        /* ON names the table only in CREATE INDEX, not in a join */
        { "CREATE TABLE x AS SELECT 1 AS a FROM users u JOIN users v ON pg_read_file('/x') IS NOT NULL", 1,
          "function (pg_read_file)" },
        { "INSERT INTO users (discord_id, guild_id) VALUES (1, 1pg_sleep(1))", 0, "function (pg_sleep)" },
        { "INSERT INTO users (discord_id, guild_id) VALUES (1, 1) ON CONFLICT (discord_id, guild_id) "
          "DO UPDATE SET username = 'x'", 0, "UPDATE (ON CONFLICT DO UPDATE)" },
        { "INSERT INTO users (discord_id, guild_id) VALUES (1, 2) ON CONFLICT DO NOTHING; COMMIT", 0, "COMMIT" },
        { "BEGIN; INSERT INTO users (discord_id, guild_id) VALUES (1, 2)", 0, "BEGIN" },
        { "WITH d AS (DELETE FROM users RETURNING 1) INSERT INTO users (discord_id, guild_id) SELECT 1, 2", 0, "WITH" },
        { "SET ROLE postgres", 0, "SET" },
        { "COPY users FROM '/etc/passwd'", 0, "COPY" },
        { "DO $$ BEGIN DELETE FROM users; END $$", 0, "DO" },
        { "SELECT 1", 0, "SELECT" },
        { "(SELECT 1)", 0, "this statement" },
        /* standard strings: '\' ends there, so the DELETE after it is a statement */
        { "INSERT INTO users (discord_id, guild_id, username) VALUES (1, 2, '\\'); DELETE FROM users; --')", 0,
          "DELETE" },
    };
    sql_ok("INSERT INTO users (discord_id, guild_id) VALUES (42, 42)");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[512], want[128];
        assert_int_equal(seed(cases[i].sql, cases[i].ddl, err, sizeof err), DC_ERR_DB);
        snprintf(want, sizeof want, "refused: %s is not allowed; a fixture's %s", cases[i].what,
                 cases[i].ddl ? "pre_migration_sql" : "seed_sql");
        if (!strstr(err, want))
            fail_msg("%s: %s, not \"%s\"", cases[i].sql, err, want);
        assert_int_equal(q("SELECT count(*) FROM users"), 1);
        assert_int_equal(q("SELECT count(*) FROM pg_tables WHERE tablename = 'x'"), 0);
    }
}

/* Keywords inside quotes, dollar quotes and comments are data: the text
 * runs, as the server reads it. */
static void seed_quotes_and_comments_hide_keywords(void **state)
{
    (void)state;
    pgfx_need();
    migrated();
    char err[512];
    const char *text =
        "/* DELETE FROM users; /* nested; */ still a comment; DROP TABLE users; */\n"
        "INSERT INTO users (discord_id, guild_id, username) VALUES -- ; UPDATE users SET x = 1\n"
        " (1, 9, 'a''); DELETE FROM users; --'),\n"
        " (2, 9, E'\\'); DROP TABLE users; --'),\n"
        " (3, 9, $$; ALTER TABLE users ADD y INT; $$),\n"
        " (4, 9, $t$ it's $$ still; TRUNCATE users $t$),\n"
        " (5, 9, U&'d\\0061ta; pg_read_file(');\n"
        ";; -- empty statements\n"
        "INSERT INTO \"users\" (discord_id, guild_id) VALUES (6, 9)";
    assert_int_equal(seed(text, 0, err, sizeof err), DC_OK);
    assert_int_equal(q("SELECT count(*) FROM users WHERE guild_id = 9"), 6);
    assert_int_equal(q("SELECT count(*) FROM users WHERE username = 'a''); DELETE FROM users; --'"), 1);
    assert_int_equal(q("SELECT count(*) FROM users WHERE username = '''); DROP TABLE users; --'"), 1);
    assert_int_equal(q("SELECT count(*) FROM users WHERE username = 'data; pg_read_file('"), 1);
}

/* A statement the server refuses: all of the text rolled back, said. */
static void seed_failure_applies_nothing(void **state)
{
    (void)state;
    pgfx_need();
    migrated();
    char err[512];
    assert_int_equal(seed("INSERT INTO users (discord_id, guild_id) VALUES (1, 2); "
                          "INSERT INTO users (discord_id, guild_id) VALUES (1, 2);", 0, err, sizeof err), DC_ERR_DB);
    assert_non_null(strstr(err, "seed statement 2: "));
    assert_non_null(strstr(err, "duplicate key"));
    assert_int_equal(q("SELECT count(*) FROM users"), 0);
    char missing[512];
    pgfx_uri_for(missing, sizeof missing, "dc_seed_no_such_db");
    assert_int_equal(store_seed_sql(missing, "INSERT INTO users VALUES (1)", 0, err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "the database does not exist"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, fresh, drop)

int main(void)
{
    log_set_level(DCL_ERROR);
    const struct CMUnitTest tests[] = {
        T(legacy_rows_kept_unassigned_with_backup),
        T(legacy_schema_objects_kept),
        T(legacy_guild_id_assigned),
        T(legacy_primary_key),
        T(legacy_foreign_keys_in_and_out_kept),
        T(legacy_foreign_key_to_discord_id_refused_clearly),
        T(failed_migration_leaves_everything_as_it_was),
        T(second_open_does_nothing),
        T(two_opens_at_once_migrate_once),
        T(unknown_shapes_are_refused),
        T(target_shape_is_kept),
        T(read_only_leaves_legacy_alone),
        T(cli_migrate_names_the_backup_table),
        T(seed_runs_the_fixtures_texts),
        T(seed_refuses_all_but_inserts),
        T(seed_quotes_and_comments_hide_keywords),
        T(seed_failure_applies_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
