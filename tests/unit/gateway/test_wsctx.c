/* test_wsctx.c - the libwebsockets context: plain at start, the TLS vhost
 * only on the first wss:// connection, and that TLS vhost still verifies the
 * server's certificate (against a self-signed loopback server in the same
 * context: refused as is, accepted only when the client waives the checks,
 * which shows the refusal is the verification and not a broken server). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <libwebsockets.h>

#include "gateway/wsctx.h"

/* A throwaway self-signed P-256 certificate for CN=127.0.0.1 (test only). */
static const char test_cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBfjCCASWgAwIBAgIUUt7xtrY0iSfnpkg9TcnBWMX4WuYwCgYIKoZIzj0EAwIw\n"
    "FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyNzE2MzUyN1oYDzIxMjYxMTAz\n"
    "MTYzNTI3WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAASXN1QF8YqNUCrjVJRGUGN55dLR/5ayzuzbqW9/eBwpCGpzMnHzPAc5\n"
    "Efy3Wi/59yxBeb0rT/o8uVQn+abXGvGco1MwUTAdBgNVHQ4EFgQUsoHqhpkBIkw7\n"
    "6ITkMg45n+HtFIAwHwYDVR0jBBgwFoAUsoHqhpkBIkw76ITkMg45n+HtFIAwDwYD\n"
    "VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNHADBEAiBtukP+tI3vdoprLcHrab0T\n"
    "Rag3GxnptOCYBLzRm/296gIgOX5OOFu9nt1uQWeo+D5krpsjqdp8hcQ+py1R8vS5\n"
    "8YQ=\n"
    "-----END CERTIFICATE-----\n";
static const char test_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJx7MyxPoc9bv6RjB\n"
    "F9EnrHF9YYMMguYbzMQrUEdDHHahRANCAASXN1QF8YqNUCrjVJRGUGN55dLR/5ay\n"
    "zuzbqW9/eBwpCGpzMnHzPAc5Efy3Wi/59yxBeb0rT/o8uVQn+abXGvGc\n"
    "-----END PRIVATE KEY-----\n";

/* How a client connection ended up. */
typedef struct {
    int established, failed, gave_up;
    lws_sorted_usec_list_t guard;
} outcome;

static outcome result;

static int test_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)wsi, (void)user, (void)in, (void)len;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        result.established = 1;
        return -1;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        result.failed = 1;
        break;
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    { "wsctx-test", test_cb, 0, 4096, 0, NULL, 0 },
    { NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void write_temp(char *path, const char *text)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void plain_context_has_no_tls(void **state)
{
    (void)state;
    struct lws_context *ctx = wsctx_new(protocols, 16);
    assert_non_null(ctx);
    assert_int_equal(wsctx_has_tls(ctx), 0);
    struct lws_vhost *plain = wsctx_vhost(ctx, 0);
    assert_non_null(plain);
    assert_ptr_equal(plain, lws_get_vhost_by_name(ctx, WSCTX_PLAIN_VHOST));
    assert_ptr_equal(wsctx_vhost(ctx, 0), plain);
    assert_int_equal(wsctx_has_tls(ctx), 0);   /* asking for ws:// never makes TLS */
    lws_context_destroy(ctx);
}

static void tls_vhost_made_once_on_demand(void **state)
{
    (void)state;
    struct lws_context *ctx = wsctx_new(protocols, 16);
    assert_non_null(ctx);
    struct lws_vhost *tls = wsctx_vhost(ctx, 1);
    assert_non_null(tls);
    assert_ptr_not_equal(tls, wsctx_vhost(ctx, 0));
    assert_int_equal(wsctx_has_tls(ctx), 1);
    assert_ptr_equal(wsctx_vhost(ctx, 1), tls);
    lws_context_destroy(ctx);
}

static void foreign_or_missing_context_is_refused(void **state)
{
    (void)state;
    assert_null(wsctx_new(NULL, 16));
    assert_null(wsctx_vhost(NULL, 0));
    assert_null(wsctx_vhost(NULL, 1));
    assert_int_equal(wsctx_has_tls(NULL), 0);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    struct lws_context *ctx = lws_create_context(&info);   /* no protocol list as user */
    assert_non_null(ctx);
    assert_null(wsctx_vhost(ctx, 1));
    assert_int_equal(wsctx_has_tls(ctx), 0);
    lws_context_destroy(ctx);
}

static void give_up(lws_sorted_usec_list_t *sul)
{
    (void)sul;
    result.gave_up = 1;
}

/* A TLS server vhost with the self-signed certificate on a kernel-chosen
 * loopback port; returns the port. */
static int start_tls_server(struct lws_context *ctx, char *cert_path, char *key_path)
{
    write_temp(cert_path, test_cert_pem);
    write_temp(key_path, test_key_pem);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = 0;
    info.iface = "127.0.0.1";
    info.vhost_name = "test-server";
    info.protocols = protocols;
    info.ssl_cert_filepath = cert_path;
    info.ssl_private_key_filepath = key_path;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    struct lws_vhost *vh = lws_create_vhost(ctx, &info);
    assert_non_null(vh);
    return lws_get_vhost_listen_port(vh);
}

/* Connect wss://127.0.0.1:port/ through the daemon's TLS vhost; serve the
 * context until the connection is established or fails (a 20 s guard only
 * bounds a hang, nothing is asserted on time). */
static void connect_tls(struct lws_context *ctx, int port, int waive_checks)
{
    memset(&result, 0, sizeof result);
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = ctx;
    ci.vhost = wsctx_vhost(ctx, 1);
    assert_non_null(ci.vhost);
    ci.address = "127.0.0.1";
    ci.port = port;
    ci.path = "/";
    ci.host = "127.0.0.1";
    ci.origin = "127.0.0.1";
    ci.ssl_connection = LCCSCF_USE_SSL;
    if (waive_checks)
        ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
    ci.local_protocol_name = protocols[0].name;
    lws_sul_schedule(ctx, 0, &result.guard, give_up, 20 * LWS_US_PER_SEC);
    if (!lws_client_connect_via_info(&ci))
        result.failed = 1;
    while (!result.established && !result.failed && !result.gave_up)
        if (lws_service(ctx, 0) < 0)
            break;
    lws_sul_cancel(&result.guard);
}

static void tls_vhost_verifies_the_server_certificate(void **state)
{
    (void)state;
    char cert_path[] = "/tmp/wsctx-cert.XXXXXX", key_path[] = "/tmp/wsctx-key.XXXXXX";
    struct lws_context *ctx = wsctx_new(protocols, 16);
    assert_non_null(ctx);
    int port = start_tls_server(ctx, cert_path, key_path);
    assert_true(port > 0);

    connect_tls(ctx, port, 0);
    assert_int_equal(result.gave_up, 0);
    assert_int_equal(result.established, 0);
    assert_int_equal(result.failed, 1);              /* refused: untrusted certificate */

    /* Control: waiving exactly the certificate checks lets the same
     * handshake through, so the refusal above was the verification. */
    connect_tls(ctx, port, 1);
    assert_int_equal(result.gave_up, 0);
    assert_int_equal(result.established, 1);

    lws_context_destroy(ctx);
    unlink(cert_path);
    unlink(key_path);
}

int main(void)
{
    lws_set_log_level(LLL_ERR, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_context_has_no_tls),
        cmocka_unit_test(tls_vhost_made_once_on_demand),
        cmocka_unit_test(foreign_or_missing_context_is_refused),
        cmocka_unit_test(tls_vhost_verifies_the_server_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
