/* page_live.c - serves the stats page's embedded files (build/page_assets.c,
 * made by the GNUmakefile from src/http/page/) under the page's CSP.  They
 * are public routes: a browser opening the page cannot send the Bearer
 * token, and they hold no data; the script sends the token (from the URL
 * fragment #token=...) with its /api/stats requests. */
#include <string.h>
#include "daemon/page_live.h"
#include "http/http_server.h"

const page_asset *page_asset_find(const char *path)
{
    for (int i = 0; i < page_asset_count; i++)
        if (strcmp(page_assets[i].path, path) == 0)
            return &page_assets[i];
    return NULL;
}

static void serve(void *ctx, http_request *req)
{
    const page_asset *a = ctx;
    http_reply_header(req, "Content-Security-Policy", PAGE_CSP);
    http_reply(req, 200, a->content_type, a->body, a->len);
}

void page_http_register(struct dc_daemon *d, http_server *s)
{
    (void)d;
    for (int i = 0; i < page_asset_count; i++)
        http_server_route_public(s, page_assets[i].path, serve, (void *)&page_assets[i]);
}
