/* config.h - the daemon's settings.
 *
 * Precedence: defaults < config file (--config FILE) < environment
 * (DISCORD_TOKEN, DISCORD_API_BASE, CLEANER_<KEY>, legacy CLEANUP_*) < flags
 * (--key-with-dashes VALUE).  Key names are fixed (README "Configuration"). */
#ifndef DC_CONFIG_H
#define DC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "base/err.h"

#define CONFIG_MAX_CLEAN_TABLES 16
#define CONFIG_MAX_GUILD_INTERVALS 64
#define CONFIG_MAX_OWNER_IDS 16

typedef struct {
    char table[64];
    char user_col[64];
    char guild_col[64];
} config_clean_table;

typedef struct {
    uint64_t guild_id;
    double hours;
} config_guild_interval;

typedef enum { COMPRESS_ZLIB_STREAM = 0, COMPRESS_NONE } config_compress;
typedef enum { MEMBER_SOURCE_GATEWAY = 0, MEMBER_SOURCE_REST } config_member_source;
/* The `commands` setting as bits: test cfg->commands & COMMANDS_PREFIX (the
 * !cleanup_* messages) or & COMMANDS_SLASH (the /cleanup command). */
typedef enum {
    COMMANDS_OFF = 0,
    COMMANDS_PREFIX = 1,
    COMMANDS_SLASH = 2,
    COMMANDS_BOTH = COMMANDS_PREFIX | COMMANDS_SLASH
} config_commands;

typedef struct {
    char *token;              /* secret; never logged */
    char *token_file;
    char *api_base;           /* default https://discord.com/api/v10 */
    char *db;                 /* default bot.db */
    char *log_file;           /* default logs/user_cleanup.log */
    int log_level;            /* dc_log_level, default DCL_INFO */
    int log_format;           /* dc_log_format: 0 text (default), 1 json */
    config_compress compress;
    /* shards: auto when shard_count == 0; else [shard_first, shard_last] of shard_count */
    int shard_first, shard_last, shard_count;
    double interval_hours;    /* 24 */
    config_guild_interval guild_intervals[CONFIG_MAX_GUILD_INTERVALS];
    size_t n_guild_intervals;
    double reconcile_delay;   /* seconds, 60 */
    int batch_size;
    double batch_delay;       /* seconds */
    double max_delete_share;  /* 0.5 */
    int confirm_sample;       /* 10 */
    double chunk_timeout;     /* seconds, 15: member-list silence a sweep allows */
    double sweep_wait;        /* seconds, 30: `sweep` waits for asked-for guilds */
    config_member_source member_source;
    int dry_run;
    uint64_t legacy_guild_id; /* 0 = unset */
    config_clean_table clean_tables[CONFIG_MAX_CLEAN_TABLES];
    size_t n_clean_tables;
    int audit_retention_days; /* 90 */
    config_commands commands; /* COMMANDS_BOTH */
    char prefix[16];          /* "!" */
    uint64_t admin_permission;/* permission bit mask, ADMINISTRATOR default */
    uint64_t owner_ids[CONFIG_MAX_OWNER_IDS];
    size_t n_owner_ids;
    size_t max_message_bytes; /* inflated message cap, 64 MiB */
    int journal_max_writes;   /* turn journal bound while the database is held (turn.c), 100000 */
    char slash_command_name[33]; /* "cleanup": the global chat-input command's name */
    double min_interval_hours;/* 1: shortest schedule a guild's admins may set (!cleanup_schedule) */
    /* #17: grace period and notice (policy/grace.h) */
    double grace_hours;       /* 0: delete at once */
    int notify_departed;      /* CONFIG_NOTIFY_OFF or CONFIG_NOTIFY_DM */
    char notify_message[1504];/* template: {guild} {hours} {date} */
    int notify_per_minute;    /* 10 */
    /* #18: the HTTP endpoint (http/http_server.h) */
    char *http_listen;        /* HOST:PORT or [V6]:PORT; NULL/empty: no listener */
    char *http_token;         /* secret: Bearer token the endpoint requires */
    char *http_token_file;
} config;

enum { CONFIG_NOTIFY_OFF = 0, CONFIG_NOTIFY_DM = 1 };
#define CONFIG_NOTIFY_DEFAULT "You left {guild}. Your data there (levels, settings) will be deleted on {date} " \
    "({hours} h from now) unless you rejoin before then."
