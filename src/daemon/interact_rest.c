/* interact_rest.c - the answers to slash command interactions (see
 * interact_rest.h).
 *
 * Each entry holds a FIFO of texts: a deferral must be acknowledged before
 * @original can be edited, and two edits in flight could land out of
 * order, so one request per interaction is in flight at a time.  Request
 * contexts are separate small allocations linked into the daemon's pending
 * list (freed there at shutdown); they find their entry again by id, so an
 * entry is never freed under a request (busy entries are not evicted). */
#include "daemon/interact_rest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "policy/commands.h"

enum { IX_NEW = 0, IX_ANSWERED, IX_DEFERRING, IX_DEFERRED, IX_SPENT };

typedef struct ix_text {
    struct ix_text *next;
    commands_outbox_class cls;
    commands_outbox_sent_fn fn;
    void *ctx;
    char text[];
} ix_text;

typedef struct ix_entry {
    struct ix_entry *next;
    uint64_t id, application_id, channel_id;
    char token[INTERACT_TOKEN_MAX];
    int64_t dispatched_ms;
    int state;                       /* IX_* */
    int busy;                        /* a request in flight */
    ix_text *head, *tail;
} ix_entry;

typedef struct {
    dc_pending link;                 /* first: freed by the daemon if in flight at shutdown */
    ixr *a;
    uint64_t id;
    int what;                        /* IX_ANSWERED (message), IX_DEFERRING, IX_DEFERRED (edit) */
    commands_outbox_sent_fn fn;
    void *ctx;
    commands_outbox_class cls;       /* an edit's */
    char text[];                     /* "" for a callback; posted in the channel if the edit is refused */
} ix_req;

struct ixr {
    dc_loop *loop;
    dc_pending *pending;
    cmdo *out;
    ix_entry *entries;               /* newest first */
    size_t n;
};

ixr *ixr_new(dc_loop *l, dc_pending *pending, cmdo *out)
{
    ixr *a = calloc(1, sizeof *a);
    if (a)
        *a = (ixr){ .loop = l, .pending = pending, .out = out };
    return a;
}

static void free_entry(ix_entry *e)
{
    while (e->head) {
        ix_text *t = e->head;
        e->head = t->next;
        free(t);
    }
    free(e);
}

void ixr_free(ixr *a)
{
    if (!a)
        return;
    while (a->entries) {
        ix_entry *e = a->entries;
        a->entries = e->next;
        free_entry(e);
    }
    free(a);
}

static ix_entry *find(const ixr *a, uint64_t id)
{
    for (ix_entry *e = id ? a->entries : NULL; e; e = e->next)
        if (e->id == id)
            return e;
    return NULL;
}

/* Forget the oldest idle entry when the table is full, and every idle one
 * whose token is long spent (a later reply then posts as usual). */
static void evict(ixr *a, int64_t now)
{
    ix_entry **oldest = NULL;
    for (ix_entry **p = &a->entries; *p;) {
        ix_entry *e = *p;
        int idle = !e->busy && !e->head;
        if (idle && now - e->dispatched_ms > INTERACT_TOKEN_LIFE_MS) {
            *p = e->next;
            free_entry(e);
            a->n--;
            continue;
        }
        if (idle)
            oldest = p;
        p = &e->next;
    }
    if (a->n >= IXR_MAX && oldest) {
        ix_entry *e = *oldest;
        *oldest = e->next;
        free_entry(e);
        a->n--;
    }
}

dc_err ixr_open(ixr *a, const interact_request *r, int64_t dispatched_ms)
{
    evict(a, dispatched_ms);
    if (a->n >= IXR_MAX)
        return DC_ERR_UNAVAIL;
    ix_entry *e = calloc(1, sizeof *e);
    if (!e)
        return DC_ERR_NOMEM;
    e->id = r->id;
    e->application_id = r->application_id;
    e->channel_id = r->channel_id;
    snprintf(e->token, sizeof e->token, "%s", r->token);
    e->dispatched_ms = dispatched_ms;
    e->next = a->entries;
    a->entries = e;
    a->n++;
    return DC_OK;
}

/* ---- requests ---------------------------------------------------------------- */

static void pump(ixr *a, ix_entry *e);

static const char *code_text(int code)
{
    switch (code) {
    case INTERACT_CODE_UNKNOWN_INTERACTION:
        return " (Unknown interaction: answered later than 3 s, or twice)";
    case INTERACT_CODE_ALREADY_ACKNOWLEDGED:
        return " (already acknowledged)";
    case INTERACT_CODE_UNKNOWN_WEBHOOK:
        return " (Unknown Webhook: the interaction's token has expired)";
    default:
        return "";
    }
}

/* Posted as a normal message in the channel (the token is spent). */
static void to_channel(ixr *a, const ix_entry *e, commands_outbox_class cls, const char *text,
                       commands_outbox_sent_fn fn, void *ctx)
{
    LOG_I("commands", "interaction %" PRIu64 ": its token is spent; the answer goes to channel %" PRIu64
          " as a message", e->id, e->channel_id);
    if (commands_outbox_send(a->out, cls, e->channel_id, 0, 0, text, fn, ctx) != DC_OK && fn)
        fn(ctx, 0);
}

