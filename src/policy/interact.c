/* interact.c - slash command interactions onto the prefix commands'
 * decision (see interact.h). */
#include "policy/interact.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/perms.h"
#include "proto/snowflake.h"

#define OPT_SUB_COMMAND 1
/* What a token may hold to go into a URL path as it is. */
#define TOKEN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* A subcommand name as a command word: lowercase letters, digits and '_'
 * only, else "?" (commands.c answers an unknown command with help). */
static void copy_sub(const char *name, char *out, size_t cap)
{
    size_t n = name ? strlen(name) : 0;
    int ok = n > 0 && n < cap;
    for (size_t i = 0; ok && i < n; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    snprintf(out, cap, "%s", ok ? name : (name ? "?" : ""));
}

/* The subcommand (data.options[0], type 1) and its options. */
static void parse_options(const cJSON *data, interact_request *r)
{
    const cJSON *sub = cJSON_GetArrayItem(get(data, "options"), 0), *o;
    if (!cJSON_IsObject(sub) || !cJSON_IsNumber(get(sub, "type")) || get(sub, "type")->valueint != OPT_SUB_COMMAND) {
        copy_sub(sub ? "?" : NULL, r->sub, sizeof r->sub);
        return;
    }
    copy_sub(cJSON_GetStringValue(get(sub, "name")), r->sub, sizeof r->sub);
    cJSON_ArrayForEach(o, get(sub, "options")) {
        const char *name = cJSON_GetStringValue(get(o, "name"));
        const cJSON *v = get(o, "value");
        if (name && strcmp(name, "force") == 0)
            r->force = cJSON_IsTrue(v);
        else if (name && strcmp(name, "hours") == 0 && cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            r->has_hours = 1;
            r->hours = v->valuedouble;
        }
    }
}

/* Guild, channel and asker: member (guild) or user (DM). */
static dc_err parse_place(const cJSON *d, interact_request *r, interact_kind *kind)
{
    const cJSON *member = get(d, "member");
    r->guild_id = snowflake_json(get(d, "guild_id"));
    r->channel_id = snowflake_json(get(d, "channel_id"));
    if (!r->guild_id) {
        *kind = INTERACT_DM;
        r->user_id = snowflake_json(get(get(d, "user"), "id"));
        return r->user_id ? DC_OK : DC_ERR_PROTO;
    }
    *kind = INTERACT_COMMAND;
    r->user_id = snowflake_json(get(get(member, "user"), "id"));
    const char *p = cJSON_GetStringValue(get(member, "permissions"));
    if (!r->user_id || !r->channel_id || !p || perms_parse(p, &r->permissions) != DC_OK) {
        r->permissions = 0;           /* nobody is trusted on missing information */
        return DC_ERR_PROTO;
    }
    return DC_OK;
}

dc_err interact_parse(const cJSON *d, const char *command_name, interact_request *r, interact_kind *kind)
{
    memset(r, 0, sizeof *r);
    *kind = INTERACT_NOT_OURS;
    const cJSON *type = get(d, "type"), *data = get(d, "data");
    const char *name = cJSON_GetStringValue(get(data, "name"));
    if (!cJSON_IsObject(d) || !cJSON_IsNumber(type) || type->valueint != INTERACT_TYPE_APPLICATION_COMMAND ||
        !name || !command_name || strcmp(name, command_name) != 0)
        return DC_OK;
    const char *token = cJSON_GetStringValue(get(d, "token"));
    r->id = snowflake_json(get(d, "id"));
    r->application_id = snowflake_json(get(d, "application_id"));
    if (!r->id || !token || !*token || strlen(token) >= sizeof r->token ||
        strspn(token, TOKEN_CHARS) != strlen(token))
        return DC_ERR_PROTO;          /* kind stays NOT_OURS: no way to answer (nor a safe path) */
    snprintf(r->token, sizeof r->token, "%s", token);
    parse_options(data, r);
    dc_err e = parse_place(d, r, kind);
    return e == DC_OK && !r->application_id ? DC_ERR_PROTO : e;
}

void interact_command_text(const interact_request *r, const char *prefix, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%scleanup_%s", prefix ? prefix : "!", r->sub[0] ? r->sub : "?");
    size_t off = n > 0 && (size_t)n < cap ? (size_t)n : cap;
    if (off >= cap)
        return;
    if (r->force)
        snprintf(buf + off, cap - off, " force");
    else if (r->has_hours && r->hours == floor(r->hours) && fabs(r->hours) < 1e15)
        snprintf(buf + off, cap - off, " %.0f", r->hours);
    else if (r->has_hours)
        snprintf(buf + off, cap - off, " %g", r->hours);
}

void interact_to_message(const interact_request *r, const char *content, commands_message *m)
{
    memset(m, 0, sizeof *m);
    m->guild_id = r->guild_id;
    m->channel_id = r->channel_id;
    m->message_id = r->id;
    m->author_id = r->user_id;
    m->content = content;
}

int interact_token_usable(int64_t dispatched_ms, int64_t now_ms)
{
    return now_ms - dispatched_ms < INTERACT_TOKEN_LIFE_MS - INTERACT_TOKEN_MARGIN_MS;
}

int interact_defers(const commands_decision *dec)
{
    return dec->kind == CMD_SWEEP || dec->kind == CMD_ALL_GUILDS ||
           (dec->kind == CMD_SCHEDULE && dec->sched != CMD_SCHED_SHOW);
}

char *interact_callback_json(int type, const char *content, int ephemeral)
{
    cJSON *j = cJSON_CreateObject(), *data = j ? cJSON_AddObjectToObject(j, "data") : NULL;
    char *text = content ? strdup(content) : NULL, *out = NULL;
    if (data && (!content || text)) {
        cJSON_AddNumberToObject(j, "type", type);
        if (text) {
            commands_trim(text, CMD_REPLY_MAX);
            cJSON_AddStringToObject(data, "content", text);
        }
        if (ephemeral)
            cJSON_AddNumberToObject(data, "flags", INTERACT_FLAG_EPHEMERAL);
        cJSON_AddItemToObject(cJSON_AddObjectToObject(data, "allowed_mentions"), "parse", cJSON_CreateArray());
        out = cJSON_PrintUnformatted(j);
    }
    free(text);
    cJSON_Delete(j);
    return out;
}
