/* store_requests.h - sweep requests handed from the CLI to a running daemon
 * (cleaner_sweep_requests, schema/0007; see sweep_handoff.c).  Each call is
 * its own write, committed at once: callers make sure no transaction of
 * theirs is open. */
#ifndef DC_STORE_REQUESTS_H
#define DC_STORE_REQUESTS_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

typedef struct {
    int64_t id;
    uint64_t guild_id;               /* 0: every guild the daemon serves */
    int force, dry_run;
    long requester;
} store_request;

dc_err store_request_add(store *s, const store_request *r, int64_t now_ms, int64_t *id);
/* Requests not answered yet with an id above after_id, in id order; fn
 * returns non-zero to stop. */
typedef int (*store_request_fn)(void *ctx, const store_request *r);
dc_err store_request_each_open(store *s, int64_t after_id, store_request_fn fn, void *ctx);
dc_err store_request_answer(store *s, int64_t id, int64_t now_ms, int status, const char *outcome);
/* *answered 0 while open; then status and outcome (malloc'd, caller frees). */
dc_err store_request_get(store *s, int64_t id, int *answered, int *status, char **outcome);
dc_err store_request_delete(store *s, int64_t id);

/* The outcome of a request, built a line at a time (one line per finished
 * sweep) for store_request_answer.  Zero-initialise; text is NULL until the
 * first line.  When memory runs out, failed is set, text keeps the lines
 * that fitted and further lines are dropped. */
typedef struct {
    char *text;
    size_t len, cap;
    int failed;
} store_request_outcome;
void store_request_outcome_add(store_request_outcome *o, const char *line);
void store_request_outcome_free(store_request_outcome *o);

#endif
