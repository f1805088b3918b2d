/* fd_appcmd.h - the application's global commands, as Discord keeps them:
 * REST under /applications/{app}/commands (list, create-or-update by name,
 * get, edit, delete, bulk overwrite) and the control routes tests use to
 * read them back, seed a command made by someone else, count the calls per
 * method and make the next writes fail. */
#ifndef FD_APPCMD_H
#define FD_APPCMD_H

#include <stdbool.h>
#include "fd_http.h"
#include "fd_server.h"

/* The application id of the double (READY's application.id): the bot's. */
#define FD_APP_ID FD_BOT_ID

/* REST /applications/{app}/commands[/{id}] (segs after "/api/v10/":
 * seg[1] the app, id NULL for the collection).  Returns the bucket name. */
const char *fd_appcmd_rest(fd_server *srv, const fd_req *rq, const char *app, const char *id, fd_resp *rs);
/* /_control/app_commands...: true when it answered. */
bool fd_appcmd_control(fd_server *srv, const fd_req *rq, char **seg, int n, const cJSON *body, fd_resp *rs);
/* Forget every command, counter and rejection (reset, shutdown). */
void fd_appcmd_clear(fd_server *srv);

#endif
