/* fd_control.c - the /_control/ API (see fd_control.h). */
#include "fd_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fd_appcmd.h"
#include "fd_bench.h"
#include "fd_dm.h"
#include "fd_interact.h"
#include "fd_gateway.h"
#include "fd_op8.h"
#include "fd_shards.h"

#define FD_MAX_GENERATE 10000000

/* ---- answers ------------------------------------------------------------ */

static void ok(fd_resp *rs, cJSON *extra)
{
	cJSON *j = extra ? extra : cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	fd_resp_json(rs, 200, j);
}

static void fail(fd_resp *rs, int status, const char *why)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", why);
	fd_resp_json(rs, status, j);
}

/* ---- member input -------------------------------------------------------- */

static bool parse_roles(const cJSON *arr, uint64_t **roles, size_t *n)
{
	*roles = NULL;
	*n = 0;
	if (!arr)
		return true;
	if (!cJSON_IsArray(arr))
		return false;
	*roles = fd_xmalloc(((size_t)cJSON_GetArraySize(arr) + 1) * sizeof **roles);
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		if (!fd_json_id(it, &(*roles)[*n])) {
			free(*roles);
			*roles = NULL;
			return false;
		}
		(*n)++;
	}
	return true;
}

static void emit_member_add(fd_server *srv, const fd_guild *g, uint64_t uid)
{
	cJSON *d = fd_guild_member_cjson(g, uid);
	fd_json_add_id(d, "guild_id", g->id);
	char *json = fd_json_take(d);
	fd_gw_emit_guild(srv, g->id, "GUILD_MEMBER_ADD", json, FD_INTENT_GUILD_MEMBERS);
	free(json);
}

/* {"members":[{"id","username","roles","bot"}]} -> added; NULL or error text. */
static const char *add_member_list(fd_server *srv, fd_guild *g, const cJSON *members,
                                   bool event, int *added)
{
	if (!members)
		return NULL;
	if (!cJSON_IsArray(members))
		return "members must be an array";
	const cJSON *m;
	cJSON_ArrayForEach(m, members) {
		uint64_t uid, *roles;
		size_t nroles;
		if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(m, "id"), &uid) || uid == 0)
			return "member id must be a snowflake";
		if (!parse_roles(cJSON_GetObjectItemCaseSensitive(m, "roles"), &roles, &nroles))
			return "member roles must be snowflakes";
		const char *name = fd_json_str(m, "username");
		bool bot = fd_json_bool(m, "bot", false);
		if (name || nroles || bot)
			fd_guild_set_extra(g, uid, name, roles, nroles, bot);
		free(roles);
		if (fd_guild_add_members(g, &uid, 1)) {
			(*added)++;
			if (event)
				emit_member_add(srv, g, uid);
		}
	}
	return NULL;
}

/* {"generate":{"count":N,"first_id":"..."}} */
static const char *add_generated(fd_server *srv, fd_guild *g, const cJSON *gen,
                                 bool event, int *added)
{
	if (!gen)
		return NULL;
	int64_t count = fd_json_int(gen, "count", -1);
	uint64_t first = 2000000000000000000ULL;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(gen, "first_id");
	if (count < 0 || count > FD_MAX_GENERATE || (f && !fd_json_id(f, &first)) || first == 0)
		return "generate needs count (0..10000000) and an optional first_id";
	*added += (int)fd_guild_generate(g, first, (size_t)count);
	for (int64_t i = 0; event && i < count; i++)
		emit_member_add(srv, g, first + (uint64_t)i);
	return NULL;
}

static const char *add_roles(fd_guild *g, const cJSON *roles)
{
	if (!roles)
		return NULL;
	if (!cJSON_IsArray(roles))
		return "roles must be an array";
	const cJSON *r;
	cJSON_ArrayForEach(r, roles) {
		uint64_t id, perms = 0;
		const char *name = fd_json_str(r, "name");
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "permissions");
		if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(r, "id"), &id) || !name ||
		    (p && !fd_json_id(p, &perms)))
			return "role needs id, name and permissions (decimal string)";
		fd_guild_add_role(g, id, name, perms);
	}
	return NULL;
}

