/* cli_stubs.c - `replay` until issue #6 (record and replay) lands: says so
 * plainly instead of pretending.  Delete when src/replay.c exists. */
#include <stdio.h>

#include "replay.h"

int replay_main(const config *cfg, int argc, char **argv)
{
    (void)cfg, (void)argc, (void)argv;
    fprintf(stderr, "discord-cleaner: 'replay' is not built yet (issue #6)\n");
    return 70;
}
