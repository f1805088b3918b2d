/* store_requests.h - sweep requests handed from the CLI to a running daemon
 * (cleaner_sweep_requests, schema/0007; see sweep_handoff.c).  Each call is
 * its own statement in autocommit: callers make sure no transaction of
 * theirs is open. */
#ifndef DC_STORE_REQUESTS_H
#define DC_STORE_REQUESTS_H

#include <stdint.h>
#include "store/store.h"

typedef struct {
    int64_t id;
    uint64_t guild_id;               /* 0: every guild the daemon serves */
    int force, dry_run;
    long requester;
} store_request;

dc_err store_request_add(store *s, const store_request *r, int64_t now_ms, int64_t *id);
/* Requests not answered yet with an id above after_id, in id order. */
dc_err store_request_each_open(store *s, int64_t after_id, int (*fn)(void *ctx, const store_request *r), void *ctx);
dc_err store_request_answer(store *s, int64_t id, int64_t now_ms, int status, const char *outcome);
/* *answered 0 while open; then status and outcome (malloc'd, caller frees). */
dc_err store_request_get(store *s, int64_t id, int *answered, int *status, char **outcome);
dc_err store_request_delete(store *s, int64_t id);

#endif
