#define _GNU_SOURCE                  /* strcasestr */
/* test_http.c - the daemon's HTTP endpoint (#18) against the loopback
 * double, through raw sockets (what a scraper, a browser or an attacker
 * sends): the probes, the method/path/auth rules and their status codes,
 * start-up refusals (exit 78), a slow client that does not starve others,
 * a burst of requests, and a gateway session that stays up meanwhile. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon_harness.h"
#include "fake_client.h"
#include "http_client.h"

#define GUILD "1000000000000000001"

typedef struct {
    fd_proc fake;
    dh_proc d;
    int port;                        /* the endpoint's */
} world;

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    static const char *const fake_args[] = { "--heartbeat-interval", "400", NULL };
    if (!w || dh_init(&w->d) != 0 || fd_start(&w->fake, fake_args) != 0)
        return -1;
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds",
        "{\"id\":\"" GUILD "\",\"name\":\"Test\",\"owner_id\":\"1000000000000000101\","
        "\"members\":[{\"id\":\"1000000000000000101\",\"username\":\"a\"}]}"));
    dh_db_exec(w->d.db, "CREATE TABLE users (discord_id BIGINT NOT NULL, guild_id BIGINT, username TEXT, "
                        "UNIQUE (discord_id, guild_id))");
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
    return 0;
}

static void start(world *w, const char *const extra[])
{
    const char *args[16] = { "--http-listen", "127.0.0.1:0" };
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    assert_int_equal(dh_start(&w->d, w->fake.port, args, NULL), 0);
    w->port = hc_endpoint_port(w->d.log, 10000);
    assert_true(w->port > 0);
    assert_true(dh_wait_log(&w->d, "-> READY", 1, 15000));
}

