/* main.c - the command line: discord-cleaner COMMAND [options].
 *
 * main only routes: it finds the command, loads the settings (defaults <
 * file < environment < flags), opens the log for the commands that run for
 * a while, and hands the command its own flags.  Exit statuses come from
 * dc_err_exit_status (sysexits: 64 usage, 78 config, 69 unavailable, 70
 * internal) or from the command itself. */
#include <cJSON.h>
#include <curl/curl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli/db_cli.h"
#include "cli/help_dist.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/daemon_reload.h"
#include "base/log.h"
#include "replay/replay.h"
#include "base/suggest.h"
#include "cli/sweep_cli.h"
#include "store/store.h"
#include "base/version.h"

extern char **environ;

typedef int (*command_fn)(const config *cfg, int argc, char **argv);

typedef struct {
    const char *name;
    command_fn run;            /* NULL: version, which needs no settings */
    const config_flag *flags;  /* the command's own options */
    int max_positional;
    int needs_token;
    int opens_log;             /* long-running: log to log_file */
    const char *synopsis;
    const char *brief;         /* one line for the command list */
    const char *summary;
    const char *options_help;  /* the command's own options, one per line */
} command;

#define PRINT_CONFIG_FLAG { "--print-config", 0 }
#define COMMON_OPTIONS_HELP                                                     \
    "  --print-config    print the effective settings (token as (set)) and exit\n" \
    "  -h, --help        show this help\n"

static int run_migrate(const config *cfg, int argc, char **argv)
{
    (void)argc, (void)argv;
    return db_cli_migrate(cfg->db, cfg->legacy_guild_id, stdout);
}

static int run_status(const config *cfg, int argc, char **argv)
{
    int json = 0;
    for (int i = 0; i < argc; i++)
        json |= strcmp(argv[i], "--json") == 0;
    return db_cli_status(cfg->db, json, stdout);
}

static const config_flag run_flags[] = { { "--record", 1 }, { "--record-decoded", 0 }, PRINT_CONFIG_FLAG, { NULL, 0 } };
static const config_flag replay_flags[] = { { "--db", 1 },     { "--expect", 1 }, { "--write-expect", 1 },
                                            { "--speed", 1 },  { "--realtime", 0 }, PRINT_CONFIG_FLAG,
                                            { NULL, 0 } };
static const config_flag sweep_flags[] = { { "--guild", 1 }, { "--all", 0 }, { "--force", 0 },
                                           PRINT_CONFIG_FLAG, { NULL, 0 } };
static const config_flag plain_flags[] = { PRINT_CONFIG_FLAG, { NULL, 0 } };
static const config_flag status_flags[] = { { "--json", 0 }, PRINT_CONFIG_FLAG, { NULL, 0 } };

