/* fd_op8.h - op 8 REQUEST_GUILD_MEMBERS: answers with GUILD_MEMBERS_CHUNK
 * dispatches (full list, query prefix or user_ids), the per-guild
 * full-list rate limit (RATE_LIMITED dispatch), the silent no-answer
 * without the GUILD_MEMBERS intent, and 4001 for a request with neither
 * query nor user_ids. */
#ifndef FD_OP8_H
#define FD_OP8_H

#include <cjson/cJSON.h>
#include "fd_conn.h"
#include "fd_server.h"

void fd_op8_handle(fd_server *srv, fd_conn *c, const cJSON *d);
/* Sends the next chunk of the connection's first pending full-list job. */
void fd_op8_step(fd_server *srv, fd_conn *c);
/* True while op8_chunk_limit holds back the next chunk of the first job. */
bool fd_op8_held(const fd_server *srv, const fd_conn *c);
/* After op8_chunk_limit changed: wake connections with held jobs. */
void fd_op8_release(fd_server *srv);

#endif
