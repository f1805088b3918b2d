/* test_interact.c - slash command interactions: parsing, the equivalent
 * prefix command, the same decision as the prefix commands, answer bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy/commands.h"
#include "policy/interact.h"

#define GUILD_IX(member, sub) \
    "{\"id\":\"900\",\"application_id\":\"77\",\"type\":2,\"token\":\"tok\",\"guild_id\":\"10\"," \
    "\"channel_id\":\"20\",\"member\":" member ",\"data\":{\"id\":\"5\",\"name\":\"cleanup\",\"type\":1," \
    "\"options\":[" sub "]}}"
#define ADMIN "{\"user\":{\"id\":\"40\"},\"roles\":[],\"permissions\":\"8\"}"
#define PLAIN "{\"user\":{\"id\":\"41\"},\"roles\":[],\"permissions\":\"1024\"}"

static interact_kind parse(const char *json, interact_request *r, dc_err *e)
{
    interact_kind k;
    cJSON *d = cJSON_Parse(json);
    assert_non_null(d);
    *e = interact_parse(d, "cleanup", r, &k);
    cJSON_Delete(d);
    return k;
}

static void parses_guild_command(void **state)
{
    (void)state;
    interact_request r;
    dc_err e;
    assert_int_equal(parse(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"users\",\"options\":"
                                    "[{\"name\":\"force\",\"type\":5,\"value\":true}]}"), &r, &e), INTERACT_COMMAND);
    assert_int_equal(e, DC_OK);
    assert_true(r.id == 900 && r.application_id == 77 && r.guild_id == 10 && r.channel_id == 20 && r.user_id == 40);
    assert_string_equal(r.token, "tok");
    assert_true(r.permissions == 8);
    assert_string_equal(r.sub, "users");
    assert_int_equal(r.force, 1);
    char text[64];
    interact_command_text(&r, "!", text, sizeof text);
    assert_string_equal(text, "!cleanup_users force");
    /* schedule with hours, a custom prefix */
    parse(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"schedule\",\"options\":[{\"name\":\"hours\",\"type\":10,\"value\":48}]}"),
          &r, &e);
    interact_command_text(&r, "?", text, sizeof text);
    assert_string_equal(text, "?cleanup_schedule 48");
    parse(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"schedule\",\"options\":[{\"name\":\"hours\",\"type\":10,\"value\":1.5}]}"),
          &r, &e);
    interact_command_text(&r, "!", text, sizeof text);
    assert_string_equal(text, "!cleanup_schedule 1.5");
    /* force:false adds nothing; a name that is no plain word becomes "?" */
    parse(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"users\",\"options\":[{\"name\":\"force\",\"type\":5,\"value\":false}]}"),
          &r, &e);
    interact_command_text(&r, "!", text, sizeof text);
    assert_string_equal(text, "!cleanup_users");
    parse(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"users force\"}"), &r, &e);
    assert_string_equal(r.sub, "?");
}

