/* turn_cap.c - see turn_cap.h. */
#include "turn_cap.h"

#include "daemon_internal.h"

void turn_event_done(dc_daemon *d)
{
    if (++d->turn_events >= TURN_MAX_EVENTS && d->st && store_in_transaction(d->st))
        daemon_flush(d);
}
