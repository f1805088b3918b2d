/* daemon_harness.c - see daemon_harness.h. */
#define _GNU_SOURCE     /* memmem, nftw */
#include "daemon_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include "../unit/pg_fixture.h"

void dh_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Sanitizer and valgrind builds run several times slower: $TEST_TIME_FACTOR
 * (set by `make asan`) stretches every wait.  Waits are upper bounds for
 * polling, never assertions about speed. */
static int64_t stretch(int timeout_ms)
{
    const char *f = getenv("TEST_TIME_FACTOR");
    int k = f ? atoi(f) : 1;
    return (int64_t)timeout_ms * (k > 1 ? k : 1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *dh_bin(const char *name)
{
    static char buf[4][512];
    static int k;
    const char *b = getenv("BUILD");
    char *out = buf[k++ % 4];
    snprintf(out, sizeof buf[0], "%s/%s", b && *b ? b : "build", name);
    return out;
}

int dh_backend_pg(void)
{
    const char *b = getenv("DC_TEST_BACKEND");
    return b && strcmp(b, "postgresql") == 0;
}

const char *dh_sql(const char *sqlite, const char *pg)
{
    return dh_backend_pg() ? pg : sqlite;
}

static int is_pg_uri(const char *db)
{
    return strncmp(db, "postgresql://", 13) == 0 || strncmp(db, "postgres://", 11) == 0;
}

/* A fresh database per dh_init: tag it<N> (pgfx_fresh adds the pid). */
static int init_pg(dh_proc *p)
{
    static int seq;
    char tag[32];
    if (!pgfx_cluster()) {
        fprintf(stderr, "DC_TEST_BACKEND=postgresql without DC_TEST_PG_URI\n");
        return -1;
    }
    snprintf(tag, sizeof tag, "it%d", seq++);
    if (pgfx_fresh(p->db, sizeof p->db, tag) != 0)
        return -1;
    pgfx_name(p->pgname, sizeof p->pgname, tag);
    return 0;
}

int dh_init(dh_proc *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/dc-itest-XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    snprintf(p->db, sizeof p->db, "%s/bot.db", p->dir);
    snprintf(p->log, sizeof p->log, "%s/cleaner.log", p->dir);
    return dh_backend_pg() ? init_pg(p) : 0;
}

static void put_env(const char *const env[])
{
    for (size_t i = 0; env && env[i]; i++)
        putenv((char *)env[i]);
}

/* `run` refuses a database that does not exist: make it the way an operator
 * would, with `migrate`, when the test has not put one there already. */
static int create_if_missing(dh_proc *p)
{
    if (p->pgname[0] ? p->migrated : access(p->db, F_OK) == 0)
        return 0;
    const char *const args[] = { dh_bin("discord-cleaner"), "migrate", "--db", p->db, NULL };
    char out[1024];
    if (dh_run_cli(args, NULL, out, sizeof out) != 0) {
        fprintf(stderr, "migrate failed: %s", out);
        return -1;
    }
    p->migrated = 1;
    return 0;
}

int dh_start(dh_proc *p, int port, const char *const extra_args[], const char *const extra_env[])
{
    if (create_if_missing(p) != 0)
        return -1;
    char api[128];
    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", port);
    const char *argv[64] = { dh_bin("discord-cleaner"), "run", "--api-base", api, "--db", p->db,
                             "--log-file", p->log, "--log-level", "debug" };
    size_t n = 10;
    for (size_t i = 0; extra_args && extra_args[i] && n < 62; i++)
        argv[n++] = extra_args[i];
    argv[n] = NULL;
    p->pid = fork();
    if (p->pid < 0)
        return -1;
    if (p->pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        setenv("DISCORD_TOKEN", "test-token", 1);
        put_env(extra_env);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return 0;
}

int dh_run_cli(const char *const args[], const char *const extra_env[], char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        put_env(extra_env);
        execv(args[0], (char *const *)args);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    char sink[4096];
    int64_t end = now_ms() + stretch(DH_CLI_TIMEOUT_MS);
    struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
    for (;;) {
        int64_t left = end - now_ms();
        if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
            kill(pid, SIGKILL);      /* never ends (say, a `sweep` whose tick hook is never called) */
            break;
        }
        r = read(fds[0], len + 1 < cap ? out + len : sink, len + 1 < cap ? cap - 1 - len : sizeof sink);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            break;
        if (r > 0 && len + 1 < cap)
            len += (size_t)r;
    }
    out[len] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int dh_wait_exit(dh_proc *p, int timeout_ms)
{
    int64_t end = now_ms() + stretch(timeout_ms);
    for (;;) {
        int st;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) {
            p->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (r < 0 || now_ms() > end)
            return -1;
        dh_sleep_ms(20);
    }
}

/* A daemon asked to stop that ends otherwise: its last log lines go to
 * stderr, so a failure in CI (where the directory is gone afterwards)
 * says why. */
static void show_log_tail(const dh_proc *p, int st)
{
    char *log = dh_read_file(p->log);
    if (!log)
        return;
    const char *tail = log + strlen(log);
    for (int lines = 0; tail > log && lines <= 25; tail--)
        if (tail[-1] == '\n')
            lines++;
    fprintf(stderr, "-- daemon %s ended with %d; the end of its log:\n%s\n--\n", p->dir, st, tail);
    free(log);
}

int dh_stop(dh_proc *p, int sig, int timeout_ms)
{
    if (p->pid <= 0)
        return -1;
    kill(p->pid, sig);
    int st = dh_wait_exit(p, timeout_ms);
    if (st < 0 && p->pid > 0) {
        kill(p->pid, SIGKILL);
        dh_wait_exit(p, 5000);
    }
    if (sig == SIGTERM && st != 0)
        show_log_tail(p, st);
    return st;
}

void dh_cleanup(dh_proc *p)
{
    if (p->pid > 0)
        dh_stop(p, SIGKILL, 5000);
    if (p->dir[0] && strncmp(p->dir, "/tmp/dc-itest-", 14) == 0 && !getenv("DC_ITEST_KEEP")) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", p->dir);
    }
    if (p->pgname[0]) {
        char sql[160];
        snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", p->pgname);
        pgfx_exec(pgfx_cluster(), sql);
        p->pgname[0] = '\0';
    }
}

char *dh_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 65536, len = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += r;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[len] = '\0';
    return buf;
}

int dh_log_count(const dh_proc *p, const char *needle)
{
    char *text = dh_read_file(p->log);
    int n = 0;
    for (const char *s = text; s && (s = strstr(s, needle)) != NULL; s += strlen(needle))
        n++;
    free(text);
    return n;
}

int dh_wait_log(const dh_proc *p, const char *needle, int n, int timeout_ms)
{
    int64_t end = now_ms() + stretch(timeout_ms);
    while (dh_log_count(p, needle) < n) {
        if (now_ms() > end)
            return 0;
        dh_sleep_ms(25);
    }
    return 1;
}

int dh_db_exec(const char *db, const char *sql)
{
    if (is_pg_uri(db))
        return pgfx_exec(db, sql);
    sqlite3 *h;
    if (sqlite3_open(db, &h) != SQLITE_OK) {
        sqlite3_close(h);
        return -1;
    }
    sqlite3_busy_timeout(h, 5000);
    char *err = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fprintf(stderr, "dh_db_exec: %s\n", err ? err : "?");
    sqlite3_free(err);
    sqlite3_close(h);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The first value of sql's answer on PostgreSQL, as text (NULL: none). */
static char *pg_text(const char *uri, const char *sql)
{
    PGconn *c = PQconnectdb(uri);
    char *v = NULL;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            v = strdup(PQgetvalue(r, 0, 0));
        else if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "dh_db: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    }
    PQfinish(c);
    return v;
}

char *dh_db_text(const char *db, const char *sql)
{
    if (is_pg_uri(db))
        return pg_text(db, sql);
    sqlite3 *h;
    sqlite3_stmt *st = NULL;
    char *v = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, 5000);
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

int64_t dh_db_int(const char *db, const char *sql)
{
    char *t = dh_db_text(db, sql);
    int64_t v = -1;
    if (t && (strcmp(t, "t") == 0 || strcmp(t, "f") == 0))
        v = t[0] == 't';             /* a PostgreSQL boolean */
    else if (t)
        v = strtoll(t, NULL, 10);
    free(t);
    return v;
}

int dh_wait_db(const char *db, const char *sql, int64_t want, int timeout_ms)
{
    int64_t end = now_ms() + stretch(timeout_ms);
    while (dh_db_int(db, sql) != want) {
        if (now_ms() > end)
            return 0;
        dh_sleep_ms(25);
    }
    return 1;
}

/* ---- token scan -------------------------------------------------------------- */

static const char *tree_needle;
static int tree_hits;

static int tree_visit(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)ftw;
    if (type != FTW_F || sb->st_size <= 0)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    char *all = malloc((size_t)sb->st_size);
    size_t got = all ? fread(all, 1, (size_t)sb->st_size, f) : 0;
    fclose(f);
    if (all && memmem(all, got, tree_needle, strlen(tree_needle))) {
        fprintf(stderr, "# %s contains the token\n", path);
        tree_hits++;
    }
    free(all);
    return 0;
}

int dh_tree_count(const char *dir, const char *needle)
{
    tree_needle = needle;
    tree_hits = 0;
    return nftw(dir, tree_visit, 16, FTW_PHYS) == 0 ? tree_hits : -1;
}
