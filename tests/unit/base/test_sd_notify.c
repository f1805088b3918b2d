/* test_sd_notify.c - base/sd_notify.c: silent without $NOTIFY_SOCKET, a
 * datagram to a path or an abstract name, bad addresses refused, never
 * blocking on a full receiver, WATCHDOG_USEC/WATCHDOG_PID honoured. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <cmocka.h>

#include "base/sd_notify.h"

/* A receiving socket at path ("@name": abstract); its descriptor. */
static int receiver(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t n = strlen(path);
    memcpy(sa.sun_path, path, n);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
    return fd;
}

static void unset_is_silent(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    assert_int_equal(sd_notify_send("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(sd_notify_send("READY=1"), 0);
}

static void path_and_abstract(void **state)
{
    (void)state;
    char path[64], abstract[64], buf[64];
    snprintf(path, sizeof path, "/tmp/dc-sdn-%d.sock", (int)getpid());
    snprintf(abstract, sizeof abstract, "@dc-sdn-%d", (int)getpid());
    unlink(path);
    const char *addrs[] = { path, abstract };
    for (int i = 0; i < 2; i++) {
        int fd = receiver(addrs[i]);
        setenv("NOTIFY_SOCKET", addrs[i], 1);
        assert_int_equal(sd_notify_send("READY=1\nSTATUS=ok"), 1);
        ssize_t r = recv(fd, buf, sizeof buf - 1, 0);
        assert_int_equal(r, 17);
        buf[r] = '\0';
        assert_string_equal(buf, "READY=1\nSTATUS=ok");
        close(fd);
    }
    unlink(path);
}

static void bad_addresses(void **state)
{
    (void)state;
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    const char *bad[] = { "relative.sock", "@", "/", longpath };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        errno = 0;
        assert_int_equal(sd_notify_send("READY=1"), -1);
        assert_int_equal(errno, EINVAL);
    }
    setenv("NOTIFY_SOCKET", "/nonexistent/dir/notify.sock", 1);
    assert_int_equal(sd_notify_send("READY=1"), -1);
}

/* A receiver that never reads: its queue fills and sends fail at once. */
static void full_receiver_never_blocks(void **state)
{
    (void)state;
    char name[64];
    snprintf(name, sizeof name, "@dc-sdn-full-%d", (int)getpid());
    int fd = receiver(name);
    setenv("NOTIFY_SOCKET", name, 1);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int failed = 0;
    for (int i = 0; i < 5000 && !failed; i++)
        failed = sd_notify_send("WATCHDOG=1") < 0;
    clock_gettime(CLOCK_MONOTONIC, &b);
    assert_true(failed);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    assert_true(b.tv_sec - a.tv_sec < 5);
    close(fd);
}

static void watchdog_settings(void **state)
{
    (void)state;
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
    assert_int_equal(sd_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "30000000", 1);
    assert_int_equal(sd_notify_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", pid, 1);
    assert_int_equal(sd_notify_watchdog_usec(), 30000000);
    setenv("WATCHDOG_PID", "1", 1);
    assert_int_equal(sd_notify_watchdog_usec(), 0);
    unsetenv("WATCHDOG_PID");
    setenv("WATCHDOG_USEC", "12x", 1);
    assert_int_equal(sd_notify_watchdog_usec(), 0);
    setenv("WATCHDOG_USEC", "-5", 1);
    assert_int_equal(sd_notify_watchdog_usec(), 0);
    int64_t m1 = sd_notify_monotonic_usec(), m2 = sd_notify_monotonic_usec();
    assert_true(m1 > 0 && m2 >= m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unset_is_silent),
        cmocka_unit_test(path_and_abstract),
        cmocka_unit_test(bad_addresses),
        cmocka_unit_test(full_receiver_never_blocks),
        cmocka_unit_test(watchdog_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
