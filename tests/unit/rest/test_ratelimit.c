/* test_ratelimit.c - the sans-I/O rate limiter with synthetic headers and times. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "rest/ratelimit.h"

#define T0 1000000   /* an arbitrary monotonic start time, ms */

static const ratelimit_opts test_opts = { .max_retries = 2, .backoff_base_ms = 100, .backoff_max_ms = 400 };

static int setup(void **state)
{
    ratelimit_limiter *rl = NULL;
    if (ratelimit_new(&rl, &test_opts) != DC_OK)
        return -1;
    *state = rl;
    return 0;
}

static int teardown(void **state)
{
    ratelimit_free(*state);
    return 0;
}

/* Headers from a list of raw lines, as curl would hand them over. */
static ratelimit_headers headers_of(const char *const *lines)
{
    ratelimit_headers h;
    ratelimit_headers_init(&h);
    for (size_t i = 0; lines[i]; i++)
        ratelimit_headers_line(&h, lines[i], strlen(lines[i]));
    return h;
}

static ratelimit_headers ok_headers(const char *bucket, long limit, long remaining, const char *reset_after)
{
    char b[96], l[64], r[64], ra[64];
    snprintf(b, sizeof b, "X-RateLimit-Bucket: %s\r\n", bucket);
    snprintf(l, sizeof l, "X-RateLimit-Limit: %ld\r\n", limit);
    snprintf(r, sizeof r, "X-RateLimit-Remaining: %ld\r\n", remaining);
    snprintf(ra, sizeof ra, "X-RateLimit-Reset-After: %s\r\n", reset_after);
    const char *lines[] = { "HTTP/1.1 200 OK\r\n", b, l, r, ra, NULL };
    return headers_of(lines);
}

static ratelimit_headers status_only(long status)
{
    ratelimit_headers h;
    ratelimit_headers_init(&h);
    h.status = status;
    return h;
}

static int tag(ratelimit_entry *e) { return (int)(intptr_t)ratelimit_entry_user(e); }
static void *user(int n) { return (void *)(intptr_t)n; }

static void complete_done(ratelimit_limiter *rl, ratelimit_entry *e, int64_t now, const ratelimit_headers *h)
{
    int64_t retry = -1;
    assert_int_equal(ratelimit_complete(rl, e, now, h, &retry), RL_DONE);
    assert_int_equal(retry, 0);
}

/* ---- pure helpers -------------------------------------------------------- */

static void route_keys_replace_ids(void **state)
{
    (void)state;
    char out[RL_ROUTE_MAX];
    assert_true(ratelimit_route_key("GET", "/guilds/123/members?limit=1000&after=5", out, sizeof out));
    assert_string_equal(out, "GET /guilds/{id}/members");
    assert_true(ratelimit_route_key("POST", "/channels/9/messages", out, sizeof out));
    assert_string_equal(out, "POST /channels/{id}/messages");
    assert_true(ratelimit_route_key("GET", "/users/@me/guilds", out, sizeof out));
    assert_string_equal(out, "GET /users/@me/guilds");
    assert_true(ratelimit_route_key("GET", "/guilds/1/members/22", out, sizeof out));
    assert_string_equal(out, "GET /guilds/{id}/members/{id}");
    /* one route for every interaction, whatever its token */
    assert_true(ratelimit_route_key("POST", "/interactions/55/aW50ZXJhY3Rpb246NTU/callback", out, sizeof out));
    assert_string_equal(out, "POST /interactions/{id}/{token}/callback");
    assert_true(ratelimit_route_key("PATCH", "/webhooks/7/tok-en_1/messages/@original", out, sizeof out));
    assert_string_equal(out, "PATCH /webhooks/{id}/{token}/messages/@original");
    assert_true(ratelimit_route_key("GET", "/guilds/1/webhooks", out, sizeof out));
    assert_string_equal(out, "GET /guilds/{id}/webhooks");
    char tiny[8];
    assert_false(ratelimit_route_key("GET", "/guilds/123/members", tiny, sizeof tiny));
}