static void not_ours_dm_and_malformed(void **state)
{
    (void)state;
    interact_request r;
    dc_err e;
    /* another command name, another interaction type */
    assert_int_equal(parse("{\"id\":\"1\",\"type\":2,\"token\":\"t\",\"application_id\":\"7\",\"data\":{\"name\":\"other\"}}",
                           &r, &e), INTERACT_NOT_OURS);
    assert_int_equal(parse("{\"id\":\"1\",\"type\":3,\"token\":\"t\",\"application_id\":\"7\",\"data\":{\"name\":\"cleanup\"}}",
                           &r, &e), INTERACT_NOT_OURS);
    assert_int_equal(e, DC_OK);
    /* a DM: a user, no guild */
    assert_int_equal(parse("{\"id\":\"1\",\"type\":2,\"token\":\"t\",\"application_id\":\"7\",\"channel_id\":\"3\","
                           "\"user\":{\"id\":\"40\"},\"data\":{\"name\":\"cleanup\",\"options\":[{\"type\":1,\"name\":\"status\"}]}}",
                           &r, &e), INTERACT_DM);
    assert_int_equal(e, DC_OK);
    assert_true(r.user_id == 40 && r.guild_id == 0);
    /* no token: nothing can answer it */
    assert_int_equal(parse("{\"id\":\"1\",\"type\":2,\"application_id\":\"7\",\"data\":{\"name\":\"cleanup\"}}", &r, &e),
                     INTERACT_NOT_OURS);
    assert_int_equal(e, DC_ERR_PROTO);
    /* a token that is no plain URL piece */
    assert_int_equal(parse("{\"id\":\"1\",\"type\":2,\"token\":\"a/../b\",\"application_id\":\"7\","
                           "\"data\":{\"name\":\"cleanup\"}}", &r, &e), INTERACT_NOT_OURS);
    assert_int_equal(e, DC_ERR_PROTO);
    /* permissions missing or not a number: malformed, trusted with nothing */
    assert_int_equal(parse(GUILD_IX("{\"user\":{\"id\":\"40\"}}", "{\"type\":1,\"name\":\"users\"}"), &r, &e),
                     INTERACT_COMMAND);
    assert_int_equal(e, DC_ERR_PROTO);
    assert_true(r.permissions == 0);
    parse(GUILD_IX("{\"user\":{\"id\":\"40\"},\"permissions\":\"8x\"}", "{\"type\":1,\"name\":\"users\"}"), &r, &e);
    assert_int_equal(e, DC_ERR_PROTO);
    assert_true(r.permissions == 0);
}

/* The slash request decides exactly like its prefix text. */
static commands_kind decide(const char *json, uint64_t admin, int is_owner, commands_decision *dec)
{
    interact_request r;
    commands_message m;
    dc_err e;
    char text[64];
    commands_config c = { .prefix = "!", .admin_permission = admin };
    commands_state *cs = commands_state_new(&c);
    parse(json, &r, &e);
    assert_int_equal(e, DC_OK);
    interact_command_text(&r, "!", text, sizeof text);
    interact_to_message(&r, text, &m);
    m.slash = "cleanup";             /* as interact_live.c sets it */
    assert_true(m.message_id == r.id && m.author_id == r.user_id && m.guild_id == 10);
    commands_decide(cs, &m, r.permissions, is_owner, 0, dec);
    commands_state_free(cs);
    return dec->kind;
}

static void same_decision_as_prefix(void **state)
{
    (void)state;
    commands_decision dec;
    const char *users = GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"users\",\"options\":[{\"name\":\"force\",\"value\":true}]}");
    assert_int_equal(decide(users, 8, 0, &dec), CMD_SWEEP);
    assert_int_equal(dec.force, 1);
    assert_int_equal(dec.dry_run, 0);
    assert_int_equal(decide(GUILD_IX(PLAIN, "{\"type\":1,\"name\":\"users\"}"), 8, 0, &dec), CMD_REFUSE);
    assert_non_null(strstr(dec.text, "ADMINISTRATOR"));
    /* an owner may; MANAGE_GUILD as the admin permission */
    assert_int_equal(decide(GUILD_IX(PLAIN, "{\"type\":1,\"name\":\"users\"}"), 8, 1, &dec), CMD_SWEEP);
    assert_int_equal(decide(GUILD_IX("{\"user\":{\"id\":\"41\"},\"permissions\":\"32\"}", "{\"type\":1,\"name\":\"test\"}"),
                            32, 0, &dec), CMD_SWEEP);
    assert_int_equal(dec.dry_run, 1);
    /* all_guilds: owners only, even for an administrator */
    assert_int_equal(decide(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"all_guilds\"}"), 8, 0, &dec), CMD_REFUSE);
    assert_non_null(strstr(dec.text, "`/cleanup all_guilds`"));      /* named as it was asked */
    assert_int_equal(decide(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"all_guilds\"}"), 8, 1, &dec), CMD_ALL_GUILDS);
    assert_int_equal(decide(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"status\"}"), 8, 0, &dec), CMD_STATUS);
    assert_int_equal(decide(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"nope\"}"), 8, 0, &dec), CMD_HELP);
    assert_non_null(strstr(dec.text, "`/cleanup users [force]`"));   /* the help lists the /forms */
    assert_null(strstr(dec.text, "!cleanup_"));
    commands_decision k = { .kind = CMD_SWEEP };
    assert_int_equal(interact_defers(&k), 1);
    k.kind = CMD_ALL_GUILDS;
    assert_int_equal(interact_defers(&k), 1);
    k.kind = CMD_STATUS;
    assert_int_equal(interact_defers(&k), 0);
    k.kind = CMD_REFUSE;
    assert_int_equal(interact_defers(&k), 0);
    /* the schedule: shown at once, saved (a database write) deferred */
    const char *show = GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"schedule\"}");
    const char *set = GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"schedule\",\"options\":[{\"name\":\"hours\",\"value\":48}]}");
    assert_int_equal(decide(show, 8, 0, &dec), CMD_SCHEDULE);
    assert_int_equal(dec.sched, CMD_SCHED_SHOW);
    assert_int_equal(interact_defers(&dec), 0);
    assert_int_equal(decide(set, 8, 0, &dec), CMD_SCHEDULE);
    assert_int_equal(dec.sched, CMD_SCHED_SET);
    assert_true(dec.hours == 48);
    assert_int_equal(interact_defers(&dec), 1);
    assert_int_equal(decide(GUILD_IX(PLAIN, "{\"type\":1,\"name\":\"schedule\",\"options\":[{\"name\":\"hours\",\"value\":48}]}"),
                            8, 0, &dec), CMD_REFUSE);
    /* out of bounds: help naming them, like the prefix command */
    assert_int_equal(decide(GUILD_IX(ADMIN, "{\"type\":1,\"name\":\"schedule\",\"options\":[{\"name\":\"hours\",\"value\":9999}]}"),
                            8, 0, &dec), CMD_HELP);
}

