/* checkpoint.c - see checkpoint.h. */
#include "daemon/checkpoint.h"

#include "daemon/daemon_internal.h"
#include "base/log.h"

int checkpoint_start(dc_daemon *d)
{
    if (store_set_manual_checkpoints(d->st) == DC_OK)
        return 0;
    LOG_E("store", "%s", store_errmsg(d->st));
    return -1;
}

static void on_idle(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, checkpoint_timer);
    if (d->st)
        store_checkpoint_request(d->st);
}

static void report_failures(dc_daemon *d)
{
    char msg[160];
    int failures = store_checkpoint_failures(d->st, msg, sizeof msg);
    if (failures != d->checkpoint_failures) {
        d->checkpoint_failures = failures;
        LOG_W("store", "a WAL checkpoint failed (%d so far; the WAL grows until one succeeds): %s", failures, msg);
    }
}

void checkpoint_after_commit(dc_daemon *d)
{
    int frames = store_wal_frames(d->st);
    if (frames < CKPT_MIN_FRAMES)
        return;                      /* the usual case: no lock taken per commit */
    /* A failed checkpoint leaves the WAL this big, so it is reported here. */
    report_failures(d);
    if (frames >= CKPT_FORCE_FRAMES) {
        /* The thread copies the bulk; the last frames are copied here so
         * the next turn starts the WAL over (the store's SQLite backend, store_sqlite_wal.c). */
        int tail = store_checkpoint_tail(d->st, CKPT_TAIL_FRAMES);
        if (tail < 0)
            LOG_W("store", "a WAL checkpoint failed: %s", store_errmsg(d->st));
        else if (tail == 1)
            LOG_D("store", "WAL of %d pages copied back; the next turn starts it over", frames);
        if (tail != 1)
            store_checkpoint_request(d->st);
    } else {
        loop_timer(d->loop, &d->checkpoint_timer, on_idle, CKPT_IDLE_MS);   /* re-armed by every commit */
    }
}

void checkpoint_cancel(dc_daemon *d)
{
    if (d->loop)
        loop_cancel(d->loop, &d->checkpoint_timer);
}
