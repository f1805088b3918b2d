/* commands_outbox.c - replies in priority order, bounded (see commands_outbox.h). */
#include "daemon/commands_outbox.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/commands.h"
#include "base/log.h"
#include "proto/snowflake.h"

typedef struct commands_outbox_item {
    dc_pending link;                 /* first: freed by the daemon if in flight at shutdown */
    struct commands_outbox_item *next;
    cmdo *o;
    char method[8];
    char path[96];
    char major[24];
    char *json;                      /* freed once handed to REST (it copies) */
    commands_outbox_sent_fn fn;
    void *ctx;
} commands_outbox_item;

typedef struct {
    commands_outbox_item *head, *tail;
    size_t n;
} commands_outbox_queue;

struct cmdo {
    dc_loop *loop;
    dc_pending *pending;
    commands_outbox_queue q[2];                 /* CMDO_ANSWER first, then CMDO_REFUSAL */
    int in_flight;
    int64_t dropped;
    commands_outbox_divert_fn divert;           /* slash command replies (interact_live.c) */
    void *divert_ctx;
};

cmdo *commands_outbox_new(dc_loop *l, dc_pending *pending)
{
    cmdo *o = calloc(1, sizeof *o);
    if (o) {
        o->loop = l;
        o->pending = pending;
    }
    return o;
}

void commands_outbox_free(cmdo *o)
{
    if (!o)
        return;
    for (int c = 0; c < 2; c++)
        while (o->q[c].head) {
            commands_outbox_item *it = o->q[c].head;
            o->q[c].head = it->next;
            free(it->json);
            free(it);
        }
    free(o);
}

static void pump(cmdo *o);

/* The posted (or edited) message's id from the answer body; 0 on failure. */
static uint64_t answered_id(const rest_response *r)
{
    if (r->status < 200 || r->status > 299)
        return 0;
    cJSON *j = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
    uint64_t id = snowflake_json(cJSON_GetObjectItemCaseSensitive(j, "id"));
    cJSON_Delete(j);
    return id;
}

static void on_sent(void *ctx, const rest_response *r)
{
    commands_outbox_item *it = ctx;
    cmdo *o = it->o;
    uint64_t id = answered_id(r);
    pending_del(&it->link);
    o->in_flight--;
    if (r->status < 200 || r->status > 299)
        LOG_W("commands", "a reply was not posted (%s %s: HTTP %ld, code %d%s%s)", it->method, it->path,
              r->status, r->json_code, r->error ? ", " : "", r->error ? r->error : "");
    if (it->fn)
        it->fn(it->ctx, id);
    free(it);
    pump(o);
}

static void hand_to_rest(cmdo *o, commands_outbox_item *it)
{
    pending_add(o->pending, &it->link);
    o->in_flight++;
    dc_err e = loop_rest(o->loop, it->method, it->path, it->major, it->json, on_sent, it);
    free(it->json);
    it->json = NULL;
    if (e != DC_OK) {
        rest_response failed = { .status = 0, .error = "cannot queue the request" };
        on_sent(it, &failed);
    }
}

/* Hand waiting sends to REST, answers before refusals, a few at a time. */
static void pump(cmdo *o)
{
    for (int c = 0; c < 2; c++)
        while (o->in_flight < CMDO_IN_FLIGHT && o->q[c].head) {
            commands_outbox_item *it = o->q[c].head;
            o->q[c].head = it->next;
            if (!o->q[c].head)
                o->q[c].tail = NULL;
            o->q[c].n--;
            hand_to_rest(o, it);
        }
}

dc_err commands_outbox_send(cmdo *o, commands_outbox_class cls, uint64_t channel_id, uint64_t reply_to, uint64_t edit_id,
                 const char *text, commands_outbox_sent_fn fn, void *ctx)
{
    commands_outbox_queue *q = &o->q[cls == CMDO_REFUSAL];
    if (o->divert && o->divert(o->divert_ctx, cls, channel_id, reply_to, edit_id, text, fn, ctx))
        return DC_OK;
    if (q->n >= (cls == CMDO_REFUSAL ? CMDO_REFUSALS_MAX : CMDO_ANSWERS_MAX)) {
        if (o->dropped++ % 100 == 0 || cls == CMDO_ANSWER)
            LOG_W("commands", "%s dropped: %zu already wait to be posted (%" PRId64 " dropped so far)",
                  cls == CMDO_REFUSAL ? "a refusal" : "a reply", q->n, o->dropped);
        return DC_ERR_UNAVAIL;
    }
    commands_outbox_item *it = calloc(1, sizeof *it);
    if (!it || !(it->json = commands_reply_json(edit_id ? 0 : reply_to, text))) {
        free(it);
        return DC_ERR_NOMEM;
    }
    it->o = o;
    it->fn = fn;
    it->ctx = ctx;
    pending_init(&it->link);
    snprintf(it->method, sizeof it->method, "%s", edit_id ? "PATCH" : "POST");
    if (edit_id)
        snprintf(it->path, sizeof it->path, "/channels/%" PRIu64 "/messages/%" PRIu64, channel_id, edit_id);
    else
        snprintf(it->path, sizeof it->path, "/channels/%" PRIu64 "/messages", channel_id);
    snprintf(it->major, sizeof it->major, "%" PRIu64, channel_id);
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->n++;
    pump(o);
    return DC_OK;
}

void commands_outbox_divert(cmdo *o, commands_outbox_divert_fn fn, void *dctx)
{
    o->divert = fn;
    o->divert_ctx = dctx;
}

size_t commands_outbox_waiting(const cmdo *o, commands_outbox_class cls)
{
    return o->q[cls == CMDO_REFUSAL].n;
}

int64_t commands_outbox_dropped(const cmdo *o)
{
    return o->dropped;
}
