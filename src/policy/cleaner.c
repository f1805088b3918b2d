/* cleaner.c - see cleaner.h for the rules. */
#include "policy/cleaner.h"
#include "base/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cleaner_actions_free(cleaner_actions *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static dc_err push(cleaner_actions *a, cleaner_action_kind kind, uint64_t guild, uint64_t user, audit_reason why)
{
    if (VEC_GROW(a->v, a->cap, a->n + 1, 16) != 0)
        return DC_ERR_NOMEM;
    a->v[a->n++] = (cleaner_action){ kind, guild, user, why };
    return DC_OK;
}

static uint64_t field_id(const cJSON *obj, const char *name)
{
    return snowflake_json(cJSON_GetObjectItemCaseSensitive(obj, name));
}

static dc_err on_member_remove(const cJSON *d, cleaner_actions *out)
{
    uint64_t guild = field_id(d, "guild_id");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(d, "user");
    uint64_t uid = cJSON_IsObject(user) ? field_id(user, "id") : 0;
    if (!guild || !uid)          /* user: null, missing ids: nothing we can act on */
        return DC_ERR_PROTO;
    return push(out, CL_DELETE_MEMBER, guild, uid, AUDIT_MEMBER_REMOVE);
}

static dc_err on_member_add(const cJSON *d, cleaner_actions *out)
{
    uint64_t guild = field_id(d, "guild_id");
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(d, "user");
    uint64_t uid = cJSON_IsObject(user) ? field_id(user, "id") : 0;
    if (!guild || !uid)
        return DC_ERR_PROTO;
    return push(out, CL_MEMBER_PRESENT, guild, uid, AUDIT_SWEEP);
}

static dc_err on_guild_delete(const cJSON *d, cleaner_actions *out)
{
    uint64_t guild = field_id(d, "id");
    if (!guild)
        return DC_ERR_PROTO;
    /* Only an explicit true means outage; any other value is not proof of
     * an outage, but not proof of removal either -- REST decides. */
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "unavailable")))
        return push(out, CL_GUILD_UNAVAILABLE, guild, 0, AUDIT_GUILD_DELETE);
    return push(out, CL_CONFIRM_GONE, guild, 0, AUDIT_GUILD_DELETE);
}

static dc_err on_guild_create(const cJSON *d, cleaner_actions *out)
{
    uint64_t guild = field_id(d, "id");
    if (!guild)
        return DC_ERR_PROTO;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "unavailable")))
        return push(out, CL_GUILD_UNAVAILABLE, guild, 0, AUDIT_GUILD_DELETE);
    return push(out, CL_GUILD_SEEN, guild, 0, AUDIT_SWEEP);
}

static int in_list(uint64_t id, const uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == id)
            return 1;
    return 0;
}

/* READY: which stored guilds did we leave while offline?  The ready list is
 * small (<= 2500 per shard), so a linear scan per stored guild is fine. */
static dc_err on_ready(const cleaner_context *cx, const cJSON *d, cleaner_actions *out)
{
    const cJSON *guilds = cJSON_GetObjectItemCaseSensitive(d, "guilds");
    if (!cJSON_IsArray(guilds))
        return DC_ERR_PROTO;
    size_t n = (size_t)cJSON_GetArraySize(guilds), k = 0;
    uint64_t *ready = calloc(n ? n : 1, sizeof *ready);
    if (!ready)
        return DC_ERR_NOMEM;
    const cJSON *g;
    cJSON_ArrayForEach(g, guilds) {
        uint64_t id = field_id(g, "id");
        if (id)
            ready[k++] = id;
    }
    dc_err e = DC_OK;
    for (size_t i = 0; i < k && e == DC_OK; i++)
        e = push(out, CL_MARK_RECONCILE, ready[i], 0, AUDIT_SWEEP);
    if (e == DC_OK && k == 1 && cx->shard_count <= 1 && cx->unassigned_rows > 0)
        e = push(out, CL_ADOPT_UNASSIGNED, ready[0], 0, AUDIT_SWEEP);
    size_t missing = 0;
    for (size_t i = 0; i < cx->n_stored; i++)
        missing += !in_list(cx->stored_guilds[i], ready, k);
    if (e == DC_OK && missing && (double)missing > cx->max_delete_share * (double)cx->n_stored) {
        snprintf(out->guard, sizeof out->guard,
                 "READY lists %zu guilds but %zu of the %zu stored guilds of shard %d are missing "
                 "(more than max_delete_share %.2f): deleting nothing; check the token and shard count",
                 k, missing, cx->n_stored, cx->shard_id, cx->max_delete_share);
        missing = 0;
    }
    for (size_t i = 0; missing && i < cx->n_stored && e == DC_OK; i++)
        if (!in_list(cx->stored_guilds[i], ready, k))
            e = push(out, CL_CONFIRM_GONE, cx->stored_guilds[i], 0, AUDIT_LEFT_WHILE_OFFLINE);
    free(ready);
    return e;
}

dc_err cleaner_on_dispatch(const cleaner_context *cx, dc_event ev, const cJSON *d, cleaner_actions *out)
{
    switch (ev) {
    case DC_EV_GUILD_MEMBER_REMOVE:
        return cJSON_IsObject(d) ? on_member_remove(d, out) : DC_ERR_PROTO;
    case DC_EV_GUILD_MEMBER_ADD:
        return cJSON_IsObject(d) ? on_member_add(d, out) : DC_ERR_PROTO;
    case DC_EV_GUILD_DELETE:
        return cJSON_IsObject(d) ? on_guild_delete(d, out) : DC_ERR_PROTO;
    case DC_EV_GUILD_CREATE:
        return cJSON_IsObject(d) ? on_guild_create(d, out) : DC_ERR_PROTO;
    case DC_EV_READY:
        return cJSON_IsObject(d) ? on_ready(cx, d, out) : DC_ERR_PROTO;
    default:
        return DC_OK;
    }
}
