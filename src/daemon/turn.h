/* turn.h - the loop turn: its transaction, its COMMIT and its journal.
 *
 * One turn module owns the turn (turn.c: the journal and the hold;
 * turn_flush.c: begin, flush and the commit's outcome; turn_cap.c: when a
 * turn commits).  Its state lives in dc_daemon.turn; the fields belong to
 * turn*.c, every other module calls the functions below.
 *
 * The writes of one loop turn and the sequence numbers that cover their
 * events are committed together: the COMMIT is handed to the store
 * (store_commit_submit) and its outcome comes back through the event loop
 * (a 0 ms timer runs store_service; PostgreSQL answers later, and its
 * socket wakes the loop when it has: store_wake.c).  Until it has,
 * the commit is "in
 * flight": new journal writes do not open a transaction; they wait in the
 * journal, as while the database is held (below), and are carried out in
 * the next turn when the outcome arrives.  Writers that cannot wait (sweeps,
 * guild deletes, the scheduler) call turn_begin, which first takes an
 * outcome the store already has; SQLite always has it (it commits inside
 * store_commit_submit), so for them nothing changes.
 *
 * Every write the daemon derives from gateway events and REST confirmations
 * (deletes, guild state) is recorded here before it is carried out in the
 * turn's transaction.  When SQLite refuses the turn because another
 * connection holds the write lock (busy) or the disk is full, the turn is
 * rolled back and the database is "held": new writes only queue, and a loop
 * timer retries the whole queue, plus the sequence numbers that cover it,
 * in one transaction with backoff.  A refused COMMIT (any outcome but
 * committed) is held the same way.  The event loop never waits more than
 * the short busy_timeout for the lock, so heartbeats stay on time; nothing
 * is lost, because the persisted seq only ever moves together with the
 * writes of the events it covers.  Sweeps never queue: a sweep whose
 * writes were refused is aborted (nothing deleted) and tried again later.
 *
 * The journal is bounded by journal_max_writes: when a hold (or a commit in
 * flight) lasts that long, the shards' sockets are no longer read (Discord
 * keeps the events; the persisted seq has not moved past them) until the
 * database takes the journal; nothing is dropped.  A connection that the
 * pause outlasts (heartbeat ACKs unread) reconnects and resumes, and a
 * session that can no longer resume identifies anew and gets a sweep. */
#ifndef DC_TURN_H
#define DC_TURN_H

#include <stddef.h>
#include <stdint.h>

#include "loop/loop.h"
#include "store/store.h"

#define TURN_BUSY_TIMEOUT_MS 20      /* the daemon's busy_timeout once the loop runs */
/* The longest the live loop waits for PostgreSQL's answer to a statement
 * (store_set_answer_wait): five times a sweep slice's on a loaded machine
 * (make bench, sweep on PostgreSQL: heartbeat late by 61-97 ms); an answer
 * that takes longer is given up on and the caller retries later. */
#define TURN_ANSWER_WAIT_MS 500
#define TURN_STOP_BUSY_MS 5000       /* after the loop: wait for a busy file rather than lose the last writes */
#define TURN_STOP_ANSWER_WAIT_MS (TURN_STOP_BUSY_MS + 1000)   /* and for PostgreSQL's answer */

typedef enum {
    TW_DELETE_MEMBER,                /* guild_id, user_id, reason */
    TW_DELETE_GUILD,                 /* guild_id, reason; forgets the guild's state */
    TW_GUILD_SEEN,                   /* available on shard_id */
    TW_GUILD_UNAVAILABLE,            /* outage */
    TW_MARK_RECONCILE,               /* seen on shard_id, and needs a sweep */
    TW_NEEDS_RECONCILE,              /* needs a sweep (REST could not confirm) */
    TW_ADOPT_UNASSIGNED,             /* legacy rows with guild_id NULL belong to guild_id */
    /* #17 the grace period (grace_live.c): user_id 0 is the whole guild */
    TW_GRACE_MARK,                   /* departure pending; reason: the departure's, due from at_ms */
    TW_GRACE_CANCEL,                 /* rejoined: the pending departure goes, the rows stay */
    TW_GRACE_EXPIRE,                 /* due: the rows and the record go (once) */
} turn_write_kind;

