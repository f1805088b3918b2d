/* fd_interact.c - interactions in the double (see fd_interact.h).
 *
 * Each dispatched interaction is one record in srv->interactions; the REST
 * routes find it by id (callback) or token (webhooks) and append what the
 * client sent, with the milliseconds since the dispatch, so tests can check
 * both the answers and their timing.  Discord's rules modelled: the first
 * callback within 3 s (else 404 / 10062 Unknown interaction), one callback
 * only (400 / 40060 already acknowledged), webhook calls while the token
 * lives (cfg.interaction_token_ms, default 15 min; else 404 / 10015 Unknown
 * Webhook), and an edit of @original only after the callback (10008). */
#include "fd_interact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fd_dm.h"
#include "fd_gateway.h"

#define FD_CALLBACK_WINDOW_MS 3000

static void ctl_fail(fd_resp *rs, const char *why)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "error", why);
	fd_resp_json(rs, 400, j);
}

static char *perm_str(uint64_t v, char buf[24])
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

/* member with "permissions": base guild permissions, then the member's
 * channel overwrite (deny, then allow) unless ADMINISTRATOR/owner. */
static cJSON *member_json(const fd_guild *g, uint64_t uid, const cJSON *ow)
{
	uint64_t perms = fd_guild_member_perms(g, uid), allow = 0, deny = 0;
	if (perms != FD_PERM_ALL && cJSON_IsObject(ow)) {
		fd_json_id(cJSON_GetObjectItemCaseSensitive(ow, "allow"), &allow);
		fd_json_id(cJSON_GetObjectItemCaseSensitive(ow, "deny"), &deny);
		perms = (perms & ~deny) | allow;
	}
	char buf[24];
	cJSON *m = fd_guild_member_cjson(g, uid);
	cJSON_AddStringToObject(m, "permissions", perm_str(perms, buf));
	return m;
}

/* data: {id, name, type 1, options: [{type 1, name: sub, options}]} */
static cJSON *command_data(fd_server *srv, const cJSON *body)
{
	uint64_t cmd_id;
	if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "command_id"), &cmd_id))
		cmd_id = fd_server_snowflake(srv);
	cJSON *data = cJSON_CreateObject();
	fd_json_add_id(data, "id", cmd_id);
	cJSON_AddStringToObject(data, "name", fd_json_str(body, "name"));
	cJSON_AddNumberToObject(data, "type", 1);
	cJSON *opts = cJSON_AddArrayToObject(data, "options");
	const char *sub = fd_json_str(body, "subcommand");
	if (sub) {
		cJSON *so = cJSON_CreateObject();
		cJSON_AddNumberToObject(so, "type", 1);
		cJSON_AddStringToObject(so, "name", sub);
		const cJSON *o = cJSON_GetObjectItemCaseSensitive(body, "options");
		cJSON_AddItemToObject(so, "options", cJSON_IsArray(o) ? cJSON_Duplicate(o, 1)
		                                                       : cJSON_CreateArray());
		cJSON_AddItemToArray(opts, so);
	}
	return data;
}

/* Where the interaction happens: fills the payload's guild/channel/member
 * (or user) fields; NULL or an error text. */
static const char *place(fd_server *srv, const cJSON *body, uint64_t uid, cJSON *d,
                         uint64_t *guild_id)
{
	uint64_t channel = 0;
	fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "channel_id"), &channel);
	char buf[24];
	*guild_id = 0;
	if (fd_json_bool(body, "dm", false)) {
		fd_json_add_id(d, "channel_id", fd_dm_channel(srv, uid));
		cJSON_AddItemToObject(d, "user", fd_dm_user_cjson(uid));
		cJSON_AddNumberToObject(d, "context", 1);
		cJSON_AddStringToObject(d, "app_permissions", perm_str(0x4C00, buf));
		return NULL;
	}
	const fd_guild *g = fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "guild_id"), guild_id)
	                    ? fd_state_find(&srv->state, *guild_id) : NULL;
	if (!g)
		return "interaction needs a known guild_id (or dm: true)";
	if (!fd_guild_has_member(g, uid))
		return "user_id is not a member of that guild";
	fd_json_add_id(d, "guild_id", g->id);
	fd_json_add_id(d, "channel_id", channel ? channel : g->channel_id);
	cJSON_AddItemToObject(d, "member", member_json(g, uid, cJSON_GetObjectItemCaseSensitive(body, "overwrite")));
	cJSON_AddNumberToObject(d, "context", 0);
	cJSON_AddStringToObject(d, "app_permissions", perm_str(fd_guild_member_perms(g, FD_BOT_ID), buf));
	cJSON_AddStringToObject(d, "guild_locale", "en-US");
	return NULL;
}