static void major_ids_from_paths(void **state)
{
    (void)state;
    char out[RL_MAJOR_MAX];
    assert_true(ratelimit_major_from_path("/channels/42/messages", out, sizeof out));
    assert_string_equal(out, "42");
    assert_true(ratelimit_major_from_path("/guilds/7?with_counts=true", out, sizeof out));
    assert_string_equal(out, "7");
    assert_true(ratelimit_major_from_path("/users/@me", out, sizeof out));
    assert_string_equal(out, "");
    assert_true(ratelimit_major_from_path("/guilds/abc/members", out, sizeof out));
    assert_string_equal(out, "");
    char tiny[3];
    assert_false(ratelimit_major_from_path("/guilds/123456/members", tiny, sizeof tiny));
}

static void headers_are_parsed_case_insensitively(void **state)
{
    (void)state;
    const char *lines[] = {
        "HTTP/2 429 \r\n", "x-ratelimit-bucket: abcd1234\r\n", "X-RATELIMIT-LIMIT: 5\r\n",
        "X-RateLimit-Remaining: 0\r\n", "X-RateLimit-Reset-After: 64.57\r\n",
        "Retry-After: 65\r\n", "X-RateLimit-Global: true\r\n", "X-RateLimit-Scope: shared\r\n",
        "Content-Type: application/json\r\n", "\r\n", NULL };
    ratelimit_headers h = headers_of(lines);
    assert_int_equal(h.status, 429);
    assert_true(h.has_bucket);
    assert_string_equal(h.bucket, "abcd1234");
    assert_true(h.has_limit && h.limit == 5);
    assert_true(h.has_remaining && h.remaining == 0);
    assert_true(h.has_reset_after);
    assert_true(h.reset_after > 64.56 && h.reset_after < 64.58);
    assert_true(h.has_retry_after && h.retry_after == 65.0);
    assert_true(h.global);
    assert_true(h.scope_shared);
}

static void bad_header_values_are_ignored(void **state)
{
    (void)state;
    const char *lines[] = {
        "HTTP/1.1 200 OK\r\n", "X-RateLimit-Remaining: lots\r\n", "X-RateLimit-Reset-After: -3\r\n",
        "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "X-RateLimit-Bucket: \r\n",
        "no colon here\r\n", NULL };
    ratelimit_headers h = headers_of(lines);
    assert_int_equal(h.status, 200);
    assert_false(h.has_remaining);
    assert_false(h.has_reset_after);
    assert_false(h.has_retry_after);
    assert_false(h.has_bucket);
}

static void status_line_starts_a_new_response(void **state)
{
    (void)state;
    const char *lines[] = { "HTTP/1.1 100 Continue\r\n", "X-RateLimit-Remaining: 3\r\n",
                            "HTTP/1.1 200 OK\r\n", NULL };
    ratelimit_headers h = headers_of(lines);
    assert_int_equal(h.status, 200);
    assert_false(h.has_remaining);
}

/* ---- buckets ------------------------------------------------------------- */

static void null_bucket_until_headers_name_one(void **state)
{
    ratelimit_limiter *rl = *state;
    const char *route = "GET /guilds/{id}/members";
    ratelimit_submit(rl, route, "1", user(1));
    ratelimit_submit(rl, route, "1", user(2));
    ratelimit_submit(rl, route, "1", user(3));

    ratelimit_entry *a = ratelimit_release(rl, T0);
    assert_non_null(a);
    assert_int_equal(tag(a), 1);
    /* unknown bucket: one request at a time, and nothing to wake for */
    assert_null(ratelimit_release(rl, T0));
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0), -1);

    ratelimit_headers h = ok_headers("hashA", 5, 4, "1.0");
    complete_done(rl, a, T0 + 10, &h);
    /* learned: remaining 4, so both others may fly together */
    ratelimit_entry *b = ratelimit_release(rl, T0 + 10);
    ratelimit_entry *c = ratelimit_release(rl, T0 + 10);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(tag(b), 2);
    assert_int_equal(tag(c), 3);
    assert_int_equal(ratelimit_in_flight(rl), 2);
    assert_int_equal(ratelimit_queued(rl), 0);
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0 + 10), -1);
    ratelimit_cancel(rl, b);
    ratelimit_cancel(rl, c);
    assert_int_equal(ratelimit_in_flight(rl), 0);
}

