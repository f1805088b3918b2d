/* commands.c - chat command decisions and reply texts (see commands.h). */
#include "policy/commands.h"
#include "policy/commands_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "proto/proto.h"
#include "proto/snowflake.h"

#define TRIM_NOTE "\n(trimmed)"

/* ---- parsing ------------------------------------------------------------- */

static int is_bot_author(const cJSON *d, const cJSON *author)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(author, "bot")) ||
           cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(author, "system")) ||
           cJSON_GetObjectItemCaseSensitive(d, "webhook_id") != NULL;
}

dc_err commands_parse_message(const cJSON *d, commands_message *m)
{
    memset(m, 0, sizeof *m);
    const cJSON *author = cJSON_GetObjectItemCaseSensitive(d, "author");
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(d, "content");
    const cJSON *member = cJSON_GetObjectItemCaseSensitive(d, "member");
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(member, "roles");
    if (!cJSON_IsArray(roles))
        roles = NULL;
    m->channel_id = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "channel_id"));
    m->message_id = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "id"));
    m->author_id = snowflake_json(cJSON_GetObjectItemCaseSensitive(author, "id"));
    m->guild_id = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "guild_id"));
    if (!cJSON_IsObject(d) || !m->channel_id || !m->message_id || !m->author_id || !cJSON_IsString(content))
        return DC_ERR_PROTO;
    m->author_bot = is_bot_author(d, author);
    m->content = content->valuestring;
    const cJSON *r;
    cJSON_ArrayForEach(r, roles) {
        uint64_t id = snowflake_json(r);
        if (id && m->n_roles < CMD_MAX_ROLES)
            m->roles[m->n_roles++] = id;
    }
    return DC_OK;
}

/* ---- state --------------------------------------------------------------- */

/* What a reload may change (commands_state_reconfigure). */
static void take_settings(commands_state *cs, const commands_config *cfg)
{
    snprintf(cs->prefix, sizeof cs->prefix, "%s", cfg->prefix && *cfg->prefix ? cfg->prefix : "!");
    cs->admin_permission = cfg->admin_permission;
    cs->min_interval_hours = cfg->min_interval_hours > 0 ? cfg->min_interval_hours : CMD_SCHEDULE_MIN_HOURS;
}

commands_state *commands_state_new(const commands_config *cfg)
{
    commands_state *cs = calloc(1, sizeof *cs);
    if (!cs)
        return NULL;
    take_settings(cs, cfg);
    cs->dry_run = cfg->dry_run;
    cs->refusal_interval_ms = cfg->refusal_interval_ms > 0   ? cfg->refusal_interval_ms
                            : cfg->refusal_interval_ms < 0 ? 0
                                                           : CMD_REFUSAL_INTERVAL_MS;
    cs->refusal_burst = cfg->refusal_burst > 0 ? cfg->refusal_burst : CMD_REFUSAL_BURST;
    cs->refusal_refill_ms = cfg->refusal_refill_ms > 0 ? cfg->refusal_refill_ms : CMD_REFUSAL_REFILL_MS;
    cs->refusal_tokens = cs->refusal_burst;
    cs->refusal_refilled_at = INT64_MIN;
    return cs;
}

void commands_state_reconfigure(commands_state *cs, const commands_config *cfg)
{
    take_settings(cs, cfg);
}

void commands_state_free(commands_state *cs)
{
    free(cs);
}

/* Take one token of the overall refusal budget; 0 when it is spent. */
static int take_refusal_token(commands_state *cs, int64_t now_ms)
{
    if (cs->refusal_refilled_at == INT64_MIN)
        cs->refusal_refilled_at = now_ms;
    int64_t earned = (now_ms - cs->refusal_refilled_at) / cs->refusal_refill_ms;
    if (earned > 0) {
        int64_t t = cs->refusal_tokens + earned;
        cs->refusal_tokens = t > cs->refusal_burst ? cs->refusal_burst : (int)t;
        cs->refusal_refilled_at += earned * cs->refusal_refill_ms;
    }
    if (cs->refusal_tokens <= 0)
        return 0;
    cs->refusal_tokens--;
    return 1;
}

