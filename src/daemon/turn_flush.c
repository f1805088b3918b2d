/* turn_flush.c - the turn's transaction from BEGIN to the outcome of its
 * COMMIT: opening it (turn_open, turn_begin), the flush timer, the flush
 * itself (the carry -- shard sessions, seqs and member counts -- then the
 * COMMIT handed to the store), the outcome delivered from a 0 ms loop timer,
 * and the shutdown's turn_finish.  See turn.h for the why. */
#include "daemon/turn_internal.h"

#include <string.h>

#include "base/log.h"
#include "daemon/checkpoint.h"
#include "daemon/commit_trace.h"
#include "daemon/daemon_internal.h"
#include "daemon/store_wake.h"
#include "daemon/turn_cap.h"

#define TURN_POLL_FAST 50            /* no socket watched: polls 1 ms apart after a submit */
#define TURN_POLL_MAX_MS 10          /* then a late commit's socket is looked at this often */
#define TURN_FINISH_WAIT_MS 10000    /* shutdown, replay: the longest wait for a commit's answer */
#define TURN_BEGIN_WAIT_MS 3000      /* turn_begin in a replay: the longest wait for the commit in flight */

void turn_init(dc_daemon *d, const turn_carry *c)
{
    memset(&d->turn, 0, sizeof d->turn);
    if (c)
        d->turn.carry = *c;
}

static void on_flush_timer(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, turn.flush_timer);
    d->turn.flush_armed = 0;         /* fired: nothing to cancel */
    turn_flush(d);
}

/* The turn's transaction, begun once: 0, or -1 (held now, or reported). */
static int begin_tx(dc_daemon *d)
{
    if (store_in_transaction(d->st))
        return 0;
    if (store_begin(d->st) == DC_OK) {
        d->turn.seq++;               /* a new transaction: the writes from here on are this turn's */
        return 0;
    }
    if (!turn_fail(d, "begin", 0))
        LOG_E("daemon", "cannot begin a transaction: %s", store_errmsg(d->st));
    return -1;
}

int turn_open(dc_daemon *d)
{
    turn_state *t = &d->turn;
    if (t->journal.held)
        return -1;                   /* writes wait in the journal (turn.c) */
    if (t->in_flight) {
        t->wanted = 1;               /* the outcome opens the turn (on_outcome) */
        return -1;
    }
    if (begin_tx(d) != 0)
        return -1;
    if (!t->flush_armed) {
        t->flush_armed = 1;
        loop_timer(d->loop, &t->flush_timer, on_flush_timer, turn_flush_arm(d));
    }
    return 0;
}

/* The writers that cannot wait for the next turn (a sweep's chunk of
 * members, a guild delete) need the transaction now: a commit still in
 * flight (PostgreSQL) is waited for until TURN_ANSWER_WAIT_MS after it was
 * handed over (turn_begin), the bound a statement of that backend waits
 * for its answer (store_set_answer_wait); the chunk's own write waits for
 * its answer anyway.  Without this a sweep aborted at its first chunk
 * whenever a turn's COMMIT was on the wire (make bench, 3. sweep on
 * PostgreSQL).  SQLite never has one in flight.  turn_commit_waits tells
 * the writers that can wait in the journal not to. */
int turn_commit_waits(dc_daemon *d)
{
    return d->turn.in_flight && d->st && !loop_waits_inline(d->loop) && !store_pending(d->st) &&
           store_in_flight(d->st);
}

/* How long turn_begin may still wait for the commit in flight.  Live:
 * what is left of TURN_ANSWER_WAIT_MS since it was submitted, so that a
 * server gone quiet costs the loop that once, not once per caller (each
 * then writes later); a replay's virtual loop has no heartbeats to keep. */
static int begin_wait_ms(dc_daemon *d)
{
    if (loop_waits_inline(d->loop))
        return TURN_BEGIN_WAIT_MS;
    int64_t left = d->turn.submitted_ms + TURN_ANSWER_WAIT_MS - loop_now(d->loop);
    return left > 0 ? (int)left : 0;
}

int turn_begin(dc_daemon *d)
{
    if (d->turn.in_flight && d->st && !store_pending(d->st) && store_in_flight(d->st))
        store_wait(d->st, begin_wait_ms(d));
    turn_take_outcome(d);
    return turn_open(d);
}

void turn_event_begin(dc_daemon *d)
{
    turn_open(d);
}

/* ---- the outcome ------------------------------------------------------------ */

static void on_outcome_timer(dc_timer *t);

/* Outcomes waiting in the store come through the loop: a 0 ms timer.  A
 * commit the database has not answered yet (PostgreSQL) wakes the loop
 * through its socket (store_wake.c), which the live loop watches.  Where
 * the socket cannot be watched (lws refused the adoption) store_service is
 * polled instead: every millisecond for the first TURN_POLL_FAST polls (a
 * commit's round trip), then every TURN_POLL_MAX_MS while the answer is
 * late.  The virtual loop of a replay has no time passing while it waits:
 * there the turn waits for the answer (bounded) instead. */
static void watch(dc_daemon *d)
{
    turn_state *t = &d->turn;
    if (!store_pending(d->st) && t->in_flight && store_in_flight(d->st) && loop_waits_inline(d->loop))
        store_wait(d->st, TURN_FINISH_WAIT_MS);
    if (store_pending(d->st)) {
        t->polls = 0;
        loop_timer(d->loop, &t->outcome_timer, on_outcome_timer, 0);
    } else if (t->in_flight && store_in_flight(d->st)) {
        if (store_wake_update(d))
            return;                  /* the answer wakes the loop */
        int64_t delay = t->polls < TURN_POLL_FAST ? 1 : TURN_POLL_MAX_MS;
        t->polls++;
        loop_timer(d->loop, &t->outcome_timer, on_outcome_timer, delay);
    }
}