/* ---- guild routes --------------------------------------------------------- */

static void create_guild(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	uint64_t id, owner = FD_DEMO_OWNER;
	const cJSON *oj = cJSON_GetObjectItemCaseSensitive(body, "owner_id");
	const char *name = fd_json_str(body, "name");
	if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "id"), &id) || id == 0 ||
	    (oj && !fd_json_id(oj, &owner))) {
		fail(rs, 400, "guild needs a snowflake id (and owner_id if given)");
		return;
	}
	fd_guild *g = fd_state_add_guild(&srv->state, id, name ? name : "Test Guild", owner);
	if (!g) {
		fail(rs, 400, "guild exists");
		return;
	}
	int added = 0;
	const char *err = add_roles(g, cJSON_GetObjectItemCaseSensitive(body, "roles"));
	if (!err)
		err = add_member_list(srv, g, cJSON_GetObjectItemCaseSensitive(body, "members"), false, &added);
	if (!err)
		err = add_generated(srv, g, cJSON_GetObjectItemCaseSensitive(body, "generate"), false, &added);
	fd_server_add_bot(g);
	if (err) {
		fail(rs, 400, err); /* the guild stays, partially filled */
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "member_count", (double)g->nids);
	cJSON_AddNumberToObject(j, "notified", fd_gw_guild_create(srv, g));
	ok(rs, j);
}

static void add_members(fd_server *srv, fd_guild *g, const cJSON *body, fd_resp *rs)
{
	int added = 0;
	bool event = fd_json_bool(body, "event", false);
	const char *err = add_member_list(srv, g, cJSON_GetObjectItemCaseSensitive(body, "members"), event, &added);
	if (!err)
		err = add_generated(srv, g, cJSON_GetObjectItemCaseSensitive(body, "generate"), event, &added);
	if (err) {
		fail(rs, 400, err);
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "added", added);
	cJSON_AddNumberToObject(j, "member_count", (double)g->nids);
	ok(rs, j);
}

bool fd_ctl_remove_member(fd_server *srv, fd_guild *g, uint64_t uid, bool event)
{
	if (!fd_guild_remove_member(g, uid))
		return false;
	if (event) {
		fd_buf b = {0};
		fd_buf_printf(&b, "{\"guild_id\":\"%llu\",\"user\":", (unsigned long long)g->id);
		fd_guild_user_json(g, uid, &b);
		fd_buf_puts(&b, "}");
		fd_gw_emit_guild(srv, g->id, "GUILD_MEMBER_REMOVE", b.data, FD_INTENT_GUILD_MEMBERS);
		fd_buf_free(&b);
	}
	return true;
}

static void remove_member(fd_server *srv, fd_guild *g, const char *uid_s,
                          const fd_req *rq, fd_resp *rs)
{
	uint64_t uid;
	char ev[8] = "1";
	fd_req_query(rq, "event", ev, sizeof ev);
	if (!fd_parse_id(uid_s, &uid) || !fd_ctl_remove_member(srv, g, uid, strcmp(ev, "0") != 0)) {
		fail(rs, 400, "no such member");
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "member_count", (double)g->nids);
	ok(rs, j);
}

static void remove_bot(fd_server *srv, fd_guild *g, const cJSON *body, fd_resp *rs)
{
	bool outage = fd_json_bool(body, "unavailable", false);
	cJSON *d = cJSON_CreateObject();
	fd_json_add_id(d, "id", g->id);
	if (outage) {
		cJSON_AddBoolToObject(d, "unavailable", 1);
		g->unavailable = true;
	}
	char *json = fd_json_take(d);
	/* Sent before the bot leaves, while sessions still route to it. */
	int n = g->bot_member ? fd_gw_emit_guild(srv, g->id, "GUILD_DELETE", json, FD_INTENT_GUILDS) : 0;
	free(json);
	if (!outage) {
		fd_guild_remove_member(g, FD_BOT_ID);
		g->bot_member = false;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "notified", n);
	ok(rs, j);
}

