/* cli_stubs.c - TEMPORARY stand-ins for replay_main and
 * sweep_main so the CLI links and can be tested on this branch.
 * DELETE THIS FILE when the real implementations are merged. */
#include <stdio.h>

#include "replay.h"
#include "sweep_cli.h"

static int not_built(const char *command)
{
    fprintf(stderr, "discord-cleaner: '%s' is not built yet (see issue #3)\n", command);
    return 70;
}

int replay_main(const config *cfg, int argc, char **argv)
{
    (void)cfg, (void)argc, (void)argv;
    return not_built("replay");
}

int sweep_main(const config *cfg, int argc, char **argv)
{
    (void)cfg, (void)argc, (void)argv;
    return not_built("sweep");
}
