/* daemon.h - `discord-cleaner run`: the live event loop. */
#ifndef DC_DAEMON_H
#define DC_DAEMON_H

#include "config.h"

/* Runs until SIGTERM/SIGINT (exit 0) or a fatal condition (sysexits status;
 * 77 bad token, 78 configuration / intents / sharding, 69 Discord
 * unreachable at start-up).  argc/argv: the subcommand's own options. */
int daemon_run(const config *cfg, int argc, char **argv);

#endif
