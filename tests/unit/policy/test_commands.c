/* test_commands.c - command parsing, decisions, refusal limit, reply texts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "policy/commands.h"
#include "policy/perms.h"
#include "proto/proto.h"

static commands_state *new_state(uint64_t perm, int dry_run)
{
    commands_config c = { .prefix = "!", .admin_permission = perm, .dry_run = dry_run };
    return commands_state_new(&c);
}

static commands_message msg(const char *content)
{
    commands_message m = { .guild_id = 1, .channel_id = 2, .message_id = 3, .author_id = 4, .content = content };
    return m;
}

/* The slash path's state (interact_live.c): no interval, so two refusals
 * of one member in the same millisecond are both refusals, not silence. */
static void refusals_without_interval(void **state)
{
    (void)state;
    commands_config c = { .prefix = "!", .admin_permission = 8, .refusal_interval_ms = -1,
                          .refusal_burst = 1 << 30, .refusal_refill_ms = 1 };
    commands_state *cs = commands_state_new(&c);
    commands_message m = msg("!cleanup_users");
    commands_decision dec;
    for (int i = 0; i < 3; i++) {
        commands_decide(cs, &m, 0, 0, 1000, &dec);
        assert_int_equal(dec.kind, CMD_REFUSE);
    }
    commands_state_free(cs);
}

static void parse_message_create(void **state)
{
    (void)state;
    commands_message m;
    cJSON *d = cJSON_Parse("{\"id\":\"30\",\"channel_id\":\"20\",\"guild_id\":\"10\",\"content\":\"!cleanup_status\","
                           "\"author\":{\"id\":\"40\",\"username\":\"@everyone\"},"
                           "\"member\":{\"roles\":[\"50\",\"51\",7]}}");
    assert_int_equal(commands_parse_message(d, &m), DC_OK);
    assert_true(m.guild_id == 10 && m.channel_id == 20 && m.message_id == 30 && m.author_id == 40);
    assert_int_equal(m.author_bot, 0);
    assert_int_equal(m.n_roles, 3);
    assert_true(m.roles[0] == 50 && m.roles[1] == 51);
    assert_string_equal(m.content, "!cleanup_status");
    cJSON_Delete(d);
    /* DM: no guild id, still parses (the decision ignores it) */
    d = cJSON_Parse("{\"id\":\"30\",\"channel_id\":\"20\",\"content\":\"x\",\"author\":{\"id\":\"40\",\"bot\":true}}");
    assert_int_equal(commands_parse_message(d, &m), DC_OK);
    assert_true(m.guild_id == 0 && m.author_bot == 1 && m.n_roles == 0);
    cJSON_Delete(d);
    /* webhook */
    d = cJSON_Parse("{\"id\":\"30\",\"channel_id\":\"20\",\"guild_id\":\"1\",\"webhook_id\":\"9\",\"content\":\"x\","
                    "\"author\":{\"id\":\"40\"}}");
    assert_int_equal(commands_parse_message(d, &m), DC_OK);
    assert_int_equal(m.author_bot, 1);
    cJSON_Delete(d);
    /* wrong shapes */
    const char *bad[] = { "[]", "{\"id\":\"30\",\"channel_id\":\"20\",\"content\":\"x\"}",
                          "{\"id\":\"30\",\"channel_id\":\"20\",\"content\":5,\"author\":{\"id\":\"4\"}}",
                          "{\"channel_id\":\"20\",\"content\":\"x\",\"author\":{\"id\":\"4\"}}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = cJSON_Parse(bad[i]);
        assert_int_equal(commands_parse_message(d, &m), DC_ERR_PROTO);
        cJSON_Delete(d);
    }
    assert_int_equal(commands_parse_message(NULL, &m), DC_ERR_PROTO);
}

