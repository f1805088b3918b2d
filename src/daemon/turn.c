/* turn.c - the turn's write journal and the retry while the database is
 * held (busy or full).  See turn.h for the why; the transaction and its
 * COMMIT are turn_flush.c's. */
#include "daemon/turn_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_internal.h"
#include "daemon/guild_delete.h"
#include "base/log.h"
#include "daemon/removal_log.h"
#include "base/vec.h"

#define TURN_BACKOFF_FIRST_MS 25
#define TURN_BACKOFF_MAX_MS 1000
#define TURN_LOUD_AFTER_MS 3000     /* one loud error when a hold lasts longer */

static const char *held_reason(int held)
{
    return held == 2 ? "the disk is full"
         : held == 3 ? "a write failed half-way; redoing the turn write by write"
                     : "another connection holds the write lock";
}

/* The member's rows are counted when the turn commits (turn_count_members):
 * PostgreSQL learns them only then (one batched statement per turn). */
static dc_err delete_member(dc_daemon *d, turn_write *w)
{
    int64_t rows = 0;
    dc_err e = store_delete_member(d->st, w->guild_id, w->user_id, w->reason, d->cfg->dry_run, w->at_ms, &rows);
    if (e != DC_OK)
        return e;
    log_fields f = LOG_FIELDS_INIT;
    f.guild = w->guild_id;
    f.user = w->user_id;
    f.reason = audit_reason_name(w->reason);
    f.rows = rows;
    if (rows >= 0)
        LOG_DF("cleaner", &f, "%s: user %" PRIu64 " left guild %" PRIu64 ": %" PRId64 " row(s) %s",
              audit_reason_name(w->reason), w->user_id, w->guild_id, rows,
              d->cfg->dry_run ? "would be deleted (dry run)" : "deleted");
    else
        LOG_DF("cleaner", &f, "%s: user %" PRIu64 " left guild %" PRIu64 ": delete queued in the turn",
              audit_reason_name(w->reason), w->user_id, w->guild_id);
    return DC_OK;
}

void turn_count_members(dc_daemon *d, const store_member_totals *t)
{
    for (int i = 0; i < AUDIT_REASON_COUNT; i++)
        if (t->removed[i])
            removal_log_count(&d->removals, (audit_reason)i, t->removed[i]);
    if (t->members)
        removal_log_note(&d->removals, d->loop, t->members, t->rows);   /* one info summary per 10 s */
}

/* A guild's rows go a slice per turn (guild_delete.c); here the job is
 * recorded.  A dry run only counts them, in one statement that deletes nothing. */
static dc_err delete_guild(dc_daemon *d, turn_write *w)
{
    int64_t rows = 0;
    if (!d->cfg->dry_run)
        return guild_delete_begin(d, w->guild_id, w->reason, w->at_ms);
    dc_err e = store_delete_guild(d->st, w->guild_id, w->reason, 1, w->at_ms, &rows);
    log_fields f = LOG_FIELDS_INIT;
    f.guild = w->guild_id;
    f.reason = audit_reason_name(w->reason);
    f.rows = rows;
    if (e == DC_OK)
        LOG_IF("cleaner", &f, "%s: guild %" PRIu64 ": %" PRId64 " row(s) would be deleted (dry run)",
              audit_reason_name(w->reason), w->guild_id, rows);
    return e;
}

/* The guild is available: a delete of its rows still running stops there. */
static dc_err guild_back(dc_daemon *d, turn_write *w)
{
    int64_t rows = 0;
    dc_err e = guild_delete_guild_back(d, w->guild_id, &rows);
    if (e == DC_OK && rows) {
        removal_log_count(&d->removals, AUDIT_GUILD_DELETE, rows);
        w->rows_counted = rows;
        w->reason = AUDIT_GUILD_DELETE;      /* what uncount takes back on a rollback */
    }
    return e;
}

