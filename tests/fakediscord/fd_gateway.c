/* fd_gateway.c - gateway sessions and opcode handling (see fd_gateway.h). */
#include "fd_gateway.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fd_op8.h"
#include "fd_shards.h"

#define FD_MAX_CLIENT_PAYLOAD 4096
#define FD_SEND_LIMIT 120
#define FD_SEND_WINDOW_MS 60000

/* ---- sessions ---------------------------------------------------------- */

static bool session_alive(const fd_server *srv, const fd_session *s, int64_t now)
{
	if (s->invalid)
		return false;
	return s->conn || now - s->detached_ms < (int64_t)srv->cfg.resume_window_s * 1000;
}

static bool session_owns_guild(const fd_session *s, uint64_t guild_id)
{
	int count = s->shard_count > 0 ? s->shard_count : 1;
	return (int)((guild_id >> 22) % (uint64_t)count) == s->shard_id;
}

static void session_free(fd_session *s)
{
	for (size_t i = s->first; i < s->n; i++)
		free(s->events[i].json);
	free(s->events);
	free(s);
}

/* Expired and invalid sessions without a connection are freed lazily. */
static void sessions_sweep(fd_server *srv)
{
	int64_t now = fd_now_ms();
	for (fd_session **pp = &srv->sessions; *pp;) {
		fd_session *s = *pp;
		if (!s->conn && !session_alive(srv, s, now)) {
			*pp = s->next;
			session_free(s);
		} else {
			pp = &s->next;
		}
	}
}

static fd_session *session_find(fd_server *srv, const char *id)
{
	for (fd_session *s = srv->sessions; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

static void session_store(fd_server *srv, fd_session *s, int64_t seq, char *json, size_t len)
{
	if (s->n == s->cap) {
		/* Compact before growing, but only when at least half is dead:
		 * compacting for a single dropped event made a long burst past the
		 * replay cap quadratic (a memmove of the whole buffer per event). */
		if (s->first > 0 && s->first >= s->cap / 2) {
			memmove(s->events, s->events + s->first, (s->n - s->first) * sizeof *s->events);
			s->n -= s->first;
			s->first = 0;
		}
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 64;
			s->events = fd_xrealloc(s->events, s->cap * sizeof *s->events);
		}
	}
	s->events[s->n++] = (fd_event){ seq, json, len };
	s->bytes += len;
	/* Bounded replay buffer: a real gateway also gives up (op 9) when a
	 * session missed too much. */
	while (s->bytes > srv->cfg.replay_cap_bytes && s->n - s->first > 1) {
		fd_event *old = &s->events[s->first++];
		s->bytes -= old->len;
		s->dropped_through = old->s;
		free(old->json);
	}
}

static void conn_send(fd_server *srv, fd_conn *c, const char *json, size_t len)
{
	if (c->closing)
		return;
	fd_conn_send_payload(c, json, len, srv->cfg.split_compressed,
	                     srv->cfg.compressed_fragments);
}

void fd_gw_dispatch(fd_server *srv, fd_session *s, const char *t, const char *d_json)
{
	fd_buf b = {0};
	int64_t seq = ++s->seq;
	fd_buf_printf(&b, "{\"op\":0,\"s\":%lld,\"t\":", (long long)seq);
	fd_buf_json_str(&b, t);
	fd_buf_puts(&b, ",\"d\":");
	fd_buf_puts(&b, d_json);
	fd_buf_puts(&b, "}");
	if (s->conn)
		conn_send(srv, s->conn, b.data, b.len);
	session_store(srv, s, seq, b.data, b.len);
}

int fd_gw_emit_guild(fd_server *srv, uint64_t guild_id, const char *t,
                     const char *d_json, uint64_t need_intent)
{
	int64_t now = fd_now_ms();
	int sent = 0;
	for (fd_session *s = srv->sessions; s; s = s->next) {
		if (!session_alive(srv, s, now) || !session_owns_guild(s, guild_id))
			continue;
		if (need_intent && !(s->intents & need_intent))
			continue;
		fd_gw_dispatch(srv, s, t, d_json);
		sent++;
	}
	return sent;
}

int fd_gw_emit_all(fd_server *srv, const char *t, const char *d_json, int shard)
{
	int64_t now = fd_now_ms();
	int sent = 0;
	for (fd_session *s = srv->sessions; s; s = s->next) {
		if (!session_alive(srv, s, now) || (shard >= 0 && s->shard_id != shard))
			continue;
		fd_gw_dispatch(srv, s, t, d_json);
		sent++;
	}
	return sent;
}

int fd_gw_guild_create(fd_server *srv, const fd_guild *g)
{
	char *d = fd_json_take(fd_guild_create_cjson(g));
	int n = fd_gw_emit_guild(srv, g->id, "GUILD_CREATE", d, FD_INTENT_GUILDS);
	free(d);
	return n;
}

void fd_gw_invalidate_all(fd_server *srv)
{
	for (fd_session *s = srv->sessions; s; s = s->next)
		s->invalid = true;
}

/* ---- connection-wide sends ---------------------------------------------- */

int fd_gw_raw_all(fd_server *srv, const void *data, size_t len, bool binary)
{
	int n = 0;
	for (fd_conn *c = srv->conns; c; c = c->next, n++)
		if (!c->closing)
			fd_conn_send_raw(c, data, len, binary);
	return n;
}

int fd_gw_payload_all(fd_server *srv, const char *json)
{
	int n = 0;
	for (fd_conn *c = srv->conns; c; c = c->next, n++)
		conn_send(srv, c, json, strlen(json));
	return n;
}

int fd_gw_close_all(fd_server *srv, int code, bool drop)
{
	int n = 0;
	for (fd_conn *c = srv->conns; c; c = c->next, n++)
		fd_conn_send_close(c, code, drop);
	return n;
}

/* ---- connection lifecycle ---------------------------------------------- */

static void send_op(fd_server *srv, fd_conn *c, const char *json)
{
	conn_send(srv, c, json, strlen(json));
}

static void close_with(fd_conn *c, int code)
{
	fd_conn_send_close(c, code, false);
}

/* Value of name=... in a query string like "v=10&encoding=json". */
static bool query_get(const char *query, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		if (seg > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = seg - nl - 1;
			if (vl >= len)
				vl = len - 1;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return true;
		}
		p = amp ? amp + 1 : NULL;
	}
	return false;
}

