/* test_fakediscord.c - the loopback Discord double answers like Discord:
 * REST auth/pagination/errors/429s, HELLO -> IDENTIFY -> READY ->
 * GUILD_CREATE, heartbeat ACKs, op 8 chunking and its rate limit,
 * zlib-stream framing, RESUME replay, and the fatal close codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "fake_client.h"

#define TIMEOUT_MS 20000
#define DEMO_GUILD "1000000000000000001"
#define IDENTIFY_FMT "{\"op\":2,\"d\":{\"token\":\"%s\",\"intents\":%d," \
	"\"properties\":{\"os\":\"linux\",\"browser\":\"t\",\"device\":\"t\"}}}"

static int setup(void **state)
{
	static fd_proc proc;
	static const char *const args[] = { "--demo", NULL };
	if (fd_start(&proc, args) != 0)
		return -1;
	*state = &proc;
	return 0;
}

static int teardown(void **state)
{
	fd_proc *p = *state;
	fd_stop(p);
	/* SIGTERM must end the server cleanly (exit 0; 99 = valgrind errors). */
	return p->exit_status == 0 ? 0 : -1;
}

static const char *str_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItem(j, a);
	if (b)
		x = cJSON_GetObjectItem(x, b);
	return cJSON_GetStringValue(x);
}

static double num_at(const cJSON *j, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItem(j, a);
	if (b)
		x = cJSON_GetObjectItem(x, b);
	assert_true(cJSON_IsNumber(x));
	return x->valuedouble;
}

static void send_json(fd_ws *ws, const char *json)
{
	assert_int_equal(fd_ws_send_text(ws, json, strlen(json)), 0);
}

static void identify(fd_ws *ws, const char *token, int intents)
{
	char buf[512];
	snprintf(buf, sizeof buf, IDENTIFY_FMT, token, intents);
	send_json(ws, buf);
}

/* Connects, checks HELLO, identifies; returns READY (caller frees). */
static cJSON *connect_ready(fd_proc *p, fd_ws *ws, const char *query, int intents)
{
	assert_int_equal(fd_ws_connect(ws, p->port, query), 0);
	cJSON *hello = fd_ws_recv(ws, TIMEOUT_MS);
	assert_non_null(hello);
	assert_int_equal((int)num_at(hello, "op", NULL), 10);
	assert_int_equal((int)num_at(hello, "d", "heartbeat_interval"), 41250);
	cJSON_Delete(hello);
	identify(ws, "test-token", intents);
	cJSON *ready = fd_ws_wait(ws, "READY", 0, TIMEOUT_MS);
	assert_non_null(ready);
	return ready;
}

static void expect_close(fd_ws *ws, int code)
{
	cJSON *j;
	while ((j = fd_ws_recv(ws, TIMEOUT_MS)) != NULL)
		cJSON_Delete(j);
	assert_true(ws->closed);
	assert_int_equal(ws->close_code, code);
}

/* ---- REST ------------------------------------------------------------------ */

static void test_rest_auth_and_user(void **state)
{
	fd_proc *p = *state;
	long status;
	cJSON *me = fd_request(p, "GET", "/api/v10/users/@me", NULL, "test-token", &status, NULL);
	assert_int_equal(status, 200);
	assert_string_equal(str_at(me, "id", NULL), "1000000000000000999");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(me, "bot")));
	cJSON_Delete(me);

	cJSON *no = fd_request(p, "GET", "/api/v10/users/@me", NULL, NULL, &status, NULL);
	assert_int_equal(status, 401);
	assert_string_equal(str_at(no, "message", NULL), "401: Unauthorized");
	cJSON_Delete(no);
	cJSON *bad = fd_request(p, "GET", "/api/v10/users/@me", NULL, "wrong", &status, NULL);
	assert_int_equal(status, 401);
	cJSON_Delete(bad);

	/* The request log says whether auth came, never the token. */
	cJSON *log = fd_get(p, "/_control/requests?since=0");
	assert_int_equal(cJSON_GetArraySize(log), 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "auth")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 1), "auth")));
	char *text = cJSON_PrintUnformatted(log);
	assert_null(strstr(text, "test-token"));
	free(text);
	cJSON_Delete(log);
}

#define APPCMDS "/api/v10/applications/1000000000000000999/commands"

/* One REST call on the application's commands; returns the answer. */
static cJSON *appcmd(fd_proc *p, const char *method, const char *path, const char *body, long want)
{
	long status = 0;
	cJSON *j = fd_request(p, method, path, body, "test-token", &status, NULL);
	assert_int_equal(status, want);
	return j;
}

static int appcmd_calls(fd_proc *p, const char *method)
{
	cJSON *l = fd_get(p, "/_control/app_commands");
	int n = (int)num_at(l, "calls", method);
	cJSON_Delete(l);
	return n;
}

/* Create (201), upsert by name (200, same id), get, patch, delete (204),
 * bulk overwrite (deletes what the body leaves out), normalisation, errors,
 * a seeded foreign command and the per-method counters. */