static void admin_commands(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(ADMINISTRATOR), 0);
    commands_decision d;
    commands_message m = msg("!cleanup_users");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    assert_int_equal(d.force, 0);
    assert_int_equal(d.dry_run, 0);
    m = msg("!cleanup_users   FORCE  ");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    assert_int_equal(d.force, 1);
    m = msg("!cleanup_test");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    assert_int_equal(d.dry_run, 1);
    assert_int_equal(d.force, 0);
    m = msg("!cleanup_status");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_STATUS);
    m = msg("!cleanup_whatever");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_HELP);
    assert_non_null(strstr(d.text, "Unknown command"));
    assert_non_null(strstr(d.text, "!cleanup_users"));
    m = msg("!cleanup");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_HELP);
    m = msg("!cleanup_status force");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_HELP);
    assert_non_null(strstr(d.text, "Unexpected argument"));
    m = msg("!cleanup_users force now");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_HELP);
    commands_state_free(cs);
}

static void not_commands_are_ignored(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(ADMINISTRATOR), 0);
    commands_decision d;
    const char *texts[] = { "hello", "cleanup_users", "?cleanup_users", "!cleanupfoo", " !cleanup_users", "" };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        commands_message m = msg(texts[i]);
        commands_decide(cs, &m, PERM_ALL, 1, 0, &d);
        assert_int_equal(d.kind, CMD_IGNORE);
    }
    commands_message m = msg("!cleanup_users");
    m.author_bot = 1;
    commands_decide(cs, &m, PERM_ALL, 1, 0, &d);
    assert_int_equal(d.kind, CMD_IGNORE);
    m = msg("!cleanup_users");
    m.guild_id = 0;                  /* DM */
    commands_decide(cs, &m, PERM_ALL, 1, 0, &d);
    assert_int_equal(d.kind, CMD_IGNORE);
    commands_state_free(cs);
}

static void custom_prefix_and_daemon_dry_run(void **state)
{
    (void)state;
    commands_config c = { .prefix = "cc!", .admin_permission = DC_PERM(ADMINISTRATOR), .dry_run = 1 };
    commands_state *cs = commands_state_new(&c);
    commands_decision d;
    commands_message m = msg("cc!cleanup_users force");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    assert_int_equal(d.dry_run, 1);  /* the daemon's dry run wins */
    m = msg("!cleanup_users");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);
    assert_int_equal(d.kind, CMD_IGNORE);
    commands_state_free(cs);
}

/* A reload (commands_state_reconfigure): the new prefix and permission
 * from the next message on; the daemon's dry run and a member's refusal
 * interval stay as they were. */
static void reconfigure_takes_prefix_and_permission(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(ADMINISTRATOR), 1);
    uint64_t manage = DC_PERM(MANAGE_GUILD);
    commands_decision d;
    commands_message m = msg("!cleanup_users");
    commands_decide(cs, &m, manage, 0, 1000, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    commands_config c = { .prefix = "?", .admin_permission = manage, .dry_run = 0 };
    commands_state_reconfigure(cs, &c);
    commands_decide(cs, &m, manage, 0, 2000, &d);
    assert_int_equal(d.kind, CMD_IGNORE);     /* the old prefix */
    m = msg("?cleanup_users");
    commands_decide(cs, &m, manage, 0, 3000, &d);
    assert_int_equal(d.kind, CMD_SWEEP);      /* MANAGE_GUILD is enough now */
    assert_int_equal(d.dry_run, 1);           /* the daemon still runs dry */
    commands_decide(cs, &m, DC_PERM(VIEW_CHANNEL), 0, 4000, &d);
    assert_int_equal(d.kind, CMD_IGNORE);     /* refused at 1000: within the interval still */
    commands_state_free(cs);
}

