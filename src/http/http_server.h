/* http_server.h - the daemon's small HTTP endpoint (#18): libwebsockets'
 * own HTTP/1.1 server on a listening vhost of the daemon's lws context, so
 * every request is served on the loop thread, between gateway frames, and
 * nothing here ever waits.
 *
 * The server knows nothing of the daemon: its owner registers routes
 * (daemon/http_live.c).  A handler answers at once, or later from the loop
 * (an asynchronous database read): a request lives until it is answered,
 * even when its client has gone away meanwhile.
 *
 * Rules kept here, for every route: GET and HEAD only (405 otherwise), a
 * path with ".." is 400 (lws itself refuses a malformed escape with 403),
 * an unknown path 404; with a token
 * set, a request without "Authorization: Bearer <token>" is 401 (compared
 * in constant time); a bounded number of connections; idle and slow
 * clients are closed by lws's timeouts.  Every response carries
 * Cache-Control: no-store and X-Content-Type-Options: nosniff. */
#ifndef DC_HTTP_SERVER_H
#define DC_HTTP_SERVER_H

#include <stddef.h>
#include <libwebsockets.h>

#include "base/err.h"

#define HTTP_MAX_CONNECTIONS 64     /* open client connections at once */
#define HTTP_MAX_ROUTES 32

typedef struct http_server http_server;
typedef struct http_request http_request;           /* opaque; lives until answered */
typedef void (*http_handler)(void *ctx, http_request *req);

typedef struct {
    const char *listen;              /* HOST:PORT or [V6]:PORT; port 0 picks a free one */
    const char *token;               /* NULL or "": no authentication (loopback only) */
} http_server_opts;

/* Parse HOST:PORT / [V6]:PORT.  0, or -1 with a reason in err. */
int http_parse_listen(const char *spec, char *host, size_t host_cap, int *port, char *err, size_t errlen);
/* 127.0.0.0/8, ::1, localhost. */
int http_host_is_loopback(const char *host);
/* Constant-time check of an Authorization header value against the token. */
int http_auth_ok(const char *header, const char *token);
/* 0 when the (decoded) path is acceptable: starts with '/', no "..", no NUL
 * or control characters. */
int http_path_ok(const char *path);

/* Listen on the daemon's context.  DC_ERR_CONFIG with one line in err for a
 * bad address, a port in use, or a non-loopback address without a token. */
dc_err http_server_start(http_server **out, struct lws_context *cx, const http_server_opts *o, char *err,
                         size_t errlen);
/* The port listened on (useful when 0 was asked for). */
int http_server_port(const http_server *s);
/* Frees the server and the requests never answered; call it after
 * lws_context_destroy (the vhost and its connections go with the context,
 * and their last callbacks still use the server).  Whoever answers
 * asynchronously must have stopped first. */
void http_server_free(http_server *s);

void http_server_route(http_server *s, const char *path, http_handler fn, void *ctx); /* exact path */
/* An exact path served without the token: only for what holds no data (the
 * stats page's own files; its data comes from /api/stats, which needs it). */
void http_server_route_public(http_server *s, const char *path, http_handler fn, void *ctx);
void http_reply_header(http_request *req, const char *name, const char *value); /* before http_reply */
/* Answer once, now in the handler or later from the loop: copies body; HEAD
 * sends the head only; a request whose client went away is freed here. */
void http_reply(http_request *req, int status, const char *content_type, const char *body, size_t len);

#endif