static void test_rest_application_commands(void **state)
{
	fd_proc *p = *state;
	char path[160];
	cJSON *l = appcmd(p, "GET", APPCMDS, NULL, 200);
	assert_int_equal(cJSON_GetArraySize(l), 0);
	cJSON_Delete(l);
	cJSON *c = appcmd(p, "POST", APPCMDS, "{\"name\":\"cleanup\",\"description\":\"d1\",\"type\":1,"
	                  "\"default_member_permissions\":\"8\",\"contexts\":[0],\"options\":[{\"type\":1,"
	                  "\"name\":\"users\",\"description\":\"u\",\"options\":[{\"type\":5,\"name\":\"force\","
	                  "\"description\":\"f\",\"required\":false}]},{\"type\":1,\"name\":\"test\","
	                  "\"description\":\"t\",\"options\":[]}]}", 201);
	char id[32];
	snprintf(id, sizeof id, "%s", str_at(c, "id", NULL));
	assert_string_equal(str_at(c, "application_id", NULL), "1000000000000000999");
	assert_string_equal(str_at(c, "default_member_permissions", NULL), "8");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(c, "dm_permission")));   /* contexts [0]: guild only */
	cJSON *users = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "options"), 0);
	cJSON *force = cJSON_GetArrayItem(cJSON_GetObjectItem(users, "options"), 0);
	assert_null(cJSON_GetObjectItem(force, "required"));                  /* false is left out */
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "options"), 1), "options"));
	cJSON_Delete(c);

	/* the same name again: an overwrite of that command, 200 */
	c = appcmd(p, "POST", APPCMDS, "{\"name\":\"cleanup\",\"description\":\"d2\"}", 200);
	assert_string_equal(str_at(c, "id", NULL), id);
	assert_string_equal(str_at(c, "description", NULL), "d2");
	cJSON_Delete(c);
	snprintf(path, sizeof path, APPCMDS "/%s", id);
	c = appcmd(p, "PATCH", path, "{\"description\":\"d3\",\"default_member_permissions\":\"32\"}", 200);
	assert_string_equal(str_at(c, "description", NULL), "d3");
	assert_string_equal(str_at(c, "default_member_permissions", NULL), "32");
	assert_string_equal(str_at(c, "name", NULL), "cleanup");
	cJSON_Delete(c);
	c = appcmd(p, "GET", path, NULL, 200);
	assert_string_equal(str_at(c, "description", NULL), "d3");
	cJSON_Delete(c);

	/* refusals: a bad name, no description, another app, an unknown id */
	cJSON_Delete(appcmd(p, "POST", APPCMDS, "{\"name\":\"Clean Up\",\"description\":\"x\"}", 400));
	cJSON_Delete(appcmd(p, "POST", APPCMDS, "{\"name\":\"x\"}", 400));
	cJSON_Delete(appcmd(p, "GET", "/api/v10/applications/42/commands", NULL, 403));
	c = appcmd(p, "GET", APPCMDS "/12345", NULL, 404);
	assert_int_equal((int)num_at(c, "code", NULL), 10063);
	cJSON_Delete(c);

	/* a command made by someone else, then a bulk overwrite without it */
	c = fd_post(p, "/_control/app_commands", "{\"command\":{\"name\":\"levels\",\"description\":\"l\"}}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(c, "ok")));
	cJSON_Delete(c);
	l = appcmd(p, "GET", APPCMDS, NULL, 200);
	assert_int_equal(cJSON_GetArraySize(l), 2);
	cJSON_Delete(l);
	l = appcmd(p, "PUT", APPCMDS, "[{\"name\":\"cleanup\",\"description\":\"d4\"},"
	           "{\"name\":\"other\",\"description\":\"o\"}]", 200);
	assert_int_equal(cJSON_GetArraySize(l), 2);
	assert_string_equal(str_at(cJSON_GetArrayItem(l, 0), "id", NULL), id);   /* kept its id */
	cJSON_Delete(l);
	l = fd_get(p, "/_control/app_commands");
	cJSON *cmds = cJSON_GetObjectItem(l, "commands");
	assert_int_equal(cJSON_GetArraySize(cmds), 2);
	assert_string_equal(str_at(cJSON_GetArrayItem(cmds, 1), "name", NULL), "other");   /* "levels" is gone */
	cJSON_Delete(l);

	/* an injected rejection, then a delete */
	cJSON_Delete(fd_post(p, "/_control/app_commands/reject", "{\"count\":1,\"status\":403,\"code\":50001}"));
	cJSON_Delete(appcmd(p, "DELETE", path, NULL, 403));
	cJSON_Delete(appcmd(p, "DELETE", path, NULL, 204));
	cJSON_Delete(appcmd(p, "GET", path, NULL, 404));
	assert_int_equal(appcmd_calls(p, "GET"), 6);
	assert_int_equal(appcmd_calls(p, "POST"), 4);
	assert_int_equal(appcmd_calls(p, "PATCH"), 1);
	assert_int_equal(appcmd_calls(p, "DELETE"), 2);
	assert_int_equal(appcmd_calls(p, "PUT"), 1);
	/* a reset forgets them */
	cJSON_Delete(fd_post(p, "/_control/reset", "{}"));
	assert_int_equal(appcmd_calls(p, "PUT"), 0);
}

