/* http_live.c - the daemon's HTTP endpoint (see http_live.h): starts the
 * server on the daemon's lws context and answers /healthz and /readyz from
 * what the loop already knows -- shard states, heartbeat ACK times, whether
 * the turn's writes wait for the database -- so a probe never waits on the
 * network or a query. */
#include "daemon/http_live.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "daemon/daemon_internal.h"
#include "daemon/metrics_live.h"
#include "daemon/notify_live.h"
#include "daemon/page_live.h"
#include "daemon/stats_live.h"
#include "daemon/turn.h"
#include "http/http_server.h"

static http_server *server;          /* one daemon per process */

/* A shard whose last heartbeat ACK is older than two of its intervals;
 * before the first ACK the clock starts when the shards became READY (or
 * now, when that was not seen yet: the first beat goes out at a random
 * point of the first interval). */
static int stale_shard(dc_daemon *d, int64_t now, char *why, size_t cap)
{
    int64_t since = notify_ready_since(d);
    for (int i = 0; i < d->n_shards; i++) {
        const gateway_session *gw = d->shards[i].gw;
        int64_t iv = gw ? gateway_heartbeat_interval_ms(gw) : 0, ack = gw ? gateway_last_ack_ms(gw) : INT64_MIN;
        int64_t ref = ack != INT64_MIN && ack > since ? ack : since ? since : now;
        if (iv <= 0 || now - ref <= 2 * iv)
            continue;
        if (ack == INT64_MIN || ack < since)
            snprintf(why, cap, "shard %d: no heartbeat acknowledged in %.1f s (interval %.1f s)", d->shards[i].id,
                     (double)(now - ref) / 1000, (double)iv / 1000);
        else
            snprintf(why, cap, "shard %d: last heartbeat ACK %.1f s ago (interval %.1f s)", d->shards[i].id,
                     (double)(now - ack) / 1000, (double)iv / 1000);
        return 1;
    }
    return 0;
}

const char *http_live_unhealthy(dc_daemon *d, int heartbeat, char *why, size_t cap)
{
    if (d->stopping) {
        snprintf(why, cap, "stopping");
        return why;
    }
    if (d->n_shards == 0) {
        snprintf(why, cap, "no shard started yet (waiting for GET /gateway/bot)");
        return why;
    }
    for (int i = 0; i < d->n_shards; i++) {
        gateway_state st = d->shards[i].gw ? gateway_get_state(d->shards[i].gw) : GW_STOPPED;
        if (st != GW_READY) {
            snprintf(why, cap, "shard %d: %s", d->shards[i].id, gateway_state_name(st));
            return why;
        }
    }
    if (turn_held(d)) {
        snprintf(why, cap, "database: writes are waiting for it (it does not answer or refuses them)");
        return why;
    }
    if (heartbeat && stale_shard(d, loop_now(d->loop), why, cap))
        return why;
    return NULL;
}

static void answer_health(dc_daemon *d, http_request *req, int heartbeat)
{
    char why[256], body[300];
    const char *bad = http_live_unhealthy(d, heartbeat, why, sizeof why);
    snprintf(body, sizeof body, "%s\n", bad ? bad : "ok");
    http_reply(req, bad ? 503 : 200, "text/plain; charset=utf-8", body, strlen(body));
}

static void on_healthz(void *ctx, http_request *req) { answer_health(ctx, req, 1); }
static void on_readyz(void *ctx, http_request *req) { answer_health(ctx, req, 0); }

/* Every route of the endpoint; other files add one line each. */
static void http_live_routes(dc_daemon *d, http_server *s)
{
    http_server_route(s, "/healthz", on_healthz, d);
    http_server_route(s, "/readyz", on_readyz, d);
    stats_http_register(d, s);
    metrics_http_register(d, s);
    page_http_register(d, s);
}

int http_live_start(dc_daemon *d)
{
    const config *cfg = d->cfg;
    char err[512];
    if (!cfg->http_listen || !*cfg->http_listen)
        return 0;
    http_server_opts o = { .listen = cfg->http_listen, .token = cfg->http_token };
    if (http_server_start(&server, d->lws, &o, err, sizeof err) != DC_OK) {
        fprintf(stderr, "discord-cleaner: %s\n", err);
        LOG_E("http", "%s", err);
        return 78;
    }
    http_live_routes(d, server);
    LOG_I("http", "HTTP endpoint on %s (port %d)%s: /metrics /healthz /readyz /api/stats /", cfg->http_listen,
          http_server_port(server), o.token && *o.token ? ", Bearer token required" : "");
    return 0;
}

void http_live_free(dc_daemon *d)
{
    (void)d;
    stats_live_free();
    http_server_free(server);
    server = NULL;
}
