/* store_grace.h - pending departures: the grace period of #17 (schema 0009,
 * table cleaner_grace).
 *
 * With grace_hours above 0 a departure is recorded here with the time it
 * falls due instead of deleting the rows; a rejoin deletes the record; at
 * the due time store_grace_expire deletes the rows and the record in the
 * caller's transaction.  One record per member of a guild; user_id 0 is the
 * whole guild (a confirmed GUILD_DELETE, a guild left while offline).
 * Both backends give these the same meaning (store_sqlite_grace.c,
 * store_pg_grace.c); the daemon calls them inside its turn. */
#ifndef DC_STORE_GRACE_H
#define DC_STORE_GRACE_H

#include <stdint.h>
#include "store/store.h"

typedef struct {
    uint64_t guild_id;
    uint64_t user_id;                /* 0: the whole guild */
    audit_reason reason;             /* the departure's own reason */
    int64_t marked_ms, due_ms;
} store_grace_row;

/* Record a departure due at due_ms.  A departure already pending keeps its
 * first record (its due time is never moved: a repeated or replayed event
 * neither hurries nor delays it).  PostgreSQL in the daemon's turn (bare
 * writes on) sends it without waiting: no round trip per member. */
dc_err store_grace_mark(store *s, uint64_t guild_id, uint64_t user_id, audit_reason why,
                        int64_t now_ms, int64_t due_ms);
/* The member (user_id 0: the guild) is back: its record goes, the rows
 * stay.  *n (may be NULL) receives the records dropped, or -1 when the
 * statement was queued in the turn (PostgreSQL). */
dc_err store_grace_cancel(store *s, uint64_t guild_id, uint64_t user_id, int64_t *n);
/* Records due at or before due_by_ms (INT64_MAX: all), earliest first, at
 * most limit (0: no limit); fn returns non-zero to stop. */
typedef int (*store_grace_fn)(void *ctx, const store_grace_row *r);
dc_err store_grace_each(store *s, int64_t due_by_ms, int limit, store_grace_fn fn, void *ctx);
/* How many records (of guild_id; 0: of every guild) and the earliest due
 * time (0 when none). */
dc_err store_grace_count(store *s, uint64_t guild_id, int64_t *n, int64_t *next_due_ms);
/* The record's grace ran out: when it is still there and due by now_ms,
 * the record goes and so do the rows (a member's, or the whole guild's and
 * its state), with one audit row of reason grace_expired whose origin is
 * the departure's reason; *expired 1.  A record cancelled, already expired
 * (by another process on the same database) or not due yet: nothing,
 * *expired 0.  Runs in the caller's transaction (or one of its own), so the
 * rows and the record go together or not at all. */
dc_err store_grace_expire(store *s, uint64_t guild_id, uint64_t user_id, int64_t now_ms,
                          int *expired, int64_t *rows);
/* A sweep with a grace period: the guild's rows whose members are not in
 * the sweep's member set (store_sweep.h, between sweep_open and
 * sweep_close) are recorded as pending (reason sweep) instead of deleted;
 * *marked receives how many members were newly recorded. */
dc_err store_grace_mark_stale(store *s, uint64_t guild_id, int64_t now_ms, int64_t due_ms, int64_t *marked);

#endif
