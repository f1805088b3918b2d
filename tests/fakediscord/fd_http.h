/* fd_http.h - the one lws protocol of the double: HTTP requests (REST under
 * /api/v10, the control API under /_control) and the /gateway websocket on
 * the same port.  Requests are collected into an fd_req, handled
 * synchronously into an fd_resp, then written back in pieces. */
#ifndef FD_HTTP_H
#define FD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <libwebsockets.h>
#include <cjson/cJSON.h>

#define FD_MAX_HEADERS 10

typedef struct {
	char method[8];
	char path[512];
	char query[1024];   /* "a=1&b=2", already URL-decoded per argument */
	bool has_auth;
	char auth[512];
	char *body;         /* NUL-terminated, may be NULL */
	size_t body_len;
} fd_req;

typedef struct {
	int status;
	char *body;         /* malloc'd JSON text */
	size_t len;
	char names[FD_MAX_HEADERS][40];   /* lowercase, with trailing ':' */
	char values[FD_MAX_HEADERS][96];
	int nheaders;
} fd_resp;

/* Sets status and body from j (consumed). */
void fd_resp_json(fd_resp *rs, int status, cJSON *j);
/* {"message": msg, "code": code}, Discord's error shape. */
void fd_resp_discord_error(fd_resp *rs, int status, const char *msg, int code);
void fd_resp_header(fd_resp *rs, const char *name, const char *value);
/* Value of a query argument; false when absent. */
bool fd_req_query(const fd_req *rq, const char *name, char *out, size_t len);

int fd_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len);

/* Per-connection user data lws allocates for us. */
typedef struct {
	struct fd_conn *conn;      /* websocket connections */
	struct fd_http_tx *tx;     /* HTTP request in flight */
} fd_pss;

#endif
