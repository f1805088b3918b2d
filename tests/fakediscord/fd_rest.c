/* fd_rest.c - REST endpoints of the double (see fd_rest.h). */
#include "fd_rest.h"
#include "fd_appcmd.h"
#include "fd_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fd_dm.h"
#include "fd_interact.h"

#define FD_MAX_SEGS 8

typedef struct {
	char *seg[FD_MAX_SEGS];
	int n;
	char storage[512];
} fd_route;

/* "/api/v10/guilds/1/members" -> {"guilds","1","members"} */
static void split_route(const char *path, fd_route *r)
{
	snprintf(r->storage, sizeof r->storage, "%s", path + strlen("/api/v10/"));
	r->n = 0;
	for (char *save = NULL, *tok = strtok_r(r->storage, "/", &save);
	     tok && r->n < FD_MAX_SEGS; tok = strtok_r(NULL, "/", &save))
		r->seg[r->n++] = tok;
}

static bool seg_is(const fd_route *r, int i, const char *s)
{
	return i < r->n && strcmp(r->seg[i], s) == 0;
}

static void add_limit_headers(fd_resp *rs, const char *bucket, int limit, int remaining,
                              double reset_after)
{
	char v[64];
	snprintf(v, sizeof v, "%d", limit);
	fd_resp_header(rs, "X-RateLimit-Limit", v);
	snprintf(v, sizeof v, "%d", remaining);
	fd_resp_header(rs, "X-RateLimit-Remaining", v);
	snprintf(v, sizeof v, "%.3f", (double)fd_wall_ms() / 1000.0 + reset_after);
	fd_resp_header(rs, "X-RateLimit-Reset", v);
	snprintf(v, sizeof v, "%.3f", reset_after);
	fd_resp_header(rs, "X-RateLimit-Reset-After", v);
	fd_resp_header(rs, "X-RateLimit-Bucket", bucket);
}

static void add_ratelimit_headers(fd_resp *rs, const char *bucket, int remaining,
                                  double reset_after)
{
	add_limit_headers(rs, bucket, 10, remaining, reset_after);
}

static void rate_limited(fd_resp *rs, double retry_after, bool global)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "message", "You are being rate limited.");
	cJSON_AddNumberToObject(j, "retry_after", retry_after);
	cJSON_AddBoolToObject(j, "global", global);
	fd_resp_json(rs, 429, j);
	char v[32];
	snprintf(v, sizeof v, "%.0f", ceil(retry_after));
	fd_resp_header(rs, "Retry-After", v);
}

static const char *dispatch(fd_server *srv, const fd_req *rq, fd_resp *rs);

/* cfg.lookup_limit: GET /guilds/{id}/members/{user} as a real bucket of
 * lookup_limit per window (Discord: 5 per 5 s); true when it answered. */
static bool lookup_bucket(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	fd_route r;
	if (srv->cfg.lookup_limit <= 0 || strcmp(rq->method, "GET") != 0)
		return false;
	split_route(rq->path, &r);
	if (r.n != 4 || !seg_is(&r, 0, "guilds") || !seg_is(&r, 2, "members"))
		return false;
	int64_t now = fd_now_ms(), window = srv->cfg.lookup_window_ms > 0 ? srv->cfg.lookup_window_ms : 5000;
	if (now - srv->lookup_window_start >= window) {
		srv->lookup_window_start = now;
		srv->lookup_used = 0;
	}
	double reset = (double)(srv->lookup_window_start + window - now) / 1000.0;
	if (srv->lookup_used >= srv->cfg.lookup_limit) {
		rate_limited(rs, reset, false);
		fd_resp_header(rs, "X-RateLimit-Scope", "user");
	} else {
		srv->lookup_used++;
		dispatch(srv, rq, rs);
	}
	add_limit_headers(rs, "fd-guild-member", srv->cfg.lookup_limit,
	                  srv->cfg.lookup_limit - srv->lookup_used, reset);
	return true;
}

