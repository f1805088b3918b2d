/* test_notify.c - the daemon's sd_notify messages (src/daemon/notify_live.c),
 * read from a datagram socket of the test's own as systemd would hold it:
 * a path and an abstract name.  READY=1 only after the shards are READY,
 * STATUS= lines, WATCHDOG=1 at about WATCHDOG_USEC/2 that stop once the
 * double stops acknowledging heartbeats, RELOADING=1 + MONOTONIC_USEC then
 * READY=1 around SIGHUP, STOPPING=1 on SIGTERM. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "daemon_harness.h"
#include "fake_client.h"

#define GUILD "1000000000000000001"
#define MAX_MSGS 512

typedef struct {
    char text[512];
    int64_t at_ms;
} note;

typedef struct {
    fd_proc fake;
    dh_proc d;
    int sock;
    char addr[108];          /* what NOTIFY_SOCKET says */
    note msgs[MAX_MSGS];
    int n;
} world;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int time_factor(void)
{
    const char *f = getenv("TEST_TIME_FACTOR");
    return f && atoi(f) > 0 ? atoi(f) : 1;
}

/* Bind the socket systemd would hold: a path in the scratch dir or "@name". */
static int bind_notify(world *w, int abstract)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    socklen_t len;
    if (abstract) {
        snprintf(w->addr, sizeof w->addr, "@dc-itest-notify-%d", (int)getpid());
        memcpy(sa.sun_path, w->addr, strlen(w->addr));
        sa.sun_path[0] = '\0';
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(w->addr));
    } else {
        if (strlen(w->d.dir) + sizeof "/notify.sock" > sizeof sa.sun_path)
            return -1;
        memcpy(w->addr, w->d.dir, strlen(w->d.dir));
        strcat(w->addr, "/notify.sock");
        memcpy(sa.sun_path, w->addr, strlen(w->addr) + 1);
        len = sizeof sa;
    }
    w->sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    return w->sock >= 0 && bind(w->sock, (struct sockaddr *)&sa, len) == 0 ? 0 : -1;
}

static int setup_world(void **state, int abstract)
{
    world *w = calloc(1, sizeof *w);
    static const char *const fake_args[] = { "--heartbeat-interval", "300", NULL };
    w->sock = -1;
    if (!w || dh_init(&w->d) != 0 || fd_start(&w->fake, fake_args) != 0 || bind_notify(w, abstract) != 0) {
        if (w)
            dh_cleanup(&w->d);
        free(w);
        return -1;
    }
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds",
        "{\"id\":\"" GUILD "\",\"name\":\"Test\",\"owner_id\":\"1000000000000000101\","
        "\"members\":[{\"id\":\"1000000000000000101\",\"username\":\"a\"}]}"));
    dh_db_exec(w->d.db, "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT, "
                        "UNIQUE (discord_id, guild_id))");
    *state = w;
    return 0;
}

static int setup_path(void **state) { return setup_world(state, 0); }
static int setup_abstract(void **state) { return setup_world(state, 1); }

static int teardown_world(void **state)
{
    world *w = *state;
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    if (w->sock >= 0)
        close(w->sock);
    free(w);
    return 0;
}

/* Read what arrives for up to timeout_ms; returns how many came. */
static int drain(world *w, int timeout_ms)
{
    int got = 0;
    int64_t end = now_ms() + timeout_ms;
    for (int64_t left = timeout_ms; left > 0 && w->n < MAX_MSGS; left = end - now_ms()) {
        struct pollfd p = { .fd = w->sock, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0)
            break;
        ssize_t r = recv(w->sock, w->msgs[w->n].text, sizeof w->msgs[w->n].text - 1, 0);
        if (r < 0)
            break;
        w->msgs[w->n].text[r] = '\0';
        w->msgs[w->n++].at_ms = now_ms();
        got++;
    }
    return got;
}

/* Index of the first message from `from` on that contains needle; -1 when
 * none arrived within timeout_ms. */
static int wait_msg(world *w, int from, const char *needle, int timeout_ms)
{
    int64_t end = now_ms() + (int64_t)timeout_ms * time_factor();
    for (;;) {
        for (int i = from; i < w->n; i++)
            if (strstr(w->msgs[i].text, needle))
                return i;
        if (now_ms() >= end || w->n >= MAX_MSGS)
            return -1;
        drain(w, 50);
    }
}

