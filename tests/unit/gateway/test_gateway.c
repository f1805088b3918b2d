/* test_gateway.c - the gateway session driven with scripted payloads and
 * times; every test asserts the exact actions it hands back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "gateway/gateway.h"
#include "base/log.h"

#define TOKEN "MTIz.secret-token.XYZ"
#define GW_URL "wss://gateway.discord.gg"
#define RESUME_URL "wss://resume.discord.gg"
#define Q "/?v=10&encoding=json&compress=zlib-stream"

static char log_path[64];

/* ---- action capture (pointers expire, so copy) ---------------------------- */

typedef struct {
    gateway_action_kind kind;
    char url[256];
    char text[8192];
    int code, exit_status;
    dc_event ev;
    char event[64];
    int64_t seq;
    const cJSON *data;
} act;

static act A[512];
static int NA;

static int drain(gateway_session *gw)
{
    gateway_action a;
    NA = 0;
    while (gateway_next_action(gw, &a)) {
        assert_true(NA < 512);
        act *c = &A[NA++];
        memset(c, 0, sizeof *c);
        c->kind = a.kind;
        c->code = a.code;
        c->exit_status = a.exit_status;
        c->ev = a.ev;
        c->seq = a.seq;
        c->data = a.data;
        if (a.url)
            snprintf(c->url, sizeof c->url, "%s", a.url);
        if (a.text)
            snprintf(c->text, sizeof c->text, "%s", a.text);
        if (a.event)
            snprintf(c->event, sizeof c->event, "%s", a.event);
        if (a.kind == GW_ACT_SEND)
            assert_true(strlen(a.text) <= 4096);
    }
    return NA;
}

static int feed(gateway_session *gw, int64_t now, const char *json)
{
    cJSON *p = cJSON_Parse(json);
    assert_non_null(p);
    gateway_on_payload(gw, p, now);
    int n = drain(gw);
    cJSON_Delete(p);
    return n;
}

static int tick(gateway_session *gw, int64_t now)
{
    gateway_tick(gw, now);
    return drain(gw);
}

static int closed(gateway_session *gw, int code, int64_t now)
{
    gateway_on_closed(gw, code, now);
    return drain(gw);
}

/* Opcode of captured SEND i, and a parsed copy of it (caller deletes). */
static cJSON *sent(int i)
{
    assert_int_equal(A[i].kind, GW_ACT_SEND);
    cJSON *j = cJSON_Parse(A[i].text);
    assert_non_null(j);
    return j;
}

static int sent_op(int i)
{
    cJSON *j = sent(i);
    int op = cJSON_GetObjectItem(j, "op")->valueint;
    cJSON_Delete(j);
    return op;
}

/* Counts SENDs of opcode `op` among the captured actions, then ACKs any
 * heartbeat among them (after scanning: feeding replaces the capture). */
static int count_op_and_ack(gateway_session *gw, int64_t now, int op)
{
    int found = 0, beat = 0;
    for (int i = 0; i < NA; i++) {
        if (A[i].kind != GW_ACT_SEND)
            continue;
        int o = sent_op(i);
        found += o == op;
        beat |= o == 1;
    }
    if (beat)
        feed(gw, now, "{\"op\":11}");
    return found;
}

/* ---- scenario helpers ----------------------------------------------------- */

static gateway_config base_cfg(void)
{
    gateway_config c = { 0 };
    c.token = TOKEN;
    c.intents = 33283;
    c.shard_id = 0;
    c.shard_count = 1;
    c.gateway_url = GW_URL;
    c.compress = 1;
    c.seed = 42;
    return c;
}

static void expect_connect(gateway_session *gw, const char *url)
{
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].kind, GW_ACT_CONNECT);
    assert_string_equal(A[0].url, url);
    assert_int_equal(gateway_get_state(gw), GW_CONNECTING);
}

/* open + HELLO; returns the number of actions HELLO produced. */
static int open_hello(gateway_session *gw, int64_t now)
{
    gateway_on_open(gw, now);
    assert_int_equal(drain(gw), 0);
    assert_int_equal(gateway_get_state(gw), GW_WAIT_HELLO);
    return feed(gw, now, "{\"op\":10,\"d\":{\"heartbeat_interval\":45000}}");
}

/* start -> CONNECT -> open -> HELLO -> IDENTIFY -> READY (s=1) at t=1000. */
static gateway_session *ready_session(const gateway_config *cfg)
{
    gateway_session *gw = gateway_new(cfg);
    assert_non_null(gw);
    gateway_start(gw, 1000);
    drain(gw);
    expect_connect(gw, GW_URL Q);
    assert_int_equal(open_hello(gw, 1000), 1);
    assert_int_equal(sent_op(0), 2);
    assert_int_equal(gateway_get_state(gw), GW_IDENTIFYING);
    assert_int_equal(feed(gw, 1100, "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"sess1\","
                                    "\"resume_gateway_url\":\"" RESUME_URL "/\",\"v\":10}}"), 1);
    assert_int_equal(A[0].kind, GW_ACT_DISPATCH);
    assert_string_equal(A[0].event, "READY");
    assert_int_equal(A[0].ev, DC_EV_READY);      /* classified once, here */
    assert_int_equal(gateway_get_state(gw), GW_READY);
    assert_string_equal(gateway_session_id(gw), "sess1");
    assert_int_equal(gateway_seq(gw), 1);
    assert_int_equal(gateway_resumed(gw), 0);
    return gw;
}

/* After a close: tick at the deadline and expect a CONNECT to url. */
static int64_t reconnect_to(gateway_session *gw, const char *url)
{
    assert_int_equal(gateway_get_state(gw), GW_DISCONNECTED);
    int64_t t = gateway_next_deadline(gw);
    assert_true(t < INT64_MAX);
    tick(gw, t);
    expect_connect(gw, url);
    return t;
}

