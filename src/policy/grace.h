/* grace.h - the grace period's decisions (#17), sans-I/O.
 *
 * With grace_hours above 0 a departure -- a member's GUILD_MEMBER_REMOVE, a
 * stale row a sweep found, a confirmed GUILD_DELETE or a guild left while
 * offline -- is marked pending with a due time instead of deleted; a
 * rejoin (GUILD_MEMBER_ADD of that member, GUILD_CREATE of that guild)
 * before then cancels it; at the due time the rows go (audit reason
 * grace_expired).  A dry run marks nothing: it counts what would go, as
 * without a grace period.  The daemon carries these out (daemon/grace_*.c),
 * the store keeps them (store/store_grace.h).
 *
 * The optional notice: one direct message to the member when the grace of
 * a member's departure starts (not for a guild, not in a dry run), at most
 * notify_per_minute a minute -- the rest are skipped and counted. */
#ifndef DC_GRACE_H
#define DC_GRACE_H

#include <stddef.h>
#include <stdint.h>
#include "config/config.h"
#include "proto/proto.h"

typedef struct {
    double grace_hours;              /* 0: delete at once */
    int dry_run;
    int notify;                      /* notify_departed = dm */
} grace_policy;

/* The policy of a configuration. */
grace_policy grace_policy_of(const config *cfg);

typedef enum {
    GRACE_DELETE_NOW,                /* as without a grace period (also every dry run) */
    GRACE_MARK,                      /* record it pending until due_ms */
} grace_verdict;

typedef struct {
    grace_verdict verdict;
    int64_t due_ms;                  /* GRACE_MARK: wall time it falls due */
    int notify;                      /* GRACE_MARK: send the member the notice */
} grace_plan;

/* What a departure (user_id 0: the whole guild) with reason why, decided at
 * wall time now_ms, does. */
grace_plan grace_on_departure(const grace_policy *p, audit_reason why, uint64_t user_id, int64_t now_ms);

/* Whether a record due at due_ms expires at now_ms. */
int grace_is_due(int64_t due_ms, int64_t now_ms);

/* How long the expiry timer sleeps until next_due_ms (0: nothing pending):
 * 0 when due, at most GRACE_MAX_SLEEP_MS (records another process on the
 * same database made are found by that look), -1 when there is nothing. */
#define GRACE_MAX_SLEEP_MS 600000
int64_t grace_sleep_ms(int64_t next_due_ms, int64_t now_ms);

/* ---- the notice ------------------------------------------------------------- */

/* The per-minute limit: a window of 60 s from its first notice. */
typedef struct {
    int64_t window_start_ms;
    int sent_in_window;
    int64_t sent, skipped;           /* since start */
} grace_notice_limit;

/* 1 when a notice may go now (counted as sent), 0 when the limit is
 * reached (counted as skipped).  per_minute 0 sends none. */
int grace_notice_take(grace_notice_limit *l, int per_minute, int64_t now_ms);

/* The notice's text: tmpl with {guild} (guild_name, or "a server" when
 * unknown), {hours} and {date} (due_ms as "YYYY-MM-DD HH:MM UTC")
 * replaced; cut to cap - 1 bytes.  The template was checked at start-up
 * (config_template_check): anything else in braces is copied as it is. */
void grace_format_notice(const char *tmpl, const char *guild_name, double hours, int64_t due_ms,
                         char *buf, size_t cap);

#endif
