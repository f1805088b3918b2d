/* test_fixtures.c - every fixture in fixtures/ replays to its expectation,
 * a replay is deterministic (same database and audit trail twice), and
 * --expect really fails on a difference.  Run on both stores (issue #16):
 * with DC_TEST_BACKEND=postgresql every --db is a fresh PostgreSQL
 * database of the cluster of DC_TEST_PG_URI, looked at with dh_db_*. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include "daemon_harness.h"
#include "../unit/pg_fixture.h"

static char binary[4096];
static char tmpdir[64];

/* Runs the binary with args (NULL-terminated); output to tmpdir/out.txt. */
static int run_replay(const char *first, ...)
{
    char *argv[16] = { binary, "replay", (char *)first };
    int argc = 3;
    va_list ap;
    va_start(ap, first);
    while (argc < 15 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;
    char out[128];
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(127);
        char *envp[] = { "PATH=/usr/bin:/bin", NULL };
        execve(binary, argv, envp);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void show_output(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "tail -n 40 %s/out.txt", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "(no output)\n");
}

/* Whether the last run's output (tmpdir/out.txt) contains needle. */
static int output_has(const char *needle)
{
    char out[128], text[16384] = "";
    snprintf(out, sizeof out, "%s/out.txt", tmpdir);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return strstr(text, needle) != NULL;
}

/* The PostgreSQL databases scratch_db made (dropped at the end). */
static char pg_names[16][64];
static size_t n_pg_names;

static void remember_pg_name(const char *tag)
{
    char name[64];
    pgfx_name(name, sizeof name, tag);
    for (size_t i = 0; i < n_pg_names; i++)
        if (strcmp(pg_names[i], name) == 0)
            return;
    assert_true(n_pg_names < sizeof pg_names / sizeof pg_names[0]);
    memcpy(pg_names[n_pg_names++], name, sizeof name);
}

static void drop_pg_databases(void)
{
    for (size_t i = 0; i < n_pg_names; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.63s WITH (FORCE)", pg_names[i]);
        pgfx_exec(pgfx_cluster(), sql);
    }
}

/* An empty database named for name: a file in tmpdir, or on PostgreSQL
 * the fresh database dc_fx_<name>_<pid> (its URI in buf). */
static void scratch_db(char *buf, size_t cap, const char *name)
{
    if (dh_backend_pg()) {
        char tag[32];
        snprintf(tag, sizeof tag, "fx_%s", name);
        assert_non_null(pgfx_cluster());
        assert_int_equal(pgfx_fresh(buf, cap, tag), 0);
        remember_pg_name(tag);
        return;
    }
    snprintf(buf, cap, "%s/%s.db", tmpdir, name);
    unlink(buf);
}

/* Every fixtures/X.jsonl with its fixtures/X.expect.json. */
static void test_every_fixture_meets_its_expectation(void **state)
{
    (void)state;
    glob_t g;
    assert_int_equal(glob("fixtures/*.jsonl", 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 9);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char expect[512], db[256];
        const char *fx = g.gl_pathv[i];
        snprintf(expect, sizeof expect, "%.*s.expect.json", (int)(strlen(fx) - 6), fx);
        assert_int_equal(access(expect, R_OK), 0);
        scratch_db(db, sizeof db, "fixture");
        int rc = run_replay(fx, "--db", db, "--expect", expect, NULL);
        if (rc != 0) {
            fprintf(stderr, "%s: replay exited %d\n", fx, rc);
            show_output();
        }
        assert_int_equal(rc, 0);
    }
    globfree(&g);
}

static int append_row(void *ctx, int n, char **vals, char **cols)
{
    (void)cols;
    FILE *f = ctx;
    for (int i = 0; i < n; i++)
        fprintf(f, "%s|", vals[i] ? vals[i] : "NULL");
    fputc('\n', f);
    return 0;
}

static const char *const dumped[][2] = {      /* table, order */
    { "users", "guild_id, discord_id" },
    { "cleaner_audit", "id" },
    { "cleaner_guild_state", "guild_id" },
    { "cleaner_session_state", "key" },
};

/* The same on PostgreSQL: each table's rows as row literals, one a line. */
static char *dump_pg(const char *uri)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (size_t i = 0; i < sizeof dumped / sizeof dumped[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT string_agg(t::text, E'\\n' ORDER BY %s) FROM %s t", dumped[i][1],
                 dumped[i][0]);
        assert_int_equal(dh_db_int(uri, "SELECT 1"), 1);   /* reachable: NULL below is "no rows" */
        char *rows = dh_db_text(uri, sql);
        fprintf(f, "%s:\n%s\n", dumped[i][0], rows ? rows : "");
        free(rows);
    }
    fclose(f);
    return text;
}

