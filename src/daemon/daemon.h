/* daemon.h - `discord-cleaner run`: the long-running daemon.
 * argv holds what the CLI left for the subcommand (its own flags such as
 * "--record FILE" and positionals, in order; argv[argc] is NULL).
 * Runs until SIGTERM/SIGINT (exit 0) or a fatal condition: 77 bad token,
 * 78 configuration / intents / sharding, 70 internal. */
#ifndef DC_DAEMON_H
#define DC_DAEMON_H

#include "config/config.h"

int daemon_run(const config *cfg, int argc, char **argv);

#endif
