/* resolve.h - host names for the gateway connection, looked up without
 * blocking the loop.
 *
 * Debian's libwebsockets resolves names with a blocking getaddrinfo inside
 * connect: a slow DNS server would stop every shard's heartbeats.  We look
 * each gateway host up ourselves in the background (getaddrinfo_a), once
 * (logged with how long it took), hand lws the numeric address, and reuse
 * it for every reconnect; a failed connect forgets the entry so the next
 * attempt looks it up again.  A RESUME's resume_gateway_url is a host of
 * its own: it is looked up while the other shards carry on. */
#ifndef DC_RESOLVE_H
#define DC_RESOLVE_H

#include <stddef.h>
#include "base/err.h"

/* Numeric address for host (copied into out): DC_OK when it is known
 * (numeric hosts pass through), DC_ERR_BUSY while its lookup runs (started
 * by the first call: ask again later), DC_ERR_UNAVAIL when the lookup
 * failed (logged).  Never waits. */
dc_err resolve_host(const char *host, char *out, size_t cap);
void resolve_forget(const char *host);
/* 1 when host is a loopback name or address (127.0.0.0/8, ::1, localhost). */
int resolve_is_loopback(const char *host);

#endif
