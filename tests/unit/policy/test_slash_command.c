/* test_slash_command.c - the slash command's JSON, the comparison with what
 * Discord answers (its normalisation allowed for, real differences seen)
 * and the registration decision (nothing, create, update, foreign). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy/slash_command.h"

#define OURS 1111
#define THEIRS 2222

static cJSON *want_of(const char *name, uint64_t perms)
{
    slash_spec spec = { name, perms };
    cJSON *j = slash_command_build(&spec);
    assert_non_null(j);
    return j;
}

static const cJSON *sub(const cJSON *cmd, const char *name)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(cmd, "options"))
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(o, "name")), name) == 0)
            return o;
    return NULL;
}

static void build_has_every_field(void **state)
{
    (void)state;
    cJSON *w = want_of("cleanup", 8);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(w, "name")), "cleanup");
    assert_int_equal(cJSON_GetObjectItem(w, "type")->valueint, 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(w, "default_member_permissions")), "8");
    const cJSON *ctx = cJSON_GetObjectItem(w, "contexts");
    assert_int_equal(cJSON_GetArraySize(ctx), 1);
    assert_int_equal(cJSON_GetArrayItem(ctx, 0)->valueint, 0);      /* guild only */
    const char *desc = cJSON_GetStringValue(cJSON_GetObjectItem(w, "description"));
    assert_true(strlen(desc) >= 1 && strlen(desc) <= 100);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(w, "options")), 5);
    static const char *const names[] = { "users", "test", "status", "all_guilds", "schedule" };
    for (size_t i = 0; i < 5; i++) {
        const cJSON *s = sub(w, names[i]);
        assert_non_null(s);
        assert_int_equal(cJSON_GetObjectItem(s, "type")->valueint, 1);   /* SUB_COMMAND */
        assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(s, "description"))) <= 100);
    }
    const cJSON *force = cJSON_GetArrayItem(cJSON_GetObjectItem(sub(w, "users"), "options"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(force, "name")), "force");
    assert_int_equal(cJSON_GetObjectItem(force, "type")->valueint, 5);      /* BOOLEAN */
    assert_null(cJSON_GetObjectItem(force, "required"));                   /* optional */
    assert_non_null(cJSON_GetObjectItem(sub(w, "all_guilds"), "options"));
    assert_null(cJSON_GetObjectItem(sub(w, "status"), "options"));
    const cJSON *hours = cJSON_GetArrayItem(cJSON_GetObjectItem(sub(w, "schedule"), "options"), 0);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(hours, "name")), "hours");
    assert_int_equal(cJSON_GetObjectItem(hours, "type")->valueint, 10);     /* NUMBER */
    assert_int_equal(cJSON_GetObjectItem(hours, "min_value")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(hours, "max_value")->valueint, 720);
    cJSON_Delete(w);
    /* a mask of several bits as one decimal string */
    w = want_of("dc", (UINT64_C(1) << 40) | 0x20);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(w, "default_member_permissions")), "1099511627808");
    cJSON_Delete(w);
}

/* What Discord answers for w: its own fields added, "required": false and
 * empty option lists left out, "type" of the command dropped. */
static cJSON *as_discord_returns(const cJSON *w, uint64_t id)
{
    cJSON *h = cJSON_Duplicate(w, 1);
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)id);
    cJSON_AddStringToObject(h, "id", buf);
    cJSON_AddStringToObject(h, "application_id", "999");
    cJSON_AddStringToObject(h, "version", "12345");
    cJSON_AddNullToObject(h, "name_localizations");
    cJSON_AddBoolToObject(h, "dm_permission", 0);
    cJSON_AddBoolToObject(h, "nsfw", 0);
    cJSON_DeleteItemFromObject(h, "type");
    cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(h, "options"))
        cJSON_AddItemToObject(o, "name_localizations", cJSON_CreateNull());
    return h;
}

static void matches_allow_for_normalisation(void **state)
{
    (void)state;
    cJSON *w = want_of("cleanup", 8);
    cJSON *h = as_discord_returns(w, OURS);
    assert_true(slash_command_matches(w, h));
    /* "required": false said out loud, permissions as "08" */
    cJSON *force = cJSON_GetArrayItem(cJSON_GetObjectItem((cJSON *)sub(h, "users"), "options"), 0);
    cJSON_AddBoolToObject(force, "required", 0);
    cJSON_ReplaceItemInObject(h, "default_member_permissions", cJSON_CreateString("08"));
    assert_true(slash_command_matches(w, h));
    cJSON_Delete(h);
    cJSON_Delete(w);
}

