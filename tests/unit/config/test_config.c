/* test_config.c - settings: defaults, the config file, the environment,
 * flags, their precedence, the token file, and every error message form. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "config/config_keys.h"
#include "base/log.h"
#include "base/suggest.h"
#include "policy/sweep.h"

/* Looks like a real token (three dot-separated base64 parts), never real. */
#define FAKE_TOKEN "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabCdE.fakefakefakefakefakefakefakefakefake12"

static char tmpdir[64];
static char olddir[4096];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Each test runs in a fresh empty directory, so file names in messages are
 * short and stable ("config.conf:3: ..."). */
static int enter_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dc-test-config-XXXXXX");
    if (!mkdtemp(tmpdir) || !getcwd(olddir, sizeof olddir) || chdir(tmpdir) != 0)
        return -1;
    return 0;
}

static int leave_tmpdir(void **state)
{
    (void)state;
    if (chdir(olddir) != 0)
        return -1;
    return nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* Loads text as config.conf over defaults; returns the result, err filled. */
static dc_err load_text(config *cfg, const char *text, char *err, size_t errlen)
{
    write_file("config.conf", text, 0600);
    assert_int_equal(config_defaults(cfg), DC_OK);
    err[0] = '\0';
    return config_load_file(cfg, "config.conf", err, errlen);
}

/* A one-line file must fail with exactly this message. */
static void expect_file_error(const char *text, const char *message)
{
    config cfg;
    char err[512];
    assert_int_equal(load_text(&cfg, text, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, message);
    config_free(&cfg);
}

static void defaults_are_documented_values(void **state)
{
    (void)state;
    config cfg;
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_null(cfg.token);
    assert_null(cfg.token_file);
    assert_string_equal(cfg.api_base, "https://discord.com/api/v10");
    assert_string_equal(cfg.db, "bot.db");
    assert_string_equal(cfg.log_file, "logs/user_cleanup.log");
    assert_int_equal(cfg.log_level, DCL_INFO);
    assert_int_equal(cfg.compress, COMPRESS_ZLIB_STREAM);
    assert_int_equal(cfg.shard_count, 0);
    assert_true(cfg.interval_hours == 24.0);
    assert_int_equal(cfg.n_guild_intervals, 0);
    assert_true(cfg.reconcile_delay == 60.0);
    assert_int_equal(cfg.batch_size, 1000);
    /* One default per setting: the sweep's fallback for an unset field is
     * the setting's default, not a second number. */
    assert_int_equal(cfg.batch_size, SW_DEFAULT_BATCH_SIZE);
    assert_true(cfg.chunk_timeout * 1000 == SW_DEFAULT_CHUNK_TIMEOUT_MS);
    assert_true(cfg.batch_delay == 0.01);
    assert_true(cfg.max_delete_share == 0.5);
    assert_int_equal(cfg.confirm_sample, 10);
    assert_true(cfg.chunk_timeout == 15.0);
    assert_true(cfg.sweep_wait == 30.0);
    assert_int_equal(cfg.member_source, MEMBER_SOURCE_GATEWAY);
    assert_int_equal(cfg.dry_run, 0);
    assert_true(cfg.legacy_guild_id == 0);
    assert_int_equal(cfg.n_clean_tables, 0);
    assert_int_equal(cfg.audit_retention_days, 90);
    assert_int_equal(cfg.commands, COMMANDS_BOTH);
    assert_string_equal(cfg.slash_command_name, "cleanup");
    assert_string_equal(cfg.prefix, "!");
    assert_true(cfg.admin_permission == 8);   /* ADMINISTRATOR = 1 << 3 */
    assert_int_equal(cfg.n_owner_ids, 0);
    assert_int_equal(cfg.max_message_bytes, 64 * 1024 * 1024);
    config_free(&cfg);
}

static void file_with_comments_quotes_and_dashes(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    const char *text =
        "# discord-cleaner settings\n"
        "\n"
        "   batch-size = 250   # trailing comment\n"
        "db = \"/var/lib/bot/my bot.db\"  # quoted, with a space\n"
        "prefix = 'c#'\n"
        "log_level=debug\n"
        "shards = 2-5/8\n"
        "dry_run = yes\n"
        "commands = off\n"
        "compress = none\n"
        "member_source = rest\n"
        "legacy_guild_id = 81384788765712384\n"
        "clean_tables = xp:user_id:guild_id, economy:member:guild\n"
        "owner_ids = 111, 222,333\n"
        "guild_interval = 81384788765712384:6, 41771983423143937:0.5\n"
        "admin_permission = manage_guild\n"
        "max_message_bytes = 8MiB\n"
        "max_delete_share = 1\n"
        "token_file =   # empty value: unset\n"
        "\t# indented comment\n";
    assert_int_equal(load_text(&cfg, text, err, sizeof err), DC_OK);
    assert_int_equal(cfg.batch_size, 250);
    assert_string_equal(cfg.db, "/var/lib/bot/my bot.db");
    assert_string_equal(cfg.prefix, "c#");
    assert_int_equal(cfg.log_level, DCL_DEBUG);
    assert_int_equal(cfg.shard_first, 2);
    assert_int_equal(cfg.shard_last, 5);
    assert_int_equal(cfg.shard_count, 8);
    assert_int_equal(cfg.dry_run, 1);
    assert_int_equal(cfg.commands, COMMANDS_OFF);
    assert_int_equal(cfg.compress, COMPRESS_NONE);
    assert_int_equal(cfg.member_source, MEMBER_SOURCE_REST);
    assert_true(cfg.legacy_guild_id == UINT64_C(81384788765712384));
    assert_int_equal(cfg.n_clean_tables, 2);
    assert_string_equal(cfg.clean_tables[1].table, "economy");
    assert_string_equal(cfg.clean_tables[1].user_col, "member");
    assert_string_equal(cfg.clean_tables[1].guild_col, "guild");
    assert_int_equal(cfg.n_owner_ids, 3);
    assert_true(cfg.owner_ids[2] == 333);
    assert_int_equal(cfg.n_guild_intervals, 2);
    assert_true(cfg.guild_intervals[1].guild_id == UINT64_C(41771983423143937));
    assert_true(cfg.guild_intervals[1].hours == 0.5);
    assert_true(cfg.admin_permission == 32);
    assert_int_equal(cfg.max_message_bytes, 8 * 1024 * 1024);
    assert_true(cfg.max_delete_share == 1.0);
    assert_null(cfg.token_file);
    config_free(&cfg);
}

static void bad_numbers_and_ranges(void **state)
{
    (void)state;
    expect_file_error("# x\nbatch_size = abc\n",
                      "config.conf:2: batch_size: expected a whole number from 1 to 100000, got 'abc'");
    expect_file_error("batch_size = 0\n",
                      "config.conf:1: batch_size: expected a whole number from 1 to 100000, got '0'");
    expect_file_error("batch_size = 100001\n",
                      "config.conf:1: batch_size: expected a whole number from 1 to 100000, got '100001'");
    expect_file_error("batch_size = 1.5\n",
                      "config.conf:1: batch_size: expected a whole number from 1 to 100000, got '1.5'");
    expect_file_error("interval_hours = 0\n",
                      "config.conf:1: interval_hours: expected a number from 0.01 to 8760, got '0'");
    expect_file_error("chunk_timeout = 0\n",
                      "config.conf:1: chunk_timeout: expected a number from 1 to 600, got '0'");
    expect_file_error("sweep_wait = 3601\n",
                      "config.conf:1: sweep_wait: expected a number from 1 to 3600, got '3601'");
    expect_file_error("batch_delay = inf\n",
                      "config.conf:1: batch_delay: expected a number from 0 to 60, got 'inf'");
    expect_file_error("max_delete_share = 0\n",
                      "config.conf:1: max_delete_share: expected a number greater than 0 and at most 1, got '0'");
    expect_file_error("max_delete_share = 1.01\n",
                      "config.conf:1: max_delete_share: expected a number greater than 0 and at most 1, got '1.01'");
    expect_file_error("max_message_bytes = 2T\n",
                      "config.conf:1: max_message_bytes: expected a size from 4K to 1G "
                      "(a number of bytes, or with suffix K, M or G), got '2T'");
    expect_file_error("dry_run = maybe\n", "config.conf:1: dry_run: expected true or false, got 'maybe'");
    expect_file_error("commands = enabled\n",
                      "config.conf:1: commands: expected both, prefix, slash or off (on means both), got 'enabled'");
    expect_file_error("slash_command_name = Cleanup\n", "config.conf:1: slash_command_name: expected 1 to 32 of "
                      "a-z, 0-9, - and _ (Discord's rule for command names), got 'Cleanup'");
    expect_file_error("slash_command_name = abcdefghijklmnopqrstuvwxyz0123456\n", "config.conf:1: slash_command_name: "
                      "expected 1 to 32 of a-z, 0-9, - and _ (Discord's rule for command names), got "
                      "'abcdefghijklmnopqrstuvwxyz0123456'");
    expect_file_error("slash_command_name = \"clean up\"\n", "config.conf:1: slash_command_name: expected 1 to 32 of "
                      "a-z, 0-9, - and _ (Discord's rule for command names), got 'clean up'");
    expect_file_error("log_level = verbose\n",
                      "config.conf:1: log_level: expected error, warn, info or debug, got 'verbose'");
    expect_file_error("prefix = too-long!!\n",
                      "config.conf:1: prefix: expected 1 to 8 characters without spaces, got 'too-long!!'");
    expect_file_error("prefix = \"a b\"\n",
                      "config.conf:1: prefix: expected 1 to 8 characters without spaces, got 'a b'");
    expect_file_error("admin_permission = OWNER\n",
                      "config.conf:1: admin_permission: expected ADMINISTRATOR, MANAGE_GUILD or a non-zero "
                      "decimal bit mask, got 'OWNER'");
    expect_file_error("api_base = http://discord.com/api/v10\n",
                      "config.conf:1: api_base: expected an https:// URL (http:// only for 127.0.0.1, "
                      "localhost or [::1]), got 'http://discord.com/api/v10'");
}

static void unknown_key_suggests_the_nearest(void **state)
{
    (void)state;
    expect_file_error("\n\nbach_size = 3\n",
                      "config.conf:3: unknown key 'bach_size' (did you mean 'batch_size'?)");
    expect_file_error("log-levl = info\n", "config.conf:1: unknown key 'log-levl' (did you mean 'log_level'?)");
    expect_file_error("colour = blue\n",
                      "config.conf:1: unknown key 'colour' (see 'discord-cleaner help config')");
}

static void bad_shards_specs(void **state)
{
    (void)state;
    static const char *const bad[] = { "3/2", "2-1/4", "0-4/4", "x", "1/", "/4", "1-/4", "-1/4", "0/0",
                                       "1/4/", "auto1", "0/99999" };
    char line[64], message[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(line, sizeof line, "shards = %s\n", bad[i]);
        snprintf(message, sizeof message,
                 "config.conf:1: shards: expected auto, ID/COUNT or FIRST-LAST/COUNT with FIRST <= LAST < COUNT, "
                 "got '%s'", bad[i]);
        expect_file_error(line, message);
    }
    config cfg;
    char err[512];
    assert_int_equal(load_text(&cfg, "shards = 3/4\n", err, sizeof err), DC_OK);
    assert_int_equal(cfg.shard_first, 3);
    assert_int_equal(cfg.shard_last, 3);
    assert_int_equal(cfg.shard_count, 4);
    assert_int_equal(config_set(&cfg, "shards", "auto", err, sizeof err), DC_OK);
    assert_int_equal(cfg.shard_count, 0);
    config_free(&cfg);
}

static void bad_clean_tables(void **state)
{
    (void)state;
    static const char expect[] = "config.conf:1: clean_tables: expected TABLE:USER_COLUMN:GUILD_COLUMN with "
                                 "names of letters, digits and _ (not starting with a digit), got '%s'";
    static const char *const bad[] = { "xp:user_id", "1xp:user_id:guild_id", "xp:user-id:guild_id",
                                       "xp:user_id:guild_id;DROP", "xp::guild_id", "xp:a:b:c", "x\"p:a:b" };
    char line[128], message[512];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(line, sizeof line, "clean_tables = ok:a:b, %s\n", bad[i]);
        snprintf(message, sizeof message, expect, bad[i]);
        expect_file_error(line, message);
    }
    /* More than CONFIG_MAX_CLEAN_TABLES entries. */
    char many[2048] = "clean_tables = ";
    for (int i = 0; i <= CONFIG_MAX_CLEAN_TABLES; i++)
        strcat(many, "t:u:g,");
    strcat(many, "\n");
    expect_file_error(many, "config.conf:1: clean_tables: at most 16 items allowed");
}

static void bad_snowflakes(void **state)
{
    (void)state;
    static const char *const bad[] = { "0", "12a", "-5", "99999999999999999999", "1 2", "0x10",
                                       "9223372036854775808", "18446744073709551615" };
    char line[128], message[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(line, sizeof line, "legacy_guild_id = \"%s\"\n", bad[i]);
        snprintf(message, sizeof message,
                 "config.conf:1: legacy_guild_id: expected a Discord id (digits only, not 0), got '%s'", bad[i]);
        expect_file_error(line, message);
    }
    config ok;
    assert_int_equal(load_text(&ok, "legacy_guild_id = \"9223372036854775807\"\n", message, sizeof message), DC_OK);
    assert_true(ok.legacy_guild_id == (uint64_t)INT64_MAX);
    config_free(&ok);
    expect_file_error("owner_ids = 1,x\n",
                      "config.conf:1: owner_ids: expected Discord user ids (digits only, not 0) separated by "
                      "commas, got 'x'");
    expect_file_error("guild_interval = 5:0\n",
                      "config.conf:1: guild_interval: expected GUILD_ID:HOURS with HOURS from 0.01 to 8760, got '5:0'");
    expect_file_error("guild_interval = 5\n",
                      "config.conf:1: guild_interval: expected GUILD_ID:HOURS with HOURS from 0.01 to 8760, got '5'");
}

static void malformed_lines_name_file_and_line(void **state)
{
    (void)state;
    expect_file_error("batch_size = 5\n\n# ok\nbatch_size 5\n",
                      "config.conf:4: expected 'key = value', found no '='");
    expect_file_error(" = 5\n", "config.conf:1: missing key before '='");
    expect_file_error("db = \"bot.db\n", "config.conf:1: db: unterminated quote");
    expect_file_error("db = \"bot.db\" extra\n", "config.conf:1: db: unexpected text after the closing quote");
    expect_file_error("db = \n", "config.conf:1: db: must not be empty");

    config cfg;
    char err[512];
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_file(&cfg, "missing.conf", err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "cannot read config file missing.conf: No such file or directory");
    config_free(&cfg);
}

static void rejected_value_leaves_setting_unchanged(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_set(&cfg, "clean_tables", "a:b:c", err, sizeof err), DC_OK);
    assert_int_equal(config_set(&cfg, "clean_tables", "d:e:f, bad", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(cfg.n_clean_tables, 1);
    assert_string_equal(cfg.clean_tables[0].table, "a");
    assert_int_equal(config_set(&cfg, "shards", "1-2/3", err, sizeof err), DC_OK);
    assert_int_equal(config_set(&cfg, "shards", "1-5/3", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(cfg.shard_last, 2);
    assert_int_equal(config_set(&cfg, "db", "", err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(cfg.db, "bot.db");
    config_free(&cfg);
}

/* ---- precedence ---------------------------------------------------------- */

static dc_err load_all(config *cfg, char **argv, char *const *envp, char **rest, int *n_rest, char *err)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return config_load_all(cfg, argc, argv, envp, NULL, rest, n_rest, err, 512);
}

static void precedence_defaults_file_env_flags(void **state)
{
    (void)state;
    write_file("p.conf", "batch_size = 100\ninterval_hours = 2\nprefix = ?\ndb = file.db\n", 0600);
    char *envp[] = { "CLEANER_BATCH_SIZE=200", "CLEANER_INTERVAL_HOURS=3", "HOME=/nowhere", NULL };
    /* --config comes last on purpose: the file still applies first. */
    char *argv[] = { "--batch-size", "300", "--config", "p.conf", NULL };
    char *rest[8], err[512];
    int n_rest = -1;
    config cfg;
    assert_int_equal(load_all(&cfg, argv, envp, rest, &n_rest, err), DC_OK);
    assert_int_equal(cfg.batch_size, 300);          /* flag */
    assert_true(cfg.interval_hours == 3.0);         /* env */
    assert_string_equal(cfg.prefix, "?");           /* file */
    assert_string_equal(cfg.db, "file.db");         /* file */
    assert_int_equal(cfg.confirm_sample, 10);       /* default */
    assert_int_equal(n_rest, 0);
    config_free(&cfg);

    /* CLEANER_CONFIG names the file when there is no --config. */
    char *envp2[] = { "CLEANER_CONFIG=p.conf", NULL };
    char *argv2[] = { NULL };
    assert_int_equal(load_all(&cfg, argv2, envp2, rest, &n_rest, err), DC_OK);
    assert_int_equal(cfg.batch_size, 100);
    config_free(&cfg);
}

static void legacy_and_discord_env_names(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    char *envp[] = { "CLEANUP_INTERVAL_HOURS=12", "CLEANUP_BATCH_SIZE=50", "CLEANUP_DELAY=0.5",
                     "DISCORD_API_BASE=http://127.0.0.1:8080/api/v10/", "DISCORD_TOKEN=" FAKE_TOKEN,
                     "CLEANER_DRY_RUN=on", "CLEANER_LOG_FILE=", NULL };
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_env(&cfg, envp, err, sizeof err), DC_OK);
    assert_true(cfg.interval_hours == 12.0);
    assert_int_equal(cfg.batch_size, 50);
    assert_true(cfg.batch_delay == 0.5);
    assert_string_equal(cfg.api_base, "http://127.0.0.1:8080/api/v10");   /* trailing '/' dropped */
    assert_string_equal(cfg.token, FAKE_TOKEN);
    assert_int_equal(cfg.dry_run, 1);
    assert_string_equal(cfg.log_file, "logs/user_cleanup.log");   /* empty = unset, not cleared */

    /* The new name wins over the legacy one whatever the order. */
    char *both[] = { "CLEANER_BATCH_SIZE=70", "CLEANUP_BATCH_SIZE=60", NULL };
    assert_int_equal(config_load_env(&cfg, both, err, sizeof err), DC_OK);
    assert_int_equal(cfg.batch_size, 70);
    config_free(&cfg);
}

static void env_errors_name_the_variable(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    char *typo[] = { "CLEANER_BACH_SIZE=5", NULL };
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_env(&cfg, typo, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "environment variable CLEANER_BACH_SIZE: unknown setting "
                             "(did you mean CLEANER_BATCH_SIZE?)");
    char *bad[] = { "CLEANUP_BATCH_SIZE=lots", NULL };
    assert_int_equal(config_load_env(&cfg, bad, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "environment variable CLEANUP_BATCH_SIZE: expected a whole number from 1 to "
                             "100000, got 'lots'");
    config_free(&cfg);
}

/* ---- flags --------------------------------------------------------------- */

static const config_flag replay_like[] = { { "--expect", 1 }, { "--speed", 1 }, { "--all", 0 }, { NULL, 0 } };

static void flags_forms_and_passthrough(void **state)
{
    (void)state;
    config cfg;
    char err[512], *rest[16];
    int n_rest = 0;
    char *argv[] = { "fixture.jsonl", "--dry-run", "--batch-size=42", "--expect", "out.json", "--log-level",
                     "warn", "--speed=2", "--all", "--", "--batch-size", "7", NULL };
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_args(&cfg, 12, argv, replay_like, rest, &n_rest, err, sizeof err), DC_OK);
    assert_int_equal(cfg.dry_run, 1);
    assert_int_equal(cfg.batch_size, 42);
    assert_int_equal(cfg.log_level, DCL_WARN);
    const char *want[] = { "fixture.jsonl", "--expect", "out.json", "--speed", "2", "--all", "--",
                           "--batch-size", "7" };
    assert_int_equal(n_rest, 9);
    for (int i = 0; i < 9; i++)
        assert_string_equal(rest[i], want[i]);
    assert_null(rest[9]);

    char *off[] = { "--no-dry-run", "--dry-run=false", NULL };
    assert_int_equal(config_load_args(&cfg, 1, off, NULL, rest, &n_rest, err, sizeof err), DC_OK);
    assert_int_equal(cfg.dry_run, 0);
    config_set(&cfg, "dry_run", "true", err, sizeof err);
    assert_int_equal(config_load_args(&cfg, 1, off + 1, NULL, rest, &n_rest, err, sizeof err), DC_OK);
    assert_int_equal(cfg.dry_run, 0);
    config_free(&cfg);
}

static void expect_args_error(char **argv, int argc, const char *message)
{
    config cfg;
    char err[512], *rest[16];
    int n_rest;
    /* a command line that cannot be read is a usage error; a wrong value a configuration error */
    dc_err want = strstr(message, "expected") ? DC_ERR_CONFIG : DC_ERR_USAGE;
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_args(&cfg, argc, argv, replay_like, rest, &n_rest, err, sizeof err), want);
    assert_string_equal(err, message);
    config_free(&cfg);
}

static void flag_errors(void **state)
{
    (void)state;
    char *a[] = { "--bach-size", "5" };
    expect_args_error(a, 2, "unknown option '--bach-size' (did you mean '--batch-size'?)");
    char *b[] = { "--expct", "x" };
    expect_args_error(b, 2, "unknown option '--expct' (did you mean '--expect'?)");
    char *c[] = { "--batch-size" };
    expect_args_error(c, 1, "option '--batch-size' needs a value");
    char *d[] = { "--batch-size", "--dry-run" };
    expect_args_error(d, 2, "option '--batch-size' needs a value");
    char *e[] = { "--batch-size", "abc" };
    expect_args_error(e, 2, "option '--batch-size': expected a whole number from 1 to 100000, got 'abc'");
    char *f[] = { "--all=yes" };
    expect_args_error(f, 1, "option '--all' takes no value");
    char *g[] = { "--no-batch-size" };
    expect_args_error(g, 1, "unknown option '--no-batch-size' (did you mean '--batch-size'?)");
    char *h[] = { "-x" };
    expect_args_error(h, 1, "unknown option '-x'");
    char *i[] = { "--expect" };
    expect_args_error(i, 1, "option '--expect' needs a value");
    char *j[] = { "--config" };
    expect_args_error(j, 1, "option '--config' needs a file name");
}

/* ---- token ---------------------------------------------------------------- */

static void token_file_permissions_and_trimming(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    assert_int_equal(config_defaults(&cfg), DC_OK);
    write_file("token", "  Bot " FAKE_TOKEN " \n\n", 0644);
    assert_int_equal(config_set(&cfg, "token-file", "token", err, sizeof err), DC_OK);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "token file token is readable by group/others (mode 0644); chmod 600 it");
    assert_null(cfg.token);

    assert_int_equal(chmod("token", 0640), 0);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "token file token is readable by group/others (mode 0640); chmod 600 it");

    assert_int_equal(chmod("token", 0600), 0);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_OK);
    assert_string_equal(cfg.token, FAKE_TOKEN);

    /* A token already set wins; the file is not even opened. */
    assert_int_equal(config_set(&cfg, "token_file", "does-not-exist", err, sizeof err), DC_OK);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_OK);
    assert_string_equal(cfg.token, FAKE_TOKEN);
    config_free(&cfg);

    assert_int_equal(config_defaults(&cfg), DC_OK);
    write_file("empty", " \n", 0600);
    config_set(&cfg, "token_file", "empty", err, sizeof err);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "token file empty is empty");
    config_set(&cfg, "token_file", "absent", err, sizeof err);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "cannot read token file absent: No such file or directory");
    config_set(&cfg, "token_file", ".", err, sizeof err);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "token file . is not a regular file");
    config_free(&cfg);
}

