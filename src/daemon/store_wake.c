/* store_wake.c - the store's socket wakes the daemon's loop (store_wake.h).
 *
 * store_watch says what the store waits for: its socket readable (always
 * while connected: a result, a notice, the server closing it), writable
 * while libpq holds output it could not send, a reconnect's next step, and
 * a deadline (the backoff before a reconnect, a COMMIT's answer deadline).
 * The loop watches that socket (loop_watch: raw-file adoption in lws) and a
 * timer for the deadline; either one arms a 0 ms timer that runs
 * store_service and then the turn's outcome handling (turn_store_woke), so
 * nothing is serviced from inside an lws callback.  An idle daemon on
 * PostgreSQL sleeps until the server sends something; a COMMIT's outcome is
 * handled the moment its answer arrives, not up to 10 ms later.
 *
 * SQLite has no socket and nothing due: nothing is watched and its path is
 * unchanged.  A loop that cannot watch descriptors (replay's virtual loop)
 * watches nothing either: there the turn waits inline as before. */
#include "daemon/store_wake.h"

#include "daemon/daemon_internal.h"
#include "daemon/turn.h"

static void on_kick(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, wake.kick);
    turn_store_woke(d);
    store_wake_update(d);
}

static void on_socket(dc_watch *w)
{
    dc_daemon *d = lws_container_of(w, dc_daemon, wake.watch);
    store_wake *k = &d->wake;
    if (w->fd < 0) {                 /* the loop dropped it (hung up): the store reads why */
        k->hup_gen = k->gen;
        k->watching = 0;
    }
    loop_timer(d->loop, &k->kick, on_kick, 0);
}

static void on_due(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, wake.due);
    loop_timer(d->loop, &d->wake.kick, on_kick, 0);
}

static int watch_socket(dc_daemon *d, const store_watch_info *wi)
{
    store_wake *k = &d->wake;
    if (wi->fd < 0 || wi->gen == k->hup_gen || (!wi->want_read && !wi->want_write)) {
        loop_unwatch(d->loop, &k->watch);
        return k->watching = 0;
    }
    if (k->watching && k->gen != wi->gen)
        loop_unwatch(d->loop, &k->watch);     /* a new socket, maybe under the same number */
    k->gen = wi->gen;
    k->watching = loop_watch(d->loop, &k->watch, wi->fd, wi->want_write, on_socket) == 0;
    return k->watching;
}

int store_wake_update(dc_daemon *d)
{
    if (!d->st || !d->loop || !d->loop->ops->watch)
        return 0;
    store_watch_info wi;
    store_watch(d->st, &wi);
    int watched = watch_socket(d, &wi);
    if (wi.due_in_ms >= 0)
        loop_timer(d->loop, &d->wake.due, on_due, wi.due_in_ms);
    else
        loop_cancel(d->loop, &d->wake.due);
    return watched;
}

void store_wake_stop(dc_daemon *d)
{
    if (!d->loop)
        return;
    loop_unwatch(d->loop, &d->wake.watch);
    loop_cancel(d->loop, &d->wake.kick);
    loop_cancel(d->loop, &d->wake.due);
    d->wake.watching = 0;
}
