/* reconcile_defer.h - sweep actions that wait for a COMMIT in flight.
 *
 * A sweep's actions write or read the store (the member set, its deletes,
 * the measuring scan).  While the turn's COMMIT is on the wire (PostgreSQL
 * answers it later), running one would make the loop wait for that answer;
 * instead the action is copied here, in order, and run when the commit's
 * outcome has come through the loop (reconcile_turn_ready).  The copies own
 * what the action pointed into (a chunk's ids, the nonce, the result text),
 * which the caller frees once drain returns. */
#ifndef DC_RECONCILE_DEFER_H
#define DC_RECONCILE_DEFER_H

#include <stddef.h>
#include <stdint.h>

#include "policy/sweep.h"

typedef struct {
    sweep_action a;                  /* its pointers point into the owned copies below */
    uint64_t *ids;
    char *nonce, *text;
} reconcile_deferred;

typedef struct {
    reconcile_deferred *v;
    size_t head, n, cap;
} reconcile_defer_queue;

/* Copies a to the end of q: 0, or -1 out of memory (nothing queued). */
int reconcile_defer_push(reconcile_defer_queue *q, const sweep_action *a);
/* The oldest action, or NULL when none: run it, then reconcile_defer_pop. */
const sweep_action *reconcile_defer_front(const reconcile_defer_queue *q);
void reconcile_defer_pop(reconcile_defer_queue *q);
/* Drops every action and frees the queue. */
void reconcile_defer_free(reconcile_defer_queue *q);

#endif
