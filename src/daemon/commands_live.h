/* commands_live.h - the chat commands in the live daemon: feeds the role
 * cache, decides with commands.c, reads the daemon's state, queues sweeps
 * and posts replies over REST.  Called from events.c for every dispatch. */
#ifndef DC_COMMANDS_LIVE_H
#define DC_COMMANDS_LIVE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "proto/proto.h"

typedef struct dc_daemon dc_daemon;
typedef struct shard shard;

/* One dispatch of shard s.  Does nothing when commands are off. */
void commands_live_on_dispatch(shard *s, dc_event ev, const char *event, const cJSON *data);
/* The bot was confirmed removed from guild_id (REST said so): forget its
 * roles and owner.  A GUILD_DELETE alone forgets nothing. */
void commands_live_guild_gone(dc_daemon *d, uint64_t guild_id);
/* Free the commands' state (after rest_free: no callback can still run). */
void commands_live_free(dc_daemon *d);

#endif
