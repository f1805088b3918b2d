/* removal_log.c - see removal_log.h. */
#include "daemon/removal_log.h"

#include <inttypes.h>

#include "base/log.h"
#include "base/metrics.h"
#include "proto/metric_defs.h"

static void write_summary(removal_log *rl)
{
    if (rl->members == 0)
        return;
    log_fields f = LOG_FIELDS_INIT;
    f.rows = rl->rows;
    f.duration_ms = loop_now(rl->loop) - rl->since_ms;
    LOG_IF("cleaner", &f, "%" PRId64 " member(s) left their guild in the last %.1f s: %" PRId64 " row(s) %s "
          "(details: cleaner_audit, or log_level debug)", rl->members,
          (double)(loop_now(rl->loop) - rl->since_ms) / 1000.0, rl->rows,
          rl->dry_run ? "would be deleted (dry run)" : "deleted");
    rl->members = rl->rows = 0;
}

static void on_removal_timer(dc_timer *t)
{
    removal_log *rl = lws_container_of(t, removal_log, timer);
    rl->armed = 0;
    write_summary(rl);
}

void removal_log_init(removal_log *rl, int dry_run)
{
    *rl = (removal_log){ .dry_run = dry_run };
}

void removal_log_note(removal_log *rl, dc_loop *loop, int64_t members, int64_t rows)
{
    rl->members += members;
    rl->rows += rows;
    /* The window opens with its first delete, so a lone departure is
     * reported within one interval and a quiet daemon never wakes up. */
    if (!rl->armed) {
        rl->armed = 1;
        rl->loop = loop;
        rl->since_ms = loop_now(loop);
        loop_timer(loop, &rl->timer, on_removal_timer, REMOVAL_LOG_INTERVAL_MS);
    }
}

void removal_log_count(removal_log *rl, audit_reason why, int64_t rows)
{
    if ((int)why >= 0 && (int)why < AUDIT_REASON_COUNT)
        rl->removed[why] += rows;
}

void removal_log_totals(const removal_log *rl, int64_t out[AUDIT_REASON_COUNT])
{
    for (int i = 0; i < AUDIT_REASON_COUNT; i++)
        out[i] = rl->removed[i];
}

void removal_log_committed(removal_log *rl)
{
    for (int i = 0; i < AUDIT_REASON_COUNT; i++) {
        int64_t gained = rl->removed[i] - rl->published[i];
        if (gained <= 0)
            continue;
        if (!rl->dry_run)
            metrics_inc(MX_ROWS_DELETED, audit_reason_name((audit_reason)i), (uint64_t)gained);
        rl->published[i] = rl->removed[i];
    }
}

void removal_log_flush(removal_log *rl)
{
    if (rl->armed)
        loop_cancel(rl->loop, &rl->timer);
    rl->armed = 0;
    write_summary(rl);
}
