/* test_rest.c - the REST client against a scripted loopback server that runs
 * in the same lws context (mini_http.h), so the client's timer-driven curl
 * and the server share one loop thread, as in the daemon. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "base/log.h"
#include "rest/rest.h"
#include "mini_http.h"

#define TOKEN "MTIzNDU2Nzg5MDEyMzQ1Njc4.test-token.abcdefghijklmnop"
#define RUN_LIMIT_MS 10000   /* safety net only; nothing asserts on it */

typedef struct {
    int calls;
    long status;
    char body[1024];
    int json_code;
    bool had_error;
    char error[512];
    double retry_after;
} result;

typedef struct {
    mini_http srv;
    rest_client *rc;
    char base[64];
} fixture;

static void on_done(void *ctx, const rest_response *r)
{
    result *res = ctx;
    res->calls++;
    res->status = r->status;
    snprintf(res->body, sizeof res->body, "%.*s", (int)r->body_len, r->body);
    res->json_code = r->json_code;
    res->had_error = r->error != NULL;
    snprintf(res->error, sizeof res->error, "%s", r->error ? r->error : "");
    res->retry_after = r->retry_after;
}

static rest_opts opts_for(const char *base, int max_retries)
{
    rest_opts o = { .api_base = base, .token = TOKEN, .timeout_ms = 5000,
                    .max_retries = max_retries, .backoff_base_ms = 20 };
    return o;
}

static void start(fixture *f, const mini_reply *script, size_t n, int max_retries)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(mini_http_start(&f->srv, script, n), 0);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d/api/v10", f->srv.port);
    rest_opts o = opts_for(f->base, max_retries);
    char err[256];
    assert_int_equal(rest_new(&f->rc, f->srv.ctx, &o, err, sizeof err), DC_OK);
}

static void stop(fixture *f)
{
    rest_free(f->rc);
    mini_http_stop(&f->srv);
}

static void run_idle(fixture *f)
{
    assert_int_equal(rest_run_until_idle(f->srv.ctx, f->rc, RUN_LIMIT_MS), DC_OK);
    assert_int_equal(rest_pending(f->rc), 0);
}

/* ---- base URL policy ----------------------------------------------------- */