static void probes_and_rules(void **state)
{
    world *w = *state;
    char buf[8192];
    start(w, NULL);
    assert_int_equal(hc_get(w->port, "/healthz", NULL, buf, sizeof buf), 200);
    assert_string_equal(hc_body(buf), "ok\n");
    assert_non_null(strcasestr(buf, "cache-control: no-store"));
    assert_non_null(strcasestr(buf, "x-content-type-options: nosniff"));
    assert_int_equal(hc_get(w->port, "/readyz", NULL, buf, sizeof buf), 200);
    /* HEAD: the head only */
    assert_int_equal(hc_request(w->port, "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
                             sizeof buf), 200);
    assert_string_equal(hc_body(buf), "");
    /* other methods, unknown and hostile paths */
    assert_int_equal(hc_request(w->port, "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                             "Connection: close\r\n\r\nabc", buf, sizeof buf), 405);
    assert_non_null(strcasestr(buf, "allow: GET, HEAD"));
    assert_int_equal(hc_request(w->port, "DELETE /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", buf,
                             sizeof buf), 405);
    assert_int_equal(hc_get(w->port, "/nope", NULL, buf, sizeof buf), 404);
    assert_int_equal(hc_get(w->port, "/a%2e%2e/healthz", NULL, buf, sizeof buf), 400);
    int st = hc_get(w->port, "/../healthz/../../etc/passwd", NULL, buf, sizeof buf);
    assert_true(st == 400 || st == 404);
    /* a malformed request line: refused or closed, never served */
    st = hc_request(w->port, "GARBAGE\r\n\r\n", buf, sizeof buf);
    assert_true(st == 0 || st >= 400);
    assert_int_equal(hc_get(w->port, "/healthz", NULL, buf, sizeof buf), 200);
    /* the double stops acknowledging heartbeats: unhealthy, with a reason */
    cJSON_Delete(fd_post(&w->fake, "/_control/acks", "{\"enabled\":false}"));
    int unhealthy = 0;
    for (int i = 0; i < 60 && !unhealthy; i++) {
        dh_sleep_ms(100);
        unhealthy = hc_get(w->port, "/healthz", NULL, buf, sizeof buf) == 503;
    }
    assert_true(unhealthy);
    assert_non_null(strstr(hc_body(buf), "shard 0"));
    cJSON_Delete(fd_post(&w->fake, "/_control/acks", "{\"enabled\":true}"));
    int healthy = 0;
    for (int i = 0; i < 200 && !healthy; i++) {
        dh_sleep_ms(100);
        healthy = hc_get(w->port, "/healthz", NULL, buf, sizeof buf) == 200;
    }
    assert_true(healthy);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
}

static void token_required(void **state)
{
    world *w = *state;
    char buf[4096];
    static const char *const tok[] = { "--http-token", "s3cret-token", NULL };
    start(w, tok);
    assert_int_equal(hc_get(w->port, "/healthz", NULL, buf, sizeof buf), 401);
    assert_non_null(strcasestr(buf, "www-authenticate: Bearer"));
    assert_int_equal(hc_get(w->port, "/healthz", "Bearer s3cret-tokeN", buf, sizeof buf), 401);
    assert_int_equal(hc_get(w->port, "/healthz", "Bearer s3cret-toke", buf, sizeof buf), 401);
    assert_int_equal(hc_get(w->port, "/healthz", "Bearer s3cret-token2", buf, sizeof buf), 401);
    assert_int_equal(hc_get(w->port, "/healthz", "Basic s3cret-token", buf, sizeof buf), 401);
    assert_int_equal(hc_get(w->port, "/healthz", "Bearer s3cret-token", buf, sizeof buf), 200);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
    /* the token is a secret: never in the log */
    char *log = dh_read_file(w->d.log);
    assert_non_null(log);
    assert_null(strstr(log, "s3cret-token"));
    free(log);
}

/* Each refusal: exit 78 and one line naming the problem. */
static void refuses_to_start(void **state)
{
    world *w = *state;
    char api[128], out[4096];
    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", w->fake.port);
    int taken = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t al = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(taken, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(taken, 1), 0);
    getsockname(taken, (struct sockaddr *)&a, &al);
    char busy[64];
    snprintf(busy, sizeof busy, "127.0.0.1:%d", ntohs(a.sin_port));
    const char *const cases[][2] = { { "0.0.0.0:0", "not a loopback address" }, { busy, "cannot listen" },
                                     { "nonsense", "expected HOST:PORT" }, { "127.0.0.1:99999", "0 to 65535" } };
    static const char *const env[] = { "DISCORD_TOKEN=test-token", NULL };
    for (size_t i = 0; i < 4; i++) {
        const char *const args[] = { dh_bin("discord-cleaner"), "run", "--api-base", api, "--db", w->d.db,
                                     "--log-file", "", "--http-listen", cases[i][0], NULL };
        int st = dh_run_cli(args, env, out, sizeof out);
        if (st != 78 || !strstr(out, cases[i][1]))
            fail_msg("--http-listen %s: exit %d: %s", cases[i][0], st, out);
    }
    close(taken);
}

/* A client that sends its head one byte at a time does not hold up the
 * others, and is closed; a burst of requests is answered, each right; the
 * gateway session stays up (no reconnect) throughout. */
static void slow_client_and_burst(void **state)
{
    world *w = *state;
    char buf[4096];
    start(w, NULL);
    int slow = hc_connect(w->port);
    assert_true(slow >= 0);
    assert_int_equal(write(slow, "GET /heal", 9), 9);
    int ok = 0;
    for (int i = 0; i < 10000; i++)           /* the burst: 10,000 requests back to back */
        ok += hc_get(w->port, i % 2 ? "/healthz" : "/readyz", NULL, buf, sizeof buf) == 200;
    assert_int_equal(ok, 10000);
    /* the slow one gets nowhere: lws closes it within its header timeout */
    int closed = 0;
    for (int i = 0; i < 60 && !closed; i++) {
        char c = 'z';
        struct pollfd p = { .fd = slow, .events = POLLIN };
        if (poll(&p, 1, 500) > 0 && read(slow, buf, sizeof buf) <= 0)
            closed = 1;
        else if (send(slow, &c, 1, MSG_NOSIGNAL) < 0)
            closed = 1;
    }
    close(slow);
    assert_true(closed);
    assert_int_equal(dh_log_count(&w->d, "-> READY"), 1);        /* the session never dropped */
    assert_int_equal(dh_log_count(&w->d, "RESUMING"), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
}

/* More than HTTP_MAX_CONNECTIONS (64) open at once: the extra ones are
 * closed at once, the first 64 are served, and once they go a new one is
 * served again. */
static void connections_are_bounded(void **state)
{
    world *w = *state;
    char buf[4096];
    int socks[72], served = 0, refused = 0;
    start(w, NULL);
    for (int i = 0; i < 72; i++)
        socks[i] = hc_connect(w->port);
    dh_sleep_ms(300);
    int sent[72];
    for (int i = 0; i < 72; i++) {             /* all asked first: idle ones would time out */
        static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        sent[i] = socks[i] >= 0 && send(socks[i], req, sizeof req - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof req - 1);
    }
    for (int i = 0; i < 72; i++) {
        if (!sent[i]) {
            refused++;
            continue;
        }
        hc_read_all(socks[i], buf, sizeof buf, 2000);
        if (strncmp(buf, "HTTP/1.1 200", 12) == 0)
            served++;
        else
            refused++;
    }
    for (int i = 0; i < 72; i++)
        if (socks[i] >= 0)
            close(socks[i]);
    assert_int_equal(served, 64);
    assert_int_equal(refused, 8);
    int again = 0;
    for (int i = 0; i < 50 && !again; i++) {      /* the closes reach the daemon */
        dh_sleep_ms(100);
        again = hc_get(w->port, "/healthz", NULL, buf, sizeof buf) == 200;
    }
    assert_true(again);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
}

/* /api/stats: the deletions the daemon made, from the audit table, per
 * reason and hour; the guild with its name and rows; the shard. */
static void stats_counts_what_happened(void **state)
{
    world *w = *state;
    char buf[65536];
    dh_db_exec(w->d.db, "INSERT INTO users (discord_id, guild_id) VALUES (1000000000000000101, " GUILD "), "
                        "(1000000000000000102, " GUILD "), (1000000000000000103, " GUILD ")");
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds/" GUILD "/members",
                         "{\"members\":[{\"id\":\"1000000000000000102\",\"username\":\"b\"},"
                         "{\"id\":\"1000000000000000103\",\"username\":\"c\"}]}"));
    start(w, NULL);
    cJSON_Delete(fd_delete(&w->fake, "/_control/guilds/" GUILD "/members/1000000000000000102?event=1"));
    cJSON_Delete(fd_delete(&w->fake, "/_control/guilds/" GUILD "/members/1000000000000000103?event=1"));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users", 1, 15000));
    cJSON *j = NULL;
    for (int i = 0; i < 50; i++) {           /* the document is cached for 2 s */
        cJSON_Delete(j);
        assert_int_equal(hc_get(w->port, "/api/stats", NULL, buf, sizeof buf), 200);
        j = cJSON_Parse(hc_body(buf));
        assert_non_null(j);
        const cJSON *tot = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "deleted"), "totals_day");
        if (cJSON_GetObjectItem(tot, "member_remove")->valueint == 2)
            break;
        dh_sleep_ms(200);
    }
    assert_non_null(strcasestr(buf, "content-type: application/json"));
    const cJSON *deleted = cJSON_GetObjectItem(j, "deleted");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(deleted, "totals_day"), "member_remove")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(deleted, "totals_month"), "member_remove")->valueint, 2);
    const cJSON *hours = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(deleted, "day"), "series"),
                                             "member_remove");
    assert_int_equal(cJSON_GetArraySize(hours), 24);
    assert_int_equal(cJSON_GetArrayItem(hours, 23)->valueint, 2);            /* this hour */
    const cJSON *g = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "guilds"), 0);
    assert_string_equal(cJSON_GetObjectItem(g, "id")->valuestring, GUILD);
    assert_string_equal(cJSON_GetObjectItem(g, "name")->valuestring, "Test");
    assert_int_equal(cJSON_GetObjectItem(g, "rows")->valueint, 1);
    const cJSON *sh = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "shards"), 0);
    assert_string_equal(cJSON_GetObjectItem(sh, "state")->valuestring, "ready");
    assert_int_equal(cJSON_GetObjectItem(sh, "guilds")->valueint, 1);
    cJSON_Delete(j);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
}

