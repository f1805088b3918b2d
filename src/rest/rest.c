/* rest.c - Discord REST over libcurl, driven from the lws loop (see rest.h).
 *
 * One "pump" timer (an lws_sul) does everything: curl_multi_perform(),
 * drain finished transfers into the rate limiter and the callbacks, start
 * whatever the limiter releases, then re-arm itself from
 * curl_multi_timeout() and the limiter's next release time. */
#include "rest/rest.h"

#include <cJSON.h>
#include <curl/curl.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "rest/ratelimit.h"
#include "base/vec.h"
#include "proto/metric_defs.h"

#define REST_POLL_MS 5                 /* poll period while transfers run */
#define REST_CONNECT_TIMEOUT_MS 10000
#define REST_INVALID_WARN_EVERY_MS 60000
#define REST_METHOD_MAX 16
#define REST_IDLE_TICK_MS 10              /* rest_run_until_idle() wake-up */

typedef struct rest_req rest_req;

struct rest_req {
    rest_req *prev, *next;             /* every pending request of the client */
    rest_client *rc;
    ratelimit_entry *entry;                   /* owned by the limiter until done */
    CURL *easy;                        /* only while a transfer runs */
    char method[REST_METHOD_MAX];
    char *url;
    char *body;                        /* JSON body or NULL */
    rest_done_fn done;
    void *ctx;
    ratelimit_headers hdr;
    char *resp;
    size_t resp_len, resp_cap;
    bool resp_too_big;
    char errbuf[CURL_ERROR_SIZE];
};

struct rest_client {
    struct lws_context *lws;
    lws_sorted_usec_list_t sul;
    CURLM *multi;
    ratelimit_limiter *rl;
    char *api_base;
    char *user_agent;
    struct curl_slist *headers;        /* Authorization (holds the token) */
    struct curl_slist *json_headers;   /* the same plus Content-Type */
    long timeout_ms;
    rest_req *reqs;
    size_t n_reqs;
    int running;
    int64_t last_invalid_warn;
};

static int64_t loop_now_ms(void)
{
    return (int64_t)(lws_now_usecs() / 1000);
}

/* ---- curl callbacks ------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    rest_req *q = userp;
    size_t n = size * nmemb;
    if (q->resp_len + n + 1 > REST_MAX_BODY) {
        q->resp_too_big = true;
        return 0;   /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (VEC_GROW(q->resp, q->resp_cap, q->resp_len + n + 1, 4096) != 0)
        return 0;
    memcpy(q->resp + q->resp_len, data, n);
    q->resp_len += n;
    q->resp[q->resp_len] = '\0';
    return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userp)
{
    rest_req *q = userp;
    ratelimit_headers_line(&q->hdr, line, size * nmemb);
    return size * nmemb;
}

/* ---- requests ------------------------------------------------------------ */

static void req_reset_response(rest_req *q)
{
    ratelimit_headers_init(&q->hdr);
    q->resp_len = 0;
    q->resp_too_big = false;
    if (q->resp)
        q->resp[0] = '\0';
    q->errbuf[0] = '\0';
}

static void req_stop_transfer(rest_req *q)
{
    if (!q->easy)
        return;
    curl_multi_remove_handle(q->rc->multi, q->easy);
    curl_easy_cleanup(q->easy);
    q->easy = NULL;
}

static void req_free(rest_req *q)
{
    rest_client *rc = q->rc;
    req_stop_transfer(q);
    if (q->prev)
        q->prev->next = q->next;
    else
        rc->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    rc->n_reqs--;
    free(q->url);
    free(q->body);
    free(q->resp);
    free(q);
}

static void set_method_and_body(rest_req *q, CURL *e)
{
    if (strcmp(q->method, "GET") == 0 && !q->body) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (strcmp(q->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->body || strcmp(q->method, "POST") == 0) {
        const char *body = q->body ? q->body : "";
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    }
}

/* Peer verification stays at libcurl's default (on); it is never relaxed. */
static bool req_start_transfer(rest_req *q)
{
    rest_client *rc = q->rc;
    CURL *e = curl_easy_init();
    if (!e)
        return false;
    req_reset_response(q);
    curl_easy_setopt(e, CURLOPT_URL, q->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, rc->user_agent);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, q->body ? rc->json_headers : rc->headers);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rc->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     rc->timeout_ms < REST_CONNECT_TIMEOUT_MS ? rc->timeout_ms
                                                              : (long)REST_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, q);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, q->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, q);
    set_method_and_body(q, e);
    if (curl_multi_add_handle(rc->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return false;
    }
    q->easy = e;
    return true;
}

/* ---- completing ---------------------------------------------------------- */

/* Fill json_code, and for a 429 the body's retry_after / global (the body's
 * float is more precise than the Retry-After header's integer). */
