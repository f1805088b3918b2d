/* test_cli.c - the built binary's command line: help, version, exit
 * statuses for usage and configuration mistakes, and that the token never
 * shows.  Commands are mostly run only up to the point where they would do
 * real work (--help, --print-config, or a settings error); status and
 * migrate also run whole on PostgreSQL, against the test cluster (#16). */
#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../unit/pg_fixture.h"

#define FAKE_TOKEN "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabCdE.fakefakefakefakefakefakefakefakefake12"

static char binary[4096];
static char tmpdir[64];

typedef struct {
    int status;          /* exit status, or -1 when killed */
    char out[32768];
    char err[32768];
} result;

static void read_all(const char *file, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(file, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs the binary in tmpdir with exactly envp; args end with NULL. */
static void run_cli(result *r, char *const *envp, ...)
{
    char *argv[32] = { binary };
    int argc = 1;
    va_list ap;
    va_start(ap, envp);
    while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    argv[argc] = NULL;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open("err.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        execve(binary, argv, envp);
        _exit(127);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    read_all("out.txt", r->out, sizeof r->out);
    read_all("err.txt", r->err, sizeof r->err);
}

static char *const no_env[] = { "PATH=/usr/bin:/bin", NULL };

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    (void)state;
    const char *build = getenv("BUILD");
    char cwd[2048];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    snprintf(binary, sizeof binary, "%s/%s/discord-cleaner", cwd, build && *build ? build : "build");
    if (access(binary, X_OK) != 0) {
        fprintf(stderr, "test_cli: %s not built\n", binary);
        return -1;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dc-test-cli-XXXXXX");
    if (!mkdtemp(tmpdir) || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (chdir("/") != 0)
        return -1;
    return nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void usage_and_help(void **state)
{
    (void)state;
    static result r;
    run_cli(&r, no_env, NULL);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "Usage: discord-cleaner COMMAND"));

    run_cli(&r, no_env, "--help", NULL);
    assert_int_equal(r.status, 0);
    static const char *const names[] = { "run", "replay", "migrate", "sweep", "status", "version" };
    char line[32];
    for (size_t i = 0; i < 6; i++) {
        snprintf(line, sizeof line, "\n  %-9s ", names[i]);
        assert_non_null(strstr(r.out, line));
    }
    run_cli(&r, no_env, "-h", NULL);
    assert_int_equal(r.status, 0);
    run_cli(&r, no_env, "help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Usage: discord-cleaner COMMAND"));
}

static void command_help(void **state)
{
    (void)state;
    static result r, h;
    run_cli(&r, no_env, "run", "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Usage: discord-cleaner run"));
    assert_non_null(strstr(r.out, "--record FILE"));
    assert_non_null(strstr(r.out, "--batch-size N"));

    /* Help wins even over broken settings and unknown flags. */
    run_cli(&r, no_env, "sweep", "--bogus", "--batch-size", "x", "-h", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--guild ID"));
    run_cli(&h, no_env, "help", "sweep", NULL);
    assert_int_equal(h.status, 0);
    assert_string_equal(h.out, r.out);

    run_cli(&r, no_env, "replay", "--help", NULL);
    assert_non_null(strstr(r.out, "--expect FILE"));
    run_cli(&r, no_env, "help", "config", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "--max-message-bytes BYTES"));
    run_cli(&r, no_env, "help", "config", "--markdown", NULL);
    assert_non_null(strstr(r.out, "| `batch_size` | `1000` |"));
    run_cli(&r, no_env, "help", "nope", NULL);
    assert_int_equal(r.status, 64);
}

static void version(void **state)
{
    (void)state;
    static result r, v;
    run_cli(&r, no_env, "--version", NULL);
    assert_int_equal(r.status, 0);
    assert_memory_equal(r.out, "discord-cleaner 0.1.0\n", 22);
    assert_non_null(strstr(r.out, "libwebsockets "));
    assert_non_null(strstr(r.out, "libcurl/"));
    assert_non_null(strstr(r.out, "SQLite 3."));
    assert_non_null(strstr(r.out, "cJSON 1."));
    assert_non_null(strstr(r.out, "zlib 1."));
    run_cli(&v, no_env, "version", NULL);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.out, r.out);
    run_cli(&v, no_env, "-V", NULL);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.out, r.out);
    run_cli(&v, no_env, "version", "extra", NULL);
    assert_int_equal(v.status, 64);
}

