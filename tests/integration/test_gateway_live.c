/* test_gateway_live.c - the real daemon against the loopback double:
 * connection, heartbeats, every reconnect path, fatal close codes, restart
 * with a persisted session, malformed frames, two shards. */
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
#define GUILD_N 1000000000000000001LL

typedef struct {
    fd_proc fake;
    dh_proc d;
} world;

static int teardown_world(void **state)
{
    world *w = *state;
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
    return 0;
}

/* A fake with one guild of 5 members (ids ...101-...105) and a database
 * holding their rows. */
static int setup_world(void **state, const char *const fake_args[])
{
    world *w = calloc(1, sizeof *w);
    if (!w || dh_init(&w->d) != 0 || fd_start(&w->fake, fake_args) != 0) {
        if (w)
            dh_cleanup(&w->d);
        free(w);
        return -1;
    }
    cJSON *r = fd_post(&w->fake, "/_control/guilds",
        "{\"id\":\"" GUILD "\",\"name\":\"Test\",\"owner_id\":\"1000000000000000101\","
        "\"members\":[{\"id\":\"1000000000000000101\",\"username\":\"a\"},{\"id\":\"1000000000000000102\",\"username\":\"b\"},"
        "{\"id\":\"1000000000000000103\",\"username\":\"c\"},{\"id\":\"1000000000000000104\",\"username\":\"d\"},"
        "{\"id\":\"1000000000000000105\",\"username\":\"e\"}]}");
    cJSON_Delete(r);
    /* The bot's own table, as the bot creates it; the daemon adds the rest. */
    char sql[2048] = "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT, "
                     "UNIQUE (discord_id, guild_id)); BEGIN;";
    for (int i = 101; i <= 105; i++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
                 "INSERT INTO users(discord_id, guild_id, username) VALUES (1000000000000000%d, %lld, 'u%d');",
                 i, GUILD_N, i);
    strcat(sql, "COMMIT;");
    if (dh_db_exec(w->d.db, sql) != 0) {
        *state = w;
        teardown_world(state);
        return -1;
    }
    *state = w;
    return 0;
}

static int setup_plain(void **state) { return setup_world(state, NULL); }
static int setup_fast_beats(void **state)
{
    static const char *const args[] = { "--heartbeat-interval", "300", NULL };
    return setup_world(state, args);
}


static int rows_in_guild(world *w)
{
    return (int)dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = 1000000000000000001");
}

/* Count gateway sends of one opcode (optionally since index). */
static int sent_ops(world *w, int op)
{
    cJSON *s = fd_get(&w->fake, "/_control/sent");
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, s) {
        const cJSON *o = cJSON_GetObjectItem(e, "op");
        n += cJSON_IsNumber(o) && o->valueint == op;
    }
    cJSON_Delete(s);
    return n;
}

static int wait_sent_ops(world *w, int op, int n, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 50) {
        if (sent_ops(w, op) >= n)
            return 1;
        dh_sleep_ms(50);
    }
    return 0;
}

static int start_daemon(world *w, const char *const args[])
{
    if (dh_start(&w->d, w->fake.port, args, NULL) != 0)
        return 0;
    return wait_sent_ops(w, 2, 1, 10000) && dh_wait_log(&w->d, "READY", 1, 10000);
}

static void remove_member(world *w, const char *uid, int event)
{
    char path[256];
    snprintf(path, sizeof path, "/_control/guilds/" GUILD "/members/%s?event=%d", uid, event);
    cJSON_Delete(fd_delete(&w->fake, path));
}

/* A ws:// loopback session never sets up TLS (wsctx.h): the TLS client
 * context is made, and logged, only for the first wss:// connection. */
