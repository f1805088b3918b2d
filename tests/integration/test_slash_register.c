/* test_slash_register.c - the global slash command's registration, end to
 * end: the real daemon against the double's application commands.  A
 * command of another name survives; a colliding one not created by us is
 * left untouched and logged once; a restart with the command matching
 * writes nothing; a changed admin_permission updates it in place; a failure
 * is retried at the next new session; `commands = prefix` registers
 * nothing; `slash` drops the message intents from IDENTIFY and ignores
 * prefix messages.  No bulk PUT, ever. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <cmocka.h>

#include "daemon_harness.h"
#include "fake_client.h"

#define GUILD "1000000000000000001"
#define CHANNEL "1000000000000000500"
#define OWNER "1000000000000000101"
#define KV_KEY "slash.1000000000000000999.command_id"
#define REGISTERED "slash command /cleanup registered"
#define UP_TO_DATE "slash command /cleanup is registered and up to date"
#define FOREIGN "that this daemon did not create"
#define GUILDS_AND_MEMBERS 3              /* GUILDS | GUILD_MEMBERS */
#define MESSAGE_INTENTS ((1 << 9) | (1 << 15))

typedef struct {
    fd_proc fake;
    dh_proc d;
} world;

static int teardown_world(void **state)
{
    world *w = *state;
    if (getenv("SLASH_DEBUG")) {
        char *log = dh_read_file(w->d.log);
        fprintf(stderr, "%s\n", log ? log : "(no log)");
        free(log);
    }
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w || dh_init(&w->d) != 0 || fd_start(&w->fake, NULL) != 0) {
        if (w)
            dh_cleanup(&w->d);
        free(w);
        return -1;
    }
    *state = w;
    cJSON *r = fd_post(&w->fake, "/_control/guilds",
                       "{\"id\":\"" GUILD "\",\"name\":\"Test\",\"owner_id\":\"" OWNER "\","
                       "\"members\":[{\"id\":\"" OWNER "\",\"username\":\"a\"}]}");
    int ok = r && cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"));
    cJSON_Delete(r);
    return ok ? 0 : (teardown_world(state), -1);
}

static int start(world *w, const char *const more[])
{
    const char *args[16] = { "--reconcile-delay", "3600", "--log-level", "debug" };
    int n = 4;
    for (int i = 0; more && more[i] && n < 15; i++)
        args[n++] = more[i];
    args[n] = NULL;
    return dh_start(&w->d, w->fake.port, args, NULL);
}

static void stop(world *w)
{
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* The double's commands and per-method counters (caller frees). */
static cJSON *app_state(world *w)
{
    cJSON *s = fd_get(&w->fake, "/_control/app_commands");
    assert_non_null(s);
    return s;
}

static int calls(world *w, const char *method)
{
    cJSON *s = app_state(w);
    const cJSON *n = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "calls"), method);
    int v = cJSON_IsNumber(n) ? n->valueint : -1;
    cJSON_Delete(s);
    return v;
}

/* The command named name (a copy; NULL when none). */
static cJSON *command(world *w, const char *name)
{
    cJSON *s = app_state(w), *c, *found = NULL;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(s, "commands"))
        if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(c, "name")), name) == 0)
            found = cJSON_Duplicate(c, 1);
    cJSON_Delete(s);
    return found;
}

static int n_commands(world *w)
{
    cJSON *s = app_state(w);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(s, "commands"));
    cJSON_Delete(s);
    return n;
}

static const char *str(const cJSON *j, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(j, name));
}

static void seed(world *w, const char *name, const char *description)
{
    char body[256];
    snprintf(body, sizeof body, "{\"command\":{\"name\":\"%s\",\"description\":\"%s\"}}", name, description);
    cJSON *r = fd_post(&w->fake, "/_control/app_commands", body);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "ok")));
    cJSON_Delete(r);
}

/* A new session: op 9 (not resumable), so the daemon IDENTIFYs, gets READY. */
static void new_session(world *w)
{
    int before = dh_log_count(&w->d, "READY");
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":9,\"d\":false}"));
    assert_true(dh_wait_log(&w->d, "READY", before + 1, 20000));
}

/* The intents of the IDENTIFYs the double received, or -1 for none. */
static int identify_intents(world *w)
{
    cJSON *sent = fd_get(&w->fake, "/_control/sent");
    int intents = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, sent)
        if (cJSON_GetObjectItem(e, "op") && cJSON_GetObjectItem(e, "op")->valueint == 2)
            intents = cJSON_GetObjectItem(cJSON_GetObjectItem(e, "d"), "intents")->valueint;
    cJSON_Delete(sent);
    return intents;
}