static void usage_errors_exit_64(void **state)
{
    (void)state;
    static result r;
    run_cli(&r, no_env, "rnu", NULL);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "unknown command 'rnu' (did you mean 'run'?)"));
    run_cli(&r, no_env, "--dry-run", "run", NULL);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "options go after it"));
    run_cli(&r, no_env, "sweep", "--bach-size", "3", NULL);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "unknown option '--bach-size' (did you mean '--batch-size'?)"));
    run_cli(&r, no_env, "replay", "a.jsonl", "b.jsonl", NULL);
    assert_int_equal(r.status, 64);
    assert_non_null(strstr(r.err, "unexpected argument 'b.jsonl'"));
    run_cli(&r, no_env, "migrate", "--record", "x", NULL);   /* run's flag, not migrate's */
    assert_int_equal(r.status, 64);
    /* every error is one line, naming the help */
    assert_non_null(strstr(r.err, "; see 'discord-cleaner migrate --help'\n"));
    assert_int_equal((int)(strchr(r.err, '\n') - r.err) + 1, (int)strlen(r.err));
}

/* One rule: a wrong value exits 78 wherever it was given (flag,
 * environment, file); 64 only for a command line that cannot be read. */
static void config_errors_exit_78(void **state)
{
    (void)state;
    static result r;
    run_cli(&r, no_env, "status", "--batch-size", "0", NULL);
    assert_int_equal(r.status, 78);
    assert_non_null(strstr(r.err, "expected a whole number from 1 to 100000, got '0'"));
    char *bad_batch[] = { "CLEANER_BATCH_SIZE=0", NULL };
    run_cli(&r, bad_batch, "status", NULL);
    assert_int_equal(r.status, 78);
    write_file("bad.conf", "# settings\nbatch_size = many\n", 0600);
    run_cli(&r, no_env, "status", "--config", "bad.conf", NULL);
    assert_int_equal(r.status, 78);
    assert_non_null(strstr(r.err, "bad.conf:2: batch_size: expected a whole number from 1 to 100000, got 'many'"));

    char *bad_env[] = { "CLEANER_SHARDS=4/2", NULL };
    run_cli(&r, bad_env, "migrate", NULL);
    assert_int_equal(r.status, 78);
    assert_non_null(strstr(r.err, "environment variable CLEANER_SHARDS:"));

    run_cli(&r, no_env, "run", NULL);
    assert_int_equal(r.status, 78);
    assert_non_null(strstr(r.err, "no bot token"));
    run_cli(&r, no_env, "sweep", "--all", NULL);
    assert_int_equal(r.status, 78);
}

static void token_stays_secret(void **state)
{
    (void)state;
    static result r;
    char *env[] = { "DISCORD_TOKEN=" FAKE_TOKEN, "CLEANER_BATCH_SIZE=7", "CLEANUP_BATCH_SIZE=5", NULL };
    run_cli(&r, env, "run", "--print-config", "--batch-size", "9", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "token = (set)\n"));
    assert_non_null(strstr(r.out, "batch_size = 9\n"));
    assert_null(strstr(r.out, FAKE_TOKEN));
    assert_null(strstr(r.err, FAKE_TOKEN));

    run_cli(&r, env, "status", "--print-config", NULL);
    assert_non_null(strstr(r.out, "batch_size = 7\n"));   /* CLEANER_ beats CLEANUP_ */

    write_file("token", FAKE_TOKEN "\n", 0644);
    run_cli(&r, no_env, "run", "--token-file", "token", NULL);
    assert_int_equal(r.status, 78);
    assert_non_null(strstr(r.err, "token file token is readable by group/others (mode 0644); chmod 600 it"));
    assert_null(strstr(r.err, FAKE_TOKEN));

    run_cli(&r, env, "sweep", "--max-delete-share", FAKE_TOKEN, NULL);
    assert_int_equal(r.status, 78);
    assert_null(strstr(r.err, FAKE_TOKEN));
}

/* A typo in --db must not start a daemon on a new empty database. */
static void run_and_sweep_refuse_missing_database(void **state)
{
    (void)state;
    static result r;
    char *env[] = { "DISCORD_TOKEN=" FAKE_TOKEN, NULL };
    run_cli(&r, env, "run", "--db", "typo/bot.db", "--log-file", "run.log", NULL);
    assert_int_equal(r.status, 66);
    assert_non_null(strstr(r.err, "no such database typo/bot.db; create it with "
                                  "`discord-cleaner migrate --db typo/bot.db`"));
    run_cli(&r, env, "sweep", "--all", "--db", "nope.db", "--log-file", "run.log", NULL);
    assert_int_equal(r.status, 66);
    assert_non_null(strstr(r.err, "no such database nope.db"));
    assert_int_equal(access("nope.db", F_OK), -1);
    run_cli(&r, no_env, "migrate", "--db", "nope.db", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(access("nope.db", F_OK), 0);
}

/* Exactly one line on stderr, none of the secrets anywhere. */
static void assert_one_secret_free_line(const result *r, const char *log, const char *what)
{
    assert_non_null(strstr(r->err, what));
    assert_non_null(strchr(r->err, '\n'));
    assert_string_equal(strchr(r->err, '\n') + 1, "");
    const char *secrets[] = { "pw-S3CRET-16", "pw-OTHER-16", "wrong-pw-16" };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        assert_null(strstr(r->out, secrets[i]));
        assert_null(strstr(r->err, secrets[i]));
        assert_null(strstr(log, secrets[i]));
    }
}

