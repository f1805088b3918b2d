/* fd_dm.c - DM channels of the double (see fd_dm.h).
 *
 * srv->dm_channels maps "<user id>" to "<channel id>", srv->dm_closed holds
 * the users who closed their DMs, srv->dm_log every attempt to send. */
#include "fd_dm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t fd_dm_channel(fd_server *srv, uint64_t uid)
{
	char key[24];
	uint64_t id;
	snprintf(key, sizeof key, "%llu", (unsigned long long)uid);
	if (fd_json_id(cJSON_GetObjectItemCaseSensitive(srv->dm_channels, key), &id))
		return id;
	id = fd_server_snowflake(srv);
	fd_json_add_id(srv->dm_channels, key, id);
	return id;
}

/* The user whose DM channel is channel; 0 when it is not a DM channel. */
static uint64_t dm_user(const fd_server *srv, const char *channel)
{
	const cJSON *e;
	uint64_t uid = 0;
	cJSON_ArrayForEach(e, srv->dm_channels)
		if (strcmp(cJSON_GetStringValue(e), channel) == 0 && fd_parse_id(e->string, &uid))
			return uid;
	return 0;
}

static bool shares_guild(const fd_server *srv, uint64_t uid)
{
	for (size_t i = 0; i < srv->state.n; i++)
		if (srv->state.guilds[i]->bot_member && fd_guild_has_member(srv->state.guilds[i], uid))
			return true;
	return false;
}

cJSON *fd_dm_user_cjson(uint64_t uid)
{
	char name[40];
	snprintf(name, sizeof name, "user%llu", (unsigned long long)uid);
	cJSON *u = cJSON_CreateObject();
	fd_json_add_id(u, "id", uid);
	cJSON_AddStringToObject(u, "username", name);
	cJSON_AddStringToObject(u, "discriminator", "0");
	return u;
}

static void open_dm(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	uint64_t uid;
	if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "recipient_id"), &uid) || uid == 0) {
		fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
		return;
	}
	cJSON *ch = cJSON_CreateObject();
	fd_json_add_id(ch, "id", fd_dm_channel(srv, uid));
	cJSON_AddNumberToObject(ch, "type", 1);
	cJSON_AddNullToObject(ch, "last_message_id");
	cJSON_AddNumberToObject(ch, "flags", 0);
	cJSON *rcp = cJSON_AddArrayToObject(ch, "recipients");
	cJSON_AddItemToArray(rcp, fd_dm_user_cjson(uid));
	fd_resp_json(rs, 200, ch);
}

static void send_dm(fd_server *srv, uint64_t uid, const char *channel, const cJSON *body, fd_resp *rs)
{
	char key[24];
	snprintf(key, sizeof key, "%llu", (unsigned long long)uid);
	if (!cJSON_IsObject(body)) {
		fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
		return;
	}
	bool ok = shares_guild(srv, uid) && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(srv->dm_closed, key));
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "user_id", key);
	cJSON_AddStringToObject(e, "channel_id", channel);
	cJSON_AddBoolToObject(e, "delivered", ok);
	cJSON_AddItemToObject(e, "body", cJSON_Duplicate(body, 1));
	if (!ok)
		cJSON_AddNumberToObject(e, "code", 50007);
	cJSON_AddItemToArray(srv->dm_log, e);
	if (!ok) {
		fd_resp_discord_error(rs, 403, "Cannot send messages to this user", 50007);
		return;
	}
	cJSON *m = cJSON_CreateObject();
	fd_json_add_id(m, "id", fd_server_snowflake(srv));
	cJSON_AddStringToObject(m, "channel_id", channel);
	const char *content = fd_json_str(body, "content");
	cJSON_AddStringToObject(m, "content", content ? content : "");
	cJSON_AddNumberToObject(m, "type", 0);
	fd_resp_json(rs, 200, m);
}

bool fd_dm_route(fd_server *srv, const fd_req *rq, fd_resp *rs)
{
	const char *p = rq->path;
	if (strcmp(rq->method, "POST") != 0 || strncmp(p, "/api/v10/", 9) != 0)
		return false;
	p += 9;
	char channel[32];
	uint64_t uid = 0;
	bool open = strcmp(p, "users/@me/channels") == 0;
	bool msg = sscanf(p, "channels/%31[0-9]/messages", channel) == 1 &&
	           strlen(p) == strlen("channels//messages") + strlen(channel) &&
	           (uid = dm_user(srv, channel)) != 0;
	if (!open && !msg)
		return false;
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : NULL;
	if (open)
		open_dm(srv, body, rs);
	else
		send_dm(srv, uid, channel, body, rs);
	cJSON_Delete(body);
	return true;
}

void fd_dm_ctl_close(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	uint64_t uid;
	if (!fd_json_id(cJSON_GetObjectItemCaseSensitive(body, "user_id"), &uid)) {
		cJSON *j = cJSON_CreateObject();
		cJSON_AddStringToObject(j, "error", "dm_close needs user_id");
		fd_resp_json(rs, 400, j);
		return;
	}
	char key[24];
	snprintf(key, sizeof key, "%llu", (unsigned long long)uid);
	cJSON_DeleteItemFromObjectCaseSensitive(srv->dm_closed, key);
	cJSON_AddBoolToObject(srv->dm_closed, key, fd_json_bool(body, "closed", true));
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	fd_resp_json(rs, 200, j);
}

cJSON *fd_dm_log(const fd_server *srv, const fd_req *rq)
{
	char user[24];
	bool one = fd_req_query(rq, "user", user, sizeof user);
	cJSON *out = cJSON_CreateArray();
	const cJSON *e;
	cJSON_ArrayForEach(e, srv->dm_log)
		if (!one || strcmp(fd_json_str(e, "user_id"), user) == 0)
			cJSON_AddItemToArray(out, cJSON_Duplicate(e, 1));
	return out;
}
