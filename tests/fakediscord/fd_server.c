/* fd_server.c - lifetime of the double's global state (see fd_server.h). */
#include "fd_server.h"
#include "fd_shards.h"

#include <stdlib.h>
#include <string.h>
#include "fd_gateway.h"
#include "fd_appcmd.h"

void fd_config_defaults(fd_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->heartbeat_interval_ms = 41250;
	cfg->enabled_intents = FD_INTENTS_VALID;
	cfg->chunk_size = 1000;
	cfg->op8_rate_limit_s = 30;
	cfg->op8_chunk_limit = -1;
	cfg->shards = 1;
	cfg->resume_window_s = 120;
	cfg->max_concurrency = 1;
	cfg->replay_cap_bytes = 64u << 20;
	cfg->owner_ids[0] = FD_DEMO_OWNER;
	cfg->n_owner_ids = 1;
	cfg->interaction_token_ms = 15 * 60 * 1000;
}

static void logs_init(fd_server *srv)
{
	srv->sent_log = cJSON_CreateArray();
	srv->request_log = cJSON_CreateArray();
	srv->messages = cJSON_CreateArray();
	srv->edits = cJSON_CreateArray();
	srv->interactions = cJSON_CreateArray();
	srv->dm_channels = cJSON_CreateObject();
	srv->dm_closed = cJSON_CreateObject();
	srv->dm_log = cJSON_CreateArray();
}

static void logs_free(fd_server *srv)
{
	cJSON_Delete(srv->sent_log);
	cJSON_Delete(srv->request_log);
	cJSON_Delete(srv->messages);
	cJSON_Delete(srv->edits);
	srv->edits = NULL;
	srv->sent_log = srv->request_log = srv->messages = NULL;
	cJSON_Delete(srv->interactions);
	cJSON_Delete(srv->dm_channels);
	cJSON_Delete(srv->dm_closed);
	cJSON_Delete(srv->dm_log);
	srv->interactions = srv->dm_channels = srv->dm_closed = srv->dm_log = NULL;
}

/* Everything a reset clears; configuration, port and live connections
 * (which are asked to close) stay. */
static void clear_runtime(fd_server *srv)
{
	if (srv->ctx)
		lws_sul_cancel(&srv->demo_sul);
	srv->demo_armed = false;
	fd_gw_free_all(srv);
	fd_state_clear(&srv->state);
	logs_free(srv);
	free(srv->op8_stamps);
	srv->op8_stamps = NULL;
	srv->n_op8_stamps = 0;
	srv->op8_chunks_sent = 0;
	srv->op8_last_chunk_wall_ms = 0;
	srv->lookup_used = 0;
	srv->n_rl_rules = 0;
	srv->identify_count = srv->resume_count = srv->heartbeats = 0;
	fd_identify_clear(srv);
	fd_appcmd_clear(srv);
}

static void start_runtime(fd_server *srv)
{
	srv->acks_enabled = true;
	srv->session_remaining = 1000;
	logs_init(srv);
}

void fd_server_init(fd_server *srv)
{
	fd_config cfg = srv->cfg;
	memset(srv, 0, sizeof *srv);
	srv->cfg = cfg;
	srv->next_conn_no = 1;
	start_runtime(srv);
}

void fd_server_free(fd_server *srv)
{
	clear_runtime(srv);
	free(srv->cfg.token);
	srv->cfg.token = NULL;
}

void fd_server_reset(fd_server *srv)
{
	clear_runtime(srv);
	start_runtime(srv);
}

uint64_t fd_server_snowflake(fd_server *srv)
{
	uint64_t now = (uint64_t)(fd_wall_ms() - 1420070400000LL) << 22;
	srv->next_snowflake = now > srv->next_snowflake ? now : srv->next_snowflake + 1;
	return srv->next_snowflake;
}

void fd_server_add_bot(fd_guild *g)
{
	uint64_t bot = FD_BOT_ID;
	fd_guild_add_members(g, &bot, 1);
	if (!fd_guild_extra(g, FD_BOT_ID))
		fd_guild_set_extra(g, FD_BOT_ID, FD_BOT_NAME, NULL, 0, true);
	g->bot_member = true;
}

void fd_server_make_demo(fd_server *srv)
{
	fd_guild *g = fd_state_add_guild(&srv->state, FD_DEMO_GUILD, "Demo Guild", FD_DEMO_OWNER);
	if (!g)
		return;
	uint64_t admin_role = FD_DEMO_GUILD + 10;
	fd_guild_add_role(g, admin_role, "Admin", FD_PERM_ADMINISTRATOR);
	fd_guild_generate(g, FD_DEMO_OWNER, 25);
	fd_guild_set_extra(g, FD_DEMO_OWNER, "demo-owner", &admin_role, 1, false);
	fd_server_add_bot(g);
}

bool fd_list_omits(const fd_server *srv, uint64_t uid)
{
	for (int i = 0; i < srv->cfg.n_list_omit; i++)
		if (srv->cfg.list_omit[i] == uid)
			return true;
	return false;
}
