/* loop.c - the live dc_loop (see loop.h): lws timers and libcurl. */
#include "loop/loop.h"
#include "loop/loop_internal.h"

#include <time.h>

void loop_timer(dc_loop *l, dc_timer *t, dc_timer_fn fn, int64_t delay_ms)
{
    t->fn = fn;
    t->loop = l;
    l->ops->schedule(l, t, delay_ms < 0 ? 0 : delay_ms);
}

void loop_cancel(dc_loop *l, dc_timer *t)
{
    if (l && t->loop)
        l->ops->cancel(l, t);
}

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t live_now(dc_loop *l) { (void)l; return clock_ms(CLOCK_MONOTONIC); }
static int64_t live_wall(dc_loop *l) { (void)l; return clock_ms(CLOCK_REALTIME); }

static void live_fire(lws_sorted_usec_list_t *sul)
{
    dc_timer *t = lws_container_of(sul, dc_timer, sul);
    t->fn(t);
}

static void live_schedule(dc_loop *l, dc_timer *t, int64_t delay_ms)
{
    lws_sul_schedule(l->lws, 0, &t->sul, live_fire, (lws_usec_t)delay_ms * 1000);
}

static void live_cancel(dc_loop *l, dc_timer *t)
{
    (void)l;
    lws_sul_cancel(&t->sul);
}

static dc_err live_rest(dc_loop *l, const char *method, const char *path, const char *major,
                        const char *json_body, rest_done_fn done, void *ctx)
{
    return rest_request(l->rest, method, path, major, json_body, done, ctx);
}

static long live_rest_available(dc_loop *l, const char *method, const char *path, const char *major)
{
    return rest_available(l->rest, method, path, major);
}

static const dc_loop_ops live_ops = { live_now, live_wall, live_schedule, live_cancel, live_rest,
                                      live_rest_available, 0, loop_live_watch, loop_live_unwatch };

void loop_live_init(dc_loop *l, struct lws_context *lws, rest_client *rest)
{
    l->ops = &live_ops;
    l->lws = lws;
    l->rest = rest;
    l->vhost = NULL;
    l->impl = NULL;
}

void loop_live_set_vhost(dc_loop *l, struct lws_vhost *vhost)
{
    l->vhost = vhost;
}
