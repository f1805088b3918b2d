/* http_server.c - the HTTP endpoint on libwebsockets' own server (see
 * http_server.h for the rules; model: lws's minimal-http-server-dynamic).
 *
 * One request at a time per connection (HTTP/1.1 keep-alive, no
 * pipelining): LWS_CALLBACK_HTTP makes an http_request and hands it to its
 * route; http_reply stores the answer and asks for a writable callback;
 * LWS_CALLBACK_HTTP_WRITEABLE writes the head, then the body in pieces,
 * then completes the transaction.  A connection that closes first leaves
 * its request orphaned (wsi NULL) for the handler to answer into the void. */
#include "http/http_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define HTTP_PATH_MAX 512
#define HTTP_EXTRA_HEADERS 6
#define HTTP_WRITE_PIECE 16384
#define HTTP_ANSWER_TIMEOUT_S 30      /* a handler that never answers: the connection goes */
#define HTTP_BODY_MAX 65536           /* a request body read before its 405; more closes the connection */

typedef struct {
    char path[HTTP_PATH_MAX];
    int public;                      /* served without the token */
    http_handler fn;
    void *ctx;
} http_route;

struct http_request {
    http_server *srv;
    struct lws *wsi;                 /* NULL once the client went away */
    http_request *next;              /* the server's live requests */
    char path[HTTP_PATH_MAX];
    int head;
    int answered, headers_sent;
    int status;
    char content_type[96];
    char *hdr_name[HTTP_EXTRA_HEADERS], *hdr_value[HTTP_EXTRA_HEADERS];
    int n_hdr;
    char *body;
    size_t len, sent;
    size_t body_seen;                /* a request body (405 anyway), bounded by HTTP_BODY_MAX */
};

struct http_server {
    struct lws_vhost *vh;
    struct lws_protocols protocols[2];
    http_route routes[HTTP_MAX_ROUTES];
    int n_routes;
    char *token;
    int conns;                       /* accepted client connections open */
    int port;
    http_request *live;
};

typedef struct {
    http_request *req;
} http_pss;

/* ---- pure checks ------------------------------------------------------------ */

int http_parse_listen(const char *spec, char *host, size_t host_cap, int *port, char *err, size_t errlen)
{
    const char *colon, *h = spec;
    size_t hl;
    if (!spec || !*spec) {
        snprintf(err, errlen, "empty address");
        return -1;
    }
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || close[1] != ':') {
            snprintf(err, errlen, "'%.64s': an IPv6 address is written [ADDRESS]:PORT", spec);
            return -1;
        }
        h = spec + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(spec, ':');
        if (!colon || strchr(spec, ':') != colon) {
            snprintf(err, errlen, "'%.64s': expected HOST:PORT (e.g. 127.0.0.1:9464)", spec);
            return -1;
        }
        hl = (size_t)(colon - spec);
    }
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535 || hl == 0 || hl >= host_cap) {
        snprintf(err, errlen, "'%.64s': expected HOST:PORT with a port from 0 to 65535", spec);
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

int http_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* Every byte of both is looked at whatever differs: the time taken says
 * nothing about how much of a guess was right. */
int http_auth_ok(const char *header, const char *token)
{
    static const char scheme[] = "Bearer ";
    if (!header || !token)
        return 0;
    size_t hl = strlen(header), tl = strlen(token), sl = sizeof scheme - 1;
    unsigned diff = hl != sl + tl;
    for (size_t i = 0; i < sl + tl; i++) {
        unsigned char want = (unsigned char)(i < sl ? scheme[i] : token[i - sl]);
        unsigned char have = i < hl ? (unsigned char)header[i] : 0;
        if (i < sl)
            diff |= (unsigned)(tolower(have) ^ tolower(want));
        else
            diff |= (unsigned)(have ^ want);
    }
    return diff == 0;
}

int http_path_ok(const char *path)
{
    if (!path || path[0] != '/' || strstr(path, ".."))
        return -1;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            return -1;
    return 0;
}

/* ---- requests --------------------------------------------------------------- */

static void request_unlink(http_request *req)
{
    for (http_request **p = &req->srv->live; *p; p = &(*p)->next)
        if (*p == req) {
            *p = req->next;
            break;
        }
}

static void request_free(http_request *req)
{
    if (!req)
        return;
    request_unlink(req);
    for (int i = 0; i < req->n_hdr; i++) {
        free(req->hdr_name[i]);
        free(req->hdr_value[i]);
    }
    free(req->body);
    free(req);
}

void http_reply_header(http_request *req, const char *name, const char *value)
{
    if (req->answered || req->n_hdr >= HTTP_EXTRA_HEADERS)
        return;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    req->hdr_name[req->n_hdr] = n;
    req->hdr_value[req->n_hdr++] = v;
}

void http_reply(http_request *req, int status, const char *content_type, const char *body, size_t len)
{
    if (!req || req->answered)
        return;
    req->answered = 1;
    if (!req->wsi) {                 /* the client went away while we worked */
        request_free(req);
        return;
    }
    req->status = status;
    snprintf(req->content_type, sizeof req->content_type, "%s", content_type ? content_type : "text/plain");
    req->body = len ? malloc(len) : NULL;
    if (len && !req->body) {
        req->status = 500;
        len = 0;
    }
    if (len)
        memcpy(req->body, body, len);
    req->len = len;
    lws_set_timeout(req->wsi, NO_PENDING_TIMEOUT, 0);
    lws_callback_on_writable(req->wsi);
}

static void reply_text(http_request *req, int status, const char *text)
{
    http_reply(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* ---- routing ---------------------------------------------------------------- */

static void add_route(http_server *s, const char *path, http_handler fn, void *ctx)
{
    if (!s || s->n_routes >= HTTP_MAX_ROUTES)
        return;
    http_route *r = &s->routes[s->n_routes++];
    snprintf(r->path, sizeof r->path, "%s", path);
    r->public = 0;
    r->fn = fn;
    r->ctx = ctx;
}

void http_server_route(http_server *s, const char *path, http_handler fn, void *ctx)
{
    add_route(s, path, fn, ctx);
}

void http_server_route_public(http_server *s, const char *path, http_handler fn, void *ctx)
{
    add_route(s, path, fn, ctx);
    if (s && s->n_routes > 0)
        s->routes[s->n_routes - 1].public = 1;
}

static const http_route *find_route(const http_server *s, const char *path)
{
    for (int i = 0; i < s->n_routes; i++)
        if (strcmp(s->routes[i].path, path) == 0)
            return &s->routes[i];
    return NULL;
}

/* 0: GET, 1: HEAD, -1: anything else. */
static int method_of(struct lws *wsi)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
        return 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0)
        return 1;
    return -1;
}

static int authorized(http_server *s, struct lws *wsi)
{
    char auth[512] = "";
    if (!s->token)
        return 1;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION) >= (int)sizeof auth)
        return 0;
    lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    int ok = http_auth_ok(auth, s->token);
    explicit_bzero(auth, sizeof auth);
    return ok;
}

