/* test_slash.c - slash commands end to end: the real daemon against the
 * loopback double, which dispatches INTERACTION_CREATE as a member with the
 * permissions Discord would compute and records every answer (callback,
 * edits of @original) with its time since the dispatch.  The database
 * shows whether a sweep ran.  --reconcile-delay 3600: only commanded
 * sweeps happen. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <cmocka.h>

#include "cleanup_world.h"

#define GUILD "1000000000000000001"
#define CHANNEL "1000000000000000500"
#define OWNER "1000000000000000101"      /* the guild's owner */
#define ADMIN "1000000000000000102"      /* holds the Admin role (ADMINISTRATOR) */
#define PLEB "1000000000000000103"       /* @everyone only */
#define BOT_OWNER "1000000000000000100"  /* the double's application owner (not a member) */
#define ROWS_SQL "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD

typedef cw_world world;

static int teardown(void **state)
{
    cw_free(*state);
    return 0;
}

/* Members 101-105 (102 an admin), rows for them and for 2 users who left;
 * the daemon started with extra arguments (NULL-ended, may be NULL). */
static int setup_with(void **state, const char *const extra[])
{
    world *w = cw_new();
    if (!w)
        return -1;
    *state = w;
    cJSON *r = fd_post(&w->fake, "/_control/guilds", "{\"id\":\"" GUILD "\",\"name\":\"Test\",\"owner_id\":\"" OWNER "\","
        "\"roles\":[{\"id\":\"" GUILD "\",\"name\":\"@everyone\",\"permissions\":\"3072\"},"
        "{\"id\":\"1000000000000000201\",\"name\":\"Admin\",\"permissions\":\"8\"}],"
        "\"members\":[{\"id\":\"" OWNER "\"},{\"id\":\"" ADMIN "\",\"roles\":[\"1000000000000000201\"]},"
        "{\"id\":\"" PLEB "\"},{\"id\":\"1000000000000000104\"},{\"id\":\"1000000000000000105\"}]}");
    int ok = r && cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"));
    cJSON_Delete(r);
    char sql[1024] = "BEGIN;";
    static const int ids[] = { 101, 102, 103, 104, 105, 901, 902 };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
                 "INSERT INTO users(discord_id, guild_id) VALUES (1000000000000000%d, " GUILD ");", ids[i]);
    strcat(sql, "COMMIT;");
    const char *args[16] = { "--reconcile-delay", "3600", "--log-level", "debug" };
    for (int i = 0, n = 4; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    if (!ok || dh_db_exec(w->d.db, sql) != 0 || !cw_start(w, args) ||
        !dh_wait_log(&w->d, "may use !cleanup_all_guilds", 1, 10000) ||
        !dh_wait_log(&w->d, "guild " GUILD ": roles known", 1, 10000)) {
        teardown(state);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_prefix_only(void **state)
{
    static const char *const extra[] = { "--commands", "prefix", NULL };
    return setup_with(state, extra);
}

static int setup_renamed(void **state)
{
    static const char *const extra[] = { "--slash-command-name", "tidy", NULL };
    return setup_with(state, extra);
}

/* /<name> <sub> [force:true] as user (guild NULL: in a DM); returns the
 * interaction's token (static buffer). */
static const char *slash_named(world *w, const char *name, const char *user, const char *sub, int force, int dm)
{
    static char token[64];
    char body[512];
    snprintf(body, sizeof body, "{%s\"user_id\":\"%s\",\"channel_id\":\"" CHANNEL "\",\"name\":\"%s\","
             "\"subcommand\":\"%s\"%s}", dm ? "\"dm\":true," : "\"guild_id\":\"" GUILD "\",", user, name, sub,
             force ? ",\"options\":[{\"name\":\"force\",\"type\":5,\"value\":true}]" : "");
    cJSON *r = fd_post(&w->fake, "/_control/interaction", body);
    assert_non_null(r);
    assert_int_equal(cJSON_GetObjectItem(r, "sessions")->valueint, 1);
    snprintf(token, sizeof token, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "token")));
    cJSON_Delete(r);
    return token;
}

static const char *slash(world *w, const char *user, const char *sub, int force, int dm)
{
    return slash_named(w, "cleanup", user, sub, force, dm);
}

/* The double's record of the interaction with token once pred holds (or
 * the timeout passed); caller frees. */
