/* guild_delete.h - the rows of a guild the bot left, deleted a slice at a
 * time (see guild_delete.c). */
#ifndef DC_GUILD_DELETE_H
#define DC_GUILD_DELETE_H

#include <stdint.h>
#include "base/err.h"
#include "loop/loop.h"
#include "store/store.h"

struct dc_daemon;

/* The slicer's state in the daemon; only guild_delete.c touches it (the
 * jobs themselves live in the database). */
typedef struct {
    dc_timer timer;                  /* the next slice */
} guild_delete_state;

/* Rows per slice: one slice (a DELETE on users and each clean table, then
 * COMMIT) must stay well inside a heartbeat's slack.  Measured with make
 * bench (guild_delete, 1,000,000 rows, 2 shared CPUs): worst heartbeat
 * lateness 25-56 ms, ~2 s in all (20,000 per slice: 52-56 ms, no faster);
 * the one statement it replaces held the loop 624 ms. */
#define GD_SLICE_ROWS 10000
#define GD_RETRY_MS 1000             /* the database is held: try again */
#define GD_ERROR_RETRY_MS 60000      /* a slice failed for a reason retrying does not cure soon */

/* In the turn (a journal write): guild_id's rows are to go, confirmed.
 * Records the job (kept if one runs already) and arms the slicer. */
dc_err guild_delete_begin(struct dc_daemon *d, uint64_t guild_id, audit_reason why, int64_t at_ms);
/* In the turn: guild_id is available again (GUILD_CREATE, READY).  A job of
 * it stops: its audit row counts what went (*rows), the rest stays and the
 * guild is marked for a sweep.  *rows = 0 when no job ran. */
dc_err guild_delete_guild_back(struct dc_daemon *d, uint64_t guild_id, int64_t *rows);
/* Start-up: continue the jobs a previous run left unfinished. */
void guild_delete_resume(struct dc_daemon *d);
void guild_delete_stop(struct dc_daemon *d);

#endif
