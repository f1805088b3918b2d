/* loop_watch.c - foreign descriptors in the live loop (loop.h, loop_watch):
 * the database's socket wakes the loop instead of a timer polling it.
 *
 * Debian's libwebsockets 4.1.6 has no external poll, so a descriptor that is
 * not lws's own joins the loop by raw-file adoption
 * (lws_adopt_descriptor_vhost_via_info, LWS_ADOPT_RAW_FILE_DESC): lws polls
 * it for POLLIN always and for POLLOUT after lws_callback_on_writable, and
 * calls loop_watch_protocol's callback.  lws close()s what it adopted when
 * the wsi goes, so it gets a dup() of the caller's descriptor: libpq keeps
 * its own socket, and a watch dropped late never closes a descriptor number
 * that was reused meanwhile.  A watch is dropped asynchronously
 * (LWS_TO_KILL_ASYNC) with its opaque pointer cleared first, so no callback
 * reaches the owner after loop_unwatch. */
#include "loop/loop.h"
#include "loop/loop_internal.h"

#include <unistd.h>

static void drop(dc_watch *w)
{
    if (w->wsi) {
        lws_set_opaque_user_data(w->wsi, NULL);
        lws_set_timeout(w->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
    }
    w->wsi = NULL;
    w->fd = -1;
    w->want_write = 0;
}

static int adopt(dc_loop *l, dc_watch *w, int fd)
{
    if (!l->vhost)
        return -1;
    int copy = dup(fd);
    if (copy < 0)
        return -1;
    lws_adopt_desc_t info = { .vh = l->vhost, .type = LWS_ADOPT_RAW_FILE_DESC,
                              .vh_prot_name = loop_watch_protocol.name, .opaque = w };
    info.fd.filefd = copy;
    struct lws *wsi = lws_adopt_descriptor_vhost_via_info(&info);   /* closes copy on failure */
    if (!wsi)
        return -1;
    lws_set_opaque_user_data(wsi, w);
    w->wsi = wsi;
    w->fd = fd;
    return 0;
}

int loop_watch(dc_loop *l, dc_watch *w, int fd, int want_write, dc_watch_fn fn)
{
    if (!l || !l->ops->watch || fd < 0)
        return -1;
    w->fn = fn;
    w->loop = l;
    return l->ops->watch(l, w, fd, want_write);
}

void loop_unwatch(dc_loop *l, dc_watch *w)
{
    if (l && l->ops->unwatch)
        l->ops->unwatch(l, w);
}

int loop_live_watch(dc_loop *l, dc_watch *w, int fd, int want_write)
{
    if (w->wsi && w->fd != fd)
        drop(w);
    if (!w->wsi && adopt(l, w, fd) != 0) {
        drop(w);
        return -1;
    }
    w->want_write = want_write;
    if (want_write)
        lws_callback_on_writable(w->wsi);
    return 0;
}

void loop_live_unwatch(dc_loop *l, dc_watch *w)
{
    (void)l;
    drop(w);
}

static int on_watch(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    (void)in;
    (void)len;
    dc_watch *w = lws_get_opaque_user_data(wsi);
    if (!w || w->wsi != wsi)
        return 0;                    /* dropped: its close is on the way */
    switch (reason) {
    case LWS_CALLBACK_RAW_RX_FILE:
        w->fn(w);
        break;
    case LWS_CALLBACK_RAW_WRITEABLE_FILE:
        w->want_write = 0;           /* asked once per loop_watch */
        w->fn(w);
        break;
    case LWS_CALLBACK_RAW_CLOSE_FILE:   /* hung up: the owner looks at its descriptor again */
        w->wsi = NULL;
        w->fd = -1;
        w->want_write = 0;
        w->fn(w);
        break;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols loop_watch_protocol = { "dc-watch", on_watch, 0, 0, 0, NULL, 0 };