static void expect_resume(const char *session, int64_t seq)
{
    assert_int_equal(NA, 1);
    cJSON *j = sent(0);
    assert_int_equal(cJSON_GetObjectItem(j, "op")->valueint, 6);
    cJSON *d = cJSON_GetObjectItem(j, "d");
    assert_string_equal(cJSON_GetObjectItem(d, "token")->valuestring, TOKEN);
    assert_string_equal(cJSON_GetObjectItem(d, "session_id")->valuestring, session);
    assert_int_equal((int64_t)cJSON_GetObjectItem(d, "seq")->valuedouble, seq);
    cJSON_Delete(j);
}

static void expect_close_4000(gateway_session *gw, const char *reason_part)
{
    assert_int_equal(NA, 1);
    assert_int_equal(A[0].kind, GW_ACT_CLOSE);
    assert_int_equal(A[0].code, 4000);
    assert_non_null(strstr(A[0].text, reason_part));
    assert_int_equal(gateway_get_state(gw), GW_CLOSING);
}

/* ---- tests ---------------------------------------------------------------- */

static void identify_contents(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    c.token = "Bot " TOKEN; /* a pasted prefix is stripped */
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    expect_connect(gw, GW_URL Q);
    assert_int_equal(open_hello(gw, 0), 1);
    cJSON *j = sent(0);
    cJSON *d = cJSON_GetObjectItem(j, "d");
    assert_int_equal(cJSON_GetObjectItem(j, "op")->valueint, 2);
    assert_string_equal(cJSON_GetObjectItem(d, "token")->valuestring, TOKEN);
    assert_int_equal(cJSON_GetObjectItem(d, "intents")->valueint, 33283);
    assert_int_equal(cJSON_GetObjectItem(d, "large_threshold")->valueint, 250);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(d, "compress")));
    assert_null(cJSON_GetObjectItem(d, "shard"));
    cJSON *props = cJSON_GetObjectItem(d, "properties");
    assert_string_equal(cJSON_GetObjectItem(props, "os")->valuestring, "linux");
    assert_string_equal(cJSON_GetObjectItem(props, "browser")->valuestring, "discord-cleaner");
    assert_string_equal(cJSON_GetObjectItem(props, "device")->valuestring, "discord-cleaner");
    cJSON_Delete(j);
    gateway_free(gw);

    /* Sharded, uncompressed, base URL with a trailing slash. */
    c = base_cfg();
    c.shard_id = 2;
    c.shard_count = 4;
    c.compress = 0;
    c.gateway_url = GW_URL "/";
    gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    expect_connect(gw, GW_URL "/?v=10&encoding=json");
    open_hello(gw, 0);
    j = sent(0);
    cJSON *shard = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "d"), "shard");
    assert_int_equal(cJSON_GetArraySize(shard), 2);
    assert_int_equal(cJSON_GetArrayItem(shard, 0)->valueint, 2);
    assert_int_equal(cJSON_GetArrayItem(shard, 1)->valueint, 4);
    cJSON_Delete(j);
    assert_int_equal(gateway_shard_id(gw), 2);
    gateway_free(gw);

    /* Incomplete configuration is refused. */
    c = base_cfg();
    c.token = "";
    assert_null(gateway_new(&c));
    c = base_cfg();
    c.gateway_url = NULL;
    assert_null(gateway_new(&c));
}

static void heartbeat_cadence(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    int64_t firsts[8];
    for (int s = 0; s < 8; s++) {
        c.seed = (uint64_t)s * 7919;
        gateway_session *gw = gateway_new(&c);
        gateway_start(gw, 5000);
        drain(gw);
        open_hello(gw, 5000);
        int64_t first = gateway_next_deadline(gw);
        assert_true(first >= 5000 && first < 5000 + 45000);
        firsts[s] = first;
        /* Nothing before the deadline. */
        if (first > 5000)
            assert_int_equal(tick(gw, first - 1), 0);
        /* A dispatch sets the seq the beat carries. */
        feed(gw, first - 1 < 5000 ? 5000 : first - 1, "{\"op\":0,\"s\":5,\"t\":\"GUILD_CREATE\",\"d\":{}}");
        assert_int_equal(tick(gw, first), 1);
        cJSON *j = sent(0);
        assert_int_equal(cJSON_GetObjectItem(j, "op")->valueint, 1);
        assert_int_equal(cJSON_GetObjectItem(j, "d")->valueint, 5);
        cJSON_Delete(j);
        assert_int_equal(gateway_next_deadline(gw), first + 45000);
        feed(gw, first + 120, "{\"op\":11}");
        assert_int_equal(gateway_latency_ms(gw), 120);
        assert_int_equal(tick(gw, first + 45000), 1);
        assert_int_equal(sent_op(0), 1);
        assert_int_equal(gateway_next_deadline(gw), first + 90000);
        gateway_free(gw);
    }
    int distinct = 0;
    for (int s = 1; s < 8; s++)
        distinct += firsts[s] != firsts[0];
    assert_true(distinct > 0); /* jittered, not a constant */

    /* Before any dispatch the beat carries null. */
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    open_hello(gw, 0);
    assert_int_equal(gateway_latency_ms(gw), -1);
    tick(gw, gateway_next_deadline(gw));
    assert_string_equal(A[0].text, "{\"op\":1,\"d\":null}");
    gateway_free(gw);
}

