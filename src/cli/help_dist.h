/* help_dist.h - what `make install` ships beside the binary, printed by the
 * binary itself from the tables --help uses: the man page discord-cleaner(1)
 * (`discord-cleaner help man`) and the bash completion
 * (`discord-cleaner help completion`). */
#ifndef DC_HELP_DIST_H
#define DC_HELP_DIST_H

#include <stdio.h>

#include "config/config.h"

/* One command as main.c's table describes it. */
typedef struct {
    const char *name, *synopsis, *summary, *options_help;
    const config_flag *flags;     /* NULL-name terminated; NULL when none */
} help_dist_cmd;

void help_dist_man(FILE *out, const help_dist_cmd *cmds, size_t n);
void help_dist_completion(FILE *out, const help_dist_cmd *cmds, size_t n);

#endif