static void test_rest_members_pagination(void **state)
{
	fd_proc *p = *state;
	long status;
	char *headers = NULL;
	cJSON *page = fd_request(p, "GET", "/api/v10/guilds/" DEMO_GUILD
	                         "/members?limit=10&after=1000000000000000119",
	                         NULL, "test-token", &status, &headers);
	assert_int_equal(status, 200);
	assert_non_null(strstr(headers, "x-ratelimit-bucket:"));
	assert_non_null(strstr(headers, "x-ratelimit-remaining:"));
	free(headers);
	/* 120..124 and the bot (…999), ascending. */
	assert_int_equal(cJSON_GetArraySize(page), 6);
	assert_string_equal(str_at(cJSON_GetArrayItem(page, 0), "user", "id"), "1000000000000000120");
	assert_string_equal(str_at(cJSON_GetArrayItem(page, 5), "user", "id"), "1000000000000000999");
	cJSON_Delete(page);

	cJSON *one = fd_request(p, "GET", "/api/v10/guilds/" DEMO_GUILD "/members", NULL,
	                        "test-token", &status, NULL);
	assert_int_equal(cJSON_GetArraySize(one), 1); /* default limit is 1 */
	cJSON_Delete(one);
	cJSON *bad = fd_request(p, "GET", "/api/v10/guilds/" DEMO_GUILD "/members?limit=1001",
	                        NULL, "test-token", &status, NULL);
	assert_int_equal(status, 400);
	cJSON_Delete(bad);

	cJSON *missing = fd_request(p, "GET", "/api/v10/guilds/" DEMO_GUILD "/members/42", NULL,
	                            "test-token", &status, NULL);
	assert_int_equal(status, 404);
	assert_int_equal((int)num_at(missing, "code", NULL), 10007);
	cJSON_Delete(missing);
	cJSON *unknown = fd_request(p, "GET", "/api/v10/guilds/77", NULL, "test-token", &status, NULL);
	assert_int_equal(status, 404);
	assert_int_equal((int)num_at(unknown, "code", NULL), 10004);
	cJSON_Delete(unknown);
}

static void test_rest_remove_bot_gives_403(void **state)
{
	fd_proc *p = *state;
	long status;
	cJSON *r = fd_post(p, "/_control/guilds/" DEMO_GUILD "/remove_bot", "{\"unavailable\":false}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	cJSON_Delete(r);
	cJSON *g = fd_request(p, "GET", "/api/v10/guilds/" DEMO_GUILD, NULL, "test-token", &status, NULL);
	assert_int_equal(status, 403);
	assert_int_equal((int)num_at(g, "code", NULL), 50001);
	cJSON_Delete(g);
}

static void test_rest_injected_429_and_messages(void **state)
{
	fd_proc *p = *state;
	long status;
	char *headers = NULL;
	cJSON *r = fd_post(p, "/_control/ratelimit",
	                   "{\"route\":\"/api/v10/channels/\",\"count\":1,\"retry_after\":1.5,\"global\":true}");
	cJSON_Delete(r);
	const char *body = "{\"content\":\"hello\",\"allowed_mentions\":{\"parse\":[]}}";
	cJSON *limited = fd_request(p, "POST", "/api/v10/channels/55/messages", body, "test-token",
	                            &status, &headers);
	assert_int_equal(status, 429);
	assert_true(num_at(limited, "retry_after", NULL) == 1.5);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(limited, "global")));
	assert_non_null(strstr(headers, "retry-after: 2"));
	assert_non_null(strstr(headers, "x-ratelimit-global: true"));
	free(headers);
	cJSON_Delete(limited);

	cJSON *msg = fd_request(p, "POST", "/api/v10/channels/55/messages", body, "test-token", &status, NULL);
	assert_int_equal(status, 200);
	assert_string_equal(str_at(msg, "channel_id", NULL), "55");
	assert_non_null(str_at(msg, "id", NULL));
	cJSON_Delete(msg);
	cJSON *msgs = fd_get(p, "/_control/messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 1);
	assert_string_equal(str_at(cJSON_GetArrayItem(msgs, 0), "body", "content"), "hello");
	cJSON_Delete(msgs);
}

static void test_control_million_members(void **state)
{
	fd_proc *p = *state;
	cJSON *r = fd_post(p, "/_control/guilds",
	                   "{\"id\":\"5000000000000000000\",\"name\":\"Big\","
	                   "\"generate\":{\"count\":1000000,\"first_id\":\"3000000000000000000\"}}");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
	cJSON_Delete(r);
	cJSON *m = fd_get(p, "/_control/members/5000000000000000000");
	assert_int_equal((int)num_at(m, "count", NULL), 1000001); /* + the bot */
	assert_null(cJSON_GetObjectItem(m, "ids"));
	cJSON_Delete(m);
	cJSON *bad = fd_post(p, "/_control/guilds", "{\"name\":\"no id\"}");
	assert_non_null(str_at(bad, "error", NULL));
	cJSON_Delete(bad);
}

/* ---- gateway ----------------------------------------------------------------- */

static void test_gateway_ready_and_heartbeat(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	cJSON *ready = connect_ready(p, &ws, "v=10&encoding=json", 33283);
	assert_int_equal((int)num_at(ready, "s", NULL), 1);
	assert_int_equal((int)num_at(ready, "d", "v"), 10);
	assert_non_null(str_at(ready, "d", "session_id"));
	assert_non_null(strstr(str_at(ready, "d", "resume_gateway_url"), "ws://127.0.0.1:"));
	/* the application (its commands live under /applications/{id}) */
	cJSON *app = cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "d"), "application");
	assert_string_equal(str_at(app, "id", NULL), "1000000000000000999");
	assert_int_equal((int)num_at(app, "flags", NULL), 0);
	cJSON *guilds = cJSON_GetObjectItem(cJSON_GetObjectItem(ready, "d"), "guilds");
	assert_int_equal(cJSON_GetArraySize(guilds), 1);
	assert_string_equal(str_at(cJSON_GetArrayItem(guilds, 0), "id", NULL), DEMO_GUILD);
	cJSON_Delete(ready);

	cJSON *gc = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(gc, "t", NULL), "GUILD_CREATE");
	assert_string_equal(str_at(gc, "d", "id"), DEMO_GUILD);
	assert_int_equal((int)num_at(gc, "d", "member_count"), 26);
	assert_string_equal(str_at(gc, "d", "owner_id"), "1000000000000000100");
	cJSON_Delete(gc);

	send_json(&ws, "{\"op\":1,\"d\":2}");
	cJSON *ack = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_int_equal((int)num_at(ack, "op", NULL), 11);
	cJSON_Delete(ack);

	cJSON *st = fd_get(p, "/_control/state");
	assert_int_equal((int)num_at(st, "identify_count", NULL), 1);
	assert_int_equal((int)num_at(st, "heartbeats", NULL), 1);
	assert_int_equal((int)num_at(st, "connections", NULL), 1);
	cJSON_Delete(st);
	cJSON *sent = fd_get(p, "/_control/sent?since=0");
	assert_string_equal(str_at(cJSON_GetArrayItem(sent, 0), "d", "token"), "[REDACTED]");
	cJSON_Delete(sent);
	fd_ws_close(&ws, 1000);
}

