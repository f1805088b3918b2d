/* store_wal.c - who checkpoints the write-ahead log, and when.
 *
 * By default SQLite checkpoints inside the COMMIT that takes the WAL past
 * 1000 pages: that COMMIT copies the pages back into the database and syncs
 * both files, milliseconds during which a burst of removals waits.  The
 * daemon turns that off and checkpoints when writes pause (checkpoint.c);
 * the hook below tells it how big the WAL has grown. */
#include "store_int.h"

#include <stdio.h>

static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    ((store *)ctx)->wal_frames = frames;
    return SQLITE_OK;
}

void store_set_manual_checkpoints(store *s)
{
    /* sqlite3_wal_autocheckpoint would install its own hook over ours. */
    sqlite3_wal_hook(s->db, on_wal_commit, s);
}

int store_wal_frames(const store *s)
{
    return s->wal_frames;
}

dc_err store_checkpoint(store *s)
{
    if (s->tx_depth) {
        snprintf(s->errmsg, sizeof s->errmsg, "checkpoint inside a transaction");
        return DC_ERR_INTERNAL;
    }
    int log = 0, done = 0;
    /* PASSIVE: never waits for the bot's readers or writers; what it could
     * not copy is copied by the next one. */
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        return store_fail(s, rc, "checkpointing the write-ahead log");
    s->wal_frames = log > done ? log - done : 0;
    return DC_OK;
}
