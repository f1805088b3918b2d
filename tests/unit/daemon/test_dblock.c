/* test_dblock.c - the side files of an SQLite database (dblock.h): daemons
 * of different shard ranges share the database, a second daemon of the
 * same range and a one-shot sweep beside a daemon are refused (with the
 * holder's line), and dblock_running finds every daemon with its range.
 * flock is per open file: the "other processes" here are other opens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "daemon/dblock.h"

static char dir[64], db[128];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dc-dblock-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof db, "%s/bot.db", dir);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void daemons_of_other_ranges_share_the_database(void **state)
{
    (void)state;
    int a[2], b[2], c[2], s = -1;
    char holder[96];
    assert_int_equal(dblock_take_run(db, "0-3/16", a, holder, sizeof holder), DBLOCK_TAKEN);
    assert_int_equal(dblock_take_run(db, "4-7/16", b, holder, sizeof holder), DBLOCK_TAKEN);
    assert_int_equal(dblock_take_run(db, "0-3/16", c, holder, sizeof holder), DBLOCK_HELD);
    char want[64];
    snprintf(want, sizeof want, "%ld run 0-3/16", (long)getpid());
    assert_string_equal(holder, want);
    assert_int_equal(c[0], -1);                          /* nothing kept of a refused take */
    assert_int_equal(c[1], -1);
    assert_int_equal(dblock_take(db, "sweep", &s, holder, sizeof holder), DBLOCK_HELD);

    dblock_daemon v[4];
    int n = dblock_running(db, v, 4);
    assert_int_equal(n, 2);
    int first = strcmp(v[0].range, "0-3/16") == 0 ? 0 : 1;
    assert_string_equal(v[first].range, "0-3/16");
    assert_string_equal(v[!first].range, "4-7/16");
    assert_int_equal(v[0].pid, (long)getpid());

    for (int i = 0; i < 2; i++) {
        dblock_release(&a[i]);
        dblock_release(&b[i]);
    }
    assert_int_equal(dblock_running(db, v, 4), 0);       /* the files stay, nobody holds them */
    assert_int_equal(dblock_take(db, "sweep", &s, holder, sizeof holder), DBLOCK_TAKEN);
    assert_int_equal(dblock_take_run(db, "all", c, holder, sizeof holder), DBLOCK_HELD);
    snprintf(want, sizeof want, "%ld sweep", (long)getpid());
    assert_string_equal(holder, want);
    dblock_release(&s);
    assert_int_equal(dblock_take_run(db, "all", c, holder, sizeof holder), DBLOCK_TAKEN);
    assert_int_equal(dblock_running(db, v, 4), 1);
    assert_string_equal(v[0].range, "all");
    dblock_release(&c[0]);
    dblock_release(&c[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(daemons_of_other_ranges_share_the_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
