/* status_json.h - `status --json` (status_json.c). */
#ifndef DC_STATUS_JSON_H
#define DC_STATUS_JSON_H

#include <stdint.h>
#include <stdio.h>
#include "store/store.h"

/* One JSON document of the open store's status to out; exit status. */
int status_json_print(store *s, const char *db_path, int64_t now_ms, FILE *out);

#endif
