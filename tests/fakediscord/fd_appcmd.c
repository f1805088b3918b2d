/* fd_appcmd.c - global application commands of the double (fd_appcmd.h).
 *
 * Discord's behaviour as documented (application-commands, "Create Global
 * Application Command" and the routes after it):
 *   GET    /applications/{app}/commands         200, every command
 *   POST   /applications/{app}/commands         201 created, or 200 when a
 *          command of that name and type exists: that one is overwritten
 *   GET    /applications/{app}/commands/{id}    200, or 404 code 10063
 *   PATCH  /applications/{app}/commands/{id}    200, the given fields changed
 *   DELETE /applications/{app}/commands/{id}    204
 *   PUT    /applications/{app}/commands         200: the body is the whole set;
 *          commands not in it are deleted, those matching by id or by name
 *          and type keep their id
 * A command is kept in the shape Discord answers with: its id, application_id
 * and version, the fields the client gave, and the ones Discord fills in
 * (name_localizations null, dm_permission, integration_types [0], nsfw).
 * Discord normalises options too: "required": false and an empty "options"
 * array are left out, as here, so a client comparing what it sent with what
 * it reads back must allow for that. */
#include "fd_appcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMMANDS 100        /* Discord: 100 global CHAT_INPUT commands */
#define UNKNOWN_COMMAND 10063

static const char *const methods[5] = { "GET", "POST", "PATCH", "DELETE", "PUT" };

static cJSON *commands(fd_server *srv)
{
	if (!srv->app_commands)
		srv->app_commands = cJSON_CreateArray();
	return srv->app_commands;
}

void fd_appcmd_clear(fd_server *srv)
{
	cJSON_Delete(srv->app_commands);
	srv->app_commands = NULL;
	memset(srv->appcmd_calls, 0, sizeof srv->appcmd_calls);
	srv->appcmd_reject_count = 0;
}

/* ---- validation ----------------------------------------------------------- */

/* Chat-input names: 1-32 of lower-case letters, digits, - and _ (non-ASCII
 * letters pass: any byte >= 0x80).  Other types: 1-32 characters. */
static bool name_ok(const char *s, int type)
{
	size_t len = s ? strlen(s) : 0;
	if (len < 1 || len > 32)
		return false;
	for (size_t i = 0; type == 1 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static bool description_ok(const cJSON *d, int type)
{
	if (type != 1)
		return !d || (cJSON_IsString(d) && !d->valuestring[0]);
	return cJSON_IsString(d) && strlen(d->valuestring) >= 1 && strlen(d->valuestring) <= 100;
}

static bool options_ok(const cJSON *opts, int depth)
{
	if (!opts || cJSON_IsNull(opts))
		return true;
	if (!cJSON_IsArray(opts) || cJSON_GetArraySize(opts) > 25 || depth > 2)
		return false;
	const cJSON *o;
	cJSON_ArrayForEach(o, opts) {
		int64_t t = fd_json_int(o, "type", 0);
		if (t < 1 || t > 11 || !name_ok(fd_json_str(o, "name"), 1) ||
		    !description_ok(cJSON_GetObjectItemCaseSensitive(o, "description"), 1) ||
		    !options_ok(cJSON_GetObjectItemCaseSensitive(o, "options"), depth + 1))
			return false;
	}
	return true;
}

static bool permissions_ok(const cJSON *p)
{
	uint64_t bits;
	return !p || cJSON_IsNull(p) || (cJSON_IsString(p) && fd_parse_id(p->valuestring, &bits));
}

static bool contexts_ok(const cJSON *c)
{
	if (!c || cJSON_IsNull(c))
		return true;
	const cJSON *x;
	if (!cJSON_IsArray(c))
		return false;
	cJSON_ArrayForEach(x, c)
		if (!cJSON_IsNumber(x) || x->valueint < 0 || x->valueint > 2)
			return false;
	return true;
}

/* The command body (a create, or a PATCH with only some fields). */
static bool command_ok(const cJSON *b, bool partial)
{
	if (!cJSON_IsObject(b))
		return false;
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(b, "name");
	const cJSON *desc = cJSON_GetObjectItemCaseSensitive(b, "description");
	int type = (int)fd_json_int(b, "type", 1);
	if (type < 1 || type > 3)
		return false;
	if ((name || !partial) && !name_ok(cJSON_GetStringValue(name), type))
		return false;
	if ((desc || !partial) && !description_ok(desc, type))
		return false;
	return options_ok(cJSON_GetObjectItemCaseSensitive(b, "options"), 0) &&
	       permissions_ok(cJSON_GetObjectItemCaseSensitive(b, "default_member_permissions")) &&
	       contexts_ok(cJSON_GetObjectItemCaseSensitive(b, "contexts"));
}

/* ---- the stored shape --------------------------------------------------------- */

static void set_item(cJSON *obj, const char *key, cJSON *value)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, value);
	else
		cJSON_AddItemToObject(obj, key, value);
}

