/* loop_virtual.h - the dc_loop behind `replay`: a virtual clock moved by the
 * replay driver, timers fired in due order as it moves, and REST answered
 * by a stand-in instead of the network.
 *
 * Time only moves when the driver says so (loop_virtual_run_until); timers
 * due at the same moment fire in the order they were armed, so a replay is
 * deterministic.  A REST request is answered at once by the responder, but
 * its callback runs from a timer (0 ms later), as `done is never called from
 * inside rest_request` promises. */
#ifndef DC_LOOP_VIRTUAL_H
#define DC_LOOP_VIRTUAL_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"

/* Answer one REST request: set *status and *body (malloc'd JSON text, or
 * NULL for an empty body).  The request is also the place to capture it. */
typedef void (*vloop_responder)(void *ctx, const char *method, const char *path, const char *json_body,
                                long *status, char **body);

/* mono0: the monotonic time the clock starts at; wall0: the wall clock then. */
dc_err loop_virtual_init(dc_loop *l, int64_t mono0, int64_t wall0, vloop_responder answer, void *ctx);
/* Drops pending timers and unanswered REST callbacks (never called). */
void loop_virtual_free(dc_loop *l);

/* Fire every timer due at or before t, each at its own due time, then
 * leave the clock at t (never moves backwards).  Returns the timers fired. */
size_t loop_virtual_run_until(dc_loop *l, int64_t t);
/* Due time of the earliest armed timer; INT64_MAX when none. */
int64_t loop_virtual_next_due(dc_loop *l);
/* Armed timers (the replay uses it to tell when nothing is left to do). */
size_t loop_virtual_armed(dc_loop *l);

#endif