/* An injected 429 (or 5xx) for this path, if a rule still has count left. */
static bool injected_429(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	for (int i = 0; i < srv->n_rl_rules; i++) {
		fd_rl_rule *rule = &srv->rl_rules[i];
		if (rule->count <= 0 || strncmp(rq->path, rule->prefix, strlen(rule->prefix)) != 0)
			continue;
		rule->count--;
		if (rule->status != 429) {
			fd_resp_discord_error(rs, rule->status, "injected server error", 0);
			return true;
		}
		rate_limited(rs, rule->retry_after, rule->global);
		add_ratelimit_headers(rs, "fd-injected", 0, rule->retry_after);
		fd_resp_header(rs, "X-RateLimit-Scope", rule->global ? "global" : "user");
		if (rule->global)
			fd_resp_header(rs, "X-RateLimit-Global", "true");
		return true;
	}
	return false;
}

static bool auth_ok(const fd_server *srv, const fd_req *rq)
{
	return rq->has_auth && strncmp(rq->auth, "Bot ", 4) == 0 &&
	       strcmp(rq->auth + 4, srv->cfg.token) == 0;
}

static cJSON *bot_user(void)
{
	cJSON *u = cJSON_CreateObject();
	fd_json_add_id(u, "id", FD_BOT_ID);
	cJSON_AddStringToObject(u, "username", FD_BOT_NAME);
	cJSON_AddStringToObject(u, "discriminator", "0");
	cJSON_AddNullToObject(u, "global_name");
	cJSON_AddNullToObject(u, "avatar");
	cJSON_AddBoolToObject(u, "bot", 1);
	return u;
}

static cJSON *plain_user(uint64_t id)
{
	cJSON *u = cJSON_CreateObject();
	char name[40];
	snprintf(name, sizeof name, "user%llu", (unsigned long long)id);
	fd_json_add_id(u, "id", id);
	cJSON_AddStringToObject(u, "username", name);
	cJSON_AddStringToObject(u, "discriminator", "0");
	return u;
}

static void get_application(fd_server *srv, fd_resp *rs)
{
	cJSON *j = cJSON_CreateObject();
	fd_json_add_id(j, "id", FD_BOT_ID);
	cJSON_AddStringToObject(j, "name", FD_BOT_NAME);
	cJSON_AddItemToObject(j, "bot", bot_user());
	uint64_t owner = srv->cfg.n_owner_ids ? srv->cfg.owner_ids[0] : FD_DEMO_OWNER;
	if (srv->cfg.n_team > 0) {
		/* A team-owned application: the owner is a pseudo-user. */
		cJSON_AddItemToObject(j, "owner", plain_user(FD_BOT_ID + 1));
		cJSON *team = cJSON_AddObjectToObject(j, "team");
		fd_json_add_id(team, "id", FD_BOT_ID + 1);
		fd_json_add_id(team, "owner_user_id", srv->cfg.team[0]);
		cJSON_AddStringToObject(team, "name", "Demo Team");
		cJSON *members = cJSON_AddArrayToObject(team, "members");
		for (int i = 0; i < srv->cfg.n_team; i++) {
			cJSON *m = cJSON_CreateObject();
			cJSON_AddNumberToObject(m, "membership_state", 2);
			fd_json_add_id(m, "team_id", FD_BOT_ID + 1);
			cJSON_AddStringToObject(m, "role", "admin");
			cJSON_AddItemToObject(m, "user", plain_user(srv->cfg.team[i]));
			cJSON_AddItemToArray(members, m);
		}
	} else {
		cJSON_AddItemToObject(j, "owner", plain_user(owner));
		cJSON_AddNullToObject(j, "team");
	}
	cJSON_AddNumberToObject(j, "flags", 0);
	fd_resp_json(rs, 200, j);
}

static void get_gateway_bot(fd_server *srv, fd_resp *rs)
{
	char url[80];
	snprintf(url, sizeof url, "ws://127.0.0.1:%d/gateway", srv->port);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "url", url);
	cJSON_AddNumberToObject(j, "shards", srv->cfg.shards);
	cJSON *ssl = cJSON_AddObjectToObject(j, "session_start_limit");
	cJSON_AddNumberToObject(ssl, "total", 1000);
	cJSON_AddNumberToObject(ssl, "remaining", srv->session_remaining);
	cJSON_AddNumberToObject(ssl, "reset_after", 86400000);
	cJSON_AddNumberToObject(ssl, "max_concurrency", srv->cfg.max_concurrency);
	fd_resp_json(rs, 200, j);
}

