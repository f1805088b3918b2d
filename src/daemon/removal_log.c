/* removal_log.c - see removal_log.h. */
#include "daemon/removal_log.h"

#include <inttypes.h>

#include "daemon/daemon_internal.h"
#include "base/log.h"

static void write_summary(dc_daemon *d)
{
    if (d->unlogged_members == 0)
        return;
    LOG_I("cleaner", "%" PRId64 " member(s) left their guild in the last %.1f s: %" PRId64 " row(s) %s "
          "(details: cleaner_audit, or log_level debug)", d->unlogged_members,
          (double)(loop_now(d->loop) - d->unlogged_since_ms) / 1000.0, d->unlogged_rows,
          d->cfg->dry_run ? "would be deleted (dry run)" : "deleted");
    d->unlogged_members = d->unlogged_rows = 0;
}

static void on_removal_timer(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, removal_timer);
    d->removal_timer_armed = 0;
    write_summary(d);
}

void removal_log_note(dc_daemon *d, int64_t rows)
{
    d->unlogged_members++;
    d->unlogged_rows += rows;
    /* The window opens with its first delete, so a lone departure is
     * reported within one interval and a quiet daemon never wakes up. */
    if (!d->removal_timer_armed) {
        d->removal_timer_armed = 1;
        d->unlogged_since_ms = loop_now(d->loop);
        loop_timer(d->loop, &d->removal_timer, on_removal_timer, REMOVAL_LOG_INTERVAL_MS);
    }
}

void removal_log_flush(dc_daemon *d)
{
    if (d->removal_timer_armed && d->loop)
        loop_cancel(d->loop, &d->removal_timer);
    d->removal_timer_armed = 0;
    write_summary(d);
}
