/* checkpoint.c - see checkpoint.h. */
#include "checkpoint.h"

#include "daemon_internal.h"
#include "log.h"

static void run(dc_daemon *d)
{
    int before = store_wal_frames(d->st);
    if (store_checkpoint(d->st) != DC_OK)
        LOG_W("store", "checkpoint failed (retried after the next commit): %s", store_errmsg(d->st));
    else
        LOG_D("store", "checkpoint: WAL %d -> %d page(s)", before, store_wal_frames(d->st));
}

static void on_idle(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, checkpoint_timer);
    if (!d->st)
        return;
    if (store_in_transaction(d->st)) {      /* a turn is open: not idle after all */
        loop_timer(d->loop, &d->checkpoint_timer, on_idle, CKPT_IDLE_MS);
        return;
    }
    run(d);
}

void checkpoint_after_commit(dc_daemon *d)
{
    int frames = store_wal_frames(d->st);
    if (frames >= CKPT_FORCE_FRAMES && !store_in_transaction(d->st))
        run(d);
    else if (frames >= CKPT_MIN_FRAMES)
        loop_timer(d->loop, &d->checkpoint_timer, on_idle, CKPT_IDLE_MS);   /* re-armed by every commit */
}

void checkpoint_cancel(dc_daemon *d)
{
    if (d->loop)
        loop_cancel(d->loop, &d->checkpoint_timer);
}