static void op1_beats_at_once(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    int64_t beat = gateway_next_deadline(gw);
    assert_int_equal(feed(gw, 1200, "{\"op\":1,\"d\":null}"), 1);
    assert_string_equal(A[0].text, "{\"op\":1,\"d\":1}");
    /* No ACK ever came for it, yet the scheduled beat is a beat, not a zombie. */
    assert_int_equal(gateway_next_deadline(gw), beat);
    assert_int_equal(tick(gw, beat), 1);
    assert_int_equal(sent_op(0), 1);
    gateway_free(gw);
}

/* ACKs queued behind a long receive: the connection is alive while payloads
 * keep arriving, for GW_BACKLOG_BEATS (3) beats; then it is a zombie too. */
static void backlogged_connection_is_not_a_zombie(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    int64_t b = gateway_next_deadline(gw);
    assert_int_equal(tick(gw, b), 1);
    assert_int_equal(sent_op(0), 1);
    for (int i = 0; i < 3; i++) {
        feed(gw, b + 100, "{\"op\":0,\"s\":2,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{}}");
        b = gateway_next_deadline(gw);
        assert_int_equal(tick(gw, b), 1);
        assert_int_equal(sent_op(0), 1);          /* another beat, no close */
        assert_int_equal(gateway_get_state(gw), GW_READY);
    }
    feed(gw, b + 100, "{\"op\":0,\"s\":3,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{}}");
    tick(gw, gateway_next_deadline(gw));
    expect_close_4000(gw, "zombie");
    gateway_free(gw);
}

/* Issue #14 item 16: with a 250 ms interval (the sweep bench) a reader on a
 * busy machine fell four beats behind a member list and closed a live
 * connection as a zombie, aborting the sweep (exit 75).  A backlogged
 * connection now gets at least GW_BACKLOG_MIN_MS (10 s). */
static void short_interval_backlog_is_not_a_zombie(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 1000);
    drain(gw);
    gateway_on_open(gw, 1000);
    drain(gw);
    feed(gw, 1000, "{\"op\":10,\"d\":{\"heartbeat_interval\":250}}");
    feed(gw, 1010, "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"s\",\"v\":10}}");
    int64_t b = gateway_next_deadline(gw);
    assert_int_equal(tick(gw, b), 1);            /* the first beat; its ACK never comes */
    int64_t first = b;
    int seq = 2;
    char chunk[96];
    while (gateway_next_deadline(gw) - first < 10000) {   /* chunks keep coming, ACKs are behind them */
        snprintf(chunk, sizeof chunk, "{\"op\":0,\"s\":%d,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{}}", seq++);
        feed(gw, b + 100, chunk);
        b = gateway_next_deadline(gw);
        assert_int_equal(tick(gw, b), 1);
        assert_int_equal(sent_op(0), 1);          /* another beat, no close */
        assert_int_equal(gateway_get_state(gw), GW_READY);
    }
    snprintf(chunk, sizeof chunk, "{\"op\":0,\"s\":%d,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{}}", seq++);
    feed(gw, b + 100, chunk);
    tick(gw, gateway_next_deadline(gw));             /* 10 s behind: a zombie after all */
    expect_close_4000(gw, "zombie");
    gateway_free(gw);
}

static void zombie_closes_and_resumes(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    feed(gw, 1200, "{\"op\":0,\"s\":2,\"t\":\"MESSAGE_CREATE\",\"d\":{}}");
    int64_t b1 = gateway_next_deadline(gw);
    assert_int_equal(tick(gw, b1), 1);
    assert_int_equal(sent_op(0), 1);
    /* No op 11 before the next beat. */
    tick(gw, b1 + 45000);
    expect_close_4000(gw, "zombie");
    assert_int_equal(gateway_next_deadline(gw), INT64_MAX);
    assert_int_equal(closed(gw, 4000, b1 + 45100), 0);
    reconnect_to(gw, RESUME_URL Q);
    assert_int_equal(open_hello(gw, b1 + 47000), 1);
    expect_resume("sess1", 2);
    assert_int_equal(gateway_get_state(gw), GW_RESUMING);
    /* The ACK flag was reset: the new connection's first beat goes out. */
    int64_t nb = gateway_next_deadline(gw);
    assert_int_equal(tick(gw, nb), 1);
    assert_int_equal(sent_op(0), 1);
    gateway_free(gw);
}

static void op7_reconnects_and_resumes(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    feed(gw, 2000, "{\"op\":7,\"d\":null}");
    expect_close_4000(gw, "op 7");
    closed(gw, 4000, 2100);
    reconnect_to(gw, RESUME_URL Q);
    open_hello(gw, 4000);
    expect_resume("sess1", 1);
    gateway_free(gw);
}

static void op9_true_resumes(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    feed(gw, 2000, "{\"op\":9,\"d\":true}");
    expect_close_4000(gw, "invalid session");
    assert_string_equal(gateway_session_id(gw), "sess1");
    closed(gw, 4000, 2100);
    reconnect_to(gw, RESUME_URL Q);
    open_hello(gw, 4000);
    expect_resume("sess1", 1);
    gateway_free(gw);
}

static void op9_false_identifies_after_wait(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    for (uint64_t seed = 1; seed <= 20; seed++) {
        c.seed = seed;
        gateway_session *gw = ready_session(&c);
        /* A failed resume first, so the op 9 comes in RESUMING. */
        closed(gw, 1006, 2000);
        reconnect_to(gw, RESUME_URL Q);
        open_hello(gw, 3000);
        expect_resume("sess1", 1);
        feed(gw, 3100, "{\"op\":9,\"d\":false}");
        expect_close_4000(gw, "invalid session");
        assert_null(gateway_session_id(gw));
        assert_null(gateway_resume_url(gw));
        assert_int_equal(gateway_seq(gw), -1);
        closed(gw, 4000, 3200);
        int64_t wait = gateway_next_deadline(gw) - 3200;
        assert_true(wait >= 1000 && wait <= 5000);
        reconnect_to(gw, GW_URL Q);
        assert_int_equal(open_hello(gw, 9000), 1);
        assert_int_equal(sent_op(0), 2);
        gateway_free(gw);
    }
}

