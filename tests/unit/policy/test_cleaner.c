/* test_cleaner.c - the deletion policy, branch by branch, with no I/O. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "policy/cleaner.h"

static cleaner_actions run(const cleaner_context *cx, const char *event, const char *json, dc_err *rc)
{
    cleaner_actions a = { 0 };
    cJSON *d = json ? cJSON_Parse(json) : NULL;
    *rc = cleaner_on_dispatch(cx, dc_event_from_name(event), d, &a);
    cJSON_Delete(d);
    return a;
}

static const cleaner_context one_shard = { .shard_id = 0, .shard_count = 1, .max_delete_share = 0.5 };

static void member_remove_deletes_that_member(void **state)
{
    (void)state;
    dc_err rc;
    cleaner_actions a = run(&one_shard, "GUILD_MEMBER_REMOVE",
                       "{\"guild_id\":\"111\",\"user\":{\"id\":\"222\",\"username\":\"x\"}}", &rc);
    assert_int_equal(rc, DC_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.v[0].kind, CL_DELETE_MEMBER);
    assert_true(a.v[0].guild_id == 111 && a.v[0].user_id == 222);
    assert_int_equal(a.v[0].reason, AUDIT_MEMBER_REMOVE);
    cleaner_actions_free(&a);
}

static void member_remove_with_null_or_bad_user_is_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"guild_id\":\"111\",\"user\":null}",
        "{\"guild_id\":\"111\"}",
        "{\"guild_id\":\"111\",\"user\":{\"id\":\"12ab\"}}",
        "{\"guild_id\":111.5,\"user\":{\"id\":\"222\"}}",
        "{\"user\":{\"id\":\"222\"}}",
        "{\"guild_id\":\"\",\"user\":{\"id\":\"222\"}}",
        "{\"guild_id\":\"111\",\"user\":{\"id\":\"99999999999999999999999\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dc_err rc;
        cleaner_actions a = run(&one_shard, "GUILD_MEMBER_REMOVE", bad[i], &rc);
        assert_int_equal(rc, DC_ERR_PROTO);
        assert_int_equal(a.n, 0);
        cleaner_actions_free(&a);
    }
    dc_err rc;
    cleaner_actions a = run(&one_shard, "GUILD_MEMBER_REMOVE", NULL, &rc);
    assert_int_equal(rc, DC_ERR_PROTO);
    assert_int_equal(a.n, 0);
    a = run(&one_shard, "GUILD_MEMBER_REMOVE", "[1,2]", &rc);
    assert_int_equal(rc, DC_ERR_PROTO);
    assert_int_equal(a.n, 0);
}

static void guild_delete_outage_deletes_nothing(void **state)
{
    (void)state;
    dc_err rc;
    cleaner_actions a = run(&one_shard, "GUILD_DELETE", "{\"id\":\"111\",\"unavailable\":true}", &rc);
    assert_int_equal(rc, DC_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.v[0].kind, CL_GUILD_UNAVAILABLE);
    cleaner_actions_free(&a);
}

static void guild_delete_without_flag_needs_confirmation(void **state)
{
    (void)state;
    static const char *const removed[] = {
        "{\"id\":\"111\"}", "{\"id\":\"111\",\"unavailable\":false}", "{\"id\":\"111\",\"unavailable\":\"yes\"}",
    };
    for (size_t i = 0; i < 3; i++) {
        dc_err rc;
        cleaner_actions a = run(&one_shard, "GUILD_DELETE", removed[i], &rc);
        assert_int_equal(rc, DC_OK);
        assert_int_equal(a.n, 1);
        assert_int_equal(a.v[0].kind, CL_CONFIRM_GONE);   /* never a direct delete */
        assert_int_equal(a.v[0].reason, AUDIT_GUILD_DELETE);
        assert_true(a.v[0].guild_id == 111);
        cleaner_actions_free(&a);
    }
}

static void guild_create_marks_seen_or_unavailable(void **state)
{
    (void)state;
    dc_err rc;
    cleaner_actions a = run(&one_shard, "GUILD_CREATE", "{\"id\":\"5\",\"name\":\"g\"}", &rc);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.v[0].kind, CL_GUILD_SEEN);
    cleaner_actions_free(&a);
    a = run(&one_shard, "GUILD_CREATE", "{\"id\":\"5\",\"unavailable\":true}", &rc);
    assert_int_equal(a.v[0].kind, CL_GUILD_UNAVAILABLE);
    cleaner_actions_free(&a);
}

