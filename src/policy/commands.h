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
#include "base/err.h"
#include "proto/proto.h"

#define CMD_MAX_ROLES 256            /* Discord allows 250 roles per guild */
#define CMD_REPLY_MAX 1990           /* bytes; Discord's limit is 2000 characters */
#define CMD_REFUSAL_INTERVAL_MS 60000
#define CMD_REFUSAL_BURST 5           /* refusals overall, then ... */
#define CMD_REFUSAL_REFILL_MS 12000   /* ... one more per 12 s (5 a minute) */

typedef struct {
    uint64_t guild_id;               /* 0: a DM (or ephemeral) */
    uint64_t channel_id;
    uint64_t message_id;
    uint64_t author_id;
    int author_bot;                  /* a bot, a system user or a webhook */
    uint64_t roles[CMD_MAX_ROLES];   /* member.roles (without @everyone) */
    size_t n_roles;
    const char *content;             /* points into the parsed payload */
} commands_message;

/* Fill m from MESSAGE_CREATE's data.  DC_ERR_PROTO when ids, author or
 * content are missing or of the wrong type.  m->content borrows from d. */
dc_err commands_parse_message(const cJSON *d, commands_message *m);

typedef enum {
    CMD_IGNORE = 0,    /* not a command, a bot/DM, or a refusal already given */
    CMD_REFUSE,        /* reply .text */
    CMD_HELP,          /* reply .text */
    CMD_SWEEP,         /* sweep this guild with .force / .dry_run */
    CMD_ALL_GUILDS,    /* sweep every guild of this process with .force / .dry_run */
    CMD_STATUS,        /* reply with the status (commands_format_status) */
} commands_kind;

typedef struct {
    commands_kind kind;
    int force;
    int dry_run;
    char text[512];
} commands_decision;

typedef struct {
    const char *prefix;              /* "!"; copied */
    uint64_t admin_permission;       /* bits the author needs (all of them) */
    int dry_run;                     /* the daemon runs in dry-run mode */
    int64_t refusal_interval_ms;     /* 0: CMD_REFUSAL_INTERVAL_MS */
    int refusal_burst;               /* 0: CMD_REFUSAL_BURST */
    int64_t refusal_refill_ms;       /* 0: CMD_REFUSAL_REFILL_MS */
} commands_config;

typedef struct commands_state commands_state;

commands_state *commands_state_new(const commands_config *cfg);
void commands_state_free(commands_state *cs);

/* What message m asks for.  perms: the author's guild permissions
 * (perms_compute); is_owner: the author owns the bot.  Guild commands need
 * admin_permission (owners may always); !cleanup_all_guilds needs is_owner.
 * A refusal is given to a user at most once per refusal interval, and
 * overall at most refusal_burst at once then one per refusal_refill_ms;
 * the others come back as CMD_IGNORE. */
void commands_decide(commands_state *cs, const commands_message *m, uint64_t perms, int is_owner, int64_t now_ms,
                commands_decision *out);
/* Like commands_decide when the permissions could not be learnt (why: "Discord
 * answered HTTP 500"): an author that what is known does not allow gets a
 * CMD_REFUSE whose text says the check failed, not that they lack rights
 * (same rate limits). */
void commands_decide_unchecked(commands_state *cs, const commands_message *m, uint64_t perms, int is_owner, const char *why,
                          int64_t now_ms, commands_decision *out);

/* What judging m needs: CMD_NEEDS_NOTHING (not a command for us: a DM, a
 * bot, another prefix), CMD_NEEDS_PERMISSION (the guild's roles and owner,
 * or being a bot owner), CMD_NEEDS_OWNER (the bot's owners). */
enum { CMD_NEEDS_NOTHING = 0, CMD_NEEDS_PERMISSION, CMD_NEEDS_OWNER };
int commands_needs(const commands_state *cs, const commands_message *m);

/* "ADMINISTRATOR", "MANAGE_GUILD and KICK_MEMBERS", "permission bit 60". */
void commands_permission_text(uint64_t mask, char *buf, size_t cap);

/* ---- reply texts ------------------------------------------------------------ */

typedef struct {
    int shard_id;
    const char *state;               /* gateway_state_name() */
    int64_t latency_ms;              /* -1: none yet */
    int resumed;
} commands_shard_status;

typedef struct {
    const commands_shard_status *shards;
    size_t n_shards;
    int64_t uptime_ms;
    int64_t events;
    int64_t removed[AUDIT_REASON_COUNT]; /* since start, by audit_reason */
    uint64_t guild_id;
    const char *guild_label;         /* "Test Guild (1234)"; NULL: not shown */
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
    /* #17 grace period: shown when grace_hours > 0 or records are pending */
    double grace_hours;
    int64_t grace_pending;           /* -1: unknown */
    int64_t grace_next_due_ms;       /* wall time; 0: none */
    int64_t notices_sent, notices_skipped, notices_failed;
} commands_status;

/* Human status text; always NUL-terminated, trimmed to cap. */
void commands_format_status(const commands_status *st, char *buf, size_t cap);
/* Why a commanded sweep does not start at once. */
typedef enum { CMD_WAIT_NONE = 0, CMD_WAIT_OP8, CMD_WAIT_BUSY, CMD_WAIT_SESSION } commands_wait;
/* "Discord allows one member list per server every 30 s; starting in 27 s." */
void commands_format_wait(commands_wait why, int64_t wait_ms, char *buf, size_t cap);

typedef struct {
    int queued;                      /* 1: not started; why/wait_ms say what it waits for */
    commands_wait why;
    int64_t wait_ms;
    int chunks_seen, chunk_count;    /* running: */
    int64_t members, removed;
    int64_t stale;                   /* rows to remove once measured; 0: not known yet */
} commands_progress;
/* "A sweep of this server is already running: ..." / "... already queued. ..." */
void commands_format_progress(const commands_progress *p, char *buf, size_t cap);
/* Result of one finished sweep (ok/guard/aborted text from sweep.c). */
void commands_format_result(int dry_run, int ok, const char *text, char *buf, size_t cap);

/* #17: "Pending departures (grace period): ..." for a test's reply: how
 * many of this server's members are pending (n), the first ids of them,
 * and when the first falls due; "" when n is 0. */
void commands_format_pending(int64_t n, const uint64_t *ids, size_t n_ids, int64_t next_due_ms,
                             int64_t now_wall_ms, char *buf, size_t cap);

/* Cut text to at most max bytes, at the last line end that leaves room for
 * a "(trimmed)" note (or at a UTF-8 character boundary when a single line
 * is too long).  Returns 1 when it cut. */
int commands_trim(char *text, size_t max);

/* The JSON body of POST /channels/{id}/messages replying to message_id:
 * content (trimmed under CMD_REPLY_MAX), no mentions parsed at all, and a
 * message_reference that degrades to a plain message if the command is gone.
 * message_id 0: no message_reference (the body of an edit, PATCH).
 * malloc'd; NULL when out of memory. */
char *commands_reply_json(uint64_t message_id, const char *content);

#endif