static void dispatch(http_server *s, http_request *req, struct lws *wsi, const char *uri)
{
    int method = method_of(wsi);
    req->head = method == 1;
    if (method < 0) {
        http_reply_header(req, "Allow", "GET, HEAD");
        reply_text(req, 405, "only GET and HEAD\n");
        return;
    }
    if (strlen(uri) >= sizeof req->path || http_path_ok(uri) != 0) {
        reply_text(req, 400, "bad path\n");
        return;
    }
    snprintf(req->path, sizeof req->path, "%s", uri);
    const http_route *r = find_route(s, req->path);
    if ((!r || !r->public) && !authorized(s, wsi)) {
        http_reply_header(req, "WWW-Authenticate", "Bearer");
        reply_text(req, 401, "unauthorized\n");
        return;
    }
    if (!r) {
        reply_text(req, 404, "not found\n");
        return;
    }
    lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, HTTP_ANSWER_TIMEOUT_S);
    r->fn(r->ctx, req);
}

static int on_http(http_server *s, struct lws *wsi, http_pss *pss, const char *uri)
{
    if (pss->req)                    /* the last one still being written: not ours to drop */
        return -1;
    http_request *req = calloc(1, sizeof *req);
    if (!req)
        return -1;
    req->srv = s;
    req->wsi = wsi;
    req->next = s->live;
    s->live = req;
    pss->req = req;
    dispatch(s, req, wsi, uri ? uri : "");
    return 0;
}

/* ---- writing ---------------------------------------------------------------- */

static int write_head(struct lws *wsi, http_request *req)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, (unsigned int)req->status, req->content_type, req->len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:", (const unsigned char *)"no-store",
                                    8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end))
        return -1;
    for (int i = 0; i < req->n_hdr; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s:", req->hdr_name[i]);
        for (char *c = name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)name, (const unsigned char *)req->hdr_value[i],
                                        (int)strlen(req->hdr_value[i]), &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    req->headers_sent = 1;
    return 0;
}