/* notify_message's check: every '{' opens one of {guild}, {hours}, {date}.
 * 0 when it does; -1 with a message in err naming the first unknown one. */
int config_template_check(const char *tmpl, char *err, size_t errlen);

/* Fill cfg with defaults (allocates default strings). */
dc_err config_defaults(config *cfg);
void config_free(config *cfg);

/* Apply one "key" = "value" (key with '_' or '-').  On error writes a
 * human message (with did-you-mean for unknown keys) into err. */
dc_err config_set(config *cfg, const char *key, const char *value, char *err, size_t errlen);
dc_err config_load_file(config *cfg, const char *path, char *err, size_t errlen);
/* envp: NULL-terminated "K=V" array (environ in production, a fixture in tests). */
dc_err config_load_env(config *cfg, char *const *envp, char *err, size_t errlen);
/* Read token_file if token unset; refuses group/world-readable files. */
dc_err config_resolve_token(config *cfg, char *err, size_t errlen);
/* Once the settings are read: overwrite the values of DISCORD_TOKEN and
 * CLEANER_TOKEN in envp in place (the bytes /proc/PID/environ shows), drop
 * them from the environment when envp is environ, and make the process
 * non-dumpable (no core file holding the token; no ptrace or /proc reads
 * by other processes of the same user). */
void config_protect_token(char **envp);

/* A subcommand's own option ("--expect", takes_value 1).  Lists end with
 * { NULL, 0 }.  config_load_args passes these through to the subcommand. */
typedef struct {
    const char *name;
    int takes_value;
} config_flag;

/* Apply --key VALUE / --key=VALUE / --dry-run / --no-dry-run from argv[0..argc).
 * --config FILE is skipped (see config_find_config_arg).  Positionals, "--"
 * and everything after it, and the subcommand's own flags (with their value
 * as a separate element) are copied in order into rest, which must have room
 * for argc + 1 pointers; *n_rest receives their count and rest[*n_rest] is
 * NULL.  Returns DC_ERR_USAGE for unknown options and bad values. */
dc_err config_load_args(config *cfg, int argc, char **argv, const config_flag *own,
                        char **rest, int *n_rest, char *err, size_t errlen);
/* Find "--config FILE" anywhere in argv; *path is NULL when absent. */
dc_err config_find_config_arg(int argc, char **argv, const config_flag *own,
                              const char **path, char *err, size_t errlen);
/* The whole chain: defaults, config file (--config, else CLEANER_CONFIG from
 * envp), environment, flags, then config_resolve_token.  Registers the token
 * with the log redactor as soon as it is known.  DC_ERR_USAGE for command-line
 * mistakes, DC_ERR_CONFIG for file/environment/token-file ones. */
dc_err config_load_all(config *cfg, int argc, char **argv, char *const *envp,
                       const config_flag *own, char **rest, int *n_rest,
                       char *err, size_t errlen);

/* SIGHUP (config_reload.c): the settings a running daemon takes again.
 * For every setting whose value differs between live and next (both fully
 * loaded): a reloadable one (config_key_reloadable) is set in live, the
 * others stay as they are; fn(ctx, key, old, new, applied) is told of each
 * (secrets as "(set)"/"(changed)").  The bot token is never compared.
 * Returns how many were applied, -1 when a value of next did not parse
 * again (a bug: live may then hold part of the change). */
typedef void (*config_change_fn)(void *ctx, const char *key, const char *was, const char *now, int applied);
int config_reload(config *live, const config *next, config_change_fn fn, void *ctx);
int config_key_reloadable(const char *name);
/* A deep copy of src into dst (dst's old contents are not freed). */
dc_err config_copy(config *dst, const config *src);

/* Every key with its flag, default, environment names and meaning. */
void config_print_help(FILE *out);
/* The same as a README markdown table: key, default, env, meaning. */
void config_print_markdown(FILE *out);
/* Effective values as "key = value" lines (a valid config file, except that
 * the token is shown only as "(set)" / "(unset)"). */
void config_dump(const config *cfg, FILE *out);
/* config_doc.c (#18, make install): the SETTINGS section of the man page in
 * roff, an example config with every setting commented out at its default,
 * every settings flag one per line (bash completion); roff-escaped text. */
void config_print_man(FILE *out);
void config_print_example(FILE *out);
void config_print_flags(FILE *out);
void config_roff_text(FILE *out, const char *s);

#endif
