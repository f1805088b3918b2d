/* fd_op8.c - REQUEST_GUILD_MEMBERS handling (see fd_op8.h). */
#include "fd_op8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "fd_gateway.h"

#define FD_OP8_MAX_IDS 100

typedef struct {
	uint64_t guild_id;
	char nonce[40];
	bool has_nonce;
} op8_req;

static void render_chunk(const fd_guild *g, const op8_req *rq, const uint64_t *ids,
                         size_t n, int index, int count, const cJSON *not_found,
                         fd_buf *out)
{
	fd_buf_printf(out, "{\"guild_id\":\"%llu\",\"members\":[", (unsigned long long)g->id);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fd_buf_puts(out, ",");
		fd_guild_member_json(g, ids[i], out);
	}
	fd_buf_printf(out, "],\"chunk_index\":%d,\"chunk_count\":%d", index, count);
	if (not_found) {
		char *nf = cJSON_PrintUnformatted(not_found);
		fd_buf_printf(out, ",\"not_found\":%s", nf ? nf : "[]");
		free(nf);
	}
	if (rq->has_nonce) {
		fd_buf_puts(out, ",\"nonce\":");
		fd_buf_json_str(out, rq->nonce);
	}
	fd_buf_puts(out, "}");
}

/* A result small enough (<= 100) to send at once, as one chunk. */
static void send_single_chunk(fd_server *srv, fd_conn *c, const fd_guild *g,
                              const op8_req *rq, const uint64_t *ids, size_t n,
                              const cJSON *not_found)
{
	fd_buf b = {0};
	render_chunk(g, rq, ids, n, 0, 1, not_found, &b);
	fd_gw_dispatch(srv, c->session, "GUILD_MEMBERS_CHUNK", b.data);
	fd_buf_free(&b);
}

static void by_user_ids(fd_server *srv, fd_conn *c, const fd_guild *g, const op8_req *rq,
                        const cJSON *user_ids)
{
	uint64_t found[FD_OP8_MAX_IDS];
	size_t nfound = 0;
	cJSON *not_found = cJSON_CreateArray();
	const cJSON *one = user_ids;
	bool is_array = cJSON_IsArray(user_ids);
	int total = is_array ? cJSON_GetArraySize(user_ids) : 1;
	for (int i = 0; i < total && i < FD_OP8_MAX_IDS; i++) {
		const cJSON *item = is_array ? cJSON_GetArrayItem(user_ids, i) : one;
		uint64_t uid;
		if (fd_json_id(item, &uid) && fd_guild_has_member(g, uid))
			found[nfound++] = uid;
		else
			cJSON_AddItemToArray(not_found, cJSON_Duplicate(item, 1));
	}
	send_single_chunk(srv, c, g, rq, found, nfound, not_found);
	cJSON_Delete(not_found);
}

static void by_prefix(fd_server *srv, fd_conn *c, const fd_guild *g, const op8_req *rq,
                      const char *prefix, size_t limit)
{
	uint64_t found[FD_OP8_MAX_IDS];
	size_t nfound = 0, plen = strlen(prefix);
	char name[128];
	if (limit == 0 || limit > FD_OP8_MAX_IDS)
		limit = FD_OP8_MAX_IDS;
	for (size_t i = 0; i < g->nids && nfound < limit; i++) {
		fd_guild_username(g, g->ids[i], name, sizeof name);
		if (strncasecmp(name, prefix, plen) == 0)
			found[nfound++] = g->ids[i];
	}
	send_single_chunk(srv, c, g, rq, found, nfound, NULL);
}

/* True when this full-list request must be refused (RATE_LIMITED sent). */
static bool full_list_limited(fd_server *srv, fd_conn *c, const op8_req *rq)
{
	int64_t window = (int64_t)srv->cfg.op8_rate_limit_s * 1000, now = fd_now_ms();
	if (window <= 0)
		return false;
	for (size_t i = 0; i < srv->n_op8_stamps; i++) {
		fd_op8_stamp *st = &srv->op8_stamps[i];
		if (st->guild_id != rq->guild_id)
			continue;
		if (now - st->at_ms >= window) {
			st->at_ms = now;
			return false;
		}
		fd_buf b = {0};
		fd_buf_printf(&b, "{\"opcode\":8,\"retry_after\":%.3f,\"meta\":{\"guild_id\":\"%llu\"",
		              (double)(window - (now - st->at_ms)) / 1000.0,
		              (unsigned long long)rq->guild_id);
		if (rq->has_nonce) {
			fd_buf_puts(&b, ",\"nonce\":");
			fd_buf_json_str(&b, rq->nonce);
		}
		fd_buf_puts(&b, "}}");
		fd_gw_dispatch(srv, c->session, "RATE_LIMITED", b.data);
		fd_buf_free(&b);
		return true;
	}
	srv->op8_stamps = fd_xrealloc(srv->op8_stamps, (srv->n_op8_stamps + 1) * sizeof *srv->op8_stamps);
	srv->op8_stamps[srv->n_op8_stamps++] = (fd_op8_stamp){ rq->guild_id, now };
	return false;
}

