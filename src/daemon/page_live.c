/* page_live.c - serves the stats page's embedded files (build/page_assets.c,
 * made by the GNUmakefile from src/http/page/).  The route registration on
 * the HTTP server joins this file when the server (branch s18-http) lands. */
#include <string.h>
#include "daemon/page_live.h"

const page_asset *page_asset_find(const char *path)
{
    for (int i = 0; i < page_asset_count; i++)
        if (strcmp(page_assets[i].path, path) == 0)
            return &page_assets[i];
    return NULL;
}
