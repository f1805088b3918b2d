/* fd_shards.c - max_concurrency across connections and guilds in bulk
 * (fd_shards.h). */
#include "fd_shards.h"

#include <stdio.h>
#include <stdlib.h>

#include "fd_util.h"

#define FD_IDENTIFY_WINDOW_MS 5000
#define FD_BULK_MAX 100000
#define FD_BULK_MEMBER_BASE 3000000000000000000ULL

void fd_identify_clear(fd_server *srv)
{
	for (int i = 0; i < FD_IDENTIFY_BUCKETS; i++)
		srv->identify_last_ms[i] = 0;
	srv->identify_violations = 0;
	cJSON_Delete(srv->identify_log);
	srv->identify_log = NULL;
}

bool fd_identify_admit(fd_server *srv, int shard_id)
{
	int mc = srv->cfg.max_concurrency > 0 ? srv->cfg.max_concurrency : 1;
	int bucket = (shard_id % mc) % FD_IDENTIFY_BUCKETS;
	int64_t now = fd_now_ms(), last = srv->identify_last_ms[bucket];
	int64_t gap = last ? now - last : -1;
	bool ok = !last || gap >= FD_IDENTIFY_WINDOW_MS;
	srv->identify_last_ms[bucket] = now;
	if (!srv->identify_log)
		srv->identify_log = cJSON_CreateArray();
	cJSON *e = cJSON_CreateObject();
	cJSON_AddNumberToObject(e, "shard", shard_id);
	cJSON_AddNumberToObject(e, "bucket", bucket);
	cJSON_AddNumberToObject(e, "at_ms", (double)now);
	cJSON_AddNumberToObject(e, "gap_ms", (double)gap);
	cJSON_AddBoolToObject(e, "ok", ok);
	cJSON_AddItemToArray(srv->identify_log, e);
	if (!ok) {
		srv->identify_violations++;
		fprintf(stderr, "fakediscord: IDENTIFY of shard %d only %lld ms after the last of bucket %d "
		        "(max_concurrency %d allows one per %d ms)\n", shard_id, (long long)gap, bucket, mc,
		        FD_IDENTIFY_WINDOW_MS);
	}
	return ok;
}

void fd_identify_state(const fd_server *srv, cJSON *state)
{
	cJSON_AddNumberToObject(state, "identify_violations", srv->identify_violations);
	cJSON_AddItemToObject(state, "identify_log",
	                      srv->identify_log ? cJSON_Duplicate(srv->identify_log, 1) : cJSON_CreateArray());
}

void fd_ctl_guild_bulk(fd_server *srv, const cJSON *body, fd_resp *rs)
{
	int64_t count = fd_json_int(body, "count", -1), members = fd_json_int(body, "members", 0);
	uint64_t first = 1000000000000000000ULL;
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(body, "first_id");
	cJSON *j = cJSON_CreateObject();
	if (count < 1 || count > FD_BULK_MAX || members < 0 || members > 1000 ||
	    (f && !fd_json_id(f, &first)) || (first >> 22) == 0) {
		cJSON_AddStringToObject(j, "error", "guild_bulk needs count (1..100000), members (0..1000) "
		                        "and an optional first_id");
		fd_resp_json(rs, 400, j);
		return;
	}
	int64_t made = 0;
	for (int64_t i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof name, "Guild %lld", (long long)i);
		fd_guild *g = fd_state_add_guild(&srv->state, ((first >> 22) + (uint64_t)i) << 22, name, 0);
		if (!g)
			continue;                 /* exists already */
		g->owner_id = FD_BULK_MEMBER_BASE + (uint64_t)i * (uint64_t)(members + 1);
		fd_guild_generate(g, g->owner_id, (size_t)members);
		fd_server_add_bot(g);
		made++;
	}
	cJSON_AddNumberToObject(j, "created", (double)made);
	cJSON_AddBoolToObject(j, "ok", 1);
	fd_resp_json(rs, 200, j);
}