static void routes_sharing_a_hash_share_the_bucket(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_submit(rl, "GET /guilds/{id}", "1", user(1));
    ratelimit_headers h = ok_headers("shared", 1, 0, "2.0");
    complete_done(rl, ratelimit_release(rl, T0), T0, &h);
    ratelimit_submit(rl, "GET /guilds/{id}/roles", "1", user(2));
    complete_done(rl, ratelimit_release(rl, T0), T0, &h);   /* first of its route: null bucket */
    /* both routes now map to (shared, 1), which is exhausted for 2 s */
    ratelimit_submit(rl, "GET /guilds/{id}", "1", user(3));
    ratelimit_submit(rl, "GET /guilds/{id}/roles", "1", user(4));
    assert_null(ratelimit_release(rl, T0 + 1));
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0 + 1), 1999);
    ratelimit_entry *e = ratelimit_release(rl, T0 + 2000);
    assert_non_null(e);
    assert_int_equal(tag(e), 3);
    ratelimit_cancel(rl, e);
}

static void remaining_zero_waits_reset_after(void **state)
{
    ratelimit_limiter *rl = *state;
    const char *route = "POST /channels/{id}/messages";
    ratelimit_submit(rl, route, "9", user(1));
    ratelimit_submit(rl, route, "9", user(2));
    ratelimit_headers h = ok_headers("msg", 5, 0, "0.5");
    complete_done(rl, ratelimit_release(rl, T0), T0, &h);

    assert_null(ratelimit_release(rl, T0));
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0), 500);
    assert_null(ratelimit_release(rl, T0 + 499));
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0 + 499), 1);
    ratelimit_entry *e = ratelimit_release(rl, T0 + 500);
    assert_non_null(e);
    assert_int_equal(tag(e), 2);
    ratelimit_cancel(rl, e);
}

static void refilled_bucket_allows_limit_requests(void **state)
{
    ratelimit_limiter *rl = *state;
    const char *route = "GET /guilds/{id}";
    for (int i = 0; i < 5; i++)
        ratelimit_submit(rl, route, "1", user(i));
    ratelimit_headers h = ok_headers("g", 3, 0, "1");
    complete_done(rl, ratelimit_release(rl, T0), T0, &h);
    /* after the reset the limit (3) is available again, not more */
    ratelimit_entry *got[4];
    for (int i = 0; i < 3; i++) {
        got[i] = ratelimit_release(rl, T0 + 1000);
        assert_non_null(got[i]);
        assert_int_equal(tag(got[i]), i + 1);
    }
    got[3] = ratelimit_release(rl, T0 + 1000);
    assert_null(got[3]);
    for (int i = 0; i < 3; i++)
        ratelimit_cancel(rl, got[i]);
}

static void buckets_are_per_major_id(void **state)
{
    ratelimit_limiter *rl = *state;
    const char *route = "GET /guilds/{id}/members";
    ratelimit_submit(rl, route, "1", user(1));
    ratelimit_headers h = ok_headers("members", 10, 0, "5");
    complete_done(rl, ratelimit_release(rl, T0), T0, &h);

    ratelimit_submit(rl, route, "1", user(2));
    ratelimit_submit(rl, route, "2", user(3));
    /* guild 1 is exhausted, guild 2 has its own bucket */
    ratelimit_entry *e = ratelimit_release(rl, T0 + 1);
    assert_non_null(e);
    assert_int_equal(tag(e), 3);
    assert_null(ratelimit_release(rl, T0 + 1));
    ratelimit_cancel(rl, e);
}

static void fifo_within_a_bucket(void **state)
{
    ratelimit_limiter *rl = *state;
    const char *route = "POST /channels/{id}/messages";
    ratelimit_submit(rl, route, "5", user(0));
    ratelimit_headers h = ok_headers("m", 1, 0, "0.1");
    complete_done(rl, ratelimit_release(rl, T0), T0, &h);
    for (int i = 1; i <= 4; i++)
        ratelimit_submit(rl, route, "5", user(i));

    int64_t now = T0;
    for (int i = 1; i <= 4; i++) {
        int64_t wait = ratelimit_next_wakeup_ms(rl, now);
        assert_true(wait > 0);
        assert_null(ratelimit_release(rl, now + wait - 1));
        now += wait;
        ratelimit_entry *e = ratelimit_release(rl, now);
        assert_non_null(e);
        assert_int_equal(tag(e), i);
        assert_null(ratelimit_release(rl, now));
        complete_done(rl, e, now, &h);
    }
    assert_int_equal(ratelimit_queued(rl), 0);
}