/* "required": false and "options": [] dropped, at every level. */
static void normalise_options(cJSON *holder)
{
	cJSON *opts = cJSON_GetObjectItemCaseSensitive(holder, "options"), *o;
	if (opts && (!cJSON_IsArray(opts) || cJSON_GetArraySize(opts) == 0)) {
		cJSON_DeleteItemFromObjectCaseSensitive(holder, "options");
		return;
	}
	cJSON_ArrayForEach(o, opts) {
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "required")))
			cJSON_DeleteItemFromObjectCaseSensitive(o, "required");
		normalise_options(o);
	}
}

static bool contexts_hold(const cJSON *contexts, int ctx)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, contexts)
		if (cJSON_IsNumber(x) && x->valueint == ctx)
			return true;
	return false;
}

/* Fills in what Discord adds; a new version on every change. */
static void normalise(fd_server *srv, cJSON *c)
{
	static const char *const nulls[] = { "name_localizations", "description_localizations",
	                                     "default_member_permissions", "contexts" };
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (!cJSON_GetObjectItemCaseSensitive(c, nulls[i]))
			cJSON_AddNullToObject(c, nulls[i]);
	if (!cJSON_GetObjectItemCaseSensitive(c, "type"))
		cJSON_AddNumberToObject(c, "type", 1);
	if (!cJSON_GetObjectItemCaseSensitive(c, "description"))
		cJSON_AddStringToObject(c, "description", "");
	const cJSON *contexts = cJSON_GetObjectItemCaseSensitive(c, "contexts");
	if (cJSON_IsArray(contexts))
		set_item(c, "dm_permission", cJSON_CreateBool(contexts_hold(contexts, 1)));
	else if (!cJSON_GetObjectItemCaseSensitive(c, "dm_permission"))
		cJSON_AddBoolToObject(c, "dm_permission", 1);
	if (!cJSON_GetObjectItemCaseSensitive(c, "integration_types")) {
		int guild_install = 0;
		cJSON_AddItemToObject(c, "integration_types", cJSON_CreateIntArray(&guild_install, 1));
	}
	if (!cJSON_GetObjectItemCaseSensitive(c, "nsfw"))
		cJSON_AddBoolToObject(c, "nsfw", 0);
	normalise_options(c);
	char v[24];
	snprintf(v, sizeof v, "%llu", (unsigned long long)fd_server_snowflake(srv));
	set_item(c, "version", cJSON_CreateString(v));
}

/* The fields a client may set, copied from body over c. */
static void apply_fields(cJSON *c, const cJSON *body)
{
	static const char *const fields[] = { "name", "name_localizations", "description",
	                                      "description_localizations", "options", "default_member_permissions",
	                                      "dm_permission", "contexts", "integration_types", "nsfw", "type" };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, fields[i]);
		if (v)
			set_item(c, fields[i], cJSON_Duplicate(v, 1));
	}
}

static cJSON *new_command(fd_server *srv, const cJSON *body)
{
	cJSON *c = cJSON_CreateObject();
	fd_json_add_id(c, "id", fd_server_snowflake(srv));
	fd_json_add_id(c, "application_id", FD_APP_ID);
	apply_fields(c, body);
	normalise(srv, c);
	return c;
}

static cJSON *find_by_id(fd_server *srv, const char *id)
{
	cJSON *c;
	cJSON_ArrayForEach(c, commands(srv))
		if (id && strcmp(fd_json_str(c, "id"), id) == 0)
			return c;
	return NULL;
}