static void base_url_policy(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(rest_check_base_url("https://discord.com/api/v10", err, sizeof err), DC_OK);
    assert_int_equal(rest_check_base_url("http://127.0.0.1:8080/api/v10", err, sizeof err), DC_OK);
    assert_int_equal(rest_check_base_url("http://127.3.4.5/api", err, sizeof err), DC_OK);
    assert_int_equal(rest_check_base_url("http://localhost:9/api", err, sizeof err), DC_OK);
    assert_int_equal(rest_check_base_url("http://[::1]:8080/api", err, sizeof err), DC_OK);

    err[0] = '\0';
    assert_int_equal(rest_check_base_url("http://example.com/api", err, sizeof err), DC_ERR_CONFIG);
    assert_non_null(strstr(err, "example.com"));
    assert_non_null(strstr(err, "https://"));
    assert_int_equal(rest_check_base_url("ws://127.0.0.1/", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url("", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url(NULL, err, sizeof err), DC_ERR_CONFIG);
    /* userinfo tricks and lookalikes */
    assert_int_equal(rest_check_base_url("http://127.0.0.1@evil.com/", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url("http://127.0.0.1.evil.com/", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url("http://localhost.evil.com/", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url("http://[::2]/", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url("http://127.0.0.1:99999/", err, sizeof err), DC_ERR_CONFIG);
    assert_int_equal(rest_check_base_url("https:///api", err, sizeof err), DC_ERR_CONFIG);
}

static void bad_options_are_refused_without_the_token(void **state)
{
    (void)state;
    mini_http srv;
    assert_int_equal(mini_http_start(&srv, NULL, 0), 0);
    rest_client *rc = (rest_client *)1;
    char err[256];
    rest_opts o = opts_for("http://example.com/api/v10", 0);
    assert_int_equal(rest_new(&rc, srv.ctx, &o, err, sizeof err), DC_ERR_CONFIG);
    assert_null(rc);
    assert_null(strstr(err, TOKEN));

    o = opts_for("https://discord.com/api/v10", 0);
    o.token = "abc\r\nX-Evil: 1";
    assert_int_equal(rest_new(&rc, srv.ctx, &o, err, sizeof err), DC_ERR_CONFIG);
    assert_null(strstr(err, "X-Evil"));
    o.token = "";
    assert_int_equal(rest_new(&rc, srv.ctx, &o, err, sizeof err), DC_ERR_CONFIG);
    mini_http_stop(&srv);
}

static void bad_requests_are_refused(void **state)
{
    (void)state;
    fixture f;
    start(&f, NULL, 0, 0);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "users/@me", NULL, NULL, on_done, &res), DC_ERR_USAGE);
    assert_int_equal(rest_request(f.rc, "get", "/users/@me", NULL, NULL, on_done, &res), DC_ERR_USAGE);
    assert_int_equal(rest_request(f.rc, "GET", NULL, NULL, NULL, on_done, &res), DC_ERR_USAGE);
    assert_int_equal(rest_request(f.rc, "GET", "/users/@me", NULL, NULL, NULL, &res), DC_ERR_USAGE);
    assert_int_equal(rest_pending(f.rc), 0);
    assert_int_equal(res.calls, 0);
    stop(&f);
}

/* ---- round trips --------------------------------------------------------- */

static void get_200_json(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 200, { { "x-ratelimit-bucket:", "abc" }, { "x-ratelimit-remaining:", "4" },
                 { "x-ratelimit-reset-after:", "1.0" }, { "x-ratelimit-limit:", "5" } },
          "{\"url\":\"ws://127.0.0.1/\",\"shards\":1}", false },
    };
    fixture f;
    start(&f, script, 1, 3);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/gateway/bot", NULL, NULL, on_done, &res), DC_OK);
    assert_int_equal(rest_pending(f.rc), 1);
    assert_int_equal(res.calls, 0);   /* never called from inside rest_request */
    run_idle(&f);

    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"url\":\"ws://127.0.0.1/\",\"shards\":1}");
    assert_int_equal(res.json_code, 0);
    assert_false(res.had_error);
    assert_int_equal(f.srv.n_seen, 1);
    assert_string_equal(f.srv.seen[0].method, "GET");
    assert_string_equal(f.srv.seen[0].path, "/api/v10/gateway/bot");
    assert_string_equal(f.srv.seen[0].auth, "Bot " TOKEN);
    assert_string_equal(f.srv.seen[0].user_agent, REST_DEFAULT_USER_AGENT);
    assert_string_equal(f.srv.seen[0].content_type, "");
    stop(&f);
}

static void post_sends_json_body(void **state)
{
    (void)state;
    static const mini_reply script[] = { { 200, { { NULL, NULL } }, "{\"id\":\"77\"}", false } };
    fixture f;
    start(&f, script, 1, 0);
    result res = { 0 };
    const char *body = "{\"content\":\"hello\",\"allowed_mentions\":{\"parse\":[]}}";
    assert_int_equal(rest_request(f.rc, "POST", "/channels/42/messages", NULL, body, on_done, &res),
                     DC_OK);
    run_idle(&f);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 200);
    assert_string_equal(f.srv.seen[0].method, "POST");
    assert_string_equal(f.srv.seen[0].path, "/api/v10/channels/42/messages");
    assert_string_equal(f.srv.seen[0].content_type, "application/json");
    assert_string_equal(f.srv.seen[0].body, body);
    stop(&f);
}

static void retry_after_429_is_honoured(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 429, { { "retry-after:", "1" }, { "x-ratelimit-scope:", "user" } },
          "{\"message\":\"You are being rate limited.\",\"retry_after\":0.2,\"global\":false}", false },
        { 200, { { NULL, NULL } }, "{\"ok\":true}", false },
    };
    fixture f;
    start(&f, script, 2, 3);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/5/members/6", NULL, NULL, on_done, &res),
                     DC_OK);
    run_idle(&f);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"ok\":true}");
    assert_int_equal(f.srv.n_seen, 2);
    /* the retry came no sooner than the body's retry_after (loop clock) */
    assert_true(f.srv.seen[1].at_ms - f.srv.seen[0].at_ms >= 200);
    stop(&f);
}