static void test_gateway_op8_chunks_and_rate_limit(void **state)
{
	fd_proc *p = *state;
	cJSON *r = fd_post(p, "/_control/guilds", "{\"id\":\"6000000000000000000\",\"name\":\"Mid\","
	                   "\"generate\":{\"count\":2500,\"first_id\":\"4000000000000000000\"}}");
	cJSON_Delete(r);
	fd_ws ws;
	cJSON_Delete(connect_ready(p, &ws, "v=10&encoding=json", 33283));
	send_json(&ws, "{\"op\":8,\"d\":{\"guild_id\":\"6000000000000000000\",\"query\":\"\","
	               "\"limit\":0,\"nonce\":\"sweep-1\"}}");
	int members = 0;
	for (int i = 0; i < 3; i++) {
		cJSON *c = fd_ws_wait(&ws, "GUILD_MEMBERS_CHUNK", 0, TIMEOUT_MS);
		assert_non_null(c);
		assert_int_equal((int)num_at(c, "d", "chunk_index"), i);
		assert_int_equal((int)num_at(c, "d", "chunk_count"), 3);
		assert_string_equal(str_at(c, "d", "nonce"), "sweep-1");
		assert_string_equal(str_at(c, "d", "guild_id"), "6000000000000000000");
		members += cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "d"), "members"));
		cJSON_Delete(c);
	}
	assert_int_equal(members, 2501);

	/* A second full list within 30 s: RATE_LIMITED, not a close. */
	send_json(&ws, "{\"op\":8,\"d\":{\"guild_id\":\"6000000000000000000\",\"query\":\"\",\"limit\":0,\"nonce\":\"n2\"}}");
	cJSON *rl = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(rl, "t", NULL), "RATE_LIMITED");
	assert_int_equal((int)num_at(rl, "d", "opcode"), 8);
	assert_true(num_at(rl, "d", "retry_after") > 0);
	cJSON_Delete(rl);

	/* user_ids: found members plus not_found. */
	send_json(&ws, "{\"op\":8,\"d\":{\"guild_id\":\"6000000000000000000\","
	               "\"user_ids\":[\"4000000000000000007\",\"17\"]}}");
	cJSON *c = fd_ws_recv(&ws, TIMEOUT_MS);
	cJSON *d = cJSON_GetObjectItem(c, "d");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "members")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(d, "not_found")), 1);
	cJSON_Delete(c);

	/* Neither query nor user_ids: 4001. */
	send_json(&ws, "{\"op\":8,\"d\":{\"guild_id\":\"6000000000000000000\"}}");
	expect_close(&ws, 4001);
	fd_ws_close(&ws, 0);
}

static void test_gateway_op8_silent_without_intent(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	cJSON_Delete(connect_ready(p, &ws, "v=10&encoding=json", 1));
	cJSON_Delete(fd_ws_wait(&ws, "GUILD_CREATE", 0, TIMEOUT_MS));
	send_json(&ws, "{\"op\":8,\"d\":{\"guild_id\":\"" DEMO_GUILD "\",\"query\":\"\",\"limit\":0}}");
	send_json(&ws, "{\"op\":1,\"d\":2}");
	/* The very next payload is the ACK: the op 8 got no answer at all. */
	cJSON *next = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_int_equal((int)num_at(next, "op", NULL), 11);
	cJSON_Delete(next);
	fd_ws_close(&ws, 1000);
}

static void test_gateway_zlib_stream(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	cJSON *ready = connect_ready(p, &ws, "v=10&encoding=json&compress=zlib-stream", 33283);
	assert_true(ws.last_ended_with_suffix);
	cJSON_Delete(ready);
	cJSON *gc = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(gc, "t", NULL), "GUILD_CREATE");
	cJSON_Delete(gc);
	assert_int_equal(ws.text_messages, 0);
	assert_int_equal(ws.binary_messages, ws.messages);

	/* Split across two messages, then across fragments: still whole. */
	cJSON_Delete(fd_post(p, "/_control/config", "{\"split_compressed\":true}"));
	send_json(&ws, "{\"op\":1,\"d\":2}");
	cJSON *ack = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_int_equal((int)num_at(ack, "op", NULL), 11);
	cJSON_Delete(ack);
	cJSON_Delete(fd_post(p, "/_control/config", "{\"split_compressed\":false,\"compressed_fragments\":3}"));
	cJSON_Delete(fd_post(p, "/_control/dispatch", "{\"t\":\"TEST_EVENT\",\"d\":{\"x\":1}}"));
	cJSON *ev = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(ev, "t", NULL), "TEST_EVENT");
	cJSON_Delete(ev);
	assert_int_equal(ws.fragmented_messages, 1);
	assert_int_equal(ws.messages, 6); /* HELLO READY GUILD_CREATE, ACK in 2 halves, event */
	fd_ws_close(&ws, 1000);
}