static int count_since(const world *w, int from, const char *needle)
{
    int n = 0;
    for (int i = from; i < w->n; i++)
        n += strstr(w->msgs[i].text, needle) != NULL;
    return n;
}

static void start(world *w, const char *watchdog_usec, const char *watchdog_pid)
{
    char sock_env[160], wd_env[64], pid_env[64];
    snprintf(sock_env, sizeof sock_env, "NOTIFY_SOCKET=%s", w->addr);
    snprintf(wd_env, sizeof wd_env, "WATCHDOG_USEC=%s", watchdog_usec ? watchdog_usec : "");
    snprintf(pid_env, sizeof pid_env, "WATCHDOG_PID=%s", watchdog_pid ? watchdog_pid : "");
    const char *const env[] = { sock_env, wd_env, pid_env, NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, NULL, env), 0);
}

/* READY=1 comes after the shard's READY (the log says so first), with the
 * status saying what runs; SIGHUP: RELOADING=1 with a plausible
 * MONOTONIC_USEC, then READY=1; SIGTERM: STOPPING=1, last. */
static void lifecycle(void **state)
{
    world *w = *state;
    start(w, NULL, NULL);
    int first = wait_msg(w, 0, "STATUS=", 10000);
    assert_true(first >= 0);
    assert_string_equal(w->msgs[first].text, "STATUS=connecting");
    int ready = wait_msg(w, 0, "READY=1", 15000);
    assert_true(ready >= 0);
    assert_true(dh_log_count(&w->d, "READY") >= 1);          /* the shard was READY first */
    assert_non_null(strstr(w->msgs[ready].text, "STATUS=ready: 1 guild on shard 0"));
    assert_int_equal(count_since(w, 0, "READY=1"), 1);
    assert_int_equal(count_since(w, 0, "WATCHDOG=1"), 0);    /* no WATCHDOG_USEC: no pings */

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long before = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    int from = w->n;
    kill(w->d.pid, SIGHUP);
    int rel = wait_msg(w, from, "RELOADING=1", 5000);
    assert_true(rel >= 0);
    const char *mono = strstr(w->msgs[rel].text, "MONOTONIC_USEC=");
    assert_non_null(mono);
    long long usec = atoll(mono + strlen("MONOTONIC_USEC="));
    assert_true(usec >= before && usec < before + 10000000LL * time_factor());
    int again = wait_msg(w, rel + 1, "READY=1", 5000);
    assert_true(again > rel);

    from = w->n;
    kill(w->d.pid, SIGTERM);
    int stop = wait_msg(w, from, "STOPPING=1", 5000);
    assert_true(stop >= 0);
    assert_int_equal(dh_wait_exit(&w->d, 10000 * time_factor()), 0);
    drain(w, 100);
    assert_int_equal(count_since(w, stop + 1, "READY=1"), 0);
    assert_int_equal(count_since(w, stop + 1, "WATCHDOG=1"), 0);
    for (int i = 0; i < w->n; i++)
        print_message("notify %d: %s\n", i, w->msgs[i].text);
}

/* The same handshake over an abstract socket ("@name"). */
static void abstract_socket(void **state)
{
    world *w = *state;
    start(w, NULL, NULL);
    assert_true(wait_msg(w, 0, "READY=1", 15000) >= 0);
    int from = w->n;
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000 * time_factor()), 0);
    drain(w, 200);
    assert_true(count_since(w, from, "STOPPING=1") == 1);
}

/* Mean gap between WATCHDOG=1 pings from index from on; -1 when fewer than 3. */
static int64_t mean_gap(const world *w, int from, int *count)
{
    int64_t first = -1, last = -1;
    *count = 0;
    for (int i = from; i < w->n; i++)
        if (strstr(w->msgs[i].text, "WATCHDOG=1")) {
            if (first < 0)
                first = w->msgs[i].at_ms;
            last = w->msgs[i].at_ms;
            (*count)++;
        }
    return *count >= 3 ? (last - first) / (*count - 1) : -1;
}

