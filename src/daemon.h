/* daemon.h - `discord-cleaner run`: the long-running daemon.
 * argv holds what the CLI left for the subcommand (its own flags such as
 * "--record FILE" and positionals, in order; argv[argc] is NULL).
 * Returns a sysexits-style process exit status. */
#ifndef DC_DAEMON_H
#define DC_DAEMON_H

#include "config.h"

int daemon_run(const config *cfg, int argc, char **argv);

#endif
