/* checkpoint.c - see checkpoint.h. */
#include "daemon/checkpoint.h"

#include "base/log.h"

int checkpoint_start(checkpoint *ck, dc_loop *loop, store *st)
{
    ck->loop = loop;
    ck->st = st;
    if (store_set_manual_checkpoints(st) == DC_OK)
        return 0;
    LOG_E("store", "%s", store_errmsg(st));
    return -1;
}

static void on_idle(dc_timer *t)
{
    checkpoint *ck = lws_container_of(t, checkpoint, timer);
    if (ck->st)
        store_checkpoint_request(ck->st);
}

static void report_failures(checkpoint *ck)
{
    char msg[160];
    int failures = store_checkpoint_failures(ck->st, msg, sizeof msg);
    if (failures != ck->failures) {
        ck->failures = failures;
        LOG_W("store", "a WAL checkpoint failed (%d so far; the WAL grows until one succeeds): %s", failures, msg);
    }
}

void checkpoint_after_commit(checkpoint *ck)
{
    int frames = store_wal_frames(ck->st);
    if (frames < CKPT_MIN_FRAMES)
        return;                      /* the usual case: no lock taken per commit */
    /* A failed checkpoint leaves the WAL this big, so it is reported here. */
    report_failures(ck);
    if (frames >= CKPT_FORCE_FRAMES) {
        /* The thread copies the bulk; the last frames are copied here so
         * the next turn starts the WAL over (the store's SQLite backend, store_sqlite_wal.c). */
        int tail = store_checkpoint_tail(ck->st, CKPT_TAIL_FRAMES);
        if (tail < 0)
            LOG_W("store", "a WAL checkpoint failed: %s", store_errmsg(ck->st));
        else if (tail == 1)
            LOG_D("store", "WAL of %d pages copied back; the next turn starts it over", frames);
        if (tail != 1)
            store_checkpoint_request(ck->st);
    } else {
        loop_timer(ck->loop, &ck->timer, on_idle, CKPT_IDLE_MS);   /* re-armed by every commit */
    }
}

void checkpoint_cancel(checkpoint *ck)
{
    if (ck->loop)
        loop_cancel(ck->loop, &ck->timer);
    ck->st = NULL;
}