static cJSON *find_by_name(fd_server *srv, const char *name, int64_t type, const cJSON *except)
{
	cJSON *c;
	cJSON_ArrayForEach(c, commands(srv))
		if (c != except && name && fd_json_int(c, "type", 1) == type && strcmp(fd_json_str(c, "name"), name) == 0)
			return c;
	return NULL;
}

/* ---- routes --------------------------------------------------------------------- */

static void invalid(fd_resp *rs)
{
	fd_resp_discord_error(rs, 400, "Invalid Form Body", 50035);
}

/* POST: create, or overwrite the command of that name and type. */
static void post_command(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	if (!command_ok(body, false)) {
		invalid(rs);
		return;
	}
	cJSON *old = find_by_name(srv, fd_json_str(body, "name"), fd_json_int(body, "type", 1), NULL);
	if (old) {
		apply_fields(old, body);
		normalise(srv, old);
		fd_resp_json(rs, 200, cJSON_Duplicate(old, 1));
	} else if (cJSON_GetArraySize(commands(srv)) >= MAX_COMMANDS) {
		fd_resp_discord_error(rs, 400, "Maximum number of application commands reached", 30032);
	} else {
		cJSON *c = new_command(srv, body);
		cJSON_AddItemToArray(commands(srv), c);
		fd_resp_json(rs, 201, cJSON_Duplicate(c, 1));
	}
}

static void patch_command(fd_server *srv, cJSON *c, const cJSON *body, fd_resp *rs)
{
	int64_t type = fd_json_int(c, "type", 1);
	const char *name = fd_json_str(body, "name");
	if (!command_ok(body, true) || cJSON_GetObjectItemCaseSensitive(body, "type") ||
	    (name && find_by_name(srv, name, type, c))) {
		invalid(rs);   /* names stay unique per type; "type" is no field of Edit (stricter than Discord) */
		return;
	}
	apply_fields(c, body);
	normalise(srv, c);
	fd_resp_json(rs, 200, cJSON_Duplicate(c, 1));
}

static void delete_command(fd_server *srv, cJSON *c, fd_resp *rs)
{
	cJSON_Delete(cJSON_DetachItemViaPointer(commands(srv), c));
	free(rs->body);
	rs->status = 204;
	rs->body = fd_xstrdup("");
	rs->len = 0;
}

/* PUT: the body is the new set.  Validated whole before anything changes. */
static void put_commands(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	const cJSON *b;
	if (!cJSON_IsArray(body) || cJSON_GetArraySize(body) > MAX_COMMANDS) {
		invalid(rs);
		return;
	}
	cJSON_ArrayForEach(b, body)
		if (!command_ok(b, false)) {
			invalid(rs);
			return;
		}
	cJSON *next = cJSON_CreateArray();
	cJSON_ArrayForEach(b, body) {
		cJSON *old = find_by_id(srv, fd_json_str(b, "id"));
		if (!old)
			old = find_by_name(srv, fd_json_str(b, "name"), fd_json_int(b, "type", 1), NULL);
		cJSON *c = old ? cJSON_DetachItemViaPointer(commands(srv), old) : new_command(srv, b);
		if (old) {
			apply_fields(c, b);
			normalise(srv, c);
		}
		cJSON_AddItemToArray(next, c);
	}
	cJSON_Delete(srv->app_commands);   /* what the body left out is gone */
	srv->app_commands = next;
	fd_resp_json(rs, 200, cJSON_Duplicate(next, 1));
}

static int method_index(const char *m)
{
	for (int i = 0; i < 5; i++)
		if (strcmp(methods[i], m) == 0)
			return i;
	return -1;
}

/* An injected failure for a write (control "reject"); true when it answered. */
static bool rejected(fd_server *srv, int method, fd_resp *rs)
{
	if (method < 1 || srv->appcmd_reject_count <= 0)
		return false;
	srv->appcmd_reject_count--;
	fd_resp_discord_error(rs, srv->appcmd_reject_status, "injected rejection", srv->appcmd_reject_code);
	return true;
}