static void registers_and_keeps_commands_of_other_names(void **state)
{
    world *w = *state;
    seed(w, "levels", "someone else's command");
    assert_int_equal(start(w, NULL), 0);
    assert_true(dh_wait_log(&w->d, REGISTERED, 1, 20000));
    assert_int_equal(n_commands(w), 2);
    cJSON *levels = command(w, "levels");
    assert_string_equal(str(levels, "description"), "someone else's command");
    cJSON_Delete(levels);
    cJSON *c = command(w, "cleanup");
    assert_non_null(c);
    assert_string_equal(str(c, "default_member_permissions"), "8");          /* ADMINISTRATOR */
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "contexts")), 1);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "contexts"), 0)->valueint, 0);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(c, "options")), 5);
    char *recorded = NULL;                /* committed with the loop's turn: shortly after the log line */
    for (int t = 0; !recorded && t < 10000; t += 50) {
        recorded = dh_db_text(w->d.db, "SELECT value FROM cleaner_session_state WHERE key = '" KV_KEY "'");
        if (!recorded)
            dh_sleep_ms(50);
    }
    assert_non_null(recorded);
    assert_string_equal(recorded, str(c, "id"));
    free(recorded);
    cJSON_Delete(c);
    assert_int_equal(calls(w, "POST"), 1);
    /* both: the message intents are asked for */
    assert_int_equal(identify_intents(w), GUILDS_AND_MEMBERS | MESSAGE_INTENTS);
    /* another session of the same process: nothing asked again */
    new_session(w);
    dh_sleep_ms(300);
    assert_int_equal(calls(w, "GET"), 1);
    stop(w);
    assert_int_equal(calls(w, "PUT"), 0);
}

static void restart_writes_nothing_then_updates_changed_permission(void **state)
{
    world *w = *state;
    assert_int_equal(start(w, NULL), 0);
    assert_true(dh_wait_log(&w->d, REGISTERED, 1, 20000));
    cJSON *first = command(w, "cleanup");
    stop(w);
    /* the same settings: the session resumes (no READY), the command matches */
    assert_int_equal(start(w, NULL), 0);
    assert_true(dh_wait_log(&w->d, UP_TO_DATE, 1, 20000));
    stop(w);
    assert_int_equal(calls(w, "POST"), 1);
    assert_int_equal(calls(w, "PATCH"), 0);
    /* admin_permission changed: the same command, updated in place */
    static const char *const manage[] = { "--admin-permission", "MANAGE_GUILD", NULL };
    assert_int_equal(start(w, manage), 0);
    assert_true(dh_wait_log(&w->d, REGISTERED, 2, 20000));
    stop(w);
    assert_int_equal(calls(w, "PATCH"), 1);
    assert_int_equal(calls(w, "POST"), 1);
    cJSON *now = command(w, "cleanup");
    assert_string_equal(str(now, "id"), str(first, "id"));
    assert_string_equal(str(now, "default_member_permissions"), "32");
    assert_int_equal(n_commands(w), 1);
    cJSON_Delete(now);
    cJSON_Delete(first);
    assert_int_equal(calls(w, "PUT"), 0);
}

/* MESSAGE_CREATE of !cleanup_status by the guild's owner. */
static void say_status(world *w)
{
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch",
                         "{\"t\":\"MESSAGE_CREATE\",\"d\":{\"id\":\"1000000000000700001\",\"channel_id\":\"" CHANNEL
                         "\",\"guild_id\":\"" GUILD "\",\"author\":{\"id\":\"" OWNER "\",\"username\":\"a\"},"
                         "\"member\":{\"roles\":[]},\"content\":\"!cleanup_status\"}}"));
}

static int replies_after(world *w, int wait_ms)
{
    for (int t = 0;; t += 50) {
        cJSON *msgs = fd_get(&w->fake, "/_control/messages");
        int n = cJSON_GetArraySize(msgs);
        cJSON_Delete(msgs);
        if (n > 0 || t >= wait_ms)
            return n;
        dh_sleep_ms(50);
    }
}

static void colliding_command_is_left_alone(void **state)
{
    world *w = *state;
    seed(w, "cleanup", "the bot's own cleanup");
    cJSON *before = command(w, "cleanup");
    assert_int_equal(start(w, NULL), 0);
    assert_true(dh_wait_log(&w->d, FOREIGN, 1, 20000));
    /* the prefix commands still answer */
    assert_true(dh_wait_log(&w->d, "may use !cleanup_all_guilds", 1, 10000));
    say_status(w);
    assert_int_equal(replies_after(w, 10000), 1);
    /* a new session: no second look, no second warning */
    new_session(w);
    dh_sleep_ms(300);
    stop(w);
    assert_int_equal(dh_log_count(&w->d, FOREIGN), 1);
    cJSON *after = command(w, "cleanup");
    char *a = cJSON_PrintUnformatted(before), *b = cJSON_PrintUnformatted(after);
    assert_string_equal(a, b);                    /* untouched, version and all */
    free(a);
    free(b);
    cJSON_Delete(before);
    cJSON_Delete(after);
    assert_int_equal(calls(w, "POST"), 0);
    assert_int_equal(calls(w, "PATCH"), 0);
    assert_int_equal(calls(w, "DELETE"), 0);
    assert_int_equal(calls(w, "PUT"), 0);
    assert_null(dh_db_text(w->d.db, "SELECT value FROM cleaner_session_state WHERE key = '" KV_KEY "'"));
}