static size_t count_kind(const cleaner_actions *a, cleaner_action_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++)
        n += a->v[i].kind == k;
    return n;
}

static void ready_finds_guilds_left_while_offline(void **state)
{
    (void)state;
    uint64_t stored[] = { 1, 2, 3, 4, 5 };
    cleaner_context cx = one_shard;
    cx.stored_guilds = stored;
    cx.n_stored = 5;
    dc_err rc;
    cleaner_actions a = run(&cx, "READY",
        "{\"session_id\":\"s\",\"guilds\":[{\"id\":\"1\",\"unavailable\":true},{\"id\":\"2\"},"
        "{\"id\":\"3\"},{\"id\":\"5\"}]}", &rc);
    assert_int_equal(rc, DC_OK);
    assert_int_equal(count_kind(&a, CL_MARK_RECONCILE), 4);
    assert_int_equal(count_kind(&a, CL_CONFIRM_GONE), 1);
    for (size_t i = 0; i < a.n; i++)
        if (a.v[i].kind == CL_CONFIRM_GONE) {
            assert_true(a.v[i].guild_id == 4);
            assert_int_equal(a.v[i].reason, AUDIT_LEFT_WHILE_OFFLINE);
        }
    assert_string_equal(a.guard, "");
    cleaner_actions_free(&a);
}

static void ready_guard_refuses_mass_removal(void **state)
{
    (void)state;
    uint64_t stored[] = { 1, 2, 3, 4 };
    cleaner_context cx = one_shard;
    cx.stored_guilds = stored;
    cx.n_stored = 4;
    dc_err rc;
    /* 3 of 4 missing (75% > 50%): a wrong token or shard count, not departures. */
    cleaner_actions a = run(&cx, "READY", "{\"guilds\":[{\"id\":\"1\"}]}", &rc);
    assert_int_equal(rc, DC_OK);
    assert_int_equal(count_kind(&a, CL_CONFIRM_GONE), 0);
    assert_non_null(strstr(a.guard, "deleting nothing"));
    cleaner_actions_free(&a);
    /* Exactly at the share (2 of 4 = 50%) is allowed. */
    a = run(&cx, "READY", "{\"guilds\":[{\"id\":\"1\"},{\"id\":\"2\"}]}", &rc);
    assert_int_equal(count_kind(&a, CL_CONFIRM_GONE), 2);
    assert_string_equal(a.guard, "");
    cleaner_actions_free(&a);
    /* READY with no guilds at all and stored ones: guard. */
    a = run(&cx, "READY", "{\"guilds\":[]}", &rc);
    assert_int_equal(count_kind(&a, CL_CONFIRM_GONE), 0);
    assert_true(a.guard[0] != '\0');
    cleaner_actions_free(&a);
}

static void ready_adopts_legacy_rows_only_with_exactly_one_guild(void **state)
{
    (void)state;
    cleaner_context cx = one_shard;
    cx.unassigned_rows = 10;
    dc_err rc;
    cleaner_actions a = run(&cx, "READY", "{\"guilds\":[{\"id\":\"77\"}]}", &rc);
    assert_int_equal(count_kind(&a, CL_ADOPT_UNASSIGNED), 1);
    cleaner_actions_free(&a);
    a = run(&cx, "READY", "{\"guilds\":[{\"id\":\"77\"},{\"id\":\"78\"}]}", &rc);
    assert_int_equal(count_kind(&a, CL_ADOPT_UNASSIGNED), 0);
    cleaner_actions_free(&a);
    cx.shard_count = 2;   /* one guild on this shard says nothing about the others */
    a = run(&cx, "READY", "{\"guilds\":[{\"id\":\"77\"}]}", &rc);
    assert_int_equal(count_kind(&a, CL_ADOPT_UNASSIGNED), 0);
    cleaner_actions_free(&a);
    cx.shard_count = 1;
    cx.unassigned_rows = 0;
    a = run(&cx, "READY", "{\"guilds\":[{\"id\":\"77\"}]}", &rc);
    assert_int_equal(count_kind(&a, CL_ADOPT_UNASSIGNED), 0);
    cleaner_actions_free(&a);
}

