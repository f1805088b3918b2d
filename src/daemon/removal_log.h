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

#include "loop/loop.h"
#include "proto/proto.h"

/* The summary being gathered; only removal_log.c reads or writes it. */
typedef struct {
    int dry_run;                     /* "would be deleted" */
    dc_loop *loop;                   /* of the open window */
    dc_timer timer;
    int armed;
    int64_t members, rows, since_ms; /* not logged yet */
    int64_t removed[AUDIT_REASON_COUNT];   /* rows removed since start, by audit_reason */
    int64_t published[AUDIT_REASON_COUNT]; /* what removal_log_committed has counted */
} removal_log;

void removal_log_init(removal_log *rl, int dry_run);
/* members members' rows were deleted (or counted, in a dry run): rows in all. */
void removal_log_note(removal_log *rl, dc_loop *loop, int64_t members, int64_t rows);
/* Rows removed (rows < 0: a rolled-back turn takes its count back), and
 * the totals since start by reason (!cleanup_status, replay). */
void removal_log_count(removal_log *rl, audit_reason why, int64_t rows);
void removal_log_totals(const removal_log *rl, int64_t out[AUDIT_REASON_COUNT]);
/* A turn committed: what removed[] gained since the last commit (a
 * rolled-back turn took its part back) goes to
 * discord_cleaner_rows_deleted_total; nothing in a dry run. */
void removal_log_committed(removal_log *rl);
/* Write the pending summary now and stop its timer (shutdown). */
void removal_log_flush(removal_log *rl);

#endif
