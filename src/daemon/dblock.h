/* dblock.h - which discord-cleaner processes work on an SQLite database.
 *
 * Two processes running the SAME shards of a bot on one database resume
 * each other's saved session and close each other (4000) in a loop, and a
 * one-shot `sweep` opens a session of its own beside a daemon's.  Several
 * `run` processes with disjoint shard ranges are fine (#16: the shard
 * leases in the database keep overlapping ranges apart, on every backend).
 * So, with advisory locks (flock) on side files the kernel drops when the
 * holder exits or crashes (a stale file never blocks anybody):
 *   <db>.lock             `run` holds it shared, a one-shot `sweep`
 *                         exclusive (writing "PID sweep"): a sweep excludes
 *                         every daemon and the other way round;
 *   <db>.run-RANGE.lock   `run` holds it exclusive for its range ("0-3-16",
 *                         "all" when the shards are automatic), writing
 *                         "PID run RANGE": a second daemon of the same range
 *                         is refused, and `discord-cleaner sweep` finds the
 *                         daemons (and the pid it wakes with SIGUSR1) here. */
#ifndef DC_DBLOCK_H
#define DC_DBLOCK_H

#include <stddef.h>

typedef enum { DBLOCK_TAKEN, DBLOCK_HELD, DBLOCK_ERROR } dblock_result;

/* A one-shot sweep: <db>.lock exclusive as `command`.  TAKEN: *fd holds it
 * until dblock_release.  HELD: another process has it; holder receives
 * its "PID COMMAND" line ("" when a daemon holds it: daemons write their
 * own files).  ERROR: errno is set. */
dblock_result dblock_take(const char *db_path, const char *command, int *fd, char *holder, size_t cap);
/* A daemon of shards `range` ("0-3/16", "all"): <db>.lock shared and its
 * range's file exclusive; fds[2] hold them.  HELD: holder receives the line
 * of the one in the way ("PID sweep", "PID run RANGE"). */
dblock_result dblock_take_run(const char *db_path, const char *range, int fds[2], char *holder, size_t cap);
void dblock_release(int *fd);

/* The daemons (`run`) at work on db_path, from their range files: up to
 * cap of them into out; returns how many were found. */
typedef struct {
    long pid;
    char range[48];                  /* "0-3/16", "all" */
} dblock_daemon;
int dblock_running(const char *db_path, dblock_daemon *out, int cap);

#endif
