/* test_commands.c - admin chat commands, end to end: the real daemon
 * against the loopback double.  Commands arrive as MESSAGE_CREATE
 * dispatches, replies are read back from the double's message log, and
 * the database shows whether a sweep ran.  The daemon runs with
 * --reconcile-delay 3600 so only commanded sweeps happen. */
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
#define GUILD_OWNER "1000000000000000101"
#define ADMIN "1000000000000000102"      /* holds the Admin role (permissions 8) */
#define PLEB "1000000000000000103"       /* no roles */
#define BOT_OWNER "1000000000000000100"  /* the double's application owner */
#define ADMIN_ROLE "1000000000000000201"

typedef struct {
    fd_proc fake;
    dh_proc d;
    int next_msg;
} world;

static int teardown_world(void **state)
{
    world *w = *state;
    if (getenv("CMDS_DEBUG")) {
        char *log = dh_read_file(w->d.log);
        fprintf(stderr, "%s\n", log ? log : "(no log)");
        free(log);
        cJSON *reqs = fd_get(&w->fake, "/_control/requests");
        char *txt = cJSON_PrintUnformatted(reqs);
        fprintf(stderr, "requests: %s\n", txt ? txt : "-");
        free(txt);
        cJSON_Delete(reqs);
    }
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
    return 0;
}

/* A guild: 5 members (101-105), an Admin role held by 102; rows for the
 * members plus `stale` rows of users who are not members (9xx). */
static int add_guild(world *w, const char *id, int stale)
{
    char body[1024], sql[4096];
    snprintf(body, sizeof body,
        "{\"id\":\"%s\",\"name\":\"Test\",\"owner_id\":\"" GUILD_OWNER "\","
        "\"roles\":[{\"id\":\"" ADMIN_ROLE "\",\"name\":\"Admin\",\"permissions\":\"8\"}],"
        "\"members\":[{\"id\":\"1000000000000000101\",\"username\":\"a\"},"
        "{\"id\":\"" ADMIN "\",\"username\":\"b\",\"roles\":[\"" ADMIN_ROLE "\"]},"
        "{\"id\":\"1000000000000000103\",\"username\":\"c\"},{\"id\":\"1000000000000000104\",\"username\":\"d\"},"
        "{\"id\":\"1000000000000000105\",\"username\":\"e\"}]}", id);
    cJSON *r = fd_post(&w->fake, "/_control/guilds", body);
    int ok = r && cJSON_IsTrue(cJSON_GetObjectItem(r, "ok"));
    cJSON_Delete(r);
    snprintf(sql, sizeof sql, "CREATE TABLE IF NOT EXISTS users (discord_id %s NOT NULL, guild_id %s, "
             "username TEXT, UNIQUE (discord_id, guild_id)); BEGIN;", dh_sql("INTEGER", "BIGINT"),
             dh_sql("INTEGER", "BIGINT"));
    for (int i = 101; i <= 105; i++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
                 "INSERT INTO users(discord_id, guild_id) VALUES (1000000000000000%d, %s);", i, id);
    for (int i = 0; i < stale; i++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
                 "INSERT INTO users(discord_id, guild_id) VALUES (1000000000000000%d, %s);", 901 + i, id);
    strcat(sql, "COMMIT;");
    return ok && dh_db_exec(w->d.db, sql) == 0 ? 0 : -1;
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
    if (add_guild(w, GUILD, 2) != 0) {
        teardown_world(state);
        return -1;
    }
    return 0;
}

static int start_daemon(world *w, const char *const more[])
{
    const char *args[16] = { "--reconcile-delay", "3600", "--log-level", "debug" };
    int n = 4;
    for (int i = 0; more && more[i] && n < 15; i++)
        args[n++] = more[i];
    args[n] = NULL;
    if (dh_start(&w->d, w->fake.port, args, NULL) != 0)
        return 0;
    return dh_wait_log(&w->d, "may use !cleanup_all_guilds", 1, 10000) &&
           dh_wait_log(&w->d, "guild " GUILD ": roles known", 1, 10000);
}

static int rows(world *w, const char *guild)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE guild_id = %s", guild);
    return (int)dh_db_int(w->d.db, sql);
}

/* MESSAGE_CREATE in GUILD (guild NULL: a DM).  Returns the message id. */
static long long say(world *w, const char *guild, const char *author, const char *username, const char *role,
                     int bot, const char *content)
{
    long long id = 1000000000000700000LL + ++w->next_msg;
    cJSON *m = cJSON_CreateObject(), *d = cJSON_AddObjectToObject(m, "d");
    char buf[32];
    cJSON_AddStringToObject(m, "t", "MESSAGE_CREATE");
    snprintf(buf, sizeof buf, "%lld", id);
    cJSON_AddStringToObject(d, "id", buf);
    cJSON_AddStringToObject(d, "channel_id", CHANNEL);
    if (guild)
        cJSON_AddStringToObject(d, "guild_id", guild);
    cJSON *a = cJSON_AddObjectToObject(d, "author");
    cJSON_AddStringToObject(a, "id", author);
    cJSON_AddStringToObject(a, "username", username);
    if (bot)
        cJSON_AddBoolToObject(a, "bot", 1);
    if (guild) {
        cJSON *mem = cJSON_AddObjectToObject(d, "member");
        cJSON *roles = cJSON_AddArrayToObject(mem, "roles");
        if (role)
            cJSON_AddItemToArray(roles, cJSON_CreateString(role));
    }
    cJSON_AddStringToObject(d, "content", content);
    char *json = cJSON_PrintUnformatted(m);
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch", json));
    free(json);
    cJSON_Delete(m);
    return id;
}

