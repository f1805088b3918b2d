/* fd_state.c - guild/member model (see fd_state.h). */
#include "fd_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FD_JOINED_AT "2025-01-01T00:00:00.000000+00:00"

static void guild_free(fd_guild *g)
{
	for (size_t i = 0; i < g->nroles; i++)
		free(g->roles[i].name);
	for (size_t i = 0; i < g->nextras; i++) {
		free(g->extras[i].username);
		free(g->extras[i].roles);
	}
	free(g->roles);
	free(g->extras);
	free(g->ids);
	free(g->name);
	free(g);
}

void fd_state_clear(fd_state *st)
{
	for (size_t i = 0; i < st->n; i++)
		guild_free(st->guilds[i]);
	free(st->guilds);
	memset(st, 0, sizeof *st);
}

/* Index of the first guild with id >= id. */
static size_t guild_lower_bound(const fd_state *st, uint64_t id)
{
	size_t lo = 0, hi = st->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->guilds[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

fd_guild *fd_state_find(const fd_state *st, uint64_t id)
{
	size_t i = guild_lower_bound(st, id);
	return i < st->n && st->guilds[i]->id == id ? st->guilds[i] : NULL;
}

fd_guild *fd_state_add_guild(fd_state *st, uint64_t id, const char *name,
                             uint64_t owner_id)
{
	size_t at = guild_lower_bound(st, id);
	if (at < st->n && st->guilds[at]->id == id)
		return NULL;
	fd_guild *g = fd_xmalloc(sizeof *g);
	memset(g, 0, sizeof *g);
	g->id = id;
	g->owner_id = owner_id;
	g->name = fd_xstrdup(name);
	g->channel_id = id + 1; /* a distinct, stable snowflake for the channel */
	g->bot_member = true;
	fd_guild_add_role(g, id, "@everyone", 0);
	if (st->n == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 8;
		st->guilds = fd_xrealloc(st->guilds, st->cap * sizeof *st->guilds);
	}
	memmove(st->guilds + at + 1, st->guilds + at, (st->n - at) * sizeof *st->guilds);
	st->guilds[at] = g;
	st->n++;
	return g;
}

void fd_guild_add_role(fd_guild *g, uint64_t id, const char *name, uint64_t perms)
{
	for (size_t i = 0; i < g->nroles; i++) {
		if (g->roles[i].id == id) {
			free(g->roles[i].name);
			g->roles[i].name = fd_xstrdup(name);
			g->roles[i].permissions = perms;
			return;
		}
	}
	g->roles = fd_xrealloc(g->roles, (g->nroles + 1) * sizeof *g->roles);
	g->roles[g->nroles++] = (fd_role){ id, fd_xstrdup(name), perms };
}

size_t fd_guild_index_after(const fd_guild *g, uint64_t after)
{
	size_t lo = 0, hi = g->nids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->ids[mid] <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool fd_guild_has_member(const fd_guild *g, uint64_t uid)
{
	size_t i = uid ? fd_guild_index_after(g, uid - 1) : 0;
	return i < g->nids && g->ids[i] == uid;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void reserve_ids(fd_guild *g, size_t extra)
{
	if (g->nids + extra <= g->capids)
		return;
	size_t cap = g->capids ? g->capids : 64;
	while (cap < g->nids + extra)
		cap *= 2;
	g->ids = fd_xrealloc(g->ids, cap * sizeof *g->ids);
	g->capids = cap;
}

/* Sorts and removes duplicates; appends that keep the order skip the sort,
 * which is what makes a generated million-member guild cheap. */
static void normalize_ids(fd_guild *g, size_t old_n)
{
	bool sorted = true;
	for (size_t i = old_n ? old_n : 1; i < g->nids && sorted; i++)
		sorted = g->ids[i - 1] < g->ids[i];
	if (sorted)
		return;
	qsort(g->ids, g->nids, sizeof *g->ids, cmp_u64);
	size_t w = 0;
	for (size_t r = 0; r < g->nids; r++)
		if (w == 0 || g->ids[w - 1] != g->ids[r])
			g->ids[w++] = g->ids[r];
	g->nids = w;
}

size_t fd_guild_add_members(fd_guild *g, const uint64_t *ids, size_t n)
{
	size_t before = g->nids;
	reserve_ids(g, n);
	memcpy(g->ids + g->nids, ids, n * sizeof *ids);
	g->nids += n;
	normalize_ids(g, before);
	return g->nids - before;
}

size_t fd_guild_generate(fd_guild *g, uint64_t first_id, size_t count)
{
	size_t before = g->nids;
	reserve_ids(g, count);
	for (size_t i = 0; i < count; i++)
		g->ids[g->nids++] = first_id + i;
	normalize_ids(g, before);
	return g->nids - before;
}

static size_t extra_lower_bound(const fd_guild *g, uint64_t uid)
{
	size_t lo = 0, hi = g->nextras;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (g->extras[mid].id < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const fd_member_extra *fd_guild_extra(const fd_guild *g, uint64_t uid)
{
	size_t i = extra_lower_bound(g, uid);
	return i < g->nextras && g->extras[i].id == uid ? &g->extras[i] : NULL;
}

void fd_guild_set_extra(fd_guild *g, uint64_t uid, const char *username,
                        const uint64_t *roles, size_t nroles, bool bot)
{
	size_t i = extra_lower_bound(g, uid);
	fd_member_extra *e;
	if (i < g->nextras && g->extras[i].id == uid) {
		e = &g->extras[i];
		free(e->username);
		free(e->roles);
	} else {
		if (g->nextras == g->capextras) {
			g->capextras = g->capextras ? g->capextras * 2 : 16;
			g->extras = fd_xrealloc(g->extras, g->capextras * sizeof *g->extras);
		}
		memmove(g->extras + i + 1, g->extras + i, (g->nextras - i) * sizeof *g->extras);
		g->nextras++;
		e = &g->extras[i];
	}
	e->id = uid;
	e->username = username ? fd_xstrdup(username) : NULL;
	e->roles = NULL;
	e->nroles = nroles;
	if (nroles) {
		e->roles = fd_xmalloc(nroles * sizeof *roles);
		memcpy(e->roles, roles, nroles * sizeof *roles);
	}
	e->bot = bot;
}

bool fd_guild_remove_member(fd_guild *g, uint64_t uid)
{
	if (!fd_guild_has_member(g, uid))
		return false;
	size_t i = fd_guild_index_after(g, uid - 1);
	memmove(g->ids + i, g->ids + i + 1, (g->nids - i - 1) * sizeof *g->ids);
	g->nids--;
	/* Extras stay: a removed member's username is still needed for the
	 * GUILD_MEMBER_REMOVE user object and a re-added member keeps them. */
	return true;
}

void fd_guild_username(const fd_guild *g, uint64_t uid, char *out, size_t len)
{
	const fd_member_extra *e = fd_guild_extra(g, uid);
	if (e && e->username)
		snprintf(out, len, "%s", e->username);
	else
		snprintf(out, len, "user%llu", (unsigned long long)uid);
}

uint64_t fd_guild_member_perms(const fd_guild *g, uint64_t uid)
{
	if (uid == g->owner_id)
		return FD_PERM_ALL;
	uint64_t perms = 0;
	const fd_member_extra *e = fd_guild_extra(g, uid);
	for (size_t r = 0; r < g->nroles; r++) {
		bool held = g->roles[r].id == g->id;
		for (size_t k = 0; e && !held && k < e->nroles; k++)
			held = e->roles[k] == g->roles[r].id;
		if (held)
			perms |= g->roles[r].permissions;
	}
	return (perms & FD_PERM_ADMINISTRATOR) ? FD_PERM_ALL : perms;
}

void fd_guild_user_json(const fd_guild *g, uint64_t uid, fd_buf *out)
{
	char name[128];
	const fd_member_extra *e = fd_guild_extra(g, uid);
	fd_guild_username(g, uid, name, sizeof name);
	fd_buf_printf(out, "{\"id\":\"%llu\",\"username\":", (unsigned long long)uid);
	fd_buf_json_str(out, name);
	fd_buf_puts(out, ",\"discriminator\":\"0\",\"global_name\":null,\"avatar\":null");
	if (e && e->bot)
		fd_buf_puts(out, ",\"bot\":true");
	fd_buf_puts(out, "}");
}

void fd_guild_member_json(const fd_guild *g, uint64_t uid, fd_buf *out)
{
	const fd_member_extra *e = fd_guild_extra(g, uid);
	fd_buf_puts(out, "{\"user\":");
	fd_guild_user_json(g, uid, out);
	fd_buf_puts(out, ",\"roles\":[");
	for (size_t k = 0; e && k < e->nroles; k++)
		fd_buf_printf(out, "%s\"%llu\"", k ? "," : "", (unsigned long long)e->roles[k]);
	fd_buf_puts(out, "],\"nick\":null,\"avatar\":null,\"joined_at\":\"" FD_JOINED_AT
	            "\",\"premium_since\":null,\"deaf\":false,\"mute\":false,"
	            "\"flags\":0,\"pending\":false}");
}

cJSON *fd_guild_member_cjson(const fd_guild *g, uint64_t uid)
{
	fd_buf b = {0};
	fd_guild_member_json(g, uid, &b);
	cJSON *j = cJSON_Parse(b.data);
	fd_buf_free(&b);
	return j;
}

cJSON *fd_guild_roles_cjson(const fd_guild *g)
{
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < g->nroles; i++) {
		cJSON *r = cJSON_CreateObject();
		char perms[24];
		snprintf(perms, sizeof perms, "%llu", (unsigned long long)g->roles[i].permissions);
		fd_json_add_id(r, "id", g->roles[i].id);
		cJSON_AddStringToObject(r, "name", g->roles[i].name);
		cJSON_AddNumberToObject(r, "color", 0);
		cJSON_AddBoolToObject(r, "hoist", 0);
		cJSON_AddNumberToObject(r, "position", (double)i);
		cJSON_AddStringToObject(r, "permissions", perms);
		cJSON_AddBoolToObject(r, "managed", 0);
		cJSON_AddBoolToObject(r, "mentionable", 0);
		cJSON_AddNumberToObject(r, "flags", 0);
		cJSON_AddItemToArray(arr, r);
	}
	return arr;
}

cJSON *fd_guild_rest_cjson(const fd_guild *g, bool with_counts)
{
	cJSON *j = cJSON_CreateObject();
	fd_json_add_id(j, "id", g->id);
	cJSON_AddStringToObject(j, "name", g->name);
	cJSON_AddNullToObject(j, "icon");
	fd_json_add_id(j, "owner_id", g->owner_id);
	cJSON_AddItemToObject(j, "roles", fd_guild_roles_cjson(g));
	cJSON_AddItemToObject(j, "features", cJSON_CreateArray());
	if (with_counts) {
		cJSON_AddNumberToObject(j, "approximate_member_count", (double)g->nids);
		cJSON_AddNumberToObject(j, "approximate_presence_count", 0);
	}
	return j;
}

cJSON *fd_guild_create_cjson(const fd_guild *g)
{
	cJSON *j = fd_guild_rest_cjson(g, false);
	cJSON_AddStringToObject(j, "joined_at", FD_JOINED_AT);
	cJSON_AddBoolToObject(j, "large", g->nids > 250);
	cJSON_AddBoolToObject(j, "unavailable", 0);
	cJSON_AddNumberToObject(j, "member_count", (double)g->nids);
	cJSON *members = cJSON_AddArrayToObject(j, "members");
	if (fd_guild_has_member(g, FD_BOT_ID))
		cJSON_AddItemToArray(members, fd_guild_member_cjson(g, FD_BOT_ID));
	cJSON *channels = cJSON_AddArrayToObject(j, "channels");
	cJSON *ch = cJSON_CreateObject();
	fd_json_add_id(ch, "id", g->channel_id);
	cJSON_AddNumberToObject(ch, "type", 0);
	cJSON_AddStringToObject(ch, "name", "general");
	cJSON_AddNumberToObject(ch, "position", 0);
	cJSON_AddItemToObject(ch, "permission_overwrites", cJSON_CreateArray());
	cJSON_AddItemToArray(channels, ch);
	cJSON_AddItemToObject(j, "voice_states", cJSON_CreateArray());
	cJSON_AddItemToObject(j, "presences", cJSON_CreateArray());
	cJSON_AddItemToObject(j, "threads", cJSON_CreateArray());
	return j;
}