/* Ends an outage or re-adds the bot: GUILD_CREATE again. */
static void restore_guild(fd_server *srv, fd_guild *g, fd_resp *rs)
{
	g->unavailable = false;
	fd_server_add_bot(g);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "notified", fd_gw_guild_create(srv, g));
	ok(rs, j);
}

static void guild_route(fd_server *srv, const fd_req *rq, char **seg, int n,
                        const cJSON *body, fd_resp *rs)
{
	uint64_t id;
	fd_guild *g = fd_parse_id(seg[1], &id) ? fd_state_find(&srv->state, id) : NULL;
	bool post = strcmp(rq->method, "POST") == 0, del = strcmp(rq->method, "DELETE") == 0;
	if (!g)
		fail(rs, 404, "unknown guild");
	else if (post && n == 3 && strcmp(seg[2], "members") == 0)
		add_members(srv, g, body, rs);
	else if (del && n == 4 && strcmp(seg[2], "members") == 0)
		remove_member(srv, g, seg[3], rq, rs);
	else if (post && n == 3 && strcmp(seg[2], "remove_bot") == 0)
		remove_bot(srv, g, body, rs);
	else if (post && n == 3 && strcmp(seg[2], "restore") == 0)
		restore_guild(srv, g, rs);
	else if (post && n == 3 && strcmp(seg[2], "burst") == 0)
		fd_bench_burst(srv, g, body, rs);
	else
		fail(rs, 404, "unknown control route");
}

/* ---- gateway scripting ---------------------------------------------------- */

static void ctl_dispatch(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	const char *t = fd_json_str(body, "t");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "d");
	if (!t) {
		fail(rs, 400, "dispatch needs t");
		return;
	}
	int64_t zeros = fd_json_int(body, "d_zeros", 0);
	char *json;
	if (zeros > 0 && zeros <= 64 << 20) {
		/* d = [0,0,...]: a message far costlier to parse than to send */
		json = fd_xmalloc((size_t)zeros * 2 + 2);
		for (int64_t i = 0; i < zeros; i++)
			memcpy(json + 2 * i, i ? ",0" : "[0", 2);
		memcpy(json + 2 * zeros, "]", 2);
	} else {
		json = d ? cJSON_PrintUnformatted(d) : fd_xstrdup("null");
	}
	int n = fd_gw_emit_all(srv, t, json, (int)fd_json_int(body, "shard", -1));
	free(json);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "sessions", n);
	ok(rs, j);
}

static void ctl_raw(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	/* An invalid deflate block (BTYPE 11) ending in the flush suffix, so
	 * the client tries to inflate it and fails. */
	static const unsigned char garbage[] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff };
	int n;
	if (fd_json_bool(body, "corrupt_zlib", false)) {
		n = fd_gw_raw_all(srv, garbage, sizeof garbage, true);
	} else {
		const char *data = fd_json_str(body, "data");
		if (!data) {
			fail(rs, 400, "raw needs data or corrupt_zlib");
			return;
		}
		n = fd_gw_raw_all(srv, data, strlen(data), fd_json_bool(body, "binary", false));
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "connections", n);
	ok(rs, j);
}

static void ctl_op(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	const cJSON *op = cJSON_GetObjectItemCaseSensitive(body, "op");
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(body, "d");
	if (!cJSON_IsNumber(op)) {
		fail(rs, 400, "op needs a number");
		return;
	}
	cJSON *p = cJSON_CreateObject();
	cJSON_AddNumberToObject(p, "op", op->valueint);
	cJSON_AddItemToObject(p, "d", d ? cJSON_Duplicate(d, 1) : cJSON_CreateNull());
	char *json = fd_json_take(p);
	int n = fd_gw_payload_all(srv, json);
	free(json);
	if (op->valueint == 9 && !cJSON_IsTrue(d))
		fd_gw_invalidate_all(srv);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "connections", n);
	ok(rs, j);
}

