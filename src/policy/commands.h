/* commands.h - admin chat commands (sans-I/O).
 *
 *   !cleanup_users [force]       reconcile this guild now (guard applies)
 *   !cleanup_all_guilds [force]  every guild of this process; bot owners only
 *   !cleanup_status              connection, counters, this guild's last sweep
 *   !cleanup_test                dry run of this guild's sweep
 *   !cleanup_schedule [HOURS|default]  show / set this guild's sweep interval
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
    const char *slash;               /* the slash command's name when it came as one: help names /NAME forms */
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
    CMD_SCHEDULE,      /* show / set / reset this guild's sweep interval: .sched, .hours */
} commands_kind;

/* CMD_SCHEDULE: what the admin asked for. */
typedef enum { CMD_SCHED_SHOW = 0, CMD_SCHED_SET, CMD_SCHED_RESET } commands_schedule_op;
#define CMD_SCHEDULE_MIN_HOURS 1.0   /* min_interval_hours' default */
#define CMD_SCHEDULE_MAX_HOURS 720.0 /* 30 days */

typedef struct {
    commands_kind kind;
    int force;
    int dry_run;
    commands_schedule_op sched;      /* CMD_SCHEDULE */
    double hours;                    /* CMD_SCHED_SET: within [min_interval_hours, 720] */
    char text[512];
} commands_decision;

typedef struct {
    const char *prefix;              /* "!"; copied */
    uint64_t admin_permission;       /* bits the author needs (all of them) */
    int dry_run;                     /* the daemon runs in dry-run mode */
    int64_t refusal_interval_ms;     /* 0: CMD_REFUSAL_INTERVAL_MS; negative: none (every refusal answered) */
    int refusal_burst;               /* 0: CMD_REFUSAL_BURST */
    int64_t refusal_refill_ms;       /* 0: CMD_REFUSAL_REFILL_MS */
    double min_interval_hours;       /* shortest schedule admins may set; 0: CMD_SCHEDULE_MIN_HOURS */
} commands_config;

typedef struct commands_state commands_state;

commands_state *commands_state_new(const commands_config *cfg);
/* A reload: the prefix, admin_permission and min_interval_hours of cfg
 * from now on; the refusal limits and who was refused when are kept. */
void commands_state_reconfigure(commands_state *cs, const commands_config *cfg);
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

/* ---- the schedule command, shared by the prefix and slash paths ----------
 *
 * `!cleanup_schedule` (show), `!cleanup_schedule 48` (set; fractional hours
 * such as 1.5 are allowed, a trailing "h" too), `!cleanup_schedule default`
 * (back to the bot's default) and the slash subcommand `schedule` (number
 * option `hours`, optional) reach the same decision: commands_decide
 * parses the prefix text and calls what commands_decide_schedule does.
 * The slash path calls commands_decide_schedule directly with the
 * interaction's member.permissions: guild_id 0 (a DM) is refused ("only in
 * a server", not rate-limited); the permission rule is the guild commands'
 * (admin_permission, or a bot owner), refusals within the same limits;
 * has_hours 0 shows; hours outside [min_interval_hours, 720] (or not a
 * number) is CMD_HELP whose text names the bounds; otherwise CMD_SCHEDULE
 * with .sched CMD_SCHED_SET and .hours.  Carrying it out (store, scheduler,
 * reply text) is the daemon's: schedule_live.h. */
void commands_decide_schedule(commands_state *cs, uint64_t guild_id, uint64_t user_id, uint64_t perms, int is_owner,
                              int has_hours, double hours, int64_t now_ms, commands_decision *out);
/* min_interval_hours as configured (for texts). */
double commands_min_interval_hours(const commands_state *cs);

/* Where a guild's effective sweep interval comes from, by precedence: the
 * operator's guild_interval setting beats the guild admins' schedule, which
 * beats interval_hours. */
typedef enum { CMD_INTERVAL_DEFAULT = 0, CMD_INTERVAL_ADMIN, CMD_INTERVAL_OPERATOR } commands_interval_source;
typedef struct {
    commands_schedule_op op;         /* what was asked */
    int stored;                      /* SET / RESET: 1 written, 0 the database refused */
    commands_interval_source source; /* of the effective interval, after the change */
    int64_t effective_ms;
    int64_t admin_ms;                /* the admins' choice (0: none) */
    int64_t default_ms;              /* interval_hours */
    uint64_t set_by;                 /* who set admin_ms (0: unknown) */
    int64_t set_at_ms;               /* wall ms; 0: unknown */
    int64_t next_run_ms;             /* wall ms of the next automatic sweep; 0: unknown */
    int64_t now_wall_ms;
} commands_schedule_view;
/* The reply to a CMD_SCHEDULE: the interval in force and where it comes
 * from; after a change what changed, and when the operator's setting
 * overrides the admins' choice, that it does (the choice is kept for when
 * the operator removes theirs). */
void commands_format_schedule(const commands_schedule_view *v, char *buf, size_t cap);
/* "48 h", "1.5 h (1 h 30 min)": an interval as the replies show it. */
void commands_format_interval(int64_t ms, char *buf, size_t cap);

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
    int64_t interval_ms;             /* the guild's effective sweep interval; 0: not shown */
    int interval_source;             /* commands_interval_source */
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
/* The progress of one's own commanded sweep, for the reply edited as it
 * goes (commands_progress.c): "Sweep of this server queued. <what it
 * waits for>" while p->queued, then "Sweep of this server running: member
 * list chunk 2 of 5, 1500 members listed, 3 of 10 stale row(s) removed so
 * far."  dry_run: "Dry run of this server's sweep", rows "counted". */
void commands_format_sweep_progress(const commands_progress *p, int dry_run, char *buf, size_t cap);
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