/* Parses an integer query argument in [lo, hi]; false when out of range. */
static bool query_int(const fd_req *rq, const char *name, long lo, long hi, long *v)
{
	char buf[32];
	if (!fd_req_query(rq, name, buf, sizeof buf))
		return true;
	char *end;
	long x = strtol(buf, &end, 10);
	if (!*buf || *end || x < lo || x > hi)
		return false;
	*v = x;
	return true;
}

static bool query_after(const fd_req *rq, uint64_t *after)
{
	char buf[32];
	*after = 0;
	return !fd_req_query(rq, "after", buf, sizeof buf) || fd_parse_id(buf, after);
}

static void get_my_guilds(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	long limit = 200;
	uint64_t after;
	if (!query_int(rq, "limit", 1, 200, &limit) || !query_after(rq, &after)) {
		fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
		return;
	}
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < srv->state.n && cJSON_GetArraySize(arr) < limit; i++) {
		const fd_guild *g = srv->state.guilds[i];
		if (!g->bot_member || g->id <= after)
			continue;
		cJSON *pg = cJSON_CreateObject();
		char perms[24];
		snprintf(perms, sizeof perms, "%llu",
		         (unsigned long long)fd_guild_member_perms(g, FD_BOT_ID));
		fd_json_add_id(pg, "id", g->id);
		cJSON_AddStringToObject(pg, "name", g->name);
		cJSON_AddNullToObject(pg, "icon");
		cJSON_AddNullToObject(pg, "banner");
		cJSON_AddBoolToObject(pg, "owner", 0);
		cJSON_AddStringToObject(pg, "permissions", perms);
		cJSON_AddItemToObject(pg, "features", cJSON_CreateArray());
		cJSON_AddItemToArray(arr, pg);
	}
	fd_resp_json(rs, 200, arr);
}

/* The guild named by seg[1], or NULL after writing the 404/403 answer. */
static const fd_guild *guild_for_rest(fd_server *srv, const fd_route *r, fd_resp *rs)
{
	uint64_t id;
	const fd_guild *g = fd_parse_id(r->seg[1], &id) ? fd_state_find(&srv->state, id) : NULL;
	if (!g)
		fd_resp_discord_error(rs, 404, "Unknown Guild", 10004);
	else if (!g->bot_member)
		fd_resp_discord_error(rs, 403, "Missing Access", 50001);
	return g && g->bot_member ? g : NULL;
}

static void list_members(fd_server *srv, const fd_guild *g, const fd_req *rq, fd_resp *rs)
{
	long limit = 1;
	uint64_t after;
	if (!query_int(rq, "limit", 1, 1000, &limit) || !query_after(rq, &after)) {
		fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
		return;
	}
	/* Needs the GUILD_MEMBERS toggle in the portal, not the intent. */
	if (!(srv->cfg.enabled_intents & FD_INTENT_GUILD_MEMBERS)) {
		fd_resp_discord_error(rs, 403, "Missing Access", 50001);
		return;
	}
	fd_buf b = {0};
	fd_buf_puts(&b, "[");
	size_t from = fd_guild_index_after(g, after);
	long n = 0;
	for (size_t i = from; i < g->nids && n < limit; i++) {
		if (fd_list_omits(srv, g->ids[i]))
			continue;              /* a wrong list (cfg.list_omit) */
		if (n++)
			fd_buf_puts(&b, ",");
		fd_guild_member_json(g, g->ids[i], &b);
	}
	fd_buf_puts(&b, "]");
	free(rs->body);
	rs->status = 200;
	rs->body = b.data;
	rs->len = b.len;
}

static void get_member(const fd_guild *g, const char *uid_s, fd_resp *rs)
{
	uint64_t uid;
	if (!fd_parse_id(uid_s, &uid) || !fd_guild_has_member(g, uid)) {
		fd_resp_discord_error(rs, 404, "Unknown Member", 10007);
		return;
	}
	fd_resp_json(rs, 200, fd_guild_member_cjson(g, uid));
}