static void ctl_close(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	int code = (int)fd_json_int(body, "code", 4000);
	bool drop = fd_json_bool(body, "drop", false);
	/* Codes after which Discord does not keep the session. */
	bool ends_session = code == 4003 || code == 4004 || code == 4007 ||
	                    (code >= 4009 && code <= 4014);
	if (!drop && (code < 1000 || code > 4999)) {
		fail(rs, 400, "close code out of range");
		return;
	}
	if (fd_json_bool(body, "invalidate", ends_session && !drop))
		fd_gw_invalidate_all(srv);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "connections", fd_gw_close_all(srv, code, drop));
	ok(rs, j);
}

static int id_list(const cJSON *arr, uint64_t *out, int max)
{
	int n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr)
		if (n < max && fd_json_id(it, &out[n]))
			n++;
	return n;
}

static void ctl_config(fd_server *srv, const cJSON *b, fd_resp *rs)
{
	fd_config *c = &srv->cfg;
	c->heartbeat_interval_ms = (int)fd_json_int(b, "heartbeat_interval", c->heartbeat_interval_ms);
	c->enabled_intents = (uint64_t)fd_json_int(b, "enabled_intents", (int64_t)c->enabled_intents);
	c->chunk_size = (int)fd_json_int(b, "chunk_size", c->chunk_size);
	c->op8_rate_limit_s = (int)fd_json_int(b, "op8_rate_limit_s", c->op8_rate_limit_s);
	c->op8_chunk_limit = (int)fd_json_int(b, "op8_chunk_limit", c->op8_chunk_limit);
	c->shards = (int)fd_json_int(b, "shards", c->shards);
	c->resume_window_s = (int)fd_json_int(b, "resume_window_s", c->resume_window_s);
	c->split_compressed = fd_json_bool(b, "split_compressed", c->split_compressed);
	c->compressed_fragments = (int)fd_json_int(b, "compressed_fragments", c->compressed_fragments);
	c->max_concurrency = (int)fd_json_int(b, "max_concurrency", c->max_concurrency);
	c->replay_cap_bytes = (size_t)fd_json_int(b, "replay_cap_bytes", (int64_t)c->replay_cap_bytes);
	srv->session_remaining = (int)fd_json_int(b, "session_start_remaining", srv->session_remaining);
	const char *resume = fd_json_str(b, "resume_gateway_url");
	if (resume)
		snprintf(c->resume_url, sizeof c->resume_url, "%s", resume);
	const cJSON *owners = cJSON_GetObjectItemCaseSensitive(b, "owner_ids");
	if (cJSON_IsArray(owners))
		c->n_owner_ids = id_list(owners, c->owner_ids, 16);
	c->lookup_limit = (int)fd_json_int(b, "lookup_limit", c->lookup_limit);
	c->lookup_window_ms = (int)fd_json_int(b, "lookup_window_ms", c->lookup_window_ms);
	const cJSON *omit = cJSON_GetObjectItemCaseSensitive(b, "list_omit");
	if (cJSON_IsArray(omit))
		c->n_list_omit = id_list(omit, c->list_omit, 16);
	const cJSON *team = cJSON_GetObjectItemCaseSensitive(b, "team");
	if (cJSON_IsArray(team))
		c->n_team = id_list(team, c->team, 16);
	c->interaction_token_ms = fd_json_int(b, "interaction_token_ms", c->interaction_token_ms);
	if (c->chunk_size < 1 || c->chunk_size > 1000)
		c->chunk_size = 1000;
	if (c->shards < 1)
		c->shards = 1;
	fd_op8_release(srv);
	ok(rs, NULL);
}

/* The rule for this route prefix: the existing one (a later call resets
 * it, count 0 ends it) or a new one; NULL when the table is full. */