/* READY named a resume URL the owner will not use (plain ws:// to a remote
 * host): after op 7 that is a failed resume, never a fatal 78. */
static void refused_resume_url_identifies(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    feed(gw, 2000, "{\"op\":7,\"d\":null}");
    expect_close_4000(gw, "op 7");
    closed(gw, 4000, 2100);
    int64_t t = reconnect_to(gw, RESUME_URL Q);
    gateway_on_url_refused(gw, "refusing plain ws://", t);
    drain(gw);
    expect_connect(gw, GW_URL Q);           /* at once, no FATAL */
    assert_null(gateway_session_id(gw));
    assert_null(gateway_resume_url(gw));
    assert_int_equal(gateway_seq(gw), -1);
    assert_int_equal(open_hello(gw, t), 1);
    assert_int_equal(sent_op(0), 2);        /* IDENTIFY */
    gateway_free(gw);

    /* The configured gateway URL refused: that one is the operator's, 78. */
    gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    gateway_on_url_refused(gw, "gateway URL is not a ws:// or wss:// URL", 0);
    assert_int_equal(drain(gw), 1);
    assert_int_equal(A[0].kind, GW_ACT_FATAL);
    assert_int_equal(A[0].exit_status, 78);
    assert_int_equal(gateway_get_state(gw), GW_STOPPED);
    gateway_free(gw);
}

/* One failed connect to the resume URL: the next resumes at the gateway URL. */
static void unreachable_resume_url_falls_back(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    closed(gw, 1006, 2000);
    int64_t t = reconnect_to(gw, RESUME_URL Q);
    assert_int_equal(closed(gw, -1, t + 5), 0);   /* connect failed */
    assert_null(gateway_resume_url(gw));
    assert_string_equal(gateway_session_id(gw), "sess1");
    t = reconnect_to(gw, GW_URL Q);
    open_hello(gw, t);
    expect_resume("sess1", 1);
    /* A connection that opened and then failed keeps the URL it has. */
    feed(gw, t + 10, "{\"op\":0,\"s\":2,\"t\":\"RESUMED\",\"d\":null}");
    gateway_free(gw);

    gw = ready_session(&c);
    closed(gw, 1006, 2000);
    t = reconnect_to(gw, RESUME_URL Q);
    open_hello(gw, t);
    closed(gw, 1006, t + 10);
    assert_string_equal(gateway_resume_url(gw), RESUME_URL "/");
    gateway_free(gw);
}

static void resume_close_codes(void **state)
{
    (void)state;
    const int codes[] = { 4000, 4001, 4002, 1000, 1001, 1006, -1, 4006 };
    gateway_config c = base_cfg();
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        gateway_session *gw = ready_session(&c);
        assert_int_equal(closed(gw, codes[i], 2000), 0);
        reconnect_to(gw, RESUME_URL Q);
        open_hello(gw, 9000);
        expect_resume("sess1", 1);
        gateway_free(gw);
    }
}

static void identify_close_codes(void **state)
{
    (void)state;
    const int codes[] = { 4003, 4005, 4007, 4008, 4009 };
    gateway_config c = base_cfg();
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        gateway_session *gw = ready_session(&c);
        assert_int_equal(closed(gw, codes[i], 2000), 0);
        assert_null(gateway_session_id(gw));
        reconnect_to(gw, GW_URL Q);
        assert_int_equal(open_hello(gw, 9000), 1);
        assert_int_equal(sent_op(0), 2);
        gateway_free(gw);
    }
}

static void fatal_close_codes(void **state)
{
    (void)state;
    const struct { int code, status; const char *text; } cases[] = {
        { 4004, 77, "token" }, { 4010, 78, "shard" }, { 4011, 78, "sharding required" },
        { 4012, 70, "version" }, { 4013, 78, "intents" }, { 4014, 78, "Privileged Gateway Intents" },
    };
    gateway_config c = base_cfg();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gateway_session *gw = ready_session(&c);
        assert_int_equal(closed(gw, cases[i].code, 2000), 1);
        assert_int_equal(A[0].kind, GW_ACT_FATAL);
        assert_int_equal(A[0].code, cases[i].code);
        assert_int_equal(A[0].exit_status, cases[i].status);
        assert_non_null(strstr(A[0].text, cases[i].text));
        assert_int_equal(gateway_get_state(gw), GW_STOPPED);
        assert_int_equal(gateway_next_deadline(gw), INT64_MAX);
        assert_int_equal(tick(gw, 999999), 0);
        gateway_free(gw);
    }
}

static void resume_attempts_capped(void **state)
{
    (void)state;
    gateway_config c = base_cfg(); /* max_resume_attempts 0 = 3 */
    gateway_session *gw = ready_session(&c);
    int64_t t = 2000;
    closed(gw, 1006, t);
    for (int attempt = 1; attempt <= 3; attempt++) {
        t = reconnect_to(gw, RESUME_URL Q);
        open_hello(gw, t);
        expect_resume("sess1", 1);
        closed(gw, 1006, t + 10); /* the resume never completes */
    }
    assert_null(gateway_session_id(gw));
    t = reconnect_to(gw, GW_URL Q);
    assert_int_equal(open_hello(gw, t), 1);
    assert_int_equal(sent_op(0), 2);
    gateway_free(gw);
}

