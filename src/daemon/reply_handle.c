/* reply_handle.c - a command's reply posted once and edited as the work
 * goes on (see reply_handle.h), and its prefix-command implementation
 * over commands_outbox.c. */
#include "daemon/reply_handle.h"

#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#include "daemon/commands_outbox.h"

enum { RH_NONE = 0, RH_POSTING, RH_POSTED, RH_FAILED };

struct reply_handle {
    reply_set *set;
    reply_handle *next;              /* in the set */
    const reply_ops *ops;
    void *impl;
    dc_timer timer;                  /* the next edit, once the interval has passed */
    int state;                       /* RH_* */
    int finished;                    /* reply_final was called */
    int last_post;                   /* the post in flight is the final text: done once answered */
    uint64_t message_id;
    int64_t last_sent_ms;            /* loop_now of the last post or edit */
    char *sent;                      /* the text last sent */
    char *waiting;                   /* the newest text not sent yet */
};

struct reply_set {
    dc_loop *loop;
    reply_handle *head;
};

reply_set *reply_set_new(dc_loop *l)
{
    reply_set *rs = calloc(1, sizeof *rs);
    if (rs)
        rs->loop = l;
    return rs;
}

static void destroy(reply_handle *h)
{
    for (reply_handle **p = &h->set->head; *p; p = &(*p)->next)
        if (*p == h) {
            *p = h->next;
            break;
        }
    loop_cancel(h->set->loop, &h->timer);
    if (h->ops->free_impl)
        h->ops->free_impl(h->impl);
    free(h->sent);
    free(h->waiting);
    free(h);
}

void reply_set_free(reply_set *rs)
{
    if (!rs)
        return;
    while (rs->head)
        destroy(rs->head);
    free(rs);
}

reply_handle *reply_handle_new(reply_set *rs, const reply_ops *ops, void *impl)
{
    reply_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->set = rs;
    h->ops = ops;
    h->impl = impl;
    h->next = rs->head;
    rs->head = h;
    return h;
}

void *reply_handle_impl(const reply_handle *h)
{
    return h->impl;
}

uint64_t reply_handle_message_id(const reply_handle *h)
{
    return h->message_id;
}

int reply_handle_started(const reply_handle *h)
{
    return h->state != RH_NONE;
}

/* Remember text as the one last sent (take: it is ours now). */
static void sent_now(reply_handle *h, char *text)
{
    free(h->sent);
    h->sent = text;
    h->last_sent_ms = loop_now(h->set->loop);
}

static void post(reply_handle *h, char *text, int last)
{
    h->state = RH_POSTING;
    h->last_post = last;
    sent_now(h, text);
    if (h->ops->post(h, text) != DC_OK)
        reply_handle_posted(h, 0);   /* could not even be queued */
}

static void pump(reply_handle *h);

static void on_timer(dc_timer *t)
{
    pump(lws_container_of(t, reply_handle, timer));
}

/* Send what waits, when the state and the interval allow. */
static void pump(reply_handle *h)
{
    if (h->state != RH_POSTED && h->state != RH_FAILED)
        return;                      /* RH_POSTING: reply_handle_posted pumps */
    if (!h->waiting) {
        if (h->finished)
            destroy(h);
        return;
    }
    if (h->state == RH_FAILED) {     /* nothing to edit: only the final text is posted anew */
        if (h->finished) {
            char *text = h->waiting;
            h->waiting = NULL;
            post(h, text, 1);
        } else {
            free(h->waiting);
            h->waiting = NULL;
        }
        return;
    }
    int64_t due = h->last_sent_ms + REPLY_EDIT_EVERY_MS - loop_now(h->set->loop);
    if (!h->finished && due > 0) {
        loop_timer(h->set->loop, &h->timer, on_timer, due);
        return;
    }
    char *text = h->waiting;
    h->waiting = NULL;
    h->ops->edit(h, text);
    sent_now(h, text);
    if (h->finished)
        destroy(h);
}

void reply_handle_posted(reply_handle *h, uint64_t message_id)
{
    h->message_id = message_id;
    h->state = message_id ? RH_POSTED : RH_FAILED;
    if (h->last_post) {              /* that was the final text */
        free(h->waiting);
        h->waiting = NULL;
        destroy(h);
        return;
    }
    pump(h);
}

/* Make text the one waiting; 0 when out of memory. */
static int wait_with(reply_handle *h, const char *text)
{
    char *copy = strdup(text);
    if (!copy)
        return 0;
    free(h->waiting);
    h->waiting = copy;
    return 1;
}

void reply_progress(reply_handle *h, const char *text)
{
    if (h->finished)
        return;
    if (h->state == RH_NONE) {
        char *copy = strdup(text);
        if (copy)
            post(h, copy, 0);
        return;
    }
    if (!h->waiting && h->sent && strcmp(h->sent, text) == 0)
        return;                      /* nothing new to show */
    if (wait_with(h, text))
        pump(h);
}

void reply_final(reply_handle *h, const char *text)
{
    h->finished = 1;
    loop_cancel(h->set->loop, &h->timer);
    if (h->state == RH_NONE) {
        char *copy = strdup(text);
        if (copy)
            post(h, copy, 1);
        else
            destroy(h);
        return;
    }
    if (!wait_with(h, text)) {
        free(h->waiting);
        h->waiting = NULL;
    }
    pump(h);
}

/* ---- the prefix commands: POST, then PATCH the posted message -------------- */

typedef struct {
    cmdo *out;
    uint64_t channel_id, reply_to;
} prefix_reply;

static void on_prefix_posted(void *ctx, uint64_t message_id)
{
    reply_handle_posted(ctx, message_id);
}

static dc_err prefix_post(reply_handle *h, const char *text)
{
    prefix_reply *p = reply_handle_impl(h);
    return commands_outbox_send(p->out, CMDO_ANSWER, p->channel_id, p->reply_to, 0, text, on_prefix_posted, h);
}

static dc_err prefix_edit(reply_handle *h, const char *text)
{
    prefix_reply *p = reply_handle_impl(h);
    return commands_outbox_send(p->out, CMDO_ANSWER, p->channel_id, p->reply_to, reply_handle_message_id(h), text,
                                NULL, NULL);
}

static const reply_ops prefix_ops = { prefix_post, prefix_edit, free };

reply_handle *reply_prefix_new(reply_set *rs, cmdo *out, uint64_t channel_id, uint64_t reply_to)
{
    prefix_reply *p = malloc(sizeof *p);
    reply_handle *h = p ? reply_handle_new(rs, &prefix_ops, p) : NULL;
    if (!h) {
        free(p);
        return NULL;
    }
    *p = (prefix_reply){ .out = out, .channel_id = channel_id, .reply_to = reply_to };
    return h;
}
