/* perms.h - a member's guild permissions, computed the way Discord does
 * (https://discord.com/developers/docs/topics/permissions#permission-overwrites),
 * from a role cache fed by gateway dispatches (sans-I/O).
 *
 * The cache holds, per guild, the owner id and every role's permission
 * bits.  It learns them from GUILD_CREATE, GUILD_UPDATE (owner_id and
 * roles: it is a full guild object), GUILD_ROLE_CREATE/UPDATE/DELETE and a
 * REST guild object (perms_on_guild).  GUILD_DELETE forgets nothing: the
 * adapter calls perms_forget once the removal is confirmed.
 * MESSAGE_CREATE's `member` carries the author's role ids; perms_compute()
 * turns those into the base guild permissions:
 *   owner ─► ALL;  @everyone (role id == guild id) | member roles;
 *   ADMINISTRATOR among them ─► ALL.
 * Channel overwrites are not applied: the commands need guild-level rights. */
#ifndef DC_PERMS_H
#define DC_PERMS_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "base/err.h"
#include "proto/proto.h"

#define PERM_ALL UINT64_MAX

typedef struct {
    uint64_t id;
    uint64_t permissions;
} perms_role;

/* Base permissions from plain data (no cache): roles[] is the guild's role
 * list (it should contain @everyone, whose id is guild_id).  Unknown role ids
 * in member_roles add nothing. */
uint64_t perms_base(uint64_t guild_id, uint64_t owner_id, const perms_role *roles, size_t n_roles,
                   uint64_t user_id, const uint64_t *member_roles, size_t n_member_roles);

/* A decimal permission string ("8", "2251799813685247") into *out.
 * DC_ERR_PROTO for anything that is not a plain decimal uint64. */
dc_err perms_parse(const char *s, uint64_t *out);
/* A role's `permissions`: a decimal string, or a JSON number (older API
 * versions, some proxies) that is a whole number in [0, 2^53] (what a
 * double carries exactly).  DC_ERR_PROTO for anything else. */
dc_err perms_parse_json(const cJSON *p, uint64_t *out);

typedef struct perms_cache perms_cache;

perms_cache *perms_cache_new(void);
void perms_cache_free(perms_cache *pc);

/* Feed one dispatch of kind ev (gateway_action.ev).  Kinds other than the
 * guild/role ones are ignored (DC_OK).  DC_ERR_PROTO for a payload of the wrong shape (the cache keeps
 * what it had; in a guild's role list only the malformed roles are
 * skipped), DC_ERR_NOMEM. */
dc_err perms_on_dispatch(perms_cache *pc, dc_event ev, const cJSON *d);
/* A guild object from REST GET /guilds/{id} (id, owner_id, roles): same
 * rules as GUILD_CREATE. */
dc_err perms_on_guild(perms_cache *pc, const cJSON *guild);
/* Forget a guild the bot was confirmed removed from. */
void perms_forget(perms_cache *pc, uint64_t guild_id);

/* 1 when the cache knows this guild's owner and roles. */
int perms_guild_known(const perms_cache *pc, uint64_t guild_id);

/* The member's base permissions in guild_id; 0 for a guild the cache has
 * not seen (nobody is trusted on missing information). */
uint64_t perms_compute(const perms_cache *pc, uint64_t guild_id, uint64_t user_id,
                      const uint64_t *member_roles, size_t n_member_roles);

/* 1 when perms grant every bit of required (ADMINISTRATOR already folded
 * in by perms_base/perms_compute). */
int perms_has(uint64_t perms, uint64_t required);

#endif
