/* ratelimit.h - Discord HTTP rate limiting, sans-I/O.
 *
 * The limiter never reads a clock or touches a socket: every call takes the
 * caller's monotonic time in milliseconds (now_ms) and the parsed response
 * headers, and answers "release this request now", "wake me in N ms" and
 * "retry this one in N ms" / "it is done".
 *
 * Model (https://discord.com/developers/docs/topics/rate-limits):
 *  - A route is "METHOD /path/template" with every numeric id replaced by
 *    {id} ("POST /channels/{id}/messages").  The major id (channel, guild or
 *    webhook) is kept apart, because Discord buckets per (bucket, major).
 *  - A route starts in a provisional "null" bucket of its own (per major)
 *    that lets one request fly at a time, until an X-RateLimit-Bucket header
 *    names the real bucket; from then on the route shares that bucket.
 *  - A bucket with Remaining 0 waits for Reset-After; a 429 blocks its bucket
 *    (or, when global, every request) for retry_after and the request is
 *    retried at the head of the queue.
 *  - At most RL_GLOBAL_PER_SEC requests are released in any 1000 ms window.
 *  - Requests of one bucket are released in FIFO order.
 */
#ifndef DC_RATELIMIT_H
#define DC_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "base/err.h"

#define RL_GLOBAL_PER_SEC 50
#define RL_INVALID_WARN 1000          /* per 10 minutes; Cloudflare bans at 10,000 */
#define RL_INVALID_WINDOW_MS 600000
#define RL_HASH_MAX 64
#define RL_ROUTE_MAX 160
#define RL_MAJOR_MAX 32

/* What one response said about rate limits.  has_* flags say which headers
 * were present; ratelimit_headers_line() fills it one header line at a time. */
typedef struct {
    long status;
    bool has_bucket, has_limit, has_remaining, has_reset_after, has_retry_after;
    char bucket[RL_HASH_MAX];
    long limit, remaining;
    double reset_after;      /* seconds */
    double retry_after;      /* seconds: Retry-After header or 429 body */
    bool global;             /* X-RateLimit-Global or body "global": true */
    bool scope_shared;       /* X-RateLimit-Scope: shared (not an invalid request) */
} ratelimit_headers;

typedef struct {
    int max_retries;         /* retries after 429 / 5xx; 0 = never retry */
    int backoff_base_ms;     /* first 5xx retry delay, doubled each time */
    int backoff_max_ms;      /* cap of the 5xx delay */
} ratelimit_opts;

typedef enum { RL_DONE = 0, RL_RETRY } ratelimit_verdict;

typedef struct ratelimit_limiter ratelimit_limiter;
typedef struct ratelimit_entry ratelimit_entry;   /* one request as the limiter sees it */

/* Reset h and feed it one raw header line ("Name: value\r\n" or the status
 * line "HTTP/1.1 429 ...").  Unknown headers are ignored. */
void ratelimit_headers_init(ratelimit_headers *h);
void ratelimit_headers_line(ratelimit_headers *h, const char *line, size_t len);

/* "GET", "/guilds/123/members?limit=1000" -> "GET /guilds/{id}/members".
 * Returns false when out is too small. */
bool ratelimit_route_key(const char *method, const char *path, char *out, size_t outlen);
/* The major id of path: the id after /channels/, /guilds/ or /webhooks/,
 * or "" when there is none.  Returns false when out is too small. */
bool ratelimit_major_from_path(const char *path, char *out, size_t outlen);

dc_err ratelimit_new(ratelimit_limiter **out, const ratelimit_opts *opts);
/* Frees the limiter and every entry still queued or in flight. */
void ratelimit_free(ratelimit_limiter *rl);

/* Queue a request at the tail.  user is the caller's pointer, handed back
 * by ratelimit_entry_user().  Returns NULL when out of memory. */
ratelimit_entry *ratelimit_submit(ratelimit_limiter *rl, const char *route, const char *major, void *user);
void *ratelimit_entry_user(const ratelimit_entry *e);
int ratelimit_entry_attempt(const ratelimit_entry *e);   /* 0 for the first try */

/* The next queued request allowed at now_ms (it becomes in flight), or NULL.
 * Call repeatedly until NULL. */
ratelimit_entry *ratelimit_release(ratelimit_limiter *rl, int64_t now_ms);
/* Milliseconds from now_ms until ratelimit_release may return something, 0 when it
 * may right now, -1 when nothing is queued (or all waits on in-flight
 * requests, which will call ratelimit_complete). */
int64_t ratelimit_next_wakeup_ms(const ratelimit_limiter *rl, int64_t now_ms);

/* An in-flight request got its response (status 0 for a transport error).
 * Learns buckets and limits from h.  RL_RETRY: the entry is queued again at
 * the head and *retry_in_ms says the wait; RL_DONE: the entry is freed. */
ratelimit_verdict ratelimit_complete(ratelimit_limiter *rl, ratelimit_entry *e, int64_t now_ms, const ratelimit_headers *h,
                       int64_t *retry_in_ms);
/* Drop a queued or in-flight entry without completing it. */
void ratelimit_cancel(ratelimit_limiter *rl, ratelimit_entry *e);

/* How many requests of route (with major) ratelimit_release would let go at once
 * if submitted at now_ms: the bucket's remaining (1 for a bucket not yet
 * known), less what is queued for it, within the global window. */
long ratelimit_available(const ratelimit_limiter *rl, const char *route, const char *major, int64_t now_ms);

size_t ratelimit_queued(const ratelimit_limiter *rl);
size_t ratelimit_in_flight(const ratelimit_limiter *rl);
/* 401/403/429 responses (shared-scope 429s excepted) in the last 10 minutes. */
long ratelimit_invalid_count(const ratelimit_limiter *rl, int64_t now_ms);

#endif
