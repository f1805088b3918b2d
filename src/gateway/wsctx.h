/* wsctx.h - the daemon's libwebsockets context, with TLS set up on demand.
 *
 * A TLS client context costs about 1.8 MB of resident memory (OpenSSL's
 * client code and the system CA bundle parsed into an X509 store), and a
 * ws:// loopback run (the double, `make run`, the benches) never uses it.
 * So the context starts with one plain vhost, and the TLS vhost -- whose
 * client context loads the system CA store and verifies the peer's
 * certificate and host name, as before -- is created the first time a
 * wss:// connection needs it. */
#ifndef DC_WSCTX_H
#define DC_WSCTX_H

#include <libwebsockets.h>

#define WSCTX_PLAIN_VHOST "dc-plain"
#define WSCTX_TLS_VHOST "dc-tls"

/* A client-only context (nothing listens) with the plain vhost.  protocols
 * is NULL-terminated and must outlive the context (lws keeps the pointer;
 * the TLS vhost is made with it later).  The context's user pointer holds
 * it: do not use lws_context_user() on this context for anything else.
 * NULL on failure. */
struct lws_context *wsctx_new(const struct lws_protocols *protocols, unsigned int fd_limit);

/* The vhost for a connection: the plain one, or with tls the TLS one,
 * created (CA store loaded) on the first call.  NULL when the context was
 * not made by wsctx_new or the TLS client context cannot be created. */
struct lws_vhost *wsctx_vhost(struct lws_context *ctx, int tls);

/* 1 once the TLS vhost exists (for the tests and the log). */
int wsctx_has_tls(struct lws_context *ctx);

#endif