/* ---- 429s and retries ---------------------------------------------------- */

static void route_429_blocks_its_bucket_and_retries_first(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_submit(rl, "GET /guilds/{id}", "1", user(1));
    ratelimit_submit(rl, "GET /guilds/{id}", "1", user(2));
    ratelimit_submit(rl, "GET /users/@me", "", user(3));

    ratelimit_entry *a = ratelimit_release(rl, T0);
    assert_int_equal(tag(a), 1);
    const char *lines[] = { "HTTP/1.1 429 Too Many Requests\r\n", "X-RateLimit-Bucket: g\r\n",
                            "X-RateLimit-Remaining: 0\r\n", "X-RateLimit-Reset-After: 0.2\r\n",
                            "Retry-After: 1\r\n", NULL };
    ratelimit_headers h = headers_of(lines);
    h.retry_after = 0.2;   /* the body's float wins over the header's integer */
    int64_t retry = 0;
    assert_int_equal(ratelimit_complete(rl, a, T0, &h, &retry), RL_RETRY);
    assert_int_equal(retry, 200);
    assert_int_equal(ratelimit_entry_attempt(a), 1);

    /* another route is not held up */
    ratelimit_entry *other = ratelimit_release(rl, T0 + 1);
    assert_non_null(other);
    assert_int_equal(tag(other), 3);
    assert_null(ratelimit_release(rl, T0 + 1));
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0 + 1), 199);
    assert_null(ratelimit_release(rl, T0 + 199));
    /* the retried request goes before the one queued after it */
    ratelimit_entry *again = ratelimit_release(rl, T0 + 200);
    assert_ptr_equal(again, a);
    assert_int_equal(ratelimit_invalid_count(rl, T0 + 200), 1);
    ratelimit_cancel(rl, again);
    ratelimit_cancel(rl, other);
}

static void global_429_pauses_everything(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_submit(rl, "GET /guilds/{id}", "1", user(1));
    ratelimit_submit(rl, "GET /users/@me", "", user(2));
    ratelimit_entry *a = ratelimit_release(rl, T0);
    const char *lines[] = { "HTTP/1.1 429 Too Many Requests\r\n", "X-RateLimit-Global: true\r\n",
                            "Retry-After: 3\r\n", NULL };
    ratelimit_headers h = headers_of(lines);
    int64_t retry = 0;
    assert_int_equal(ratelimit_complete(rl, a, T0, &h, &retry), RL_RETRY);
    assert_int_equal(retry, 3000);
    assert_null(ratelimit_release(rl, T0 + 2999));
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0 + 1000), 2000);
    ratelimit_entry *first = ratelimit_release(rl, T0 + 3000);
    ratelimit_entry *second = ratelimit_release(rl, T0 + 3000);
    assert_ptr_equal(first, a);
    assert_non_null(second);
    assert_int_equal(tag(second), 2);
    ratelimit_cancel(rl, first);
    ratelimit_cancel(rl, second);
}

static void retries_are_bounded(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_entry *e = ratelimit_submit(rl, "GET /users/@me", "", user(1));
    ratelimit_headers h = status_only(429);   /* no hint at all: fallback wait */
    int64_t retry = 0, now = T0;
    for (int i = 0; i < test_opts.max_retries; i++) {
        assert_ptr_equal(ratelimit_release(rl, now), e);
        assert_int_equal(ratelimit_complete(rl, e, now, &h, &retry), RL_RETRY);
        assert_true(retry > 0);
        now += retry;
    }
    assert_ptr_equal(ratelimit_release(rl, now), e);
    complete_done(rl, e, now, &h);   /* third 429: handed back to the caller */
    assert_int_equal(ratelimit_queued(rl), 0);
    assert_int_equal(ratelimit_in_flight(rl), 0);
}