static int parse_error_body(rest_req *q)
{
    if (!q->resp || q->resp_len == 0 || q->resp[0] != '{')
        return 0;
    cJSON *root = cJSON_ParseWithLength(q->resp, q->resp_len);
    if (!root)
        return 0;
    int code = 0;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(root, "code");
    if (cJSON_IsNumber(c))
        code = (int)c->valuedouble;
    if (q->hdr.status == 429) {
        const cJSON *ra = cJSON_GetObjectItemCaseSensitive(root, "retry_after");
        if (cJSON_IsNumber(ra) && ra->valuedouble >= 0 && ra->valuedouble < 1e6) {
            q->hdr.retry_after = ra->valuedouble;
            q->hdr.has_retry_after = true;
        }
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "global")))
            q->hdr.global = true;
    }
    cJSON_Delete(root);
    return code;
}

static const char *transport_error(rest_req *q, CURLcode result)
{
    if (q->resp_too_big)
        snprintf(q->errbuf, sizeof q->errbuf, "response body larger than %u bytes",
                 REST_MAX_BODY);
    else if (!q->errbuf[0])
        snprintf(q->errbuf, sizeof q->errbuf, "%s", curl_easy_strerror(result));
    return log_redact(q->errbuf);
}

static void warn_invalid_requests(rest_client *rc, int64_t now)
{
    long invalid = ratelimit_invalid_count(rc->rl, now);
    if (invalid <= RL_INVALID_WARN || now - rc->last_invalid_warn < REST_INVALID_WARN_EVERY_MS)
        return;
    rc->last_invalid_warn = now;
    LOG_W("rest", "%ld invalid requests (401/403/429) in the last 10 minutes; "
                  "Discord bans the IP at 10000", invalid);
}

static void log_retry(const rest_req *q, long status, int64_t retry_in_ms)
{
    LOG_W("rest", "%s %s: HTTP %ld%s, retrying in %lld ms (attempt %d)", q->method,
          q->url + strlen(q->rc->api_base), status, q->hdr.global ? " (global)" : "",
          (long long)retry_in_ms, ratelimit_entry_attempt(q->entry) + 1);
}

/* discord_cleaner_rest_requests_total{code} (every response, retried ones
 * too; no response, no count) and discord_cleaner_rest_ratelimited_total. */
static void count_response(long status)
{
    char code[24];
    if (status <= 0)
        return;
    snprintf(code, sizeof code, "%ld", status);
    metrics_inc(MX_REST_REQUESTS, code, 1);
    if (status == 429)
        metrics_inc(MX_REST_RATELIMITED, NULL, 1);
}

static void finish_transfer(rest_client *rc, rest_req *q, CURLcode result)
{
    int64_t now = loop_now_ms();
    long status = 0;
    const char *error = NULL;
    log_fields f = LOG_FIELDS_INIT;
    curl_off_t took_us = 0;
    if (result == CURLE_OK)
        curl_easy_getinfo(q->easy, CURLINFO_RESPONSE_CODE, &status);
    else
        error = transport_error(q, result);
    if (curl_easy_getinfo(q->easy, CURLINFO_TOTAL_TIME_T, &took_us) == CURLE_OK)
        f.duration_ms = (long long)(took_us / 1000);     /* json logs: how long Discord took */
    req_stop_transfer(q);
    q->hdr.status = status;
    count_response(status);
    int json_code = status ? parse_error_body(q) : 0;

    int64_t retry_in_ms = 0;
    if (ratelimit_complete(rc->rl, q->entry, now, &q->hdr, &retry_in_ms) == RL_RETRY) {
        log_retry(q, status, retry_in_ms);
        warn_invalid_requests(rc, now);
        return;
    }
    q->entry = NULL;   /* freed by the limiter */
    warn_invalid_requests(rc, now);
    LOG_DF("rest", &f, "%s %s -> %ld (%lld ms)", q->method, q->url + strlen(rc->api_base), status, f.duration_ms);

    rest_response r = {
        .status = status,
        .body = q->resp ? q->resp : "",
        .body_len = q->resp_len,
        .json_code = json_code,
        .error = error,
        .retry_after = status == 429 && q->hdr.has_retry_after ? q->hdr.retry_after : 0.0,
    };
    q->done(q->ctx, &r);
    req_free(q);
}

static void drain_finished(rest_client *rc)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(rc->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        char *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if (priv)
            finish_transfer(rc, (rest_req *)priv, msg->data.result);
    }
}

/* ---- the pump ------------------------------------------------------------ */

static void pump(lws_sorted_usec_list_t *sul);

