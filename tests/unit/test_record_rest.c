/* test_record_rest.c - `run --record` writes each REST answer as a "rest"
 * line (redacted, loadable as a fixture), passes the answer on unchanged,
 * and never loses or leaks a request context on error paths. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "log.h"
#include "record.h"
#include "record_rest.h"

#define TOKEN "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabCdE.fakefakefakefakefakefakefakefakefake12"

/* ---- a stand-in loop: REST requests are held until the test answers them -- */

static int64_t fake_now = 1000;
static rest_done_fn held_done;
static void *held_ctx;
static int answer_at_once;           /* answer inside the rest op */
static int refuse;                   /* the rest op fails */
static const rest_response *at_once_response;

static int64_t f_now(dc_loop *l) { (void)l; return fake_now; }
static int64_t f_wall(dc_loop *l) { (void)l; return 1795780800000 + fake_now; }
static void f_schedule(dc_loop *l, dc_timer *t, int64_t d) { (void)l; (void)t; (void)d; }
static void f_cancel(dc_loop *l, dc_timer *t) { (void)l; (void)t; }

static dc_err f_rest(dc_loop *l, const char *method, const char *path, const char *major, const char *body,
                     rest_done_fn done, void *ctx)
{
    (void)l; (void)method; (void)path; (void)major; (void)body;
    if (refuse)
        return DC_ERR_NOMEM;
    if (answer_at_once) {
        done(ctx, at_once_response);
        return DC_OK;
    }
    held_done = done;
    held_ctx = ctx;
    return DC_OK;
}

static const dc_loop_ops fake_ops = { f_now, f_wall, f_schedule, f_cancel, f_rest, NULL };

/* ---- the caller's side ------------------------------------------------------ */

static int calls;
static long seen_status;
static char seen_body[256];

static void caller_done(void *ctx, const rest_response *r)
{
    (void)ctx;
    calls++;
    seen_status = r->status;
    snprintf(seen_body, sizeof seen_body, "%s", r->body ? r->body : "");
}

static char path[64];

