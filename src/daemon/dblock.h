/* dblock.h - one discord-cleaner process per database.
 *
 * `run` and `sweep` each hold the gateway session of the bot: two on one
 * database resume each other's saved session and close each other (4000)
 * in a loop.  Each takes an exclusive advisory lock (flock) on the side
 * file <db>.lock for as long as it runs, and writes "PID COMMAND" into it
 * so the one refused can say who holds it.  The kernel drops the lock when
 * the holder exits or crashes: a stale file never blocks anybody. */
#ifndef DC_DBLOCK_H
#define DC_DBLOCK_H

#include <stddef.h>

typedef enum { DBLOCK_TAKEN, DBLOCK_HELD, DBLOCK_ERROR } dblock_result;

/* Takes the lock for db_path as `command` (run, sweep).  TAKEN: *fd holds
 * it until dblock_release.  HELD: another process has it; holder receives
 * its "PID COMMAND" line (or "" when unreadable).  ERROR: errno is set. */
dblock_result dblock_take(const char *db_path, const char *command, int *fd, char *holder, size_t cap);
void dblock_release(int *fd);

#endif