static const command commands[] = {
    { "run", daemon_run, run_flags, 0, 1, 1, "run [--record FILE] [settings]",
      "connect to Discord and clean on events and on schedule",
      "Connect to Discord and keep the database clean: delete a member's rows when they\n"
      "leave, a guild's rows when the bot is removed, and sweep on schedule.",
      "  --record FILE     also write the gateway session (first shard) to FILE, token\n"
      "                    redacted, for 'discord-cleaner replay'\n"
      "  --record-decoded  write compressed messages inflated (default: raw, base64)\n" },
    { "replay", replay_main, replay_flags, 1, 0, 0, "replay FIXTURE [--db PATH] [--dry-run] [--realtime | --speed X] [--expect FILE] [settings]",
      "feed a recorded gateway session through the same code path",
      "Feed a recorded gateway session through the same code path as 'run', on a\n"
      "virtual clock; REST replies are captured, nothing goes to the network.",
      "  --db PATH         database to replay against (a COPY; default: a scratch one);\n"
      "                    the configured db is never used\n"
      "  --expect FILE     compare the outcome with FILE; exit 1 with a diff on a difference\n"
      "  --write-expect FILE  write the outcome as an expectation file (review it first)\n"
      "  --realtime        wait as long as the recording did (default: no waiting)\n"
      "  --speed X         replay X times faster than recorded\n" },
    { "migrate", run_migrate, plain_flags, 0, 0, 0, "migrate [settings]", "bring the database schema up to date",
      "Bring the database schema up to date.  A legacy single-guild users table is\n"
      "backed up first and its rows assigned to legacy_guild_id.",
      "" },
    { "sweep", sweep_cli_main, sweep_flags, 0, 1, 1, "sweep (--guild ID | --all) [--force] [settings]",
      "run one reconciliation sweep now, then exit",
      "Run one reconciliation sweep now and exit.",
      "  --guild ID        sweep this guild\n"
      "  --all             sweep every guild the bot is in\n"
      "  --force           delete even when more than max_delete_share of rows would go\n" },
    { "status", run_status, status_flags, 0, 0, 0, "status [--json] [settings]",
      "show schema version, guilds, rows and last sweeps",
      "Show the schema version, guilds, row counts, pending departures and the last sweeps.",
      "  --json            the same facts as one JSON document\n" },
    { "version", NULL, NULL, 0, 0, 0, "version", "print the version and the linked library versions",
      "Print the version of discord-cleaner and of the libraries it is linked with.", "" },
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* ---- help ---------------------------------------------------------------- */

static void print_usage(FILE *out)
{
    fputs("Usage: discord-cleaner COMMAND [options]\n\n"
          "Keeps a Discord bot's SQLite database free of users who left.\n\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].brief);
    fputs("\nRun 'discord-cleaner COMMAND --help' for a command's options and\n"
          "'discord-cleaner help config' for every setting.\n"
          "Exit status: 0 ok, 64 usage (a command line that cannot be read: unknown\n"
          "option or command, missing value, stray argument), 66 no such database or\n"
          "guild, 69 service unavailable, 70 internal error, 75 a sweep did not\n"
          "complete (retry), 77 bot token rejected, 78 configuration error (a wrong\n"
          "value, whether given as a flag, in the environment or in the file;\n"
          "intents, shards).  -V is --version.\n",
          out);
}

static void print_command_help(const command *c, FILE *out)
{
    fprintf(out, "Usage: discord-cleaner %s\n\n%s\n\n", c->synopsis, c->summary);
    if (!c->run) {
        fputs("Options:\n  -h, --help        show this help\n", out);
        return;
    }
    fprintf(out, "Options:\n%s%s\n", c->options_help, COMMON_OPTIONS_HELP);
    config_print_help(out);
}

static int print_version(FILE *out)
{
    fprintf(out, "discord-cleaner %s\n", DC_VERSION);
    fprintf(out, "  libwebsockets %s\n", lws_get_library_version());
    fprintf(out, "  %s\n", curl_version());
    fprintf(out, "  %s\n", store_backend_versions());
    fprintf(out, "  cJSON %s\n", cJSON_Version());
    fprintf(out, "  zlib %s\n", zlibVersion());
    return 0;
}

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *near = NULL;
    for (size_t i = 0; i < N_COMMANDS && !near; i++)
        if (suggest_is_close(name, commands[i].name))
            near = commands[i].name;
    if (near)
        fprintf(stderr, "discord-cleaner: unknown command '%s' (did you mean '%s'?)\n", name, near);
    else
        fprintf(stderr, "discord-cleaner: unknown command '%s' (see 'discord-cleaner --help')\n", name);
    return dc_err_exit_status(DC_ERR_USAGE);
}

/* help man | help completion: the shipped documents (help_dist.c, #18). */
static int help_dist(const char *what)
{
    help_dist_cmd docs[N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++)
        docs[i] = (help_dist_cmd){ commands[i].name, commands[i].synopsis, commands[i].summary,
                                   commands[i].options_help, commands[i].flags };
    if (strcmp(what, "man") == 0)
        help_dist_man(stdout, docs, N_COMMANDS);
    else
        help_dist_completion(stdout, docs, N_COMMANDS);
    return 0;
}

/* discord-cleaner help [COMMAND | config [--markdown | --example] | man | completion] */
static int help_command(int argc, char **argv)
{
    if (argc == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[0], "man") == 0 || strcmp(argv[0], "completion") == 0)
        return help_dist(argv[0]);
    if (strcmp(argv[0], "config") == 0) {
        if (argc > 1 && strcmp(argv[1], "--markdown") == 0)
            config_print_markdown(stdout);
        else if (argc > 1 && strcmp(argv[1], "--example") == 0)
            config_print_example(stdout);
        else
            config_print_help(stdout);
        return 0;
    }
    const command *c = find_command(argv[0]);
    if (!c)
        return unknown_command(argv[0]);
    print_command_help(c, stdout);
    return 0;
}

/* ---- running a command --------------------------------------------------- */

static int is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/* -h / --help anywhere before "--" wins over everything else, so help works
 * even when the settings are broken. */
static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (is_help(argv[i]))
            return 1;
    return 0;
}