/* A request the limiter released but curl refused: answer it at once. */
static void fail_unstartable(rest_client *rc, rest_req *q)
{
    ratelimit_headers h;
    ratelimit_headers_init(&h);
    int64_t ignored;
    ratelimit_complete(rc->rl, q->entry, loop_now_ms(), &h, &ignored);   /* status 0: done */
    q->entry = NULL;
    rest_response r = { .status = 0, .body = "", .error = "could not start the transfer" };
    q->done(q->ctx, &r);
    req_free(q);
}

static bool start_released(rest_client *rc)
{
    bool started = false;
    ratelimit_entry *e;
    while ((e = ratelimit_release(rc->rl, loop_now_ms())) != NULL) {
        rest_req *q = ratelimit_entry_user(e);
        if (req_start_transfer(q))
            started = true;
        else
            fail_unstartable(rc, q);
    }
    return started;
}

static void rearm(rest_client *rc)
{
    int64_t wait = -1;
    if (rc->running > 0) {
        long t = -1;
        curl_multi_timeout(rc->multi, &t);
        wait = (t < 0 || t > REST_POLL_MS) ? REST_POLL_MS : t;
    }
    int64_t release = ratelimit_next_wakeup_ms(rc->rl, loop_now_ms());
    if (release >= 0 && (wait < 0 || release < wait))
        wait = release;
    if (wait < 0) {
        lws_sul_cancel(&rc->sul);
        return;
    }
    if (wait < 1)
        wait = 1;   /* never spin the loop */
    lws_sul_schedule(rc->lws, 0, &rc->sul, pump, (lws_usec_t)wait * 1000);
}

static void pump(lws_sorted_usec_list_t *sul)
{
    rest_client *rc = lws_container_of(sul, rest_client, sul);
    /* A transfer may complete inside the very perform that started it (a
     * reused loopback connection answers at once): drain again after every
     * start, or its completion would sit unread while nothing is running. */
    do {
        curl_multi_perform(rc->multi, &rc->running);
        drain_finished(rc);
    } while (start_released(rc));
    rearm(rc);
}

/* ---- public API ---------------------------------------------------------- */

static bool token_is_header_safe(const char *token)
{
    if (!token || !*token)
        return false;
    for (const char *p = token; *p; p++)
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
            return false;
    return true;
}

/* Wipe the token's copies inside the header lists before freeing them. */
static void free_secret_headers(struct curl_slist *list)
{
    for (struct curl_slist *s = list; s; s = s->next)
        explicit_bzero(s->data, strlen(s->data));
    curl_slist_free_all(list);
}

static dc_err build_headers(rest_client *rc, const char *token)
{
    size_t n = strlen("Authorization: Bot ") + strlen(token) + 1;
    char *auth = malloc(n);
    if (!auth)
        return DC_ERR_NOMEM;
    snprintf(auth, n, "Authorization: Bot %s", token);
    rc->headers = curl_slist_append(NULL, auth);
    rc->json_headers = curl_slist_append(NULL, auth);
    explicit_bzero(auth, n);
    free(auth);
    if (!rc->headers || !rc->json_headers ||
        !curl_slist_append(rc->json_headers, "Content-Type: application/json"))
        return DC_ERR_NOMEM;
    return DC_OK;
}

static dc_err client_init(rest_client *rc, const rest_opts *opts)
{
    size_t baselen = strlen(opts->api_base);
    while (baselen > 0 && opts->api_base[baselen - 1] == '/')
        baselen--;   /* paths bring their own leading slash */
    rc->api_base = strndup(opts->api_base, baselen);
    rc->user_agent = strdup(opts->user_agent ? opts->user_agent : REST_DEFAULT_USER_AGENT);
    rc->multi = curl_multi_init();
    if (!rc->api_base || !rc->user_agent || !rc->multi)
        return DC_ERR_NOMEM;
    rc->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : REST_DEFAULT_TIMEOUT_MS;
    rc->last_invalid_warn = INT64_MIN / 2;
    ratelimit_opts ro = { .max_retries = opts->max_retries, .backoff_base_ms = opts->backoff_base_ms };
    dc_err rv = ratelimit_new(&rc->rl, &ro);
    return rv != DC_OK ? rv : build_headers(rc, opts->token);
}

dc_err rest_new(rest_client **out, struct lws_context *lws, const rest_opts *opts,
                char *err, size_t errlen)
{
    *out = NULL;
    if (!lws || !opts) {
        snprintf(err, errlen, "rest_new: no loop or options");
        return DC_ERR_USAGE;
    }
    dc_err rv = rest_check_base_url(opts->api_base, err, errlen);
    if (rv != DC_OK)
        return rv;
    if (!token_is_header_safe(opts->token)) {
        snprintf(err, errlen, "bot token is empty or contains spaces or control characters");
        return DC_ERR_CONFIG;
    }
    log_add_secret(opts->token);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, errlen, "libcurl initialisation failed");
        return DC_ERR_INTERNAL;
    }
    rest_client *rc = calloc(1, sizeof *rc);
    if (!rc) {
        curl_global_cleanup();
        snprintf(err, errlen, "out of memory");
        return DC_ERR_NOMEM;
    }
    rc->lws = lws;
    rv = client_init(rc, opts);
    if (rv != DC_OK) {
        rest_free(rc);
        snprintf(err, errlen, "REST client: %s", dc_strerror(rv));
        return rv;
    }
    *out = rc;
    return DC_OK;
}