const char *fd_appcmd_rest(fd_server *srv, const fd_req *rq, const char *app, const char *id, fd_resp *rs)
{
	uint64_t app_id;
	int m = method_index(rq->method);
	cJSON *body = rq->body ? cJSON_Parse(rq->body) : NULL;
	if (m >= 0)
		srv->appcmd_calls[m]++;
	cJSON *c = id ? find_by_id(srv, id) : NULL;
	if (!fd_parse_id(app, &app_id) || app_id != FD_APP_ID)
		fd_resp_discord_error(rs, 403, "Missing Access", 50001);   /* not this bot's application */
	else if (m < 0 || (id && (m == 1 || m == 4)) || (!id && (m == 2 || m == 3)))
		fd_resp_discord_error(rs, 405, "405: Method Not Allowed", 0);
	else if (id && !c)
		fd_resp_discord_error(rs, 404, "Unknown application command", UNKNOWN_COMMAND);
	else if (rejected(srv, m, rs))
		;
	else if (m == 0 && c)
		fd_resp_json(rs, 200, cJSON_Duplicate(c, 1));
	else if (m == 0)
		fd_resp_json(rs, 200, cJSON_Duplicate(commands(srv), 1));
	else if (m == 1)
		post_command(srv, body, rs);
	else if (m == 2)
		patch_command(srv, c, body, rs);
	else if (m == 3)
		delete_command(srv, c, rs);
	else
		put_commands(srv, body, rs);
	cJSON_Delete(body);
	return "fd-application-commands";
}

/* ---- control ------------------------------------------------------------------- */

static cJSON *calls_json(const fd_server *srv)
{
	cJSON *calls = cJSON_CreateObject();
	for (int i = 0; i < 5; i++)
		cJSON_AddNumberToObject(calls, methods[i], srv->appcmd_calls[i]);
	return calls;
}

/* GET /_control/app_commands: {"ok","commands":[...],"calls":{"GET":n,...}} */
static void ctl_list(fd_server *srv, fd_resp *rs)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "commands", cJSON_Duplicate(commands(srv), 1));
	cJSON_AddItemToObject(j, "calls", calls_json(srv));
	cJSON_AddBoolToObject(j, "ok", 1);
	fd_resp_json(rs, 200, j);
}

/* POST /_control/app_commands {command}: as if made by someone else (the
 * bot's own code, another tool); answers {"ok","command":{...}}.  Counts
 * no REST call. */
static void ctl_seed(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(body, "command");
	cJSON *j = cJSON_CreateObject();
	if (!command_ok(cmd, false) ||
	    find_by_name(srv, fd_json_str(cmd, "name"), fd_json_int(cmd, "type", 1), NULL)) {
		cJSON_AddStringToObject(j, "error", "command needs a valid name and description, unique per type");
		fd_resp_json(rs, 400, j);
		return;
	}
	cJSON *c = new_command(srv, cmd);
	cJSON_AddItemToArray(commands(srv), c);
	cJSON_AddItemToObject(j, "command", cJSON_Duplicate(c, 1));
	cJSON_AddBoolToObject(j, "ok", 1);
	fd_resp_json(rs, 200, j);
}

/* POST /_control/app_commands/reject {"count":N,"status":400,"code":50035}:
 * the next N writes answer that error. */
static void ctl_reject(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	srv->appcmd_reject_count = (int)fd_json_int(body, "count", 1);
	srv->appcmd_reject_status = (int)fd_json_int(body, "status", 400);
	srv->appcmd_reject_code = (int)fd_json_int(body, "code", 50035);
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	fd_resp_json(rs, 200, j);
}

bool fd_appcmd_control(fd_server *srv, const fd_req *rq, char **seg, int n, const cJSON *body, fd_resp *rs)
{
	if (n < 1 || strcmp(seg[0], "app_commands") != 0)
		return false;
	bool get = strcmp(rq->method, "GET") == 0, post = strcmp(rq->method, "POST") == 0;
	if (get && n == 1)
		ctl_list(srv, rs);
	else if (post && n == 1)
		ctl_seed(srv, body, rs);
	else if (post && n == 2 && strcmp(seg[1], "reject") == 0)
		ctl_reject(srv, body, rs);
	else
		return false;
	return true;
}