static void ws_loopback_never_creates_tls(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    assert_int_equal(dh_log_count(&w->d, "connecting to ws://"), 1);
    assert_int_equal(dh_log_count(&w->d, "TLS client context"), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
    assert_int_equal(dh_log_count(&w->d, "TLS client context"), 0);
}

static void identify_carries_intents_and_no_token(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON *s = fd_get(&w->fake, "/_control/sent");
    const cJSON *e, *ident = NULL;
    cJSON_ArrayForEach(e, s)
        if (cJSON_GetObjectItem(e, "op")->valueint == 2)
            ident = cJSON_GetObjectItem(e, "d");
    assert_non_null(ident);
    /* GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | MESSAGE_CONTENT (commands on) */
    assert_int_equal(cJSON_GetObjectItem(ident, "intents")->valueint, 33283);
    cJSON_Delete(s);
    /* member leaves online: the row goes */
    remove_member(w, "1000000000000000105", 1);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = 1000000000000000001", 4, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    /* the token is in no log line */
    assert_int_equal(dh_log_count(&w->d, "test-token"), 0);
}

static void works_without_compression(void **state)
{
    world *w = *state;
    static const char *const args[] = { "--compress", "none", NULL };
    assert_true(start_daemon(w, args));
    assert_int_equal(dh_log_count(&w->d, "compress=zlib-stream"), 0);
    remove_member(w, "1000000000000000104", 1);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000104", 0, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void heartbeats_follow_the_interval(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    assert_true(wait_sent_ops(w, 1, 4, 5000));      /* 300 ms interval */
    cJSON *s = fd_get(&w->fake, "/_control/sent");
    const cJSON *e, *last = NULL;
    cJSON_ArrayForEach(e, s)
        if (cJSON_GetObjectItem(e, "op")->valueint == 1)
            last = cJSON_GetObjectItem(e, "d");
    /* after READY + GUILD_CREATE the beat carries a sequence number */
    assert_true(cJSON_IsNumber(last) && last->valueint >= 2);
    cJSON_Delete(s);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void zombie_connection_resumes(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/acks", "{\"enabled\":false}"));
    assert_true(wait_sent_ops(w, 6, 1, 5000));      /* RESUME on a new connection */
    cJSON_Delete(fd_post(&w->fake, "/_control/acks", "{\"enabled\":true}"));
    assert_int_equal(sent_ops(w, 2), 1);            /* no second IDENTIFY */
    assert_true(dh_wait_log(&w->d, "zombie", 1, 1000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void dropped_connection_resumes_and_replays(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/close", "{\"drop\":true}"));
    /* removed while the daemon is disconnected: replayed on RESUME */
    remove_member(w, "1000000000000000103", 1);
    assert_true(wait_sent_ops(w, 6, 1, 8000));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000103", 0, 8000));
    assert_int_equal(rows_in_guild(w), 4);
    assert_int_equal(sent_ops(w, 2), 1);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void op7_reconnects_and_resumes(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":7}"));
    assert_true(wait_sent_ops(w, 6, 1, 8000));
    assert_int_equal(sent_ops(w, 2), 1);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* READY names a resume URL the daemon will not use (plain ws:// to a remote
 * host; nothing is ever sent there): op 7, then a restart with that URL
 * saved, each end in a fresh IDENTIFY at the gateway URL, never exit 78. */
static void refused_resume_url_identifies(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"resume_gateway_url\":\"ws://resume.invalid/gateway\"}"));
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":7}"));
    assert_true(wait_sent_ops(w, 2, 2, 8000));
    assert_true(dh_wait_log(&w->d, "resume_gateway_url ws://resume.invalid/gateway refused", 1, 5000));
    assert_true(dh_wait_log(&w->d, "READY", 2, 5000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    /* The URL is saved with the session: the restart must not exit 78. */
    assert_int_equal(dh_start(&w->d, w->fake.port, NULL, NULL), 0);
    assert_true(wait_sent_ops(w, 2, 3, 8000));
    assert_int_equal(sent_ops(w, 6), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A resume URL nobody listens on: one failed connect, then RESUME at the
 * gateway URL (the session survives). */
static void unreachable_resume_url_falls_back(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"resume_gateway_url\":\"ws://127.0.0.1:1/gateway\"}"));
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":7}"));
    assert_true(wait_sent_ops(w, 6, 1, 10000));
    assert_int_equal(sent_ops(w, 2), 1);
    assert_true(dh_log_count(&w->d, "could not connect to resume_gateway_url") >= 1);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A resume URL with a host *name*: looked up in the background (the
 * connect waits for the address, the loop does not), then RESUME there,
 * the session kept -- the path every real Discord host takes. */
