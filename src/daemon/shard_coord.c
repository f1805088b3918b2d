/* shard_coord.c - the process's shard leases and identify locks
 * (shard_coord.h): the adapter between the sans-I/O gateway's
 * GW_ACT_IDENTIFY_LOCK and the store's locks, and the lease timer.
 *
 * Leases are compared across hosts, so their times are wall-clock
 * milliseconds; an identify lock's hold is measured on the loop's
 * monotonic clock. */
#include "daemon/shard_coord.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/daemon_internal.h"

#define RENEW_TX_RETRY_MS 20             /* a turn's transaction is open: right after it */
#define RENEW_FAIL_RETRY_MS 1000
#define CLAIM_BUSY_MS 5000               /* start-up: wait this long for the database's lock */

const char *shard_coord_range(char *buf, size_t cap, int first, int last, int count)
{
    if (first == last)
        snprintf(buf, cap, "%d/%d", first, count);
    else
        snprintf(buf, cap, "%d-%d/%d", first, last, count);
    return buf;
}

void shard_coord_owner(store_lease_owner *me)
{
    memset(me, 0, sizeof *me);
    if (gethostname(me->host, sizeof me->host - 1) != 0 || !me->host[0])
        snprintf(me->host, sizeof me->host, "localhost");
    me->pid = (int64_t)getpid();
}

/* An owner on this host whose process no longer exists is gone. */
static int owner_gone(void *ctx, const store_lease_owner *o)
{
    const store_lease_owner *me = ctx;
    if (strcmp(o->host, me->host) != 0 || o->pid <= 0)
        return 0;
    return kill((pid_t)o->pid, 0) != 0 && errno == ESRCH;
}

/* ---- leases ------------------------------------------------------------------ */

static void refuse_line(dc_daemon *d, const store_lease_holder *h, int first, int last, int count)
{
    char mine[48], theirs[48], until[32] = "?";
    time_t t = (time_t)(h->expires_ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(until, sizeof until, "%H:%M:%S UTC", &tm);
    int64_t left = (h->expires_ms - loop_wall(d->loop) + 999) / 1000;
    char msg[768];
    snprintf(msg, sizeof msg, "shards %s: %s pid %lld runs shards %s of this bot (its lease expires at %s, "
             "in %lld s unless renewed); stop it or give this process a range of its own",
             shard_coord_range(mine, sizeof mine, first, last, count), h->owner.host, (long long)h->owner.pid,
             shard_coord_range(theirs, sizeof theirs, h->first, h->last, h->count), until,
             (long long)(left > 0 ? left : 0));
    fprintf(stderr, "discord-cleaner: %s\n", msg);
    LOG_E("daemon", "%s", msg);
}

static void on_renew(dc_timer *t);

static void renew_in(dc_daemon *d, int64_t ms)
{
    loop_timer(d->loop, &d->coord.renew_timer, on_renew, ms);
}

static void on_renew(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, coord.renew_timer);
    shard_coord *c = &d->coord;
    if (!c->leased || d->stopping)
        return;
    if (store_in_transaction(d->st)) {       /* never ride on a turn that may roll back */
        renew_in(d, RENEW_TX_RETRY_MS);
        return;
    }
    if (turn_commit_waits(d)) {              /* a statement now would wait for the COMMIT's answer */
        renew_in(d, RENEW_FAIL_RETRY_MS);
        return;
    }
    int held = 0;
    if (store_lease_renew(d->st, &c->me, c->first, c->last, c->count, loop_wall(d->loop), SHARD_LEASE_TTL_MS,
                          &held) != DC_OK) {
        LOG_W("daemon", "cannot renew the shard leases (%s); trying again", store_errmsg(d->st));
        renew_in(d, RENEW_FAIL_RETRY_MS);
        return;
    }
    if (held < c->last - c->first + 1) {
        char r[48];
        LOG_E("daemon", "the leases of shards %s were taken over by another process (this one could not "
              "renew them in time); stopping", shard_coord_range(r, sizeof r, c->first, c->last, c->count));
        c->leased = 0;                       /* not ours to release */
        daemon_request_stop(d, 75);
        return;
    }
    renew_in(d, SHARD_LEASE_RENEW_MS);
}