/* WATCHDOG_USEC=400 ms: a ping about every 200 ms while the double
 * acknowledges heartbeats (300 ms interval); none once it stops (within two
 * intervals and a tick) while STATUS says the shard reconnects; pings
 * again once ACKs come back. */
static void watchdog_follows_heartbeat_acks(void **state)
{
    world *w = *state;
    start(w, "400000", NULL);
    int ready = wait_msg(w, 0, "READY=1", 15000);
    assert_true(ready >= 0);
    drain(w, 2000);
    int count;
    int64_t gap = mean_gap(w, ready, &count);
    print_message("watchdog: %d pings in 2 s after READY, mean gap %lld ms\n", count, (long long)gap);
    assert_true(count >= 5);
    assert_true(gap >= 150 && gap <= 300 * time_factor());

    cJSON_Delete(fd_post(&w->fake, "/_control/acks", "{\"enabled\":false}"));
    drain(w, 1500 * time_factor());                  /* 2 intervals + a tick to notice */
    int from = w->n;
    drain(w, 1500);
    assert_int_equal(count_since(w, from, "WATCHDOG=1"), 0);
    /* Unacknowledged beats: a zombie connection, dropped and reconnected. */
    assert_true(count_since(w, ready, "STATUS=reconnecting shard 0") >= 1);

    cJSON_Delete(fd_post(&w->fake, "/_control/acks", "{\"enabled\":true}"));
    assert_true(wait_msg(w, from, "WATCHDOG=1", 10000) >= 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000 * time_factor()), 0);
}

/* WATCHDOG_PID naming another process: the watchdog is not ours. */
static void watchdog_pid_of_another(void **state)
{
    world *w = *state;
    start(w, "400000", "1");
    int ready = wait_msg(w, 0, "READY=1", 15000);
    assert_true(ready >= 0);
    drain(w, 1000);
    assert_int_equal(count_since(w, 0, "WATCHDOG=1"), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000 * time_factor()), 0);
}

/* A sweep shows in STATUS= while it runs (1 row a batch, 0.5 s apart: the
 * 4 rows of users not in the guild keep it busy for 2 s), then "ready"
 * again.  The guard is off: 4 of 5 rows go. */
static void sweep_status(void **state)
{
    world *w = *state;
    char sql[128];
    for (int i = 101; i <= 105; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO users(discord_id, guild_id) VALUES (1000000000000000%d, %s)", i, GUILD);
        assert_int_equal(dh_db_exec(w->d.db, sql), 0);
    }
    char sock_env[160];
    snprintf(sock_env, sizeof sock_env, "NOTIFY_SOCKET=%s", w->addr);
    const char *const env[] = { sock_env, NULL };
    const char *const args[] = { "--reconcile-delay", "0", "--batch-size", "1", "--batch-delay", "0.5",
                                 "--max-delete-share", "1", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, args, env), 0);
    int sweeping = wait_msg(w, 0, "STATUS=sweeping guild Test (" GUILD ") ", 20000);
    for (int i = 0; i < w->n && sweeping < 0; i++)
        print_message("got: %s\n", w->msgs[i].text);
    if (sweeping < 0) {
        char *log = dh_read_file(w->d.log);
        for (char *line = log ? strtok(log, "\n") : NULL; line; line = strtok(NULL, "\n"))
            if (strstr(line, "sweep") || strstr(line, "reconcil"))
                print_message("%s\n", line);
        free(log);
    }
    assert_true(sweeping >= 0);
    print_message("%s\n", w->msgs[sweeping].text);
    assert_true(wait_msg(w, sweeping, "STATUS=ready: 1 guild on shard 0", 20000) > sweeping);
    assert_int_equal((int)dh_db_int(w->d.db, "SELECT COUNT(*) FROM users"), 1);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 10000 * time_factor()), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lifecycle, setup_path, teardown_world),
        cmocka_unit_test_setup_teardown(abstract_socket, setup_abstract, teardown_world),
        cmocka_unit_test_setup_teardown(watchdog_follows_heartbeat_acks, setup_path, teardown_world),
        cmocka_unit_test_setup_teardown(watchdog_pid_of_another, setup_path, teardown_world),
        cmocka_unit_test_setup_teardown(sweep_status, setup_path, teardown_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
