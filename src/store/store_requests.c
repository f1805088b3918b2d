/* store_requests.c - the sweep-request calls of the store interface
 * (store_requests.h), handed to the store's backend
 * (store_backend_internal.h), and the outcome text a daemon builds for one
 * request a line at a time. */
#include "store/store_backend_internal.h"
#include "base/vec.h"

#include <stdlib.h>
#include <string.h>

dc_err store_request_add(store *s, const store_request *r, int64_t now_ms, int64_t *id)
{
    return s->be->request_add(s, r, now_ms, id);
}

dc_err store_request_each_open(store *s, int64_t after_id, store_request_fn fn, void *ctx)
{
    return s->be->request_each_open(s, after_id, fn, ctx);
}

dc_err store_request_answer(store *s, int64_t id, int64_t now_ms, int status, const char *outcome)
{
    return s->be->request_answer(s, id, now_ms, status, outcome);
}

dc_err store_request_get(store *s, int64_t id, int *answered, int *status, char **outcome)
{
    return s->be->request_get(s, id, answered, status, outcome);
}

dc_err store_request_delete(store *s, int64_t id) { return s->be->request_delete(s, id); }

/* ---- the outcome text ----------------------------------------------------- */

void store_request_outcome_add(store_request_outcome *o, const char *line)
{
    size_t n = strlen(line);
    if (o->failed)
        return;
    if (VEC_GROW(o->text, o->cap, o->len + n + 1, 256) != 0) {
        o->failed = 1;                /* the lines so far stay */
        return;
    }
    memcpy(o->text + o->len, line, n + 1);
    o->len += n;
}

void store_request_outcome_free(store_request_outcome *o)
{
    free(o->text);
    memset(o, 0, sizeof *o);
}
