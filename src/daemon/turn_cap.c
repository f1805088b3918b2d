/* turn_cap.c - see turn_cap.h. */
#include "daemon/turn_cap.h"

#include "daemon/commit_trace.h"
#include "daemon/daemon_internal.h"
#include "daemon/turn_internal.h"

#define mono_us commit_trace_clock   /* CLOCK_MONOTONIC, µs */

void turn_event_done(dc_daemon *d)
{
    d->turn.events++;
    turn_cap_check(d);
}

void turn_cap_check(dc_daemon *d)
{
    int cap = d->turn.max_events > 0 ? d->turn.max_events : TURN_MAX_EVENTS;
    if (d->turn.events >= cap && d->st && store_in_transaction(d->st))
        turn_flush(d);
}

void turn_set_max_events(dc_daemon *d, int max_events)
{
    d->turn.max_events = max_events;
}

int64_t turn_flush_delay(const dc_daemon *d)
{
    int64_t since = loop_now(d->loop) - d->turn.last_commit_ms;
    return since >= TURN_MIN_GAP_MS || since < 0 ? 0 : TURN_MIN_GAP_MS - since;
}

int64_t turn_flush_arm(dc_daemon *d)
{
    int64_t delay = turn_flush_delay(d);
    d->turn.flush_due_us = 0;
    if (delay <= 0 || !d->loop->lws)
        return delay;                /* before the loop sleeps; replay: virtual time */
    d->turn.flush_due_us = mono_us() + delay * 1000;
    return delay + 1;                /* the fallback, should the main loop not run */
}

void turn_flush_if_due(dc_daemon *d)
{
    if (d->turn.flush_armed && d->turn.flush_due_us && mono_us() >= d->turn.flush_due_us)
        turn_flush(d);
}
