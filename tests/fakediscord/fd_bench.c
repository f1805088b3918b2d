/* fd_bench.c - burst emission and send stamps for `make bench` (fd_bench.h). */
#include "fd_bench.h"

#include <stdlib.h>
#include <time.h>
#include "fd_control.h"

static struct {
	int64_t *us;
	size_t n, cap;
	bool on;
} stamps;

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void fd_bench_on_sent(void)
{
	if (!stamps.on)
		return;
	if (stamps.n == stamps.cap) {
		stamps.cap = stamps.cap ? stamps.cap * 2 : 4096;
		stamps.us = fd_xrealloc(stamps.us, stamps.cap * sizeof *stamps.us);
	}
	stamps.us[stamps.n++] = mono_us();
}

void fd_bench_burst(fd_server *srv, fd_guild *g, const cJSON *body, fd_resp *rs)
{
	int64_t want = fd_json_int(body, "count", -1);
	if (want < 0 || want > 10000000) {
		fd_resp_discord_error(rs, 400, "burst needs count (0..10000000)", 0);
		return;
	}
	stamps.n = 0;
	stamps.on = true;
	int64_t removed = 0;
	/* From the top, so each removal is O(1) in the sorted id array. */
	for (size_t i = g->nids; i > 0 && removed < want; i--) {
		uint64_t uid = g->ids[i - 1];
		if (uid != FD_BOT_ID && fd_ctl_remove_member(srv, g, uid, true))
			removed++;
	}
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON_AddNumberToObject(j, "removed", (double)removed);
	fd_resp_json(rs, 200, j);
}

void fd_bench_stamps(fd_resp *rs)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON *arr = cJSON_AddArrayToObject(j, "stamps_us");
	for (size_t i = 0; i < stamps.n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber((double)stamps.us[i]));
	stamps.on = false;
	free(stamps.us);
	stamps.us = NULL;
	stamps.n = stamps.cap = 0;
	fd_resp_json(rs, 200, j);
}