static void test_gateway_resume_replays_missed_remove(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	cJSON *ready = connect_ready(p, &ws, "v=10&encoding=json", 33283);
	char sid[64];
	snprintf(sid, sizeof sid, "%s", str_at(ready, "d", "session_id"));
	cJSON_Delete(ready);
	cJSON *gc = fd_ws_wait(&ws, "GUILD_CREATE", 0, TIMEOUT_MS);
	int seq = (int)num_at(gc, "s", NULL);
	cJSON_Delete(gc);
	fd_ws_close(&ws, 0); /* TCP ends without a close frame: resumable */

	cJSON_Delete(fd_delete(p, "/_control/guilds/" DEMO_GUILD "/members/1000000000000000110?event=1"));
	cJSON_Delete(fd_delete(p, "/_control/guilds/" DEMO_GUILD "/members/1000000000000000111?event=0"));

	assert_int_equal(fd_ws_connect(&ws, p->port, "v=10&encoding=json"), 0);
	cJSON_Delete(fd_ws_recv(&ws, TIMEOUT_MS)); /* HELLO */
	char buf[256];
	snprintf(buf, sizeof buf, "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"%s\",\"seq\":%d}}", sid, seq);
	send_json(&ws, buf);
	cJSON *ev = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(ev, "t", NULL), "GUILD_MEMBER_REMOVE");
	assert_int_equal((int)num_at(ev, "s", NULL), seq + 1);
	assert_string_equal(str_at(ev, "d", "guild_id"), DEMO_GUILD);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "d"), "user"), "id")), "1000000000000000110");
	cJSON_Delete(ev);
	cJSON *resumed = fd_ws_recv(&ws, TIMEOUT_MS); /* the silent removal is not replayed */
	assert_string_equal(str_at(resumed, "t", NULL), "RESUMED");
	cJSON_Delete(resumed);
	fd_ws_close(&ws, 4000);

	/* Unknown session: op 9 false.  Sequence from the future: 4007. */
	assert_int_equal(fd_ws_connect(&ws, p->port, "v=10&encoding=json"), 0);
	cJSON_Delete(fd_ws_recv(&ws, TIMEOUT_MS));
	send_json(&ws, "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"nope\",\"seq\":1}}");
	cJSON *inv = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_int_equal((int)num_at(inv, "op", NULL), 9);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(inv, "d")));
	cJSON_Delete(inv);
	snprintf(buf, sizeof buf, "{\"op\":6,\"d\":{\"token\":\"test-token\",\"session_id\":\"%s\",\"seq\":999}}", sid);
	send_json(&ws, buf);
	expect_close(&ws, 4007);
	fd_ws_close(&ws, 0);
}

static void close_case(fd_proc *p, const char *payload, int code)
{
	fd_ws ws;
	assert_int_equal(fd_ws_connect(&ws, p->port, "v=10&encoding=json"), 0);
	cJSON_Delete(fd_ws_recv(&ws, TIMEOUT_MS));
	assert_int_equal(fd_ws_send_text(&ws, payload, strlen(payload)), 0);
	expect_close(&ws, code);
	fd_ws_close(&ws, 0);
}

static void test_gateway_close_codes(void **state)
{
	fd_proc *p = *state;
	char buf[512];
	snprintf(buf, sizeof buf, IDENTIFY_FMT, "wrong-token", 513);
	close_case(p, buf, 4004);
	snprintf(buf, sizeof buf, IDENTIFY_FMT, "test-token", 1 << 18);
	close_case(p, buf, 4013);
	close_case(p, "this is not json", 4002);
	close_case(p, "{\"op\":8,\"d\":{\"guild_id\":\"1\",\"query\":\"\",\"limit\":0}}", 4003);
	close_case(p, "{\"op\":42,\"d\":null}", 4001);
	char big[5000];
	memset(big, ' ', sizeof big - 1);
	big[0] = '{';
	memcpy(big + sizeof big - 12, "\"op\":1}", 8);
	close_case(p, big, 4002);

	cJSON_Delete(fd_post(p, "/_control/config", "{\"enabled_intents\":1}"));
	snprintf(buf, sizeof buf, IDENTIFY_FMT, "test-token", 33283);
	close_case(p, buf, 4014);
	cJSON *st = fd_get(p, "/_control/state");
	assert_int_equal((int)num_at(st, "identify_count", NULL), 0);
	cJSON_Delete(st);
}

static void test_gateway_demo_member_leaves(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	cJSON_Delete(connect_ready(p, &ws, "v=10&encoding=json", 33283));
	/* 5 s after the first READY the demo removes member …124. */
	cJSON *ev = fd_ws_wait(&ws, "GUILD_MEMBER_REMOVE", 0, TIMEOUT_MS);
	assert_non_null(ev);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "d"), "user"), "id")), "1000000000000000124");
	cJSON_Delete(ev);
	fd_ws_close(&ws, 1000);
}

