/* slash_register.h - makes sure the global slash command exists (shard 0's process).
 *
 * The first READY or RESUMED of shard 0 in the process (a restart that
 * resumes its session gets no READY: the application id is then the one a
 * READY recorded as slash.application_id, else GET /applications/@me's)
 * starts it, when `commands`
 * includes slash and the daemon runs live (not in a replay or a one-shot
 * sweep): GET the application's commands, then what slash_command_plan
 * decides -- nothing, POST (create, then the id is recorded in the
 * database under slash.<application id>.command_id) or PATCH of our own
 * command by that id.  A command of that name with another id is someone
 * else's: left alone, one warning.  Never the bulk PUT.  A failure is one
 * log line, never fatal; the next READY (a new session) tries again, a
 * RESUMED does not. */
#ifndef DC_SLASH_REGISTER_H
#define DC_SLASH_REGISTER_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "proto/proto.h"

struct shard;

typedef enum {
    SLASH_REG_IDLE = 0,          /* not tried yet */
    SLASH_REG_BUSY,              /* requests in flight */
    SLASH_REG_DONE,              /* registered, up to date, or left to its owner */
    SLASH_REG_FAILED             /* retried at the next READY */
} slash_reg_phase;

typedef struct {
    slash_reg_phase phase;
    uint64_t app_id;             /* READY's application.id */
    uint64_t unrecorded_id;      /* our command's id, not yet in the database */
    int unrecorded_app;          /* app_id not yet in the database */
} slash_reg;

/* Every dispatch of shard s with its data: shard 0's first READY or
 * RESUMED of the process starts the registration; after a failure, its
 * next READY.  Other shards never do: processes that split a bot's shards
 * (#16) would race, and shard 0 runs in exactly one of them. */
void slash_register_on_session(struct shard *s, dc_event ev, const cJSON *data);

#endif
