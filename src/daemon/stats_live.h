/* stats_live.h - GET /api/stats (#18): what the stats page shows, as one
 * JSON document built from the loop's own state and the audit table. */
#ifndef DC_STATS_LIVE_H
#define DC_STATS_LIVE_H

struct dc_daemon;
struct http_server;

void stats_http_register(struct dc_daemon *d, struct http_server *s);
/* The document (malloc'd), or NULL when out of memory. */
char *stats_live_json(struct dc_daemon *d);
void stats_live_free(void);

#endif