/* Rows, guild state, session state and audit trail as text. */
static char *dump(const char *path)
{
    if (dh_backend_pg())
        return dump_pg(path);
    sqlite3 *db;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (size_t i = 0; i < sizeof dumped / sizeof dumped[0]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY %s", dumped[i][0], dumped[i][1]);
        assert_int_equal(sqlite3_exec(db, sql, append_row, f, NULL), SQLITE_OK);
    }
    sqlite3_close(db);
    fclose(f);
    return text;
}

static void test_replay_twice_gives_the_same_database(void **state)
{
    (void)state;
    char a[256], b[256];
    const char *fx[] = { "fixtures/sweep_10k_chunks.jsonl", "fixtures/outage_vs_kick.jsonl" };
    for (size_t i = 0; i < 2; i++) {
        scratch_db(a, sizeof a, "first");
        scratch_db(b, sizeof b, "second");
        assert_int_equal(run_replay(fx[i], "--db", a, NULL), 0);
        assert_int_equal(run_replay(fx[i], "--db", b, NULL), 0);
        char *da = dump(a), *db = dump(b);
        /* something was there to compare */
        assert_true(dh_db_int(a, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM cleaner_audit)") > 0);
        assert_string_equal(da, db);
        free(da);
        free(db);
    }
}

static void test_expect_fails_with_a_diff(void **state)
{
    (void)state;
    char db[256];
    scratch_db(db, sizeof db, "wrong");
    int rc = run_replay("fixtures/member_leaves_online.jsonl", "--db", db, "--expect",
                        "fixtures/outage_vs_kick.expect.json", NULL);
    assert_int_equal(rc, 1);
    assert_true(output_has("-removed.guild_delete: 3"));
    assert_true(output_has("+removed.guild_delete: 0"));
}

static void test_dry_run_deletes_nothing(void **state)
{
    (void)state;
    char db[256];
    scratch_db(db, sizeof db, "dry");
    assert_int_equal(run_replay("fixtures/member_leaves_online.jsonl", "--db", db, "--dry-run", NULL), 0);
    assert_int_equal(dh_db_int(db, "SELECT count(*) FROM users WHERE discord_id = 1002 AND guild_id = 111"),
                     1);                          /* bob is still there */
    assert_int_equal(dh_db_int(db, "SELECT count(*) FROM cleaner_audit WHERE reason = 'member_remove' "
                                   "AND dry_run = 1 AND discord_id = 1002"), 1);   /* audited as a dry run */
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

#define STREAM_HEADER "{\"format\":\"discord-cleaner-session\",\"version\":1,\"compression\":\"none\"," \
    "\"auto_ack\":true,\"check_sends\":false,\"seed_sql\":\"INSERT INTO users (discord_id, guild_id, " \
    "username) VALUES (1, 111, 'a'), (2, 111, 'b');\"}\n" \
    "{\"t\":0,\"k\":\"open\"}\n" \
    "{\"t\":5,\"k\":\"recv\",\"json\":{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}}\n" \
    "{\"t\":10,\"k\":\"recv\",\"json\":{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"s\"," \
    "\"resume_gateway_url\":\"wss://r.example\",\"guilds\":[{\"id\":\"111\",\"unavailable\":true}]}}}\n" \
    "{\"t\":20,\"k\":\"recv\",\"json\":{\"op\":0,\"s\":2,\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"111\"," \
    "\"member_count\":2}}}\n"
#define REMOVE(t, s, id) "{\"t\":" #t ",\"k\":\"recv\",\"json\":{\"op\":0,\"s\":" #s "," \
    "\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"111\",\"user\":{\"id\":\"" #id "\"}}}}\n"

/* A "json" value that is not JSON, met while streaming: the replay stops at
 * that line with 65 and its number; what came before it was applied (and
 * committed), nothing after it; --expect does not turn it into a pass. */
static void test_bad_line_while_streaming_stops_there(void **state)
{
    (void)state;
    char fx[128], db[256];
    snprintf(fx, sizeof fx, "%s/midbad.jsonl", tmpdir);
    write_file(fx, STREAM_HEADER REMOVE(30, 3, 1)
                   "{\"t\":40,\"k\":\"recv\",\"json\":{\"op\":0,,\"s\":4}}\n" REMOVE(50, 5, 2)
                   "{\"t\":60,\"k\":\"end\"}\n");
    scratch_db(db, sizeof db, "midbad");
    assert_int_equal(run_replay(fx, "--db", db, "--expect", "fixtures/outage_vs_kick.expect.json", NULL), 65);
    if (!output_has("line 7: \"json\" is not valid JSON")) {
        show_output();
        fail();
    }
    char *left = dh_db_text(db, dh_sql("SELECT group_concat(discord_id) FROM users",
                                       "SELECT string_agg(discord_id::text, ',') FROM users"));
    assert_non_null(left);
    assert_string_equal(left, "2");               /* line 6 ran, line 8 did not */
    free(left);
}

/* A recording cut off mid-line is refused before anything runs. */
static void test_truncated_last_line_is_refused_up_front(void **state)
{
    (void)state;
    char fx[128], db[256];
    snprintf(fx, sizeof fx, "%s/cut.jsonl", tmpdir);
    write_file(fx, STREAM_HEADER REMOVE(30, 3, 1) "{\"t\":40,\"k\":\"recv\",\"json\":{\"op\":0,\"s\":4,\"t\":\"GUI");
    scratch_db(db, sizeof db, "cut");
    assert_int_equal(run_replay(fx, "--db", db, NULL), 65);
    assert_true(output_has("line 7"));
    if (dh_backend_pg())                              /* nothing was even migrated */
        assert_int_equal(dh_db_int(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
    else
        assert_int_equal(access(db, F_OK), -1);       /* no database was even created */
}

static void test_bad_fixture_and_missing_file(void **state)
{
    (void)state;
    char bad[128];
    snprintf(bad, sizeof bad, "%s/bad.jsonl", tmpdir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("{\"format\":\"something-else\"}\n", f);
    fclose(f);
    assert_int_equal(run_replay(bad, NULL), 65);
    assert_int_equal(run_replay("fixtures/does-not-exist.jsonl", NULL), 66);
    assert_int_equal(run_replay("fixtures/outage_vs_kick.jsonl", "--speed", "0", NULL), 64);
}

/* A fixture whose header carries key: sql (sql without double quotes). */
static void write_seed_fixture(const char *path, const char *key, const char *sql)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"format\":\"discord-cleaner-session\",\"version\":1,\"compression\":\"none\","
               "\"auto_ack\":true,\"check_sends\":false,\"%s\":\"%s\"}\n"
               "{\"t\":0,\"k\":\"open\"}\n{\"t\":10,\"k\":\"end\"}\n", key, sql);
    assert_int_equal(fclose(f), 0);
}

/* What each store refuses in a seed: its own ways to reach outside the
 * rows (SQLite: PRAGMA, load_extension; PostgreSQL: SET, pg_read_file,
 * dblink) beside the ones both share (DELETE, UPDATE, COMMIT, DDL). */
static const char *const refused_sqlite[][2] = {
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); DELETE FROM users;" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); UPDATE users SET guild_id = 3;" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); PRAGMA user_version = 0;" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (load_extension('x'), 2);" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); COMMIT; BEGIN;" },
    { "seed_sql", "CREATE TABLE extra (x);" },
    { "pre_migration_sql", "CREATE TABLE users (discord_id INTEGER UNIQUE); "
                           "CREATE TRIGGER t AFTER INSERT ON users BEGIN DELETE FROM users; END;" },
    { "pre_migration_sql", "CREATE TABLE users (discord_id INTEGER UNIQUE); DROP TABLE users;" },
    { NULL, NULL },
};
static const char *const refused_pg[][2] = {
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); DELETE FROM users;" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); UPDATE users SET guild_id = 3;" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); SET session_replication_role = replica;" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (length(pg_read_file('/etc/passwd')), 2);" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) SELECT * FROM dblink('dbname=x', 'SELECT 1, 2') "
                  "AS v(a bigint, b bigint);" },
    { "seed_sql", "INSERT INTO users (discord_id, guild_id) VALUES (1, 2); COMMIT; BEGIN;" },
    { "seed_sql", "CREATE TABLE extra (x int);" },
    { "pre_migration_sql", "CREATE TABLE users (discord_id BIGINT UNIQUE); "
                           "CREATE TRIGGER t AFTER INSERT ON users EXECUTE FUNCTION f();" },
    { "pre_migration_sql", "CREATE TABLE users (discord_id BIGINT UNIQUE); DROP TABLE users;" },
    { NULL, NULL },
};