/* Each change on Discord's side that registration must undo. */
static void matches_see_real_differences(void **state)
{
    (void)state;
    cJSON *w = want_of("cleanup", 8);
    for (int change = 0; change < 9; change++) {
        cJSON *h = as_discord_returns(w, OURS);
        cJSON *opts = cJSON_GetObjectItem(h, "options");
        cJSON *hours = cJSON_GetArrayItem(cJSON_GetObjectItem((cJSON *)sub(h, "schedule"), "options"), 0);
        switch (change) {
        case 0: cJSON_ReplaceItemInObject(h, "default_member_permissions", cJSON_CreateString("32")); break;
        case 1: cJSON_ReplaceItemInObject(h, "default_member_permissions", cJSON_CreateNull()); break;
        case 2: cJSON_ReplaceItemInObject(h, "contexts", cJSON_CreateNull()); break;
        case 3: cJSON_ReplaceItemInObject(h, "description", cJSON_CreateString("old text")); break;
        case 4: cJSON_DeleteItemFromArray(opts, 4); break;                      /* no schedule */
        case 5: cJSON_ReplaceItemInObject(hours, "max_value", cJSON_CreateNumber(168)); break;
        case 6: cJSON_AddBoolToObject(hours, "required", 1); break;
        case 7: cJSON_DeleteItemFromObject(hours, "min_value"); break;
        case 8: {
            int ctx[2] = { 0, 1 };
            cJSON_ReplaceItemInObject(h, "contexts", cJSON_CreateIntArray(ctx, 2));
            break;
        }
        }
        if (slash_command_matches(w, h))
            fail_msg("change %d was not seen", change);
        cJSON_Delete(h);
    }
    cJSON_Delete(w);
}

static cJSON *list_of(cJSON *a, cJSON *b)
{
    cJSON *l = cJSON_CreateArray();
    if (a)
        cJSON_AddItemToArray(l, a);
    if (b)
        cJSON_AddItemToArray(l, b);
    return l;
}

static cJSON *other_command(const char *name, int type, uint64_t id)
{
    char buf[24];
    cJSON *c = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)id);
    cJSON_AddStringToObject(c, "id", buf);
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddNumberToObject(c, "type", type);
    cJSON_AddStringToObject(c, "description", type == 1 ? "theirs" : "");
    return c;
}

static slash_plan plan(const cJSON *w, cJSON *existing, uint64_t recorded)
{
    slash_plan p;
    assert_int_equal(slash_command_plan(w, existing, recorded, &p), DC_OK);
    cJSON_Delete(existing);
    return p;
}

static void plan_steps(void **state)
{
    (void)state;
    cJSON *w = want_of("cleanup", 8);
    /* none yet (another command of another name, a user command named alike) */
    slash_plan p = plan(w, list_of(other_command("levels", 1, 5), other_command("cleanup", 2, 6)), 0);
    assert_int_equal(p.step, SLASH_CREATE);
    p = plan(w, list_of(NULL, NULL), OURS);                   /* ours was deleted: again */
    assert_int_equal(p.step, SLASH_CREATE);
    /* ours, matching */
    p = plan(w, list_of(as_discord_returns(w, OURS), other_command("levels", 1, 5)), OURS);
    assert_int_equal(p.step, SLASH_NOTHING);
    assert_true(p.id == OURS);
    /* ours, with other permissions */
    cJSON *old = want_of("cleanup", 32);
    p = plan(w, list_of(as_discord_returns(old, OURS), NULL), OURS);
    cJSON_Delete(old);
    assert_int_equal(p.step, SLASH_UPDATE);
    assert_true(p.id == OURS);
    /* ours under its old name (slash_command_name changed): renamed */
    old = want_of("dc-clean", 8);
    p = plan(w, list_of(as_discord_returns(old, OURS), NULL), OURS);
    cJSON_Delete(old);
    assert_int_equal(p.step, SLASH_UPDATE);
    assert_true(p.id == OURS);
    /* the name is someone else's: with nothing recorded, or another id recorded */
    p = plan(w, list_of(as_discord_returns(w, THEIRS), NULL), 0);
    assert_int_equal(p.step, SLASH_FOREIGN);
    assert_true(p.id == THEIRS);
    p = plan(w, list_of(other_command("cleanup", 1, THEIRS), other_command("old", 1, OURS)), OURS);
    assert_int_equal(p.step, SLASH_FOREIGN);
    assert_string_equal(slash_step_name(p.step), "foreign");
    cJSON_Delete(w);
}

static void plan_refuses_malformed_answers(void **state)
{
    (void)state;
    cJSON *w = want_of("cleanup", 8);
    slash_plan p;
    cJSON *obj = cJSON_CreateObject();
    assert_int_equal(slash_command_plan(w, obj, 0, &p), DC_ERR_PROTO);
    cJSON_Delete(obj);
    cJSON *noid = list_of(other_command("cleanup", 1, 0), NULL);
    assert_int_equal(slash_command_plan(w, noid, 0, &p), DC_ERR_PROTO);
    cJSON_Delete(noid);
    assert_int_equal(slash_command_plan(w, NULL, 0, &p), DC_ERR_PROTO);
    cJSON_Delete(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(build_has_every_field),
        cmocka_unit_test(matches_allow_for_normalisation),
        cmocka_unit_test(matches_see_real_differences),
        cmocka_unit_test(plan_steps),
        cmocka_unit_test(plan_refuses_malformed_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