static void test_control_live_guild_events(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	cJSON_Delete(connect_ready(p, &ws, "v=10&encoding=json&compress=zlib-stream", 33283));
	cJSON_Delete(fd_ws_wait(&ws, "GUILD_CREATE", 0, TIMEOUT_MS));
	cJSON *r = fd_post(p, "/_control/guilds", "{\"id\":\"7000000000000000000\",\"name\":\"New\","
	                   "\"members\":[{\"id\":\"42\",\"username\":\"alice\",\"roles\":[]}]}");
	assert_int_equal((int)num_at(r, "notified", NULL), 1);
	cJSON_Delete(r);
	cJSON *gc = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(gc, "t", NULL), "GUILD_CREATE");
	assert_string_equal(str_at(gc, "d", "id"), "7000000000000000000");
	cJSON_Delete(gc);
	cJSON_Delete(fd_post(p, "/_control/guilds/7000000000000000000/remove_bot", "{\"unavailable\":true}"));
	cJSON *del = fd_ws_recv(&ws, TIMEOUT_MS);
	assert_string_equal(str_at(del, "t", NULL), "GUILD_DELETE");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(del, "d"), "unavailable")));
	cJSON_Delete(del);
	/* Garbage that breaks the inflater: the client sees no payload. */
	cJSON *raw = fd_post(p, "/_control/raw", "{\"corrupt_zlib\":true}");
	assert_int_equal((int)num_at(raw, "connections", NULL), 1);
	cJSON_Delete(raw);
	assert_null(fd_ws_recv(&ws, TIMEOUT_MS));
	assert_false(ws.closed);
	/* A scripted close code reaches the client. */
	cJSON_Delete(fd_post(p, "/_control/close", "{\"code\":4000}"));
	expect_close(&ws, 4000);
	fd_ws_close(&ws, 0);
}

/* ---- interactions and DM channels ------------------------------------------ */

#define IX_GUILD "7100000000000000000"
#define IX_ALL "9007199254740991"   /* every bit up to 1<<52 */

/* A guild with an admin (42), a plain member (43), a moderator with
 * MANAGE_GUILD (45) and an owner (44); the client identified and got it. */
static void interaction_world(fd_proc *p, fd_ws *ws)
{
	cJSON_Delete(connect_ready(p, ws, "v=10&encoding=json", 33283));
	cJSON_Delete(fd_ws_wait(ws, "GUILD_CREATE", 0, TIMEOUT_MS));
	cJSON_Delete(fd_post(p, "/_control/guilds", "{\"id\":\"" IX_GUILD "\",\"owner_id\":\"44\","
	                     "\"roles\":[{\"id\":\"" IX_GUILD "\",\"name\":\"@everyone\",\"permissions\":\"1024\"},"
	                     "{\"id\":\"71\",\"name\":\"Admin\",\"permissions\":\"8\"},"
	                     "{\"id\":\"72\",\"name\":\"Mod\",\"permissions\":\"32\"}],"
	                     "\"members\":[{\"id\":\"42\",\"roles\":[\"71\"]},{\"id\":\"43\"},"
	                     "{\"id\":\"44\"},{\"id\":\"45\",\"roles\":[\"72\"]}]}"));
	cJSON_Delete(fd_ws_wait(ws, "GUILD_CREATE", 0, TIMEOUT_MS));
}

/* Dispatches an interaction; returns its INTERACTION_CREATE d (caller
 * frees) and copies id and token. */
static cJSON *interact(fd_proc *p, fd_ws *ws, const char *body, char id[32], char token[40])
{
	cJSON *r = fd_post(p, "/_control/interaction", body);
	assert_non_null(r);
	assert_int_equal((int)num_at(r, "sessions", NULL), 1);
	snprintf(id, 32, "%s", str_at(r, "id", NULL));
	snprintf(token, 40, "%s", str_at(r, "token", NULL));
	cJSON_Delete(r);
	cJSON *ev = fd_ws_wait(ws, "INTERACTION_CREATE", 0, TIMEOUT_MS);
	assert_non_null(ev);
	cJSON *d = cJSON_DetachItemFromObject(ev, "d");
	cJSON_Delete(ev);
	assert_string_equal(str_at(d, "id", NULL), id);
	assert_string_equal(str_at(d, "token", NULL), token);
	assert_int_equal((int)num_at(d, "type", NULL), 2);
	assert_string_equal(str_at(d, "application_id", NULL), "1000000000000000999");
	return d;
}

static const char *member_perms(fd_proc *p, fd_ws *ws, const char *uid, const char *extra, char *out)
{
	char body[512], id[32], token[40];
	snprintf(body, sizeof body, "{\"guild_id\":\"" IX_GUILD "\",\"user_id\":\"%s\",\"name\":\"cleanup\","
	         "\"subcommand\":\"status\"%s}", uid, extra);
	cJSON *d = interact(p, ws, body, id, token);
	snprintf(out, 32, "%s", str_at(d, "member", "permissions"));
	cJSON_Delete(d);
	return out;
}

/* A REST call (with the bot token or none); the status, and *code from
 * Discord's error body (0 when none). */
static long call_as(fd_proc *p, const char *token, const char *method, const char *path,
                    const char *body, int *code)
{
	long status;
	cJSON *j = fd_request(p, method, path, body, token, &status, NULL);
	const cJSON *c = cJSON_GetObjectItem(j, "code");
	*code = cJSON_IsNumber(c) ? c->valueint : 0;
	cJSON_Delete(j);
	return status;
}

/* The world, then /cleanup <sub> by the admin (42). */
static void admin_interaction(fd_proc *p, fd_ws *ws, const char *sub, char id[32], char token[40])
{
	char body[256];
	interaction_world(p, ws);
	snprintf(body, sizeof body, "{\"guild_id\":\"" IX_GUILD "\",\"user_id\":\"42\",\"name\":\"cleanup\","
	         "\"subcommand\":\"%s\"}", sub);
	cJSON_Delete(interact(p, ws, body, id, token));
}

