/* bench_util.c - the table, clocks, process figures and database filling
 * shared by the benches (bench.h). */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sqlite3.h>

#define BENCH_MAX_ROWS 96

static struct {
    char what[96], figure[96], floor[64];
    bench_verdict v;
} rows[BENCH_MAX_ROWS];
static int n_rows;

void bench_row(const char *what, const char *figure, const char *floor, bench_verdict v)
{
    if (n_rows == BENCH_MAX_ROWS)
        return;
    snprintf(rows[n_rows].what, sizeof rows[n_rows].what, "%s", what);
    snprintf(rows[n_rows].figure, sizeof rows[n_rows].figure, "%s", figure);
    snprintf(rows[n_rows].floor, sizeof rows[n_rows].floor, "%s", floor);
    rows[n_rows].v = v;
    n_rows++;
    /* Printed as it comes too, so a long run shows progress. */
    printf("  %-44s %-28s %s\n", what, figure, floor);
    fflush(stdout);
}

void bench_print_table(void)
{
    static const char *const verdict[] = { "met", "MISSED", "-" };
    printf("\n| %-44s | %-28s | %-22s | %-6s |\n", "figure", "measured", "floor", "");
    printf("|%.46s|%.30s|%.24s|%.8s|\n", "----------------------------------------------",
           "------------------------------", "------------------------", "--------");
    for (int i = 0; i < n_rows; i++)
        printf("| %-44s | %-28s | %-22s | %-6s |\n", rows[i].what, rows[i].figure, rows[i].floor,
               verdict[rows[i].v]);
}

const char *bench_fmt(const char *fmt, ...)
{
    static char slots[8][256];
    static int next;
    char *out = slots[next++ % 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, sizeof slots[0], fmt, ap);
    va_end(ap);
    return out;
}

int64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double bench_scale(void)
{
    const char *s = getenv("BENCH_SCALE");
    double v = s ? strtod(s, NULL) : 1.0;
    return v > 0 && v <= 1.0 ? v : 1.0;
}

int64_t bench_scaled(int64_t n)
{
    int64_t v = (int64_t)((double)n * bench_scale());
    return v > 0 ? v : 1;
}

int bench_sqlite_fill(const char *db, uint64_t guild_id, uint64_t first_id, int64_t count)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open(db, &h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"
                             "CREATE TABLE IF NOT EXISTS users (discord_id INTEGER NOT NULL, guild_id INTEGER, "
                             "username TEXT, UNIQUE (discord_id, guild_id)); BEGIN;", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h, "INSERT INTO users(discord_id, guild_id, username) VALUES (?1, ?2, 'bench')",
                                -1, &st, NULL);
    for (int64_t i = 0; rc == SQLITE_OK && i < count; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(first_id + (uint64_t)i));
        sqlite3_bind_int64(st, 2, (sqlite3_int64)guild_id);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "bench: filling %s: %s\n", db, sqlite3_errmsg(h));
    sqlite3_close(h);
    sync();                     /* the fill's writeback must not land in the measurement */
    return rc == SQLITE_OK ? 0 : -1;
}

/* "field: N kB" from /proc/PID/<file>; -1 when absent. */
static long proc_kib(pid_t pid, const char *file, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/%s", (long)pid, file);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t fl = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, fl) == 0 && line[fl] == ':')
            v = strtol(line + fl + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

long bench_rss_kib(pid_t pid) { return proc_kib(pid, "status", "VmRSS"); }
long bench_hwm_kib(pid_t pid) { return proc_kib(pid, "status", "VmHWM"); }
long bench_rss_anon_kib(pid_t pid) { return proc_kib(pid, "status", "RssAnon"); }
long bench_rss_file_kib(pid_t pid) { return proc_kib(pid, "status", "RssFile"); }
long bench_pss_kib(pid_t pid) { return proc_kib(pid, "smaps_rollup", "Pss"); }

int bench_spawn_wait(const char *const argv[], long *maxrss_kib, int timeout_ms)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int64_t end = bench_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int st;
        struct rusage ru;
        pid_t r = wait4(pid, &st, WNOHANG, &ru);
        if (r == pid) {
            if (maxrss_kib)
                *maxrss_kib = ru.ru_maxrss;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        if (r < 0 && errno != EINTR)
            return -1;
        if (bench_now_us() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        usleep(20000);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t bench_percentile(int64_t *v, size_t n, double pct)
{
    if (n == 0)
        return -1;
    qsort(v, n, sizeof *v, cmp_i64);
    size_t i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

int64_t bench_cpu_us(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime, clock ticks) follow the ")" that ends
     * the command name, which may itself hold spaces. */
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (int64_t)((ut + st) * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK));
}

int64_t bench_run_delay_us(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/schedstat", (long)pid);
    FILE *f = fopen(path, "r");
    unsigned long long run_ns, wait_ns;
    int ok = f && fscanf(f, "%llu %llu", &run_ns, &wait_ns) == 2;
    if (f)
        fclose(f);
    return ok ? (int64_t)(wait_ns / 1000) : -1;
}