/* 1 when user_id may be refused now (and remember it): at most once per
 * user per interval, and within the overall budget.  When every slot is
 * recent, the oldest is reused. */
static int may_refuse(commands_state *cs, uint64_t user_id, int64_t now_ms)
{
    refusal *oldest = &cs->refused[0], *slot = NULL;
    for (size_t i = 0; i < REFUSAL_SLOTS && !slot; i++) {
        refusal *r = &cs->refused[i];
        if (r->user_id == user_id) {
            if (now_ms - r->at_ms < cs->refusal_interval_ms)
                return 0;
            slot = r;
        } else if (r->at_ms < oldest->at_ms || (!r->user_id && oldest->user_id)) {
            oldest = r;
        }
    }
    if (!take_refusal_token(cs, now_ms))
        return 0;
    *(slot ? slot : oldest) = (refusal){ user_id, now_ms };
    return 1;
}

/* ---- deciding ------------------------------------------------------------- */

void commands_permission_text(uint64_t mask, char *buf, size_t cap)
{
    size_t off = 0;
    int n = 0;
    if (cap)
        buf[0] = '\0';
    for (int b = 0; b < 64 && off < cap; b++) {
        uint64_t bit = UINT64_C(1) << b;
        if (!(mask & bit))
            continue;
        const char *name = proto_permission_name(bit);
        int w = name ? snprintf(buf + off, cap - off, "%s%s", n ? " and " : "", name)
                     : snprintf(buf + off, cap - off, "%spermission bit %d", n ? " and " : "", b);
        off += w > 0 ? (size_t)w : 0;
        n++;
    }
    if (!n)
        snprintf(buf, cap, "no permission");
}

typedef enum { VERB_NONE = 0, VERB_USERS, VERB_ALL, VERB_STATUS, VERB_TEST, VERB_SCHEDULE, VERB_UNKNOWN } verb;

