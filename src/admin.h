/* admin.h - one-shot database commands: migrate and status.
 * Both print to out and return a sysexits-style process exit status. */
#ifndef DC_ADMIN_H
#define DC_ADMIN_H

#include <stdint.h>
#include <stdio.h>

int admin_migrate(const char *db_path, uint64_t legacy_guild_id, FILE *out);
int admin_status(const char *db_path, FILE *out);

#endif
