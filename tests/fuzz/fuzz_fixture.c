/* fuzz_fixture.c - the fixture reader (src/fixture.c): any bytes as a
 * session file; it must load or refuse with a reason, never crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fixture/fixture.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_fixture.%ld.jsonl", (long)getpid());
    log_set_level(DCL_ERROR);
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    fixture fx;
    char err[256];
    if (fixture_load(path, &fx, err, sizeof err) == DC_OK) {
        for (size_t i = 0; i < fx.n; i++)          /* touch what replay reads */
            if (fx.v[i].data && fx.v[i].len)
                (void)fx.v[i].data[fx.v[i].len - 1];
        fixture_free(&fx);
    }
    unlink(path);
    return 0;
}
