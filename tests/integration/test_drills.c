/* test_drills.c - fault drills: the real daemon against the double while
 * things go wrong.  The bot holds the write lock for seconds; SIGKILL at
 * (seeded) random points of bursts, ten times; the connection flaps under a
 * steady event stream; an oversized frame; a plain-text non-loopback URL.
 * Each drill ends with the database exact and the token absent from every
 * file the run produced. */
#define _GNU_SOURCE     /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "daemon_harness.h"
#include "fake_client.h"

#define GUILD "1000000000000000001"
#define GUILD_N 1000000000000000001ULL
#define FIRST 2000000000000000000ULL
#define MEMBERS 400

typedef struct {
    fd_proc fake;
    dh_proc d;
    char fs[280];                    /* a small tmpfs holding the database ("" when none) */
    char no_fs[160];                 /* why the tmpfs could not be had (the drill skips) */
} world;

/* Nothing the run produced (log, database, WAL, shm, migration backups,
 * anything else in the scratch dir) holds the token. */
static void assert_no_token(const world *w)
{
    assert_int_equal(dh_tree_count(w->d.dir, "test-token"), 0);
}

static int teardown_world(void **state)
{
    world *w = *state;
    dh_stop(&w->d, SIGKILL, 5000);
    if (w->fs[0])
        umount2(w->fs, MNT_DETACH);
    dh_cleanup(&w->d);
    fd_stop(&w->fake);
    free(w);
    return 0;
}

/* A 2 MB tmpfs in a mount namespace of this test process (the daemon and
 * the double inherit it).  Needs CAP_SYS_ADMIN (root in CI); otherwise
 * w->no_fs says why and the drill skips. */
static void mount_small_fs(world *w)
{
    snprintf(w->fs, sizeof w->fs, "%s/fs", w->d.dir);
    if (mkdir(w->fs, 0700) != 0 || unshare(CLONE_NEWNS) != 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", w->fs, "tmpfs", 0, "size=2m,mode=0700") != 0) {
        snprintf(w->no_fs, sizeof w->no_fs, "cannot mount a tmpfs (%s): disk-full drill skipped",
                 strerror(errno));
        w->fs[0] = '\0';
        return;
    }
    snprintf(w->d.db, sizeof w->d.db, "%s/bot.db", w->fs);
}

static int make_world(void **state, int small_fs)
{
    static const char *const fake_args[] = { "--heartbeat-interval", "300", NULL };
    world *w = calloc(1, sizeof *w);
    if (!w || dh_init(&w->d) != 0 || fd_start(&w->fake, fake_args) != 0) {
        if (w)
            dh_cleanup(&w->d);
        free(w);
        return -1;
    }
    *state = w;
    if (small_fs) {
        mount_small_fs(w);
        if (w->no_fs[0])
            return 0;
    }
    char body[256];
    snprintf(body, sizeof body, "{\"id\":\"" GUILD "\",\"name\":\"Drill\",\"generate\":{\"count\":%d}}", MEMBERS);
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds", body));
    sqlite3 *h;
    sqlite3_stmt *st;
    sqlite3_open(w->d.db, &h);
    sqlite3_exec(h, "CREATE TABLE users (discord_id INTEGER NOT NULL, guild_id INTEGER, username TEXT, "
                    "UNIQUE (discord_id, guild_id)); BEGIN;", NULL, NULL, NULL);
    sqlite3_prepare_v2(h, "INSERT INTO users VALUES (?1, ?2, 'u')", -1, &st, NULL);
    for (int i = 0; i < MEMBERS; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(FIRST + (uint64_t)i));
        sqlite3_bind_int64(st, 2, (sqlite3_int64)GUILD_N);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    int rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(h);
    return rc == SQLITE_OK ? 0 : -1;
}

static int setup_world(void **state)
{
    return make_world(state, 0);
}

static int setup_small_fs_world(void **state)
{
    return make_world(state, 1);
}

static int64_t rows(const world *w)
{
    return dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD);
}

/* Waits for this start's READY: the log keeps the earlier starts' lines, and
 * a SIGTERM before the new process has its handler kills it (exit 143). */
static int start_daemon_args(world *w, const char *const args[])
{
    int before = dh_log_count(&w->d, "READY");
    return dh_start(&w->d, w->fake.port, args, NULL) == 0 && dh_wait_log(&w->d, "READY", before + 1, 10000);
}