fd_conn *fd_gw_open(fd_server *srv, struct lws *wsi, const char *query)
{
	char v[16] = "", compress[32] = "", encoding[16] = "json";
	query_get(query, "v", v, sizeof v);
	query_get(query, "compress", compress, sizeof compress);
	query_get(query, "encoding", encoding, sizeof encoding);
	fd_conn *c = fd_conn_new(wsi, srv->next_conn_no++, strcmp(compress, "zlib-stream") == 0);
	c->next = srv->conns;
	srv->conns = c;
	c->window_start_ms = fd_now_ms();
	char hello[96];
	snprintf(hello, sizeof hello, "{\"op\":10,\"d\":{\"heartbeat_interval\":%d}}",
	         srv->cfg.heartbeat_interval_ms);
	send_op(srv, c, hello);
	if (strcmp(v, "10") != 0)
		close_with(c, 4012);
	else if (strcmp(encoding, "json") != 0)
		close_with(c, 4002);
	return c;
}

void fd_gw_closed(fd_server *srv, fd_conn *c)
{
	for (fd_conn **pp = &srv->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	fd_session *s = c->session;
	if (s && s->conn == c) {
		s->conn = NULL;
		s->detached_ms = fd_now_ms();
		/* A client closing with 1000/1001 ends its session for good. */
		if (c->peer_close_code == 1000 || c->peer_close_code == 1001)
			s->invalid = true;
	}
	fd_conn_free(c);
	sessions_sweep(srv);
}

int fd_gw_writeable(fd_server *srv, fd_conn *c)
{
	if (fd_conn_queue_empty(c) && c->jobs && !c->closing && !fd_op8_held(srv, c))
		fd_op8_step(srv, c);
	int r = fd_conn_write_next(c);
	/* more chunks to render after this write (a held job waits for fd_op8_release) */
	if (r == 0 && c->jobs && !fd_op8_held(srv, c))
		lws_callback_on_writable(c->wsi);
	return r;
}

/* ---- logging what the client sent -------------------------------------- */

static void log_sent(fd_server *srv, fd_conn *c, const cJSON *msg, const char *raw)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "i", cJSON_GetArraySize(srv->sent_log));
	cJSON_AddNumberToObject(e, "at_ms", (double)fd_now_ms());
	cJSON_AddNumberToObject(e, "conn", c->number);
	if (!msg) {
		char cut[201];
		snprintf(cut, sizeof cut, "%s", raw);
		cJSON_AddNullToObject(e, "op");
		cJSON_AddStringToObject(e, "raw", cut);
	} else {
		cJSON *op = cJSON_GetObjectItemCaseSensitive(msg, "op");
		cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "d");
		cJSON_AddItemToObject(e, "op", op ? cJSON_Duplicate(op, 1) : cJSON_CreateNull());
		cJSON *dc = d ? cJSON_Duplicate(d, 1) : cJSON_CreateNull();
		/* The token is never stored or echoed back, even to tests. */
		if (cJSON_GetObjectItemCaseSensitive(dc, "token"))
			cJSON_ReplaceItemInObjectCaseSensitive(dc, "token", cJSON_CreateString("[REDACTED]"));
		cJSON_AddItemToObject(e, "d", dc);
	}
	cJSON_AddItemToArray(srv->sent_log, e);
}

