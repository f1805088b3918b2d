/* slash_command.c - the slash command's JSON and the registration decision
 * (slash_command.h).  Tables, not code, say what the command holds, so the
 * builder and the comparison cannot drift apart. */
#include "policy/slash_command.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/snowflake.h"

#define DESCRIPTION "Remove the database rows of members who left"

typedef struct {
    int type;                    /* DC_APPCMD_OPTION_* */
    const char *name, *description;
    int bounded;                 /* NUMBER with min_value/max_value */
} slash_option;

typedef struct {
    const char *name, *description;
    slash_option option;         /* name NULL: none */
} slash_sub;

/* A macro, not a const object: C (and clang) wants constant initializers. */
#define FORCE { DC_APPCMD_OPTION_BOOLEAN, "force", "Delete even past the safety share of a server's rows", 0 }

static const slash_sub subs[] = {
    { "users", "Remove this server's rows of members who left", FORCE },
    { "test", "Show what a cleanup of this server would remove, removing nothing", { 0 } },
    { "status", "Show the connection, counters and this server's last sweep", { 0 } },
    { "all_guilds", "Clean up every server of the bot (bot owners only)", FORCE },
    { "schedule", "Show or set how often this server is swept",
      { DC_APPCMD_OPTION_NUMBER, "hours", "Hours between sweeps of this server", 1 } },
};

/* ---- building ---------------------------------------------------------------- */