typedef int (*rec_pred)(const cJSON *rec, int arg);

static cJSON *record(world *w, const char *token, rec_pred pred, int arg, int timeout_ms)
{
    for (int t = 0;; t += 50) {
        cJSON *log = fd_get(&w->fake, "/_control/interactions"), *rec;
        cJSON_ArrayForEach(rec, log)
            if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(rec, "token")), token) == 0 &&
                (pred(rec, arg) || t >= timeout_ms)) {
                cJSON *out = cJSON_Duplicate(rec, 1);
                cJSON_Delete(log);
                return out;
            }
        cJSON_Delete(log);
        if (t >= timeout_ms)
            return NULL;
        dh_sleep_ms(50);
    }
}

static int answered(const cJSON *rec, int arg)
{
    (void)arg;
    return cJSON_IsObject(cJSON_GetObjectItem(rec, "callback"));
}

static int edited(const cJSON *rec, int n)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(rec, "edits")) >= n;
}

static const char *cb_content(const cJSON *rec)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "callback"),
                                                                        "data"), "content"));
}

static void assert_no_mentions(const cJSON *body)
{
    const cJSON *parse = cJSON_GetObjectItem(cJSON_GetObjectItem(body, "allowed_mentions"), "parse");
    assert_true(cJSON_IsArray(parse));
    assert_int_equal(cJSON_GetArraySize(parse), 0);
}

/* The first answer: type 4, ephemeral, at once; its text. */
static const char *assert_ephemeral(const cJSON *rec)
{
    assert_non_null(rec);
    const cJSON *cb = cJSON_GetObjectItem(rec, "callback");
    assert_true(cJSON_IsObject(cb));
    assert_int_equal(cJSON_GetObjectItem(cb, "type")->valueint, 4);
    const cJSON *data = cJSON_GetObjectItem(cb, "data");
    assert_int_equal(cJSON_GetObjectItem(data, "flags")->valueint, 64);
    assert_no_mentions(data);
    assert_true(cJSON_GetObjectItem(cb, "ms")->valuedouble < 3000);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "edits")), 0);
    return cb_content(rec);
}

static void status_is_ephemeral_at_once(void **state)
{
    world *w = *state;
    cJSON *rec = record(w, slash(w, ADMIN, "status", 0, 0), answered, 0, 10000);
    const char *text = assert_ephemeral(rec);
    assert_non_null(strstr(text, "Shard 0: READY"));
    assert_non_null(strstr(text, "This server, Test (" GUILD "): 7 row(s)"));
    cJSON_Delete(rec);
    /* an unknown subcommand: help, as for the prefix command */
    rec = record(w, slash(w, ADMIN, "everything", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "Unknown command"));
    cJSON_Delete(rec);
}