/* Wait until the double holds at least n posted messages; the array (caller frees). */
static cJSON *wait_replies(world *w, int n, int timeout_ms)
{
    for (int t = 0;; t += 50) {
        cJSON *msgs = fd_get(&w->fake, "/_control/messages");
        if (cJSON_GetArraySize(msgs) >= n || t >= timeout_ms)
            return msgs;
        cJSON_Delete(msgs);
        dh_sleep_ms(50);
    }
}

static const char *content_of(const cJSON *msgs, int i)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, i), "body"), "content");
    return cJSON_IsString(c) ? c->valuestring : "";
}

/* Every reply suppresses mentions and points at its command. */
static void assert_safe_reply(const cJSON *msgs, int i, long long replying_to)
{
    const cJSON *rec = cJSON_GetArrayItem(msgs, i);
    const cJSON *body = cJSON_GetObjectItem(rec, "body");
    assert_string_equal(cJSON_GetObjectItem(rec, "channel_id")->valuestring, CHANNEL);
    const cJSON *parse = cJSON_GetObjectItem(cJSON_GetObjectItem(body, "allowed_mentions"), "parse");
    assert_true(cJSON_IsArray(parse));
    assert_int_equal(cJSON_GetArraySize(parse), 0);
    const cJSON *ref = cJSON_GetObjectItem(body, "message_reference");
    char id[32];
    snprintf(id, sizeof id, "%lld", replying_to);
    assert_string_equal(cJSON_GetObjectItem(ref, "message_id")->valuestring, id);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(ref, "fail_if_not_exists")));
    assert_true(strlen(content_of(msgs, i)) < 2000);
}

static int op8_sent(world *w)
{
    cJSON *s = fd_get(&w->fake, "/_control/sent");
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, s)
        n += cJSON_GetObjectItem(e, "op") && cJSON_GetObjectItem(e, "op")->valueint == 8;
    cJSON_Delete(s);
    return n;
}