static void non_admin_refused_once_per_interval(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(MANAGE_GUILD), 0);
    commands_decision d;
    commands_message m = msg("!cleanup_users force");
    uint64_t everyone = DC_PERM(VIEW_CHANNEL) | DC_PERM(SEND_MESSAGES);
    commands_decide(cs, &m, everyone, 0, 1000, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    assert_non_null(strstr(d.text, "MANAGE_GUILD"));
    commands_decide(cs, &m, everyone, 0, 2000, &d);
    assert_int_equal(d.kind, CMD_IGNORE);     /* no spam */
    m = msg("!cleanup_nonsense");             /* help is for admins only */
    commands_decide(cs, &m, everyone, 0, 3000, &d);
    assert_int_equal(d.kind, CMD_IGNORE);
    commands_message other = msg("!cleanup_status");
    other.author_id = 99;
    commands_decide(cs, &other, everyone, 0, 3000, &d);
    assert_int_equal(d.kind, CMD_REFUSE);     /* per user */
    m = msg("!cleanup_users");
    commands_decide(cs, &m, everyone, 0, 1000 + CMD_REFUSAL_INTERVAL_MS, &d);
    assert_int_equal(d.kind, CMD_REFUSE);     /* the interval passed */
    /* MANAGE_GUILD is enough with that configuration */
    commands_decide(cs, &m, everyone | DC_PERM(MANAGE_GUILD), 0, 5000, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    commands_state_free(cs);
}

/* 300 distinct non-admins, two commands each, within a minute: the overall
 * budget answers CMD_REFUSAL_BURST of them, then one per refill interval;
 * an admin among them is answered whatever the flood. */
static void refusal_flood_is_capped(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(ADMINISTRATOR), 0);
    commands_decision d;
    int refused = 0;
    for (int round = 0; round < 2; round++)
        for (uint64_t u = 1; u <= 300; u++) {
            commands_message m = msg("!cleanup_users");
            m.author_id = u;
            commands_decide(cs, &m, 0, 0, (int64_t)(round * 300 + u) * 10, &d);   /* 6 s in all */
            refused += d.kind == CMD_REFUSE;
            assert_true(d.kind == CMD_REFUSE || d.kind == CMD_IGNORE);
        }
    assert_int_equal(refused, CMD_REFUSAL_BURST);
    commands_message admin = msg("!cleanup_users");
    admin.author_id = 1000;
    commands_decide(cs, &admin, PERM_ALL, 0, 6010, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    /* the budget refills: one more refusal per interval, not one per user */
    commands_message m = msg("!cleanup_users");
    m.author_id = 301;
    commands_decide(cs, &m, 0, 0, CMD_REFUSAL_REFILL_MS + 10, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    m.author_id = 302;
    commands_decide(cs, &m, 0, 0, CMD_REFUSAL_REFILL_MS + 11, &d);
    assert_int_equal(d.kind, CMD_IGNORE);
    /* a user refused once is still remembered for the interval */
    m.author_id = 1;
    commands_decide(cs, &m, 0, 0, 4 * CMD_REFUSAL_REFILL_MS, &d);
    assert_int_equal(d.kind, CMD_IGNORE);
    m.author_id = 303;
    commands_decide(cs, &m, 0, 0, 4 * CMD_REFUSAL_REFILL_MS, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    commands_state_free(cs);
}

/* When the permissions could not be learnt, the reply says so: it is no
 * refusal.  Allowed authors (a bot owner) are answered as usual. */
static void unchecked_says_so(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(ADMINISTRATOR), 0);
    commands_decision d;
    commands_message m = msg("!cleanup_users");
    assert_int_equal(commands_needs(cs, &m), CMD_NEEDS_PERMISSION);
    commands_decide_unchecked(cs, &m, 0, 0, "Discord answered HTTP 500", 0, &d);
    assert_int_equal(d.kind, CMD_REFUSE);
    assert_non_null(strstr(d.text, "could not check"));
    assert_non_null(strstr(d.text, "HTTP 500"));
    assert_null(strstr(d.text, "Sorry"));
    commands_decide_unchecked(cs, &m, 0, 1, "x", 0, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    m = msg("!cleanup_all_guilds");
    assert_int_equal(commands_needs(cs, &m), CMD_NEEDS_OWNER);
    m = msg("hello");
    assert_int_equal(commands_needs(cs, &m), CMD_NEEDS_NOTHING);
    m = msg("!cleanup_users");
    m.author_bot = 1;
    assert_int_equal(commands_needs(cs, &m), CMD_NEEDS_NOTHING);
    commands_state_free(cs);
}

static void all_guilds_is_for_owners(void **state)
{
    (void)state;
    commands_state *cs = new_state(DC_PERM(ADMINISTRATOR), 0);
    commands_decision d;
    commands_message m = msg("!cleanup_all_guilds");
    commands_decide(cs, &m, PERM_ALL, 0, 0, &d);   /* an admin, not an owner */
    assert_int_equal(d.kind, CMD_REFUSE);
    assert_non_null(strstr(d.text, "owners"));
    m.author_id = 5;
    commands_decide(cs, &m, 0, 1, 0, &d);          /* an owner without guild rights */
    assert_int_equal(d.kind, CMD_ALL_GUILDS);
    m = msg("!cleanup_all_guilds force");
    m.author_id = 5;
    commands_decide(cs, &m, 0, 1, 0, &d);
    assert_int_equal(d.kind, CMD_ALL_GUILDS);
    assert_int_equal(d.force, 1);
    /* owners may run guild commands anywhere */
    m = msg("!cleanup_users");
    commands_decide(cs, &m, 0, 1, 0, &d);
    assert_int_equal(d.kind, CMD_SWEEP);
    commands_state_free(cs);
}

static void permission_names(void **state)
{
    (void)state;
    char buf[128];
    commands_permission_text(DC_PERM(ADMINISTRATOR), buf, sizeof buf);
    assert_string_equal(buf, "ADMINISTRATOR");
    commands_permission_text(DC_PERM(KICK_MEMBERS) | DC_PERM(MANAGE_GUILD), buf, sizeof buf);
    assert_string_equal(buf, "KICK_MEMBERS and MANAGE_GUILD");
    commands_permission_text(UINT64_C(1) << 60, buf, sizeof buf);
    assert_string_equal(buf, "permission bit 60");
    commands_permission_text(0, buf, sizeof buf);
    assert_string_equal(buf, "no permission");
}

static void trim_at_line_boundary(void **state)
{
    (void)state;
    char text[64] = "line one\nline two\nline three";
    assert_int_equal(commands_trim(text, 100), 0);
    assert_string_equal(text, "line one\nline two\nline three");
    assert_int_equal(commands_trim(text, 24), 1);
    assert_string_equal(text, "line one\n(trimmed)");
    assert_true(strlen(text) <= 24);
    /* one long line: cut at a character boundary, never inside UTF-8 */
    char utf[64] = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    assert_int_equal(commands_trim(utf, 15), 1);
    assert_true(strlen(utf) <= 15);
    assert_string_equal(utf, "\xc3\xa9\xc3\xa9\n(trimmed)");
}

static void reply_body(void **state)
{
    (void)state;
    char *big = malloc(5001);
    for (int i = 0; i < 5000; i++)
        big[i] = i % 50 == 49 ? '\n' : 'x';
    big[5000] = '\0';
    char *json = commands_reply_json(123, big);
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    const char *content = cJSON_GetObjectItem(j, "content")->valuestring;
    assert_true(strlen(content) < 2000);
    assert_non_null(strstr(content, "(trimmed)"));
    const cJSON *am = cJSON_GetObjectItem(j, "allowed_mentions");
    assert_true(cJSON_IsArray(cJSON_GetObjectItem(am, "parse")));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(am, "parse")), 0);
    const cJSON *ref = cJSON_GetObjectItem(j, "message_reference");
    assert_string_equal(cJSON_GetObjectItem(ref, "message_id")->valuestring, "123");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ref, "fail_if_not_exists")));
    cJSON_Delete(j);
    free(json);
    free(big);
}