static void non_admin_is_refused_and_nothing_is_deleted(void **state)
{
    world *w = *state;
    assert_int_equal(dh_db_int(w->d.db, ROWS_SQL), 7);
    cJSON *rec = record(w, slash(w, PLEB, "users", 1, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "need the ADMINISTRATOR permission"));
    cJSON_Delete(rec);
    /* asked again at once: refused again (ephemeral answers have no limit) */
    rec = record(w, slash(w, PLEB, "test", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "need the ADMINISTRATOR permission"));
    cJSON_Delete(rec);
    dh_sleep_ms(1000);
    assert_int_equal(dh_db_int(w->d.db, ROWS_SQL), 7);
    assert_int_equal(dh_log_count(&w->d, "sweep requested by user"), 0);
    /* all_guilds: the bot's owners only, even for an administrator */
    rec = record(w, slash(w, ADMIN, "all_guilds", 1, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "only the bot's owners"));
    cJSON_Delete(rec);
    /* in a DM: only in a server */
    rec = record(w, slash(w, PLEB, "users", 0, 1), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "only in a server"));
    cJSON_Delete(rec);
    assert_int_equal(dh_db_int(w->d.db, ROWS_SQL), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void admin_sweep_deferred_then_edited(void **state)
{
    world *w = *state;
    const char *token = slash(w, ADMIN, "users", 0, 0);
    cJSON *rec = record(w, token, edited, 1, 15000);
    assert_non_null(rec);
    const cJSON *cb = cJSON_GetObjectItem(rec, "callback");
    assert_int_equal(cJSON_GetObjectItem(cb, "type")->valueint, 5);
    double ms = cJSON_GetObjectItem(cb, "ms")->valuedouble;
    fprintf(stderr, "deferral %.0f ms after the dispatch\n", ms);
    assert_true(ms < 1000);
    const cJSON *edit = cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "edits"), 0);
    const cJSON *body = cJSON_GetObjectItem(edit, "body");
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItem(body, "content"));
    assert_non_null(strstr(text, "Sweep of this server finished"));
    assert_non_null(strstr(text, "2 stale row(s) removed"));
    assert_no_mentions(body);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "refused")), 0);
    cJSON_Delete(rec);
    assert_true(dh_wait_db(w->d.db, ROWS_SQL, 5, 5000));   /* the turn's COMMIT follows the summary */
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id >= 1000000000000000901"), 0);
    /* nothing posted in the channel: the answer was the interaction's */
    cJSON *msgs = fd_get(&w->fake, "/_control/messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 0);
    cJSON_Delete(msgs);
    /* the dry run: deferred, edited, nothing deleted */
    rec = record(w, slash(w, OWNER, "test", 0, 0), edited, 1, 15000);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "callback"), "type")->valueint, 5);
    text = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "edits"), 0), "body"), "content"));
    assert_non_null(strstr(text, "Dry run"));
    cJSON_Delete(rec);
    assert_int_equal(dh_db_int(w->d.db, ROWS_SQL), 5);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* The sweep outlasts the token (the double's lifetime made short, the
 * member list held back): its summary arrives as a channel message; while
 * it runs, another interaction is still answered at once. */
static void expired_token_summary_in_channel(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"interaction_token_ms\":1500,\"op8_chunk_limit\":0}"));
    const char *t = slash(w, ADMIN, "users", 0, 0);
    char token[64];
    snprintf(token, sizeof token, "%s", t);
    cJSON *rec = record(w, token, answered, 0, 10000);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "callback"), "type")->valueint, 5);
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "callback"), "ms")->valuedouble < 1000);
    cJSON_Delete(rec);
    rec = record(w, slash(w, ADMIN, "status", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "sweep"));
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "callback"), "ms")->valuedouble < 1000);
    cJSON_Delete(rec);
    dh_sleep_ms(2000);                 /* the token is gone */
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"op8_chunk_limit\":-1}"));
    /* the summary: a channel message, or the edit of one (a progress text
     * that met the spent token first) */
    cJSON *msgs = NULL;
    const cJSON *m = NULL, *body = NULL;
    for (int i = 0; i < 300 && !(body && strstr(cJSON_GetStringValue(cJSON_GetObjectItem(body, "content")),
                                                  "2 stale row(s) removed")); i++) {
        cJSON_Delete(msgs);
        dh_sleep_ms(50);
        msgs = fd_get(&w->fake, "/_control/messages");
        m = cJSON_GetArrayItem(msgs, 0);
        body = cJSON_GetObjectItem(m, cJSON_GetObjectItem(m, "edited") ? "edited" : "body");
    }
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(m, "channel_id")), CHANNEL);
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(body, "content")), "2 stale row(s) removed"));
    assert_no_mentions(body);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "body"), "message_reference"));
    cJSON_Delete(msgs);
    /* Discord's 10015 for the late edit: one warning, not retried */
    rec = record(w, token, answered, 0, 1000);
    const cJSON *refused = cJSON_GetObjectItem(rec, "refused");
    assert_int_equal(cJSON_GetArraySize(refused), 1);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(refused, 0), "code")->valueint, 10015);
    cJSON_Delete(rec);
    assert_int_equal(dh_log_count(&w->d, "(Unknown Webhook"), 1);
    /* the interaction's token never reaches the log */
    assert_int_equal(dh_log_count(&w->d, token), 0);
    assert_true(dh_log_count(&w->d, "/[REDACTED]/callback") >= 1);
    assert_true(dh_wait_db(w->d.db, ROWS_SQL, 5, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A sweep that waits (the member list held back): its progress edits
 * @original, then its summary replaces it; nothing in the channel. */
static void progress_edits_original(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"op8_chunk_limit\":0}"));
    char token[64];
    snprintf(token, sizeof token, "%s", slash(w, ADMIN, "users", 0, 0));
    cJSON *rec = record(w, token, edited, 1, 15000);
    const cJSON *first = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "edits"), 0), "body");
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(first, "content")), "running"));
    assert_no_mentions(first);
    cJSON_Delete(rec);
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"op8_chunk_limit\":-1}"));
    for (int i = 0; i < 300; i++) {
        rec = record(w, token, edited, 1, 0);
        const cJSON *edits = cJSON_GetObjectItem(rec, "edits");
        const cJSON *last = cJSON_GetObjectItem(cJSON_GetArrayItem(edits, cJSON_GetArraySize(edits) - 1), "body");
        if (strstr(cJSON_GetStringValue(cJSON_GetObjectItem(last, "content")), "2 stale row(s) removed"))
            break;
        cJSON_Delete(rec);
        rec = NULL;
        dh_sleep_ms(50);
    }
    assert_non_null(rec);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rec, "refused")), 0);
    cJSON_Delete(rec);
    cJSON *msgs = fd_get(&w->fake, "/_control/messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 0);
    cJSON_Delete(msgs);
    assert_true(dh_wait_db(w->d.db, ROWS_SQL, 5, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* /cleanup schedule [hours]: the prefix command's decision and texts;
 * shown at once, saved deferred and edited in. */
static void schedule_shown_and_set(void **state)
{
    world *w = *state;
    cJSON *rec = record(w, slash(w, ADMIN, "schedule", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "Sweep interval: 24 h, the bot's default"));
    cJSON_Delete(rec);
    cJSON *r = fd_post(&w->fake, "/_control/interaction", "{\"guild_id\":\"" GUILD "\",\"user_id\":\"" ADMIN "\","
                       "\"name\":\"cleanup\",\"subcommand\":\"schedule\","
                       "\"options\":[{\"name\":\"hours\",\"type\":10,\"value\":48}]}");
    char token[64];
    snprintf(token, sizeof token, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(r, "token")));
    cJSON_Delete(r);
    rec = record(w, token, edited, 1, 10000);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "callback"), "type")->valueint, 5);
    const cJSON *body = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rec, "edits"), 0), "body");
    assert_non_null(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(body, "content")),
                           "Saved: this server asks for a sweep every 48 h."));
    assert_no_mentions(body);
    cJSON_Delete(rec);
    rec = record(w, slash(w, ADMIN, "schedule", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "48 h, chosen by this server's admins"));
    cJSON_Delete(rec);
    /* a non-admin may not */
    rec = record(w, slash(w, PLEB, "schedule", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "need the ADMINISTRATOR permission"));
    cJSON_Delete(rec);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* commands = prefix: interactions are not answered. */