static void post_message(fd_server *srv, const fd_route *r, const fd_req *rq, fd_resp *rs)
{
	uint64_t channel;
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : NULL;
	if (!fd_parse_id(r->seg[1], &channel)) {
		fd_resp_discord_error(rs, 404, "Unknown Channel", 10003);
	} else if (!cJSON_IsObject(body)) {
		fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
	} else {
		uint64_t id = fd_server_snowflake(srv);
		cJSON *rec = cJSON_CreateObject();
		fd_json_add_id(rec, "channel_id", channel);
		fd_json_add_id(rec, "id", id);
		cJSON_AddItemToObject(rec, "body", cJSON_Duplicate(body, 1));
		cJSON_AddNumberToObject(rec, "at_ms", (double)fd_now_ms());
		cJSON_AddItemToArray(srv->messages, rec);
		cJSON *m = cJSON_CreateObject();
		fd_json_add_id(m, "id", id);
		fd_json_add_id(m, "channel_id", channel);
		const char *content = fd_json_str(body, "content");
		cJSON_AddStringToObject(m, "content", content ? content : "");
		cJSON_AddItemToObject(m, "author", bot_user());
		cJSON_AddStringToObject(m, "timestamp", "2025-01-01T00:00:00.000000+00:00");
		cJSON_AddNullToObject(m, "edited_timestamp");
		cJSON_AddBoolToObject(m, "tts", 0);
		cJSON_AddBoolToObject(m, "mention_everyone", 0);
		cJSON_AddItemToObject(m, "mentions", cJSON_CreateArray());
		cJSON_AddItemToObject(m, "mention_roles", cJSON_CreateArray());
		cJSON_AddItemToObject(m, "attachments", cJSON_CreateArray());
		cJSON_AddItemToObject(m, "embeds", cJSON_CreateArray());
		cJSON_AddBoolToObject(m, "pinned", 0);
		cJSON_AddNumberToObject(m, "type", 0);
		fd_resp_json(rs, 200, m);
	}
	cJSON_Delete(body);
}

/* PATCH /channels/{c}/messages/{m}: edit a message the bot posted.  The
 * edit is recorded (GET /_control/edits, with its monotonic at_ms) and the
 * posted record gets the latest body as "edited". */
static void patch_message(fd_server *srv, const fd_route *r, const fd_req *rq, fd_resp *rs)
{
	uint64_t channel, id;
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : NULL, *rec = NULL, *e;
	if (fd_parse_id(r->seg[1], &channel) && fd_parse_id(r->seg[3], &id))
		cJSON_ArrayForEach(e, srv->messages)
			if (strcmp(fd_json_str(e, "id") ? fd_json_str(e, "id") : "", r->seg[3]) == 0 &&
			    strcmp(fd_json_str(e, "channel_id") ? fd_json_str(e, "channel_id") : "", r->seg[1]) == 0)
				rec = e;
	if (!rec) {
		fd_resp_discord_error(rs, 404, "Unknown Message", 10008);
	} else if (!cJSON_IsObject(body)) {
		fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
	} else {
		cJSON *ed = cJSON_CreateObject();
		fd_json_add_id(ed, "channel_id", channel);
		fd_json_add_id(ed, "message_id", id);
		cJSON_AddItemToObject(ed, "body", cJSON_Duplicate(body, 1));
		cJSON_AddNumberToObject(ed, "at_ms", (double)fd_now_ms());   /* tests check the edits' spacing */
		cJSON_AddItemToArray(srv->edits, ed);
		cJSON_DeleteItemFromObject(rec, "edited");
		cJSON_AddItemToObject(rec, "edited", cJSON_Duplicate(body, 1));
		cJSON *m = cJSON_CreateObject();
		fd_json_add_id(m, "id", id);
		fd_json_add_id(m, "channel_id", channel);
		const char *content = fd_json_str(body, "content");
		cJSON_AddStringToObject(m, "content", content ? content : "");
		cJSON_AddStringToObject(m, "edited_timestamp", "2025-01-01T00:00:01.000000+00:00");
		fd_resp_json(rs, 200, m);
	}
	cJSON_Delete(body);
}