static void server_errors_back_off_then_give_up(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_entry *e = ratelimit_submit(rl, "GET /users/@me", "", user(1));
    ratelimit_headers h = status_only(502);
    int64_t retry = 0;
    assert_ptr_equal(ratelimit_release(rl, T0), e);
    assert_int_equal(ratelimit_complete(rl, e, T0, &h, &retry), RL_RETRY);
    assert_int_equal(retry, 100);
    assert_null(ratelimit_release(rl, T0 + 99));
    assert_ptr_equal(ratelimit_release(rl, T0 + 100), e);
    assert_int_equal(ratelimit_complete(rl, e, T0 + 100, &h, &retry), RL_RETRY);
    assert_int_equal(retry, 200);   /* doubled */
    assert_ptr_equal(ratelimit_release(rl, T0 + 300), e);
    complete_done(rl, e, T0 + 300, &h);
}

static void client_errors_are_never_retried(void **state)
{
    ratelimit_limiter *rl = *state;
    static const long statuses[] = { 400, 401, 403, 404, 0 };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        ratelimit_entry *e = ratelimit_submit(rl, "GET /guilds/{id}/members/{id}", "1", user(1));
        assert_ptr_equal(ratelimit_release(rl, T0), e);
        ratelimit_headers h = status_only(statuses[i]);
        complete_done(rl, e, T0, &h);
    }
    assert_int_equal(ratelimit_queued(rl), 0);
}

static void invalid_requests_are_counted_for_ten_minutes(void **state)
{
    ratelimit_limiter *rl = *state;
    static const long statuses[] = { 401, 403, 404, 429, 200 };
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        /* 5 s apart: the 429 (1 s fallback wait) must not hold the next */
        int64_t at = T0 + 100000 + (int64_t)i * 5000;
        ratelimit_entry *e = ratelimit_submit(rl, "GET /users/@me", "", user(1));
        assert_ptr_equal(ratelimit_release(rl, at), e);
        ratelimit_headers h = status_only(statuses[i]);
        int64_t retry;
        if (ratelimit_complete(rl, e, at, &h, &retry) == RL_RETRY)
            ratelimit_cancel(rl, e);
    }
    /* a shared-scope 429 does not count */
    ratelimit_entry *e = ratelimit_submit(rl, "GET /users/@me", "", user(1));
    int64_t later = T0 + 200000;
    assert_ptr_equal(ratelimit_release(rl, later), e);
    const char *lines[] = { "HTTP/1.1 429 x\r\n", "X-RateLimit-Scope: shared\r\n",
                            "Retry-After: 0\r\n", NULL };
    ratelimit_headers h = headers_of(lines);
    int64_t retry;
    assert_int_equal(ratelimit_complete(rl, e, later, &h, &retry), RL_RETRY);
    ratelimit_cancel(rl, e);

    assert_int_equal(ratelimit_invalid_count(rl, later), 3);
    assert_int_equal(ratelimit_invalid_count(rl, T0 + 100000 + RL_INVALID_WINDOW_MS + 60000), 0);
}

/* ---- the global cap ------------------------------------------------------ */

static void global_cap_of_fifty_per_second(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_entry *flying[60];
    for (int i = 0; i < 60; i++) {
        char major[16];
        snprintf(major, sizeof major, "%d", i);
        ratelimit_submit(rl, "GET /guilds/{id}", major, user(i));
    }
    int n = 0;
    while ((flying[n] = ratelimit_release(rl, T0)) != NULL)
        n++;
    assert_int_equal(n, RL_GLOBAL_PER_SEC);
    assert_int_equal(ratelimit_next_wakeup_ms(rl, T0 + 400), 600);
    assert_null(ratelimit_release(rl, T0 + 999));
    while (n < 60 && (flying[n] = ratelimit_release(rl, T0 + 1000)) != NULL)
        n++;
    assert_int_equal(n, 60);
    assert_int_equal(tag(flying[59]), 59);
    for (int i = 0; i < 60; i++)
        ratelimit_cancel(rl, flying[i]);
}

static void free_with_entries_queued_and_in_flight(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_submit(rl, "GET /users/@me", "", user(1));
    ratelimit_submit(rl, "GET /users/@me", "", user(2));
    assert_non_null(ratelimit_release(rl, T0));
    assert_int_equal(ratelimit_in_flight(rl), 1);
    assert_int_equal(ratelimit_queued(rl), 1);
    /* teardown frees both; ASan reports any leak */
}