/* The command word after the prefix; VERB_NONE when it is no !cleanup command. */
static verb parse_verb(const char *prefix, const char *content, const char **args)
{
    size_t pl = strlen(prefix);
    if (strncmp(content, prefix, pl) != 0 || strncmp(content + pl, "cleanup", 7) != 0)
        return VERB_NONE;
    const char *w = content + pl;
    size_t len = strcspn(w, " \t\r\n");
    *args = w + len;
    static const struct { const char *word; verb v; } verbs[] = {
        { "cleanup_users", VERB_USERS }, { "cleanup_all_guilds", VERB_ALL },
        { "cleanup_status", VERB_STATUS }, { "cleanup_test", VERB_TEST },
        { "cleanup_schedule", VERB_SCHEDULE },
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (len == strlen(verbs[i].word) && strncmp(w, verbs[i].word, len) == 0)
            return verbs[i].v;
    if (len == 7 || w[7] == '_')
        return VERB_UNKNOWN;
    return VERB_NONE;                /* "!cleanupfoo": somebody else's command */
}

/* Arguments: nothing, or "force" where allowed.  -1 for anything else. */
static int parse_force(const char *args, int force_allowed)
{
    char word[16];
    int n = sscanf(args, "%15s", word);
    if (n != 1)
        return 0;
    if (!force_allowed || strcasecmp(word, "force") != 0)
        return -1;
    char extra[2];
    return sscanf(args, "%*s %1s", extra) == 1 ? -1 : 1;
}

static void help_text(const commands_state *cs, const commands_message *m, const char *why, char *buf, size_t cap)
{
    const char *p = cs->prefix, *n = m->slash;
    if (n) {                         /* asked as a slash command: answer in its own forms */
        snprintf(buf, cap,
                 "%s"
                 "Commands:\n"
                 "`/%s users [force]` remove rows of users who left this server\n"
                 "`/%s test` show what that would remove, without deleting\n"
                 "`/%s status` connection, counters and this server's last sweep\n"
                 "`/%s schedule [hours]` show or set how often this server is swept\n"
                 "`/%s all_guilds [force]` every server of this bot (bot owners only)",
                 why, n, n, n, n, n);
        return;
    }
    snprintf(buf, cap,
             "%s"
             "Commands:\n"
             "`%scleanup_users [force]` remove rows of users who left this server\n"
             "`%scleanup_test` show what that would remove, without deleting\n"
             "`%scleanup_status` connection, counters and this server's last sweep\n"
             "`%scleanup_schedule [HOURS|default]` show or set how often this server is swept\n"
             "`%scleanup_all_guilds [force]` every server of this bot (bot owners only)",
             why, p, p, p, p, p);
}

void commands_refuse_user(commands_state *cs, uint64_t user_id, int all, const char *slash, const char *unchecked,
                          int64_t now_ms,
                          commands_decision *out)
{
    char perm[256];
    if (!may_refuse(cs, user_id, now_ms))
        return;                      /* out->kind stays CMD_IGNORE */
    out->kind = CMD_REFUSE;
    if (unchecked) {                 /* not a refusal: we could not tell */
        snprintf(out->text, sizeof out->text,
                 "I could not check whether you may use this command (%s), so I did nothing; "
                 "please try again in a minute.", unchecked);
        return;
    }
    if (all) {
        char form[80];
        if (slash)
            snprintf(form, sizeof form, "/%s all_guilds", slash);
        else
            snprintf(form, sizeof form, "%scleanup_all_guilds", cs->prefix);
        snprintf(out->text, sizeof out->text,
                 "Sorry, `%s` acts on every server of this bot, so only the bot's owners can use it.", form);
        return;
    }
    commands_permission_text(cs->admin_permission, perm, sizeof perm);
    snprintf(out->text, sizeof out->text,
             "Sorry, the cleanup commands need the %s permission in this server.", perm);
}

/* The verb of a command this module answers, VERB_NONE otherwise. */
static verb command_verb(const commands_state *cs, const commands_message *m, const char **args)
{
    if (!m->guild_id || m->author_bot || !m->content)
        return VERB_NONE;
    return parse_verb(cs->prefix, m->content, args);
}

int commands_needs(const commands_state *cs, const commands_message *m)
{
    const char *args = "";
    verb v = command_verb(cs, m, &args);
    return v == VERB_NONE ? CMD_NEEDS_NOTHING : v == VERB_ALL ? CMD_NEEDS_OWNER : CMD_NEEDS_PERMISSION;
}

static void decide(commands_state *cs, const commands_message *m, uint64_t perms, int is_owner, const char *unchecked,
                   int64_t now_ms, commands_decision *out)
{
    memset(out, 0, sizeof *out);
    const char *args = "";
    verb v = command_verb(cs, m, &args);
    if (v == VERB_NONE)
        return;
    int allowed = v == VERB_ALL ? is_owner
                                : is_owner || (perms & cs->admin_permission) == cs->admin_permission;
    if (!allowed) {
        commands_refuse_user(cs, m->author_id, v == VERB_ALL, m->slash, unchecked, now_ms, out);
        return;
    }
    if (v == VERB_SCHEDULE) {
        commands_schedule_args(cs, args, out);
        return;
    }
    int force = parse_force(args, v == VERB_USERS || v == VERB_ALL);
    if (v == VERB_UNKNOWN || force < 0) {
        out->kind = CMD_HELP;
        help_text(cs, m, v == VERB_UNKNOWN ? "Unknown command. " : "Unexpected argument. ", out->text,
                  sizeof out->text);
        return;
    }
    out->force = force;
    out->dry_run = cs->dry_run;
    switch (v) {
    case VERB_USERS:
        out->kind = CMD_SWEEP;
        break;
    case VERB_ALL:
        out->kind = CMD_ALL_GUILDS;
        break;
    case VERB_TEST:
        out->kind = CMD_SWEEP;
        out->dry_run = 1;
        break;
    default:
        out->kind = CMD_STATUS;
        break;
    }
}

void commands_decide(commands_state *cs, const commands_message *m, uint64_t perms, int is_owner, int64_t now_ms,
                commands_decision *out)
{
    decide(cs, m, perms, is_owner, NULL, now_ms, out);
}

void commands_decide_unchecked(commands_state *cs, const commands_message *m, uint64_t perms, int is_owner, const char *why,
                          int64_t now_ms, commands_decision *out)
{
    decide(cs, m, perms, is_owner, why && *why ? why : "Discord did not answer", now_ms, out);
}

/* ---- reply texts ------------------------------------------------------------ */

typedef struct {
    char *buf;
    size_t cap, off;
} text_buf;

static void put(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_buf *t, const char *fmt, ...)
{
    if (t->off >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->off, t->cap - t->off, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->off = t->off + (size_t)n < t->cap ? t->off + (size_t)n : t->cap;
}

static void put_duration(text_buf *t, int64_t ms)
{
    if (ms < 0)
        ms = -ms;
    if (ms < 10000)
        put(t, "%.1f s", (double)ms / 1000.0);
    else if (ms < 3600000)
        put(t, "%" PRId64 " min %" PRId64 " s", ms / 60000, ms / 1000 % 60);
    else
        put(t, "%" PRId64 " h %" PRId64 " min", ms / 3600000, ms / 60000 % 60);
}

static void put_utc(text_buf *t, int64_t wall_ms)
{
    char when[32];
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
        put(t, "%s", when);
}

static void put_shards(text_buf *t, const commands_status *st)
{
    if (!st->n_shards)
        put(t, "Gateway: not connected yet\n");
    for (size_t i = 0; i < st->n_shards; i++) {
        const commands_shard_status *s = &st->shards[i];
        put(t, "Shard %d: %s, ", s->shard_id, s->state ? s->state : "?");
        if (s->latency_ms >= 0)
            put(t, "heartbeat latency %" PRId64 " ms, ", s->latency_ms);
        else
            put(t, "no heartbeat answered yet, ");
        put(t, "session %s\n", s->resumed ? "resumed" : "new");
    }
}

static void put_last_sweep(text_buf *t, const commands_status *st)
{
    if (!st->last_sweep_ms) {
        put(t, "Last sweep: never\n");
        return;
    }
    put(t, "Last sweep: ");
    put_utc(t, st->last_sweep_ms);
    put(t, " (");
    put_duration(t, st->now_wall_ms - st->last_sweep_ms);
    put(t, " ago), %" PRId64 " removed, took ", st->last_sweep_removed);
    put_duration(t, st->last_sweep_duration_ms);
    put(t, ", result: %s\n", st->last_sweep_result && *st->last_sweep_result ? st->last_sweep_result : "?");
}

/* ---- #17 the grace period ---------------------------------------------------- */

static void put_due(text_buf *t, int64_t due_ms, int64_t now_ms)
{
    if (due_ms <= now_ms) {
        put(t, "now");
        return;
    }
    put_utc(t, due_ms);
    put(t, " (in ");
    put_duration(t, due_ms - now_ms);
    put(t, ")");
}

static void put_grace(text_buf *t, const commands_status *st)
{
    if (st->grace_hours <= 0 && st->grace_pending <= 0)
        return;
    put(t, "Grace period: %g h; pending departures: ", st->grace_hours);
    if (st->grace_pending < 0)
        put(t, "unknown");
    else
        put(t, "%" PRId64, st->grace_pending);
    if (st->grace_pending > 0 && st->grace_next_due_ms) {
        put(t, ", next due ");
        put_due(t, st->grace_next_due_ms, st->now_wall_ms);
    }
    if (st->removed[AUDIT_GRACE_EXPIRED])
        put(t, "; rows removed since start when their grace ran out: %" PRId64, st->removed[AUDIT_GRACE_EXPIRED]);
    put(t, "\n");
    if (st->notices_sent || st->notices_skipped || st->notices_failed)
        put(t, "Departure notices: %" PRId64 " sent, %" PRId64 " skipped (limit), %" PRId64 " not delivered\n",
            st->notices_sent, st->notices_skipped, st->notices_failed);
}

void commands_format_pending(int64_t n, const uint64_t *ids, size_t n_ids, int64_t next_due_ms,
                             int64_t now_wall_ms, char *buf, size_t cap)
{
    text_buf t = { buf, cap, 0 };
    if (!cap)
        return;
    buf[0] = '\0';
    if (n <= 0)
        return;
    put(&t, "Pending departures (grace period, rows kept until due): %" PRId64 " member(s)", n);
    for (size_t i = 0; i < n_ids; i++)
        put(&t, "%s%" PRIu64, i ? ", " : ": ", ids[i]);
    if ((int64_t)n_ids < n)
        put(&t, ", ...");
    if (next_due_ms) {
        put(&t, "; next due ");
        put_due(&t, next_due_ms, now_wall_ms);
    }
    commands_trim(buf, cap - 1);
}

void commands_format_status(const commands_status *st, char *buf, size_t cap)
{
    text_buf t = { buf, cap, 0 };
    if (!cap)
        return;
    buf[0] = '\0';
    put(&t, "**discord-cleaner status**%s\n", st->dry_run ? " (DRY RUN: nothing is deleted)" : "");
    put_shards(&t, st);
    put(&t, "Up ");
    put_duration(&t, st->uptime_ms);
    put(&t, ", %" PRId64 " events handled\n", st->events);
    put(&t, "Rows removed since start: %s %" PRId64 ", %s %" PRId64 ", %s %" PRId64 ", %s %" PRId64 "\n",
        audit_reason_name(AUDIT_MEMBER_REMOVE), st->removed[AUDIT_MEMBER_REMOVE], audit_reason_name(AUDIT_GUILD_DELETE),
        st->removed[AUDIT_GUILD_DELETE], audit_reason_name(AUDIT_LEFT_WHILE_OFFLINE), st->removed[AUDIT_LEFT_WHILE_OFFLINE],
        audit_reason_name(AUDIT_SWEEP), st->removed[AUDIT_SWEEP]);
    if (st->guild_rows >= 0)
        put(&t, "This server%s%s: %" PRId64 " row(s)\n", st->guild_label ? ", " : "",
            st->guild_label ? st->guild_label : "", st->guild_rows);
    put_last_sweep(&t, st);
    if (st->sweep_running)
        put(&t, "Sweep running now: chunk %d of %d, %" PRId64 " members listed, %" PRId64 " removed\n",
            st->chunks_seen, st->chunk_count, st->members, st->sweep_removed);
    if (st->held)
        put(&t, "On hold: the last sweep deleted nothing (see its result); no automatic sweep before the "
            "next interval, a command runs it now\n");
    if (st->interval_ms) {
        char iv[64];
        commands_format_interval(st->interval_ms, iv, sizeof iv);
        put(&t, "Sweep interval: %s (%s)\n", iv,
            st->interval_source == CMD_INTERVAL_OPERATOR ? "set by the bot's operator"
            : st->interval_source == CMD_INTERVAL_ADMIN  ? "set by this server's admins"
                                                         : "the bot's default");
    }
    if (st->next_run_ms) {
        put(&t, "Next scheduled sweep: ");
        if (st->next_run_ms <= st->now_wall_ms) {
            put(&t, "due now\n");
        } else {
            put_utc(&t, st->next_run_ms);
            put(&t, " (in ");
            put_duration(&t, st->next_run_ms - st->now_wall_ms);
            put(&t, ")\n");
        }
    }
    put_grace(&t, st);
    put(&t, "Guilds awaiting reconciliation: %" PRId64, st->awaiting_reconcile);
    commands_trim(buf, cap - 1);
}

void commands_format_wait(commands_wait why, int64_t wait_ms, char *buf, size_t cap)
{
    int64_t secs = (wait_ms + 999) / 1000;
    switch (why) {
    case CMD_WAIT_OP8:
        snprintf(buf, cap, "Discord allows one member list per server every 30 s; starting in %" PRId64 " s.",
                 secs);
        break;
    case CMD_WAIT_BUSY:
        snprintf(buf, cap, "Another server's sweep runs (or is queued) on this connection first; "
                 "this one starts when it is done.");
        break;
    case CMD_WAIT_SESSION:
        snprintf(buf, cap, "The gateway connection is being re-established; the sweep starts once it is back.");
        break;
    default:
        snprintf(buf, cap, "It starts within a few seconds.");
        break;
    }
}

void commands_format_progress(const commands_progress *p, char *buf, size_t cap)
{
    char wait[256];
    if (p->queued) {
        commands_format_wait(p->why, p->wait_ms, wait, sizeof wait);
        snprintf(buf, cap, "A sweep of this server is already queued. %s I will reply to that command when "
                 "it has finished.", wait);
    } else if (p->stale > 0) {
        snprintf(buf, cap, "A sweep of this server is already running: member list chunk %d of %d, "
                 "%" PRId64 " members listed, %" PRId64 " of %" PRId64 " stale row(s) removed so far.",
                 p->chunks_seen, p->chunk_count, p->members, p->removed, p->stale);
    } else {
        snprintf(buf, cap, "A sweep of this server is already running: member list chunk %d of %d, "
                 "%" PRId64 " members listed, %" PRId64 " row(s) removed so far.",
                 p->chunks_seen, p->chunk_count, p->members, p->removed);
    }
}

void commands_format_result(int dry_run, int ok, const char *text, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s %s: %s", dry_run ? "Dry run of this server's sweep" : "Sweep of this server",
             ok ? "finished" : "did not complete", text && *text ? text : "no result");
}

/* ---- trimming and the reply body -------------------------------------------- */

int commands_trim(char *text, size_t max)
{
    size_t len = strlen(text), note = strlen(TRIM_NOTE);
    if (len <= max)
        return 0;
    if (max <= note) {
        text[max] = '\0';
        return 1;
    }
    size_t cut = max - note;
    size_t line = cut;
    while (line > 0 && text[line] != '\n')
        line--;
    if (line > 0) {
        cut = line;
    } else {
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--;                   /* never split a UTF-8 sequence */
    }
    memcpy(text + cut, TRIM_NOTE, note + 1);
    return 1;
}

char *commands_reply_json(uint64_t message_id, const char *content)
{
    char id[24];
    char *text = strdup(content ? content : "");
    cJSON *j = cJSON_CreateObject();
    if (!text || !j) {
        free(text);
        cJSON_Delete(j);
        return NULL;
    }
    commands_trim(text, CMD_REPLY_MAX);
    snprintf(id, sizeof id, "%" PRIu64, message_id);
    cJSON_AddStringToObject(j, "content", text);
    cJSON *am = cJSON_AddObjectToObject(j, "allowed_mentions");
    cJSON_AddItemToObject(am, "parse", cJSON_CreateArray());
    cJSON_AddBoolToObject(am, "replied_user", 0);
    if (message_id) {                /* 0: an edit keeps its reference */
        cJSON *ref = cJSON_AddObjectToObject(j, "message_reference");
        cJSON_AddStringToObject(ref, "message_id", id);
        cJSON_AddBoolToObject(ref, "fail_if_not_exists", 0);
    }
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(text);
    return out;
}