/* Routes an authorized request; returns the bucket name for the headers. */
static const char *dispatch(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	fd_route r;
	split_route(rq->path, &r);
	bool get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
	if (fd_dm_route(srv, rq, rs))
		return "fd-dm";
	if (get && r.n == 2 && seg_is(&r, 0, "users") && seg_is(&r, 1, "@me")) {
		fd_resp_json(rs, 200, bot_user());
		return "fd-users-me";
	}
	if (get && r.n == 3 && seg_is(&r, 0, "users") && seg_is(&r, 1, "@me") && seg_is(&r, 2, "guilds")) {
		get_my_guilds(srv, rq, rs);
		return "fd-my-guilds";
	}
	if (get && r.n == 2 && seg_is(&r, 0, "applications") && seg_is(&r, 1, "@me")) {
		get_application(srv, rs);
		return "fd-application";
	}
	if (get && r.n == 2 && seg_is(&r, 0, "gateway") && seg_is(&r, 1, "bot")) {
		get_gateway_bot(srv, rs);
		return "fd-gateway-bot";
	}
	if (get && r.n >= 2 && r.n <= 4 && seg_is(&r, 0, "guilds") &&
	    (r.n == 2 || seg_is(&r, 2, "members"))) {
		const fd_guild *g = guild_for_rest(srv, &r, rs);
		char wc[16];
		bool counts = fd_req_query(rq, "with_counts", wc, sizeof wc) &&
		              (strcmp(wc, "true") == 0 || strcmp(wc, "True") == 0 || strcmp(wc, "1") == 0);
		if (g && r.n == 2)
			fd_resp_json(rs, 200, fd_guild_rest_cjson(g, counts));
		else if (g && r.n == 3)
			list_members(srv, g, rq, rs);
		else if (g)
			get_member(g, r.seg[3], rs);
		return r.n == 2 ? "fd-guild" : "fd-guild-members";
	}
	if (post && r.n == 3 && seg_is(&r, 0, "channels") && seg_is(&r, 2, "messages")) {
		post_message(srv, &r, rq, rs);
		return "fd-channel-messages";
	}
	if (strcmp(rq->method, "PATCH") == 0 && r.n == 4 && seg_is(&r, 0, "channels") && seg_is(&r, 2, "messages")) {
		patch_message(srv, &r, rq, rs);
		return "fd-channel-messages";
	}
	/* application commands (fd_appcmd.c) */
	if (r.n >= 3 && r.n <= 4 && seg_is(&r, 0, "applications") && seg_is(&r, 2, "commands"))
		return fd_appcmd_rest(srv, rq, r.seg[1], r.n == 4 ? r.seg[3] : NULL, rs);
	fd_resp_discord_error(rs, 404, "404: Not Found", 0);
	return "fd-unknown";
}

static void log_request(fd_server *srv, const fd_req *rq, int status)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "i", cJSON_GetArraySize(srv->request_log));
	cJSON_AddNumberToObject(e, "at_ms", (double)fd_now_ms());
	cJSON_AddStringToObject(e, "method", rq->method);
	cJSON_AddStringToObject(e, "path", rq->path);
	cJSON_AddStringToObject(e, "query", rq->query);
	/* Whether a token came, never which one. */
	cJSON_AddBoolToObject(e, "auth", rq->has_auth);
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : NULL;
	if (!body)
		body = rq->body ? cJSON_CreateString(rq->body) : cJSON_CreateNull();
	cJSON_AddItemToObject(e, "body", body);
	cJSON_AddNumberToObject(e, "status", status);
	cJSON_AddItemToArray(srv->request_log, e);
}

void fd_rest_handle(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	if (fd_interact_rest(srv, rq, rs)) {
		/* interaction callbacks and webhooks: the token in the path authorizes */
	} else if (!auth_ok(srv, rq)) {
		fd_resp_discord_error(rs, 401, "401: Unauthorized", 0);
		add_ratelimit_headers(rs, "fd-unauthorized", 9, 1.0);
	} else if (!injected_429(srv, rq, rs) && !lookup_bucket(srv, rq, rs)) {
		const char *bucket = dispatch(srv, rq, rs);
		add_ratelimit_headers(rs, bucket, 9, 1.0);
	}
	log_request(srv, rq, rs->status);
}
