/* interact_live.h - slash commands in the live daemon: INTERACTION_CREATE
 * of our command is judged exactly like the equivalent prefix command
 * (policy/interact.c, policy/commands.c) and carried out by
 * commands_live.c, whose replies are diverted to the interaction
 * (interact_rest.c): status and refusals at once and ephemeral, sweeps
 * deferred at once and their results edited into the original response. */
#ifndef DC_INTERACT_LIVE_H
#define DC_INTERACT_LIVE_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "base/err.h"
#include "proto/proto.h"

typedef struct dc_daemon dc_daemon;
typedef struct shard shard;

/* One dispatch of shard s; only INTERACTION_CREATE of the command named
 * slash_command_name is looked at, and only with commands = slash or both. */
void interact_live_on_dispatch(shard *s, dc_event ev, const cJSON *data);
/* Free the state (after rest_free: no callback can still run). */
void interact_live_free(dc_daemon *d);

#endif