typedef struct {
    turn_write_kind kind;
    int shard_id;
    uint64_t guild_id, user_id;
    audit_reason reason;
    int64_t at_ms;                   /* wall time the write was decided (audit) */
    int64_t rows_counted;            /* rows counted in d->removed by this attempt */
    int wait_shard;                  /* shard id + 1 whose RESUME replay must end first; 0: none */
    int queued;                      /* came while a commit was in flight: runs at its outcome (turn.c) */
} turn_write;

typedef struct {
    turn_write *v;
    size_t n, cap;
    int held;                        /* 1 busy, 2 disk full: waiting for the retry timer */
    int in_hold;                     /* a hold began and no commit has ended it yet */
    int64_t held_since_ms;           /* loop_now when the hold began */
    int64_t backoff_ms;
    int warned;                      /* the long-wait error was logged for this hold */
    size_t n_waiting;                /* writes with wait_shard set */
    int paused;                      /* the gateway is not read: the journal is full (turn.c) */
    dc_timer retry_timer;
} turn_journal;

struct dc_daemon;

/* What every COMMIT carries besides the journal's writes: the shards'
 * session ids, resume URLs, seqs and member counts (daemon.c; the turn
 * never reads shards).  save: write what changed since the last commit
 * into the open transaction, 0, or -1 when a write failed (the turn must
 * then not commit: its seq would lag or lead its writes).  lost: the last
 * attempt was rolled back; the next save rewrites everything. */
typedef struct {
    int (*save)(struct dc_daemon *d);
    void (*lost)(struct dc_daemon *d);
} turn_carry;

/* After a commit's outcome (turn_after_commit): committed 1, or 0 when the
 * commit was refused and rolled back (the turn is held). */
typedef void (*turn_commit_fn)(struct dc_daemon *d, void *ctx, int committed);

typedef struct {
    turn_journal journal;            /* the turn's writes until committed (turn.c) */
    dc_timer flush_timer;            /* the COMMIT before the loop sleeps (turn_flush.c) */
    int flush_armed;
    int events;                      /* dispatches in the open turn (turn_cap.c) */
    int max_events;                  /* commit after this many; 0 = TURN_MAX_EVENTS */
    int64_t last_commit_ms;          /* loop_now of the last turn COMMIT (turn_cap.c) */
    int64_t flush_due_us;            /* live: the delayed COMMIT is due (turn_cap.c), 0 = none */
    /* the commit handed to the store, until its outcome (turn_flush.c) */
    int in_flight;
    int64_t submitted_ms;            /* loop_now when it was handed over */
    int64_t seq;                     /* transactions opened so far: the open one's number */
    int64_t in_flight_seq;           /* the number of the one handed over */
    int64_t committed_seq;           /* of the last one committed (turns commit in order) */
    int wanted;                      /* a turn was asked for meanwhile: open it at the outcome */
    dc_timer outcome_timer;          /* 0 ms: store_service, the outcome through the loop */
    int polls;                       /* looks at the socket of a commit not answered yet, where the
                                        loop cannot watch it (turn_flush.c) */
    int64_t trace_events, trace_wakeups, trace_started_us;   /* commit_trace of the commit in flight */
    turn_commit_fn after;            /* turn_after_commit */
    void *after_ctx;
    turn_carry carry;
} turn_state;

/* daemon_init: an empty turn whose commits carry c. */
void turn_init(struct dc_daemon *d, const turn_carry *c);
/* Open this loop turn's transaction (once) and arm its COMMIT, for writes
 * that cannot wait in the journal (a sweep's steps, a guild delete): a
 * commit still in flight (PostgreSQL answers a COMMIT later) is waited for,
 * bounded -- in the live loop until TURN_ANSWER_WAIT_MS after it was
 * submitted, all callers together -- and an outcome the store has is
 * taken first.  -1 when the
 * database is held (or a commit's outcome is still not known): write
 * nothing now. */