static recorder *open_recording(void)
{
    snprintf(path, sizeof path, "/tmp/dc-recrest-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    recorder *r = NULL;
    record_info info = { .shard_count = 1, .intents = 3, .wall_ms = 1795780800000, .mono_ms = 1000 };
    assert_int_equal(record_open(&r, path, &info), DC_OK);
    return r;
}

static char *slurp(const char *p)
{
    static char buf[8192];
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void reset(void)
{
    fake_now = 1000;
    held_done = NULL;
    held_ctx = NULL;
    answer_at_once = refuse = 0;
    calls = 0;
    seen_status = -1;
    seen_body[0] = '\0';
}

/* A fresh recording, wrapped around the stand-in loop. */
static recorder *start(dc_loop *loop, dc_pending *pending)
{
    reset();
    recorder *rec = open_recording();
    pending_init(pending);
    *loop = (dc_loop){ .ops = &fake_ops };
    record_rest_wrap(loop, rec, pending);
    return rec;
}

static void test_answers_are_recorded_and_passed_on(void **state)
{
    (void)state;
    dc_pending pending;
    dc_loop loop;
    recorder *rec = start(&loop, &pending);
    assert_ptr_not_equal(loop.ops, &fake_ops);

    assert_int_equal(loop_rest(&loop, "GET", "/guilds/5/members/7", "5", NULL, caller_done, NULL), DC_OK);
    assert_true(pending.next != &pending);              /* in flight: linked */
    fake_now = 1250;
    const char *body = "{\"message\":\"Unknown Member\",\"code\":10007,\"leak\":\"" TOKEN "\"}";
    rest_response r = { .status = 404, .body = body, .body_len = strlen(body), .json_code = 10007 };
    held_done(held_ctx, &r);
    assert_int_equal(calls, 1);
    assert_int_equal(seen_status, 404);
    assert_string_equal(seen_body, body);                /* unchanged for the caller */
    assert_true(pending.next == &pending);              /* unlinked and freed */

    /* A body that is not JSON is kept as a string. */
    assert_int_equal(loop_rest(&loop, "POST", "/channels/9/messages", "9", "{\"content\":\"x\"}",
                               caller_done, NULL), DC_OK);
    rest_response html = { .status = 502, .body = "<html>bad gateway</html>", .body_len = 24 };
    held_done(held_ctx, &html);
    assert_int_equal(calls, 2);

    record_rest_unwrap();
    assert_ptr_equal(loop.ops, &fake_ops);
    record_close(rec);

    const char *text = slurp(path);
    assert_null(strstr(text, TOKEN));
    assert_null(strstr(text, "Authorization"));
    assert_null(strstr(text, "\"content\":\"x\""));     /* request bodies are not written */
    fixture fx;
    char err[256];
    assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_OK);
    assert_int_equal(fx.n, 2);
    assert_int_equal(fx.v[0].kind, FX_REST);
    assert_int_equal(fx.v[0].t, 250);
    assert_string_equal(fx.v[0].method, "GET");
    assert_string_equal(fx.v[0].path, "/guilds/5/members/7");
    assert_int_equal(fx.v[0].status, 404);
    assert_non_null(strstr(fx.v[0].data, "\"code\":10007"));
    assert_non_null(strstr(fx.v[0].data, "[REDACTED]"));
    assert_string_equal(fx.v[1].method, "POST");
    assert_int_equal(fx.v[1].status, 502);
    assert_string_equal(fx.v[1].data, "\"<html>bad gateway</html>\"");
    fixture_free(&fx);
    unlink(path);
}

static void test_immediate_answers_and_refusals(void **state)
{
    (void)state;
    dc_pending pending;
    dc_loop loop;
    recorder *rec = start(&loop, &pending);

    rest_response ok = { .status = 200, .body = "{\"id\":\"1\"}", .body_len = 10 };
    answer_at_once = 1;
    at_once_response = &ok;
    assert_int_equal(loop_rest(&loop, "GET", "/applications/@me", NULL, NULL, caller_done, NULL), DC_OK);
    assert_int_equal(calls, 1);
    assert_true(pending.next == &pending);

    answer_at_once = 0;
    refuse = 1;
    assert_int_equal(loop_rest(&loop, "GET", "/gateway/bot", NULL, NULL, caller_done, NULL), DC_ERR_NOMEM);
    assert_int_equal(calls, 1);                          /* no callback on a refused request */
    assert_true(pending.next == &pending);

    /* In flight at shutdown: unwrapped first, the answer passes unrecorded. */
    refuse = 0;
    assert_int_equal(loop_rest(&loop, "GET", "/late", NULL, NULL, caller_done, NULL), DC_OK);
    record_rest_unwrap();
    record_close(rec);
    rest_response late = { .status = 200, .body = "{}", .body_len = 2 };
    held_done(held_ctx, &late);
    assert_int_equal(calls, 2);
    assert_true(pending.next == &pending);

    fixture fx;
    char err[256];
    assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_OK);
    assert_int_equal(fx.n, 1);
    assert_string_equal(fx.v[0].path, "/applications/@me");
    fixture_free(&fx);
    unlink(path);
}

/* The daemon frees contexts still linked when the REST client cancels them. */
static void test_leftovers_are_freeable_through_the_link(void **state)
{
    (void)state;
    dc_pending pending;
    dc_loop loop;
    recorder *rec = start(&loop, &pending);
    assert_int_equal(loop_rest(&loop, "GET", "/never", NULL, NULL, caller_done, NULL), DC_OK);
    record_rest_unwrap();
    record_close(rec);
    int freed = 0;
    while (pending.next != &pending) {               /* as daemon_free_core does */
        dc_pending *p = pending.next;
        pending_del(p);
        free(p);
        freed++;
    }
    assert_int_equal(freed, 1);
    assert_int_equal(calls, 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_are_recorded_and_passed_on),
        cmocka_unit_test(test_immediate_answers_and_refusals),
        cmocka_unit_test(test_leftovers_are_freeable_through_the_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
