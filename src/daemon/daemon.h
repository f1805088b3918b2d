/* daemon.h - `discord-cleaner run`: the long-running daemon, and what the
 * CLI asks of it.  The public face of src/daemon for src/cli (replay has
 * daemon_replay.h): functions only, the daemon's struct stays opaque.
 *
 * daemon_run: argv holds what the CLI left for the subcommand (its own
 * flags such as "--record FILE" and positionals, in order; argv[argc] is
 * NULL).  Runs until SIGTERM/SIGINT (exit 0) or a fatal condition: 77 bad
 * token, 78 configuration / intents / sharding, 70 internal. */
#ifndef DC_DAEMON_H
#define DC_DAEMON_H

#include <stdint.h>

#include "base/err.h"
#include "config/config.h"
#include "policy/sweep.h"

typedef struct dc_daemon dc_daemon;

int daemon_run(const config *cfg, int argc, char **argv);

/* Called on every scheduler tick (once a second) while the hook is set. */
typedef void daemon_tick_fn(dc_daemon *d, void *ctx);
typedef struct {
    daemon_tick_fn *tick;
    void *ctx;                       /* the hook's own, never read by the daemon */
} daemon_hook;

/* The loop behind `run` (hook NULL) and `sweep` (sweep_cli.c).  With a
 * hook the process is a one-shot: it never resumes or saves the daemon's
 * session, the scheduler starts only the sweeps asked for, and the hook
 * says when to stop (daemon_request_stop).  Returns the exit status. */
int daemon_main(const config *cfg, const daemon_hook *hook);

/* A sweep somebody asked for (command, CLI), waiting for its shard. */
typedef struct {
    uint64_t guild_id;
    int force, dry_run;
    void (*done)(void *ctx, uint64_t guild_id, const sweep_action *result);
    void *ctx;
} sweep_request;

/* Queue an on-demand sweep; DC_ERR_NOTFOUND when no shard of this process
 * has the guild available. */
dc_err daemon_request_sweep(dc_daemon *d, const sweep_request *r);
/* 1 when every shard's session is READY (0 before the shards exist). */
int daemon_sessions_ready(dc_daemon *d);
/* 1 when a shard of this process has the guild available. */
int daemon_has_guild(dc_daemon *d, uint64_t guild_id);
/* fn for every guild available to this process, until it returns nonzero. */
void daemon_each_guild(dc_daemon *d, int (*fn)(void *ctx, uint64_t guild_id), void *ctx);
/* The daemon's clock (loop_now) and when it last saw a guild arrive. */
int64_t daemon_now_ms(dc_daemon *d);
int64_t daemon_last_guild_seen_ms(dc_daemon *d);
/* Stop the daemon with this exit status (the first nonzero one stays). */
void daemon_request_stop(dc_daemon *d, int status);

#endif
