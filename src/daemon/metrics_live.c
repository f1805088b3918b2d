/* metrics_live.c - what the daemon tells the Prometheus registry
 * (base/metrics.h, families in proto/metrics.def): the counts of what it
 * saw, called from where it happens (dispatches, sweeps; rows deleted from
 * removal_log.c at the commit; closes from the transport, REST codes from
 * rest.c), and the gauges read from the daemon's state when /metrics is
 * scraped, so nothing is kept twice. */
#include "daemon/metrics_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/metrics.h"
#include "daemon/daemon_internal.h"
#include "daemon/reconcile.h"
#include "gateway/gateway.h"
#include "http/http_server.h"
#include "proto/metric_defs.h"

#define PENDING_REFRESH_MS 5000

static void shard_label(int id, char buf[16])
{
    snprintf(buf, 16, "%d", id);
}

static struct {
    int read;                        /* read once since metrics_live_start */
    int64_t at_ms;
} pending_read;
static unsigned char declared[MAX_SHARDS];   /* by position in d->shards: series made */

void metrics_live_start(dc_daemon *d)
{
    metric_defs_install();
    pending_read.read = 0;
    memset(declared, 0, sizeof declared);
    metrics_on_render(metrics_live_collect, d);
}

void metrics_live_stop(dc_daemon *d)
{
    metrics_drop_hook(metrics_live_collect, d);
}

void metrics_live_dispatch(const shard *s, dc_event ev, const char *event)
{
    char id[16];
    metrics_inc(MX_GATEWAY_EVENTS, event, 1);
    if (ev != DC_EV_READY && ev != DC_EV_RESUMED)
        return;
    shard_label(s->id, id);
    metrics_inc2(MX_GATEWAY_SESSIONS, id, ev == DC_EV_READY ? "identify" : "resume", 1);
}

void metrics_live_sweep_done(int ok, int guard_tripped, int dry_run, int64_t duration_ms)
{
    const char *result = guard_tripped ? "refused" : !ok ? "aborted" : dry_run ? "dry_run" : "ok";
    metrics_inc(MX_SWEEPS, result, 1);
    metrics_observe(MX_SWEEP_DURATION, (double)duration_ms / 1000.0);
}

static int count_pending(void *ctx, const store_guild_state *g)
{
    *(int64_t *)ctx += g->needs_reconcile && !g->unavailable;
    return 0;
}

/* A read of every guild's state: at most once per PENDING_REFRESH_MS, and
 * never while a commit is in flight (it would wait for its answer), so that
 * scraping often does not stall the loop on the database. */
static void refresh_pending(dc_daemon *d)
{
    int64_t now = loop_now(d->loop), pending = 0;
    if (!d->st || d->turn.in_flight || (pending_read.read && now - pending_read.at_ms < PENDING_REFRESH_MS))
        return;
    pending_read.read = 1;
    pending_read.at_ms = now;
    if (store_each_guild_state(d->st, count_pending, &pending) == DC_OK)
        metrics_set(MX_PENDING_RECONCILIATION, NULL, (double)pending);
}

static void collect_shard(const shard *s, int i)
{
    char id[16];
    shard_label(s->id, id);
    if (!declared[i]) {
        declared[i] = 1;
        metrics_declare("shard", id);    /* its series at 0 from the first scrape on */
    }
    metrics_set(MX_GATEWAY_CONNECTED, id, gateway_get_state(s->gw) == GW_READY);
    int64_t rtt = gateway_latency_ms(s->gw);
    if (rtt >= 0)
        metrics_set(MX_GATEWAY_RTT, id, (double)rtt / 1000.0);
    metrics_set(MX_GUILDS, id, (double)reconcile_guild_count(s));
}

void metrics_live_collect(void *ctx)
{
    dc_daemon *d = ctx;
    for (int i = 0; i < d->n_shards; i++)
        if (d->shards[i].gw)
            collect_shard(&d->shards[i], i);
    refresh_pending(d);
}

/* ---- GET /metrics --------------------------------------------------------- */

static void on_metrics(void *ctx, http_request *req)
{
    (void)ctx;
    size_t len = 0;
    char *text = metrics_render(&len);
    if (!text) {
        static const char oom[] = "out of memory\n";
        http_reply(req, 500, "text/plain; charset=utf-8", oom, sizeof oom - 1);
        return;
    }
    http_reply(req, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

void metrics_http_register(dc_daemon *d, http_server *srv)
{
    http_server_route(srv, "/metrics", on_metrics, d);
}
