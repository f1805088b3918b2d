/* turn_cap.h - bound how many dispatches one loop turn's transaction holds.
 *
 * The daemon commits a turn when the loop is about to sleep (daemon.c:
 * flush timer).  Under a burst a single turn can hold everything the socket
 * had buffered; every event of it then waits for the last one before its
 * delete is committed.  After TURN_MAX_EVENTS dispatches the turn is
 * committed at once, between two events: the sequence number persisted
 * with it covers exactly the events whose deletes it holds. */
#ifndef DC_TURN_CAP_H
#define DC_TURN_CAP_H

/* Measured (make bench, burst and replay): fewer than ~100 events per
 * commit and COMMIT dominates; more than a few hundred and the first
 * event of a turn waits milliseconds for the last. */
#define TURN_MAX_EVENTS 256

typedef struct dc_daemon dc_daemon;

/* Call after a dispatch has been fully applied. */
void turn_event_done(dc_daemon *d);

#endif