/* The page's "last sweeps" come from the sweep history: two sweeps of one
 * guild are two rows, newest first, each with its own count (#18); the
 * second, asked for with `discord-cleaner sweep` beside the daemon, finds
 * nothing left. */
static void stats_lists_every_sweep(void **state)
{
    world *w = *state;
    char buf[65536], api[128], out[4096];
    dh_db_exec(w->d.db, "INSERT INTO users (discord_id, guild_id) VALUES (1000000000000000102, " GUILD "), "
                        "(1000000000000000103, " GUILD "), (1000000000000000199, " GUILD ")");
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds/" GUILD "/members",
                         "{\"members\":[{\"id\":\"1000000000000000102\",\"username\":\"b\"},"
                         "{\"id\":\"1000000000000000103\",\"username\":\"c\"}]}"));
    /* REST pages: a second member list of the guild need not wait out op 8's 30 s */
    static const char *const now[] = { "--reconcile-delay", "0", "--confirm-sample", "0",
                                       "--member-source", "rest", NULL };
    start(w, now);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_sweep_log", 1, 15000));
    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", w->fake.port);
    const char *argv[] = { dh_bin("discord-cleaner"), "sweep", "--guild", GUILD, "--api-base", api, "--db", w->d.db,
                           "--log-file", w->d.log, "--member-source", "rest", NULL };
    static const char *const env[] = { "DISCORD_TOKEN=test-token", NULL };
    assert_int_equal(dh_run_cli(argv, env, out, sizeof out), 0);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_sweep_log", 2, 15000));
    dh_sleep_ms(2100);                       /* past the document's 2 s cache */
    assert_int_equal(hc_get(w->port, "/api/stats", NULL, buf, sizeof buf), 200);
    cJSON *j = cJSON_Parse(hc_body(buf));
    assert_non_null(j);
    const cJSON *sweeps = cJSON_GetObjectItem(j, "sweeps");
    assert_int_equal(cJSON_GetArraySize(sweeps), 2);
    const cJSON *newest = cJSON_GetArrayItem(sweeps, 0), *first = cJSON_GetArrayItem(sweeps, 1);
    assert_string_equal(cJSON_GetObjectItem(newest, "guild")->valuestring, GUILD);
    assert_string_equal(cJSON_GetObjectItem(newest, "guild_name")->valuestring, "Test");
    assert_int_equal(cJSON_GetObjectItem(first, "removed")->valueint, 1);     /* 199 is no member */
    assert_int_equal(cJSON_GetObjectItem(newest, "removed")->valueint, 0);
    assert_true(strcmp(cJSON_GetObjectItem(newest, "at")->valuestring,
                       cJSON_GetObjectItem(first, "at")->valuestring) >= 0);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(newest, "dry_run")));
    assert_non_null(cJSON_GetObjectItem(newest, "started_at"));
    cJSON_Delete(j);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
}