static void token_lifetime(void **state)
{
    (void)state;
    assert_int_equal(interact_token_usable(1000, 1000), 1);
    assert_int_equal(interact_token_usable(1000, 1000 + 13 * 60 * 1000), 1);
    assert_int_equal(interact_token_usable(1000, 1000 + 14 * 60 * 1000), 0);   /* the margin */
    assert_int_equal(interact_token_usable(1000, 1000 + 16 * 60 * 1000), 0);
}

static void callback_bodies(void **state)
{
    (void)state;
    char *s = interact_callback_json(INTERACT_CALLBACK_MESSAGE, "hi @everyone", 1);
    cJSON *j = cJSON_Parse(s);
    assert_int_equal(cJSON_GetObjectItem(j, "type")->valueint, 4);
    cJSON *data = cJSON_GetObjectItem(j, "data");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(data, "content")), "hi @everyone");
    assert_int_equal(cJSON_GetObjectItem(data, "flags")->valueint, 64);
    cJSON *parse = cJSON_GetObjectItem(cJSON_GetObjectItem(data, "allowed_mentions"), "parse");
    assert_true(cJSON_IsArray(parse) && cJSON_GetArraySize(parse) == 0);
    cJSON_Delete(j);
    free(s);
    s = interact_callback_json(INTERACT_CALLBACK_DEFERRED, NULL, 0);
    j = cJSON_Parse(s);
    assert_int_equal(cJSON_GetObjectItem(j, "type")->valueint, 5);
    data = cJSON_GetObjectItem(j, "data");
    assert_null(cJSON_GetObjectItem(data, "content"));
    assert_null(cJSON_GetObjectItem(data, "flags"));
    assert_non_null(cJSON_GetObjectItem(data, "allowed_mentions"));
    cJSON_Delete(j);
    free(s);
    /* a long text is trimmed under Discord's limit */
    char *big = malloc(5000);
    memset(big, 'x', 4999);
    big[4999] = '\0';
    s = interact_callback_json(INTERACT_CALLBACK_MESSAGE, big, 1);
    j = cJSON_Parse(s);
    assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "content"))) <= CMD_REPLY_MAX);
    cJSON_Delete(j);
    free(s);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_guild_command),
        cmocka_unit_test(not_ours_dm_and_malformed),
        cmocka_unit_test(same_decision_as_prefix),
        cmocka_unit_test(token_lifetime),
        cmocka_unit_test(callback_bodies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
