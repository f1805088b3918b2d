/* perms.c - role cache and base permission computation (see perms.h). */
#include "policy/perms.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/snowflake.h"
#include "base/vec.h"

typedef struct {
    uint64_t id;
    uint64_t owner_id;
    perms_role *roles;
    size_t n_roles, cap_roles;
} perms_guild;

struct perms_cache {
    perms_guild *guilds;
    size_t n, cap;
};

uint64_t perms_base(uint64_t guild_id, uint64_t owner_id, const perms_role *roles, size_t n_roles,
                   uint64_t user_id, const uint64_t *member_roles, size_t n_member_roles)
{
    if (user_id && user_id == owner_id)
        return PERM_ALL;
    uint64_t perms = 0;
    for (size_t i = 0; i < n_roles; i++) {
        int held = roles[i].id == guild_id;             /* @everyone */
        for (size_t k = 0; !held && k < n_member_roles; k++)
            held = member_roles[k] == roles[i].id;
        if (held)
            perms |= roles[i].permissions;
    }
    return perms & DC_PERM(ADMINISTRATOR) ? PERM_ALL : perms;
}

int perms_has(uint64_t perms, uint64_t required)
{
    return (perms & required) == required;
}

dc_err perms_parse(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return DC_ERR_PROTO;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return DC_ERR_PROTO;
    *out = (uint64_t)v;
    return DC_OK;
}

/* ---- the cache ------------------------------------------------------------ */

perms_cache *perms_cache_new(void)
{
    return calloc(1, sizeof(perms_cache));
}

void perms_cache_free(perms_cache *pc)
{
    if (!pc)
        return;
    for (size_t i = 0; i < pc->n; i++)
        free(pc->guilds[i].roles);
    free(pc->guilds);
    free(pc);
}

static perms_guild *find_guild(const perms_cache *pc, uint64_t id)
{
    for (size_t i = 0; i < pc->n; i++)
        if (pc->guilds[i].id == id)
            return &pc->guilds[i];
    return NULL;
}

static perms_guild *add_guild(perms_cache *pc, uint64_t id)
{
    perms_guild *g = find_guild(pc, id);
    if (g)
        return g;
    if (VEC_GROW(pc->guilds, pc->cap, pc->n + 1, 8) != 0)
        return NULL;
    g = &pc->guilds[pc->n++];
    *g = (perms_guild){ .id = id };
    return g;
}

void perms_forget(perms_cache *pc, uint64_t id)
{
    perms_guild *g = pc ? find_guild(pc, id) : NULL;
    if (!g)
        return;
    free(g->roles);
    *g = pc->guilds[--pc->n];
}

/* Largest integer a JSON number (a double) carries exactly: beyond it the
 * bits we would read are not the bits that were sent. */
#define PERM_NUMBER_MAX 9007199254740992.0   /* 2^53 */

dc_err perms_parse_json(const cJSON *p, uint64_t *out)
{
    if (cJSON_IsString(p))
        return perms_parse(p->valuestring, out);
    if (!cJSON_IsNumber(p) || !(p->valuedouble >= 0) || p->valuedouble > PERM_NUMBER_MAX ||
        p->valuedouble != (double)(uint64_t)p->valuedouble)
        return DC_ERR_PROTO;
    *out = (uint64_t)p->valuedouble;
    return DC_OK;
}

/* A role object's id and permissions; 0 on a wrong shape. */
static int parse_role(const cJSON *r, perms_role *out)
{
    out->id = snowflake_json(cJSON_GetObjectItemCaseSensitive(r, "id"));
    return out->id &&
           perms_parse_json(cJSON_GetObjectItemCaseSensitive(r, "permissions"), &out->permissions) == DC_OK;
}

static dc_err put_role(perms_guild *g, const perms_role *r)
{
    for (size_t i = 0; i < g->n_roles; i++)
        if (g->roles[i].id == r->id) {
            g->roles[i] = *r;
            return DC_OK;
        }
    if (VEC_GROW(g->roles, g->cap_roles, g->n_roles + 1, 8) != 0)
        return DC_ERR_NOMEM;
    g->roles[g->n_roles++] = *r;
    return DC_OK;
}

static void drop_role(perms_guild *g, uint64_t role_id)
{
    for (size_t i = 0; i < g->n_roles; i++)
        if (g->roles[i].id == role_id) {
            g->roles[i] = g->roles[--g->n_roles];
            return;
        }
}

