/* turn_cap.c - see turn_cap.h. */
#include "daemon/turn_cap.h"

#include "daemon/commit_trace.h"
#include "daemon/daemon_internal.h"

#define mono_us commit_trace_clock   /* CLOCK_MONOTONIC, µs */

void turn_event_done(dc_daemon *d)
{
    int cap = d->turn_max_events > 0 ? d->turn_max_events : TURN_MAX_EVENTS;
    if (++d->turn_events >= cap && d->st && store_in_transaction(d->st))
        daemon_flush(d);
}

int64_t turn_flush_delay(const dc_daemon *d)
{
    int64_t since = loop_now(d->loop) - d->last_commit_ms;
    return since >= TURN_MIN_GAP_MS || since < 0 ? 0 : TURN_MIN_GAP_MS - since;
}

int64_t turn_flush_arm(dc_daemon *d)
{
    int64_t delay = turn_flush_delay(d);
    d->flush_due_us = 0;
    if (delay <= 0 || !d->loop->lws)
        return delay;                /* before the loop sleeps; replay: virtual time */
    d->flush_due_us = mono_us() + delay * 1000;
    return delay + 1;                /* the fallback, should the main loop not run */
}

void turn_flush_if_due(dc_daemon *d)
{
    if (d->flush_armed && d->flush_due_us && mono_us() >= d->flush_due_us)
        daemon_flush(d);
}
