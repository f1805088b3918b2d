/* fd_shards.h - the double as the gateway of one bot whose shards several
 * processes run (#16): Discord's max_concurrency checked across every
 * connection, and many guilds spread over the shards at once. */
#ifndef FD_SHARDS_H
#define FD_SHARDS_H

#include <stdbool.h>
#include <cjson/cJSON.h>
#include "fd_http.h"
#include "fd_server.h"

/* Forgets every IDENTIFY seen (reset). */
void fd_identify_clear(fd_server *srv);
/* An IDENTIFY of shard_id arrived now.  Discord lets each rate-limit key
 * (shard_id % max_concurrency) identify once per 5 s, whichever process
 * sends it; false when this one came sooner after the key's last: it is
 * counted as a violation (GET /_control/state: identify_violations, and
 * identify_log with every IDENTIFY) for the test to fail on. */
bool fd_identify_admit(fd_server *srv, int shard_id);
/* The counters above, added to the state object. */
void fd_identify_state(const fd_server *srv, cJSON *state);
/* POST /_control/guild_bulk {"count":N,"first_id":"...","members":M}:
 * N guilds (at most 100000) with ids ((first_id >> 22) + i) << 22, so that
 * (id >> 22) % shard_count spreads them over every shard, each with M
 * generated members (distinct ids) and the bot.  No event is sent: make
 * them before the sessions connect. */
void fd_ctl_guild_bulk(fd_server *srv, const cJSON *body, fd_resp *rs);

#endif
