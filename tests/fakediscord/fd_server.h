/* fd_server.h - the whole double's state: configuration, guild model,
 * gateway sessions and connections, counters and the logs tests read back.
 * One instance lives in main() and is reachable from every lws callback
 * through lws_context_user(). */
#ifndef FD_SERVER_H
#define FD_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <libwebsockets.h>
#include <cjson/cJSON.h>
#include "fd_state.h"

#define FD_INTENT_GUILDS 1ULL
#define FD_INTENT_GUILD_MEMBERS 2ULL
#define FD_INTENT_GUILD_PRESENCES 256ULL
#define FD_INTENT_MESSAGE_CONTENT 32768ULL
#define FD_INTENTS_PRIVILEGED (FD_INTENT_GUILD_MEMBERS | FD_INTENT_GUILD_PRESENCES | \
                               FD_INTENT_MESSAGE_CONTENT)
/* Every assigned intent bit: 0-16, 20, 21, 24, 25. */
#define FD_INTENTS_VALID (0x1ffffULL | (1ULL << 20) | (1ULL << 21) | (1ULL << 24) | (1ULL << 25))

typedef struct {
	char *token;
	int heartbeat_interval_ms;
	uint64_t enabled_intents;
	int chunk_size;
	int op8_rate_limit_s;       /* 0 disables the full-list limit */
	int op8_chunk_limit;        /* >= 0: chunks of a full list sent before the rest is held */
	int shards;                 /* recommended count in /gateway/bot */
	int resume_window_s;
	bool split_compressed;      /* each zlib payload as 2 WS messages */
	int compressed_fragments;   /* >1: each zlib payload in N fragments */
	uint64_t owner_ids[16];
	int n_owner_ids;
	uint64_t team[16];          /* team member ids; none = team null */
	int n_team;
	int max_concurrency;
	int lookup_limit;           /* >0: GET .../members/{user} allows this many per */
	int lookup_window_ms;       /* window (default 5000), then 429, like Discord's bucket */
	uint64_t list_omit[16];     /* members left out of full lists (op 8, REST pages), */
	int n_list_omit;            /* chunk numbers still consistent: a wrong but whole list */
	size_t replay_cap_bytes;    /* per session; older events are dropped */
	char resume_url[256];       /* READY's resume_gateway_url; "" = this server */
	bool demo, verbose;
	/* interactions (fd_interact.c) */
	int64_t interaction_token_ms;   /* an interaction token's lifetime (15 min) */
} fd_config;

typedef struct {
	char prefix[256];
	int count;
	double retry_after;
	bool global;
	int status;               /* 429, or a 5xx from /_control/fail */
} fd_rl_rule;

typedef struct {
	uint64_t guild_id;
	int64_t at_ms;
} fd_op8_stamp;

/* Rate-limit keys of IDENTIFY the double tracks (shard_id % max_concurrency). */
#define FD_IDENTIFY_BUCKETS 256

struct fd_session;
struct fd_conn;

typedef struct fd_server {
	struct lws_context *ctx;
	int port;
	fd_config cfg;
	fd_state state;
	struct fd_session *sessions;
	struct fd_conn *conns;
	int next_conn_no;
	int identify_count, resume_count, heartbeats;
	int session_remaining;
	bool acks_enabled;
	uint64_t next_snowflake;
	cJSON *sent_log;      /* array: what clients sent over the gateway */
	cJSON *request_log;   /* array: REST requests */
	cJSON *messages;      /* array: POST /channels/{id}/messages bodies */
	cJSON *edits;         /* array: PATCH /channels/{id}/messages/{id} bodies */
	fd_rl_rule rl_rules[32];
	int n_rl_rules;
	fd_op8_stamp *op8_stamps;
	size_t n_op8_stamps;
	int op8_chunks_sent;  /* full-list chunks sent since start/reset */
	int64_t op8_last_chunk_wall_ms;   /* when the last chunk of a full list went out */
	int64_t lookup_window_start;      /* cfg.lookup_limit's current window (fd_now_ms) */
	int lookup_used;
	bool demo_armed;
	lws_sorted_usec_list_t demo_sul;
	/* max_concurrency across every connection (fd_shards.c) */
	int64_t identify_last_ms[FD_IDENTIFY_BUCKETS];   /* per bucket, 0 = never */
	int identify_violations;
	cJSON *identify_log;  /* array: {"shard","bucket","at_ms","gap_ms"} per IDENTIFY */
	/* interactions (fd_interact.c) and DM channels (fd_dm.c) */
	cJSON *interactions;  /* array: one record per dispatched interaction */
	cJSON *dm_channels;   /* {"<user id>": "<DM channel id>"} */
	cJSON *dm_closed;     /* {"<user id>": true} for users with DMs closed */
	cJSON *dm_log;        /* array: every DM sent, delivered or refused */
	/* application commands (fd_appcmd.c's own) */
	cJSON *app_commands;          /* array of commands as Discord returns them; NULL = none */
	int appcmd_calls[5];          /* REST calls per method: GET POST PATCH DELETE PUT */
	int appcmd_reject_count;      /* the next N writes (POST/PATCH/PUT/DELETE) fail with */
	int appcmd_reject_status;     /* this HTTP status and */
	int appcmd_reject_code;       /* this JSON error code */
} fd_server;

void fd_config_defaults(fd_config *cfg);
void fd_server_init(fd_server *srv);
/* Back to an empty state (guilds, sessions, logs, counters, rules); the
 * configuration and the listening port stay. */
void fd_server_reset(fd_server *srv);
void fd_server_free(fd_server *srv);
/* A fresh snowflake (monotonic, timestamped "now"). */
uint64_t fd_server_snowflake(fd_server *srv);
/* True when uid is left out of full member lists (cfg.list_omit). */
bool fd_list_omits(const fd_server *srv, uint64_t uid);
/* Adds the bot as a member with its username and bot flag. */
void fd_server_add_bot(fd_guild *g);
/* Builds the demo guild described in the README. */
void fd_server_make_demo(fd_server *srv);

#define FD_DEMO_GUILD 1000000000000000001ULL
#define FD_DEMO_OWNER 1000000000000000100ULL
#define FD_DEMO_LEAVER 1000000000000000124ULL

#endif
