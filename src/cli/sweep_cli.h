/* sweep_cli.h - `discord-cleaner sweep (--guild ID | --all) [--force]`:
 * one reconciliation sweep from the command line, then exit.
 * argv holds the subcommand's own flags and positionals, in order.
 * Returns a sysexits-style process exit status. */
#ifndef DC_SWEEP_CLI_H
#define DC_SWEEP_CLI_H

#include "config/config.h"

int sweep_cli_main(const config *cfg, int argc, char **argv);

#endif
