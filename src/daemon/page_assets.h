/* page_assets.h - the stats page's files (src/http/page/), embedded at build
 * time by the GNUmakefile (build/page_assets.c), so the binary serves GET /,
 * /stats.css and /stats.js without looking for files at run time. */
#ifndef DC_PAGE_ASSETS_H
#define DC_PAGE_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;           /* the URL path it is served at */
    const char *content_type;
    const char *body;
    size_t len;
} page_asset;

extern const page_asset page_assets[];
extern const int page_asset_count;

#endif