static void config_file_holding_token_must_be_private(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    write_file("config.conf", "token = " FAKE_TOKEN "\n", 0644);
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_file(&cfg, "config.conf", err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "config.conf holds the token but is readable by group/others (mode 0644); "
                             "chmod 600 it or move the token to token_file");
    assert_null(strstr(err, FAKE_TOKEN));
    config_free(&cfg);
    /* Without a token, a world-readable config file is fine. */
    write_file("config.conf", "batch_size = 3\n", 0644);
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_file(&cfg, "config.conf", err, sizeof err), DC_OK);
    config_free(&cfg);
}

static void token_never_in_error_messages(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    assert_int_equal(config_defaults(&cfg), DC_OK);

    /* Pasted into the wrong key. */
    assert_int_equal(config_set(&cfg, "batch_size", FAKE_TOKEN, err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, FAKE_TOKEN));
    assert_non_null(strstr(err, "not shown"));
    assert_int_equal(config_set(&cfg, "prefix", FAKE_TOKEN, err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, FAKE_TOKEN));

    /* A malformed token. */
    assert_int_equal(config_set(&cfg, "token", "abc " FAKE_TOKEN, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "token: contains spaces or control characters (value not shown)");

    /* A config line that is only the token, and a token line with junk. */
    write_file("config.conf", FAKE_TOKEN "\n", 0600);
    assert_int_equal(config_load_file(&cfg, "config.conf", err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, FAKE_TOKEN));
    assert_null(strstr(err, "MTIz"));
    write_file("config.conf", FAKE_TOKEN " = \"x\n", 0600);
    assert_int_equal(config_load_file(&cfg, "config.conf", err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "config.conf:1: unterminated quote");
    write_file("config.conf", "token = \"" FAKE_TOKEN "\" junk\n", 0600);
    assert_int_equal(config_load_file(&cfg, "config.conf", err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, FAKE_TOKEN));

    /* As a flag value of the wrong option, and in a token file. */
    char *argv[] = { "--max-delete-share", FAKE_TOKEN };
    char *rest[4];
    int n_rest;
    assert_int_equal(config_load_args(&cfg, 2, argv, NULL, rest, &n_rest, err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, FAKE_TOKEN));
    write_file("token", FAKE_TOKEN "\n" FAKE_TOKEN "\n", 0600);
    config_set(&cfg, "token_file", "token", err, sizeof err);
    assert_int_equal(config_resolve_token(&cfg, err, sizeof err), DC_ERR_CONFIG);
    assert_string_equal(err, "token file token contains spaces or control characters (value not shown)");

    /* A short value that equals a registered secret is redacted too. */
    log_add_secret("s3cr3t-value");
    assert_int_equal(config_set(&cfg, "compress", "s3cr3t-value", err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, "s3cr3t-value"));
    config_free(&cfg);

    /* The dump shows only whether a token is set. */
    assert_int_equal(config_defaults(&cfg), DC_OK);
    config_set(&cfg, "token", FAKE_TOKEN, err, sizeof err);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_dump(&cfg, out);
    fclose(out);
    assert_null(strstr(text, FAKE_TOKEN));
    assert_non_null(strstr(text, "token = (set)\n"));
    free(text);
    config_free(&cfg);
}

/* ---- printing -------------------------------------------------------------- */

/* The dump shows a PostgreSQL db URI without its password (issue #16). */
static void dump_hides_db_password(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_set(&cfg, "db", "postgresql://bot:pw-s3cr3t@db.example:5432/bot", err, sizeof err),
                     DC_OK);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_dump(&cfg, out);
    fclose(out);
    assert_null(strstr(text, "pw-s3cr3t"));
    assert_non_null(strstr(text, "db = postgresql://bot:***@db.example:5432/bot\n"));
    free(text);
    config_free(&cfg);
}

/* A dump (minus the token line) reads back to the same settings. */
static void dump_reads_back(void **state)
{
    (void)state;
    config cfg;
    char err[512];
    assert_int_equal(load_text(&cfg,
                               "shards = 1-2/4\nprefix = \"#\"\nclean_tables = a:b:c,d:e:f\nowner_ids = 5,6\n"
                               "guild_interval = 7:1.25\nmax_message_bytes = 12345\nadmin_permission = 40\n"
                               "dry_run = on\nlegacy_guild_id = 99\nbatch_delay = 0.125\n",
                               err, sizeof err),
                     DC_OK);
    char *first = NULL, *second = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&first, &len);
    config_dump(&cfg, out);
    fclose(out);
    config_free(&cfg);

    assert_non_null(strstr(first, "token = (unset)\n"));
    write_file("dump.conf", strchr(first, '\n') + 1, 0600);   /* drop the token line */
    assert_int_equal(config_defaults(&cfg), DC_OK);
    assert_int_equal(config_load_file(&cfg, "dump.conf", err, sizeof err), DC_OK);
    out = open_memstream(&second, &len);
    config_dump(&cfg, out);
    fclose(out);
    assert_string_equal(first, second);
    assert_non_null(strstr(second, "prefix = \"#\"\n"));
    assert_non_null(strstr(second, "admin_permission = 40\n"));
    free(first);
    free(second);
    config_free(&cfg);
}