static int start_daemon(world *w)
{
    return start_daemon_args(w, NULL);
}

/* The bot's connection holding the write lock (BEGIN IMMEDIATE), once the
 * daemon has written its guild state. */
static sqlite3 *bot_lock(world *w)
{
    sqlite3 *h;
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_guild_state", 1, 5000));
    assert_int_equal(sqlite3_open(w->d.db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    return h;
}

static void remove_member(world *w, int i)
{
    char path[160];
    snprintf(path, sizeof path, "/_control/guilds/" GUILD "/members/%llu?event=1",
             (unsigned long long)(FIRST + (uint64_t)i));
    cJSON_Delete(fd_delete(&w->fake, path));
}

/* The bot holds BEGIN IMMEDIATE for 3 s while members leave: nothing is
 * written meanwhile, everything is applied afterwards, and the loop keeps
 * its heartbeats on time (the daemon waits at most TURN_BUSY_TIMEOUT_MS for
 * the lock and retries from a timer; with the old 5 s busy_timeout on the
 * loop thread the gap was ~3 s). */
#define HEARTBEAT_MS 300
#define GAP_MARGIN_MS 700            /* generous: scheduling on a loaded CI box */
static void bot_holds_write_lock(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_guild_state", 1, 5000));
    dh_sleep_ms(500);
    int mark = fd_sent_count(&w->fake);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(w->d.db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    for (int i = 0; i < 5; i++)
        remove_member(w, i);
    assert_true(dh_wait_log(&w->d, "database busy", 1, 5000));
    dh_sleep_ms(3000);
    assert_int_equal(rows(w), MEMBERS);       /* nothing could be written */
    assert_true(dh_wait_log(&w->d, "refused writes for", 1, 2000));   /* one loud line */
    assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 5, 10000));
    assert_true(dh_wait_log(&w->d, "accepts writes again", 1, 2000));
    dh_sleep_ms(1000);
    int64_t gap;
    int beats = fd_heartbeats_since(&w->fake, mark, &gap);
    printf("# write lock 3 s: %d heartbeats, worst gap %lld ms (interval %d ms)\n", beats, (long long)gap,
           HEARTBEAT_MS);
    assert_true(beats >= 8);                  /* ~4.5 s of window at 300 ms */
    assert_true(gap <= HEARTBEAT_MS + GAP_MARGIN_MS);
    assert_int_equal(dh_log_count(&w->d, "refused writes for"), 1);
    assert_int_equal(dh_log_count(&w->d, "zombie"), 0);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_int_equal(rows(w), MEMBERS - 5);
    /* the seq moved with the deletes: a restart has nothing left to redo */
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'"), 5);
    assert_no_token(w);
}

/* Issue #14 B (1): the bot holds the write lock while member 0 leaves and
 * rejoins and writes their row anew; when the lock goes, the queued delete
 * must not remove that fresh row.  Member 1's departure, queued with it, is
 * applied. */
static void rejoin_while_locked_keeps_the_fresh_row(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w));
    sqlite3 *h = bot_lock(w);
    remove_member(w, 0);
    assert_true(dh_wait_log(&w->d, "database busy", 1, 5000));
    char body[160];
    snprintf(body, sizeof body, "{\"event\":true,\"members\":[{\"id\":\"%llu\"}]}", (unsigned long long)FIRST);
    cJSON_Delete(fd_post(&w->fake, "/_control/guilds/" GUILD "/members", body));
    assert_true(dh_wait_log(&w->d, "delete cancelled", 1, 5000));
    assert_int_equal(sqlite3_exec(h, "UPDATE users SET username = 'fresh' WHERE discord_id = 2000000000000000000",
                                  NULL, NULL, NULL), SQLITE_OK);
    remove_member(w, 1);
    assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 1, 10000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 2000000000000000000 "
                                        "AND username = 'fresh'"), 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM users WHERE discord_id = 2000000000000000001"), 0);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'"), 1);
    assert_no_token(w);
}

/* Issue #14 item 9: the bot holds the lock longer than the journal holds
 * (journal_max_writes 20, 60 departures): the daemon stops reading the
 * gateway instead of growing or dropping; once the lock goes, every
 * departure is applied, each once. */
