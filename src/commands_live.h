/* commands_live.h - the chat commands in the live daemon: feeds the role
 * cache, decides with commands.c, reads the daemon's state, queues sweeps
 * and posts replies over REST.  Called from events.c for every dispatch. */
#ifndef DC_COMMANDS_LIVE_H
#define DC_COMMANDS_LIVE_H

#include <cjson/cJSON.h>
#include "daemon_internal.h"

/* One dispatch of shard s.  Does nothing when commands are off. */
void cmdl_on_dispatch(shard *s, const char *event, const cJSON *data);
/* Free the commands' state (after rest_free: no callback can still run). */
void cmdl_free(dc_daemon *d);

#endif