static void users_command_sweeps_this_guild(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    assert_int_equal(rows(w, GUILD), 7);
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    cJSON *msgs = wait_replies(w, 1, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "Sweep of this server finished"));
    assert_non_null(strstr(content_of(msgs, 0), "2 stale row(s) removed"));
    cJSON_Delete(msgs);
    cJSON *edits = fd_get(&w->fake, "/_control/edits");
    assert_int_equal(cJSON_GetArraySize(edits), 0);     /* done within 2 s: its summary only, no edits */
    cJSON_Delete(edits);
    assert_int_equal(rows(w, GUILD), 5);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id >= 1000000000000000901"), 0);
    /* the guild owner (no roles) may too, and status reports the sweep */
    id = say(w, GUILD, GUILD_OWNER, "a", NULL, 0, "!cleanup_status");
    msgs = wait_replies(w, 2, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_safe_reply(msgs, 1, id);
    const char *st = content_of(msgs, 1);
    assert_non_null(strstr(st, "Shard 0: READY"));
    assert_non_null(strstr(st, "session new"));
    assert_non_null(strstr(st, "sweep 2"));
    assert_non_null(strstr(st, "This server, Test (" GUILD "): 5 row(s)"));
    assert_non_null(strstr(st, "2 removed"));
    assert_non_null(strstr(st, "result: ok"));
    assert_non_null(strstr(st, "Next scheduled sweep"));
    assert_non_null(strstr(st, "Guilds awaiting reconciliation: 0"));
    cJSON_Delete(msgs);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void test_command_deletes_nothing(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_test");
    cJSON *msgs = wait_replies(w, 1, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    const char *text = content_of(msgs, 0);
    assert_non_null(strstr(text, "Dry run"));
    assert_non_null(strstr(text, "2 of 7 rows would be removed"));
    assert_non_null(strstr(text, "100000000000000090"));   /* an id of a stale row */
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, GUILD), 7);
    /* unknown command: help */
    id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_everything");
    msgs = wait_replies(w, 2, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_non_null(strstr(content_of(msgs, 1), "!cleanup_users"));
    cJSON_Delete(msgs);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void non_admin_is_refused_once_and_nothing_runs(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    /* a username built to ping everybody, were mentions parsed */
    long long id = say(w, GUILD, PLEB, "@everyone <@&" ADMIN_ROLE ">", NULL, 0, "!cleanup_users force");
    say(w, GUILD, PLEB, "@everyone", NULL, 0, "!cleanup_users force");
    say(w, GUILD, PLEB, "@everyone", NULL, 0, "!cleanup_status");
    /* the admin's status is answered after the three above were handled */
    long long sync = say(w, GUILD, ADMIN, "@here", ADMIN_ROLE, 0, "!cleanup_status");
    cJSON *msgs = wait_replies(w, 2, 10000);
    dh_sleep_ms(300);
    cJSON_Delete(msgs);
    msgs = wait_replies(w, 2, 0);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_safe_reply(msgs, 0, id);
    assert_safe_reply(msgs, 1, sync);
    assert_non_null(strstr(content_of(msgs, 0), "ADMINISTRATOR"));
    assert_null(strstr(content_of(msgs, 0), "@everyone"));
    assert_non_null(strstr(content_of(msgs, 1), "status"));
    cJSON_Delete(msgs);
    assert_int_equal(op8_sent(w), 0);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void dm_and_bot_authors_are_ignored(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    say(w, NULL, BOT_OWNER, "owner", NULL, 0, "!cleanup_users force");          /* DM */
    say(w, GUILD, ADMIN, "otherbot", ADMIN_ROLE, 1, "!cleanup_users force");    /* a bot */
    long long sync = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_status");
    cJSON *msgs = wait_replies(w, 1, 10000);
    dh_sleep_ms(300);
    cJSON_Delete(msgs);
    msgs = wait_replies(w, 1, 0);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, sync);
    cJSON_Delete(msgs);
    assert_int_equal(op8_sent(w), 0);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static cJSON *wait_edits(world *w, int n, int timeout_ms);
static const char *edit_content(const cJSON *edits, int i);

/* The all-guilds reply is edited as servers finish: the text of the edit
 * that carries the summary (malloc'd), or NULL when none came in time. */
static char *all_guilds_summary(world *w, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 200) {
        cJSON *edits = wait_edits(w, 1, 0);
        int n = cJSON_GetArraySize(edits);
        char *text = n > 0 && strstr(edit_content(edits, n - 1), "of every server finished")
                     ? strdup(edit_content(edits, n - 1)) : NULL;
        cJSON_Delete(edits);
        if (text)
            return text;
        dh_sleep_ms(200);
    }
    return NULL;
}

static void all_guilds_is_for_bot_owners(void **state)
{
    world *w = *state;
    assert_int_equal(add_guild(w, "1000000000000000002", 1), 0);
    assert_true(start_daemon(w, NULL));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_all_guilds");
    cJSON *msgs = wait_replies(w, 1, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "owners"));
    cJSON_Delete(msgs);
    id = say(w, GUILD, BOT_OWNER, "owner", NULL, 0, "!cleanup_all_guilds");
    msgs = wait_replies(w, 2, 20000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_safe_reply(msgs, 1, id);
    assert_non_null(strstr(content_of(msgs, 1), "of 2 server(s) queued"));
    cJSON_Delete(msgs);
    /* one reply, edited as the servers finish; the last edit is the summary */
    char *summary = all_guilds_summary(w, 30000);
    assert_non_null(summary);
    assert_non_null(strstr(summary, "2 completed"));
    assert_non_null(strstr(summary, "3 row(s) removed"));
    free(summary);
    msgs = wait_replies(w, 2, 0);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);       /* no second message */
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, GUILD), 5);
    assert_int_equal(rows(w, "1000000000000000002"), 5);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void second_command_reports_progress(void **state)
{
    world *w = *state;
    static const char *const slow[] = { "--batch-size", "1", "--batch-delay", "1.5", NULL };
    assert_true(start_daemon(w, slow));
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, 6, 15000));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users force");
    cJSON *msgs = wait_replies(w, 1, 5000);
    assert_true(cJSON_GetArraySize(msgs) >= 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "already running"));
    assert_non_null(strstr(content_of(msgs, 0), "1 of 2 stale row(s) removed so far"));
    cJSON_Delete(msgs);
    msgs = wait_replies(w, 2, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_non_null(strstr(content_of(msgs, 1), "2 stale row(s) removed"));
    cJSON_Delete(msgs);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void reply_429_is_waited_out(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/ratelimit",
                         "{\"route\":\"/api/v10/channels/\",\"count\":1,\"retry_after\":0.4,\"global\":false}"));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_status");
    cJSON *msgs = wait_replies(w, 1, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    cJSON_Delete(msgs);
    cJSON *reqs = fd_get(&w->fake, "/_control/requests");
    int posts = 0, limited = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, reqs) {
        if (strcmp(cJSON_GetObjectItem(e, "method")->valuestring, "POST") != 0 ||
            strncmp(cJSON_GetObjectItem(e, "path")->valuestring, "/api/v10/channels/", 18) != 0)
            continue;                    /* not a reply (the slash command's registration) */
        posts++;
        limited += cJSON_GetObjectItem(e, "status")->valueint == 429;
    }
    cJSON_Delete(reqs);
    assert_int_equal(posts, 2);
    assert_int_equal(limited, 1);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* Ten guilds whose sweeps all stop at the guard: the summary lists every
 * one of them, far more than one message holds. */
static void long_reply_is_trimmed(void **state)
{
    world *w = *state;
    char id[32];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "10000000000000000%02d", 10 + i);
        assert_int_equal(add_guild(w, id, 6), 0);      /* 6 of 11 rows stale: over 50% */
    }
    assert_true(start_daemon(w, NULL));
    say(w, GUILD, BOT_OWNER, "owner", NULL, 0, "!cleanup_all_guilds");
    char *text = all_guilds_summary(w, 40000);       /* edited into the one reply */
    assert_non_null(text);
    assert_non_null(strstr(text, "10 stopped by the guard"));
    assert_non_null(strstr(text, "(trimmed)"));
    assert_true(strlen(text) < 2000);
    free(text);
    cJSON *msgs = wait_replies(w, 1, 0);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, "1000000000000000010"), 11);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void commands_off_ignores_messages(void **state)
{
    world *w = *state;
    static const char *const off[] = { "--reconcile-delay", "3600", "--commands", "off", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, off, NULL), 0);
    assert_true(dh_wait_log(&w->d, "READY", 1, 10000));
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users force");
    dh_sleep_ms(500);
    cJSON *msgs = wait_replies(w, 1, 0);
    assert_int_equal(cJSON_GetArraySize(msgs), 0);
    cJSON_Delete(msgs);
    assert_int_equal(op8_sent(w), 0);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void write_config(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The replies posted so far that answer a status command. */
static int status_replies(world *w)
{
    cJSON *msgs = wait_replies(w, 0, 0);
    int n = 0;
    for (int i = 0; i < cJSON_GetArraySize(msgs); i++)
        n += strstr(content_of(msgs, i), "discord-cleaner status") != NULL;
    cJSON_Delete(msgs);
    return n;
}

static int wait_status_replies(world *w, int n, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (status_replies(w) >= n)
            return 1;
        dh_sleep_ms(50);
    }
    return status_replies(w) >= n;
}

