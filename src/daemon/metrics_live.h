/* metrics_live.h - the daemon's metrics (metrics_live.c): the registry
 * installed for the process, the figures read from the daemon at every
 * scrape, the counts of what the daemon saw, and GET /metrics. */
#ifndef DC_METRICS_LIVE_H
#define DC_METRICS_LIVE_H

#include <stdint.h>

#include "proto/proto.h"

struct dc_daemon;
struct shard;
struct http_server;

/* Install the families (every known label at 0) and read the daemon's
 * gauges at each render; stop drops that hook (d goes away).  Counters
 * live for the process: a gateway reconnect keeps them. */
void metrics_live_start(struct dc_daemon *d);
void metrics_live_stop(struct dc_daemon *d);
/* A dispatch of shard s (its name; READY / RESUMED count a session). */
void metrics_live_dispatch(const struct shard *s, dc_event ev, const char *event);
/* A sweep finished: its result (refused: the guard; aborted; dry_run; ok)
 * and its duration. */
void metrics_live_sweep_done(int ok, int guard_tripped, int dry_run, int64_t duration_ms);
/* The gauges now (also the render hook): connected, heartbeat round trip
 * and guilds per shard, pending reconciliation (read from the database at
 * most every 5 s, never while a commit is in flight). */
void metrics_live_collect(void *d);

/* GET /metrics on the daemon's HTTP server (daemon/http_live.c). */
void metrics_http_register(struct dc_daemon *d, struct http_server *srv);

#endif
