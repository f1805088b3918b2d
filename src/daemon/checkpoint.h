/* checkpoint.h - when the daemon asks for a WAL checkpoint.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL
 * past 1000 pages, so one turn of a removal burst pays for copying and
 * syncing everything before it, and a checkpoint of a large WAL on the loop
 * thread held heartbeats back by a quarter of a second (make bench).  The
 * daemon's store checkpoints from a thread of its own instead (the SQLite
 * backend, store_sqlite_wal.c), asked once no turn has committed for
 * CKPT_IDLE_MS -- on a two-core machine a checkpoint running beside a
 * burst takes the core the burst's other half needs -- or at once when the
 * WAL passes CKPT_FORCE_FRAMES; past that, the loop copies back the last (at most
 * CKPT_TAIL_FRAMES) frames the thread has not, so that the WAL starts
 * over and a stream that never pauses cannot grow it forever. */
#ifndef DC_CHECKPOINT_H
#define DC_CHECKPOINT_H

#define CKPT_MIN_FRAMES 1000         /* SQLite's own threshold */
#define CKPT_IDLE_MS 200
#define CKPT_FORCE_FRAMES 16384      /* 64 MiB of 4 KiB pages */
#define CKPT_TAIL_FRAMES 2048        /* a few turns' worth: milliseconds to copy */

#include "loop/loop.h"
#include "store/store.h"

/* The daemon's checkpoint state; only checkpoint.c reads or writes it. */
typedef struct {
    dc_loop *loop;
    store *st;                       /* NULL: not started, or cancelled */
    dc_timer timer;                  /* the idle checkpoint */
    int failures;                    /* last count reported */
} checkpoint;

/* At start-up, once the store is open; -1 when the thread cannot start. */
int checkpoint_start(checkpoint *ck, dc_loop *loop, store *st);
/* After every successful turn COMMIT. */
void checkpoint_after_commit(checkpoint *ck);
/* At shutdown, or before the store is closed (closing it stops the thread
 * and checkpoints). */
void checkpoint_cancel(checkpoint *ck);

#endif
