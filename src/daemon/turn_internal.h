/* turn_internal.h - what turn.c, turn_flush.c and turn_cap.c share (the turn
 * module's own; see turn.h). */
#ifndef DC_TURN_INTERNAL_H
#define DC_TURN_INTERNAL_H

#include "daemon/turn.h"

/* Open the turn's transaction (once) and arm its COMMIT; never takes a
 * commit's outcome.  -1 when held, or while a commit is in flight (the
 * turn is then opened when its outcome arrives). */
int turn_open(struct dc_daemon *d);
/* A commit in flight whose outcome the store has already: delivered now
 * (turn_flush.c), for callers that must know before they go on. */
void turn_take_outcome(struct dc_daemon *d);
/* The turn's COMMIT went through: its writes leave the journal (turn.c). */
void turn_committed(struct dc_daemon *d);
/* Roll the turn back, keep its writes and arm the retry (turn.c): what
 * failed, why (1 busy, 2 disk full, 3 a write failed half-way), the
 * database's message. */
void turn_hold(struct dc_daemon *d, const char *what, int why, const char *msg);
/* After a commit's outcome: the writes that waited for it run (turn.c). */
void turn_run_queued(struct dc_daemon *d);
/* A turn committed: its member deletes' rows join the removal counts and
 * the summary log (turn.c), on every backend at the outcome. */
void turn_count_members(struct dc_daemon *d, const store_member_totals *t);
/* Commit now when the open turn holds its cap of dispatches (turn_cap.c). */
void turn_cap_check(struct dc_daemon *d);

#endif
