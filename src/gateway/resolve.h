/* resolve.h - a host-name cache for the gateway connection.
 *
 * Debian's libwebsockets resolves names with a blocking getaddrinfo inside
 * connect.  We resolve each gateway host once (logged with how long it
 * took), hand lws the numeric address, and reuse it for every reconnect;
 * a failed connect forgets the entry so the next attempt looks it up again. */
#ifndef DC_RESOLVE_H
#define DC_RESOLVE_H

#include <stddef.h>
#include "base/err.h"

/* Numeric address for host (copied into out).  Numeric hosts pass through. */
dc_err resolve_host(const char *host, char *out, size_t cap);
void resolve_forget(const char *host);
/* 1 when host is a loopback name or address (127.0.0.0/8, ::1, localhost). */
int resolve_is_loopback(const char *host);

#endif