static void prefix_mode_answers_no_interaction(void **state)
{
    world *w = *state;
    char token[64];
    snprintf(token, sizeof token, "%s", slash(w, ADMIN, "status", 0, 0));
    cJSON *rec = record(w, token, answered, 0, 1500);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "callback")));
    cJSON_Delete(rec);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* slash_command_name renames ours; another command's name is not ours. */
static void renamed_command(void **state)
{
    world *w = *state;
    char token[64];
    snprintf(token, sizeof token, "%s", slash(w, ADMIN, "status", 0, 0));   /* "cleanup": not ours now */
    cJSON *rec = record(w, slash_named(w, "tidy", ADMIN, "status", 0, 0), answered, 0, 10000);
    assert_non_null(strstr(assert_ephemeral(rec), "Shard 0: READY"));
    cJSON_Delete(rec);
    rec = record(w, token, answered, 0, 0);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(rec, "callback")));
    cJSON_Delete(rec);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(status_is_ephemeral_at_once, setup, teardown),
        cmocka_unit_test_setup_teardown(non_admin_is_refused_and_nothing_is_deleted, setup, teardown),
        cmocka_unit_test_setup_teardown(admin_sweep_deferred_then_edited, setup, teardown),
        cmocka_unit_test_setup_teardown(expired_token_summary_in_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(progress_edits_original, setup, teardown),
        cmocka_unit_test_setup_teardown(schedule_shown_and_set, setup, teardown),
        cmocka_unit_test_setup_teardown(prefix_mode_answers_no_interaction, setup_prefix_only, teardown),
        cmocka_unit_test_setup_teardown(renamed_command, setup_renamed, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