/* Queue a job that fd_op8_step() turns into chunks, one per writeable. */
static void queue_full_list(fd_server *srv, fd_conn *c, const fd_guild *g,
                            const op8_req *rq, size_t limit)
{
	fd_chunk_job *job = fd_xmalloc(sizeof *job);
	memset(job, 0, sizeof *job);
	job->guild_id = g->id;
	size_t want = limit && limit < g->nids ? limit : g->nids;
	/* A snapshot: later membership changes do not tear the answer.  Members
	 * of cfg.list_omit are left out, the chunk numbers fit what remains. */
	job->ids = fd_xmalloc((want ? want : 1) * sizeof *job->ids);
	job->nids = 0;
	for (size_t i = 0; i < g->nids && job->nids < want; i++)
		if (!fd_list_omits(srv, g->ids[i]))
			job->ids[job->nids++] = g->ids[i];
	job->chunk_size = srv->cfg.chunk_size > 0 ? srv->cfg.chunk_size : 1000;
	job->chunk_count = job->nids ? (int)((job->nids + (size_t)job->chunk_size - 1) /
	                                     (size_t)job->chunk_size) : 1;
	memcpy(job->nonce, rq->nonce, sizeof job->nonce);
	job->has_nonce = rq->has_nonce;
	fd_chunk_job **pp = &c->jobs;
	while (*pp)
		pp = &(*pp)->next;
	*pp = job;
	lws_callback_on_writable(c->wsi);
}

bool fd_op8_held(const fd_server *srv, const fd_conn *c)
{
	int limit = srv->cfg.op8_chunk_limit;
	return c->jobs && limit >= 0 && c->jobs->chunk_index >= limit;
}

void fd_op8_release(fd_server *srv)
{
	for (fd_conn *c = srv->conns; c; c = c->next)
		if (c->jobs && !fd_op8_held(srv, c))
			lws_callback_on_writable(c->wsi);
}

void fd_op8_step(fd_server *srv, fd_conn *c)
{
	fd_chunk_job *job = c->jobs;
	const fd_guild *g = fd_state_find(&srv->state, job->guild_id);
	if (g && c->session) {
		size_t n = job->nids - job->next_index;
		if (n > (size_t)job->chunk_size)
			n = (size_t)job->chunk_size;
		op8_req rq = { job->guild_id, "", job->has_nonce };
		memcpy(rq.nonce, job->nonce, sizeof rq.nonce);
		fd_buf b = {0};
		render_chunk(g, &rq, job->ids + job->next_index, n, job->chunk_index,
		             job->chunk_count, NULL, &b);
		fd_gw_dispatch(srv, c->session, "GUILD_MEMBERS_CHUNK", b.data);
		fd_buf_free(&b);
		srv->op8_chunks_sent++;
		job->next_index += n;
		job->chunk_index++;
	}
	if (g && c->session && job->chunk_index >= job->chunk_count)
		srv->op8_last_chunk_wall_ms = fd_wall_ms();
	if (!g || !c->session || job->chunk_index >= job->chunk_count) {
		c->jobs = job->next;
		free(job->ids);
		free(job);
	}
}

void fd_op8_handle(fd_server *srv, fd_conn *c, const cJSON *d)
{
	op8_req rq = {0};
	const cJSON *query = cJSON_GetObjectItemCaseSensitive(d, "query");
	const cJSON *user_ids = cJSON_GetObjectItemCaseSensitive(d, "user_ids");
	if (!cJSON_IsObject(d) || (!cJSON_IsString(query) && !user_ids) ||
	    !fd_json_id(cJSON_GetObjectItemCaseSensitive(d, "guild_id"), &rq.guild_id)) {
		fd_conn_send_close(c, 4001, false);
		return;
	}
	const char *nonce = fd_json_str(d, "nonce");
	if (nonce && strlen(nonce) <= 32) { /* longer nonces are ignored */
		snprintf(rq.nonce, sizeof rq.nonce, "%s", nonce);
		rq.has_nonce = true;
	}
	const fd_guild *g = fd_state_find(&srv->state, rq.guild_id);
	fd_session *s = c->session;
	int count = s->shard_count > 0 ? s->shard_count : 1;
	if (!g || !g->bot_member || (int)((g->id >> 22) % (uint64_t)count) != s->shard_id)
		return; /* not this shard's guild: nothing comes back */
	if (user_ids) {
		by_user_ids(srv, c, g, &rq, user_ids);
		return;
	}
	/* Query forms need the GUILD_MEMBERS intent; without it Discord sends
	 * nothing at all (no error, no close). */
	if (!(s->intents & FD_INTENT_GUILD_MEMBERS))
		return;
	size_t limit = (size_t)(fd_json_int(d, "limit", 0) > 0 ? fd_json_int(d, "limit", 0) : 0);
	if (query->valuestring[0]) {
		by_prefix(srv, c, g, &rq, query->valuestring, limit);
		return;
	}
	if (limit == 0 && full_list_limited(srv, c, &rq))
		return;
	queue_full_list(srv, c, g, &rq, limit);
}
