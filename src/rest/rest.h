/* rest.h - the Discord REST client: libcurl on the libwebsockets loop thread.
 *
 * One curl multi handle, driven by an lws_sul timer on the lws service
 * thread (Debian's lws has no external poll): the timer fires every few ms
 * while transfers run and not at all when idle.  No thread, no blocking
 * call: rest_request() only queues, and the done callback runs later from
 * lws_service().  Rate limits are handled by ratelimit.c; a 429 or 5xx is
 * retried (up to max_retries) before the callback sees it.
 *
 * Every function here must be called on the lws service thread.
 *
 * The token only ever goes into the Authorization header; it is never part
 * of an error text or a log line. */
#ifndef DC_REST_H
#define DC_REST_H

#include <stddef.h>
#include "base/err.h"

struct lws_context;

#define REST_DEFAULT_USER_AGENT \
    "DiscordBot (https://github.com/discord-cleaner, 0.1.0) discord-cleaner"
#define REST_DEFAULT_TIMEOUT_MS 15000
#define REST_MAX_BODY (16u * 1024 * 1024)   /* a 1000-member page is < 1 MiB */

typedef struct rest_client rest_client;

typedef struct {
    const char *api_base;     /* "https://discord.com/api/v10"; http only for loopback */
    const char *token;        /* bot token without the "Bot " prefix */
    const char *user_agent;   /* NULL: REST_DEFAULT_USER_AGENT */
    long timeout_ms;          /* whole request; 0: REST_DEFAULT_TIMEOUT_MS */
    int max_retries;          /* retries after 429 / 5xx; 0: none */
    int backoff_base_ms;      /* first 5xx retry delay, doubled; 0: 500 */
} rest_opts;

typedef struct {
    long status;              /* HTTP status; 0 when the transfer itself failed */
    const char *body;         /* NUL-terminated, valid only during the callback */
    size_t body_len;
    int json_code;            /* Discord JSON error "code", or 0 */
    const char *error;        /* transport error text, or NULL */
    double retry_after;       /* seconds, from a 429 the retries did not absorb */
} rest_response;

/* Called exactly once per request, from the loop thread.  It may call
 * rest_request(); it must not call rest_free(). */
typedef void (*rest_done_fn)(void *ctx, const rest_response *r);

/* https:// is required; plain http:// only for loopback hosts (127.0.0.0/8,
 * ::1, localhost), for the test double.  On refusal writes why into err. */
dc_err rest_check_base_url(const char *url, char *err, size_t errlen);

/* The client lives on lws's service thread; free it before the context. */
dc_err rest_new(rest_client **out, struct lws_context *lws, const rest_opts *opts,
                char *err, size_t errlen);
/* Cancels pending requests without calling their callbacks. */
void rest_free(rest_client *rc);

/* Queue method path (appended to api_base, e.g. "/gateway/bot").  major is
 * the top-level resource id (channel/guild/webhook) for rate-limit buckets;
 * NULL takes it from the path.  json_body NULL sends no body.  done is
 * never called from inside this function. */
dc_err rest_request(rest_client *rc, const char *method, const char *path, const char *major,
                    const char *json_body, rest_done_fn done, void *ctx);

/* Requests like this one the rate limits let go right now (ratelimit.h
 * ratelimit_available): what a caller can ask without waiting for a window. */
long rest_available(const rest_client *rc, const char *method, const char *path, const char *major);
/* Requests queued, in flight or waiting to be retried. */
size_t rest_pending(const rest_client *rc);

/* Service lws until rest_pending() is 0; DC_ERR_UNAVAIL after timeout_ms.
 * For tests and one-shot tools that own the loop. */
dc_err rest_run_until_idle(struct lws_context *lws, const rest_client *rc, long timeout_ms);

#endif