/* ---- opcode handlers ---------------------------------------------------- */

static bool token_ok(const fd_server *srv, const cJSON *d)
{
	const char *tok = fd_json_str(d, "token");
	return tok && strcmp(tok, srv->cfg.token) == 0;
}

static void arm_demo(fd_server *srv)
{
	if (!srv->cfg.demo || srv->demo_armed || !srv->ctx)
		return;
	srv->demo_armed = true;
	lws_sul_schedule(srv->ctx, 0, &srv->demo_sul, fd_demo_fire, 5 * LWS_US_PER_SEC);
}

static void send_ready(fd_server *srv, fd_session *s)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "v", 10);
	cJSON *user = cJSON_AddObjectToObject(d, "user");
	fd_json_add_id(user, "id", FD_BOT_ID);
	cJSON_AddStringToObject(user, "username", FD_BOT_NAME);
	cJSON_AddStringToObject(user, "discriminator", "0");
	cJSON_AddBoolToObject(user, "bot", 1);
	cJSON *guilds = cJSON_AddArrayToObject(d, "guilds");
	for (size_t i = 0; i < srv->state.n; i++) {
		const fd_guild *g = srv->state.guilds[i];
		if (!g->bot_member || !session_owns_guild(s, g->id))
			continue;
		cJSON *ug = cJSON_CreateObject();
		fd_json_add_id(ug, "id", g->id);
		cJSON_AddBoolToObject(ug, "unavailable", 1);
		cJSON_AddItemToArray(guilds, ug);
	}
	cJSON_AddStringToObject(d, "session_id", s->id);
	char url[80];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/gateway", srv->port);
	cJSON_AddStringToObject(d, "resume_gateway_url", srv->cfg.resume_url[0] ? srv->cfg.resume_url : url);
	if (s->has_shard) {
		int shard[2] = { s->shard_id, s->shard_count };
		cJSON_AddItemToObject(d, "shard", cJSON_CreateIntArray(shard, 2));
	}
	cJSON *app = cJSON_AddObjectToObject(d, "application");
	fd_json_add_id(app, "id", FD_BOT_ID);
	cJSON_AddNumberToObject(app, "flags", 0);
	char *json = fd_json_take(d);
	fd_gw_dispatch(srv, s, "READY", json);
	free(json);
}

/* The lazy backfill after READY: GUILD_CREATE per guild, or GUILD_DELETE
 * unavailable for a guild that is in an outage. */
static void send_guild_backfill(fd_server *srv, fd_session *s)
{
	if (!(s->intents & FD_INTENT_GUILDS))
		return;
	for (size_t i = 0; i < srv->state.n; i++) {
		const fd_guild *g = srv->state.guilds[i];
		if (!g->bot_member || !session_owns_guild(s, g->id))
			continue;
		char *d;
		if (g->unavailable) {
			cJSON *u = cJSON_CreateObject();
			fd_json_add_id(u, "id", g->id);
			cJSON_AddBoolToObject(u, "unavailable", 1);
			d = fd_json_take(u);
		} else {
			d = fd_json_take(fd_guild_create_cjson(g));
		}
		fd_gw_dispatch(srv, s, g->unavailable ? "GUILD_DELETE" : "GUILD_CREATE", d);
		free(d);
	}
}