static void backoff_grows_and_resets(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    int64_t now = 0, base = 1000;
    for (int k = 0; k < 10; k++) {
        closed(gw, -1, now); /* connection attempt failed */
        int64_t delay = gateway_next_deadline(gw) - now;
        assert_true(delay >= base / 2 && delay <= base);
        assert_true(delay <= 60000);
        now += delay;
        tick(gw, now);
        expect_connect(gw, GW_URL Q);
        base = base * 2 > 60000 ? 60000 : base * 2;
    }
    /* Reaching READY resets the backoff. */
    open_hello(gw, now);
    feed(gw, now, "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"s\"}}");
    closed(gw, 1006, now + 1);
    int64_t delay = gateway_next_deadline(gw) - (now + 1);
    assert_true(delay >= 500 && delay <= 1000);
    gateway_free(gw);
}

static void session_start_limit_waits(void **state)
{
    (void)state;
    gateway_identify_budget b = { .remaining = 0, .total = 1000, .reset_at_ms = 100000, .max_concurrency = 1 };
    gateway_config c = base_cfg();
    c.budget = &b;
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 1000);
    assert_int_equal(drain(gw), 0); /* no point connecting yet */
    assert_int_equal(gateway_next_deadline(gw), 100000);
    assert_int_equal(tick(gw, 99999), 0);
    tick(gw, 100000);
    expect_connect(gw, GW_URL Q);
    assert_int_equal(open_hello(gw, 100100), 1);
    assert_int_equal(sent_op(0), 2);
    assert_int_equal(b.remaining, 999);
    assert_int_equal(b.last_identify_ms[0], 100100);
    gateway_free(gw);

    /* Exhausted between connect and HELLO: wait while connected. */
    gateway_identify_budget b2 = { .remaining = 5, .total = 0, .reset_at_ms = 50000, .max_concurrency = 1 };
    c.budget = &b2;
    gw = gateway_new(&c);
    gateway_start(gw, 1000);
    drain(gw);
    b2.remaining = 0;
    assert_int_equal(open_hello(gw, 1100), 0);
    assert_int_equal(gateway_get_state(gw), GW_IDENTIFYING);
    int64_t identified_at = -1;
    for (int64_t t = gateway_next_deadline(gw); t <= 50000 && identified_at < 0; t = gateway_next_deadline(gw)) {
        tick(gw, t);
        if (count_op_and_ack(gw, t, 2))
            identified_at = t;
    }
    assert_int_equal(identified_at, 50000);
    gateway_free(gw);
}

static void max_concurrency_waits(void **state)
{
    (void)state;
    gateway_identify_budget b = { .remaining = 100, .total = 1000, .reset_at_ms = 1 << 30, .max_concurrency = 2 };
    gateway_config c = base_cfg();
    c.budget = &b;
    c.shard_count = 4;
    c.shard_id = 2; /* key 0 */
    gateway_session *gw = gateway_new(&c);
    c.shard_id = 1; /* key 1: not affected by key 0 */
    gateway_session *other = gateway_new(&c);
    gateway_start(gw, 1000);
    drain(gw);
    gateway_start(other, 1000);
    drain(other);
    b.last_identify_ms[0] = 2000; /* shard 0 identified meanwhile */
    assert_int_equal(open_hello(gw, 2200), 0);
    assert_int_equal(gateway_get_state(gw), GW_IDENTIFYING);
    assert_int_equal(open_hello(other, 2200), 1);
    assert_int_equal(sent_op(0), 2);
    int64_t identified_at = -1;
    while (identified_at < 0) {
        int64_t t = gateway_next_deadline(gw);
        assert_true(t <= 7000);
        tick(gw, t);
        if (count_op_and_ack(gw, t, 2))
            identified_at = t;
    }
    assert_int_equal(identified_at, 7000);
    assert_int_equal(b.remaining, 98);
    assert_int_equal(b.last_identify_ms[0], 7000);
    assert_int_equal(b.last_identify_ms[1], 2200);
    gateway_free(gw);
    gateway_free(other);
}

/* identify_lock: the IDENTIFY waits for the owner's bucket lock
 * (GW_ACT_IDENTIFY_LOCK, bucket = shard_id % max_concurrency); refused, it
 * is asked again GW_IDENTIFY_LOCK_RETRY_MS later; an answer for a
 * connection that is gone sends nothing. */
static void identify_waits_for_the_bucket_lock(void **state)
{
    (void)state;
    gateway_identify_budget b = { .remaining = 100, .total = 1000, .reset_at_ms = 1 << 30, .max_concurrency = 4 };
    gateway_config c = base_cfg();
    c.budget = &b;
    c.shard_count = 16;
    c.shard_id = 6;
    c.identify_lock = 1;
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 1000);
    drain(gw);
    assert_int_equal(open_hello(gw, 1000), 1);
    assert_int_equal(A[0].kind, GW_ACT_IDENTIFY_LOCK);
    assert_int_equal(A[0].code, 2);                         /* 6 % 4 */
    assert_int_equal(gateway_get_state(gw), GW_IDENTIFYING);
    assert_int_equal(tick(gw, 1100), 0);                    /* asked once, not again meanwhile */
    gateway_on_identify_lock(gw, 0, 1200);                  /* another process has it */
    assert_int_equal(drain(gw), 0);
    assert_int_equal(gateway_next_deadline(gw), 1200 + GW_IDENTIFY_LOCK_RETRY_MS);
    assert_int_equal(tick(gw, 1200 + GW_IDENTIFY_LOCK_RETRY_MS), 1);
    assert_int_equal(A[0].kind, GW_ACT_IDENTIFY_LOCK);
    gateway_on_identify_lock(gw, 1, 1500);
    assert_int_equal(drain(gw), 1);
    assert_int_equal(sent_op(0), 2);
    assert_int_equal(b.last_identify_ms[2], 1500);
    gateway_free(gw);

    /* The connection closed while the owner was asked: its answer is stale. */
    b.last_identify_ms[2] = 0;
    gw = gateway_new(&c);
    gateway_start(gw, 1000);
    drain(gw);
    assert_int_equal(open_hello(gw, 1000), 1);
    assert_int_equal(A[0].kind, GW_ACT_IDENTIFY_LOCK);
    closed(gw, 4000, 1100);
    gateway_on_identify_lock(gw, 1, 1150);
    for (int i = drain(gw) - 1; i >= 0; i--)
        assert_int_not_equal(A[i].kind, GW_ACT_SEND);
    gateway_free(gw);
}