static fd_rl_rule *rule_for(fd_server *srv, const char *route)
{
	for (int i = 0; i < srv->n_rl_rules; i++)
		if (strcmp(srv->rl_rules[i].prefix, route) == 0)
			return &srv->rl_rules[i];
	if (srv->n_rl_rules >= (int)(sizeof srv->rl_rules / sizeof srv->rl_rules[0]))
		return NULL;
	fd_rl_rule *r = &srv->rl_rules[srv->n_rl_rules++];
	snprintf(r->prefix, sizeof r->prefix, "%s", route);
	return r;
}

/* {"route":prefix,"count":N,"retry_after":s,"global":b}: the next N requests
 * whose path starts with prefix answer 429. */
static void ctl_ratelimit(fd_server *srv, const cJSON *b, fd_resp *rs)
{
	const char *route = fd_json_str(b, "route");
	fd_rl_rule *r = route && strlen(route) < sizeof r->prefix ? rule_for(srv, route) : NULL;
	if (!r) {
		fail(rs, 400, "ratelimit needs route (and fewer than 32 rules)");
		return;
	}
	r->status = 429;
	r->count = (int)fd_json_int(b, "count", 1);
	const cJSON *ra = cJSON_GetObjectItemCaseSensitive(b, "retry_after");
	r->retry_after = cJSON_IsNumber(ra) ? ra->valuedouble : 1.0;
	r->global = fd_json_bool(b, "global", false);
	ok(rs, NULL);
}

/* {"route":prefix,"count":N,"status":5xx}: the next N requests whose path
 * starts with prefix answer that server error (default 500). */
static void ctl_fail(fd_server *srv, const cJSON *b, fd_resp *rs)
{
	const char *route = fd_json_str(b, "route");
	int status = (int)fd_json_int(b, "status", 500);
	fd_rl_rule *r = route && strlen(route) < sizeof r->prefix && status >= 500 && status <= 599
	                ? rule_for(srv, route) : NULL;
	if (!r) {
		fail(rs, 400, "fail needs route and a 5xx status (and fewer than 32 rules)");
		return;
	}
	r->status = status;
	r->count = (int)fd_json_int(b, "count", 1);
	r->retry_after = 0;
	r->global = false;
	ok(rs, NULL);
}

/* ---- read-back ----------------------------------------------------------- */

/* Copies the entries of log with "i" >= since into a new array. */
static cJSON *log_since(const cJSON *log, const fd_req *rq)
{
	char buf[24] = "0";
	fd_req_query(rq, "since", buf, sizeof buf);
	long since = atol(buf);
	cJSON *out = cJSON_CreateArray();
	const cJSON *e;
	int i = 0;
	cJSON_ArrayForEach(e, log) {
		if (i++ >= since)
			cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
	}
	return out;
}

static void ctl_members(fd_server *srv, const char *gid, fd_resp *rs)
{
	uint64_t id;
	const fd_guild *g = fd_parse_id(gid, &id) ? fd_state_find(&srv->state, id) : NULL;
	if (!g) {
		fail(rs, 404, "unknown guild");
		return;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "count", (double)g->nids);
	if (g->nids <= 10000) {
		cJSON *ids = cJSON_AddArrayToObject(j, "ids");
		for (size_t i = 0; i < g->nids; i++) {
			char tmp[24];
			snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)g->ids[i]);
			cJSON_AddItemToArray(ids, cJSON_CreateString(tmp));
		}
	}
	ok(rs, j);
}

/* ---- routing ------------------------------------------------------------- */