/* A bot whose users table keeps ids as TEXT: its grouped read lists
 * "1000000000000000001" before "999999999999999999"; each guild still gets
 * its own row count on /api/stats. */
static void stats_rows_with_text_ids(void **state)
{
    world *w = *state;
    char buf[65536];
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds",
        "{\"id\":\"999999999999999999\",\"name\":\"Short\",\"owner_id\":\"1000000000000000101\","
        "\"members\":[{\"id\":\"1000000000000000101\",\"username\":\"a\"}]}"));
    dh_db_exec(w->d.db, "DROP TABLE users");
    dh_db_exec(w->d.db, "CREATE TABLE users (discord_id TEXT NOT NULL, guild_id TEXT, UNIQUE (discord_id, guild_id))");
    dh_db_exec(w->d.db, "INSERT INTO users (discord_id, guild_id) VALUES ('1000000000000000101', '" GUILD "'), "
                        "('1000000000000000101', '999999999999999999'), ('1000000000000000102', '999999999999999999')");
    start(w, NULL);
    assert_true(dh_wait_log(&w->d, "-> READY", 1, 15000));
    int seen = 0;
    for (int i = 0; i < 50 && seen < 2; i++) {
        assert_int_equal(hc_get(w->port, "/api/stats", NULL, buf, sizeof buf), 200);
        cJSON *j = cJSON_Parse(hc_body(buf));
        const cJSON *g;
        seen = 0;
        cJSON_ArrayForEach(g, cJSON_GetObjectItem(j, "guilds")) {
            const char *id = cJSON_GetObjectItem(g, "id")->valuestring;
            const cJSON *rows = cJSON_GetObjectItem(g, "rows");
            if (strcmp(id, GUILD) == 0 && cJSON_IsNumber(rows) && rows->valueint == 1)
                seen++;
            if (strcmp(id, "999999999999999999") == 0 && cJSON_IsNumber(rows) && rows->valueint == 2)
                seen++;
        }
        cJSON_Delete(j);
        if (seen < 2)
            dh_sleep_ms(300);                /* both guilds known, past the 2 s cache */
    }
    assert_int_equal(seen, 2);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(probes_and_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(token_required, setup, teardown),
        cmocka_unit_test_setup_teardown(refuses_to_start, setup, teardown),
        cmocka_unit_test_setup_teardown(slow_client_and_burst, setup, teardown),
        cmocka_unit_test_setup_teardown(stats_counts_what_happened, setup, teardown),
        cmocka_unit_test_setup_teardown(stats_lists_every_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(stats_rows_with_text_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(connections_are_bounded, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