static const config_flag *own_flag(const command *c, const char *arg)
{
    for (const config_flag *f = c->flags; f && f->name; f++)
        if (strcmp(f->name, arg) == 0)
            return f;
    return NULL;
}

/* Drops --print-config from rest (main's own flag) and counts positionals.
 * Returns the first positional beyond the command's limit, or NULL. */
static const char *strip_rest(const command *c, char **rest, int *n_rest, int *print_config)
{
    int out = 0, positionals = 0, after_dashes = 0;
    const char *extra = NULL;
    for (int i = 0; i < *n_rest; i++) {
        const config_flag *f = after_dashes ? NULL : own_flag(c, rest[i]);
        if (f && strcmp(f->name, "--print-config") == 0) {
            *print_config = 1;
            continue;
        }
        rest[out++] = rest[i];
        if (f && f->takes_value && i + 1 < *n_rest)
            rest[out++] = rest[++i];
        else if (!after_dashes && strcmp(rest[i], "--") == 0)
            after_dashes = 1;
        else if (!f && ++positionals > c->max_positional && !extra)
            extra = rest[i];
    }
    rest[out] = NULL;
    *n_rest = out;
    return extra;
}

/* Every error is one line; a usage error names where the help is. */
static int fail(const command *c, dc_err rc, const char *msg)
{
    if (rc == DC_ERR_USAGE)
        fprintf(stderr, "discord-cleaner %s: %s; see 'discord-cleaner %s --help'\n", c->name, msg, c->name);
    else
        fprintf(stderr, "discord-cleaner %s: %s\n", c->name, msg);
    return dc_err_exit_status(rc);
}

static int run_loaded(const command *c, config *cfg, int argc, char **argv)
{
    if (c->needs_token && !cfg->token)
        return fail(c, DC_ERR_CONFIG,
                    "no bot token: set DISCORD_TOKEN, or token_file in the config file "
                    "(see 'discord-cleaner help config')");
    if (c->opens_log) {
        log_set_format((dc_log_format)cfg->log_format);
        dc_err rc = log_open(cfg->log_file, (dc_log_level)cfg->log_level, -1);
        if (rc != DC_OK)
            return dc_err_exit_status(rc);   /* log_open said why on stderr */
    }
    int status = c->run(cfg, argc, argv);
    if (c->opens_log)
        log_close();
    return status;
}

static int run_command(const command *c, int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        print_command_help(c, stdout);
        return 0;
    }
    if (!c->run) {
        if (argc > 0)
            return fail(c, DC_ERR_USAGE, "takes no arguments");
        return print_version(stdout);
    }
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return fail(c, DC_ERR_NOMEM, "out of memory");
    config cfg;
    char err[1024];
    int n_rest = 0, print_config = 0, status;
    dc_err rc = config_load_all(&cfg, argc, argv, environ, c->flags, rest, &n_rest, err, sizeof err);
    config_protect_token(environ);    /* read once: out of /proc/PID/environ and core files */
    const char *extra = rc == DC_OK ? strip_rest(c, rest, &n_rest, &print_config) : NULL;
    if (rc != DC_OK) {
        status = fail(c, rc, err);
    } else if (extra) {
        snprintf(err, sizeof err, "unexpected argument '%.64s'", extra);
        status = fail(c, DC_ERR_USAGE, err);
    } else if (print_config) {
        config_dump(&cfg, stdout);
        status = 0;
    } else {
        if (c->run == daemon_run)
            daemon_reload_source(argc, argv, c->flags);   /* SIGHUP reads the settings again */
        status = run_loaded(c, &cfg, n_rest, rest);
    }
    config_free(&cfg);
    free(rest);
    return status;
}

int main(int argc, char **argv)
{
    /* Before any store call: the SQLite backend turns off the library's
     * allocation statistics (a fifth of the CPU of deleting one member). */
    store_global_init();
    if (argc < 2) {
        print_usage(stderr);
        return dc_err_exit_status(DC_ERR_USAGE);
    }
    const char *first = argv[1];
    if (is_help(first)) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0)
        return print_version(stdout);
    if (strcmp(first, "help") == 0)
        return help_command(argc - 2, argv + 2);
    if (first[0] == '-') {
        fprintf(stderr, "discord-cleaner: unknown option '%.64s' before the command "
                        "(options go after it; see 'discord-cleaner --help')\n", first);
        return dc_err_exit_status(DC_ERR_USAGE);
    }
    const command *c = find_command(first);
    return c ? run_command(c, argc - 2, argv + 2) : unknown_command(first);
}
