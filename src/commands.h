/* commands.h - admin chat commands (sans-I/O).
 *
 *   !cleanup_users [force]       reconcile this guild now (guard applies)
 *   !cleanup_all_guilds [force]  every guild of this process; bot owners only
 *   !cleanup_status              connection, counters, this guild's last sweep
 *   !cleanup_test                dry run of this guild's sweep
 *   any other !cleanup_*         short help
 *
 * This module parses a MESSAGE_CREATE, decides what it asks for (given the
 * author's permissions, computed by perms.c), rate-limits refusals per user,
 * and formats every reply.  It sends nothing and reads no clock: the live
 * adapter (commands_live.c) passes now_ms and carries decisions out. */
#ifndef DC_COMMANDS_H
#define DC_COMMANDS_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "err.h"

#define CMD_MAX_ROLES 256            /* Discord allows 250 roles per guild */
#define CMD_REPLY_MAX 1990           /* bytes; Discord's limit is 2000 characters */
#define CMD_REFUSAL_INTERVAL_MS 60000

typedef struct {
    uint64_t guild_id;               /* 0: a DM (or ephemeral) */
    uint64_t channel_id;
    uint64_t message_id;
    uint64_t author_id;
    int author_bot;                  /* a bot, a system user or a webhook */
    uint64_t roles[CMD_MAX_ROLES];   /* member.roles (without @everyone) */
    size_t n_roles;
    const char *content;             /* points into the parsed payload */
} cmd_message;

/* Fill m from MESSAGE_CREATE's data.  DC_ERR_PROTO when ids, author or
 * content are missing or of the wrong type.  m->content borrows from d. */
dc_err cmd_parse_message(const cJSON *d, cmd_message *m);

typedef enum {
    CMD_IGNORE = 0,    /* not a command, a bot/DM, or a refusal already given */
    CMD_REFUSE,        /* reply .text */
    CMD_HELP,          /* reply .text */
    CMD_SWEEP,         /* sweep this guild with .force / .dry_run */
    CMD_ALL_GUILDS,    /* sweep every guild of this process with .force / .dry_run */
    CMD_STATUS,        /* reply with the status (cmd_format_status) */
} cmd_kind;

typedef struct {
    cmd_kind kind;
    int force;
    int dry_run;
    char text[512];
} cmd_decision;

typedef struct {
    const char *prefix;              /* "!"; copied */
    uint64_t admin_permission;       /* bits the author needs (all of them) */
    int dry_run;                     /* the daemon runs in dry-run mode */
    int64_t refusal_interval_ms;     /* 0: CMD_REFUSAL_INTERVAL_MS */
} cmd_config;

typedef struct cmd_state cmd_state;

cmd_state *cmd_state_new(const cmd_config *cfg);
void cmd_state_free(cmd_state *cs);

/* What message m asks for.  perms: the author's guild permissions
 * (perm_compute); is_owner: the author owns the bot.  Guild commands need
 * admin_permission (owners may always); !cleanup_all_guilds needs is_owner.
 * A refusal is given to a user at most once per refusal interval; later
 * ones come back as CMD_IGNORE. */
void cmd_decide(cmd_state *cs, const cmd_message *m, uint64_t perms, int is_owner, int64_t now_ms,
                cmd_decision *out);

/* "ADMINISTRATOR", "MANAGE_GUILD and KICK_MEMBERS", "permission bit 60". */
void cmd_permission_text(uint64_t mask, char *buf, size_t cap);

/* ---- reply texts ------------------------------------------------------------ */

typedef struct {
    int shard_id;
    const char *state;               /* gw_state_name() */
    int64_t latency_ms;              /* -1: none yet */
    int resumed;
} cmd_shard_status;

typedef struct {
    const cmd_shard_status *shards;
    size_t n_shards;
    int64_t uptime_ms;
    int64_t events;
    int64_t removed[4];              /* since start, by audit_reason */
    uint64_t guild_id;
    int64_t guild_rows;              /* -1: unknown */
    int64_t now_wall_ms;
    int64_t last_sweep_ms;           /* 0: never */
    int64_t last_sweep_removed;
    int64_t last_sweep_duration_ms;
    const char *last_sweep_result;
    int64_t next_run_ms;             /* wall time; 0: unknown */
    int held;                        /* refused by the guard: no automatic sweep before next_run_ms */
    int dry_run;
    int64_t awaiting_reconcile;      /* guilds flagged needs_reconcile */
    int sweep_running;               /* a sweep of this guild runs */
    int chunks_seen, chunk_count;
    int64_t members, sweep_removed;
} cmd_status;

/* Human status text; always NUL-terminated, trimmed to cap. */
void cmd_format_status(const cmd_status *st, char *buf, size_t cap);
/* "A sweep of this guild is already running: ..." */
void cmd_format_progress(int queued, int chunks_seen, int chunk_count, int64_t members, int64_t removed,
                         char *buf, size_t cap);
/* Result of one finished sweep (ok/guard/aborted text from sweep.c). */
void cmd_format_result(int dry_run, int ok, const char *text, char *buf, size_t cap);

/* Cut text to at most max bytes, at the last line end that leaves room for
 * a "(trimmed)" note (or at a UTF-8 character boundary when a single line
 * is too long).  Returns 1 when it cut. */
int cmd_trim(char *text, size_t max);

/* The JSON body of POST /channels/{id}/messages replying to message_id:
 * content (trimmed under CMD_REPLY_MAX), no mentions parsed at all, and a
 * message_reference that degrades to a plain message if the command is gone.
 * malloc'd; NULL when out of memory. */
char *cmd_reply_json(uint64_t message_id, const char *content);

#endif
