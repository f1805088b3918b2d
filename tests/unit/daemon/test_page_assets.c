/* test_page_assets.c - the stats page is embedded whole (each file equals
 * its source in src/http/page/, run from the repository root), found by its
 * exact path only, with the content types the browser needs under nosniff,
 * and it loads nothing from another origin (no http:// or https:// URL, no
 * inline script or style that default-src 'self' would block). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "daemon/page_live.h"

static void same_as_source(const char *path, const char *file)
{
    const page_asset *a = page_asset_find(path);
    assert_non_null(a);
    FILE *f = fopen(file, "rb");
    assert_non_null(f);
    char *buf = malloc(a->len + 2);
    size_t n = fread(buf, 1, a->len + 1, f);
    fclose(f);
    assert_int_equal(n, a->len);
    assert_memory_equal(buf, a->body, a->len);
    free(buf);
}

static void embedded_whole(void **state)
{
    (void)state;
    same_as_source("/", "src/http/page/index.html");
    same_as_source("/stats.css", "src/http/page/stats.css");
    same_as_source("/stats.js", "src/http/page/stats.js");
}

static void exact_paths_and_types(void **state)
{
    (void)state;
    assert_null(page_asset_find("/index.html"));
    assert_null(page_asset_find("/stats.js/"));
    assert_null(page_asset_find(""));
    assert_string_equal(page_asset_find("/")->content_type, "text/html; charset=utf-8");
    assert_string_equal(page_asset_find("/stats.css")->content_type, "text/css; charset=utf-8");
    assert_string_equal(page_asset_find("/stats.js")->content_type, "text/javascript; charset=utf-8");
}

/* No URL of another origin; the SVG namespace name is not fetched. */
static void no_foreign_url(const char *b)
{
    for (const char *p = strstr(b, "http"); p; p = strstr(p + 1, "http")) {
        if (strncmp(p, "http://www.w3.org/2000/svg\"", 27) == 0)
            continue;
        assert_false(strncmp(p, "http://", 7) == 0 || strncmp(p, "https://", 8) == 0);
    }
}

static void self_contained(void **state)
{
    (void)state;
    for (int i = 0; i < page_asset_count; i++) {
        const char *b = page_assets[i].body;
        no_foreign_url(b);
        assert_null(strstr(b, "style=\""));
        assert_null(strstr(b, " on"  "load="));
        assert_null(strstr(b, "<script>"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(embedded_whole),
        cmocka_unit_test(exact_paths_and_types),
        cmocka_unit_test(self_contained),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