void rest_free(rest_client *rc)
{
    if (!rc)
        return;
    lws_sul_cancel(&rc->sul);
    while (rc->reqs)
        req_free(rc->reqs);   /* their limiter entries go with ratelimit_free */
    ratelimit_free(rc->rl);
    if (rc->multi)
        curl_multi_cleanup(rc->multi);
    free_secret_headers(rc->headers);
    free_secret_headers(rc->json_headers);
    free(rc->api_base);
    free(rc->user_agent);
    free(rc);
    curl_global_cleanup();
}

static bool method_ok(const char *method)
{
    size_t n = method ? strlen(method) : 0;
    if (n == 0 || n >= REST_METHOD_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (method[i] < 'A' || method[i] > 'Z')
            return false;
    return true;
}

static rest_req *req_new(rest_client *rc, const char *method, const char *path,
                         const char *json_body)
{
    rest_req *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->rc = rc;
    snprintf(q->method, sizeof q->method, "%s", method);
    size_t n = strlen(rc->api_base) + strlen(path) + 1;
    q->url = malloc(n);
    q->body = json_body ? strdup(json_body) : NULL;
    if (!q->url || (json_body && !q->body)) {
        free(q->url);
        free(q->body);
        free(q);
        return NULL;
    }
    snprintf(q->url, n, "%s%s", rc->api_base, path);
    return q;
}

static void req_link(rest_client *rc, rest_req *q)
{
    q->next = rc->reqs;
    if (rc->reqs)
        rc->reqs->prev = q;
    rc->reqs = q;
    rc->n_reqs++;
}

long rest_available(const rest_client *rc, const char *method, const char *path, const char *major)
{
    char route[RL_ROUTE_MAX], derived[RL_MAJOR_MAX];
    if (!ratelimit_route_key(method, path, route, sizeof route) || !ratelimit_major_from_path(path, derived, sizeof derived))
        return 0;
    return ratelimit_available(rc->rl, route, major ? major : derived, loop_now_ms());
}

dc_err rest_request(rest_client *rc, const char *method, const char *path, const char *major,
                    const char *json_body, rest_done_fn done, void *ctx)
{
    if (!rc || !method_ok(method) || !path || path[0] != '/' || !done)
        return DC_ERR_USAGE;
    char route[RL_ROUTE_MAX], derived[RL_MAJOR_MAX];
    if (!ratelimit_route_key(method, path, route, sizeof route) ||
        !ratelimit_major_from_path(path, derived, sizeof derived))
        return DC_ERR_USAGE;
    rest_req *q = req_new(rc, method, path, json_body);
    if (!q)
        return DC_ERR_NOMEM;
    q->done = done;
    q->ctx = ctx;
    q->entry = ratelimit_submit(rc->rl, route, major ? major : derived, q);
    if (!q->entry) {
        free(q->url);
        free(q->body);
        free(q);
        return DC_ERR_NOMEM;
    }
    req_link(rc, q);
    /* kick the pump on the next loop turn, never from inside this call */
    lws_sul_schedule(rc->lws, 0, &rc->sul, pump, 1);
    return DC_OK;
}

size_t rest_pending(const rest_client *rc)
{
    return rc ? rc->n_reqs : 0;
}

static void idle_tick(lws_sorted_usec_list_t *sul)
{
    (void)sul;   /* only exists to bound lws_service()'s poll wait */
}

/* lws_service() runs due timers and then polls until the next one; once the
 * last request completes inside it, nothing would wake it for a long time.
 * A private short tick bounds each service call. */
dc_err rest_run_until_idle(struct lws_context *lws, const rest_client *rc, long timeout_ms)
{
    lws_sorted_usec_list_t tick;
    memset(&tick, 0, sizeof tick);
    int64_t deadline = loop_now_ms() + timeout_ms;
    dc_err rv = DC_OK;
    while (rest_pending(rc) > 0) {
        if (loop_now_ms() > deadline) {
            rv = DC_ERR_UNAVAIL;
            break;
        }
        lws_sul_schedule(lws, 0, &tick, idle_tick, (lws_usec_t)REST_IDLE_TICK_MS * 1000);
        if (lws_service(lws, 0) < 0) {
            rv = DC_ERR_IO;
            break;
        }
    }
    lws_sul_cancel(&tick);
    return rv;
}