static long call(fd_proc *p, const char *method, const char *path, const char *body, int *code)
{
	return call_as(p, NULL, method, path, body, code);
}

static void test_interaction_payload_and_permissions(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	char id[32], token[40], perms[32];
	interaction_world(p, &ws);
	cJSON *d = interact(p, &ws, "{\"guild_id\":\"" IX_GUILD "\",\"channel_id\":\"777\",\"user_id\":\"43\","
	                    "\"name\":\"cleanup\",\"subcommand\":\"users\","
	                    "\"options\":[{\"name\":\"force\",\"type\":5,\"value\":true}]}", id, token);
	assert_string_equal(str_at(d, "guild_id", NULL), IX_GUILD);
	assert_string_equal(str_at(d, "channel_id", NULL), "777");
	assert_string_equal(str_at(d, "member", "permissions"), "1024");   /* @everyone only */
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetObjectItem(d, "member"), "user"), "id")), "43");
	assert_non_null(str_at(d, "app_permissions", NULL));
	assert_string_equal(str_at(d, "data", "name"), "cleanup");
	const cJSON *sub = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "data"), "options"), 0);
	assert_int_equal((int)num_at(sub, "type", NULL), 1);
	assert_string_equal(str_at(sub, "name", NULL), "users");
	const cJSON *force = cJSON_GetArrayItem(cJSON_GetObjectItem(sub, "options"), 0);
	assert_string_equal(str_at(force, "name", NULL), "force");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(force, "value")));
	cJSON_Delete(d);
	/* Administrator and owner: every bit; a role's bits; a channel
	 * overwrite denies them (not for an administrator). */
	assert_string_equal(member_perms(p, &ws, "42", "", perms), IX_ALL);
	assert_string_equal(member_perms(p, &ws, "44", "", perms), IX_ALL);
	assert_string_equal(member_perms(p, &ws, "45", "", perms), "1056");
	assert_string_equal(member_perms(p, &ws, "45", ",\"overwrite\":{\"deny\":\"32\"}", perms), "1024");
	assert_string_equal(member_perms(p, &ws, "42", ",\"overwrite\":{\"deny\":\"8\"}", perms), IX_ALL);
	/* In a DM: no guild, a user instead of a member. */
	d = interact(p, &ws, "{\"dm\":true,\"user_id\":\"43\",\"name\":\"cleanup\",\"subcommand\":\"status\"}",
	             id, token);
	assert_null(cJSON_GetObjectItem(d, "guild_id"));
	assert_null(cJSON_GetObjectItem(d, "member"));
	assert_string_equal(str_at(d, "user", "id"), "43");
	cJSON_Delete(d);
	/* Not a member, unknown guild: refused by the control API. */
	cJSON *bad = fd_post(p, "/_control/interaction", "{\"guild_id\":\"" IX_GUILD "\",\"user_id\":\"99\",\"name\":\"x\"}");
	assert_non_null(str_at(bad, "error", NULL));
	cJSON_Delete(bad);
	fd_ws_close(&ws, 1000);
}

static void test_interaction_callback_edits_and_errors(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	char id[32], token[40], path[256];
	int code;
	admin_interaction(p, &ws, "users", id, token);
	/* An edit before the callback: no original message yet. */
	snprintf(path, sizeof path, "/api/v10/webhooks/1000000000000000999/%s/messages/@original", token);
	assert_int_equal(call(p, "PATCH", path, "{\"content\":\"early\"}", &code), 404);
	assert_int_equal(code, 10008);
	/* The callback needs no bot token; a second one is refused. */
	snprintf(path, sizeof path, "/api/v10/interactions/%s/%s/callback", id, token);
	assert_int_equal(call(p, "POST", path, "{\"type\":5}", &code), 204);
	assert_int_equal(call(p, "POST", path, "{\"type\":4,\"data\":{\"content\":\"x\"}}", &code), 400);
	assert_int_equal(code, 40060);
	/* A wrong token is an unknown interaction. */
	snprintf(path, sizeof path, "/api/v10/interactions/%s/deadbeef/callback", id);
	assert_int_equal(call(p, "POST", path, "{\"type\":5}", &code), 404);
	assert_int_equal(code, 10062);
	/* Edits in order, a follow-up; a wrong token or application: 10015. */
	snprintf(path, sizeof path, "/api/v10/webhooks/1000000000000000999/%s/messages/@original", token);
	assert_int_equal(call(p, "PATCH", path, "{\"content\":\"working\"}", &code), 200);
	assert_int_equal(call(p, "PATCH", path, "{\"content\":\"done\",\"allowed_mentions\":{\"parse\":[]}}", &code), 200);
	snprintf(path, sizeof path, "/api/v10/webhooks/1000000000000000999/%s", token);
	assert_int_equal(call(p, "POST", path, "{\"content\":\"more\"}", &code), 200);
	assert_int_equal(call(p, "POST", "/api/v10/webhooks/1000000000000000999/nope", "{\"content\":\"x\"}", &code), 404);
	assert_int_equal(code, 10015);
	snprintf(path, sizeof path, "/api/v10/webhooks/5/%s", token);
	assert_int_equal(call(p, "POST", path, "{\"content\":\"x\"}", &code), 404);
	assert_int_equal(code, 10015);
	cJSON *log = fd_get(p, "/_control/interactions");
	assert_int_equal(cJSON_GetArraySize(log), 1);
	cJSON *rec = cJSON_GetArrayItem(log, 0);
	assert_string_equal(str_at(rec, "token", NULL), token);
	assert_string_equal(str_at(rec, "user_id", NULL), "42");
	assert_int_equal((int)num_at(rec, "callback", "type"), 5);
	assert_true(num_at(rec, "callback", "ms") < 3000);
	cJSON *edits = cJSON_GetObjectItem(rec, "edits");
	assert_int_equal(cJSON_GetArraySize(edits), 2);
	assert_string_equal(str_at(cJSON_GetArrayItem(edits, 0), "body", "content"), "working");
	assert_string_equal(str_at(cJSON_GetArrayItem(edits, 1), "body", "content"), "done");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "followups")), 1);
	cJSON *refused = cJSON_GetObjectItem(rec, "refused");
	assert_int_equal(cJSON_GetArraySize(refused), 3);   /* 10008, 40060, 10015 (wrong app) */
	assert_int_equal((int)num_at(cJSON_GetArrayItem(refused, 1), "code", NULL), 40060);
	cJSON_Delete(log);
	/* The token's lifetime (configurable): later webhook calls get 10015. */
	cJSON_Delete(fd_post(p, "/_control/config", "{\"interaction_token_ms\":300}"));
	usleep(400 * 1000);
	assert_int_equal(call(p, "POST", path, "{\"content\":\"late\"}", &code), 404);
	assert_int_equal(code, 10015);
	fd_ws_close(&ws, 1000);
}