static void exhausted_bucket_delays_the_next_request(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 200, { { "X-RateLimit-Bucket:", "b1" }, { "X-RateLimit-Limit:", "1" },
                 { "X-RateLimit-Remaining:", "0" }, { "X-RateLimit-Reset-After:", "0.25" } },
          "{\"n\":1}", false },
        { 200, { { NULL, NULL } }, "{\"n\":2}", false },
    };
    fixture f;
    start(&f, script, 2, 0);
    result a = { 0 }, b = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/9/roles", NULL, NULL, on_done, &a), DC_OK);
    run_idle(&f);
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/9/roles", NULL, NULL, on_done, &b), DC_OK);
    run_idle(&f);
    assert_int_equal(a.calls + b.calls, 2);
    assert_string_equal(b.body, "{\"n\":2}");
    /* the headers were read: the second waited out Reset-After */
    assert_true(f.srv.seen[1].at_ms - f.srv.seen[0].at_ms >= 250);
    stop(&f);
}

static void persistent_429_reaches_the_caller(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 429, { { NULL, NULL } }, "{\"message\":\"slow\",\"retry_after\":0.05,\"global\":true}", false },
    };
    fixture f;
    start(&f, script, 1, 0);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/users/@me", NULL, NULL, on_done, &res), DC_OK);
    run_idle(&f);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 429);
    assert_true(res.retry_after > 0.04 && res.retry_after < 0.06);
    stop(&f);
}

static void not_found_gives_json_code(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 404, { { NULL, NULL } }, "{\"message\":\"Unknown Member\",\"code\":10007}", false },
        { 200, { { NULL, NULL } }, "{}", false },
    };
    fixture f;
    start(&f, script, 2, 3);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/5/members/6", NULL, NULL, on_done, &res),
                     DC_OK);
    run_idle(&f);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 404);
    assert_int_equal(res.json_code, 10007);
    assert_false(res.had_error);
    assert_int_equal(f.srv.n_seen, 1);   /* never retried */
    stop(&f);
}

static void server_error_is_retried(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 500, { { NULL, NULL } }, "{\"message\":\"500: Internal Server Error\",\"code\":0}", false },
        { 200, { { NULL, NULL } }, "{\"id\":\"1\"}", false },
    };
    fixture f;
    start(&f, script, 2, 3);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/users/@me", NULL, NULL, on_done, &res), DC_OK);
    run_idle(&f);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 200);
    assert_int_equal(f.srv.n_seen, 2);
    stop(&f);
}

static void server_errors_give_up_after_max_retries(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 502, { { NULL, NULL } }, "{}", false },
        { 503, { { NULL, NULL } }, "{}", false },
        { 200, { { NULL, NULL } }, "{}", false },
    };
    fixture f;
    start(&f, script, 3, 1);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/users/@me", NULL, NULL, on_done, &res), DC_OK);
    run_idle(&f);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 503);
    assert_int_equal(f.srv.n_seen, 2);
    stop(&f);
}

static void requests_run_in_order_on_one_bucket(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 200, { { NULL, NULL } }, "{\"n\":1}", false },
        { 200, { { NULL, NULL } }, "{\"n\":2}", false },
        { 200, { { NULL, NULL } }, "{\"n\":3}", false },
    };
    fixture f;
    start(&f, script, 3, 0);
    result res[3] = { { 0 } };
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/1/members?limit=1000&after=0", NULL, NULL,
                                  on_done, &res[0]), DC_OK);
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/1/members?limit=1000&after=10", NULL, NULL,
                                  on_done, &res[1]), DC_OK);
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/1/members?limit=1000&after=20", NULL, NULL,
                                  on_done, &res[2]), DC_OK);
    run_idle(&f);
    /* the unknown bucket lets one at a time, in submission order */
    for (int i = 0; i < 3; i++) {
        char want[32];
        snprintf(want, sizeof want, "{\"n\":%d}", i + 1);
        assert_int_equal(res[i].calls, 1);
        assert_string_equal(res[i].body, want);
    }
    stop(&f);
}

/* ---- failures ------------------------------------------------------------ */

static int closed_loopback_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);   /* nobody listens there now */
    return ntohs(a.sin_port);
}

