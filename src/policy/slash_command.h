/* slash_command.h - the daemon's global slash command (sans-I/O).
 *
 * One CHAT_INPUT command, named by slash_command_name, with subcommands
 * users [force], test, status, all_guilds [force] and schedule [hours],
 * default_member_permissions = admin_permission, guild contexts only.
 * This module builds its JSON and, from what GET /applications/{app}/commands
 * answered and the id the database recorded for it, decides what
 * registration does: nothing, create it (POST), update our own command
 * (PATCH by id) or leave someone else's command of that name alone.  The
 * bulk overwrite (PUT) is never a step: it would delete the bot's other
 * commands.  The REST calls are the daemon's (daemon/slash_register.c). */
#ifndef DC_SLASH_COMMAND_H
#define DC_SLASH_COMMAND_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "base/err.h"

#define SLASH_HOURS_MIN 1
#define SLASH_HOURS_MAX 720

typedef struct {
    const char *name;            /* slash_command_name (validated by config) */
    uint64_t permissions;        /* admin_permission bits */
} slash_spec;

/* The command as POST/PATCH sends it; NULL when out of memory.  The caller
 * frees it with cJSON_Delete. */
cJSON *slash_command_build(const slash_spec *spec);

/* 1 when have (a command as Discord returns it) matches want in every field
 * slash_command_build sets, allowing for Discord's normalisation: a missing
 * "type" is 1, a missing "required" false, a missing "options" empty,
 * permissions compared as numbers, contexts as a set. */
int slash_command_matches(const cJSON *want, const cJSON *have);

typedef enum {
    SLASH_NOTHING = 0,           /* ours, and it already matches */
    SLASH_CREATE,                /* no command of that name: POST it, record its id */
    SLASH_UPDATE,                /* ours (recorded id) but different or renamed: PATCH id */
    SLASH_FOREIGN                /* that name is someone else's command: leave it alone */
} slash_step;

typedef struct {
    slash_step step;
    uint64_t id;                 /* NOTHING/UPDATE: ours; FOREIGN: the other command */
} slash_plan;

/* existing: the array GET /applications/{app}/commands answered; recorded:
 * the id the database holds for our command (0: none).  DC_ERR_PROTO when
 * existing is not an array or a command of our name has no id. */
dc_err slash_command_plan(const cJSON *want, const cJSON *existing, uint64_t recorded, slash_plan *out);

/* "nothing", "create", "update", "foreign" (for logs and tests). */
const char *slash_step_name(slash_step s);

#endif