static cJSON *option_json(const slash_option *o)
{
    cJSON *j = cJSON_CreateObject();
    if (!cJSON_AddNumberToObject(j, "type", o->type) || !cJSON_AddStringToObject(j, "name", o->name) ||
        !cJSON_AddStringToObject(j, "description", o->description) ||
        (o->bounded && (!cJSON_AddNumberToObject(j, "min_value", SLASH_HOURS_MIN) ||
                        !cJSON_AddNumberToObject(j, "max_value", SLASH_HOURS_MAX)))) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static cJSON *sub_json(const slash_sub *s)
{
    cJSON *j = option_json(&(slash_option){ DC_APPCMD_OPTION_SUB_COMMAND, s->name, s->description, 0 });
    cJSON *opts = j && s->option.name ? cJSON_AddArrayToObject(j, "options") : NULL;
    cJSON *o = opts ? option_json(&s->option) : NULL;
    if (!j || (s->option.name && (!o || !cJSON_AddItemToArray(opts, o)))) {
        cJSON_Delete(o);
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

cJSON *slash_command_build(const slash_spec *spec)
{
    char perms[24];
    snprintf(perms, sizeof perms, "%" PRIu64, spec->permissions);
    int guild_only = DC_APPCMD_CONTEXT_GUILD;
    cJSON *j = cJSON_CreateObject();
    cJSON *contexts = cJSON_CreateIntArray(&guild_only, 1);
    int ok = j && contexts && cJSON_AddStringToObject(j, "name", spec->name) &&
             cJSON_AddNumberToObject(j, "type", DC_APPCMD_TYPE_CHAT_INPUT) &&
             cJSON_AddStringToObject(j, "description", DESCRIPTION) &&
             cJSON_AddStringToObject(j, "default_member_permissions", perms) &&
             cJSON_AddItemToObject(j, "contexts", contexts);
    if (!ok)
        cJSON_Delete(contexts);
    cJSON *opts = ok ? cJSON_AddArrayToObject(j, "options") : NULL;
    for (size_t i = 0; opts && i < sizeof subs / sizeof subs[0]; i++) {
        cJSON *s = sub_json(&subs[i]);
        if (!s || !cJSON_AddItemToArray(opts, s)) {
            cJSON_Delete(s);
            opts = NULL;
        }
    }
    if (!opts) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

/* ---- comparing ---------------------------------------------------------------- */

static const cJSON *field(const cJSON *o, const char *name)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(f) ? NULL : f;
}

static int same_string(const cJSON *a, const cJSON *b, const char *name)
{
    const char *x = cJSON_GetStringValue(field(a, name)), *y = cJSON_GetStringValue(field(b, name));
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

/* Both absent, or numbers of one value; dflt stands for an absent one
 * (dflt < 0: no default, absent on one side only differs). */
static int same_number(const cJSON *a, const cJSON *b, const char *name, double dflt)
{
    const cJSON *x = field(a, name), *y = field(b, name);
    if (!x && !y)
        return 1;
    double vx = cJSON_IsNumber(x) ? x->valuedouble : dflt, vy = cJSON_IsNumber(y) ? y->valuedouble : dflt;
    if ((x && !cJSON_IsNumber(x)) || (y && !cJSON_IsNumber(y)) || vx < 0 || vy < 0)
        return 0;
    return vx == vy;
}

static int same_bool(const cJSON *a, const cJSON *b, const char *name)
{
    return cJSON_IsTrue(field(a, name)) == cJSON_IsTrue(field(b, name));
}

/* Decimal strings of one value ("8" and "08" alike), or both absent. */
static int same_permissions(const cJSON *a, const cJSON *b)
{
    const char *x = cJSON_GetStringValue(field(a, "default_member_permissions"));
    const char *y = cJSON_GetStringValue(field(b, "default_member_permissions"));
    if (!x || !y)
        return !x && !y && !field(a, "default_member_permissions") && !field(b, "default_member_permissions");
    return strtoull(x, NULL, 10) == strtoull(y, NULL, 10);
}

static int holds_number(const cJSON *arr, double v)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
        if (cJSON_IsNumber(e) && e->valuedouble == v)
            return 1;
    return 0;
}

/* The same set of contexts (order aside), or both absent. */
static int same_contexts(const cJSON *a, const cJSON *b)
{
    const cJSON *x = field(a, "contexts"), *y = field(b, "contexts"), *e;
    if (!x || !y)
        return !x && !y;
    if (!cJSON_IsArray(x) || !cJSON_IsArray(y) || cJSON_GetArraySize(x) != cJSON_GetArraySize(y))
        return 0;
    cJSON_ArrayForEach(e, x)
        if (!cJSON_IsNumber(e) || !holds_number(y, e->valuedouble))
            return 0;
    return 1;
}

static int same_options(const cJSON *a, const cJSON *b);

static int same_option(const cJSON *a, const cJSON *b)
{
    return cJSON_IsObject(a) && cJSON_IsObject(b) && same_number(a, b, "type", -1) && same_string(a, b, "name") &&
           same_string(a, b, "description") && same_bool(a, b, "required") &&
           same_number(a, b, "min_value", -1) && same_number(a, b, "max_value", -1) && same_options(a, b);
}

/* In order (Discord keeps it); an absent list is an empty one. */
static int same_options(const cJSON *a, const cJSON *b)
{
    const cJSON *x = field(a, "options"), *y = field(b, "options");
    int nx = cJSON_IsArray(x) ? cJSON_GetArraySize(x) : 0, ny = cJSON_IsArray(y) ? cJSON_GetArraySize(y) : 0;
    if ((x && !cJSON_IsArray(x)) || (y && !cJSON_IsArray(y)) || nx != ny)
        return 0;
    for (int i = 0; i < nx; i++)
        if (!same_option(cJSON_GetArrayItem(x, i), cJSON_GetArrayItem(y, i)))
            return 0;
    return 1;
}

int slash_command_matches(const cJSON *want, const cJSON *have)
{
    return cJSON_IsObject(want) && cJSON_IsObject(have) &&
           same_number(want, have, "type", DC_APPCMD_TYPE_CHAT_INPUT) && same_string(want, have, "name") &&
           same_string(want, have, "description") && same_permissions(want, have) &&
           same_contexts(want, have) && same_options(want, have);
}

/* ---- deciding ------------------------------------------------------------------ */

static int is_chat_input(const cJSON *c)
{
    const cJSON *t = field(c, "type");
    return !t || (cJSON_IsNumber(t) && t->valuedouble == DC_APPCMD_TYPE_CHAT_INPUT);
}

dc_err slash_command_plan(const cJSON *want, const cJSON *existing, uint64_t recorded, slash_plan *out)
{
    const char *name = cJSON_GetStringValue(field(want, "name"));
    const cJSON *c, *by_name = NULL, *by_id = NULL;
    *out = (slash_plan){ SLASH_CREATE, 0 };
    if (!name || !cJSON_IsArray(existing))
        return DC_ERR_PROTO;
    cJSON_ArrayForEach(c, existing) {
        const char *cname = cJSON_GetStringValue(field(c, "name"));
        if (cname && is_chat_input(c) && strcmp(cname, name) == 0)
            by_name = c;
        if (recorded && snowflake_json(field(c, "id")) == recorded)
            by_id = c;
    }
    if (by_name) {
        uint64_t id = snowflake_json(field(by_name, "id"));
        if (!id)
            return DC_ERR_PROTO;
        out->id = id;
        out->step = id != recorded ? SLASH_FOREIGN : slash_command_matches(want, by_name) ? SLASH_NOTHING : SLASH_UPDATE;
    } else if (by_id) {
        /* ours under another name (slash_command_name changed): renamed in place */
        out->id = recorded;
        out->step = SLASH_UPDATE;
    }
    return DC_OK;
}

const char *slash_step_name(slash_step s)
{
    static const char *const names[] = { "nothing", "create", "update", "foreign" };
    return s >= SLASH_NOTHING && s <= SLASH_FOREIGN ? names[s] : "unknown";
}