/* commands: the four modes, the old on/off spellings, and the dump. */
static void commands_modes_and_old_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        config_commands want;
        const char *shown;
    } cases[] = {
        { "both", COMMANDS_BOTH, "both" },     { "prefix", COMMANDS_PREFIX, "prefix" },
        { "Slash", COMMANDS_SLASH, "slash" },  { "off", COMMANDS_OFF, "off" },
        { "on", COMMANDS_BOTH, "both" },       { "true", COMMANDS_BOTH, "both" },
        { "no", COMMANDS_OFF, "off" },
    };
    char err[256], buf[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config cfg;
        assert_int_equal(config_defaults(&cfg), DC_OK);
        assert_int_equal(config_set(&cfg, "commands", cases[i].text, err, sizeof err), DC_OK);
        assert_int_equal(cfg.commands, cases[i].want);
        config_key_format(&cfg, config_key_find("commands"), buf, sizeof buf);
        assert_string_equal(buf, cases[i].shown);
        assert_int_equal(config_set(&cfg, "slash-command-name", "dc_clean-2", err, sizeof err), DC_OK);
        config_key_format(&cfg, config_key_find("slash_command_name"), buf, sizeof buf);
        assert_string_equal(buf, "dc_clean-2");
        assert_int_equal(config_set(&cfg, "slash_command_name", "", err, sizeof err), DC_ERR_CONFIG);
        assert_string_equal(cfg.slash_command_name, "dc_clean-2");   /* a refused value changes nothing */
        config_free(&cfg);
    }
}