/* Close code for a bad IDENTIFY, or 0 when it is acceptable. */
static int identify_check(const fd_server *srv, const cJSON *d, uint64_t *intents,
                          int shard[2], bool *has_shard)
{
	if (!cJSON_IsObject(d))
		return 4002;
	if (!token_ok(srv, d))
		return 4004;
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(d, "intents");
	if (!cJSON_IsNumber(in) || in->valuedouble < 0 || in->valuedouble > 4294967295.0 ||
	    in->valuedouble != (double)(uint64_t)in->valuedouble)
		return 4013;
	*intents = (uint64_t)in->valuedouble;
	if (*intents & ~FD_INTENTS_VALID)
		return 4013;
	if (*intents & FD_INTENTS_PRIVILEGED & ~srv->cfg.enabled_intents)
		return 4014;
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(d, "shard");
	*has_shard = sh != NULL;
	shard[0] = 0;
	shard[1] = 1;
	if (sh) {
		const cJSON *id = cJSON_GetArrayItem(sh, 0), *count = cJSON_GetArrayItem(sh, 1);
		if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) != 2 || !cJSON_IsNumber(id) ||
		    !cJSON_IsNumber(count) || count->valueint < 1 || id->valueint < 0 ||
		    id->valueint >= count->valueint)
			return 4010;
		shard[0] = id->valueint;
		shard[1] = count->valueint;
	}
	return 0;
}

static void handle_identify(fd_server *srv, fd_conn *c, const cJSON *d)
{
	if (c->session) {
		close_with(c, 4005);
		return;
	}
	uint64_t intents = 0;
	int shard[2];
	bool has_shard = false;
	int code = identify_check(srv, d, &intents, shard, &has_shard);
	if (code) {
		close_with(c, code);
		return;
	}
	if (srv->session_remaining <= 0) {
		send_op(srv, c, "{\"op\":9,\"d\":false}");
		return;
	}
	srv->session_remaining--;
	srv->identify_count++;
	fd_identify_admit(srv, shard[0]);   /* a violation is counted, the test fails on it */
	fd_session *s = fd_xmalloc(sizeof *s);
	memset(s, 0, sizeof *s);
	fd_random_hex(s->id);
	s->shard_id = shard[0];
	s->shard_count = shard[1];
	s->has_shard = has_shard;
	s->intents = intents;
	s->conn = c;
	s->next = srv->sessions;
	srv->sessions = s;
	c->session = s;
	send_ready(srv, s);
	send_guild_backfill(srv, s);
	arm_demo(srv);
}

static void handle_resume(fd_server *srv, fd_conn *c, const cJSON *d)
{
	if (c->session) {
		close_with(c, 4005);
		return;
	}
	if (!cJSON_IsObject(d)) {
		close_with(c, 4002);
		return;
	}
	if (!token_ok(srv, d)) {
		close_with(c, 4004);
		return;
	}
	const char *sid = fd_json_str(d, "session_id");
	const cJSON *seqj = cJSON_GetObjectItemCaseSensitive(d, "seq");
	sessions_sweep(srv);
	fd_session *s = sid ? session_find(srv, sid) : NULL;
	if (!s || !session_alive(srv, s, fd_now_ms())) {
		send_op(srv, c, "{\"op\":9,\"d\":false}");
		return;
	}
	int64_t seq = cJSON_IsNumber(seqj) ? (int64_t)seqj->valuedouble : -1;
	if (!cJSON_IsNumber(seqj) || seq < 0 || seq > s->seq) {
		close_with(c, 4007);
		return;
	}
	if (seq < s->dropped_through) { /* the missed events are gone */
		send_op(srv, c, "{\"op\":9,\"d\":false}");
		s->invalid = true;
		return;
	}
	if (s->conn) { /* the old connection is replaced */
		s->conn->session = NULL;
		close_with(s->conn, 4000);
	}
	s->conn = c;
	c->session = s;
	s->resumes++;
	srv->resume_count++;
	for (size_t i = s->first; i < s->n; i++)
		if (s->events[i].s > seq)
			conn_send(srv, c, s->events[i].json, s->events[i].len);
	fd_gw_dispatch(srv, s, "RESUMED", "{}");
}

static void handle_heartbeat(fd_server *srv, fd_conn *c)
{
	srv->heartbeats++;
	if (srv->acks_enabled)
		send_op(srv, c, "{\"op\":11}");
}

