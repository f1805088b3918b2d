/* store_wake.h - the store's socket in the daemon's live loop: the loop
 * wakes when the database answers (or a reconnect's step can go on, or a
 * deadline of the store's is due) instead of polling store_service on a
 * timer.  See store_wake.c. */
#ifndef DC_STORE_WAKE_H
#define DC_STORE_WAKE_H

#include "loop/loop.h"

struct dc_daemon;

typedef struct {
    dc_watch watch;                  /* the store's socket (loop_watch) */
    dc_timer kick;                   /* 0 ms after the socket fired: store_service, then the turn */
    dc_timer due;                    /* the store's own deadline (store_watch's due_in_ms) */
    unsigned gen;                    /* store_watch's gen of the socket watched */
    unsigned hup_gen;                /* gen whose socket the loop dropped (hung up): not adopted again */
    int watching;                    /* the socket is watched: no poll needed */
} store_wake;

/* Watch what the store asks for now (a new socket after a reconnect, the
 * writable side while libpq holds output, the store's deadline).  Called
 * before the loop sleeps and after each store_service.  1 when the store's
 * socket is watched; 0 when nothing needs watching, the store has no socket
 * (SQLite), or the loop cannot watch one (replay: its turn waits inline). */
int store_wake_update(struct dc_daemon *d);
/* Stop watching (daemon_free_core, before the store closes). */
void store_wake_stop(struct dc_daemon *d);

#endif
