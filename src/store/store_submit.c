/* store_submit.c - the asynchronous commit (store.h, "The asynchronous
 * commit"): the daemon hands over its turn's transaction and learns the
 * outcome through its event loop instead of waiting for a COMMIT.
 *
 * SQLite completes at once: store_commit_submit runs the COMMIT (rolling
 * the transaction back when SQLite refuses it, so that the caller can redo
 * its writes) and queues the outcome; store_service hands the queued
 * outcomes to their callbacks, oldest first, from the caller's loop.  The
 * queue lives here so that a backend that completes later (PostgreSQL over
 * libpq's non-blocking API, #16) keeps the same contract. */
#include "store/store_backend_internal.h"
#include "base/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct store_submitted {
    store_done_fn done;
    void *ctx;
    store_outcome outcome;
    char why[256];
    store_member_totals totals;
} store_submitted;

static const store_member_totals no_members;

/* What a refused COMMIT tells the caller: wait (busy, full) or redo now. */
static store_outcome refusal(store *s)
{
    switch (store_refused(s)) {
    case 1:
        return STORE_RETRY_BUSY;
    case 2:
        return STORE_RETRY_FULL;
    default:
        return STORE_FAILED;
    }
}

void store_members_add(store_member_totals *t, audit_reason why, int dry_run, int64_t rows)
{
    t->members++;
    t->rows += rows;
    if (!dry_run && (int)why >= 0 && (int)why < AUDIT_REASON_COUNT)
        t->removed[why] += rows;
}

int store_submit_push(store *s, store_done_fn done, void *ctx, store_outcome outcome, const char *why,
                      const store_member_totals *totals)
{
    if (VEC_GROW(s->submitted, s->cap_submitted, s->n_submitted + 1, 4) != 0)
        return -1;
    store_submitted *o = &s->submitted[s->n_submitted++];
    *o = (store_submitted){ .done = done, .ctx = ctx, .outcome = outcome };
    snprintf(o->why, sizeof o->why, "%s", why ? why : "");
    if (totals && outcome == STORE_COMMITTED)
        o->totals = *totals;
    if (s->on_pending)
        s->on_pending(s->on_pending_ctx);
    return 0;
}

dc_err store_submit_at_once(store *s, store_done_fn done, void *ctx)
{
    store_member_totals totals = s->tx_members;
    store_outcome outcome = STORE_COMMITTED;
    char why[256] = "";
    /* Room first: an outcome that cannot be queued must not have committed. */
    if (VEC_GROW(s->submitted, s->cap_submitted, s->n_submitted + 1, 4) != 0) {
        snprintf(s->errmsg, sizeof s->errmsg, "out of memory submitting a commit");
        return DC_ERR_NOMEM;
    }
    if (store_commit(s) != DC_OK) {
        outcome = refusal(s);
        snprintf(why, sizeof why, "%s", store_errmsg(s));
        if (store_in_transaction(s))
            store_rollback(s);       /* the caller redoes its writes in a new transaction */
    }
    store_submit_push(s, done, ctx, outcome, why, &totals);   /* the room is there */
    return DC_OK;
}

dc_err store_commit_submit(store *s, store_done_fn done, void *ctx)
{
    if (!done || store_in_transaction(s) != 1) {
        snprintf(s->errmsg, sizeof s->errmsg, "commit submitted without one open transaction");
        return DC_ERR_USAGE;
    }
    return s->be->commit_submit(s, done, ctx);
}

void store_on_pending(store *s, void (*fn)(void *ctx), void *ctx)
{
    s->on_pending = fn;
    s->on_pending_ctx = ctx;
}

int store_pending(const store *s)
{
    return (int)s->n_submitted;
}

void store_service(store *s)
{
    s->be->service(s);
    /* Only what waits now: a commit submitted by a callback is delivered by
     * the next call, through the caller's loop again. */
    for (size_t left = s->n_submitted; left && s->n_submitted; left--) {
        store_submitted o = s->submitted[0];
        s->n_submitted--;
        memmove(&s->submitted[0], &s->submitted[1], s->n_submitted * sizeof *s->submitted);
        s->delivering = &o.totals;
        o.done(o.ctx, o.outcome, o.why);
        s->delivering = NULL;
    }
}

const store_member_totals *store_outcome_members(const store *s)
{
    return s->delivering ? s->delivering : &no_members;
}

int store_in_flight(const store *s)
{
    return s->be->in_flight(s);
}

void store_wait(store *s, int timeout_ms)
{
    if (!s->n_submitted)
        s->be->wait(s, timeout_ms);
}

int store_fd(const store *s)
{
    return s->be->fd(s);
}

void store_watch(store *s, store_watch_info *out)
{
    *out = (store_watch_info){ .fd = -1, .due_in_ms = -1 };
    s->be->watch(s, out);
}

void store_submit_free(store *s)
{
    free(s->submitted);
    s->submitted = NULL;
    s->n_submitted = s->cap_submitted = 0;
}
