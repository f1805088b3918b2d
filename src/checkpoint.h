/* checkpoint.h - copy the WAL back into the database when writes pause.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL
 * past 1000 pages, so one turn of a removal burst pays for copying and
 * syncing everything before it (the worst send->commit latencies of
 * make bench's burst).  The daemon instead checkpoints once no turn has
 * committed for CKPT_IDLE_MS, or at once if the WAL grows past
 * CKPT_FORCE_FRAMES (a burst that never pauses must not grow it forever). */
#ifndef DC_CHECKPOINT_H
#define DC_CHECKPOINT_H

#define CKPT_MIN_FRAMES 1000         /* SQLite's own threshold */
#define CKPT_IDLE_MS 200
#define CKPT_FORCE_FRAMES 16384      /* 64 MiB of 4 KiB pages */

typedef struct dc_daemon dc_daemon;

/* After every successful turn COMMIT. */
void checkpoint_after_commit(dc_daemon *d);
/* At shutdown: cancel the pending one (closing the store checkpoints). */
void checkpoint_cancel(dc_daemon *d);

#endif