static void help_lists_every_key(void **state)
{
    (void)state;
    static const char *const flags[] = {
        "--token TOKEN", "--token-file FILE", "--api-base URL", "--db FILE", "--log-file FILE",
        "--log-level LEVEL", "--compress MODE", "--shards SPEC", "--interval-hours HOURS",
        "--guild-interval LIST", "--reconcile-delay SECONDS", "--batch-size N", "--batch-delay SECONDS",
        "--max-delete-share SHARE", "--confirm-sample N", "--member-source SOURCE", "--dry-run, --no-dry-run",
        "--legacy-guild-id ID", "--clean-tables LIST", "--audit-retention-days DAYS", "--commands both|prefix|slash|off",
        "--prefix TEXT", "--admin-permission PERM", "--owner-ids IDS", "--max-message-bytes BYTES",
        "--journal-max-writes N", "--slash-command-name NAME", "--config FILE",
    };
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    config_print_help(out);
    fclose(out);
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        assert_non_null(strstr(text, flags[i]));
    assert_non_null(strstr(text, "[batch_size = 1000; env CLEANER_BATCH_SIZE, CLEANUP_BATCH_SIZE]"));
    free(text);

    out = open_memstream(&text, &len);
    config_print_markdown(out);
    fclose(out);
    size_t rows = 0;
    for (const char *p = text; (p = strstr(p, "\n| `")) != NULL; p++)
        rows++;
    assert_int_equal(rows, config_key_count);   /* one row per key */
    assert_non_null(strstr(text, "| key | default | range | env | SIGHUP | meaning |"));
    assert_non_null(strstr(text, "| `batch_delay` | `0.01` | 0..60 | `CLEANER_BATCH_DELAY`, `CLEANUP_DELAY` | reloaded |"));
    assert_non_null(strstr(text, "| `db` | `bot.db` | path | `CLEANER_DB` | restart |"));
    assert_non_null(strstr(text, "| `log_level` | `info` | error, warn, info, debug |"));
    assert_non_null(strstr(text, "| `commands` | `both` | both,prefix,slash,off |"));
    assert_non_null(strstr(text, "| `max_message_bytes` | `64M` | 4096..1073741824 bytes"));
    assert_non_null(strstr(text, "| `db` | `bot.db` | path |"));
    free(text);
}

