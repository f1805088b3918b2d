/* loop.h - the daemon's view of time, timers and REST.
 *
 * The daemon's modules (daemon.c, events.c, reconcile.c, commands) never
 * call libwebsockets timers, clocks or the REST client directly; they go
 * through a dc_loop.  Live, that is the lws loop, the monotonic clock and
 * the libcurl client (loop_live_*).  In `replay` it is a virtual clock
 * driven by the recorded frame times and a REST stand-in that answers from
 * the fixture (loop_virtual_*), so a replay runs exactly the same code. */
#ifndef DC_LOOP_H
#define DC_LOOP_H

#include <stdint.h>
#include <libwebsockets.h>

#include "base/err.h"
#include "rest/rest.h"

typedef struct dc_loop dc_loop;
typedef struct dc_timer dc_timer;
typedef void (*dc_timer_fn)(dc_timer *t);
typedef struct dc_watch dc_watch;
typedef void (*dc_watch_fn)(dc_watch *w);

/* Embed in the owner; get back to it with lws_container_of(t, owner, field). */
struct dc_timer {
    lws_sorted_usec_list_t sul;  /* live loop */
    dc_timer_fn fn;
    dc_loop *loop;
    int64_t due_ms;              /* virtual loop */
    int armed;                   /* virtual loop */
};

/* A foreign descriptor the loop wakes on (loop_watch): a database's
 * socket.  Embed in the owner; get back to it with lws_container_of. */
struct dc_watch {
    dc_watch_fn fn;              /* readable, writable (when asked), or the watch dropped */
    dc_loop *loop;
    struct lws *wsi;             /* live: the adopted copy of fd; NULL when none */
    int fd;                      /* the descriptor watched, -1 when none */
    int want_write;
};

typedef struct {
    int64_t (*now_ms)(dc_loop *l);     /* monotonic */
    int64_t (*wall_ms)(dc_loop *l);    /* Unix epoch ms */
    void (*schedule)(dc_loop *l, dc_timer *t, int64_t delay_ms);
    void (*cancel)(dc_loop *l, dc_timer *t);
    dc_err (*rest)(dc_loop *l, const char *method, const char *path, const char *major,
                   const char *json_body, rest_done_fn done, void *ctx);
    /* Optional: rest_available(); NULL (replay) = no rate limits. */
    long (*rest_available)(dc_loop *l, const char *method, const char *path, const char *major);
    /* 1 on a loop whose clock does not move while it waits (replay): an
     * answer from a socket is waited for where it is needed, not polled. */
    int waits_inline;
    /* Optional (NULL: the loop cannot watch a descriptor, e.g. replay). */
    int (*watch)(dc_loop *l, dc_watch *w, int fd, int want_write);
    void (*unwatch)(dc_loop *l, dc_watch *w);
} dc_loop_ops;

struct dc_loop {
    const dc_loop_ops *ops;
    struct lws_context *lws;     /* live */
    struct lws_vhost *vhost;     /* live: where watched descriptors are adopted (loop_live_set_vhost) */
    rest_client *rest;           /* live */
    void *impl;                  /* virtual */
};

static inline int64_t loop_now(dc_loop *l) { return l->ops->now_ms(l); }
static inline int64_t loop_wall(dc_loop *l) { return l->ops->wall_ms(l); }
/* (Re)arm t to call fn after delay_ms (0 = before the loop sleeps). */
void loop_timer(dc_loop *l, dc_timer *t, dc_timer_fn fn, int64_t delay_ms);
void loop_cancel(dc_loop *l, dc_timer *t);
static inline dc_err loop_rest(dc_loop *l, const char *method, const char *path, const char *major,
                               const char *json_body, rest_done_fn done, void *ctx)
{
    return l->ops->rest(l, method, path, major, json_body, done, ctx);
}

/* Wake w->fn whenever fd is readable, and writable too while want_write
 * (a call with another fd moves the watch; the same fd only changes
 * want_write).  fn runs from the loop, never from inside this call; it
 * also runs, once, when the loop drops the watch (the descriptor hung up:
 * w->fd is -1 again).  The descriptor stays the caller's: the live loop
 * watches a dup() of it (lws closes what it adopted).  -1 when this loop
 * cannot watch descriptors (replay) or the adoption failed: poll instead. */
int loop_watch(dc_loop *l, dc_watch *w, int fd, int want_write, dc_watch_fn fn);
/* Stop watching (nothing when not watching). */
void loop_unwatch(dc_loop *l, dc_watch *w);

static inline int loop_waits_inline(const dc_loop *l) { return l->ops->waits_inline; }

/* Requests like this one REST would send right now; -1: no limit known. */
static inline long loop_rest_available(dc_loop *l, const char *method, const char *path, const char *major)
{
    return l->ops->rest_available ? l->ops->rest_available(l, method, path, major) : -1;
}

/* The live loop: lws timers, CLOCK_MONOTONIC / CLOCK_REALTIME, libcurl. */
void loop_live_init(dc_loop *l, struct lws_context *lws, rest_client *rest);
/* The vhost the live loop adopts watched descriptors into; its protocols
 * must include loop_watch_protocol. */
void loop_live_set_vhost(dc_loop *l, struct lws_vhost *vhost);
extern const struct lws_protocols loop_watch_protocol;

#endif
