/* fd_dm.h - direct messages in the double: POST /users/@me/channels opens
 * (or returns) the one DM channel of a user; a message to it is delivered
 * when the user shares a guild with the bot and has not closed DMs, else
 * refused with 403 / 50007 ("Cannot send messages to this user").  Both
 * outcomes are recorded for GET /_control/dms. */
#ifndef FD_DM_H
#define FD_DM_H

#include <stdbool.h>
#include <stdint.h>
#include "fd_http.h"
#include "fd_server.h"

/* The DM channel id of uid, assigned on first use and stable after. */
uint64_t fd_dm_channel(fd_server *srv, uint64_t uid);
/* A user object {id, username "user<id>", discriminator}. */
cJSON *fd_dm_user_cjson(uint64_t uid);
/* Bot-authenticated DM routes; true when it answered. */
bool fd_dm_route(fd_server *srv, const fd_req *rq, fd_resp *rs);
/* POST /_control/dm_close {"user_id","closed"?:true}: the user's DM setting. */
void fd_dm_ctl_close(fd_server *srv, const cJSON *body, fd_resp *rs);
/* GET /_control/dms[?user=ID]: [{"user_id","channel_id","delivered","body"|"code"}]. */
cJSON *fd_dm_log(const fd_server *srv, const fd_req *rq);

#endif
