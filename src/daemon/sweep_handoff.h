/* sweep_handoff.h - `discord-cleaner sweep` handed to a running daemon
 * through the database (sweep_handoff.c). */
#ifndef DC_SWEEP_HANDOFF_H
#define DC_SWEEP_HANDOFF_H

#include <stddef.h>
#include <stdint.h>
#include "config/config.h"

typedef struct dc_daemon dc_daemon;

/* Daemon: on PostgreSQL, look for requests every second (a CLI on another
 * host cannot signal); nothing on SQLite. */
void sweep_handoff_start(dc_daemon *d);
/* Daemon: a CLI has queued requests (SIGUSR1); take them once no
 * transaction of the daemon's is open. */
void sweep_handoff_wake(dc_daemon *d);
/* Daemon stopping: answer what is still open ("did not finish", 75). */
void sweep_handoff_stop(dc_daemon *d);
/* After daemon_free_core: cancel the timer, free the requests. */
void sweep_handoff_free(dc_daemon *d);

/* The daemon a CLI hands its sweep to: its pid, and on PostgreSQL the host
 * of its lease ("" on SQLite); local: on this host (it can be signalled). */
typedef struct {
    long pid;
    char host[256];
    int local;
} sweep_handoff_target;

/* CLI: queue the sweeps of guilds[0..n) (n 0: every guild) with the daemon
 * t, wake it (same host), print its answers; returns the exit status (0, 66,
 * 75: also when the daemon dies or its lease lapses before answering). */
int sweep_handoff_run(const config *cfg, const sweep_handoff_target *t, const uint64_t *guilds, size_t n,
                      int force);

#endif