static void many_idle_buckets_are_pruned(void **state)
{
    ratelimit_limiter *rl = *state;
    ratelimit_headers h = ok_headers("b", 5, 4, "0.001");
    for (int i = 0; i < 3000; i++) {
        char major[16];
        snprintf(major, sizeof major, "%d", i);
        ratelimit_entry *e = ratelimit_submit(rl, "GET /guilds/{id}", major, user(i));
        assert_ptr_equal(ratelimit_release(rl, T0 + i * 100), e);
        complete_done(rl, e, T0 + i * 100, &h);
    }
    /* still behaves after pruning: the route's hash is remembered */
    ratelimit_entry *e = ratelimit_submit(rl, "GET /guilds/{id}", "1", user(1));
    assert_ptr_equal(ratelimit_release(rl, T0 + 400000), e);
    ratelimit_cancel(rl, e);
}

/* What a caller may ask without waiting (issue #14 item 6). */
static void available_counts_what_goes_now(void **state)
{
    ratelimit_limiter *rl = *state;
    const char *route = "GET /guilds/{id}/members/{id}";
    int64_t retry = 0;
    assert_int_equal(ratelimit_available(rl, route, "7", T0), 1);          /* unknown bucket: one probe */
    ratelimit_entry *e = ratelimit_submit(rl, route, "7", user(1));
    assert_int_equal(ratelimit_available(rl, route, "7", T0), 0);          /* the probe is queued */
    assert_ptr_equal(ratelimit_release(rl, T0), e);
    assert_int_equal(ratelimit_available(rl, route, "7", T0), 0);          /* ...and in flight */
    ratelimit_headers h = ok_headers("members", 5, 4, "5");
    assert_int_equal(ratelimit_complete(rl, e, T0 + 10, &h, &retry), RL_DONE);
    assert_int_equal(ratelimit_available(rl, route, "7", T0 + 10), 4);     /* the bucket is known now */
    assert_int_equal(ratelimit_available(rl, route, "8", T0 + 10), 1);     /* another guild: its own bucket */
    ratelimit_submit(rl, route, "7", user(2));
    assert_int_equal(ratelimit_available(rl, route, "7", T0 + 10), 3);
    for (int i = 0; i < 3; i++)
        ratelimit_submit(rl, route, "7", user(3 + i));
    assert_int_equal(ratelimit_available(rl, route, "7", T0 + 10), 0);     /* the window is spoken for */
    for (int i = 0; i < 4; i++)
        assert_non_null(ratelimit_release(rl, T0 + 10));
    assert_int_equal(ratelimit_available(rl, route, "7", T0 + 5010), 5);   /* a new window */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(available_counts_what_goes_now, setup, teardown),
        cmocka_unit_test(route_keys_replace_ids),
        cmocka_unit_test(major_ids_from_paths),
        cmocka_unit_test(headers_are_parsed_case_insensitively),
        cmocka_unit_test(bad_header_values_are_ignored),
        cmocka_unit_test(status_line_starts_a_new_response),
        cmocka_unit_test_setup_teardown(null_bucket_until_headers_name_one, setup, teardown),
        cmocka_unit_test_setup_teardown(routes_sharing_a_hash_share_the_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(remaining_zero_waits_reset_after, setup, teardown),
        cmocka_unit_test_setup_teardown(refilled_bucket_allows_limit_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(buckets_are_per_major_id, setup, teardown),
        cmocka_unit_test_setup_teardown(fifo_within_a_bucket, setup, teardown),
        cmocka_unit_test_setup_teardown(route_429_blocks_its_bucket_and_retries_first, setup, teardown),
        cmocka_unit_test_setup_teardown(global_429_pauses_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(retries_are_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(server_errors_back_off_then_give_up, setup, teardown),
        cmocka_unit_test_setup_teardown(client_errors_are_never_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_requests_are_counted_for_ten_minutes, setup, teardown),
        cmocka_unit_test_setup_teardown(global_cap_of_fifty_per_second, setup, teardown),
        cmocka_unit_test_setup_teardown(free_with_entries_queued_and_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(many_idle_buckets_are_pruned, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