static void hello_timeout_reconnects(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    c.hello_timeout_ms = 0; /* default 20 s */
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 1000);
    drain(gw);
    gateway_on_open(gw, 1000);
    assert_int_equal(gateway_next_deadline(gw), 21000);
    assert_int_equal(tick(gw, 20999), 0);
    tick(gw, 21000);
    expect_close_4000(gw, "HELLO");
    closed(gw, 4000, 21010);
    reconnect_to(gw, GW_URL Q);
    gateway_free(gw);
}

static void dispatches_during_resume_kept_in_order(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    feed(gw, 1500, "{\"op\":0,\"s\":3,\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"1\"}}");
    closed(gw, 1006, 2000);
    reconnect_to(gw, RESUME_URL Q);
    open_hello(gw, 4000);
    expect_resume("sess1", 3);
    const char *replay[] = {
        "{\"op\":0,\"s\":4,\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"1\",\"user\":{\"id\":\"9\"}}}",
        "{\"op\":0,\"s\":5,\"t\":\"GUILD_MEMBER_ADD\",\"d\":{\"guild_id\":\"1\"}}",
        "{\"op\":0,\"s\":6,\"t\":\"SOMETHING_NEW\",\"d\":null}",
        "{\"op\":0,\"s\":7,\"t\":\"RESUMED\",\"d\":{}}",
    };
    const char *names[] = { "GUILD_MEMBER_REMOVE", "GUILD_MEMBER_ADD", "SOMETHING_NEW", "RESUMED" };
    const dc_event kinds[] = { DC_EV_GUILD_MEMBER_REMOVE, DC_EV_GUILD_MEMBER_ADD, DC_EV_UNKNOWN, DC_EV_RESUMED };
    for (int i = 0; i < 4; i++) {
        cJSON *p = cJSON_Parse(replay[i]);
        gateway_on_payload(gw, p, 4100 + i);
        gateway_action a;
        assert_int_equal(gateway_next_action(gw, &a), 1);
        assert_int_equal(a.kind, GW_ACT_DISPATCH);
        assert_string_equal(a.event, names[i]);
        assert_int_equal(a.ev, kinds[i]);        /* a name events.def lacks: UNKNOWN */
        assert_int_equal(a.seq, 4 + i);
        /* data points into the payload; null data is NULL */
        if (i == 2)
            assert_null(a.data);
        else
            assert_ptr_equal(a.data, cJSON_GetObjectItem(p, "d"));
        assert_int_equal(gateway_next_action(gw, &a), 0);
        assert_int_equal(gateway_get_state(gw), i < 3 ? GW_RESUMING : GW_READY);
        cJSON_Delete(p);
    }
    assert_int_equal(gateway_seq(gw), 7);
    assert_int_equal(gateway_resumed(gw), 1);
    gateway_free(gw);
}

static void bad_payloads_survived(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    gateway_on_open(gw, 0);
    const char *bad[] = {
        "[1,2,3]", "{}", "{\"op\":\"10\"}", "{\"op\":null}", "{\"op\":10}",
        "{\"op\":10,\"d\":\"nope\"}", "{\"op\":10,\"d\":{\"heartbeat_interval\":\"x\"}}",
        "{\"op\":10,\"d\":{\"heartbeat_interval\":-5}}", "{\"op\":0,\"t\":5,\"s\":2}",
        "{\"op\":0,\"s\":\"x\",\"t\":null}", "{\"op\":11,\"d\":[]}", "{\"op\":1e300}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = feed(gw, 10, bad[i]);
        assert_int_equal(gateway_get_state(gw), GW_WAIT_HELLO);
        if (strstr(bad[i], "\"op\":11") == NULL)
            assert_int_equal(n, 0);
    }
    gateway_on_payload(gw, NULL, 10);
    assert_int_equal(drain(gw), 0);
    assert_int_equal(gateway_seq(gw), 2); /* the nameless dispatch's s still counted */
    /* A proper HELLO still works afterwards. */
    assert_int_equal(feed(gw, 20, "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}"), 1);
    assert_int_equal(sent_op(0), 2);
    /* READY with a d of the wrong type: dispatched, no state change. */
    assert_int_equal(feed(gw, 30, "{\"op\":0,\"s\":3,\"t\":\"READY\",\"d\":[1]}"), 1);
    assert_int_equal(gateway_get_state(gw), GW_IDENTIFYING);
    /* op 9 with a non-boolean d is treated as "not resumable". */
    feed(gw, 40, "{\"op\":9,\"d\":\"maybe\"}");
    expect_close_4000(gw, "invalid session");
    gateway_free(gw);
}

static void unknown_op_skipped(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    int64_t dl = gateway_next_deadline(gw);
    assert_int_equal(feed(gw, 1200, "{\"op\":42,\"d\":{}}"), 0);
    assert_int_equal(feed(gw, 1200, "{\"op\":2,\"d\":{}}"), 0);
    assert_int_equal(feed(gw, 1200, "{\"op\":5}"), 0);
    assert_int_equal(gateway_get_state(gw), GW_READY);
    assert_int_equal(gateway_next_deadline(gw), dl);
    gateway_free(gw);
}