static void connection_refused_is_a_transport_error(void **state)
{
    (void)state;
    mini_http srv;
    assert_int_equal(mini_http_start(&srv, NULL, 0), 0);
    int port = closed_loopback_port();
    assert_true(port > 0);
    char base[64], err[256];
    snprintf(base, sizeof base, "http://127.0.0.1:%d/api/v10", port);
    rest_opts o = opts_for(base, 3);
    rest_client *rc = NULL;
    assert_int_equal(rest_new(&rc, srv.ctx, &o, err, sizeof err), DC_OK);
    result res = { 0 };
    assert_int_equal(rest_request(rc, "GET", "/users/@me", NULL, NULL, on_done, &res), DC_OK);
    assert_int_equal(rest_run_until_idle(srv.ctx, rc, RUN_LIMIT_MS), DC_OK);
    assert_int_equal(res.calls, 1);
    assert_int_equal(res.status, 0);
    assert_true(res.had_error);
    assert_true(strlen(res.error) > 0);
    assert_null(strstr(res.error, TOKEN));
    assert_null(strstr(res.error, "Bot "));
    rest_free(rc);
    mini_http_stop(&srv);
}

static bool server_saw_one(const mini_http *m) { return m->n_seen >= 1; }

static void free_with_pending_requests(void **state)
{
    (void)state;
    static const mini_reply script[] = {   /* never answered */
        { 200, { { NULL, NULL } }, "{}", true },
        { 200, { { NULL, NULL } }, "{}", true },
        { 200, { { NULL, NULL } }, "{}", true },
    };
    fixture f;
    start(&f, script, 3, 0);
    result res = { 0 };
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/1", NULL, NULL, on_done, &res), DC_OK);
    assert_int_equal(rest_request(f.rc, "GET", "/guilds/1", NULL, NULL, on_done, &res), DC_OK);
    assert_int_equal(rest_request(f.rc, "POST", "/channels/2/messages", NULL, "{\"content\":\"x\"}",
                                  on_done, &res), DC_OK);
    /* until the first request is in flight at the server (safety-capped) */
    for (int i = 0; i < 100000 && !server_saw_one(&f.srv); i++)
        assert_true(lws_service(f.srv.ctx, 0) >= 0);
    assert_true(server_saw_one(&f.srv));
    assert_int_equal(rest_pending(f.rc), 3);
    /* one in flight (held), one queued behind it, one in flight or queued:
     * freeing calls none of them and leaks nothing (ASan checks) */
    stop(&f);
    assert_int_equal(res.calls, 0);
}

typedef struct {
    rest_client *rc;
    result first, second;
} chain;

static void on_second(void *ctx, const rest_response *r)
{
    chain *c = ctx;
    on_done(&c->second, r);
}

static void on_first(void *ctx, const rest_response *r)
{
    chain *c = ctx;
    on_done(&c->first, r);
    assert_int_equal(rest_request(c->rc, "GET", "/users/@me/guilds", NULL, NULL, on_second, c),
                     DC_OK);
}

static void a_callback_may_queue_more(void **state)
{
    (void)state;
    static const mini_reply script[] = {
        { 200, { { NULL, NULL } }, "{\"id\":\"1\"}", false },
        { 200, { { NULL, NULL } }, "[]", false },
    };
    fixture f;
    start(&f, script, 2, 0);
    chain c = { .rc = f.rc };
    assert_int_equal(rest_request(f.rc, "GET", "/users/@me", NULL, NULL, on_first, &c), DC_OK);
    run_idle(&f);
    assert_int_equal(c.first.calls, 1);
    assert_int_equal(c.second.calls, 1);
    assert_string_equal(c.second.body, "[]");
    assert_string_equal(f.srv.seen[1].path, "/api/v10/users/@me/guilds");
    stop(&f);
}

int main(void)
{
    log_open(NULL, DCL_ERROR, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base_url_policy),
        cmocka_unit_test(bad_options_are_refused_without_the_token),
        cmocka_unit_test(bad_requests_are_refused),
        cmocka_unit_test(get_200_json),
        cmocka_unit_test(post_sends_json_body),
        cmocka_unit_test(retry_after_429_is_honoured),
        cmocka_unit_test(exhausted_bucket_delays_the_next_request),
        cmocka_unit_test(persistent_429_reaches_the_caller),
        cmocka_unit_test(not_found_gives_json_code),
        cmocka_unit_test(server_error_is_retried),
        cmocka_unit_test(server_errors_give_up_after_max_retries),
        cmocka_unit_test(requests_run_in_order_on_one_bucket),
        cmocka_unit_test(connection_refused_is_a_transport_error),
        cmocka_unit_test(free_with_pending_requests),
        cmocka_unit_test(a_callback_may_queue_more),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