static void on_outcome_timer(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, turn.outcome_timer);
    store_service(d->st);
    watch(d);
}

void turn_store_woke(dc_daemon *d)
{
    if (!d->st)
        return;
    loop_cancel(d->loop, &d->turn.outcome_timer);
    store_service(d->st);
    watch(d);
}

void turn_outcome_queued(void *daemon)
{
    dc_daemon *d = daemon;
    if (d->loop)
        loop_timer(d->loop, &d->turn.outcome_timer, on_outcome_timer, 0);
}

void turn_take_outcome(dc_daemon *d)
{
    if (!d->turn.in_flight || !d->st || (!store_pending(d->st) && !store_in_flight(d->st)))
        return;
    loop_cancel(d->loop, &d->turn.outcome_timer);
    store_service(d->st);
    watch(d);
}

static void on_outcome(void *ctx, store_outcome outcome, const char *why)
{
    dc_daemon *d = ctx;
    turn_state *t = &d->turn;
    turn_commit_fn after = t->after;
    void *after_ctx = t->after_ctx;
    t->in_flight = 0;
    t->after = NULL;
    t->after_ctx = NULL;
    if (outcome == STORE_COMMITTED) {
        t->committed_seq = t->in_flight_seq;
        turn_count_members(d, store_outcome_members(d->st));
        turn_committed(d);
        t->last_commit_ms = loop_now(d->loop);
        checkpoint_after_commit(&d->ckpt);
        /* make bench pairs this with the double's send stamps (send->commit latency). */
        commit_trace_note(t->trace_events, t->trace_wakeups, t->trace_started_us);
    } else {
        /* Whatever the reason, the turn's writes stay queued and are
         * retried with the seq that covers them: nothing is skipped. */
        turn_hold(d, "commit", outcome == STORE_RETRY_FULL ? 2 : outcome == STORE_RETRY_BUSY ? 1 : 3, why);
    }
    if (after)
        after(d, after_ctx, outcome == STORE_COMMITTED);
    if (outcome == STORE_COMMITTED)
        removal_log_committed(&d->removals);   /* /metrics: the rows this commit deleted */
    turn_run_queued(d);              /* the writes that came meanwhile: a new turn */
    turn_cap_check(d);
}

/* ---- the flush -------------------------------------------------------------- */

/* Commit the loop turn.  Into its transaction go, besides the journal's
 * writes already in it, the carry (daemon.c): each shard's session id,
 * resume URL and seq, and its guilds' member counts (reconcile_persist_counts);
 * then the COMMIT is handed to the store (store_commit_submit), and
 * turn_committed runs when the outcome says it went through.  While the
 * database is held (busy, disk full) there is nothing to commit: the
 * journal's retry (turn.c) calls this once its writes are in. */
void turn_flush(dc_daemon *d)
{
    turn_state *t = &d->turn;
    if (t->flush_armed && d->loop)
        loop_cancel(d->loop, &t->flush_timer);   /* committed early (turn cap) */
    t->flush_armed = 0;
    t->flush_due_us = 0;
    if (t->in_flight)
        return;                      /* its outcome opens the next turn */
    t->events = 0;
    if (!d->st || t->journal.held)
        return;
    int64_t started_us = commit_trace_clock();
    if (begin_tx(d) != 0)
        return;
    if (t->carry.save && t->carry.save(d) != 0) {
        /* Never commit the turn's writes with a seq that lags or leads them. */
        turn_fail(d, "saving the session", 1);
        return;
    }
    /* A transaction a write broke half-way is never handed over: redone
     * write by write (turn.c), as a refused COMMIT would be. */
    if (store_tx_broken(d->st) || store_commit_submit(d->st, on_outcome, d) != DC_OK) {
        turn_fail(d, "commit", 1);
        return;
    }
    t->in_flight = 1;
    t->in_flight_seq = t->seq;
    t->submitted_ms = loop_now(d->loop);
    t->trace_events = d->events;
    t->trace_wakeups = d->wakeups;
    t->trace_started_us = started_us;
    watch(d);
}

int64_t turn_seq(const dc_daemon *d) { return d->turn.seq; }
int turn_seq_committed(const dc_daemon *d, int64_t seq) { return seq <= d->turn.committed_seq; }

int turn_after_commit(dc_daemon *d, turn_commit_fn fn, void *ctx)
{
    turn_state *t = &d->turn;
    if (!t->in_flight || t->after)
        return -1;
    t->after = fn;
    t->after_ctx = ctx;
    return 0;
}

void turn_finish(dc_daemon *d)
{
    /* Nothing needs the loop any more; processes stopped together contend
     * for SQLite's write lock, and the loop's 20 ms would drop the turn. */
    if (d->st) {
        store_set_busy_timeout(d->st, TURN_STOP_BUSY_MS);
        if (!loop_waits_inline(d->loop))
            store_set_answer_wait(d->st, TURN_STOP_ANSWER_WAIT_MS);
    }
    turn_flush(d);
    while (d->st && d->turn.in_flight) {
        if (!store_pending(d->st))
            store_wait(d->st, TURN_FINISH_WAIT_MS);    /* a database over the network answers later */
        if (!store_pending(d->st))
            break;                   /* no answer: turn_free says what stays unwritten */
        turn_take_outcome(d);        /* committed: the writes that came meanwhile open a turn */
        if (store_in_transaction(d->st))
            turn_flush(d);
    }
}
