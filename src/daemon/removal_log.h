/* removal_log.h - what the operator reads about event-driven deletes.
 *
 * One line per departed member is a debug line: during a burst of
 * 100,000 GUILD_MEMBER_REMOVE the lines themselves (format + write per
 * line) cost more than the deletes.  At info the daemon writes one summary
 * per REMOVAL_LOG_INTERVAL_MS instead, covering every delete of the window;
 * the audit table still has one row per deletion. */
#ifndef DC_REMOVAL_LOG_H
#define DC_REMOVAL_LOG_H

#include <stdint.h>

#define REMOVAL_LOG_INTERVAL_MS 10000

typedef struct dc_daemon dc_daemon;

/* A member's rows were deleted (or counted, in a dry run). */
void removal_log_note(dc_daemon *d, int64_t rows);
/* Write the pending summary now and stop its timer (shutdown). */
void removal_log_flush(dc_daemon *d);

#endif