int shard_coord_claim(dc_daemon *d, int first, int last, int count)
{
    shard_coord *c = &d->coord;
    shard_coord_owner(&c->me);
    store_lease_holder h;
    /* Several processes start at once: the claim waits for the table's lock
     * (before any shard connects, so no heartbeat is due yet). */
    store_set_busy_timeout(d->st, CLAIM_BUSY_MS);
    store_set_answer_wait(d->st, 0);
    dc_err e = store_lease_claim(d->st, &c->me, first, last, count, loop_wall(d->loop), SHARD_LEASE_TTL_MS,
                                 owner_gone, &c->me, &h);
    store_set_busy_timeout(d->st, TURN_BUSY_TIMEOUT_MS);
    if (!loop_waits_inline(d->loop))
        store_set_answer_wait(d->st, TURN_ANSWER_WAIT_MS);
    if (e == DC_ERR_CONFIG) {
        refuse_line(d, &h, first, last, count);
        return 78;
    }
    if (e != DC_OK) {
        fprintf(stderr, "discord-cleaner: cannot claim the shard leases: %s\n", store_errmsg(d->st));
        LOG_E("daemon", "cannot claim the shard leases: %s", store_errmsg(d->st));
        return dc_err_exit_status(e);
    }
    c->leased = 1;
    /* The identify lock's connection opens now, without waiting: the first
     * IDENTIFY asks again (GW_IDENTIFY_LOCK_RETRY_MS) until it is ready. */
    if (store_identify_prepare(d->st) != DC_OK)
        LOG_W("daemon", "identify lock: %s; trying again at the first IDENTIFY", store_errmsg(d->st));
    c->first = first;
    c->last = last;
    c->count = count;
    char r[48];
    LOG_I("daemon", "shards %s leased by %s pid %lld (renewed every %d s, expiring %d s after)",
          shard_coord_range(r, sizeof r, first, last, count), c->me.host, (long long)c->me.pid,
          SHARD_LEASE_RENEW_MS / 1000, SHARD_LEASE_TTL_MS / 1000);
    if (d->lws)
        renew_in(d, SHARD_LEASE_RENEW_MS);   /* else shard_coord_start, once the loop exists */
    return 0;
}

void shard_coord_start(dc_daemon *d)
{
    if (d->coord.leased)
        renew_in(d, SHARD_LEASE_RENEW_MS);
}

/* ---- identify locks ------------------------------------------------------------ */

static void on_unlock(dc_timer *t);

static void arm_unlock(dc_daemon *d)
{
    shard_coord *c = &d->coord;
    int64_t next = INT64_MAX;
    for (int i = 0; i < c->n_held; i++)
        if (c->held[i].release_at < next)
            next = c->held[i].release_at;
    if (next == INT64_MAX)
        loop_cancel(d->loop, &c->unlock_timer);
    else
        loop_timer(d->loop, &c->unlock_timer, on_unlock, next - loop_now(d->loop));
}

static void release_held(dc_daemon *d, int64_t now)
{
    shard_coord *c = &d->coord;
    for (int i = 0; i < c->n_held;) {
        if (c->held[i].release_at > now) {
            i++;
            continue;
        }
        if (store_identify_unlock(d->st, c->held[i].bucket) != DC_OK)
            LOG_W("daemon", "identify lock of bucket %d: %s", c->held[i].bucket, store_errmsg(d->st));
        c->held[i] = c->held[--c->n_held];
    }
}

static void on_unlock(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, coord.unlock_timer);
    release_held(d, loop_now(d->loop));
    arm_unlock(d);
}

int shard_coord_identify_lock(dc_daemon *d, int bucket)
{
    shard_coord *c = &d->coord;
    for (int i = 0; i < c->n_held; i++)
        if (c->held[i].bucket == bucket)
            return 0;                        /* one of ours identified in it: its 5 s first */
    if (c->n_held == SHARD_COORD_MAX_HELD)
        return 0;
    int got = 0;
    if (store_identify_lock(d->st, bucket, SHARD_IDENTIFY_HOLD_MS, &got) != DC_OK) {
        if (!c->lock_failed_logged)
            LOG_W("daemon", "identify lock of bucket %d: %s; trying again", bucket, store_errmsg(d->st));
        c->lock_failed_logged = 1;
        return 0;
    }
    c->lock_failed_logged = 0;
    if (!got)
        return 0;
    c->held[c->n_held].bucket = bucket;
    c->held[c->n_held++].release_at = loop_now(d->loop) + SHARD_IDENTIFY_HOLD_MS;
    arm_unlock(d);
    return 1;
}

void shard_coord_stop(dc_daemon *d)
{
    shard_coord *c = &d->coord;
    if (d->loop) {
        loop_cancel(d->loop, &c->renew_timer);
        loop_cancel(d->loop, &c->unlock_timer);
    }
    if (!d->st)
        return;
    release_held(d, INT64_MAX);
    /* The loop has ended: nothing waits behind this write, and processes
     * stopped together (systemd stopping every instance) contend for
     * SQLite's write lock, which the loop's 20 ms would give up on. */
    store_set_busy_timeout(d->st, TURN_STOP_BUSY_MS);
    store_set_answer_wait(d->st, TURN_STOP_ANSWER_WAIT_MS);
    if (c->leased && store_lease_release(d->st, &c->me) != DC_OK)
        LOG_W("daemon", "cannot release the shard leases (%s); they expire in %d s",
              store_errmsg(d->st), SHARD_LEASE_TTL_MS / 1000);
    c->leased = 0;
}