static void bad_frame_reconnects_to_resume(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    gateway_on_bad_frame(gw, "corrupt zlib stream", 1500);
    drain(gw);
    expect_close_4000(gw, "bad frame");
    closed(gw, 4000, 1600);
    reconnect_to(gw, RESUME_URL Q);
    open_hello(gw, 3000);
    expect_resume("sess1", 1);
    gateway_free(gw);
}

/* A bad frame in the replay of a RESUME (an oversized event) would come
 * back on every resume: the session is dropped and the next connection
 * identifies at once. */
static void bad_frame_in_replay_identifies(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    gateway_on_bad_frame(gw, "inflated message exceeds 65536 bytes", 1500);
    drain(gw);
    expect_close_4000(gw, "bad frame");
    closed(gw, 4000, 1600);
    reconnect_to(gw, RESUME_URL Q);
    open_hello(gw, 3000);
    expect_resume("sess1", 1);
    gateway_on_bad_frame(gw, "inflated message exceeds 65536 bytes", 3100);
    drain(gw);
    expect_close_4000(gw, "replay");
    assert_null(gateway_session_id(gw));
    assert_int_equal(gateway_seq(gw), -1);
    closed(gw, 4000, 3200);
    reconnect_to(gw, GW_URL Q);
    assert_int_equal(open_hello(gw, 9000), 1);
    assert_int_equal(sent_op(0), 2);            /* IDENTIFY, not a third RESUME */
    gateway_free(gw);
}

static void payload_size_limit(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "op", 3);
    cJSON_AddStringToObject(p, "d", big);
    assert_int_equal(gateway_send_app(gw, p, 2000), DC_ERR_PROTO);
    assert_int_equal(drain(gw), 0);
    cJSON_Delete(p);
    /* Exactly 4096 bytes is allowed. */
    p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "op", 3);
    big[4096 - 15] = '\0'; /* {"op":3,"d":"..."} has 15 bytes of framing */
    cJSON_AddStringToObject(p, "d", big);
    char *text = cJSON_PrintUnformatted(p);
    assert_int_equal(strlen(text), 4096);
    free(text);
    assert_int_equal(gateway_send_app(gw, p, 2000), DC_OK);
    assert_int_equal(drain(gw), 1);
    assert_int_equal(strlen(A[0].text), 4096);
    cJSON_Delete(p);
    gateway_free(gw);

    /* An IDENTIFY that cannot fit (absurd token) is fatal, not a loop. */
    memset(big, 'T', 4999);
    big[4999] = '\0';
    c.token = big;
    gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    assert_int_equal(open_hello(gw, 0), 1);
    assert_int_equal(A[0].kind, GW_ACT_FATAL);
    assert_int_equal(A[0].exit_status, 78);
    assert_null(strstr(A[0].text, "TTTT"));
    assert_int_equal(gateway_get_state(gw), GW_STOPPED);
    gateway_free(gw);
    free(big);
}

static void op8_queue_budget(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = gateway_new(&c);
    assert_int_equal(gateway_request_members(gw, 123, "n", 0), DC_ERR_BUSY); /* not connected */
    gateway_free(gw);

    gw = ready_session(&c);
    assert_int_equal(gateway_request_members(gw, 0, "n", 1200), DC_ERR_USAGE);
    assert_int_equal(gateway_request_members(gw, 1, "123456789012345678901234567890123", 1200), DC_ERR_USAGE);
    assert_int_equal(drain(gw), 0);
    int sent8 = 0;
    for (int i = 0; i < 115; i++) {
        char nonce[33];
        snprintf(nonce, sizeof nonce, "sweep-%d", i);
        assert_int_equal(gateway_request_members(gw, UINT64_C(81384788765712384) + (uint64_t)i, nonce, 1200), DC_OK);
        sent8 += drain(gw);
    }
    assert_int_equal(sent8, 110);
    /* Contents of the first one. */
    gateway_request_members(gw, 5, NULL, 1200);
    assert_int_equal(drain(gw), 0); /* queued */
    int64_t first_free = 1200 + 60000;
    /* Heartbeats still fit while op 8 waits. */
    int beats = 0, later8 = 0;
    int64_t now = 1200;
    for (int64_t t = gateway_next_deadline(gw); t <= first_free; t = gateway_next_deadline(gw)) {
        now = t > now ? t : now; /* a beat may have been due before 1200 */
        tick(gw, now);
        for (int i = 0; i < NA; i++)
            beats += sent_op(i) == 1;
        int n8 = count_op_and_ack(gw, now, 8);
        if (n8)
            assert_int_equal(now, first_free);
        later8 += n8;
    }
    assert_true(beats >= 1);
    assert_int_equal(later8, 6);
    assert_int_equal(gateway_next_deadline(gw) > first_free, 1);
    gateway_free(gw);

    /* The payload itself. */
    gw = ready_session(&c);
    assert_int_equal(gateway_request_members(gw, UINT64_C(18446744073709551615), "abc", 1200), DC_OK);
    assert_int_equal(drain(gw), 1);
    cJSON *j = sent(0);
    cJSON *d = cJSON_GetObjectItem(j, "d");
    assert_int_equal(cJSON_GetObjectItem(j, "op")->valueint, 8);
    assert_string_equal(cJSON_GetObjectItem(d, "guild_id")->valuestring, "18446744073709551615");
    assert_string_equal(cJSON_GetObjectItem(d, "query")->valuestring, "");
    assert_int_equal(cJSON_GetObjectItem(d, "limit")->valueint, 0);
    assert_string_equal(cJSON_GetObjectItem(d, "nonce")->valuestring, "abc");
    cJSON_Delete(j);
    gateway_free(gw);
}

