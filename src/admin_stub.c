/* admin_stub.c - TEMPORARY stand-in for admin.c so the CLI links and can be
 * tested on this branch.  DELETE THIS FILE when admin.c is merged. */
#include "admin.h"

#include <stdio.h>

int admin_migrate(const char *db_path, uint64_t legacy_guild_id, FILE *out)
{
    (void)db_path;
    (void)legacy_guild_id;
    (void)out;
    fputs("discord-cleaner: 'migrate' is not built in this branch\n", stderr);
    return 70;
}

int admin_status(const char *db_path, FILE *out)
{
    (void)db_path;
    (void)out;
    fputs("discord-cleaner: 'status' is not built in this branch\n", stderr);
    return 70;
}