int turn_begin(struct dc_daemon *d);
/* The open turn's number (after turn_begin gave 0), and whether the turn
 * of that number has committed: a sweep notes the turn of its writes, and
 * only a lost turn that held some of them ends it (reconcile_turn_lost). */
int64_t turn_seq(const struct dc_daemon *d);
int turn_seq_committed(const struct dc_daemon *d, int64_t seq);
/* Non-zero while the turn's COMMIT is on the wire with no outcome yet, in
 * a loop that does not wait inline: a store statement now would wait for
 * that answer (the shard leases' renewal tries again later instead). */
int turn_commit_waits(struct dc_daemon *d);
/* A dispatch arrived: the commit that persists its seq is armed (opening
 * the turn), or, while held or in flight, follows with the waiting writes. */
void turn_event_begin(struct dc_daemon *d);
/* Commit the turn: the carry (shard sessions and seqs, member counts),
 * then COMMIT, handed to the store; the outcome comes through the loop.
 * Nothing while held (the retry flushes) or while a commit is in flight
 * (its outcome opens the next turn). */
void turn_flush(struct dc_daemon *d);
/* Shutdown: flush and wait for the outcomes (the one place the turn waits
 * for the store), so that what was written is committed or said lost. */
void turn_finish(struct dc_daemon *d);
/* After a turn_flush: fn(d, ctx, committed) runs once with the outcome of
 * the commit it handed over.  -1 (fn never runs) when no commit is in
 * flight -- the flush was refused at once and the turn is held -- or
 * another fn waits already.  ctx is malloc'd: turn_free frees it when the
 * daemon stops before the outcome came. */
int turn_after_commit(struct dc_daemon *d, turn_commit_fn fn, void *ctx);

/* Record w and carry it out in the turn's transaction unless the database
 * is held or a commit is in flight (then it waits for the retry, or for
 * the commit's outcome). */
void turn_write_do(struct dc_daemon *d, turn_write w);
/* A member rejoined (GUILD_MEMBER_ADD): drop every delete of that member
 * in that guild that no transaction holds yet -- queued while the database
 * is held or a commit is in flight, or waiting for a RESUME replay to
 * end -- so a leave followed by a rejoin deletes nothing.  A delete
 * already run in the open turn stays: the bot cannot write the rejoined
 * member's row before that turn commits.  Returns how many were dropped. */
size_t turn_cancel_member_delete(struct dc_daemon *d, uint64_t guild_id, uint64_t user_id);
/* The RESUME replay of shard_id ended (RESUMED, or the connection closed):
 * its waiting writes run in the turn now, or with the retry while held. */
void turn_release_shard(struct dc_daemon *d, int shard_id);
/* Non-zero while writes wait for the database (an outcome the store has
 * already is taken first). */
int turn_held(struct dc_daemon *d);
/* A store call of the turn failed.  When SQLite refused it for a passing
 * reason (busy, disk full) or always_hold is set: roll the turn back, keep
 * its writes, arm the retry, return 1.  Otherwise 0: the caller reports. */
int turn_fail(struct dc_daemon *d, const char *what, int always_hold);
/* A grace write (TW_GRACE_*) carried out in the turn (grace_live.c). */
dc_err grace_live_run_write(struct dc_daemon *d, turn_write *w);
/* The store's socket (or deadline) woke the loop (store_wake.c): read what
 * the database answered and deliver the outcomes, as the outcome timer does. */
void turn_store_woke(struct dc_daemon *d);
/* The store queued an outcome (store_on_pending): deliver it from a 0 ms
 * timer.  A read that settled the pipeline took the COMMIT's answer off the
 * socket, so neither the socket nor a poll would wake the loop for it, and
 * the writes queued behind that commit would wait for the next event. */
void turn_outcome_queued(void *daemon);
/* Shutdown: cancel the timers; say what stays unwritten (a restart replays it). */
void turn_free(struct dc_daemon *d);

#endif
