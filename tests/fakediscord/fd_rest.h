/* fd_rest.h - the REST API under /api/v10: bot auth, rate-limit headers,
 * injected 429s, the request log, and the endpoints the daemon uses. */
#ifndef FD_REST_H
#define FD_REST_H

#include "fd_http.h"
#include "fd_server.h"

void fd_rest_handle(fd_server *srv, const fd_req *rq, fd_resp *rs);

#endif
