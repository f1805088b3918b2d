/* test_store_pg_coord_slow.c - the identify lock's connection opened
 * without waiting (store_identify_prepare, PostgreSQL): the store reaches
 * the server through a TCP proxy in this test that relays the first
 * connection (the store's own) at once and leaves the second (the identify
 * lock's) unaccepted in its backlog until told; meanwhile every
 * store_identify_lock answers "not got" at once instead of waiting up to
 * the connect's 5 s, and once the proxy accepts, the lock is got.  A lock
 * whose answer is held up is given up after the loop's answer wait.
 * Skipped without a cluster, failed under CI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "pg_fixture.h"
#include "store/store.h"

typedef struct {
    int listen_fd, server_port, port;
    volatile int accept_second, stop;
    int fds[4];                      /* client, server of the first; then of the second */
    int n;
    pthread_t thread;
} proxy;

static int connect_server(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void take_one(proxy *p)
{
    int c = accept(p->listen_fd, NULL, NULL);
    if (c < 0)
        return;
    p->fds[p->n++] = c;
    p->fds[p->n++] = connect_server(p->server_port);
}

/* Copies what one side sent to the other: -1 when it closed. */
static int relay(int from, int to)
{
    char buf[8192];
    ssize_t n = read(from, buf, sizeof buf);
    return n > 0 && write(to, buf, (size_t)n) == n ? 0 : -1;
}

static void *run(void *arg)
{
    proxy *p = arg;
    while (!p->stop) {
        struct pollfd f[5];
        int n = 0;
        for (int i = 0; i < p->n; i++)
            f[n++] = (struct pollfd){ .fd = p->fds[i], .events = POLLIN };
        int listening = p->n == 0 || (p->n == 2 && p->accept_second);
        if (listening)
            f[n++] = (struct pollfd){ .fd = p->listen_fd, .events = POLLIN };
        if (poll(f, (nfds_t)n, 20) <= 0)
            continue;
        for (int i = 0; i < p->n; i++)
            if (f[i].revents && relay(p->fds[i], p->fds[i ^ 1]) != 0)
                p->stop = 1;         /* a side closed: the test is over */
        if (listening && f[n - 1].revents)
            take_one(p);
    }
    return NULL;
}

static int proxy_start(proxy *p, int server_port)
{
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    *p = (proxy){ .server_port = server_port, .listen_fd = socket(AF_INET, SOCK_STREAM, 0) };
    if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(p->listen_fd, 8) != 0 || getsockname(p->listen_fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    p->port = ntohs(a.sin_port);
    return pthread_create(&p->thread, NULL, run, p);
}

static void proxy_stop(proxy *p)
{
    p->stop = 1;
    pthread_join(p->thread, NULL);
    for (int i = 0; i < p->n; i++)
        close(p->fds[i]);
    close(p->listen_fd);
}

/* uri with its host:port replaced by 127.0.0.1:port; the old port in *old. */
static void via_port(char *out, size_t cap, const char *uri, int port, int *old)
{
    const char *at = strrchr(uri, '@'), *colon = at ? strchr(at, ':') : NULL, *slash = colon ? strchr(colon, '/') : NULL;
    assert_non_null(slash);
    *old = atoi(colon + 1);
    snprintf(out, cap, "%.*s@127.0.0.1:%d%s", (int)(at - uri), uri, port, slash);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define CONNECT_MS 5000              /* the identify connection's own bound (store_pg_coord.c) */

static void a_slow_identify_connection_never_makes_the_lock_wait(void **state)
{
    (void)state;
    pgfx_need();
    char db[512], uri[600];
    int server_port;
    assert_int_equal(pgfx_fresh(db, sizeof db, "coordslow"), 0);
    proxy p;
    via_port(uri, sizeof uri, db, 0, &server_port);
    assert_int_equal(proxy_start(&p, server_port), 0);
    via_port(uri, sizeof uri, db, p.port, &server_port);
    store *s = NULL;
    char err[512] = "";
    store_opts o = { 0 };
    assert_int_equal(store_open(&s, uri, &o, err, sizeof err), DC_OK);
    assert_int_equal(store_identify_prepare(s), DC_OK);
    int got = -1;
    for (int i = 0; i < 5; i++) {        /* the connection is held in the proxy's backlog */
        int64_t t0 = mono_ms();
        assert_int_equal(store_identify_lock(s, 0, 0, &got), DC_OK);
        assert_int_equal(got, 0);
        assert_true(mono_ms() - t0 < CONNECT_MS);   /* answered, not waited out */
        usleep(100 * 1000);
    }
    p.accept_second = 1;
    for (int i = 0; i < 100 && !got; i++) {
        store_watch_info wi;
        store_watch(s, &wi);                        /* the loop's turn steps the connect too */
        assert_int_equal(store_identify_lock(s, 0, 0, &got), DC_OK);
        if (!got)
            usleep(20 * 1000);
    }
    assert_int_equal(got, 1);
    assert_int_equal(store_identify_unlock(s, 0), DC_OK);
    store_close(s);
    proxy_stop(&p);
    pgfx_drop("coordslow");
}

/* The identify lock asked while another session holds the table of
 * identify times (the lock's connection has no lock_timeout): with the
 * loop's answer wait set, the lock gives up after it -- "did not answer",
 * its connection closed -- instead of waiting for that session; once the
 * table is free the next tries connect again and get it. */
static void a_held_identify_table_gives_the_lock_up_after_the_answer_wait(void **state)
{
    (void)state;
    pgfx_need();
    char db[512];
    assert_int_equal(pgfx_fresh(db, sizeof db, "coordheld"), 0);
    store *s = NULL;
    char err[512] = "";
    store_opts o = { 0 };
    assert_int_equal(store_open(&s, db, &o, err, sizeof err), DC_OK);
    store_set_answer_wait(s, 100);
    assert_int_equal(store_identify_prepare(s), DC_OK);
    PGconn *other = pgfx_lock(db, "cleaner_identify_buckets");
    assert_non_null(other);
    int got = 0;
    dc_err rc = DC_OK;
    for (int i = 0; i < 250 && rc == DC_OK && !got; i++) {   /* connecting: "not got", asked again */
        store_watch_info wi;
        store_watch(s, &wi);
        rc = store_identify_lock(s, 1, 0, &got);
        if (rc == DC_OK && !got)
            usleep(20 * 1000);
    }
    assert_int_equal(rc, DC_ERR_DB);
    assert_int_equal(got, 0);
    assert_non_null(strstr(store_errmsg(s), "did not answer within 100 ms"));
    pgfx_unlock(other);
    for (int i = 0; i < 250 && !got; i++) {
        store_watch_info wi;
        store_watch(s, &wi);
        assert_int_equal(store_identify_lock(s, 1, 0, &got), DC_OK);
        if (!got)
            usleep(20 * 1000);
    }
    assert_int_equal(got, 1);
    assert_int_equal(store_identify_unlock(s, 1), DC_OK);
    store_close(s);
    pgfx_drop("coordheld");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_slow_identify_connection_never_makes_the_lock_wait),
        cmocka_unit_test(a_held_identify_table_gives_the_lock_up_after_the_answer_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
