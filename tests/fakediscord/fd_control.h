/* fd_control.h - the test-scripting API under /_control/ (no auth):
 * create guilds and members, remove members with or without an event,
 * inject dispatches, raw frames, opcodes, closes and 429s, pause ACKs,
 * change configuration, and read back state and logs.  Answers are
 * {"ok":true,...}, or 400 {"error":"..."}; the log readers answer arrays. */
#ifndef FD_CONTROL_H
#define FD_CONTROL_H

#include <stdbool.h>
#include "fd_http.h"
#include "fd_server.h"

void fd_ctl_handle(fd_server *srv, const fd_req *rq, fd_resp *rs);
/* Removes a member; with event, GUILD_MEMBER_REMOVE goes to the guild's
 * sessions (stored for replay when disconnected). */
bool fd_ctl_remove_member(fd_server *srv, fd_guild *g, uint64_t uid, bool event);

#endif
