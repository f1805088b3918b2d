/* fuzz_config.c - the config parser: the input as a config file
 * (config_load_file), then each "key=value" line through config_set. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "base/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    log_set_level(DCL_ERROR);
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz-config-%ld.conf", (long)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    config cfg;
    char err[512];
    if (config_defaults(&cfg) == DC_OK) {
        config_load_file(&cfg, path, err, sizeof err);
        config_free(&cfg);
    }
    /* The same text line by line, split at the first '='. */
    char *text = malloc(size + 1);
    if (text && config_defaults(&cfg) == DC_OK) {
        memcpy(text, data, size);
        text[size] = '\0';
        char *save = NULL;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *eq = strchr(line, '=');
            if (!eq)
                continue;
            *eq = '\0';
            config_set(&cfg, line, eq + 1, err, sizeof err);
        }
        config_free(&cfg);
    }
    free(text);
    return 0;
}