static void status_text(void **state)
{
    (void)state;
    commands_shard_status sh[] = { { 0, "READY", 42, 1 } };
    commands_status st = { .shards = sh, .n_shards = 1, .uptime_ms = 65000, .events = 17,
                      .removed = { 1, 2, 3, 4 }, .guild_id = 9, .guild_rows = 12,
                      .now_wall_ms = 1700000600000, .last_sweep_ms = 1700000000000,
                      .last_sweep_removed = 3, .last_sweep_duration_ms = 1500,
                      .last_sweep_result = "ok: 5 members listed, 3 stale row(s) removed",
                      .next_run_ms = 1700086400000, .dry_run = 1, .awaiting_reconcile = 2 };
    char buf[2000];
    commands_format_status(&st, buf, sizeof buf);
    assert_non_null(strstr(buf, "DRY RUN"));
    assert_non_null(strstr(buf, "Shard 0: READY, heartbeat latency 42 ms, session resumed"));
    assert_non_null(strstr(buf, "17 events handled"));
    assert_non_null(strstr(buf, "member_remove 1"));
    assert_non_null(strstr(buf, "This server: 12 row(s)"));
    assert_non_null(strstr(buf, "2023-11-14 22:13:20 UTC (10 min 0 s ago), 3 removed, took 1.5 s"));
    assert_non_null(strstr(buf, "result: ok: 5 members"));
    assert_non_null(strstr(buf, "Next scheduled sweep: 2023-11-15"));
    assert_non_null(strstr(buf, "Guilds awaiting reconciliation: 2"));
    assert_null(strstr(buf, "On hold"));
    st.held = 1;                     /* the guard refused: no automatic sweep before the interval */
    commands_format_status(&st, buf, sizeof buf);
    assert_non_null(strstr(buf, "On hold: the last sweep deleted nothing"));
    st.held = 0;
    /* never swept, no shard yet, tiny buffer: still terminated */
    commands_status none = { .guild_rows = -1, .next_run_ms = 0 };
    commands_format_status(&none, buf, sizeof buf);
    assert_non_null(strstr(buf, "Last sweep: never"));
    assert_non_null(strstr(buf, "not connected"));
    char small[40];
    commands_format_status(&st, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
}

static void progress_and_result(void **state)
{
    (void)state;
    char buf[512];
    commands_progress p = { .chunks_seen = 2, .chunk_count = 5, .members = 2000 };
    commands_format_progress(&p, buf, sizeof buf);
    assert_non_null(strstr(buf, "already running"));
    assert_non_null(strstr(buf, "chunk 2 of 5"));
    /* deleting: the total to remove is said with what is done */
    p = (commands_progress){ .chunks_seen = 5, .chunk_count = 5, .members = 9000, .removed = 450, .stale = 1000 };
    commands_format_progress(&p, buf, sizeof buf);
    assert_non_null(strstr(buf, "450 of 1000 stale row(s) removed so far"));
    p = (commands_progress){ .queued = 1, .why = CMD_WAIT_OP8, .wait_ms = 26001 };
    commands_format_progress(&p, buf, sizeof buf);
    assert_non_null(strstr(buf, "already queued"));
    assert_non_null(strstr(buf, "one member list per server every 30 s; starting in 27 s"));
    commands_format_wait(CMD_WAIT_BUSY, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "Another server's sweep"));
    commands_format_wait(CMD_WAIT_SESSION, 0, buf, sizeof buf);
    assert_non_null(strstr(buf, "re-established"));
    commands_format_result(1, 1, "dry run: 3 of 8 rows would be removed (e.g. 1, 2); nothing deleted", buf, sizeof buf);
    assert_non_null(strstr(buf, "Dry run"));
    assert_non_null(strstr(buf, "3 of 8"));
    commands_format_result(0, 0, NULL, buf, sizeof buf);
    assert_non_null(strstr(buf, "did not complete"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_message_create),
        cmocka_unit_test(refusals_without_interval),
        cmocka_unit_test(admin_commands),
        cmocka_unit_test(not_commands_are_ignored),
        cmocka_unit_test(custom_prefix_and_daemon_dry_run),
        cmocka_unit_test(reconfigure_takes_prefix_and_permission),
        cmocka_unit_test(non_admin_refused_once_per_interval),
        cmocka_unit_test(refusal_flood_is_capped),
        cmocka_unit_test(unchecked_says_so),
        cmocka_unit_test(all_guilds_is_for_owners),
        cmocka_unit_test(permission_names),
        cmocka_unit_test(trim_at_line_boundary),
        cmocka_unit_test(reply_body),
        cmocka_unit_test(status_text),
        cmocka_unit_test(progress_and_result),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