/* After the last byte: the connection is ready for the next request. */
static int finish(struct lws *wsi, http_pss *pss)
{
    request_free(pss->req);
    pss->req = NULL;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_writable(struct lws *wsi, http_pss *pss)
{
    http_request *req = pss->req;
    if (!req || !req->answered)
        return 0;
    if (!req->headers_sent) {
        if (write_head(wsi, req) != 0)
            return -1;
        if (req->head || req->len == 0)
            return finish(wsi, pss);
        lws_callback_on_writable(wsi);
        return 0;
    }
    unsigned char buf[LWS_PRE + HTTP_WRITE_PIECE];
    size_t n = req->len - req->sent < HTTP_WRITE_PIECE ? req->len - req->sent : HTTP_WRITE_PIECE;
    int last = req->sent + n == req->len;
    memcpy(buf + LWS_PRE, req->body + req->sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    req->sent += n;
    if (last)
        return finish(wsi, pss);
    lws_callback_on_writable(wsi);
    return 0;
}

/* The connection closed: a request still with its handler is orphaned,
 * one being written is done with. */
static void on_closed(http_pss *pss)
{
    http_request *req = pss->req;
    pss->req = NULL;
    if (!req)
        return;
    if (req->answered)
        request_free(req);
    else
        req->wsi = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    http_pss *pss = user;
    http_server *s = lws_vhost_user(lws_get_vhost(wsi));
    switch (reason) {
    case LWS_CALLBACK_WSI_CREATE:    /* an accepted client connection */
        if (s)
            s->conns++;
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (s && s->conns > 0)
            s->conns--;
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:   /* before accepting one more */
        return s && s->conns >= HTTP_MAX_CONNECTIONS ? -1 : 0;   /* refused: closed at once */
    case LWS_CALLBACK_HTTP:
        return s && pss ? on_http(s, wsi, pss, in) : -1;
    case LWS_CALLBACK_HTTP_BODY:     /* only other methods have one: read (bounded), then 405 */
        if (!pss || !pss->req || (pss->req->body_seen += len) > HTTP_BODY_MAX)
            return -1;
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (pss && pss->req && pss->req->answered)
            lws_callback_on_writable(wsi);
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return pss ? on_writable(wsi, pss) : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
        if (pss)
            on_closed(pss);
        return 0;
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1;                   /* no websocket upgrades here */
    default:
        return 0;
    }
}

/* ---- life ------------------------------------------------------------------- */

dc_err http_server_start(http_server **out, struct lws_context *cx, const http_server_opts *o, char *err,
                         size_t errlen)
{
    char host[128], why[160];
    int port;
    *out = NULL;
    if (http_parse_listen(o->listen, host, sizeof host, &port, why, sizeof why) != 0) {
        snprintf(err, errlen, "http_listen %s", why);
        return DC_ERR_CONFIG;
    }
    int has_token = o->token && *o->token;
    if (!http_host_is_loopback(host) && !has_token) {
        snprintf(err, errlen, "http_listen %s is not a loopback address: set http_token (or http_token_file) "
                 "so that only your scraper can read it", o->listen);
        return DC_ERR_CONFIG;
    }
    http_server *s = calloc(1, sizeof *s);
    if (!s || (has_token && !(s->token = strdup(o->token)))) {
        free(s);
        snprintf(err, errlen, "out of memory");
        return DC_ERR_NOMEM;
    }
    s->protocols[0] = (struct lws_protocols){ "discord-cleaner-http", callback, sizeof(http_pss), 0, 0, NULL, 0 };
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.vhost_name = "discord-cleaner-http";
    info.port = port;
    info.iface = strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ? NULL : host;
    info.protocols = s->protocols;
    info.user = s;
    info.keepalive_timeout = 5;
    s->vh = lws_create_vhost(cx, &info);
    if (!s->vh || lws_get_vhost_listen_port(s->vh) <= 0) {
        snprintf(err, errlen, "http_listen %s: cannot listen there (address not on this machine, or the port "
                 "is in use)", o->listen);
        if (s->vh)
            lws_vhost_destroy(s->vh);
        free(s->token);
        free(s);
        return DC_ERR_CONFIG;
    }
    s->port = lws_get_vhost_listen_port(s->vh);
    *out = s;
    return DC_OK;
}

int http_server_port(const http_server *s)
{
    return s ? s->port : 0;
}

/* After lws_context_destroy: the vhost's connections have closed (their
 * callbacks ran), so what is left are requests never answered. */
void http_server_free(http_server *s)
{
    if (!s)
        return;
    while (s->live) {
        http_request *req = s->live;
        req->wsi = NULL;
        request_free(req);
    }
    if (s->token)
        explicit_bzero(s->token, strlen(s->token));
    free(s->token);
    free(s);
}
