/* fd_interact.h - application-command interactions in the double: a control
 * route dispatches INTERACTION_CREATE (type 2) as a member of a guild (with
 * the permissions Discord would compute) or in a DM, and the unauthenticated
 * REST routes that answer it (callback, edit @original, follow-ups) are
 * recorded per interaction with Discord's errors: 40060 for a second
 * callback, 10062 after 3 s, 10015 once the token's lifetime is over. */
#ifndef FD_INTERACT_H
#define FD_INTERACT_H

#include <stdbool.h>
#include "fd_http.h"
#include "fd_server.h"

/* POST /_control/interaction {"guild_id","channel_id"?,"user_id","name",
 * "subcommand","options"?:[{name,type,value}],"command_id"?,"dm"?,
 * "overwrite"?:{"allow","deny"}}: dispatches; answers {"ok","id","token",
 * "sessions"}. */
void fd_interact_ctl_dispatch(fd_server *srv, const cJSON *body, fd_resp *rs);
/* GET /_control/interactions: one record per interaction. */
cJSON *fd_interact_log(const fd_server *srv);
/* Routes under /interactions/ and /webhooks/ (no bot auth); true when the
 * path was one of them and rs holds the answer. */
bool fd_interact_rest(fd_server *srv, const fd_req *rq, fd_resp *rs);

#endif