static void op8_waits_for_ready(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = gateway_new(&c);
    gateway_start(gw, 0);
    drain(gw);
    open_hello(gw, 0);
    assert_int_equal(gateway_request_members(gw, 7, "x", 10), DC_OK);
    assert_int_equal(drain(gw), 0);
    assert_int_equal(feed(gw, 20, "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"session_id\":\"s\"}}"), 2);
    assert_int_equal(A[0].kind, GW_ACT_DISPATCH);
    assert_int_equal(sent_op(1), 8);
    gateway_free(gw);
}

static void restore_resumes_first(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = gateway_new(&c);
    gateway_restore(gw, "sessR", 77, "wss://r.example.com/");
    assert_int_equal(gateway_next_deadline(gw), INT64_MAX); /* not started */
    gateway_start(gw, 0);
    drain(gw);
    expect_connect(gw, "wss://r.example.com" Q);
    open_hello(gw, 10);
    expect_resume("sessR", 77);
    assert_int_equal(gateway_get_state(gw), GW_RESUMING);
    gateway_free(gw);

    /* Without a resume URL: resume at the gateway URL. */
    gw = gateway_new(&c);
    gateway_restore(gw, "sessR", 5, NULL);
    gateway_start(gw, 0);
    drain(gw);
    expect_connect(gw, GW_URL Q);
    open_hello(gw, 10);
    expect_resume("sessR", 5);
    gateway_free(gw);
}

static void shutdown_keeps_session(void **state)
{
    (void)state;
    gateway_config c = base_cfg();
    gateway_session *gw = ready_session(&c);
    gateway_shutdown(gw, 5000);
    assert_int_equal(drain(gw), 1);
    assert_int_equal(A[0].kind, GW_ACT_CLOSE);
    assert_int_not_equal(A[0].code, 1000);
    assert_int_not_equal(A[0].code, 1001);
    assert_int_equal(A[0].code, 4000);
    closed(gw, 4000, 5100);
    assert_int_equal(NA, 0);
    assert_int_equal(gateway_get_state(gw), GW_STOPPED);
    assert_string_equal(gateway_session_id(gw), "sess1");
    assert_int_equal(gateway_next_deadline(gw), INT64_MAX);
    gateway_free(gw);

    /* Shutdown while waiting to reconnect stops at once. */
    gw = ready_session(&c);
    closed(gw, 1006, 2000);
    gateway_shutdown(gw, 2001);
    assert_int_equal(drain(gw), 0);
    assert_int_equal(gateway_get_state(gw), GW_STOPPED);
    gateway_free(gw);
}

static void state_names(void **state)
{
    (void)state;
    assert_string_equal(gateway_state_name(GW_READY), "READY");
    assert_string_equal(gateway_state_name(GW_CLOSING), "CLOSING");
    assert_string_equal(gateway_state_name((gateway_state)99), "UNKNOWN");
}

/* Runs last: nothing above may have written the token to the log. */
static void token_never_logged(void **state)
{
    (void)state;
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_true(n > 0);
    assert_non_null(strstr(buf, "gateway: shard 0:"));
    assert_null(strstr(buf, "secret-token"));
}

static int setup_log(void **state)
{
    (void)state;
    snprintf(log_path, sizeof log_path, "/tmp/test_gateway.%d.log", (int)getpid());
    return log_open(log_path, DCL_DEBUG, 0) == DC_OK ? 0 : -1;
}

static int teardown_log(void **state)
{
    (void)state;
    log_close();
    unlink(log_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(identify_contents),
        cmocka_unit_test(heartbeat_cadence),
        cmocka_unit_test(op1_beats_at_once),
        cmocka_unit_test(zombie_closes_and_resumes),
        cmocka_unit_test(backlogged_connection_is_not_a_zombie),
        cmocka_unit_test(short_interval_backlog_is_not_a_zombie),
        cmocka_unit_test(op7_reconnects_and_resumes),
        cmocka_unit_test(op9_true_resumes),
        cmocka_unit_test(op9_false_identifies_after_wait),
        cmocka_unit_test(resume_close_codes),
        cmocka_unit_test(refused_resume_url_identifies),
        cmocka_unit_test(unreachable_resume_url_falls_back),
        cmocka_unit_test(identify_close_codes),
        cmocka_unit_test(fatal_close_codes),
        cmocka_unit_test(resume_attempts_capped),
        cmocka_unit_test(backoff_grows_and_resets),
        cmocka_unit_test(session_start_limit_waits),
        cmocka_unit_test(identify_waits_for_the_bucket_lock),
        cmocka_unit_test(max_concurrency_waits),
        cmocka_unit_test(hello_timeout_reconnects),
        cmocka_unit_test(dispatches_during_resume_kept_in_order),
        cmocka_unit_test(bad_payloads_survived),
        cmocka_unit_test(unknown_op_skipped),
        cmocka_unit_test(bad_frame_reconnects_to_resume),
        cmocka_unit_test(bad_frame_in_replay_identifies),
        cmocka_unit_test(payload_size_limit),
        cmocka_unit_test(op8_queue_budget),
        cmocka_unit_test(op8_waits_for_ready),
        cmocka_unit_test(restore_resumes_first),
        cmocka_unit_test(shutdown_keeps_session),
        cmocka_unit_test(state_names),
        cmocka_unit_test(token_never_logged),
    };
    return cmocka_run_group_tests(tests, setup_log, teardown_log);
}
