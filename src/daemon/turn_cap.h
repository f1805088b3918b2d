/* turn_cap.h - how big one loop turn's transaction grows.
 *
 * The daemon commits a turn when the loop is about to sleep (turn_flush.c:
 * flush timer), but not sooner than TURN_MIN_GAP_MS after the previous
 * COMMIT: a COMMIT writes every page the turn touched to the WAL (~26
 * pages, two pwrite calls each, whether the turn held 10 events or 300),
 * so under a burst commits one pass of the socket at a time cost more than
 * the deletes themselves.  An event after a quiet spell is committed at
 * once.  Under a burst a single turn could hold everything the socket had
 * buffered; every event of it then waits for the last one before its
 * delete is committed.  After TURN_MAX_EVENTS dispatches the turn is
 * committed at once, between two events: the sequence number persisted
 * with it covers exactly the events whose deletes it holds. */
#ifndef DC_TURN_CAP_H
#define DC_TURN_CAP_H

#include <stdint.h>

/* Measured (make bench, burst and replay): fewer than ~100 events per
 * commit and COMMIT dominates; more than a few hundred and the first
 * event of a turn waits milliseconds for the last. */
#define TURN_MAX_EVENTS 512
#define TURN_MIN_GAP_MS 2

typedef struct dc_daemon dc_daemon;

/* Call after a dispatch has been fully applied. */
void turn_event_done(dc_daemon *d);
/* Commit after this many dispatches instead (replay; 0: TURN_MAX_EVENTS). */
void turn_set_max_events(dc_daemon *d, int max_events);
/* How long the turn being opened may wait before its COMMIT (ms). */
int64_t turn_flush_delay(const dc_daemon *d);
/* The flush timer's delay (ms) for the turn being opened.  On the live loop
 * a delayed COMMIT is armed 1 ms late and turn_flush_if_due commits it on
 * time: libwebsockets 4.1.6 rounds its poll timeout down to whole
 * milliseconds (lib/plat/unix/unix-service.c), so a timer due in 0.6 ms
 * made it call poll(0) over and over until then -- 21,000 empty polls in a
 * 10,000-event burst from an aiohttp server, a third of the daemon's CPU,
 * taken from the sender on a two-CPU machine.  Armed late, the poll sleeps
 * whole milliseconds past the due time or until data arrives. */
int64_t turn_flush_arm(dc_daemon *d);
/* Live main loop, after each lws_service(): COMMIT a delayed turn whose
 * time has come. */
void turn_flush_if_due(dc_daemon *d);

#endif