static void failure_is_retried_at_the_next_session(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/app_commands/reject", "{\"count\":1,\"status\":403,\"code\":50001}"));
    assert_int_equal(start(w, NULL), 0);
    assert_true(dh_wait_log(&w->d, "slash command /cleanup: registering failed (HTTP 403, code 50001", 1, 20000));
    assert_int_equal(n_commands(w), 0);
    new_session(w);
    assert_true(dh_wait_log(&w->d, REGISTERED, 1, 20000));
    stop(w);
    assert_int_equal(n_commands(w), 1);
    assert_int_equal(calls(w, "POST"), 2);
    assert_int_equal(calls(w, "PUT"), 0);
}

static void prefix_registers_nothing(void **state)
{
    world *w = *state;
    static const char *const prefix[] = { "--commands", "prefix", NULL };
    assert_int_equal(start(w, prefix), 0);
    assert_true(dh_wait_log(&w->d, "may use !cleanup_all_guilds", 1, 20000));
    say_status(w);
    assert_int_equal(replies_after(w, 10000), 1);
    stop(w);
    for (int i = 0; i < 5; i++) {
        static const char *const m[] = { "GET", "POST", "PATCH", "DELETE", "PUT" };
        assert_int_equal(calls(w, m[i]), 0);
    }
    assert_int_equal(dh_log_count(&w->d, "slash command"), 0);
    assert_int_equal(identify_intents(w), GUILDS_AND_MEMBERS | MESSAGE_INTENTS);
}

static void slash_alone_asks_no_message_intent(void **state)
{
    world *w = *state;
    static const char *const slash[] = { "--commands", "slash", NULL };
    assert_int_equal(start(w, slash), 0);
    assert_true(dh_wait_log(&w->d, REGISTERED, 1, 20000));
    assert_int_equal(identify_intents(w), GUILDS_AND_MEMBERS);
    cJSON *st = fd_get(&w->fake, "/_control/state");
    const cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "sessions"), 0);
    assert_int_equal(cJSON_GetObjectItem(s0, "intents")->valueint, GUILDS_AND_MEMBERS);
    cJSON_Delete(st);
    /* a prefix message (were one to arrive) is no command */
    say_status(w);
    assert_int_equal(replies_after(w, 1500), 0);
    stop(w);
    assert_int_equal(calls(w, "PUT"), 0);
}

/* prefix first (no application id recorded), then both on a start that
 * resumes: no READY, the id comes from GET /applications/@me. */
static void resumed_first_start_asks_the_application_id(void **state)
{
    world *w = *state;
    static const char *const prefix[] = { "--commands", "prefix", NULL };
    assert_int_equal(start(w, prefix), 0);
    assert_true(dh_wait_log(&w->d, "may use !cleanup_all_guilds", 1, 20000));
    stop(w);
    assert_int_equal(start(w, NULL), 0);
    assert_true(dh_wait_log(&w->d, "RESUMED: replay complete", 1, 20000));
    assert_true(dh_wait_log(&w->d, REGISTERED, 1, 20000));
    stop(w);
    assert_int_equal(dh_log_count(&w->d, "READY: new session"), 1);   /* the first run's only */
    assert_int_equal(n_commands(w), 1);
    assert_int_equal(calls(w, "PUT"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(registers_and_keeps_commands_of_other_names, setup, teardown_world),
        cmocka_unit_test_setup_teardown(restart_writes_nothing_then_updates_changed_permission, setup, teardown_world),
        cmocka_unit_test_setup_teardown(colliding_command_is_left_alone, setup, teardown_world),
        cmocka_unit_test_setup_teardown(failure_is_retried_at_the_next_session, setup, teardown_world),
        cmocka_unit_test_setup_teardown(prefix_registers_nothing, setup, teardown_world),
        cmocka_unit_test_setup_teardown(slash_alone_asks_no_message_intent, setup, teardown_world),
        cmocka_unit_test_setup_teardown(resumed_first_start_asks_the_application_id, setup, teardown_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
