/* test_proto.c - lookups generated from the proto/ tables. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "proto/proto.h"

static void opcodes(void **state)
{
    (void)state;
    assert_int_equal(GW_OP_DISPATCH, 0);
    assert_int_equal(GW_OP_RESUME, 6);
    assert_int_equal(GW_OP_HELLO, 10);
    assert_int_equal(GW_OP_HEARTBEAT_ACK, 11);
    assert_string_equal(proto_op_name(1), "HEARTBEAT");
    assert_string_equal(proto_op_name(9), "INVALID_SESSION");
    assert_string_equal(proto_op_name(5), "UNKNOWN");
    assert_string_equal(proto_op_name(-1), "UNKNOWN");
}

static void close_codes(void **state)
{
    (void)state;
    proto_close_info c = proto_close_lookup(4004);
    assert_int_equal(c.policy, GW_CLOSE_FATAL);
    assert_int_equal(c.exit_status, 77);
    assert_string_equal(c.name, "AUTHENTICATION_FAILED");
    assert_non_null(strstr(c.message, "DISCORD_TOKEN"));
    c = proto_close_lookup(4014);
    assert_int_equal(c.policy, GW_CLOSE_FATAL);
    assert_int_equal(c.exit_status, 78);
    assert_non_null(strstr(c.message, "Privileged Gateway Intents"));
    assert_int_equal(proto_close_lookup(4012).exit_status, 70);
    assert_int_equal(proto_close_lookup(4011).exit_status, 78);
    const int resume[] = { 4000, 4001, 4002, 1000, 1001, 1006, -1, 4006, 4999 };
    for (size_t i = 0; i < sizeof resume / sizeof resume[0]; i++) {
        c = proto_close_lookup(resume[i]);
        assert_int_equal(c.policy, GW_CLOSE_RESUME);
        assert_int_equal(c.exit_status, 0);
        assert_int_equal(c.code, resume[i]);
    }
    const int identify[] = { 4003, 4005, 4007, 4008, 4009 };
    for (size_t i = 0; i < sizeof identify / sizeof identify[0]; i++)
        assert_int_equal(proto_close_lookup(identify[i]).policy, GW_CLOSE_IDENTIFY);
    const int fatal[] = { 4004, 4010, 4011, 4012, 4013, 4014 };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        assert_int_equal(proto_close_lookup(fatal[i]).policy, GW_CLOSE_FATAL);
    assert_string_equal(proto_close_policy_name(GW_CLOSE_IDENTIFY), "identify");
}

static void events(void **state)
{
    (void)state;
    assert_int_equal(dc_event_from_name("READY"), DC_EV_READY);
    assert_int_equal(dc_event_from_name("GUILD_MEMBER_REMOVE"), DC_EV_GUILD_MEMBER_REMOVE);
    assert_int_equal(dc_event_from_name("RATE_LIMITED"), DC_EV_RATE_LIMITED);
    assert_int_equal(dc_event_from_name("TYPING_START"), DC_EV_UNKNOWN);
    assert_int_equal(dc_event_from_name("ready"), DC_EV_UNKNOWN);
    assert_int_equal(dc_event_from_name(NULL), DC_EV_UNKNOWN);
    assert_string_equal(dc_event_name(DC_EV_GUILD_DELETE), "GUILD_DELETE");
    assert_string_equal(dc_event_name(DC_EV_UNKNOWN), "UNKNOWN");
    assert_string_equal(dc_event_name(DC_EV_COUNT), "UNKNOWN");
    for (int ev = 1; ev < DC_EV_COUNT; ev++)
        assert_int_equal(dc_event_from_name(dc_event_name((dc_event)ev)), ev);
}

static void intents(void **state)
{
    (void)state;
    assert_int_equal(DC_INTENT_GUILDS | DC_INTENT_GUILD_MEMBERS | DC_INTENT_GUILD_MESSAGES |
                     DC_INTENT_MESSAGE_CONTENT, 33283);
    uint32_t f = 0;
    assert_int_equal(proto_intent_from_name("GUILD_MEMBERS", &f), DC_OK);
    assert_int_equal(f, 2);
    assert_int_equal(proto_intent_from_name("message_content", &f), DC_OK);
    assert_int_equal(f, 32768);
    f = 7;
    assert_int_equal(proto_intent_from_name("GUILD_VOICE", &f), DC_ERR_NOTFOUND);
    assert_int_equal(f, 7);
    assert_int_equal(proto_intent_from_name(NULL, &f), DC_ERR_NOTFOUND);
    assert_string_equal(proto_intent_name(1u << 12), "DIRECT_MESSAGES");
    assert_null(proto_intent_name(3));
    assert_null(proto_intent_name(1u << 3));
}

static void permissions(void **state)
{
    (void)state;
    assert_true(DC_PERM(ADMINISTRATOR) == 0x8);
    assert_true(DC_PERM(MODERATE_MEMBERS) == UINT64_C(0x10000000000));
    uint64_t f = 0;
    assert_int_equal(proto_permission_from_name("MANAGE_GUILD", &f), DC_OK);
    assert_true(f == 0x20);
    assert_int_equal(proto_permission_from_name("Manage_Roles", &f), DC_OK);
    assert_true(f == 0x10000000);
    assert_int_equal(proto_permission_from_name("MAKE_COFFEE", &f), DC_ERR_NOTFOUND);
    assert_string_equal(proto_permission_name(UINT64_C(1) << 40), "MODERATE_MEMBERS");
    assert_string_equal(proto_permission_name(0x10000), "READ_MESSAGE_HISTORY");
    assert_null(proto_permission_name(0));
    assert_null(proto_permission_name(UINT64_C(1) << 47));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opcodes),
        cmocka_unit_test(close_codes),
        cmocka_unit_test(events),
        cmocka_unit_test(intents),
        cmocka_unit_test(permissions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
