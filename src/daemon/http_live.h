/* http_live.h - the daemon's HTTP endpoint (#18): http/http_server.h
 * listening where http_listen says, with the daemon's routes: /healthz and
 * /readyz here, /metrics, /api/stats and the stats page from their own
 * files (each registers itself in http_live_routes). */
#ifndef DC_HTTP_LIVE_H
#define DC_HTTP_LIVE_H

#include <stddef.h>

struct dc_daemon;
struct http_server;

/* Listen when http_listen is set.  0, or 78 after one line on stderr and in
 * the log (a bad address, a port in use, no token off loopback). */
int http_live_start(struct dc_daemon *d);
/* After lws_context_destroy (the server's connections go with it). */
void http_live_free(struct dc_daemon *d);
/* The reason the daemon is not healthy (heartbeat: also the heartbeat
 * clause), or NULL when it is; why holds the text. */
const char *http_live_unhealthy(struct dc_daemon *d, int heartbeat, char *why, size_t cap);

#endif