/* SQLite only: ATTACH reaches another database file (PostgreSQL's way
 * out, dblink, is in refused_pg).  Refused with and without --db. */
static void attach_is_refused(void)
{
    char victim[128], fx[128], sql[512];
    snprintf(victim, sizeof victim, "%s/victim.db", tmpdir);
    snprintf(fx, sizeof fx, "%s/hostile.jsonl", tmpdir);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(victim, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE users (discord_id INTEGER); INSERT INTO users VALUES (7);",
                                  NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);

    snprintf(sql, sizeof sql, "ATTACH '%s' AS v; DELETE FROM v.users;", victim);
    write_seed_fixture(fx, "seed_sql", sql);
    assert_int_equal(run_replay(fx, NULL), 65);                 /* no --db: a scratch database */
    assert_true(output_has("fixture seed_sql: refused: ATTACH"));
    assert_int_equal(dh_db_int(victim, "SELECT count(*) FROM users"), 1);
    write_seed_fixture(fx, "pre_migration_sql", sql);
    assert_int_equal(run_replay(fx, NULL), 65);
    assert_int_equal(dh_db_int(victim, "SELECT count(*) FROM users"), 1);
}

/* Seed SQL is data: a fixture may insert rows (and, before migrating,
 * create legacy tables), nothing else.  An ATTACH of another database,
 * a DELETE, a PRAGMA or SET, load_extension or pg_read_file, a trigger:
 * refused with a clear message, exit 65, and none of the seed applied. */