/* SIGHUP (#18): the config file is read again.  A reloadable setting
 * (prefix, batch_size) applies from the next command; one that needs a
 * restart (compress) is named and left; a flag still wins over the file
 * (log_level); a file that does not parse leaves everything as it was. */
static void sighup_reloads_the_settings(void **state)
{
    world *w = *state;
    char conf[300], arg_conf[320];
    snprintf(conf, sizeof conf, "%s/cleaner.conf", w->d.dir);
    snprintf(arg_conf, sizeof arg_conf, "%s", conf);
    write_config(conf, "prefix = ?\n");
    const char *const more[] = { "--config", arg_conf, NULL };
    assert_true(start_daemon(w, more));
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "?cleanup_status");
    assert_true(wait_status_replies(w, 1, 5000));

    write_config(conf, "prefix = %\nbatch_size = 500\ncompress = none\nlog_level = error\n");
    kill(w->d.pid, SIGHUP);
    assert_true(dh_wait_log(&w->d, "settings reloaded (SIGHUP): 2 applied, 1 wait for a restart", 1, 5000));
    assert_int_equal(dh_log_count(&w->d, "reload: prefix = % (was ?)"), 1);
    assert_int_equal(dh_log_count(&w->d, "reload: batch_size = 500 (was 1000)"), 1);
    assert_int_equal(dh_log_count(&w->d, "reload: compress changed to none but takes effect only after a restart; "
                                         "still zlib-stream"), 1);
    assert_int_equal(dh_log_count(&w->d, "log_level"), 0);      /* --log-level debug still wins */
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "?cleanup_status");  /* the old prefix: ignored */
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "%cleanup_status");
    assert_true(wait_status_replies(w, 2, 5000));
    dh_sleep_ms(300);
    assert_int_equal(status_replies(w), 2);

    write_config(conf, "prefix = has space\n");
    kill(w->d.pid, SIGHUP);
    assert_true(dh_wait_log(&w->d, "reload refused, the running settings stay: ", 1, 5000));
    assert_true(dh_log_count(&w->d, "prefix") >= 1);
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "%cleanup_status");
    assert_true(wait_status_replies(w, 3, 5000));
    kill(w->d.pid, SIGHUP);                                     /* still bad: refused again, still running */
    assert_true(dh_wait_log(&w->d, "reload refused, the running settings stay: ", 2, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* Requests the double received whose method and path match. */
static int requests_to(world *w, const char *method, const char *path)
{
    cJSON *reqs = fd_get(&w->fake, "/_control/requests");
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, reqs)
        n += strcmp(cJSON_GetObjectItem(e, "method")->valuestring, method) == 0 &&
             strcmp(cJSON_GetObjectItem(e, "path")->valuestring, path) == 0;
    cJSON_Delete(reqs);
    return n;
}

/* Stop the daemon and start it again: the session is resumed, so no READY
 * and no GUILD_CREATE arrive. */
static int restart_resumed(world *w)
{
    if (dh_stop(&w->d, SIGTERM, 5000) != 0)
        return 0;
    const char *args[] = { "--reconcile-delay", "3600", "--log-level", "debug", NULL };
    return dh_start(&w->d, w->fake.port, args, NULL) == 0 &&
           dh_wait_log(&w->d, "RESUMED: replay complete", 1, 10000);
}

/* After a restart that resumes, admins, the guild owner and the bot owner
 * are answered (roles fetched over REST, owners fetched at start); a
 * member without rights is still refused. */
static void resumed_session_commands_work(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    assert_true(restart_resumed(w));
    assert_true(dh_wait_log(&w->d, "may use !cleanup_all_guilds", 2, 10000));
    assert_int_equal(requests_to(w, "GET", "/api/v10/applications/@me"), 2);
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_status");
    cJSON *msgs = wait_replies(w, 1, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "session resumed"));
    cJSON_Delete(msgs);
    assert_int_equal(requests_to(w, "GET", "/api/v10/guilds/" GUILD), 1);
    id = say(w, GUILD, GUILD_OWNER, "a", NULL, 0, "!cleanup_test");
    msgs = wait_replies(w, 2, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_safe_reply(msgs, 1, id);
    assert_non_null(strstr(content_of(msgs, 1), "Dry run"));
    cJSON_Delete(msgs);
    id = say(w, GUILD, PLEB, "c", NULL, 0, "!cleanup_users");
    msgs = wait_replies(w, 3, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_non_null(strstr(content_of(msgs, 2), "ADMINISTRATOR"));
    cJSON_Delete(msgs);
    assert_int_equal(requests_to(w, "GET", "/api/v10/guilds/" GUILD), 1);   /* learnt once */
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A GUILD_DELETE without `unavailable` for a guild the bot is still in
 * (REST answers 200) forgets nothing: its admin is still answered. */
static void guild_delete_not_confirmed_keeps_roles(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch", "{\"t\":\"GUILD_DELETE\",\"d\":{\"id\":\"" GUILD "\"}}"));
    assert_true(dh_wait_log(&w->d, "but the bot is still in it", 1, 10000));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_status");
    cJSON *msgs = wait_replies(w, 1, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "status"));
    assert_null(strstr(content_of(msgs, 0), "Sorry"));
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* Resumed, and Discord fails every GET /guilds/{id}: a member the daemon
 * cannot judge is told the check failed, not refused. */
static void roles_unavailable_says_so(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/fail", "{\"route\":\"/api/v10/guilds/\",\"status\":503,\"count\":20}"));
    assert_true(restart_resumed(w));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    cJSON *msgs = wait_replies(w, 1, 30000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "could not check"));
    assert_null(strstr(content_of(msgs, 0), "Sorry"));
    cJSON_Delete(msgs);
    assert_int_equal(op8_sent(w), 0);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* 300 distinct non-admins send two commands each: a handful of refusals
 * are posted, and an admin's command sent after the flood is answered at
 * once, not behind hundreds of queued refusals. */
static void refusal_flood_is_capped(void **state)
{
    world *w = *state;
    char user[32];
    assert_true(start_daemon(w, NULL));
    for (int round = 0; round < 2; round++)
        for (int u = 0; u < 300; u++) {
            snprintf(user, sizeof user, "1000000000000%06d", 300000 + u);
            say(w, GUILD, user, "flood", NULL, 0, round ? "!cleanup_status" : "!cleanup_users");
        }
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_status");
    int found = -1, n = 0;
    for (int t = 0; t < 10000 && found < 0; t += 100) {
        cJSON *msgs = fd_get(&w->fake, "/_control/messages");
        char want[32];
        snprintf(want, sizeof want, "%lld", id);
        n = cJSON_GetArraySize(msgs);
        for (int i = 0; i < n; i++) {
            const cJSON *ref = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, i), "body"),
                                                   "message_reference");
            if (strcmp(cJSON_GetObjectItem(ref, "message_id")->valuestring, want) == 0)
                found = i;
        }
        cJSON_Delete(msgs);
        if (found < 0)
            dh_sleep_ms(100);
    }
    assert_true(found >= 0);                 /* the admin was answered */
    dh_sleep_ms(500);
    cJSON *msgs = wait_replies(w, 1, 0);
    n = cJSON_GetArraySize(msgs);
    assert_true(n <= 5 + 1);                 /* CMD_REFUSAL_BURST refusals and the admin's status */
    assert_non_null(strstr(content_of(msgs, found), "status"));
    cJSON_Delete(msgs);
    assert_int_equal(op8_sent(w), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* The edits the double received (PATCH /channels/{c}/messages/{m}). */
static cJSON *wait_edits(world *w, int n, int timeout_ms)
{
    for (int t = 0;; t += 100) {
        cJSON *e = fd_get(&w->fake, "/_control/edits");
        if (cJSON_GetArraySize(e) >= n || t >= timeout_ms)
            return e;
        cJSON_Delete(e);
        dh_sleep_ms(100);
    }
}

static const char *edit_content(const cJSON *edits, int i)
{
    const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(edits, i), "body"), "content");
    return cJSON_IsString(c) ? c->valuestring : "";
}

