/* page_live.h - the stats page's files as the daemon serves them (GET /,
 * /stats.css, /stats.js under Content-Security-Policy: default-src 'self'). */
#ifndef DC_PAGE_LIVE_H
#define DC_PAGE_LIVE_H

#include "daemon/page_assets.h"

/* The page's CSP, sent with each of its files. */
#define PAGE_CSP "default-src 'self'"

/* The embedded file served at exactly path, or NULL. */
const page_asset *page_asset_find(const char *path);
struct dc_daemon;
struct http_server;
/* GET /, /stats.css, /stats.js: public (see page_live.c). */
void page_http_register(struct dc_daemon *d, struct http_server *s);

#endif