static void route_get(fd_server *srv, const fd_req *rq, char **seg, int n, fd_resp *rs)
{
	if (n == 1 && strcmp(seg[0], "state") == 0)
		ok(rs, fd_gw_state_json(srv));
	else if (n == 1 && strcmp(seg[0], "sent") == 0)
		fd_resp_json(rs, 200, log_since(srv->sent_log, rq));
	else if (n == 1 && strcmp(seg[0], "requests") == 0)
		fd_resp_json(rs, 200, log_since(srv->request_log, rq));
	else if (n == 1 && strcmp(seg[0], "messages") == 0)
		fd_resp_json(rs, 200, cJSON_Duplicate(srv->messages, 1));
	else if (n == 1 && strcmp(seg[0], "edits") == 0)
		fd_resp_json(rs, 200, cJSON_Duplicate(srv->edits, 1));
	else if (n == 2 && strcmp(seg[0], "members") == 0)
		ctl_members(srv, seg[1], rs);
	else if (n == 1 && strcmp(seg[0], "burst") == 0)
		fd_bench_stamps(rs);
	else if (n == 1 && strcmp(seg[0], "interactions") == 0)
		fd_resp_json(rs, 200, fd_interact_log(srv));
	else if (n == 1 && strcmp(seg[0], "dms") == 0)
		fd_resp_json(rs, 200, fd_dm_log(srv, rq));
	else
		fail(rs, 404, "unknown control route");
}

static void route_post(fd_server *srv, const cJSON *body, char **seg, fd_resp *rs)
{
	static const struct {
		const char *name;
		void (*fn)(fd_server *, const cJSON *, fd_resp *);
	} table[] = {
		{ "guilds", create_guild }, { "dispatch", ctl_dispatch }, { "raw", ctl_raw },
		{ "op", ctl_op },           { "close", ctl_close },       { "config", ctl_config },
		{ "ratelimit", ctl_ratelimit }, { "fail", ctl_fail },
		{ "guild_bulk", fd_ctl_guild_bulk },
		{ "interaction", fd_interact_ctl_dispatch }, { "dm_close", fd_dm_ctl_close },
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (strcmp(seg[0], table[i].name) == 0) {
			table[i].fn(srv, body, rs);
			return;
		}
	}
	if (strcmp(seg[0], "acks") == 0) {
		srv->acks_enabled = fd_json_bool(body, "enabled", true);
		ok(rs, NULL);
	} else if (strcmp(seg[0], "reset") == 0) {
		fd_server_reset(srv);
		ok(rs, NULL);
	} else {
		fail(rs, 404, "unknown control route");
	}
}

void fd_ctl_handle(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	char path[512], *seg[6], *save = NULL;
	int n = 0;
	snprintf(path, sizeof path, "%s", rq->path + strlen("/_control/"));
	for (char *t = strtok_r(path, "/", &save); t && n < 6; t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : cJSON_CreateObject();
	if (n == 0) {
		fail(rs, 404, "unknown control route");
	} else if (cJSON_IsObject(body) && fd_appcmd_control(srv, rq, seg, n, body, rs)) {
		/* application commands: answered (fd_appcmd.c) */
	} else if (!cJSON_IsObject(body)) {
		fail(rs, 400, "body must be a JSON object");
	} else if (strcmp(rq->method, "GET") == 0) {
		route_get(srv, rq, seg, n, rs);
	} else if (n >= 3 && strcmp(seg[0], "guilds") == 0) {
		guild_route(srv, rq, seg, n, body, rs);
	} else if (n == 1 && strcmp(rq->method, "POST") == 0) {
		route_post(srv, body, seg, rs);
	} else {
		fail(rs, 404, "unknown control route");
	}
	cJSON_Delete(body);
}

/* ---- demo ---------------------------------------------------------------- */

void fd_demo_fire(lws_sorted_usec_list_t *sul)
{
	fd_server *srv = lws_container_of(sul, fd_server, demo_sul);
	fd_guild *g = fd_state_find(&srv->state, FD_DEMO_GUILD);
	if (g && fd_ctl_remove_member(srv, g, FD_DEMO_LEAVER, true))
		printf("fakediscord: demo: member %llu left Demo Guild\n",
		       (unsigned long long)FD_DEMO_LEAVER);
	fflush(stdout);
}