static void on_done(void *ctx, const rest_response *r)
{
    ix_req *q = ctx;
    ixr *a = q->a;
    ix_entry *e = find(a, q->id);
    int ok = r->status >= 200 && r->status <= 299;
    pending_del(&q->link);
    if (!ok)
        LOG_W("commands", "interaction %" PRIu64 ": %s answered HTTP %ld, code %d%s%s%s; not retried", q->id,
              q->what == IX_DEFERRED ? "the edit of the original response" : "the interaction callback",
              r->status, r->json_code, code_text(r->json_code), r->error ? ", " : "", r->error ? r->error : "");
    if (e) {
        e->busy = 0;
        if (q->what == IX_DEFERRING)
            e->state = ok ? IX_DEFERRED : IX_SPENT;
        else if (q->what == IX_DEFERRED && !ok)
            e->state = IX_SPENT;
    }
    if (q->what == IX_DEFERRED && !ok && e)
        to_channel(a, e, q->cls, q->text, q->fn, q->ctx);   /* the token is spent: it still arrives */
    else if (q->fn)
        q->fn(q->ctx, ok && e ? e->id : 0);
    free(q);
    if (e)
        pump(a, e);
}

/* One request for e; t: an edit's text (copied), or NULL. */
static void send_req(ixr *a, ix_entry *e, int what, const char *method, const char *path, char *body,
                     const ix_text *t, commands_outbox_sent_fn fn, void *ctx)
{
    size_t len = t ? strlen(t->text) : 0;
    ix_req *q = malloc(sizeof *q + len + 1);
    if (q) {
        *q = (ix_req){ .a = a, .id = e->id, .what = what, .fn = fn, .ctx = ctx };
        q->cls = t ? t->cls : CMDO_ANSWER;
        memcpy(q->text, t ? t->text : "", len + 1);
        pending_add(a->pending, &q->link);
    }
    if (!q || !body) {
        LOG_E("commands", "interaction %" PRIu64 ": out of memory; not answered", e->id);
        if (q) {
            rest_response failed = { .status = 0, .error = "out of memory" };
            on_done(q, &failed);
        } else {
            if (what != IX_ANSWERED)
                e->state = IX_SPENT;     /* later texts go to the channel */
            if (fn)
                fn(ctx, 0);
        }
        free(body);
        return;
    }
    e->busy = 1;
    dc_err err = loop_rest(a->loop, method, path, NULL, body, on_done, q);
    free(body);
    if (err != DC_OK) {
        rest_response failed = { .status = 0, .error = "cannot queue the request" };
        on_done(q, &failed);
    }
}

static void callback(ixr *a, ix_entry *e, int type, const char *text, commands_outbox_sent_fn fn, void *ctx)
{
    char path[64 + INTERACT_TOKEN_MAX];
    snprintf(path, sizeof path, "/interactions/%" PRIu64 "/%s/callback", e->id, e->token);
    e->state = type == INTERACT_CALLBACK_DEFERRED ? IX_DEFERRING : IX_ANSWERED;
    send_req(a, e, e->state, "POST", path, interact_callback_json(type, text, type != INTERACT_CALLBACK_DEFERRED),
             NULL, fn, ctx);
}

/* The next waiting text: an edit of @original, or a channel message once
 * the token is spent. */
static void pump(ixr *a, ix_entry *e)
{
    while (!e->busy && e->head && e->state != IX_DEFERRING) {
        ix_text *t = e->head;
        e->head = t->next;
        if (!e->head)
            e->tail = NULL;
        if (e->state == IX_SPENT || !interact_token_usable(e->dispatched_ms, loop_now(a->loop))) {
            e->state = IX_SPENT;
            to_channel(a, e, t->cls, t->text, t->fn, t->ctx);
            free(t);
        } else {
            char path[96 + INTERACT_TOKEN_MAX];
            snprintf(path, sizeof path, "/webhooks/%" PRIu64 "/%s/messages/@original", e->application_id, e->token);
            send_req(a, e, IX_DEFERRED, "PATCH", path, commands_reply_json(0, t->text), t, t->fn, t->ctx);
            free(t);
        }
    }
}

static dc_err queue_text(ixr *a, ix_entry *e, commands_outbox_class cls, const char *text,
                         commands_outbox_sent_fn fn, void *ctx)
{
    size_t len = strlen(text);
    ix_text *t = malloc(sizeof *t + len + 1);
    if (!t)
        return DC_ERR_NOMEM;
    *t = (ix_text){ .cls = cls, .fn = fn, .ctx = ctx };
    memcpy(t->text, text, len + 1);
    if (e->tail)
        e->tail->next = t;
    else
        e->head = t;
    e->tail = t;
    pump(a, e);
    return DC_OK;
}

void ixr_reply(ixr *a, uint64_t id, const char *text)
{
    ix_entry *e = find(a, id);
    if (e && e->state == IX_NEW)
        callback(a, e, INTERACT_CALLBACK_MESSAGE, text, NULL, NULL);
}

void ixr_defer(ixr *a, uint64_t id)
{
    ix_entry *e = find(a, id);
    if (e && e->state == IX_NEW)
        callback(a, e, INTERACT_CALLBACK_DEFERRED, NULL, NULL, NULL);
}

int ixr_divert(void *ctx, commands_outbox_class cls, uint64_t channel_id, uint64_t reply_to, uint64_t edit_id,
               const char *text, commands_outbox_sent_fn fn, void *fnctx)
{
    ixr *a = ctx;
    ix_entry *e = find(a, edit_id ? edit_id : reply_to);
    (void)channel_id;
    if (!e)
        return 0;
    if (e->state == IX_NEW) {          /* status, help, a refusal: at once, ephemeral */
        callback(a, e, INTERACT_CALLBACK_MESSAGE, text, fn, fnctx);
        return 1;
    }
    if (queue_text(a, e, cls, text, fn, fnctx) != DC_OK && fn)
        fn(fnctx, 0);
    return 1;
}
