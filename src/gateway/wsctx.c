/* wsctx.c - libwebsockets context with a plain vhost and a TLS vhost made
 * on the first wss:// connection (see wsctx.h for why).
 *
 * The context itself is created with LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT so
 * that lws runs its OpenSSL library set-up (ex-data indexes) and frees the
 * TLS vhost's client context at destroy; with EXPLICIT_VHOSTS it makes no
 * vhost of its own.  Only a vhost created with DO_SSL_GLOBAL_INIT in its
 * own options gets a client SSL_CTX (lws_context_init_client_ssl). */
#include "gateway/wsctx.h"

#include <string.h>

#include "base/log.h"

static struct lws_vhost *make_vhost(struct lws_context *ctx, const char *name, int tls)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.vhost_name = name;
    info.protocols = lws_context_user(ctx);
    /* No ssl_ca_filepath: lws loads the system defaults
     * (SSL_CTX_set_default_verify_paths) and verifies the peer. */
    info.options = tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0;
    return lws_create_vhost(ctx, &info);
}

struct lws_context *wsctx_new(const struct lws_protocols *protocols, unsigned int fd_limit)
{
    if (!protocols)
        return NULL;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = (void *)protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.fd_limit_per_thread = fd_limit;
    struct lws_context *ctx = lws_create_context(&info);
    if (ctx && !make_vhost(ctx, WSCTX_PLAIN_VHOST, 0)) {
        lws_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

struct lws_vhost *wsctx_vhost(struct lws_context *ctx, int tls)
{
    if (!ctx || !lws_context_user(ctx))
        return NULL;
    if (!tls)
        return lws_get_vhost_by_name(ctx, WSCTX_PLAIN_VHOST);
    struct lws_vhost *vh = lws_get_vhost_by_name(ctx, WSCTX_TLS_VHOST);
    if (vh)
        return vh;
    LOG_I("transport", "wss://: creating the TLS client context (system CA store)");
    vh = make_vhost(ctx, WSCTX_TLS_VHOST, 1);
    if (!vh)
        LOG_E("transport", "cannot create the TLS client context");
    return vh;
}

int wsctx_has_tls(struct lws_context *ctx)
{
    return ctx && lws_get_vhost_by_name(ctx, WSCTX_TLS_VHOST) != NULL;
}
