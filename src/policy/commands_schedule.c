/* commands_schedule.c - the schedule command (sans-I/O): parsing
 * `!cleanup_schedule [HOURS|default]`, the decision the prefix and slash
 * paths share (commands_decide_schedule), and its reply text.
 *
 * Its own file so the command is one concern; commands.c routes the verb
 * here after its permission check (commands_internal.h). */
#include "policy/commands.h"
#include "policy/commands_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

double commands_min_interval_hours(const commands_state *cs)
{
    return cs->min_interval_hours;
}

void commands_format_interval(int64_t ms, char *buf, size_t cap)
{
    int64_t min = (ms + 30000) / 60000;
    if (ms % 3600000 == 0)
        snprintf(buf, cap, "%" PRId64 " h", ms / 3600000);
    else if (min >= 60)
        snprintf(buf, cap, "%g h (%" PRId64 " h %" PRId64 " min)", (double)ms / 3600000.0, min / 60, min % 60);
    else if (min >= 1)
        snprintf(buf, cap, "%g h (%" PRId64 " min)", (double)ms / 3600000.0, min);
    else
        snprintf(buf, cap, "%g h (%.1f s)", (double)ms / 3600000.0, (double)ms / 1000.0);
}

/* The bounds' reply: CMD_HELP, nothing changes. */
static void out_of_bounds(const commands_state *cs, const char *what, commands_decision *out)
{
    out->kind = CMD_HELP;
    snprintf(out->text, sizeof out->text,
             "%s: the sweep interval must be a number of hours from %g to %g (fractions such as 1.5 are fine); "
             "nothing changed.", what, cs->min_interval_hours, CMD_SCHEDULE_MAX_HOURS);
}

/* CMD_SCHEDULE set, or the bounds' reply. */
static void decide_hours(const commands_state *cs, double hours, commands_decision *out)
{
    if (!isfinite(hours) || hours < cs->min_interval_hours - 1e-9 || hours > CMD_SCHEDULE_MAX_HOURS + 1e-9) {
        char what[64];
        if (isfinite(hours))
            snprintf(what, sizeof what, "%g h is out of range", hours);
        else
            snprintf(what, sizeof what, "That is not a number of hours");
        out_of_bounds(cs, what, out);
        return;
    }
    out->kind = CMD_SCHEDULE;
    out->sched = CMD_SCHED_SET;
    out->hours = hours;
}

void commands_schedule_args(const commands_state *cs, const char *args, commands_decision *out)
{
    char word[32], extra[2];
    int n = sscanf(args, "%31s %1s", word, extra);
    out->kind = CMD_SCHEDULE;
    out->sched = CMD_SCHED_SHOW;
    if (n <= 0)
        return;
    if (n == 2) {
        out_of_bounds(cs, "One value please", out);
        return;
    }
    if (strcasecmp(word, "default") == 0 || strcasecmp(word, "reset") == 0) {
        out->sched = CMD_SCHED_RESET;
        return;
    }
    char *end = NULL;
    double h = strtod(word, &end);
    if (end == word || (*end && strcasecmp(end, "h") != 0 && strcasecmp(end, "hours") != 0))
        h = NAN;
    decide_hours(cs, h, out);
}

void commands_decide_schedule(commands_state *cs, uint64_t guild_id, uint64_t user_id, uint64_t perms, int is_owner,
                              int has_hours, double hours, int64_t now_ms, commands_decision *out)
{
    memset(out, 0, sizeof *out);
    if (!guild_id) {
        out->kind = CMD_REFUSE;
        snprintf(out->text, sizeof out->text, "This command works only in a server.");
        return;
    }
    if (!is_owner && (perms & cs->admin_permission) != cs->admin_permission) {
        commands_refuse_user(cs, user_id, 0, NULL, NULL, now_ms, out);
        return;
    }
    out->kind = CMD_SCHEDULE;
    out->sched = CMD_SCHED_SHOW;
    if (has_hours)
        decide_hours(cs, hours, out);
}

/* ---- the reply ---------------------------------------------------------------- */

static const char *source_text(commands_interval_source s)
{
    switch (s) {
    case CMD_INTERVAL_OPERATOR:
        return "set for this server by the bot's operator (guild_interval in the configuration)";
    case CMD_INTERVAL_ADMIN:
        return "chosen by this server's admins";
    default:
        return "the bot's default (interval_hours)";
    }
}

static size_t add(char *buf, size_t cap, size_t off, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static size_t add(char *buf, size_t cap, size_t off, const char *fmt, ...)
{
    if (off >= cap)
        return off;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + off, cap - off, fmt, ap);
    va_end(ap);
    return n > 0 ? (off + (size_t)n < cap ? off + (size_t)n : cap) : off;
}

/* What changed (SET / RESET), before the interval in force. */
static size_t put_change(const commands_schedule_view *v, char *buf, size_t cap, size_t off)
{
    char admin[64];
    if (!v->stored)
        return add(buf, cap, off, "The database did not take the change (it is busy); nothing changed, "
                   "please try again in a minute.\n");
    commands_format_interval(v->admin_ms, admin, sizeof admin);
    if (v->op == CMD_SCHED_RESET)
        off = add(buf, cap, off, "This server's own schedule is removed.\n");
    else
        off = add(buf, cap, off, "Saved: this server asks for a sweep every %s.\n", admin);
    if (v->source == CMD_INTERVAL_OPERATOR)
        off = add(buf, cap, off, "It does not apply for now: the bot's operator set this server's interval in "
                  "the configuration, which takes precedence. Your choice is kept and applies once they remove "
                  "theirs.\n");
    return off;
}

void commands_format_schedule(const commands_schedule_view *v, char *buf, size_t cap)
{
    char eff[64], when[40];
    size_t off = 0;
    if (!cap)
        return;
    buf[0] = '\0';
    if (v->op != CMD_SCHED_SHOW)
        off = put_change(v, buf, cap, off);
    commands_format_interval(v->effective_ms, eff, sizeof eff);
    off = add(buf, cap, off, "Sweep interval: %s, %s.", eff, source_text(v->source));
    if (v->op == CMD_SCHED_SHOW && v->admin_ms && v->source == CMD_INTERVAL_OPERATOR) {
        char admin[64];
        commands_format_interval(v->admin_ms, admin, sizeof admin);
        off = add(buf, cap, off, " This server's admins asked for %s, which applies if the operator removes "
                  "theirs.", admin);
    }
    if (v->next_run_ms) {
        time_t secs = (time_t)(v->next_run_ms / 1000);
        struct tm tm;
        if (v->next_run_ms <= v->now_wall_ms)
            off = add(buf, cap, off, " Next sweep: due now.");
        else if (gmtime_r(&secs, &tm) && strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm))
            off = add(buf, cap, off, " Next sweep: %s.", when);
    }
    if (v->op == CMD_SCHED_SHOW)
        add(buf, cap, off, "\nAdmins change it with a number of hours, or `default` to use the bot's default.");
}
