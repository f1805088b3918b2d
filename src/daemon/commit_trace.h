/* commit_trace.h - optional trace of every loop-turn COMMIT, for `make bench`.
 *
 * When $DISCORD_CLEANER_COMMIT_TRACE names a file, each committed turn
 * appends one line "events=E mono_us=T wakeups=W commit_us=C" (E:
 * dispatches received so far, T: CLOCK_MONOTONIC after the COMMIT returned,
 * W: lws_service() calls of the main loop so far, one poll each: a spinning
 * loop shows; C: how long the flush took, session rows and COMMIT).
 * The bench pairs these with the double's send stamps to get send->commit
 * latency while the daemon runs at the operator's log level.  Unset (the
 * normal case): one getenv at the first commit, nothing else. */
#ifndef DC_COMMIT_TRACE_H
#define DC_COMMIT_TRACE_H

#include <stdint.h>

/* CLOCK_MONOTONIC in µs (the trace's clock). */
int64_t commit_trace_clock(void);
/* started_us: commit_trace_clock() when the flush began. */
void commit_trace_note(int64_t events, int64_t wakeups, int64_t started_us);
/* Close the trace file (daemon exit); harmless when tracing is off. */
void commit_trace_close(void);

#endif