static void ready_without_guild_array_is_malformed(void **state)
{
    (void)state;
    uint64_t stored[] = { 1 };
    cleaner_context cx = one_shard;
    cx.stored_guilds = stored;
    cx.n_stored = 1;
    dc_err rc;
    cleaner_actions a = run(&cx, "READY", "{\"guilds\":\"nope\"}", &rc);
    assert_int_equal(rc, DC_ERR_PROTO);
    assert_int_equal(a.n, 0);
    cleaner_actions_free(&a);
}

static void member_add_is_presence_only(void **state)
{
    (void)state;
    dc_err rc;
    cleaner_actions a = run(&one_shard, "GUILD_MEMBER_ADD", "{\"guild_id\":\"1\",\"user\":{\"id\":\"9\"}}", &rc);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.v[0].kind, CL_MEMBER_PRESENT);
    cleaner_actions_free(&a);
}

static void other_events_do_nothing(void **state)
{
    (void)state;
    dc_err rc;
    cleaner_actions a = run(&one_shard, "TYPING_START", "{\"x\":1}", &rc);
    assert_int_equal(rc, DC_OK);
    assert_int_equal(a.n, 0);
    a = run(&one_shard, "RESUMED", NULL, &rc);
    assert_int_equal(rc, DC_OK);
    assert_int_equal(a.n, 0);
    a = run(&one_shard, NULL, NULL, &rc);
    assert_int_equal(rc, DC_OK);
}

static void snowflakes(void **state)
{
    (void)state;
    cJSON *v = cJSON_CreateString("1000000000000000001");
    assert_true(snowflake_json(v) == 1000000000000000001ULL);
    cJSON_Delete(v);
    v = cJSON_CreateString("9223372036854775807");    /* INT64_MAX: the largest the store holds */
    assert_true(snowflake_json(v) == (uint64_t)INT64_MAX);
    cJSON_Delete(v);
    v = cJSON_CreateString("09223372036854775807");   /* the same with a leading zero */
    assert_true(snowflake_json(v) == (uint64_t)INT64_MAX);
    cJSON_Delete(v);
    static const char *const wraps[] = { "9223372036854775808", "18446744073709551615",
                                         "10000000000000000000", "09223372036854775808" };
    for (size_t i = 0; i < sizeof wraps / sizeof wraps[0]; i++) {
        v = cJSON_CreateString(wraps[i]);            /* would wrap to a negative row id */
        assert_true(snowflake_json(v) == 0);
        cJSON_Delete(v);
    }
    v = cJSON_CreateString("18446744073709551616");   /* overflow */
    assert_true(snowflake_json(v) == 0);
    cJSON_Delete(v);
    v = cJSON_CreateString("-5");
    assert_true(snowflake_json(v) == 0);
    cJSON_Delete(v);
    static const char *const refused[] = { "99999999999999999999", " 12", "12 ", "+12", "0x12", "1e3",
                                           "000000000000000000001", "" };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        v = cJSON_CreateString(refused[i]);
        assert_true(snowflake_json(v) == 0);
        cJSON_Delete(v);
    }
    v = cJSON_CreateString("00000000000000000012");       /* 20 digits: still a number */
    assert_true(snowflake_json(v) == 12);
    cJSON_Delete(v);
    v = cJSON_CreateNumber(123);
    assert_true(snowflake_json(v) == 123);
    cJSON_Delete(v);
    assert_true(snowflake_json(NULL) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(member_remove_deletes_that_member),
        cmocka_unit_test(member_remove_with_null_or_bad_user_is_refused),
        cmocka_unit_test(guild_delete_outage_deletes_nothing),
        cmocka_unit_test(guild_delete_without_flag_needs_confirmation),
        cmocka_unit_test(guild_create_marks_seen_or_unavailable),
        cmocka_unit_test(ready_finds_guilds_left_while_offline),
        cmocka_unit_test(ready_guard_refuses_mass_removal),
        cmocka_unit_test(ready_adopts_legacy_rows_only_with_exactly_one_guild),
        cmocka_unit_test(ready_without_guild_array_is_malformed),
        cmocka_unit_test(member_add_is_presence_only),
        cmocka_unit_test(other_events_do_nothing),
        cmocka_unit_test(snowflakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
