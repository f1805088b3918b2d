/* fuzz_command.c - the chat command parser: MESSAGE_CREATE data through
 * commands_parse_message and commands_decide (with and without the permission, as an
 * owner or not), the reply body and the trimmer.  Input that is not JSON
 * becomes the content of an otherwise valid message, so the command text
 * parser sees raw bytes too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "policy/commands.h"
#include "base/log.h"

static void decide_all_ways(commands_state *cs, const commands_message *m)
{
    static const uint64_t perms[] = { 0, 8, 32, UINT64_MAX };
    for (size_t p = 0; p < sizeof perms / sizeof perms[0]; p++)
        for (int owner = 0; owner < 2; owner++) {
            commands_decision dec;
            memset(&dec, 0xa5, sizeof dec);          /* the decision must fill what it says */
            commands_decide(cs, m, perms[p], owner, (int64_t)p * 1000, &dec);
            if (dec.kind == CMD_REFUSE || dec.kind == CMD_HELP) {
                if (!memchr(dec.text, '\0', sizeof dec.text))
                    abort();
                char *json = commands_reply_json(m->message_id, dec.text);
                free(json);
            }
        }
}

static cJSON *message_around(const char *content)
{
    cJSON *d = cJSON_CreateObject(), *author = cJSON_CreateObject(), *member = cJSON_CreateObject();
    cJSON *roles = cJSON_CreateArray();
    cJSON_AddStringToObject(d, "id", "7001");
    cJSON_AddStringToObject(d, "channel_id", "4001");
    cJSON_AddStringToObject(d, "guild_id", "555");
    cJSON_AddStringToObject(author, "id", "3001");
    cJSON_AddItemToObject(d, "author", author);
    cJSON_AddItemToArray(roles, cJSON_CreateString("60"));
    cJSON_AddItemToObject(member, "roles", roles);
    cJSON_AddItemToObject(d, "member", member);
    cJSON_AddStringToObject(d, "content", content);
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    log_set_level(DCL_ERROR);
    commands_config cfg = { .prefix = "!", .admin_permission = 8, .dry_run = (int)(size & 1) };
    commands_state *cs = commands_state_new(&cfg);
    if (!cs)
        return 0;
    cJSON *d = cJSON_ParseWithLength((const char *)data, size);
    if (!d) {
        char *text = malloc(size + 1);
        if (text) {
            memcpy(text, data, size);
            text[size] = '\0';
            d = message_around(text);
            commands_trim(text, size / 2);            /* any cut point, any bytes */
            free(text);
        }
    }
    commands_message m;
    if (d && commands_parse_message(d, &m) == DC_OK)
        decide_all_ways(cs, &m);
    cJSON_Delete(d);
    commands_state_free(cs);
    return 0;
}
