/* replay.h - `discord-cleaner replay FIXTURE [--expect FILE] [--speed X]`:
 * feed a recorded gateway session through the same code path as `run`.
 * argv holds the subcommand's own flags and positionals, in order.
 * Returns a sysexits-style process exit status. */
#ifndef DC_REPLAY_H
#define DC_REPLAY_H

#include "config/config.h"

int replay_main(const config *cfg, int argc, char **argv);

#endif