static void run_pg(result *r, char *log, size_t cap, const char *cmd, const char *arg, const char *uri)
{
    char *env[] = { "DISCORD_TOKEN=" FAKE_TOKEN, "PATH=/usr/bin:/bin", NULL };
    unlink("pg.log");
    if (arg)
        run_cli(r, env, cmd, arg, "--db", uri, "--log-file", "pg.log", NULL);
    else
        run_cli(r, env, cmd, "--db", uri, "--log-file", "pg.log", NULL);
    read_all("pg.log", log, cap);
}

/* A PostgreSQL server that cannot be reached: retried for a bounded time
 * (10 s), then one line naming the setting and the fix, exit 69; a URI
 * libpq refuses (an unknown parameter, named): exit 78 at once.  Never the
 * password: not on stdout, stderr or in the log (issue #16). */
static void postgresql_unreachable_or_bad_uri_without_password(void **state)
{
    (void)state;
    static result r;
    static char log[32768];
    const char *refused = "postgresql://bot:pw-S3CRET-16@127.0.0.1:1/bot?password=pw-OTHER-16";
    run_pg(&r, log, sizeof log, "run", NULL, refused);
    assert_int_equal(r.status, 69);
    assert_one_secret_free_line(&r, log, "cannot reach the PostgreSQL server");
    assert_non_null(strstr(r.err, "gave up after"));
    assert_non_null(strstr(r.err, "db: postgresql://bot:***@127.0.0.1:1/bot?password=***: "));
    const char *bad = "postgresql://bot:pw-S3CRET-16@127.0.0.1:1/bot?bogus_param=1";
    const char *cmds[][2] = { { "run", NULL }, { "sweep", "--all" }, { "status", NULL }, { "migrate", NULL } };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        run_pg(&r, log, sizeof log, cmds[i][0], cmds[i][1], bad);
        assert_int_equal(r.status, 78);
        assert_one_secret_free_line(&r, log, "invalid URI query parameter: \"bogus_param\"");
    }
    char *env[] = { "DISCORD_TOKEN=" FAKE_TOKEN, "PATH=/usr/bin:/bin", NULL };
    run_cli(&r, env, "run", "--db", refused, "--print-config", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "db = postgresql://bot:***@127.0.0.1:1/bot?password=***\n"));
    assert_int_equal(access("postgresql:", F_OK), -1);   /* no lock file made for it */
}

/* With the cluster make check starts: a wrong password and a database that
 * does not exist fail at once, exit 78, one line without the password. */
static void postgresql_login_and_database_refused(void **state)
{
    (void)state;
    static result r;
    static char log[32768];
    const char *cluster = getenv("DC_TEST_PG_URI");
    if (!cluster || !cluster[0]) {
        if (getenv("CI") && strcmp(getenv("CI"), "true") == 0)
            fail_msg("DC_TEST_PG_URI is unset under CI: make check starts a PostgreSQL cluster");
        skip();
    }
    const char *at = strchr(cluster, '@'), *slash = at ? strchr(at, '/') : NULL;
    assert_non_null(slash);
    char uri[1024];
    snprintf(uri, sizeof uri, "postgresql://cleaner:wrong-pw-16%.*s", (int)(slash - at), at);
    size_t len = strlen(uri);
    snprintf(uri + len, sizeof uri - len, "%s", slash);
    run_pg(&r, log, sizeof log, "run", NULL, uri);
    assert_int_equal(r.status, 78);
    assert_one_secret_free_line(&r, log, "PostgreSQL refused the login");
    snprintf(uri, sizeof uri, "%.*s/no_such_db_16", (int)(slash - cluster), cluster);
    run_pg(&r, log, sizeof log, "run", NULL, uri);
    assert_int_equal(r.status, 78);
    assert_one_secret_free_line(&r, log, "the database does not exist");
    const char *pw = strchr(strstr(cluster, "//") + 2, ':');   /* the cluster's password: not shown either */
    char secret[128];
    assert_true(pw && pw < at);
    snprintf(secret, sizeof secret, "%.*s", (int)(at - pw - 1), pw + 1);
    assert_null(strstr(r.err, secret));
    assert_null(strstr(log, secret));
}

