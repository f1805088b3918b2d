/* turn_cap.c - see turn_cap.h. */
#include "turn_cap.h"

#include "daemon_internal.h"

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
