/* grace.c - the grace period's decisions and the notice's text and limit
 * (grace.h, #17); no I/O. */
#include "policy/grace.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

grace_policy grace_policy_of(const config *cfg)
{
    return (grace_policy){ .grace_hours = cfg->grace_hours, .dry_run = cfg->dry_run,
                           .notify = cfg->notify_departed == CONFIG_NOTIFY_DM };
}

grace_plan grace_on_departure(const grace_policy *p, audit_reason why, uint64_t user_id, int64_t now_ms)
{
    grace_plan plan = { .verdict = GRACE_DELETE_NOW };
    if (p->grace_hours <= 0 || p->dry_run || why == AUDIT_GRACE_EXPIRED)
        return plan;
    int64_t ms = (int64_t)llround(p->grace_hours * 3600000.0);
    plan.verdict = GRACE_MARK;
    plan.due_ms = now_ms + (ms > 0 ? ms : 1);
    /* a member who left just now may still share a server with the bot; a
     * sweep's stale rows are of members long gone, a guild has no one */
    plan.notify = p->notify && user_id != 0 && why == AUDIT_MEMBER_REMOVE;
    return plan;
}

int grace_is_due(int64_t due_ms, int64_t now_ms)
{
    return due_ms <= now_ms;
}

int64_t grace_sleep_ms(int64_t next_due_ms, int64_t now_ms)
{
    if (next_due_ms <= 0)
        return -1;
    int64_t wait = next_due_ms - now_ms;
    return wait <= 0 ? 0 : wait > GRACE_MAX_SLEEP_MS ? GRACE_MAX_SLEEP_MS : wait;
}

int grace_notice_take(grace_notice_limit *l, int per_minute, int64_t now_ms)
{
    if (l->sent_in_window == 0 || now_ms - l->window_start_ms >= 60000 || now_ms < l->window_start_ms) {
        l->window_start_ms = now_ms;
        l->sent_in_window = 0;
    }
    if (l->sent_in_window >= per_minute) {
        l->skipped++;
        return 0;
    }
    l->sent_in_window++;
    l->sent++;
    return 1;
}

static void format_date(int64_t ms, char *buf, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, cap, "?");
}

void grace_format_notice(const char *tmpl, const char *guild_name, double hours, int64_t due_ms,
                         char *buf, size_t cap)
{
    char date[40], h[32];
    size_t o = 0;
    if (!cap)
        return;
    format_date(due_ms, date, sizeof date);
    snprintf(h, sizeof h, "%g", hours);
    for (const char *p = tmpl; *p && o + 1 < cap;) {
        const char *with = NULL;
        size_t skip = 1;
        if (strncmp(p, "{guild}", 7) == 0)
            with = guild_name && *guild_name ? guild_name : "a server", skip = 7;
        else if (strncmp(p, "{hours}", 7) == 0)
            with = h, skip = 7;
        else if (strncmp(p, "{date}", 6) == 0)
            with = date, skip = 6;
        if (!with) {
            buf[o++] = *p++;
            continue;
        }
        int n = snprintf(buf + o, cap - o, "%s", with);
        o += n < 0 ? 0 : (size_t)n < cap - o ? (size_t)n : cap - o - 1;
        p += skip;
    }
    buf[o] = '\0';
}