/* A full guild object (GUILD_CREATE, GUILD_UPDATE, REST GET /guilds/{id}):
 * its owner and whole role list replace what was known.  A role of the wrong
 * shape is skipped (it can only grant too little, never too much) and makes
 * the answer DC_ERR_PROTO after the rest was applied, so the caller logs it. */
static dc_err put_guild(perms_cache *pc, uint64_t id, uint64_t owner, const cJSON *roles)
{
    perms_guild *g = add_guild(pc, id);
    dc_err e = DC_OK;
    if (!g)
        return DC_ERR_NOMEM;
    g->owner_id = owner;
    g->n_roles = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, roles) {
        perms_role pr;
        if (!parse_role(r, &pr))
            e = DC_ERR_PROTO;
        else if (put_role(g, &pr) != DC_OK)
            return DC_ERR_NOMEM;
    }
    return e;
}

static dc_err on_guild_create(perms_cache *pc, const cJSON *d)
{
    uint64_t id = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "id"));
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(d, "roles");
    if (!id)
        return DC_ERR_PROTO;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "unavailable")))
        return DC_OK;                 /* outage: keep what we knew */
    if (!cJSON_IsArray(roles))
        return DC_ERR_PROTO;
    return put_guild(pc, id, snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "owner_id")), roles);
}

/* GUILD_UPDATE is a full guild object: with `roles` it replaces the role
 * list like GUILD_CREATE (and teaches a guild the cache had not seen);
 * without them only the owner moves. */
static dc_err on_guild_update(perms_cache *pc, const cJSON *d)
{
    uint64_t id = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "id"));
    uint64_t owner = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "owner_id"));
    const cJSON *roles = cJSON_GetObjectItemCaseSensitive(d, "roles");
    perms_guild *g = find_guild(pc, id);
    if (!id || !owner || (roles && !cJSON_IsArray(roles)))
        return g || !id ? DC_ERR_PROTO : DC_OK;
    if (roles)
        return put_guild(pc, id, owner, roles);
    if (g)
        g->owner_id = owner;
    return DC_OK;                     /* unknown and no roles: GUILD_CREATE will bring it all */
}

static dc_err on_role_event(perms_cache *pc, const cJSON *d, int deleted)
{
    perms_guild *g = find_guild(pc, snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "guild_id")));
    if (!g)
        return DC_OK;
    if (deleted) {
        uint64_t rid = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "role_id"));
        if (!rid)
            return DC_ERR_PROTO;
        drop_role(g, rid);
        return DC_OK;
    }
    perms_role pr;
    if (!parse_role(cJSON_GetObjectItemCaseSensitive(d, "role"), &pr))
        return DC_ERR_PROTO;
    return put_role(g, &pr);
}

dc_err perms_on_dispatch(perms_cache *pc, dc_event ev, const cJSON *d)
{
    if (!pc)
        return DC_OK;
    switch (ev) {
    case DC_EV_GUILD_CREATE:
        return cJSON_IsObject(d) ? on_guild_create(pc, d) : DC_ERR_PROTO;
    case DC_EV_GUILD_UPDATE:
        return cJSON_IsObject(d) ? on_guild_update(pc, d) : DC_ERR_PROTO;
    case DC_EV_GUILD_DELETE:
        /* Not even a removal: the bot may still be in the guild (REST says
         * 200); only a confirmed removal forgets (perms_forget). */
        return cJSON_IsObject(d) ? DC_OK : DC_ERR_PROTO;
    case DC_EV_GUILD_ROLE_CREATE:
    case DC_EV_GUILD_ROLE_UPDATE:
        return cJSON_IsObject(d) ? on_role_event(pc, d, 0) : DC_ERR_PROTO;
    case DC_EV_GUILD_ROLE_DELETE:
        return cJSON_IsObject(d) ? on_role_event(pc, d, 1) : DC_ERR_PROTO;
    default:
        return DC_OK;
    }
}

dc_err perms_on_guild(perms_cache *pc, const cJSON *guild)
{
    return cJSON_IsObject(guild) ? on_guild_create(pc, guild) : DC_ERR_PROTO;
}

int perms_guild_known(const perms_cache *pc, uint64_t guild_id)
{
    return pc && find_guild(pc, guild_id) != NULL;
}

uint64_t perms_compute(const perms_cache *pc, uint64_t guild_id, uint64_t user_id,
                      const uint64_t *member_roles, size_t n_member_roles)
{
    const perms_guild *g = pc ? find_guild(pc, guild_id) : NULL;
    if (!g)
        return 0;
    return perms_base(guild_id, g->owner_id, g->roles, g->n_roles, user_id, member_roles, n_member_roles);
}