/* !cleanup_users right after !cleanup_test must wait for Discord's one
 * member list per guild per 30 s: it says so at once, a second command
 * hears where it stands, and the notice is edited into the result. */
static void waiting_sweep_says_so_then_edits(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_test");
    cJSON *msgs = wait_replies(w, 1, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    cJSON_Delete(msgs);
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    msgs = wait_replies(w, 2, 5000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_safe_reply(msgs, 1, id);
    assert_non_null(strstr(content_of(msgs, 1), "Discord allows one member list per server every 30 s; starting in"));
    const char *notice_id = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "id")->valuestring;
    char notice[32];
    snprintf(notice, sizeof notice, "%s", notice_id);
    cJSON_Delete(msgs);
    long long id2 = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    msgs = wait_replies(w, 3, 5000);
    assert_int_equal(cJSON_GetArraySize(msgs), 3);
    assert_safe_reply(msgs, 2, id2);
    assert_non_null(strstr(content_of(msgs, 2), "already queued"));
    assert_non_null(strstr(content_of(msgs, 2), "starting in"));
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, GUILD), 7);
    cJSON *edits = wait_edits(w, 1, 40000);
    assert_int_equal(cJSON_GetArraySize(edits), 1);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(edits, 0), "message_id")->valuestring, notice);
    assert_non_null(strstr(edit_content(edits, 0), "Sweep of this server finished"));
    assert_non_null(strstr(edit_content(edits, 0), "2 stale row(s) removed"));
    cJSON_Delete(edits);
    assert_int_equal(rows(w, GUILD), 5);
    msgs = wait_replies(w, 3, 0);
    assert_int_equal(cJSON_GetArraySize(msgs), 3);   /* the result was an edit, no new message */
    cJSON_Delete(msgs);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A queued sweep whose guild goes away (outage) still reports its outcome. */
