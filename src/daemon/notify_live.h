/* notify_live.h - the daemon's side of systemd's notify protocol
 * (base/sd_notify.h does the sending): READY=1 once every shard of this
 * process is READY, STATUS= lines saying what it does, WATCHDOG=1 while the
 * loop turns and heartbeats are acknowledged, STOPPING=1, RELOADING=1. */
#ifndef DC_NOTIFY_LIVE_H
#define DC_NOTIFY_LIVE_H

#include <stdint.h>

#include "loop/loop.h"

#define NOTIFY_POLL_MS 250

typedef struct {
    dc_timer poll, watchdog;
    int64_t watchdog_ms;             /* WATCHDOG_USEC/2 in ms; 0: no watchdog */
    int ready_sent;                  /* READY=1 went out once */
    int was_ready;                   /* every shard READY at the last poll */
    int64_t shard_interval[64];      /* last heartbeat interval seen per shard slot */
    int64_t since_ms;                /* when the acknowledgement clock started (first READY) */
    int64_t wakeups_seen;            /* d->wakeups at the last watchdog tick */
    char status[256];                /* the last STATUS= sent */
} notify_live;

struct dc_daemon;
/* Starts the poll (and the watchdog when WATCHDOG_USEC is for us); STATUS=connecting. */
void notify_start(struct dc_daemon *d);
void notify_stopping(struct dc_daemon *d);     /* SIGTERM: STOPPING=1, timers off */
void notify_reloading(struct dc_daemon *d);    /* before SIGHUP's reload: RELOADING=1 + MONOTONIC_USEC */
void notify_reloaded(struct dc_daemon *d);     /* after it: READY=1 and the status again */
void notify_free(struct dc_daemon *d);         /* timers cancelled */
/* The watchdog's test: every shard acknowledged a heartbeat within two of
 * its intervals (since the first READY when none yet). */
int notify_heartbeats_ok(struct dc_daemon *d, int64_t now_ms);

#endif
