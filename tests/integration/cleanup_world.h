/* cleanup_world.h - shared set-up for the issue #4 integration tests
 * (test_cleanup.c, test_sweep_live.c): one loopback double plus one daemon
 * scratch dir per test, guilds in the double, and the bot's tables (users,
 * and an extra `xp` table cleaned through --clean-tables) in the database. */
#ifndef CLEANUP_WORLD_H
#define CLEANUP_WORLD_H

#include <stdint.h>
#include "daemon_harness.h"
#include "fake_client.h"

typedef struct {
    fd_proc fake;
    dh_proc d;
} cw_world;

/* Guild ids used by the tests; their shard is 0 of 1. */
#define CW_G1 UINT64_C(1000000000000000001)
#define CW_G2 UINT64_C(1000000000000000002)
#define CW_G3 UINT64_C(1000000000000000003)
/* First generated member id; member k of a guild is CW_UID(k). */
#define CW_UID0 UINT64_C(2000000000000000000)
#define CW_UID(k) (CW_UID0 + (uint64_t)(k))

/* Starts the double and makes a scratch dir with the bot's tables:
 * users(discord_id, guild_id, username) and xp(user_id, guild_id, points). */
cw_world *cw_new(void);
void cw_free(cw_world *w);

/* A guild in the double whose members are CW_UID(first) .. CW_UID(first+members-1).
 * 0 on success. */
int cw_guild(cw_world *w, uint64_t guild_id, int64_t first, int64_t members);
/* Rows in users and xp for CW_UID(first) .. CW_UID(first+count-1) in guild_id. */
int cw_rows(cw_world *w, uint64_t guild_id, int64_t first, int64_t count);
/* POST /_control/config with body; 0 when the double said ok. */
int cw_config(cw_world *w, const char *json);

/* `run` with --clean-tables xp:user_id:guild_id plus extra args (NULL-ended,
 * may be NULL); waits for READY or RESUMED. 1 on success. */
int cw_start(cw_world *w, const char *const extra[]);
/* `sweep` subcommand (same db, --clean-tables) with args; exit status, output in out. */
int cw_sweep_cli(cw_world *w, const char *const args[], char *out, size_t cap);

/* Counts in the database: users / xp rows of a guild, audit rows of a reason. */
int64_t cw_users(cw_world *w, uint64_t guild_id);
int64_t cw_xp(cw_world *w, uint64_t guild_id);
int64_t cw_audit(cw_world *w, const char *reason);
/* A guild-state column as an integer (-1: no row). */
int64_t cw_state(cw_world *w, uint64_t guild_id, const char *column);
/* last_sweep_result of a guild contains needle. */
int cw_result_has(cw_world *w, uint64_t guild_id, const char *needle);
/* Waits until users of guild_id == want. */
int cw_wait_users(cw_world *w, uint64_t guild_id, int64_t want, int timeout_ms);
/* Forget the persisted gateway session so the next start IDENTIFIEs. */
int cw_forget_session(cw_world *w);
/* A number from GET /_control/state. */
int cw_fake_state(cw_world *w, const char *field);
/* Count of REST requests the double saw whose path starts with prefix. */
int cw_requests(cw_world *w, const char *method, const char *prefix);

#endif