static void queued_sweep_of_a_vanished_guild_reports(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_test");
    cJSON *msgs = wait_replies(w, 1, 15000);
    cJSON_Delete(msgs);
    say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    msgs = wait_replies(w, 2, 5000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_non_null(strstr(content_of(msgs, 1), "starting in"));
    cJSON_Delete(msgs);
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch",
                         "{\"t\":\"GUILD_DELETE\",\"d\":{\"id\":\"" GUILD "\",\"unavailable\":true}}"));
    cJSON *edits = wait_edits(w, 1, 5000);
    assert_int_equal(cJSON_GetArraySize(edits), 1);
    assert_non_null(strstr(edit_content(edits, 0), "did not complete"));
    assert_non_null(strstr(edit_content(edits, 0), "unavailable"));
    cJSON_Delete(edits);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static int backticks(const char *t)
{
    int n = 0;
    for (; *t; t++)
        n += *t == '`';
    return n;
}

/* `status` says when the next sweep is due (the daemon writes it), names
 * guilds, and shows the guard's suggested command whole, as does
 * !cleanup_status. */
static void status_names_guilds_and_next_sweep(void **state)
{
    world *w = *state;
    char out[16384];
    assert_int_equal(add_guild(w, "1000000000000000002", 6), 0);      /* 6 of 11 stale: the guard */
    assert_true(start_daemon(w, NULL));
    long long id = say(w, "1000000000000000002", GUILD_OWNER, "a", NULL, 0, "!cleanup_users");
    cJSON *msgs = wait_replies(w, 1, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "guard"));
    cJSON_Delete(msgs);
    id = say(w, "1000000000000000002", GUILD_OWNER, "a", NULL, 0, "!cleanup_status");
    msgs = wait_replies(w, 2, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    const char *st = content_of(msgs, 1);
    assert_non_null(strstr(st, "This server, Test (1000000000000000002)"));
    assert_non_null(strstr(st, "`!cleanup_users force`"));
    assert_int_equal(backticks(st) % 2, 0);
    cJSON_Delete(msgs);
    const char *args[] = { dh_bin("discord-cleaner"), "status", "--db", w->d.db, NULL };
    assert_int_equal(dh_run_cli(args, NULL, out, sizeof out), 0);
    const char *next = strstr(out, "next sweep");
    assert_non_null(next);
    assert_null(strstr(next, "not scheduled"));
    assert_non_null(strstr(next, "Z"));                  /* a UTC time */
    if (!strstr(out, "1000000000000000002  Test"))
        fprintf(stderr, "%s\n", out);
    assert_non_null(strstr(out, "1000000000000000002  Test"));
    assert_non_null(strstr(out, "`!cleanup_users force`"));
    assert_int_equal(backticks(out) % 2, 0);
    assert_int_equal(rows(w, "1000000000000000002"), 11);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* ---- per-server schedules (!cleanup_schedule, #17) ------------------------------ */

/* The admins' schedule of GUILD in the database becomes want (interval_ms,
 * -1 none): the commit may follow the reply by a moment on PostgreSQL. */
static int stored_interval_is(world *w, int64_t want)
{
    return dh_wait_db(w->d.db, "SELECT coalesce((SELECT interval_ms FROM cleaner_guild_schedule WHERE guild_id = "
                      GUILD "), -1)", want, 5000);
}

/* Say content as author and return the reply's text (malloc'd): the n-th message. */
static char *ask(world *w, const char *author, const char *role, const char *content, int n)
{
    long long id = say(w, GUILD, author, "b", role, 0, content);
    cJSON *msgs = wait_replies(w, n, 10000);
    char *text = NULL;
    if (cJSON_GetArraySize(msgs) >= n) {
        assert_safe_reply(msgs, n - 1, id);
        text = strdup(content_of(msgs, n - 1));
    }
    cJSON_Delete(msgs);
    assert_non_null(text);
    return text;
}

#define ASK_HAS(w, author, role, content, n, needle)                   \
    do {                                                              \
        char *t_ = ask(w, author, role, content, n);                  \
        if (!strstr(t_, needle))                                      \
            fprintf(stderr, "reply: %s\n", t_);                       \
        assert_non_null(strstr(t_, needle));                          \
        free(t_);                                                     \
    } while (0)

/* Set, show, bounds, a non-admin, status (chat and CLI), a restart, reset. */
static void schedule_set_show_and_survive_a_restart(void **state)
{
    world *w = *state;
    char out[16384];
    assert_true(start_daemon(w, NULL));
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule", 1, "Sweep interval: 24 h, the bot's default");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule 48", 2, "Saved: this server asks for a sweep every 48 h.");
    assert_true(stored_interval_is(w, 48LL * 3600000));
    assert_int_equal(dh_db_int(w->d.db, "SELECT set_by FROM cleaner_guild_schedule"), 1000000000000000102LL);
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule 0.5", 3, "must be a number of hours from 1 to 720");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule 721", 4, "nothing changed");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule often", 5, "not a number of hours");
    ASK_HAS(w, PLEB, NULL, "!cleanup_schedule 2", 6, "ADMINISTRATOR");
    assert_true(stored_interval_is(w, 48LL * 3600000));
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_status", 7, "Sweep interval: 48 h (set by this server's admins)");
    const char *args[] = { dh_bin("discord-cleaner"), "status", "--db", w->d.db, NULL };
    assert_int_equal(dh_run_cli(args, NULL, out, sizeof out), 0);
    const char *sec = strstr(out, "sweep schedules set by server admins");
    assert_non_null(sec);
    assert_non_null(strstr(sec, GUILD));
    assert_non_null(strstr(sec, "48 h  set by 1000000000000000102"));
    assert_true(restart_resumed(w));
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule", 8, "Sweep interval: 48 h, chosen by this server's admins");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule 1.5", 9, "every 1.5 h (1 h 30 min)");
    assert_true(stored_interval_is(w, 5400000));
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule default", 10, "own schedule is removed");
    assert_true(stored_interval_is(w, -1));
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule", 11, "24 h, the bot's default");
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* #17: with a grace period, status shows the pending departures and the
 * next due time, and !cleanup_test lists the pending members among what
 * would go (104 left: pending; its row and the stale ones stay). */
static void grace_pending_shown_by_status_and_test(void **state)
{
    world *w = *state;
    static const char *const more[] = { "--grace-hours", "24", NULL };
    assert_true(start_daemon(w, more));
    cJSON_Delete(fd_delete(&w->fake, "/_control/guilds/" GUILD "/members/1000000000000000104?event=1"));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_grace", 1, 5000));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_status");
    cJSON *msgs = wait_replies(w, 1, 10000);
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_safe_reply(msgs, 0, id);
    assert_non_null(strstr(content_of(msgs, 0), "Grace period: 24 h; pending departures: 1, next due "));
    /* a day away: 23 h 59 min, or 24 h 0 min when the status is read within
     * the millisecond clock of the mark */
    assert_true(strstr(content_of(msgs, 0), "(in 23 h 59 min") || strstr(content_of(msgs, 0), "(in 24 h 0 min"));
    cJSON_Delete(msgs);
    id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_test");
    msgs = wait_replies(w, 2, 15000);
    assert_int_equal(cJSON_GetArraySize(msgs), 2);
    assert_safe_reply(msgs, 1, id);
    const char *text = content_of(msgs, 1);
    assert_non_null(strstr(text, "3 of 7 rows would be removed"));
    assert_non_null(strstr(text, "Pending departures (grace period, rows kept until due): 1 member(s): "
                                 "1000000000000000104; next due "));
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, GUILD), 7);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* The operator's guild_interval beats the admins' choice: the command says
 * so, stores the choice anyway, and status shows the operator's. */
static void operator_guild_interval_overrides_and_says_so(void **state)
{
    world *w = *state;
    static const char *const op[] = { "--guild-interval", GUILD ":6", NULL };
    assert_true(start_daemon(w, op));
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule 48", 1, "It does not apply for now");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule", 2, "Sweep interval: 6 h, set for this server by the bot's operator");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule", 3, "admins asked for 48 h");
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_status", 4, "Sweep interval: 6 h (set by the bot's operator)");
    assert_true(stored_interval_is(w, 48LL * 3600000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A guild swept at start-up waits interval_hours (24 h) for its next sweep;
 * once its admins set 0.002 h (7.2 s) it is swept again about then. */
static void sweep_runs_on_the_new_schedule(void **state)
{
    world *w = *state;
    static const char *const fast[] = { "--reconcile-delay", "0", "--member-source", "rest",
                                        "--min-interval-hours", "0.001", NULL };
    assert_true(start_daemon(w, fast));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, 5, 15000));
    assert_int_equal(dh_db_exec(w->d.db, "INSERT INTO users(discord_id, guild_id) VALUES (1000000000000000950, "
                                         GUILD ")"), 0);
    dh_sleep_ms(1500);
    assert_int_equal(rows(w, GUILD), 6);      /* the next sweep is a day away */
    ASK_HAS(w, ADMIN, ADMIN_ROLE, "!cleanup_schedule 0.002", 1, "every 0.002 h (7.2 s)");
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, 5, 20000));
    assert_true(dh_log_count(&w->d, "scheduled sweep starting") >= 2);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* ---- progress of a prefix command's reply (#17) ------------------------------------ */

/* Index of the first message replying to command id, -1 when none; *count: how many do. */
static int reply_to(const cJSON *msgs, long long id, int *count)
{
    char want[32];
    int found = -1, n = 0;
    snprintf(want, sizeof want, "%lld", id);
    for (int i = 0; i < cJSON_GetArraySize(msgs); i++) {
        const cJSON *ref = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, i), "body"),
                                               "message_reference");
        const cJSON *mid = cJSON_GetObjectItem(ref, "message_id");
        if (cJSON_IsString(mid) && strcmp(mid->valuestring, want) == 0) {
            n++;
            if (found < 0)
                found = i;
        }
    }
    if (count)
        *count = n;
    return found;
}