static void lock_longer_than_the_journal_loses_nothing(void **state)
{
    world *w = *state;
    static const char *const args[] = { "--journal-max-writes", "20", NULL };
    assert_true(start_daemon_args(w, args));
    sqlite3 *h = bot_lock(w);
    for (int i = 0; i < 60; i++)
        remove_member(w, i);
    assert_true(dh_wait_log(&w->d, "the gateway is not read", 1, 5000));
    dh_sleep_ms(1500);                        /* past a heartbeat interval: ACKs wait unread too */
    assert_int_equal(rows(w), MEMBERS);
    assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 60, 20000));
    assert_true(dh_wait_log(&w->d, "reading the gateway again", 1, 2000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_int_equal(rows(w), MEMBERS - 60);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'"), 60);
    assert_no_token(w);
}

/* A write that fails half-way for a reason no retry cures: the bot's own
 * trigger refuses the audit row of one member, after that member's users row
 * was already deleted in the turn.  The daemon writes without a SAVEPOINT
 * per member, so it must roll the turn back and redo it write by write: the
 * refused member keeps its row (never deleted without its audit row), the
 * others of the same burst are deleted, and the next turn is normal again. */
static void write_failing_half_way_is_redone(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_guild_state", 1, 5000));
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE TRIGGER refuse_audit BEFORE INSERT ON cleaner_audit "
                              "WHEN NEW.discord_id = %llu BEGIN SELECT RAISE(ABORT, 'kept by the bot'); END",
             (unsigned long long)(FIRST + 2));
    assert_int_equal(dh_db_exec(w->d.db, sql), 0);
    for (int i = 0; i < 5; i++)
        remove_member(w, i);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 4, 10000));
    assert_true(dh_wait_log(&w->d, "kept by the bot", 1, 5000));
    remove_member(w, 5);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 5, 10000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE discord_id = %llu", (unsigned long long)(FIRST + 2));
    assert_int_equal(dh_db_int(w->d.db, sql), 1);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'"), 5);
    /* every audit row matches a deleted row, and the other way round */
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit a JOIN users u "
                                        "ON u.discord_id = a.discord_id AND u.guild_id = a.guild_id"), 0);
    assert_no_token(w);
}

/* Fill the tmpfs to the last byte; the filler's path in path. */
static void fill_disk(const world *w, char *path, size_t cap)
{
    static char block[65536];
    snprintf(path, cap, "%s/filler", w->fs);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    size_t sizes[] = { sizeof block, 4096, 512, 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int n = 0; n < 10000 && write(fd, block, sizes[i]) == (ssize_t)sizes[i]; n++)
            ;
    assert_int_equal(write(fd, block, 1), -1);
    assert_int_equal(errno, ENOSPC);
    close(fd);
}

/* The disk holding the database fills up while members leave: a loud error,
 * nothing half-done (the database stays intact, no row goes), and every
 * delete lands once space returns. */
static void disk_full_pauses_deletes(void **state)
{
    world *w = *state;
    if (w->no_fs[0]) {
        printf("# %s\n", w->no_fs);
        skip();
    }
    assert_true(start_daemon(w));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM cleaner_guild_state", 1, 5000));
    char filler[450];
    fill_disk(w, filler, sizeof filler);
    for (int i = 0; i < 5; i++)
        remove_member(w, i);
    assert_true(dh_wait_log(&w->d, "the disk is full", 1, 5000));
    dh_sleep_ms(1500);
    assert_int_equal(rows(w), MEMBERS);                          /* nothing half-done */
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
    assert_int_equal(dh_log_count(&w->d, "the disk is full"), 1);   /* loud once, not a flood */
    assert_int_equal(unlink(filler), 0);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 5, 10000));
    assert_true(dh_wait_log(&w->d, "accepts writes again", 1, 2000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_int_equal(rows(w), MEMBERS - 5);
    assert_int_equal(dh_db_int(w->d.db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'"), 5);
    assert_no_token(w);
}

/* Ten SIGKILLs at seeded random points of bursts; each restart resumes
 * (or identifies and sweeps) and converges on the exact database. */
static void sigkill_during_bursts(void **state)
{
    world *w = *state;
    unsigned seed = 7;
    int removed = 0;
    for (int round = 0; round < 10; round++) {
        assert_true(start_daemon(w));
        int n = 20 + (int)(rand_r(&seed) % 20);
        for (int i = 0; i < n; i++)
            remove_member(w, removed + i);
        removed += n;
        dh_sleep_ms((int)(rand_r(&seed) % 40));
        dh_stop(&w->d, SIGKILL, 5000);
    }
    assert_true(start_daemon(w));
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - removed, 15000));
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM users WHERE discord_id >= %llu",
             (unsigned long long)(FIRST + (uint64_t)removed));
    assert_int_equal(dh_db_int(w->d.db, sql), MEMBERS - removed);   /* the right rows stayed */
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_no_token(w);
}