static cJSON *new_record(const cJSON *d, uint64_t uid)
{
	cJSON *rec = cJSON_CreateObject();
	static const char *const copy[] = { "id", "token", "application_id", "guild_id", "channel_id" };
	for (size_t i = 0; i < sizeof copy / sizeof copy[0]; i++) {
		const char *v = fd_json_str(d, copy[i]);
		if (v)
			cJSON_AddStringToObject(rec, copy[i], v);
	}
	fd_json_add_id(rec, "user_id", uid);
	cJSON_AddStringToObject(rec, "name", fd_json_str(cJSON_GetObjectItemCaseSensitive(d, "data"), "name"));
	cJSON_AddNumberToObject(rec, "dispatched_ms", (double)fd_now_ms());
	cJSON_AddNullToObject(rec, "callback");
	cJSON_AddArrayToObject(rec, "edits");
	cJSON_AddArrayToObject(rec, "followups");
	cJSON_AddArrayToObject(rec, "refused");
	return rec;
}

void fd_interact_ctl_dispatch(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	uint64_t uid, gid;
	if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "user_id"), &uid) || !fd_json_str(body, "name")) {
		ctl_fail(rs, "interaction needs user_id and name");
		return;
	}
	cJSON *d = cJSON_CreateObject();
	char token[33];
	fd_random_hex(token);
	fd_json_add_id(d, "id", fd_server_snowflake(srv));
	fd_json_add_id(d, "application_id", FD_BOT_ID);
	cJSON_AddNumberToObject(d, "type", 2);
	cJSON_AddStringToObject(d, "token", token);
	cJSON_AddNumberToObject(d, "version", 1);
	cJSON_AddStringToObject(d, "locale", "en-US");
	cJSON_AddItemToObject(d, "entitlements", cJSON_CreateArray());
	const char *err = place(srv, body, uid, d, &gid);
	if (err) {
		cJSON_Delete(d);
		ctl_fail(rs, err);
		return;
	}
	cJSON_AddItemToObject(d, "data", command_data(srv, body));
	cJSON_AddItemToArray(srv->interactions, new_record(d, uid));
	char *json = cJSON_PrintUnformatted(d);
	/* A DM belongs to shard 0, a guild's interaction to the guild's shard. */
	int n = gid ? fd_gw_emit_guild(srv, gid, "INTERACTION_CREATE", json, 0)
	            : fd_gw_emit_all(srv, "INTERACTION_CREATE", json, 0);
	free(json);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", fd_json_str(d, "id"));
	cJSON_AddStringToObject(j, "token", token);
	cJSON_AddNumberToObject(j, "sessions", n);
	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON_Delete(d);
	fd_resp_json(rs, 200, j);
}

cJSON *fd_interact_log(const fd_server *srv)
{
	return cJSON_Duplicate(srv->interactions, 1);
}

/* ---- REST ------------------------------------------------------------------ */

static cJSON *find(const fd_server *srv, const char *field, const char *value)
{
	cJSON *rec;
	cJSON_ArrayForEach(rec, srv->interactions) {
		const char *v = fd_json_str(rec, field);
		if (v && strcmp(v, value) == 0)
			return rec;
	}
	return NULL;
}

static int64_t age_ms(const cJSON *rec)
{
	return fd_now_ms() - (int64_t)fd_json_int(rec, "dispatched_ms", 0);
}

/* Appends {body, ms} (or {route, code, ms}) to rec's array named list. */
static void note(cJSON *rec, const char *list, const char *route, const cJSON *body, int code)
{
	cJSON *e = cJSON_CreateObject();
	if (route)
		cJSON_AddStringToObject(e, "route", route);
	if (body)
		cJSON_AddItemToObject(e, "body", cJSON_Duplicate(body, 1));
	if (code)
		cJSON_AddNumberToObject(e, "code", code);
	cJSON_AddNumberToObject(e, "ms", (double)age_ms(rec));
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(rec, list), e);
}

/* A Discord error, also noted in the record's "refused" list. */
static void refuse(cJSON *rec, fd_resp *rs, const char *route, int status, const char *msg, int code)
{
	if (rec)
		note(rec, "refused", route, NULL, code);
	fd_resp_discord_error(rs, status, msg, code);
}