/* The edits of message msg_id, once one contains final (or the timeout). */
static cJSON *edits_until(world *w, const char *msg_id, const char *final, int timeout_ms)
{
    for (int t = 0;; t += 100) {
        cJSON *all = fd_get(&w->fake, "/_control/edits"), *mine = cJSON_CreateArray();
        const cJSON *e;
        int done = 0;
        cJSON_ArrayForEach(e, all)
            if (strcmp(cJSON_GetObjectItem(e, "message_id")->valuestring, msg_id) == 0) {
                cJSON_AddItemToArray(mine, cJSON_Duplicate(e, 1));
                done |= strstr(edit_content(mine, cJSON_GetArraySize(mine) - 1), final) != NULL;
            }
        cJSON_Delete(all);
        if (done || t >= timeout_ms)
            return mine;
        cJSON_Delete(mine);
        dh_sleep_ms(100);
    }
}

/* !cleanup_users in a guild whose shard sweeps another guild first: the
 * reply says at once what it waits for, is edited with the sweep's figures
 * (at most one edit per 2 s) and ends with the summary. */
static void queued_sweep_reply_is_edited_with_progress(void **state)
{
    world *w = *state;
    static const char *const slow[] = { "--batch-size", "1", "--batch-delay", "1.5", NULL };
    const char *other = "1000000000000000002";
    assert_int_equal(add_guild(w, other, 2), 0);
    assert_int_equal(dh_db_exec(w->d.db, "INSERT INTO users(discord_id, guild_id) VALUES (1000000000000000903, "
                                         GUILD "), (1000000000000000904, " GUILD ")"), 0);    /* 4 of 9 stale */
    assert_true(start_daemon(w, slow));
    say(w, other, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    assert_true(dh_wait_log(&w->d, "requested sweep starting", 1, 10000));
    long long id = say(w, GUILD, ADMIN, "b", ADMIN_ROLE, 0, "!cleanup_users");
    int n = 0, at = -1;
    for (int t = 0; t < 1500 && at < 0; t += 100) {     /* at once: well within 2 s */
        cJSON *msgs = fd_get(&w->fake, "/_control/messages");
        at = reply_to(msgs, id, &n);
        cJSON_Delete(msgs);
        if (at < 0)
            dh_sleep_ms(100);
    }
    assert_true(at >= 0);
    cJSON *msgs = fd_get(&w->fake, "/_control/messages");
    assert_safe_reply(msgs, at, id);
    assert_non_null(strstr(content_of(msgs, at), "Sweep of this server queued."));
    assert_non_null(strstr(content_of(msgs, at), "Another server's sweep runs"));
    char notice[32];
    snprintf(notice, sizeof notice, "%s", cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, at), "id")->valuestring);
    double posted_at = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, at), "at_ms")->valuedouble;
    cJSON_Delete(msgs);
    cJSON *edits = edits_until(w, notice, "Sweep of this server finished", 40000);
    int k = cJSON_GetArraySize(edits), running = 0;
    assert_true(k >= 2);
    assert_non_null(strstr(edit_content(edits, k - 1), "4 stale row(s) removed"));
    double prev = posted_at;
    for (int i = 0; i < k; i++) {
        const cJSON *e = cJSON_GetArrayItem(edits, i);
        const cJSON *parse = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(e, "body"),
                                                                     "allowed_mentions"), "parse");
        assert_true(cJSON_IsArray(parse) && cJSON_GetArraySize(parse) == 0);
        double at_ms = cJSON_GetObjectItem(e, "at_ms")->valuedouble;
        if (i < k - 1) {             /* progress: one edit per 2 s at most */
            assert_non_null(strstr(edit_content(edits, i), "Sweep of this server running:"));
            running += strstr(edit_content(edits, i), "row(s) removed so far") != NULL;
            assert_true(at_ms - prev >= 1800);
        }
        prev = at_ms;
    }
    assert_true(running >= 1);
    cJSON_Delete(edits);
    msgs = fd_get(&w->fake, "/_control/messages");
    reply_to(msgs, id, &n);
    assert_int_equal(n, 1);          /* one message, edited: no new ones */
    cJSON_Delete(msgs);
    assert_int_equal(rows(w, GUILD), 5);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(users_command_sweeps_this_guild, setup, teardown_world),
        cmocka_unit_test_setup_teardown(test_command_deletes_nothing, setup, teardown_world),
        cmocka_unit_test_setup_teardown(non_admin_is_refused_once_and_nothing_runs, setup, teardown_world),
        cmocka_unit_test_setup_teardown(dm_and_bot_authors_are_ignored, setup, teardown_world),
        cmocka_unit_test_setup_teardown(all_guilds_is_for_bot_owners, setup, teardown_world),
        cmocka_unit_test_setup_teardown(second_command_reports_progress, setup, teardown_world),
        cmocka_unit_test_setup_teardown(reply_429_is_waited_out, setup, teardown_world),
        cmocka_unit_test_setup_teardown(long_reply_is_trimmed, setup, teardown_world),
        cmocka_unit_test_setup_teardown(commands_off_ignores_messages, setup, teardown_world),
        cmocka_unit_test_setup_teardown(resumed_session_commands_work, setup, teardown_world),
        cmocka_unit_test_setup_teardown(guild_delete_not_confirmed_keeps_roles, setup, teardown_world),
        cmocka_unit_test_setup_teardown(roles_unavailable_says_so, setup, teardown_world),
        cmocka_unit_test_setup_teardown(refusal_flood_is_capped, setup, teardown_world),
        cmocka_unit_test_setup_teardown(waiting_sweep_says_so_then_edits, setup, teardown_world),
        cmocka_unit_test_setup_teardown(queued_sweep_of_a_vanished_guild_reports, setup, teardown_world),
        cmocka_unit_test_setup_teardown(status_names_guilds_and_next_sweep, setup, teardown_world),
        cmocka_unit_test_setup_teardown(schedule_set_show_and_survive_a_restart, setup, teardown_world),
        cmocka_unit_test_setup_teardown(operator_guild_interval_overrides_and_says_so, setup, teardown_world),
        cmocka_unit_test_setup_teardown(sweep_runs_on_the_new_schedule, setup, teardown_world),
        cmocka_unit_test_setup_teardown(queued_sweep_reply_is_edited_with_progress, setup, teardown_world),
        cmocka_unit_test_setup_teardown(grace_pending_shown_by_status_and_test, setup, teardown_world),  /* #17 */
        cmocka_unit_test_setup_teardown(sighup_reloads_the_settings, setup, teardown_world),   /* #18 */
    };
    if (getenv("CMDS_ONLY"))         /* run one test while developing */
        cmocka_set_test_filter(getenv("CMDS_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