static dc_err run_write(dc_daemon *d, turn_write *w)
{
    int64_t rows = 0;
    dc_err e;
    switch (w->kind) {
    case TW_DELETE_MEMBER:
        return delete_member(d, w);
    case TW_DELETE_GUILD:
        return delete_guild(d, w);
    case TW_GUILD_SEEN:
        e = store_guild_seen(d->st, w->guild_id, w->shard_id, w->at_ms);
        e = e == DC_OK ? store_guild_set_unavailable(d->st, w->guild_id, 0) : e;
        return e == DC_OK ? guild_back(d, w) : e;
    case TW_GUILD_UNAVAILABLE:
        return store_guild_set_unavailable(d->st, w->guild_id, 1);
    case TW_MARK_RECONCILE:
        e = store_guild_seen(d->st, w->guild_id, w->shard_id, w->at_ms);
        e = e == DC_OK ? store_guild_set_needs_reconcile(d->st, w->guild_id, 1) : e;
        return e == DC_OK ? guild_back(d, w) : e;
    case TW_NEEDS_RECONCILE:
        return store_guild_set_needs_reconcile(d->st, w->guild_id, 1);
    case TW_ADOPT_UNASSIGNED:
        e = store_adopt_unassigned(d->st, w->guild_id, &rows);
        if (e == DC_OK && rows)
            LOG_I("cleaner", "adopted %" PRId64 " legacy row(s) into guild %" PRIu64
                  " (the bot is in exactly one guild)", rows, w->guild_id);
        return e;
    case TW_GRACE_MARK:
    case TW_GRACE_CANCEL:
    case TW_GRACE_EXPIRE:
        return grace_live_run_write(d, w);
    }
    return DC_OK;
}

/* A write that failed for a reason retrying does not cure (schema, constraint):
 * reported and skipped, as before the journal existed. */
static void report(dc_daemon *d, const turn_write *w)
{
    LOG_E("cleaner", "write for guild %" PRIu64 " (user %" PRIu64 ") failed: %s", w->guild_id, w->user_id,
          store_errmsg(d->st));
}

static int append(turn_journal *j, const turn_write *w)
{
    if (VEC_GROW(j->v, j->cap, j->n + 1, 64) != 0)
        return -1;
    j->v[j->n++] = *w;
    return 0;
}

/* Run w in the open turn.  A bare write (no SAVEPOINT, daemon.c) that
 * failed may have left part of itself in the transaction: roll the turn
 * back and redo it.  1 when the database is held now. */
static int run_in_turn(dc_daemon *d, turn_write *w)
{
    if (run_write(d, w) == DC_OK)
        return 0;
    if (turn_fail(d, "write", store_tx_broken(d->st)))
        return 1;
    report(d, w);
    return 0;
}

static void bound(dc_daemon *d);

void turn_write_do(dc_daemon *d, turn_write w)
{
    turn_journal *j = &d->turn.journal;
    w.rows_counted = 0;
    w.queued = 0;
    if (append(j, &w) != 0) {
        LOG_E("cleaner", "out of memory queueing a write for guild %" PRIu64, w.guild_id);
        return;
    }
    if (w.wait_shard)
        j->n_waiting++;              /* runs when the shard's replay ends */
    else if (turn_open(d) == 0)      /* held: the retry carries it out */
        run_in_turn(d, &j->v[j->n - 1]);
    else if (d->turn.in_flight)
        j->v[j->n - 1].queued = 1;   /* runs when the commit's outcome arrives */
    bound(d);
}

size_t turn_cancel_member_delete(dc_daemon *d, uint64_t guild_id, uint64_t user_id)
{
    turn_journal *j = &d->turn.journal;
    if (!j->held && !j->n_waiting && !d->turn.in_flight)
        return 0;                    /* every write of the journal is in the open turn */
    size_t k = 0, dropped = 0;
    for (size_t i = 0; i < j->n; i++) {
        turn_write *w = &j->v[i];
        if (w->kind == TW_DELETE_MEMBER && w->guild_id == guild_id && w->user_id == user_id &&
            (j->held || w->wait_shard || w->queued)) {
            dropped++;
            j->n_waiting -= w->wait_shard != 0;
            continue;
        }
        j->v[k++] = *w;
    }
    j->n = k;
    if (dropped)
        LOG_I("cleaner", "user %" PRIu64 " rejoined guild %" PRIu64 " before their departure was written: "
              "delete cancelled", user_id, guild_id);
    return dropped;
}

