/* http_client.h - a raw-socket HTTP/1.1 client for the integration tests
 * of the daemon's endpoint (#18): what a scraper, a browser or an attacker
 * sends, byte for byte. */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include <stddef.h>

/* A connected TCP socket to 127.0.0.1:port, or -1. */
int hc_connect(int port);
/* Reads until the peer closes or timeout_ms pass; NUL-terminates buf. */
size_t hc_read_all(int s, char *buf, size_t cap, int timeout_ms);
/* Sends raw on its own connection; the response in buf; its status or 0. */
int hc_request(int port, const char *raw, char *buf, size_t cap);
/* GET path (auth: an Authorization value or NULL), Connection: close. */
int hc_get(int port, const char *path, const char *auth, char *buf, size_t cap);
/* The body of a response in buf. */
const char *hc_body(const char *resp);
/* The port from the daemon log's "HTTP endpoint on ... (port N)" line, 0 when none. */
int hc_endpoint_port(const char *log_path, int timeout_ms);

#endif
