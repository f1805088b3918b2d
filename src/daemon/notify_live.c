/* notify_live.c - what the daemon tells systemd (notify_live.h).
 *
 * A poll timer on the daemon's loop compares the shards' states with what
 * was last said: READY=1 the first time every shard is READY, a STATUS=
 * line whenever the summary changes (connecting, ready with N guilds,
 * sweeping guild X k/N, reconnecting shard X).  The watchdog timer fires
 * every WATCHDOG_USEC/2 from the same loop -- a wedged loop never fires it
 * -- and pings only when the loop turned since the last tick and every
 * shard's heartbeats are acknowledged (notify_heartbeats_ok), so a daemon
 * whose gateway went silent is restarted by systemd. */
#include "daemon/notify_live.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/sd_notify.h"
#include "daemon/daemon_internal.h"

static void send_msg(const char *msg)
{
    if (sd_notify_send(msg) < 0)
        LOG_D("notify", "sd_notify failed: %s", msg);
}

static int count_guild(void *ctx, uint64_t guild_id)
{
    (void)guild_id;
    (*(int *)ctx)++;
    return 0;
}

static void shard_range(const dc_daemon *d, char *buf, size_t cap)
{
    if (d->n_shards == 1)
        snprintf(buf, cap, "shard %d", d->shards[0].id);
    else
        snprintf(buf, cap, "shards %d-%d", d->shards[0].id, d->shards[d->n_shards - 1].id);
}

/* "sweeping guild X k/N" for the first shard with a sweep running; 0 when none. */
static int sweeping(dc_daemon *d, char *buf, size_t cap)
{
    for (int i = 0; i < d->n_shards; i++) {
        shard *s = &d->shards[i];
        if (!s->rc.sw || sweep_get_state(s->rc.sw) == SW_IDLE)
            continue;
        char label[160];
        int seen = 0, count = 0;
        int64_t members = 0, removed = 0, stale = 0;
        sweep_progress(s->rc.sw, &seen, &count, &members, &removed, &stale);
        reconcile_guild_label(d, sweep_guild(s->rc.sw), label, sizeof label);
        snprintf(buf, cap, "sweeping guild %s %d/%d", label, seen, count);
        return 1;
    }
    return 0;
}

/* The STATUS= text for now. */
static void summary(dc_daemon *d, int all_ready, char *buf, size_t cap)
{
    char range[48];
    if (d->n_shards == 0) {
        snprintf(buf, cap, "connecting");
        return;
    }
    shard_range(d, range, sizeof range);
    if (all_ready && sweeping(d, buf, cap))
        return;
    if (all_ready) {
        int guilds = 0;
        reconcile_each_guild(d, count_guild, &guilds);
        snprintf(buf, cap, "ready: %d guild%s on %s", guilds, guilds == 1 ? "" : "s", range);
        return;
    }
    for (int i = 0; i < d->n_shards && d->notify.ready_sent; i++)
        if (!d->shards[i].gw || gateway_get_state(d->shards[i].gw) != GW_READY) {
            snprintf(buf, cap, "reconnecting shard %d", d->shards[i].id);
            return;
        }
    snprintf(buf, cap, "connecting: %s", range);
}

static void send_status(dc_daemon *d, const char *prefix, int force)
{
    char text[256], msg[320];
    summary(d, d->notify.was_ready, text, sizeof text);
    if (!force && strcmp(text, d->notify.status) == 0)
        return;
    snprintf(d->notify.status, sizeof d->notify.status, "%s", text);
    snprintf(msg, sizeof msg, "%sSTATUS=%s", prefix, text);
    send_msg(msg);
}

static void remember_intervals(dc_daemon *d)
{
    for (int i = 0; i < d->n_shards && i < 64; i++) {
        int64_t iv = d->shards[i].gw ? gateway_heartbeat_interval_ms(d->shards[i].gw) : 0;
        if (iv > 0)
            d->notify.shard_interval[i] = iv;
    }
}

static void on_poll(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, notify.poll);
    remember_intervals(d);
    d->notify.was_ready = reconcile_sessions_ready(d);
    if (d->notify.was_ready && !d->notify.ready_sent) {
        d->notify.ready_sent = 1;
        d->notify.since_ms = loop_now(d->loop);
        send_status(d, "READY=1\n", 1);
    } else {
        send_status(d, "", 0);
    }
    loop_timer(d->loop, &d->notify.poll, on_poll, NOTIFY_POLL_MS);
}

int notify_heartbeats_ok(dc_daemon *d, int64_t now_ms)
{
    for (int i = 0; i < d->n_shards && i < 64; i++) {
        int64_t iv = d->notify.shard_interval[i];
        int64_t last = d->shards[i].gw ? gateway_last_ack_ms(d->shards[i].gw) : INT64_MIN;
        if (last < d->notify.since_ms)
            last = d->notify.since_ms;
        if (iv <= 0 || now_ms - last > 2 * iv)
            return 0;
    }
    return d->n_shards > 0;
}

static void on_watchdog(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, notify.watchdog);
    remember_intervals(d);
    int turned = d->wakeups != d->notify.wakeups_seen;
    d->notify.wakeups_seen = d->wakeups;
    if (d->notify.ready_sent && turned && notify_heartbeats_ok(d, loop_now(d->loop)))
        send_msg("WATCHDOG=1");
    else if (d->notify.ready_sent)
        LOG_D("notify", "watchdog ping withheld (%s)", turned ? "heartbeats not acknowledged" : "loop idle");
    loop_timer(d->loop, &d->notify.watchdog, on_watchdog, d->notify.watchdog_ms);
}

void notify_start(dc_daemon *d)
{
    int64_t usec = sd_notify_watchdog_usec();
    d->notify.watchdog_ms = usec / 2000 > 0 ? usec / 2000 : (usec ? 1 : 0);
    snprintf(d->notify.status, sizeof d->notify.status, "connecting");
    send_msg("STATUS=connecting");
    loop_timer(d->loop, &d->notify.poll, on_poll, NOTIFY_POLL_MS);
    if (d->notify.watchdog_ms)
        loop_timer(d->loop, &d->notify.watchdog, on_watchdog, d->notify.watchdog_ms);
}

void notify_stopping(dc_daemon *d)
{
    notify_free(d);
    send_msg("STOPPING=1\nSTATUS=stopping");
}

void notify_reloading(dc_daemon *d)
{
    char msg[96];
    (void)d;
    snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%lld\nSTATUS=reloading",
             (long long)sd_notify_monotonic_usec());
    send_msg(msg);
}

void notify_reloaded(dc_daemon *d)
{
    send_status(d, "READY=1\n", 1);
}

void notify_free(dc_daemon *d)
{
    loop_cancel(d->loop, &d->notify.poll);
    loop_cancel(d->loop, &d->notify.watchdog);
}