static void test_interaction_callback_after_3s(void **state)
{
	fd_proc *p = *state;
	fd_ws ws;
	char id[32], token[40], path[256];
	int code;
	admin_interaction(p, &ws, "status", id, token);
	usleep(3200 * 1000);
	snprintf(path, sizeof path, "/api/v10/interactions/%s/%s/callback", id, token);
	assert_int_equal(call(p, "POST", path, "{\"type\":4,\"data\":{\"content\":\"x\"}}", &code), 404);
	assert_int_equal(code, 10062);
	cJSON *log = fd_get(p, "/_control/interactions");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "callback")));
	cJSON_Delete(log);
	fd_ws_close(&ws, 1000);
}

static const char *open_dm(fd_proc *p, const char *uid, char out[32])
{
	char body[64];
	long status;
	snprintf(body, sizeof body, "{\"recipient_id\":\"%s\"}", uid);
	cJSON *ch = fd_request(p, "POST", "/api/v10/users/@me/channels", body, "test-token", &status, NULL);
	assert_int_equal(status, 200);
	assert_int_equal((int)num_at(ch, "type", NULL), 1);
	assert_string_equal(str_at(cJSON_GetArrayItem(cJSON_GetObjectItem(ch, "recipients"), 0), "id", NULL), uid);
	snprintf(out, 32, "%s", str_at(ch, "id", NULL));
	cJSON_Delete(ch);
	return out;
}

static long send_dm(fd_proc *p, const char *channel, int *code)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v10/channels/%s/messages", channel);
	return call_as(p, "test-token", "POST", path, "{\"content\":\"hello\"}", code);
}

static void test_dm_channels(void **state)
{
	fd_proc *p = *state;
	char a[32], b[32], stranger[32];
	int code;
	long status;
	/* The demo guild's owner shares a guild with the bot; 555 does not. */
	open_dm(p, "1000000000000000100", a);
	assert_string_equal(open_dm(p, "1000000000000000100", b), a);   /* stable per user */
	open_dm(p, "555", stranger);
	assert_string_not_equal(stranger, a);
	cJSON_Delete(fd_request(p, "POST", "/api/v10/users/@me/channels", "{\"recipient_id\":\"5\"}", NULL, &status, NULL));
	assert_int_equal(status, 401);
	assert_int_equal(send_dm(p, a, &code), 200);
	assert_int_equal(send_dm(p, stranger, &code), 403);
	assert_int_equal(code, 50007);
	/* DMs closed: refused the same way; reopened: delivered. */
	cJSON_Delete(fd_post(p, "/_control/dm_close", "{\"user_id\":\"1000000000000000100\"}"));
	assert_int_equal(send_dm(p, a, &code), 403);
	assert_int_equal(code, 50007);
	cJSON_Delete(fd_post(p, "/_control/dm_close", "{\"user_id\":\"1000000000000000100\",\"closed\":false}"));
	assert_int_equal(send_dm(p, a, &code), 200);
	cJSON *log = fd_get(p, "/_control/dms?user=1000000000000000100");
	assert_int_equal(cJSON_GetArraySize(log), 3);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 0), "delivered")));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(log, 1), "delivered")));
	assert_int_equal((int)num_at(cJSON_GetArrayItem(log, 1), "code", NULL), 50007);
	assert_string_equal(str_at(cJSON_GetArrayItem(log, 2), "body", "content"), "hello");
	cJSON_Delete(log);
	log = fd_get(p, "/_control/dms");
	assert_int_equal(cJSON_GetArraySize(log), 4);
	cJSON_Delete(log);
	/* A DM is not a guild channel message. */
	cJSON *msgs = fd_get(p, "/_control/messages");
	assert_int_equal(cJSON_GetArraySize(msgs), 0);
	cJSON_Delete(msgs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rest_auth_and_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest_members_pagination, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest_remove_bot_gives_403, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest_injected_429_and_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_million_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_ready_and_heartbeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_op8_chunks_and_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_op8_silent_without_intent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_zlib_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_resume_replays_missed_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_close_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gateway_demo_member_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_live_guild_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interaction_payload_and_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interaction_callback_edits_and_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interaction_callback_after_3s, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dm_channels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rest_application_commands, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