static void suggestions(void **state)
{
    (void)state;
    assert_int_equal(suggest_distance("", ""), 0);
    assert_int_equal(suggest_distance("kitten", "sitting"), 3);
    assert_int_equal(suggest_distance("bach_size", "batch_size"), 1);
    assert_int_equal(suggest_distance("rnu", "run"), 1);   /* a swap is one edit */
    assert_true(suggest_is_close("rnu", "run"));
    assert_true(suggest_is_close("swep", "sweep"));
    assert_false(suggest_is_close("colour", "commands"));
}

/* The token's variables are overwritten where they lie (what
 * /proc/PID/environ shows), others are left alone, and the process can no
 * longer dump core. */
static void token_env_overwritten_and_not_dumpable(void **state)
{
    (void)state;
    char *env[] = { strdup("HOME=/root"), strdup("DISCORD_TOKEN=MTIz.abc.def"),
                    strdup("CLEANER_TOKEN=Bot xyz"), strdup("DISCORD_TOKENX=keep"), NULL };
    config_protect_token(env);
    assert_string_equal(env[0], "HOME=/root");
    assert_string_equal(env[1], "DISCORD_TOKEN=");
    assert_int_equal(env[1][strlen("DISCORD_TOKEN=") + 3], 0);
    assert_string_equal(env[2], "CLEANER_TOKEN=");
    assert_string_equal(env[3], "DISCORD_TOKENX=keep");
    assert_int_equal(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
    for (int i = 0; env[i]; i++)
        free(env[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_documented_values),
        cmocka_unit_test_setup_teardown(file_with_comments_quotes_and_dashes, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(bad_numbers_and_ranges, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(unknown_key_suggests_the_nearest, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(bad_shards_specs, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(bad_clean_tables, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(bad_snowflakes, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(malformed_lines_name_file_and_line, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test(rejected_value_leaves_setting_unchanged),
        cmocka_unit_test_setup_teardown(precedence_defaults_file_env_flags, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test(legacy_and_discord_env_names),
        cmocka_unit_test(env_errors_name_the_variable),
        cmocka_unit_test(flags_forms_and_passthrough),
        cmocka_unit_test(flag_errors),
        cmocka_unit_test_setup_teardown(token_file_permissions_and_trimming, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(config_file_holding_token_must_be_private, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(token_never_in_error_messages, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test_setup_teardown(dump_reads_back, enter_tmpdir, leave_tmpdir),
        cmocka_unit_test(dump_hides_db_password),
        cmocka_unit_test(help_lists_every_key),
        cmocka_unit_test(commands_modes_and_old_spellings),
        cmocka_unit_test(suggestions),
        cmocka_unit_test(token_env_overwritten_and_not_dumpable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