static void callback(fd_server *srv, const char *id, const char *token, const cJSON *body, fd_resp *rs)
{
	cJSON *rec = find(srv, "id", id);
	const char *tok = rec ? fd_json_str(rec, "token") : NULL;
	if (!rec || !tok || strcmp(tok, token) != 0) {
		fd_resp_discord_error(rs, 404, "Unknown interaction", 10062);
	} else if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rec, "callback"))) {
		refuse(rec, rs, "callback", 400, "Interaction has already been acknowledged.", 40060);
	} else if (age_ms(rec) > FD_CALLBACK_WINDOW_MS) {
		refuse(rec, rs, "callback", 404, "Unknown interaction", 10062);
	} else if (!cJSON_IsObject(body) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(body, "type"))) {
		refuse(rec, rs, "callback", 400, "Invalid Form Body", 50035);
	} else {
		cJSON *cb = cJSON_CreateObject();
		cJSON_AddNumberToObject(cb, "type", fd_json_int(body, "type", 0));
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(body, "data");
		cJSON_AddItemToObject(cb, "data", data ? cJSON_Duplicate(data, 1) : cJSON_CreateNull());
		cJSON_AddNumberToObject(cb, "ms", (double)age_ms(rec));
		cJSON_ReplaceItemInObjectCaseSensitive(rec, "callback", cb);
		free(rs->body);
		rs->status = 204;        /* Discord: 204 No Content without with_response */
		rs->body = fd_xstrdup("");
		rs->len = 0;
	}
}

static cJSON *message_json(fd_server *srv, const cJSON *rec, const cJSON *body)
{
	cJSON *m = cJSON_CreateObject();
	fd_json_add_id(m, "id", fd_server_snowflake(srv));
	cJSON_AddStringToObject(m, "channel_id", fd_json_str(rec, "channel_id"));
	const char *content = fd_json_str(body, "content");
	cJSON_AddStringToObject(m, "content", content ? content : "");
	cJSON *a = cJSON_AddObjectToObject(m, "author");
	fd_json_add_id(a, "id", FD_BOT_ID);
	cJSON_AddStringToObject(a, "username", FD_BOT_NAME);
	cJSON_AddBoolToObject(a, "bot", 1);
	cJSON_AddNumberToObject(m, "type", 20);   /* CHAT_INPUT_COMMAND */
	cJSON_AddNumberToObject(m, "flags", (double)fd_json_int(body, "flags", 0));
	return m;
}

/* PATCH .../messages/@original (edit) or POST /webhooks/{app}/{token}. */
static void webhook(fd_server *srv, const char *app, const char *token, bool edit,
                    const cJSON *body, fd_resp *rs)
{
	const char *route = edit ? "edit" : "followup";
	cJSON *rec = find(srv, "token", token);
	const char *rec_app = rec ? fd_json_str(rec, "application_id") : NULL;
	if (!rec || !rec_app || strcmp(rec_app, app) != 0 || age_ms(rec) > srv->cfg.interaction_token_ms)
		refuse(rec, rs, route, 404, "Unknown Webhook", 10015);
	else if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rec, "callback")))
		refuse(rec, rs, route, edit ? 404 : 400, edit ? "Unknown Message" : "Unknown interaction",
		       edit ? 10008 : 10062);
	else if (!cJSON_IsObject(body))
		refuse(rec, rs, route, 400, "Invalid Form Body", 50035);
	else {
		note(rec, edit ? "edits" : "followups", NULL, body, 0);
		fd_resp_json(rs, 200, message_json(srv, rec, body));
	}
}

bool fd_interact_rest(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	char path[512], *seg[6], *save = NULL;
	int n = 0;
	if (strncmp(rq->path, "/api/v10/", 9) != 0)
		return false;
	snprintf(path, sizeof path, "%s", rq->path + 9);
	for (char *t = strtok_r(path, "/", &save); t && n < 6; t = strtok_r(NULL, "/", &save))
		seg[n++] = t;
	bool post = strcmp(rq->method, "POST") == 0, patch = strcmp(rq->method, "PATCH") == 0;
	bool is_cb = n == 4 && strcmp(seg[0], "interactions") == 0 && strcmp(seg[3], "callback") == 0;
	bool is_wh = n >= 3 && strcmp(seg[0], "webhooks") == 0;
	if (!is_cb && !is_wh)
		return false;
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : NULL;
	if (is_cb && post)
		callback(srv, seg[1], seg[2], body, rs);
	else if (is_wh && post && n == 3)
		webhook(srv, seg[1], seg[2], false, body, rs);
	else if (is_wh && patch && n == 5 && strcmp(seg[3], "messages") == 0 && strcmp(seg[4], "@original") == 0)
		webhook(srv, seg[1], seg[2], true, body, rs);
	else
		fd_resp_discord_error(rs, 405, "405: Method Not Allowed", 0);
	cJSON_Delete(body);
	return true;
}