/* Run the waiting writes of shard `which - 1` (which 0: of every shard). */
static void release(dc_daemon *d, int which)
{
    turn_journal *j = &d->turn.journal;
    size_t waiting = 0;
    for (size_t i = 0; i < j->n; i++)
        waiting += j->v[i].wait_shard && (!which || j->v[i].wait_shard == which);
    if (!waiting)
        return;
    int run = turn_open(d) == 0;     /* held: the retry runs them with the rest */
    for (size_t i = 0; i < j->n; i++) {
        turn_write *w = &j->v[i];
        if (!w->wait_shard || (which && w->wait_shard != which))
            continue;
        w->wait_shard = 0;
        j->n_waiting--;
        w->queued = d->turn.in_flight;   /* in flight: runs at the commit's outcome */
        if (run && run_in_turn(d, w))
            run = 0;
    }
}

void turn_release_shard(dc_daemon *d, int shard_id)
{
    release(d, shard_id + 1);
}

static void set_reading(dc_daemon *d, int paused)
{
    d->turn.journal.paused = paused;
    for (int i = 0; i < d->n_shards; i++)
        transport_conn_pause_rx(d->shards[i].conn, paused);
}

/* At journal_max_writes: a replay's waiting writes run now (their netting
 * ends there), and while the database is held (or a commit's outcome is
 * awaited) the gateway is not read until it takes the journal
 * (turn_committed).  Never a write dropped. */
static void bound(dc_daemon *d)
{
    turn_journal *j = &d->turn.journal;
    if (j->n < (size_t)d->cfg->journal_max_writes)
        return;
    if (j->n_waiting && !j->held)
        release(d, 0);
    if ((j->held || d->turn.in_flight) && !j->paused) {
        LOG_W("store", "%zu write(s) wait for the database (journal_max_writes %d): the gateway is not read "
              "until the database is free; Discord keeps the events, nothing is dropped", j->n,
              d->cfg->journal_max_writes);
        set_reading(d, 1);
    }
}

int turn_held(dc_daemon *d)
{
    turn_take_outcome(d);
    return d->turn.journal.held;
}

/* Undo what this attempt added to the removed counts: those rows were rolled back. */
static void uncount(dc_daemon *d)
{
    for (size_t i = 0; i < d->turn.journal.n; i++) {
        turn_write *w = &d->turn.journal.v[i];
        if (w->rows_counted)
            removal_log_count(&d->removals, w->reason, -w->rows_counted);
        w->rows_counted = 0;
    }
}

static void on_retry(dc_timer *t);

int turn_fail(dc_daemon *d, const char *what, int always_hold)
{
    int why = store_refused(d->st);
    if (!why && store_tx_broken(d->st))
        why = 3;
    if (!why && !always_hold)
        return 0;
    turn_hold(d, what, why, store_errmsg(d->st));
    return 1;
}

void turn_hold(dc_daemon *d, const char *what, int why, const char *msg)
{
    turn_journal *j = &d->turn.journal;
    if (store_in_transaction(d->st))
        store_rollback(d->st);
    /* A turn refused for a reason of its own (a write failed half-way, a
     * COMMIT that failed) is redone with each write in its own SAVEPOINT, so
     * one that fails for good is skipped alone (report); bare again after
     * the next commit.  A turn refused because the database was busy or
     * full is redone as it was: bare, and on PostgreSQL batched, so that
     * the redo of a long hold is one round trip, not one per write. */
    if (why != 1 && why != 2)
        store_set_bare_writes(d->st, 0);
    uncount(d);
    if (d->turn.carry.lost)
        d->turn.carry.lost(d);       /* the session state written this turn went with it */
    if (!j->in_hold) {
        j->in_hold = 1;
        j->held_since_ms = loop_now(d->loop);
        j->backoff_ms = TURN_BACKOFF_FIRST_MS;
        j->warned = 0;
        /* Disk full is never transient enough to stay quiet about. */
        if (why == 2)
            LOG_E("store", "the disk is full (%s failed): deletes paused, %zu write(s) kept in memory; "
                  "they are applied when space returns", what, j->n);
        else if (why == 3)
            LOG_W("store", "%s failed (%s): the turn's %zu write(s) are rolled back and redone one by one",
                  what, msg, j->n);
        else
            LOG_W("store", "database busy (%s): %zu write(s) wait, retrying", what, j->n);
    } else if (j->backoff_ms < TURN_BACKOFF_MAX_MS) {
        j->backoff_ms *= 2;
        if (j->backoff_ms > TURN_BACKOFF_MAX_MS)
            j->backoff_ms = TURN_BACKOFF_MAX_MS;
    }
    j->held = why ? why : 1;
    int64_t waited = loop_now(d->loop) - j->held_since_ms;
    if (waited >= TURN_LOUD_AFTER_MS && !j->warned) {
        j->warned = 1;
        LOG_E("store", "the database has refused writes for %" PRId64 " ms (%s): %zu write(s) wait in memory; "
              "the gateway stays connected, nothing is lost (last error: %s)", waited, held_reason(j->held),
              j->n, msg);
    }
    loop_timer(d->loop, &j->retry_timer, on_retry, j->backoff_ms);
}