static void test_seed_sql_is_data_only(void **state)
{
    (void)state;
    char fx[128], db[320];
    snprintf(fx, sizeof fx, "%s/hostile.jsonl", tmpdir);
    if (!dh_backend_pg())
        attach_is_refused();
    const char *const (*refused)[2] = dh_backend_pg() ? refused_pg : refused_sqlite;
    for (size_t i = 0; refused[i][0]; i++) {
        write_seed_fixture(fx, refused[i][0], refused[i][1]);
        scratch_db(db, sizeof db, "hostile");
        int rc = run_replay(fx, "--db", db, NULL);
        if (rc != 65 || !output_has("refused: ")) {
            fprintf(stderr, "%s: %s: exit %d\n", refused[i][0], refused[i][1], rc);
            show_output();
            fail();
        }
        /* Nothing of the seed is in the database (users empty or absent). */
        assert_true(dh_db_int(db, "SELECT count(*) FROM users") <= 0);
    }

    /* What fixtures need still works: legacy tables with an index, rows from a CTE. */
    write_seed_fixture(fx, "pre_migration_sql",
                       dh_sql("CREATE TABLE users (discord_id INTEGER NOT NULL, username TEXT); "
                              "CREATE UNIQUE INDEX one ON users (discord_id); "
                              "INSERT INTO users WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                              "WHERE x < 5) SELECT x, printf('u%d', x) FROM c;",
                              "CREATE TABLE users (discord_id BIGINT NOT NULL, username TEXT); "
                              "CREATE UNIQUE INDEX one ON users (discord_id); "
                              "INSERT INTO users WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                              "WHERE x < 5) SELECT x, format('u%s', x) FROM c;"));
    scratch_db(db, sizeof db, "legacy");
    assert_int_equal(run_replay(fx, "--db", db, NULL), 0);
    assert_int_equal(dh_db_int(db, "SELECT count(*) FROM users WHERE username LIKE 'u%'"), 5);
}

int main(void)
{
    const char *build = getenv("BUILD");
    snprintf(binary, sizeof binary, "%s/discord-cleaner", build ? build : "build");
    if (binary[0] != '/') {
        char cwd[2048];
        if (getcwd(cwd, sizeof cwd)) {
            char rel[4096];
            snprintf(rel, sizeof rel, "%s", binary);
            snprintf(binary, sizeof binary, "%.2000s/%.2000s", cwd, rel);
        }
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dc-fixtures-XXXXXX");
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_meets_its_expectation),
        cmocka_unit_test(test_replay_twice_gives_the_same_database),
        cmocka_unit_test(test_expect_fails_with_a_diff),
        cmocka_unit_test(test_dry_run_deletes_nothing),
        cmocka_unit_test(test_bad_fixture_and_missing_file),
        cmocka_unit_test(test_bad_line_while_streaming_stops_there),
        cmocka_unit_test(test_truncated_last_line_is_refused_up_front),
        cmocka_unit_test(test_seed_sql_is_data_only),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    drop_pg_databases();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        return 1;
    return failed;
}