/* The cluster's password (the URI's) is in no output. */
static void assert_no_password(const result *r, const char *uri)
{
    char pw[128] = "";
    const char *colon = strchr(uri + strlen("postgresql://"), ':');
    const char *at = strchr(uri, '@');
    if (colon && at && colon < at)
        snprintf(pw, sizeof pw, "%.*s", (int)(at - colon - 1), colon + 1);
    assert_true(strlen(pw) >= 8);                      /* the cluster has a real one */
    assert_null(strstr(r->out, pw));
    assert_null(strstr(r->err, pw));
}

/* status and migrate on PostgreSQL, end to end against the test cluster. */
static void postgresql_status_and_migrate(void **state)
{
    (void)state;
    pgfx_need();
    static result r;
    char uri[512], missing[512], wrong[600];
    assert_int_equal(pgfx_fresh(uri, sizeof uri, "cli"), 0);
    run_cli(&r, no_env, "status", "--db", uri, NULL);            /* empty: nothing created */
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "database         postgresql://"));
    assert_non_null(strstr(r.out, ":***@"));
    assert_non_null(strstr(r.out, "version 0, latest"));
    assert_non_null(strstr(r.out, "each migration runs in one transaction"));
    assert_no_password(&r, uri);
    assert_int_equal(pgfx_int(uri, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), 0);
    run_cli(&r, no_env, "migrate", "--db", uri, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "schema migrated from version 0 to"));
    assert_no_password(&r, uri);
    run_cli(&r, no_env, "migrate", "--db", uri, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "nothing to do"));
    /* What a daemon left: a guild's state and an hour-old delete. */
    assert_int_equal(pgfx_exec(uri, "INSERT INTO cleaner_guild_state (guild_id, shard_id, name, last_sweep_ms, "
                                    "last_sweep_removed, last_sweep_result) VALUES "
                                    "(111111111111111111, 2, 'Guild One', 1700000000000, 4, 'ok');"
                                    "INSERT INTO cleaner_audit (at_ms, guild_id, discord_id, reason, rows) VALUES "
                                    "((extract(epoch FROM now()) * 1000)::bigint - 3600000, "
                                    "111111111111111111, 5, 'left_while_offline', 3);"
                                    "INSERT INTO cleaner_session_state VALUES ('gw.0.seq', '42')"), 0);
    run_cli(&r, no_env, "status", "--db", uri, NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "(up to date)"));
    assert_non_null(strstr(r.out, "111111111111111111   Guild One"));
    assert_non_null(strstr(r.out, "2023-11-14T22:13:20Z"));
    assert_non_null(strstr(r.out, "seq 42"));
    assert_non_null(strstr(r.out, "left_while_offline            3"));
    assert_no_password(&r, uri);
    /* A database that does not exist: status refuses to create one, so
     * does migrate (PostgreSQL creates databases with CREATE DATABASE). */
    pgfx_uri_for(missing, sizeof missing, "dc_cli_no_such_db");
    run_cli(&r, no_env, "status", "--db", missing, NULL);
    assert_int_equal(r.status, 66);
    assert_non_null(strstr(r.err, "no database at postgresql://"));
    assert_no_password(&r, uri);
    run_cli(&r, no_env, "migrate", "--db", missing, NULL);
    assert_int_equal(r.status, 78);
    assert_non_null(strstr(r.err, "discord-cleaner migrate: db: postgresql://"));
    assert_non_null(strstr(r.err, "does not exist"));
    assert_no_password(&r, uri);
    /* A wrong password: configuration, and neither password shows. */
    const char *at = strchr(uri, '@'), *colon = strchr(uri + strlen("postgresql://"), ':');
    snprintf(wrong, sizeof wrong, "%.*sWrongPw-16%s", (int)(colon + 1 - uri), uri, at);
    run_cli(&r, no_env, "status", "--db", wrong, NULL);
    assert_int_equal(r.status, 78);
    assert_null(strstr(r.err, "WrongPw-16"));
    assert_no_password(&r, uri);
    pgfx_drop("cli");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(usage_and_help),
        cmocka_unit_test(command_help),
        cmocka_unit_test(version),
        cmocka_unit_test(usage_errors_exit_64),
        cmocka_unit_test(config_errors_exit_78),
        cmocka_unit_test(token_stays_secret),
        cmocka_unit_test(run_and_sweep_refuse_missing_database),
        cmocka_unit_test(postgresql_unreachable_or_bad_uri_without_password),
        cmocka_unit_test(postgresql_login_and_database_refused),
        cmocka_unit_test(postgresql_status_and_migrate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