/* Sliding 60 s window per connection; over 120 sends -> 4008. */
static bool over_send_limit(fd_conn *c)
{
	int64_t now = fd_now_ms();
	if (now - c->window_start_ms >= FD_SEND_WINDOW_MS) {
		c->window_start_ms = now;
		c->window_sends = 0;
	}
	return ++c->window_sends > FD_SEND_LIMIT;
}

static void handle_message(fd_server *srv, fd_conn *c, const char *text)
{
	cJSON *msg = cJSON_Parse(text);
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(msg, "op");
	log_sent(srv, c, cJSON_IsObject(msg) ? msg : NULL, text);
	if (!cJSON_IsObject(msg) || !cJSON_IsNumber(op)) {
		close_with(c, 4002);
	} else if (over_send_limit(c)) {
		close_with(c, 4008);
	} else {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(msg, "d");
		int code = op->valueint;
		if (code == 1)
			handle_heartbeat(srv, c);
		else if (code == 2)
			handle_identify(srv, c, d);
		else if (code == 6)
			handle_resume(srv, c, d);
		else if (!c->session && (code == 3 || code == 4 || code == 8 || code == 31 || code == 43))
			close_with(c, 4003);
		else if (code == 8)
			fd_op8_handle(srv, c, d);
		else if (code != 3 && code != 4 && code != 31 && code != 43)
			close_with(c, 4001);
	}
	cJSON_Delete(msg);
}

void fd_gw_receive(fd_server *srv, fd_conn *c, const void *in, size_t len, bool final)
{
	if (c->closing)
		return;
	if (c->rx.len + len > FD_MAX_CLIENT_PAYLOAD)
		c->rx_too_big = true;
	else
		fd_buf_put(&c->rx, in, len);
	if (!final)
		return;
	if (c->rx_too_big) {
		log_sent(srv, c, NULL, "[payload over 4096 bytes]");
		close_with(c, 4002);
	} else {
		handle_message(srv, c, c->rx.data ? c->rx.data : "");
	}
	c->rx.len = 0;
	c->rx_too_big = false;
}

/* ---- state and teardown -------------------------------------------------- */

cJSON *fd_gw_state_json(fd_server *srv)
{
	sessions_sweep(srv);
	cJSON *j = cJSON_CreateObject();
	int nconn = 0;
	for (fd_conn *c = srv->conns; c; c = c->next)
		nconn++;
	cJSON_AddNumberToObject(j, "connections", nconn);
	cJSON *arr = cJSON_AddArrayToObject(j, "sessions");
	for (fd_session *s = srv->sessions; s; s = s->next) {
		cJSON *o = cJSON_CreateObject();
		int shard[2] = { s->shard_id, s->shard_count };
		cJSON_AddStringToObject(o, "session_id", s->id);
		cJSON_AddItemToObject(o, "shard", cJSON_CreateIntArray(shard, 2));
		cJSON_AddBoolToObject(o, "connected", s->conn != NULL);
		cJSON_AddBoolToObject(o, "identified", !s->invalid);
		cJSON_AddNumberToObject(o, "resumes", s->resumes);
		cJSON_AddNumberToObject(o, "seq", (double)s->seq);
		cJSON_AddNumberToObject(o, "intents", (double)s->intents);
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddNumberToObject(j, "identify_count", srv->identify_count);
	cJSON_AddNumberToObject(j, "resume_count", srv->resume_count);
	cJSON_AddNumberToObject(j, "heartbeats", srv->heartbeats);
	cJSON_AddNumberToObject(j, "op8_chunks_sent", srv->op8_chunks_sent);
	cJSON_AddNumberToObject(j, "op8_last_chunk_wall_ms", (double)srv->op8_last_chunk_wall_ms);
	cJSON_AddNumberToObject(j, "guilds", (double)srv->state.n);
	cJSON_AddNumberToObject(j, "session_start_remaining", srv->session_remaining);
	fd_identify_state(srv, j);
	return j;
}

void fd_gw_free_all(fd_server *srv)
{
	for (fd_conn *c = srv->conns; c; c = c->next) {
		c->session = NULL;
		fd_conn_send_close(c, 4000, false);
	}
	while (srv->sessions) {
		fd_session *s = srv->sessions;
		srv->sessions = s->next;
		session_free(s);
	}
}
