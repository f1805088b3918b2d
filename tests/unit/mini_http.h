/* mini_http.h - a scripted HTTP server on 127.0.0.1 inside a test's own lws
 * context (header-only: each tests/unit/test_*.c is built on its own).
 *
 * The server answers request N with script[N] and records what arrived
 * (method, path, Authorization, User-Agent, Content-Type, body, and the
 * loop clock).  A reply with hold set is never answered, so a request can
 * be kept in flight on purpose. */
#ifndef MINI_HTTP_H
#define MINI_HTTP_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MINI_MAX_SEEN 16
#define MINI_MAX_HEADERS 6

typedef struct {
    unsigned int status;
    const char *headers[MINI_MAX_HEADERS][2];   /* { "name:", "value" } */
    const char *body;
    bool hold;                                  /* never answer */
} mini_reply;

typedef struct {
    char method[8];
    char path[256];
    char auth[256];
    char user_agent[256];
    char content_type[64];
    char body[1024];
    int64_t at_ms;                              /* lws loop clock on arrival */
} mini_seen;

typedef struct {
    struct lws_context *ctx;
    int port;
    const mini_reply *script;
    size_t n_script, served;
    mini_seen seen[MINI_MAX_SEEN];
    size_t n_seen;
} mini_http;

typedef struct {
    mini_seen *seen;
    const mini_reply *reply;
    size_t body_len;
} mini_pss;

static const mini_reply mini_exhausted = { 500, { { NULL, NULL } }, "{\"message\":\"script exhausted\"}", false };

static void mini_copy_hdr(struct lws *wsi, char *dst, int len, enum lws_token_indexes tok)
{
    dst[0] = '\0';
    if (lws_hdr_total_length(wsi, tok) > 0 && lws_hdr_copy(wsi, dst, len, tok) < 0)
        dst[0] = '\0';
}

static void mini_record(mini_http *m, mini_pss *pss, struct lws *wsi)
{
    static mini_seen overflow;
    mini_seen *s = m->n_seen < MINI_MAX_SEEN ? &m->seen[m->n_seen++] : &overflow;
    memset(s, 0, sizeof *s);
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    snprintf(s->method, sizeof s->method, "%s", post ? "POST" : "GET");
    mini_copy_hdr(wsi, s->path, sizeof s->path, post ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI);
    mini_copy_hdr(wsi, s->auth, sizeof s->auth, WSI_TOKEN_HTTP_AUTHORIZATION);
    mini_copy_hdr(wsi, s->user_agent, sizeof s->user_agent, WSI_TOKEN_HTTP_USER_AGENT);
    mini_copy_hdr(wsi, s->content_type, sizeof s->content_type, WSI_TOKEN_HTTP_CONTENT_TYPE);
    s->at_ms = (int64_t)(lws_now_usecs() / 1000);
    pss->seen = s;
    pss->body_len = 0;
}

static int mini_respond(mini_http *m, mini_pss *pss, struct lws *wsi)
{
    const mini_reply *r = m->served < m->n_script ? &m->script[m->served] : &mini_exhausted;
    m->served++;
    if (r->hold)
        return 0;
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, r->status, "application/json", strlen(r->body), &p, end))
        return 1;
    for (size_t i = 0; i < MINI_MAX_HEADERS && r->headers[i][0]; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)r->headers[i][0],
                                        (const unsigned char *)r->headers[i][1],
                                        (int)strlen(r->headers[i][1]), &p, end))
            return 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    pss->reply = r;
    lws_callback_on_writable(wsi);
    return 0;
}

static int mini_write_body(mini_pss *pss, struct lws *wsi)
{
    if (!pss->reply)
        return 0;
    unsigned char buf[LWS_PRE + 2048];
    size_t n = strlen(pss->reply->body);
    if (n > sizeof buf - LWS_PRE)
        n = sizeof buf - LWS_PRE;
    memcpy(buf + LWS_PRE, pss->reply->body, n);
    pss->reply = NULL;
    if (lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) != (int)n)
        return 1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int mini_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    mini_http *m = lws_context_user(lws_get_context(wsi));
    mini_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        mini_record(m, pss, wsi);
        if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
            return 0;   /* answer once the body is in */
        return mini_respond(m, pss, wsi);
    case LWS_CALLBACK_HTTP_BODY:
        if (pss->seen && pss->body_len + len < sizeof pss->seen->body) {
            memcpy(pss->seen->body + pss->body_len, in, len);
            pss->body_len += len;
        }
        return 0;
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return mini_respond(m, pss, wsi);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        return mini_write_body(pss, wsi);
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols mini_protocols[] = {
    { "http", mini_cb, sizeof(mini_pss), 0, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

/* Start the server on a kernel-chosen port; the same context serves the
 * client side.  Returns 0 on success. */
static int mini_http_start(mini_http *m, const mini_reply *script, size_t n_script)
{
    memset(m, 0, sizeof *m);
    m->script = script;
    m->n_script = n_script;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.protocols = mini_protocols;
    info.user = m;
    lws_set_log_level(LLL_ERR, NULL);
    m->ctx = lws_create_context(&info);
    if (!m->ctx)
        return -1;
    m->port = lws_get_vhost_listen_port(lws_get_vhost_by_name(m->ctx, "default"));
    return m->port > 0 ? 0 : -1;
}

static void mini_http_stop(mini_http *m)
{
    if (m->ctx)
        lws_context_destroy(m->ctx);
    m->ctx = NULL;
}

#endif