static void resume_url_by_name_is_looked_up(void **state)
{
    world *w = *state;
    char body[128];
    snprintf(body, sizeof body, "{\"resume_gateway_url\":\"ws://localhost:%d/gateway\"}", w->fake.port);
    cJSON_Delete(fd_post(&w->fake, "/_control/config", body));
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":7}"));
    assert_true(wait_sent_ops(w, 6, 1, 10000));
    assert_int_equal(sent_ops(w, 2), 1);                          /* the session survived */
    assert_true(dh_wait_log(&w->d, "resolve: localhost is 127.0.0.1 (looked up in", 1, 5000));
    assert_true(dh_wait_log(&w->d, "connecting to ws://localhost:", 1, 5000));
    assert_true(dh_wait_log(&w->d, "RESUMED", 1, 5000));
    assert_int_equal(dh_log_count(&w->d, "could not connect to resume_gateway_url"), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* A field of /proc/PID/status in kB (VmRSS, VmHWM); -1 when unreadable. */
static long proc_kb(pid_t pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* A 62 MB dispatch `[0,0,...]` (well under the 64 MiB byte cap; ~60 KB
 * compressed) made 2.5 GB of cJSON nodes and the RSS stayed there.  It is
 * refused unparsed, the session starts over, the memory is given back and
 * departures are still applied. */
static void costly_message_refused_memory_returned(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    long base = proc_kb(w->d.pid, "VmRSS");
    assert_true(base > 0);
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch", "{\"t\":\"X_BIG\",\"d_zeros\":31000000}"));
    assert_true(dh_wait_log(&w->d, "JSON values", 1, 30000));
    assert_true(dh_wait_log(&w->d, "READY: new session", 2, 30000));
    long peak = proc_kb(w->d.pid, "VmHWM"), after = proc_kb(w->d.pid, "VmRSS");
    print_message("RSS %ld kB before, peak %ld kB, %ld kB after\n", base, peak, after);
    assert_true(peak < 512 * 1024);
#if !defined(__SANITIZE_ADDRESS__)   /* ASan's allocator holds freed memory in quarantine */
    assert_true(after < base + 32 * 1024);
#endif
    remove_member(w, "1000000000000000103", 1);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000103", 0, 8000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* The running daemon's /proc/PID/environ no longer holds the token (read
 * from DISCORD_TOKEN and CLEANER_TOKEN).  Unreadable counts as hidden: a
 * non-dumpable process's environ is root's alone. */
static void token_gone_from_proc_environ(void **state)
{
    world *w = *state;
    static const char *const env[] = { "CLEANER_TOKEN=test-token", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, NULL, env), 0);
    assert_true(wait_sent_ops(w, 2, 1, 10000));
    char path[64], buf[65536];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)w->d.pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f)
        fclose(f);
    assert_true(n > 0 || !f);
    for (size_t i = 0; i + 10 <= n; i++)          /* the bytes hold NULs: no strstr */
        assert_memory_not_equal(buf + i, "test-token", 10);
    for (size_t i = 0; i + 15 <= n; i++)
        assert_memory_not_equal(buf + i, "DISCORD_TOKEN=t", 15);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void op9_true_resumes_false_identifies(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":9,\"d\":true}"));
    assert_true(wait_sent_ops(w, 6, 1, 8000));
    cJSON_Delete(fd_post(&w->fake, "/_control/op", "{\"op\":9,\"d\":false}"));
    assert_true(wait_sent_ops(w, 2, 2, 12000));     /* waits 1-5 s, then a fresh IDENTIFY */
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void bad_token_exits_77(void **state)
{
    world *w = *state;
    static const char *const env[] = { "DISCORD_TOKEN=wrong-token-value", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, NULL, env), 0);
    int st = dh_wait_exit(&w->d, 10000);
    assert_int_equal(st, 77);
    assert_true(dh_log_count(&w->d, "token") >= 1);
    assert_int_equal(dh_log_count(&w->d, "wrong-token-value"), 0);
}

static void close_4004_exits_77(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/close", "{\"code\":4004}"));
    assert_int_equal(dh_wait_exit(&w->d, 10000), 77);
    assert_true(dh_log_count(&w->d, "authentication failed") >= 1);
}

static void disallowed_intents_exit_78(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/config", "{\"enabled_intents\":1}"));
    assert_int_equal(dh_start(&w->d, w->fake.port, NULL, NULL), 0);
    assert_int_equal(dh_wait_exit(&w->d, 10000), 78);
    assert_true(dh_log_count(&w->d, "Developer Portal") >= 1);
}

static void restart_resumes_persisted_session(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    remove_member(w, "1000000000000000102", 1);     /* while the daemon is stopped */
    assert_int_equal(dh_start(&w->d, w->fake.port, NULL, NULL), 0);
    assert_true(wait_sent_ops(w, 6, 1, 8000));
    assert_int_equal(sent_ops(w, 2), 1);            /* resumed, not re-identified */
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000102", 0, 8000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void gateway_bot_429_is_waited_out(void **state)
{
    world *w = *state;
    cJSON_Delete(fd_post(&w->fake, "/_control/ratelimit",
                         "{\"route\":\"/api/v10/gateway/bot\",\"count\":1,\"retry_after\":0.5,\"global\":false}"));
    assert_true(start_daemon(w, NULL));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void malformed_frames_are_survived(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w, NULL));
    cJSON_Delete(fd_post(&w->fake, "/_control/raw", "{\"data\":\"this is not json\"}"));
    cJSON_Delete(fd_post(&w->fake, "/_control/raw", "{\"data\":\"{\\\"op\\\":\\\"zero\\\",\\\"d\\\":[]}\"}"));
    cJSON_Delete(fd_post(&w->fake, "/_control/raw", "{\"data\":\"{\\\"op\\\":99,\\\"d\\\":null}\"}"));
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch",
                         "{\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"" GUILD "\",\"user\":null}}"));
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch",
                         "{\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":12,\"user\":{\"id\":[1]}}}"));
    cJSON_Delete(fd_post(&w->fake, "/_control/raw", "{\"corrupt_zlib\":true}"));
    /* after all that, still alive and still deleting correctly */
    remove_member(w, "1000000000000000101", 1);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000101", 0, 10000));
    assert_int_equal(rows_in_guild(w), 4);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

