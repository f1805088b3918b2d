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
 * were present; rl_headers_line() fills it one header line at a time. */
typedef struct {
    long status;
    bool has_bucket, has_limit, has_remaining, has_reset_after, has_retry_after;
    char bucket[RL_HASH_MAX];
    long limit, remaining;
    double reset_after;      /* seconds */
    double retry_after;      /* seconds: Retry-After header or 429 body */
    bool global;             /* X-RateLimit-Global or body "global": true */
    bool scope_shared;       /* X-RateLimit-Scope: shared (not an invalid request) */
} rl_headers;

typedef struct {
    int max_retries;         /* retries after 429 / 5xx; 0 = never retry */
    int backoff_base_ms;     /* first 5xx retry delay, doubled each time */
    int backoff_max_ms;      /* cap of the 5xx delay */
} rl_opts;

typedef enum { RL_DONE = 0, RL_RETRY } rl_verdict;

typedef struct rl_limiter rl_limiter;
typedef struct rl_entry rl_entry;   /* one request as the limiter sees it */

/* Reset h and feed it one raw header line ("Name: value\r\n" or the status
 * line "HTTP/1.1 429 ...").  Unknown headers are ignored. */
void rl_headers_init(rl_headers *h);
void rl_headers_line(rl_headers *h, const char *line, size_t len);

/* "GET", "/guilds/123/members?limit=1000" -> "GET /guilds/{id}/members".
 * Returns false when out is too small. */
bool rl_route_key(const char *method, const char *path, char *out, size_t outlen);
/* The major id of path: the id after /channels/, /guilds/ or /webhooks/,
 * or "" when there is none.  Returns false when out is too small. */
bool rl_major_from_path(const char *path, char *out, size_t outlen);

dc_err rl_new(rl_limiter **out, const rl_opts *opts);
/* Frees the limiter and every entry still queued or in flight. */
void rl_free(rl_limiter *rl);

/* Queue a request at the tail.  user is the caller's pointer, handed back
 * by rl_entry_user().  Returns NULL when out of memory. */
rl_entry *rl_submit(rl_limiter *rl, const char *route, const char *major, void *user);
void *rl_entry_user(const rl_entry *e);
int rl_entry_attempt(const rl_entry *e);   /* 0 for the first try */

/* The next queued request allowed at now_ms (it becomes in flight), or NULL.
 * Call repeatedly until NULL. */
rl_entry *rl_release(rl_limiter *rl, int64_t now_ms);
/* Milliseconds from now_ms until rl_release may return something, 0 when it
 * may right now, -1 when nothing is queued (or all waits on in-flight
 * requests, which will call rl_complete). */
int64_t rl_next_wakeup_ms(const rl_limiter *rl, int64_t now_ms);

/* An in-flight request got its response (status 0 for a transport error).
 * Learns buckets and limits from h.  RL_RETRY: the entry is queued again at
 * the head and *retry_in_ms says the wait; RL_DONE: the entry is freed. */
rl_verdict rl_complete(rl_limiter *rl, rl_entry *e, int64_t now_ms, const rl_headers *h,
                       int64_t *retry_in_ms);
/* Drop a queued or in-flight entry without completing it. */
void rl_cancel(rl_limiter *rl, rl_entry *e);

/* How many requests of route (with major) rl_release would let go at once
 * if submitted at now_ms: the bucket's remaining (1 for a bucket not yet
 * known), less what is queued for it, within the global window. */
long rl_available(const rl_limiter *rl, const char *route, const char *major, int64_t now_ms);

size_t rl_queued(const rl_limiter *rl);
size_t rl_in_flight(const rl_limiter *rl);
/* 401/403/429 responses (shared-scope 429s excepted) in the last 10 minutes. */
long rl_invalid_count(const rl_limiter *rl, int64_t now_ms);

#endif