/* Sweeps that wrote in a turn that was rolled back may have lost member
 * rows of their list: they end (nothing more deleted); the scheduler
 * retries later. */
static void abort_sweeps(dc_daemon *d)
{
    for (int i = 0; i < d->n_shards; i++)
        reconcile_turn_lost(&d->shards[i], "the database refused a write during the sweep");
}

static void on_retry(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, turn.journal.retry_timer);
    turn_journal *j = &d->turn.journal;
    abort_sweeps(d);                 /* still held: their writes are skipped */
    j->held = 0;
    if (turn_open(d) != 0)
        return;                      /* refused again: turn_fail re-armed */
    for (size_t i = 0; i < j->n; i++) {
        j->v[i].queued = 0;
        if (j->v[i].wait_shard || run_write(d, &j->v[i]) == DC_OK)
            continue;                /* waiting for its shard's replay to end, or done */
        if (turn_fail(d, "write", 0))
            return;
        report(d, &j->v[i]);
    }
    turn_flush(d);                   /* seq + session, COMMIT; turn_committed when it went through */
}

void turn_run_queued(dc_daemon *d)
{
    turn_journal *j = &d->turn.journal;
    if (!d->turn.wanted)
        return;
    d->turn.wanted = 0;
    int run = turn_open(d) == 0;
    for (size_t i = 0; i < j->n; i++) {
        turn_write *w = &j->v[i];
        if (!w->queued || j->held)
            continue;                /* held: the retry runs them with the rest */
        w->queued = 0;               /* !run: BEGIN failed for good (logged), as for any write */
        if (run && run_in_turn(d, w))
            run = 0;
    }
}

void turn_committed(dc_daemon *d)
{
    turn_journal *j = &d->turn.journal;
    store_set_bare_writes(d->st, 1);
    if (j->in_hold) {
        LOG_I("store", "the database accepts writes again after %" PRId64 " ms: %zu queued write(s) applied",
              loop_now(d->loop) - j->held_since_ms, j->n);
        j->in_hold = 0;
    }
    /* Writes still waiting for a replay to end, or for this outcome, stay;
     * the rest are in. */
    size_t k = 0;
    for (size_t i = 0; i < j->n; i++)
        if (j->v[i].wait_shard || j->v[i].queued)
            j->v[k++] = j->v[i];
    j->n = k;
    if (j->paused) {
        LOG_I("store", "the database took the queued writes: reading the gateway again");
        set_reading(d, 0);
    }
}

void turn_free(dc_daemon *d)
{
    turn_state *t = &d->turn;
    turn_journal *j = &t->journal;
    if (d->loop) {
        loop_cancel(d->loop, &j->retry_timer);
        loop_cancel(d->loop, &t->flush_timer);
        loop_cancel(d->loop, &t->outcome_timer);
    }
    t->flush_armed = 0;
    free(t->after_ctx);              /* its outcome never came (turn_after_commit) */
    t->after = NULL;
    t->after_ctx = NULL;
    if (j->n)
        LOG_W("store", "%zu write(s) were not applied (%s); their events are replayed on the next start",
              j->n, held_reason(j->held));
    free(j->v);
    memset(j, 0, sizeof *j);
}