static void two_shards_in_one_process(void **state)
{
    world *w = *state;
    static const char *const args[] = { "--shards", "0-1/2", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, args, NULL), 0);
    assert_true(wait_sent_ops(w, 2, 2, 15000));     /* identifies respect max_concurrency 1 per 5 s */
    cJSON *st = fd_get(&w->fake, "/_control/state");
    const cJSON *sessions = cJSON_GetObjectItem(st, "sessions");
    int shards_seen = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, sessions)
        shards_seen |= 1 << cJSON_GetArrayItem(cJSON_GetObjectItem(s, "shard"), 0)->valueint;
    assert_int_equal(shards_seen, 3);
    cJSON_Delete(st);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
}

/* `run --record FILE` in a process of two shards writes FILE.shard0 and
 * FILE.shard1, each a fixture of its own shard with the REST answers; the
 * file of the guild's shard (1) replays its departure. */
static void record_writes_every_shard(void **state)
{
    world *w = *state;
    char rec[400], copy[400], path[420], cmd[1600];
    snprintf(rec, sizeof rec, "%s/session.jsonl", w->d.dir);
    snprintf(copy, sizeof copy, "%s/before.db", w->d.dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", w->d.db, copy);
    assert_int_equal(system(cmd), 0);
    const char *const args[] = { "--shards", "0-1/2", "--record", rec, "--record-decoded", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, args, NULL), 0);
    assert_true(wait_sent_ops(w, 2, 2, 15000));
    assert_true(dh_wait_log(&w->d, "READY: new session", 2, 10000));
    remove_member(w, "1000000000000000102", 1);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000102", 0, 8000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);

    for (int shard = 0; shard < 2; shard++) {
        snprintf(path, sizeof path, "%s.shard%d", rec, shard);
        char *text = dh_read_file(path), want[32];
        assert_non_null(text);
        snprintf(want, sizeof want, "\"shard\":[%d,2]", shard);
        assert_non_null(strstr(text, want));
        assert_non_null(strstr(text, "\"READY\""));
        assert_non_null(strstr(text, "\"k\":\"rest\""));
        assert_true((strstr(text, "\"GUILD_MEMBER_REMOVE\"") != NULL) == (shard == 1));
        assert_null(strstr(text, "test-token"));
        free(text);
    }
    snprintf(cmd, sizeof cmd, "%s replay %s.shard1 --db %s >/dev/null 2>&1", dh_bin("discord-cleaner"), rec, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(dh_db_int(copy, "SELECT COUNT(*) FROM users WHERE discord_id = 1000000000000000102"), 0);
    assert_int_equal(dh_db_int(copy, "SELECT COUNT(*) FROM users"), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(identify_carries_intents_and_no_token, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(ws_loopback_never_creates_tls, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(works_without_compression, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(heartbeats_follow_the_interval, setup_fast_beats, teardown_world),
        cmocka_unit_test_setup_teardown(zombie_connection_resumes, setup_fast_beats, teardown_world),
        cmocka_unit_test_setup_teardown(dropped_connection_resumes_and_replays, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(op7_reconnects_and_resumes, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(refused_resume_url_identifies, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(unreachable_resume_url_falls_back, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(resume_url_by_name_is_looked_up, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(costly_message_refused_memory_returned, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(token_gone_from_proc_environ, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(op9_true_resumes_false_identifies, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(bad_token_exits_77, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(close_4004_exits_77, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(disallowed_intents_exit_78, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(restart_resumes_persisted_session, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(gateway_bot_429_is_waited_out, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(malformed_frames_are_survived, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(two_shards_in_one_process, setup_plain, teardown_world),
        cmocka_unit_test_setup_teardown(record_writes_every_shard, setup_plain, teardown_world),
    };
    if (getenv("GW_ONLY"))           /* run one test while developing */
        cmocka_set_test_filter(getenv("GW_ONLY"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
