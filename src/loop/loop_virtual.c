/* loop_virtual.c - the replay's dc_loop (see loop_virtual.h). */
#include "loop/loop_virtual.h"
#include "base/vec.h"

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

/* A REST answer waiting for its 0 ms timer. */
typedef struct vreply {
    dc_timer timer;
    struct vreply *next;
    rest_done_fn done;
    void *ctx;
    long status;
    char *body;
} vreply;

typedef struct {
    int64_t now, mono0, wall0;
    dc_timer **armed;            /* in arming order: ties fire first-armed first */
    size_t n_armed, cap_armed;
    vloop_responder answer;
    void *answer_ctx;
    vreply *replies;             /* unanswered, for loop_virtual_free */
} vloop;

static vloop *V(dc_loop *l) { return l->impl; }

static int64_t v_now(dc_loop *l) { return V(l)->now; }
static int64_t v_wall(dc_loop *l) { return V(l)->wall0 + (V(l)->now - V(l)->mono0); }

static void unlink_timer(vloop *v, dc_timer *t)
{
    for (size_t i = 0; i < v->n_armed; i++)
        if (v->armed[i] == t) {
            memmove(&v->armed[i], &v->armed[i + 1], (v->n_armed - i - 1) * sizeof *v->armed);
            v->n_armed--;
            break;
        }
    t->armed = 0;
}

static void v_schedule(dc_loop *l, dc_timer *t, int64_t delay_ms)
{
    vloop *v = V(l);
    if (t->armed)
        unlink_timer(v, t);
    if (VEC_GROW(v->armed, v->cap_armed, v->n_armed + 1, 32) != 0)
        return;                  /* out of memory: the timer is lost, as a failed sul would be */
    t->due_ms = v->now + delay_ms;
    t->armed = 1;
    v->armed[v->n_armed++] = t;
}

static void v_cancel(dc_loop *l, dc_timer *t)
{
    if (t->armed)
        unlink_timer(V(l), t);
}

static void forget_reply(vloop *v, vreply *r)
{
    for (vreply **p = &v->replies; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            return;
        }
}

static int json_code_of(const char *body)
{
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
    int c = cJSON_IsNumber(code) ? code->valueint : 0;
    cJSON_Delete(j);
    return c;
}

static void deliver(dc_timer *t)
{
    vreply *r = (vreply *)((char *)t - offsetof(vreply, timer));
    forget_reply(V(t->loop), r);
    rest_response resp = { .status = r->status, .body = r->body ? r->body : "",
                           .body_len = r->body ? strlen(r->body) : 0, .json_code = json_code_of(r->body) };
    r->done(r->ctx, &resp);
    free(r->body);
    free(r);
}

static dc_err v_rest(dc_loop *l, const char *method, const char *path, const char *major,
                     const char *json_body, rest_done_fn done, void *ctx)
{
    vloop *v = V(l);
    (void)major;
    vreply *r = calloc(1, sizeof *r);
    if (!r)
        return DC_ERR_NOMEM;
    r->done = done;
    r->ctx = ctx;
    r->status = 404;
    v->answer(v->answer_ctx, method, path, json_body, &r->status, &r->body);
    r->next = v->replies;
    v->replies = r;
    loop_timer(l, &r->timer, deliver, 0);
    return DC_OK;
}

static const dc_loop_ops virtual_ops = { v_now, v_wall, v_schedule, v_cancel, v_rest, NULL, 1,
                                         NULL, NULL };   /* no limits, no descriptors */

dc_err loop_virtual_init(dc_loop *l, int64_t mono0, int64_t wall0, vloop_responder answer, void *ctx)
{
    vloop *v = calloc(1, sizeof *v);
    if (!v)
        return DC_ERR_NOMEM;
    v->now = v->mono0 = mono0;
    v->wall0 = wall0;
    v->answer = answer;
    v->answer_ctx = ctx;
    memset(l, 0, sizeof *l);
    l->ops = &virtual_ops;
    l->impl = v;
    return DC_OK;
}

void loop_virtual_free(dc_loop *l)
{
    vloop *v = V(l);
    if (!v)
        return;
    while (v->replies) {
        vreply *r = v->replies;
        v->replies = r->next;
        free(r->body);
        free(r);
    }
    for (size_t i = 0; i < v->n_armed; i++)
        v->armed[i]->armed = 0;
    free(v->armed);
    free(v);
    l->impl = NULL;
}

static dc_timer *earliest(vloop *v)
{
    dc_timer *best = NULL;
    for (size_t i = 0; i < v->n_armed; i++)
        if (!best || v->armed[i]->due_ms < best->due_ms)
            best = v->armed[i];
    return best;
}

size_t loop_virtual_run_until(dc_loop *l, int64_t t)
{
    vloop *v = V(l);
    size_t fired = 0;
    dc_timer *next;
    while ((next = earliest(v)) && next->due_ms <= t) {
        if (next->due_ms > v->now)
            v->now = next->due_ms;
        unlink_timer(v, next);
        next->fn(next);
        fired++;
    }
    if (t > v->now)
        v->now = t;
    return fired;
}

int64_t loop_virtual_next_due(dc_loop *l)
{
    dc_timer *t = earliest(V(l));
    return t ? t->due_ms : INT64_MAX;
}

size_t loop_virtual_armed(dc_loop *l) { return V(l)->n_armed; }
