/* fd_state.h - the double's model of Discord: guilds, roles and members.
 *
 * Members are kept compactly so a 1,000,000-member guild costs 8 MB: a
 * sorted array of user ids, plus a sparse sorted array of "extras" for the
 * few members that have a username, roles or the bot flag.  Members without
 * extras are rendered with a generated username "user<id>" and no roles. */
#ifndef FD_STATE_H
#define FD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "fd_util.h"

#define FD_BOT_ID 1000000000000000999ULL
#define FD_BOT_NAME "cleaner-bot"
#define FD_PERM_ALL ((1ULL << 53) - 1)
#define FD_PERM_ADMINISTRATOR 0x8ULL

typedef struct {
	uint64_t id;
	char *name;
	uint64_t permissions;
} fd_role;

typedef struct {
	uint64_t id;
	char *username;     /* NULL: generated */
	uint64_t *roles;
	size_t nroles;
	bool bot;
} fd_member_extra;

typedef struct {
	uint64_t id, owner_id, channel_id;
	char *name;
	fd_role *roles;
	size_t nroles;
	uint64_t *ids;            /* sorted ascending, unique */
	size_t nids, capids;
	fd_member_extra *extras;  /* sorted by id */
	size_t nextras, capextras;
	bool bot_member;          /* false after remove_bot: REST answers 403 */
	bool unavailable;         /* outage: GUILD_DELETE unavailable was sent */
} fd_guild;

typedef struct {
	fd_guild **guilds;        /* sorted by id */
	size_t n, cap;
} fd_state;

void fd_state_clear(fd_state *st);
fd_guild *fd_state_find(const fd_state *st, uint64_t id);
/* New guild with @everyone (permissions 0) and a text channel; NULL if
 * the id exists already. */
fd_guild *fd_state_add_guild(fd_state *st, uint64_t id, const char *name,
                             uint64_t owner_id);

void fd_guild_add_role(fd_guild *g, uint64_t id, const char *name, uint64_t perms);
bool fd_guild_has_member(const fd_guild *g, uint64_t uid);
/* Index of the first member id > after. */
size_t fd_guild_index_after(const fd_guild *g, uint64_t after);
/* Adds ids (any order, duplicates fine); returns how many were new. */
size_t fd_guild_add_members(fd_guild *g, const uint64_t *ids, size_t n);
/* Adds ids first_id, first_id+1, ... first_id+count-1. */
size_t fd_guild_generate(fd_guild *g, uint64_t first_id, size_t count);
bool fd_guild_remove_member(fd_guild *g, uint64_t uid);
/* Sets (replaces) a member's extras; roles copied. */
void fd_guild_set_extra(fd_guild *g, uint64_t uid, const char *username,
                        const uint64_t *roles, size_t nroles, bool bot);
const fd_member_extra *fd_guild_extra(const fd_guild *g, uint64_t uid);
/* Copies the member's username (generated when none) into out. */
void fd_guild_username(const fd_guild *g, uint64_t uid, char *out, size_t len);
/* Base guild permissions (owner/ADMINISTRATOR = all bits). */
uint64_t fd_guild_member_perms(const fd_guild *g, uint64_t uid);

/* JSON renderings with the real Discord v10 field names. */
void fd_guild_user_json(const fd_guild *g, uint64_t uid, fd_buf *out);
void fd_guild_member_json(const fd_guild *g, uint64_t uid, fd_buf *out);
cJSON *fd_guild_member_cjson(const fd_guild *g, uint64_t uid);
cJSON *fd_guild_roles_cjson(const fd_guild *g);
/* REST guild object (no members/channels). */
cJSON *fd_guild_rest_cjson(const fd_guild *g, bool with_counts);
/* Gateway GUILD_CREATE payload: members holds only the bot. */
cJSON *fd_guild_create_cjson(const fd_guild *g);

#endif
