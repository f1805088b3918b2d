/* record_rest.c - see record_rest.h. */
#include "record_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* One request in flight.  The pending link comes first: the daemon frees
 * leftovers with free(link). */
typedef struct {
    dc_pending link;
    rest_done_fn done;
    void *ctx;
    char method[8];
    char path[];                     /* as requested, NUL-terminated */
} rr_call;

static dc_loop *wrapped;             /* the loop whose ops we replaced */
static const dc_loop_ops *inner;     /* its own ops */
static dc_loop_ops outer;
#define RR_MAX_RECORDERS 64          /* one per shard of the process */
static recorder *recs[RR_MAX_RECORDERS];
static int n_recs;
static dc_pending *in_flight;

static void on_answer(void *ctx, const rest_response *r)
{
    rr_call *c = ctx;
    pending_del(&c->link);
    for (int i = 0; wrapped && i < n_recs; i++)
        record_rest(recs[i], inner->now_ms(wrapped), c->method, c->path, r->status, r->body,
                    r->body ? r->body_len : 0);
    c->done(c->ctx, r);
    free(c);
}

static dc_err recording_rest(dc_loop *l, const char *method, const char *path, const char *major,
                             const char *json_body, rest_done_fn done, void *ctx)
{
    size_t path_len = strlen(path);
    rr_call *c = malloc(sizeof *c + path_len + 1);
    if (!c) {
        LOG_W("record", "out of memory: %s %s goes unrecorded", method, path);
        return inner->rest(l, method, path, major, json_body, done, ctx);
    }
    c->done = done;
    c->ctx = ctx;
    snprintf(c->method, sizeof c->method, "%s", method);
    memcpy(c->path, path, path_len + 1);
    /* Linked before the request goes: a stand-in may answer at once, and
     * on_answer unlinks and frees c. */
    pending_init(&c->link);
    if (in_flight)
        pending_add(in_flight, &c->link);
    dc_err rc = inner->rest(l, method, path, major, json_body, on_answer, c);
    if (rc != DC_OK) {
        pending_del(&c->link);
        free(c);
        return rc;
    }
    return DC_OK;
}

void record_rest_wrap(dc_loop *l, recorder *r, dc_pending *pending)
{
    if (!l || !r || (wrapped && wrapped != l) || n_recs == RR_MAX_RECORDERS)
        return;
    recs[n_recs++] = r;
    if (wrapped)
        return;                      /* another shard's file: it gets every exchange too */
    wrapped = l;
    inner = l->ops;
    outer = *inner;
    outer.rest = recording_rest;
    in_flight = pending;
    l->ops = &outer;
}

void record_rest_unwrap(void)
{
    if (wrapped)
        wrapped->ops = inner;
    wrapped = NULL;
    n_recs = 0;
    in_flight = NULL;
}