/* The double drops the connection every second under a steady stream. */
static void connection_flaps_under_stream(void **state)
{
    world *w = *state;
    assert_true(start_daemon(w));
    int removed = 0;
    for (int flap = 0; flap < 4; flap++) {
        for (int i = 0; i < 25; i++, removed++) {
            remove_member(w, removed);
            dh_sleep_ms(10);
        }
        cJSON_Delete(fd_post(&w->fake, "/_control/close", "{\"drop\":true}"));
        for (int i = 0; i < 15; i++, removed++) {
            remove_member(w, removed);   /* while disconnected: replayed on RESUME */
            dh_sleep_ms(20);
        }
        dh_sleep_ms(600);
    }
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - removed, 15000));
    dh_sleep_ms(500);
    assert_int_equal(rows(w), MEMBERS - removed);
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_no_token(w);
}

/* A frame over max_message_bytes: a clear log line, a reconnect, no delete,
 * and the next event still applies.  The double replays the oversized event
 * on RESUME (as Discord would): the daemon must not resume into it again and
 * again (it used to, three times, ~10 s) but start a new session at once. */
static void oversized_frame_reconnects(void **state)
{
    world *w = *state;
    static const char *const args[] = { "--max-message-bytes", "64K", NULL };
    assert_int_equal(dh_start(&w->d, w->fake.port, args, NULL), 0);
    assert_true(dh_wait_log(&w->d, "READY: new session", 1, 10000));
    size_t big = 100000;
    char *body = malloc(big + 200);
    int n = snprintf(body, big + 200, "{\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":\"" GUILD "\",\"pad\":\"");
    memset(body + n, 'x', big);
    strcpy(body + n + big, "\"}}");
    cJSON_Delete(fd_post(&w->fake, "/_control/dispatch", body));
    free(body);
    assert_true(dh_wait_log(&w->d, "READY: new session", 2, 15000));
    assert_true(dh_log_count(&w->d, "inflated message exceeds 65536 bytes") >= 1);
    assert_int_equal(dh_log_count(&w->d, "closing with 4000: bad frame in the replay"), 1);
    assert_int_equal(dh_log_count(&w->d, "resume attempts exhausted"), 0);
    assert_int_equal(rows(w), MEMBERS);
    remove_member(w, 0);
    assert_true(dh_wait_db(w->d.db, "SELECT COUNT(*) FROM users WHERE guild_id = " GUILD, MEMBERS - 1, 10000));
    assert_int_equal(dh_stop(&w->d, SIGTERM, 5000), 0);
    assert_no_token(w);
}

/* http:// to a host that is not loopback is refused before any I/O. */
static void plain_text_remote_url_refused(void **state)
{
    world *w = *state;
    char out[4096];
    const char *const args[] = { dh_bin("discord-cleaner"), "run", "--api-base", "http://discord.example/api/v10",
                                 "--db", w->d.db, "--log-file", w->d.log, NULL };
    static const char *const env[] = { "DISCORD_TOKEN=test-token", NULL };
    int st = dh_run_cli(args, env, out, sizeof out);
    assert_int_not_equal(st, 0);
    assert_non_null(strstr(out, "https://"));
    assert_null(strstr(out, "test-token"));
    assert_no_token(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(oversized_frame_reconnects, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(bot_holds_write_lock, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(rejoin_while_locked_keeps_the_fresh_row, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(lock_longer_than_the_journal_loses_nothing, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(write_failing_half_way_is_redone, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(disk_full_pauses_deletes, setup_small_fs_world, teardown_world),
        cmocka_unit_test_setup_teardown(sigkill_during_bursts, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(connection_flaps_under_stream, setup_world, teardown_world),
        cmocka_unit_test_setup_teardown(plain_text_remote_url_refused, setup_world, teardown_world),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
