/* bench_live.c - benches 2 (live burst, from the C double and from an
 * aiohttp server) and 4 (idle RSS): the real daemon against a loopback double.
 *
 * Burst latency pairs two clocks on one machine (CLOCK_MONOTONIC is
 * system-wide): the double stamps each message as it goes to the socket
 * (POST /_control/guilds/{id}/burst, GET /_control/burst), the daemon
 * appends "events=E mono_us=T" to $DISCORD_CLEANER_COMMIT_TRACE after each
 * COMMIT (src/commit_trace.h), so it runs at the operator's log level
 * (info) and the measurement costs one short write per commit.
 * Burst event k (1-based) is committed by the first commit whose E reaches
 * the count before the burst plus k.  The PostgreSQL commit is traced when
 * its outcome arrives (turn_flush.c), so the figure holds the round trip. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"
#include "http_client.h"
#include "daemon_harness.h"
#include "fake_client.h"

#define BURST_GUILD "1000000000000000001"
#define BURST_GUILD_N 1000000000000000001ULL
#define FIRST_MEMBER 2000000000000000000ULL

typedef struct {
    int64_t events, mono_us, wakeups, commit_us;   /* the last two: -1 in a trace without them */
} commit_mark;

/* The daemon's commit trace file, next to its database. */
static const char *trace_path(const dh_proc *d)
{
    return bench_fmt("%s/commits.trace", d->dir);
}

/* "DISCORD_CLEANER_COMMIT_TRACE=..." for dh_start's environment. */
static const char *trace_env(const dh_proc *d)
{
    static char env[400];
    snprintf(env, sizeof env, "DISCORD_CLEANER_COMMIT_TRACE=%s", trace_path(d));
    return env;
}

/* Every line of the commit trace, in order (caller frees). */
static commit_mark *read_commits(const dh_proc *d, size_t *n)
{
    char *text = dh_read_file(trace_path(d));
    size_t cap = 1024;
    commit_mark *v = malloc(cap * sizeof *v);
    *n = 0;
    for (const char *p = text; v && p && (p = strstr(p, "events=")) != NULL; p++) {
        long long e, t, w = -1, c = -1;
        if (sscanf(p, "events=%lld mono_us=%lld wakeups=%lld commit_us=%lld", &e, &t, &w, &c) < 2)
            continue;
        if (*n == cap) {
            commit_mark *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv)
                break;
            v = nv;
        }
        v[(*n)++] = (commit_mark){ e, t, w, c };
    }
    free(text);
    return v;
}

static int64_t last_committed_events(const dh_proc *d)
{
    size_t n;
    commit_mark *m = read_commits(d, &n);
    int64_t e = n ? m[n - 1].events : -1;
    free(m);
    return e;
}

/* Waits until no new commit has appeared for quiet_ms; the count then. */
static int64_t wait_quiet(const dh_proc *d, int quiet_ms, int timeout_ms)
{
    int64_t last = -2, since = bench_now_us(), end = bench_now_us() + (int64_t)timeout_ms * 1000;
    while (bench_now_us() < end) {
        int64_t e = last_committed_events(d);
        if (e != last) {
            last = e;
            since = bench_now_us();
        } else if (e >= 0 && bench_now_us() - since > (int64_t)quiet_ms * 1000) {
            return e;
        }
        dh_sleep_ms(50);
    }
    return -1;
}

static int64_t *fetch_stamps(fd_proc *f, size_t *n)
{
    cJSON *r = fd_get(f, "/_control/burst");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "stamps_us"), *e;
    int64_t *v = malloc(((size_t)cJSON_GetArraySize(arr) + 1) * sizeof *v);
    *n = 0;
    cJSON_ArrayForEach(e, arr)
        if (v)
            v[(*n)++] = (int64_t)e->valuedouble;
    cJSON_Delete(r);
    return v;
}

/* Latencies (µs) of events 1..count after base; -1 where no commit covers it. */
static int64_t *pair_latencies(const commit_mark *m, size_t nm, const int64_t *stamps, int64_t base,
                               int64_t count, int64_t *last_commit_us)
{
    int64_t *lat = malloc((size_t)count * sizeof *lat);
    size_t j = 0;
    *last_commit_us = -1;
    for (int64_t k = 1; lat && k <= count; k++) {
        while (j < nm && m[j].events < base + k)
            j++;
        /* The double stamps after its send returns; the daemon may commit
         * before that stamp is taken: such an event counts as 0 µs. */
        lat[k - 1] = j < nm ? (m[j].mono_us > stamps[k - 1] ? m[j].mono_us - stamps[k - 1] : 0) : -1;
        if (j < nm)
            *last_commit_us = m[j].mono_us;
    }
    return lat;
}

/* Where in the burst the slow events were (before report_burst sorts lat). */
static void print_tenths(const int64_t *lat, int64_t covered)
{
    printf("  (worst latency per tenth of the burst, ms:");
    for (int t = 0; t < 10; t++) {
        int64_t worst = 0;
        for (int64_t k = covered * t / 10; k < covered * (t + 1) / 10; k++)
            if (lat[k] > worst)
                worst = lat[k];
        printf(" %.1f", (double)worst / 1000);
    }
    printf(")\n");
    if (getenv("BENCH_DEBUG") && strcmp(getenv("BENCH_DEBUG"), "0") != 0) {
        static const int64_t at[] = { 0, 50, 100, 200, 400, 600, 800, 1000, 1500, 2000, 3000, 5000, 8000, 10000 };
        for (size_t i = 0; i < sizeof at / sizeof at[0] && at[i] < covered; i++)
            printf("  event %lld: %.2f ms\n", (long long)at[i], (double)lat[at[i]] / 1000);
    }
}

/* goal_us: the store's goal for the whole burst applied. */
static void report_burst(const char *name, int64_t count, int64_t all_us, int64_t goal_us, int64_t *lat,
                         int64_t covered)
{
    int64_t p50 = bench_percentile(lat, (size_t)covered, 50), p99 = bench_percentile(lat, (size_t)covered, 99);
    bench_row(bench_fmt("%s: %" PRId64 " removes, all applied", name, count),
              bench_fmt("%.3f s (%.0f events/s)", (double)all_us / 1e6, (double)count * 1e6 / (double)all_us),
              bench_fmt("<= %g s", (double)goal_us / 1e6), all_us <= goal_us ? BENCH_MET : BENCH_MISSED);
    int64_t p90 = bench_percentile(lat, (size_t)covered, 90), p100 = bench_percentile(lat, (size_t)covered, 100);
    bench_row(bench_fmt("%s: send->commit latency p50 / p90 / max", name),
              bench_fmt("%.2f / %.2f / %.2f ms", (double)p50 / 1000, (double)p90 / 1000, (double)p100 / 1000), "-",
              BENCH_NA);
    bench_row(bench_fmt("%s: send->commit latency p99", name), bench_fmt("%.2f ms", (double)p99 / 1000), "< 5 ms",
              p99 < 5000 ? BENCH_MET : BENCH_MISSED);
}

/* How the burst was cut into committed turns (explains the latency). */
static void print_turns(const commit_mark *m, size_t nm, int64_t base, int64_t first_us, int64_t last_us)
{
    int64_t turns = 0, biggest = 0, prev = base, woke0 = -1, woke = -1, slowest = -1;
    for (size_t j = 0; j < nm; j++) {
        if (m[j].events <= base) {
            woke0 = m[j].wakeups;
            continue;
        }
        woke = m[j].wakeups;
        if (m[j].commit_us > slowest)
            slowest = m[j].commit_us;
        turns++;
        if (m[j].events - prev > biggest)
            biggest = m[j].events - prev;
        prev = m[j].events;
    }
    printf("  (double sent the burst in %.3f s; %" PRId64 " commits, largest turn %" PRId64 " events, "
           "%" PRId64 " events after base %" PRId64 ")\n", (double)(last_us - first_us) / 1e6, turns, biggest,
           prev - base, base);
    /* One wakeup is one poll: how often the loop came round per event
     * (a message per read, or a loop spinning on a timer, shows here). */
    if (woke0 >= 0 && woke >= woke0 && prev > base)
        printf("  (main loop woke %" PRId64 " times during the burst, %.2f per event; slowest COMMIT %.1f ms)\n",
               woke - woke0, (double)(woke - woke0) / (double)(prev - base), (double)slowest / 1000);
}

/* The bench's goal for the time from the double's last send to the COMMIT
 * that holds it (issue 14, 7); NULL: printed without a floor. */
static void report_drain(const char *name, int64_t drain_us, const char *goal)
{
    bench_row(bench_fmt("%s: drain after last frame", name), bench_fmt("%.1f ms", (double)drain_us / 1000),
              goal ? goal : "-", !goal ? BENCH_NA : drain_us < 25000 ? BENCH_MET : BENCH_MISSED);
}

static void measure_burst(const char *name, const char *drain_goal, int64_t goal_us, fd_proc *f, dh_proc *d,
                          int64_t count)
{
    int64_t base = wait_quiet(d, 1000, 30000), cpu0 = bench_cpu_us(d->pid), fcpu0 = bench_cpu_us(f->pid);
    int64_t wait0 = bench_run_delay_us(d->pid);
    if (base < 0) {
        bench_row(name, "daemon never settled", "-", BENCH_MISSED);
        return;
    }
    cJSON_Delete(fd_post(f, "/_control/guilds/" BURST_GUILD "/burst", bench_fmt("{\"count\":%" PRId64 "}", count)));
    /* Watch the commit trace, not the database: a COUNT(*) over the guild
     * every 25 ms would take CPU from the daemon it measures. */
    for (int64_t end = bench_now_us() + 120 * 1000000LL;
         last_committed_events(d) < base + count && bench_now_us() < end;)
        dh_sleep_ms(25);
    /* A drain of 100 ms on a busy machine is the loop waiting for a CPU
     * while other processes run, not the loop's own work: say which. */
    int64_t waited = bench_run_delay_us(d->pid) - wait0;
    if (wait0 >= 0)
        bench_row(bench_fmt("%s: daemon runnable but waiting for a CPU", name),
                  bench_fmt("%.1f ms", (double)waited / 1000), "-", BENCH_NA);
    wait_quiet(d, 500, 30000);
    int64_t left = bench_db_int(d->db, "SELECT COUNT(*) FROM users WHERE guild_id = " BURST_GUILD);
    if (left != 0)
        bench_row(bench_fmt("%s: rows left after the burst", name), bench_fmt("%" PRId64, left), "0", BENCH_MISSED);
    int64_t cpu = bench_cpu_us(d->pid) - cpu0, fcpu = bench_cpu_us(f->pid) - fcpu0;
    /* CPU per event is what the daemon controls; wall time also depends on
     * the double sharing the two cores and on the host. */
    bench_row(bench_fmt("%s: daemon CPU per event", name), cpu0 >= 0 ? bench_fmt("%.2f us", (double)cpu / (double)count) : "?",
              "-", BENCH_NA);
    bench_row(bench_fmt("%s: the double's CPU per event", name), fcpu0 >= 0 ? bench_fmt("%.2f us", (double)fcpu / (double)count) : "?",
              "-", BENCH_NA);
    size_t ns, nm;
    int64_t *stamps = fetch_stamps(f, &ns), last_us;
    commit_mark *m = read_commits(d, &nm);
    if (!stamps || (int64_t)ns < count) {
        bench_row(name, bench_fmt("only %zu of %" PRId64 " sends stamped", ns, count), "-", BENCH_MISSED);
    } else {
        print_turns(m, nm, base, stamps[0], stamps[count - 1]);
        int64_t *lat = pair_latencies(m, nm, stamps, base, count, &last_us), covered = 0;
        for (int64_t k = 0; lat && k < count; k++)
            if (lat[k] >= 0)
                lat[covered++] = lat[k];
        if (covered < count)
            bench_row(bench_fmt("%s: events committed", name), bench_fmt("%" PRId64 " of %" PRId64, covered, count),
                      "all", BENCH_MISSED);
        if (covered > 0) {
            print_tenths(lat, covered);
            report_burst(name, count, last_us - stamps[0], goal_us, lat, covered);
            if (covered == count)
                report_drain(name, last_us > stamps[count - 1] ? last_us - stamps[count - 1] : 0, drain_goal);
        }
        free(lat);
    }
    free(stamps);
    free(m);
}

/* #18: a scraper beside the daemon -- GET /metrics every 10 ms (100 a
 * second) until SIGTERM; it prints how many were answered 200 and how many
 * were not.  A child process, so its work is not the bench's own. */
static volatile sig_atomic_t scraper_stop;
static void on_scraper_term(int sig) { (void)sig; scraper_stop = 1; }

static pid_t start_scraper(int port, int out_fd)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    signal(SIGTERM, on_scraper_term);
    static char buf[1 << 18];
    long ok = 0, bad = 0;
    while (!scraper_stop) {
        if (hc_get(port, "/metrics", NULL, buf, sizeof buf) == 200)
            ok++;
        else
            bad++;
        usleep(10000);
    }
    dprintf(out_fd, "%ld %ld\n", ok, bad);
    _exit(0);
}

static void stop_scraper(const char *name, pid_t pid, int in_fd)
{
    char text[64] = "";
    long ok = 0, bad = 0;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    ssize_t n = read(in_fd, text, sizeof text - 1);
    text[n > 0 ? n : 0] = '\0';
    sscanf(text, "%ld %ld", &ok, &bad);
    bench_row(bench_fmt("%s: /metrics scrapes answered / failed", name), bench_fmt("%ld / %ld", ok, bad), "all",
              ok > 0 && bad == 0 ? BENCH_MET : BENCH_MISSED);
}

/* pg_tag NULL: the SQLite file of the scratch folder; else a fresh
 * PostgreSQL database of that tag.  The double beats every 250 ms, so the
 * heartbeats' lateness during the burst shows.  scrape: with the HTTP
 * endpoint on and /metrics scraped 100 times a second throughout (#18). */
static void burst_on(const char *name_in, const char *pg_tag, int64_t goal_us, int scrape)
{
    static const char *const fake_args[] = { "--heartbeat-interval", "250", NULL };
    char name[64];              /* bench_fmt's slots rotate: a copy of our own */
    int64_t count = bench_scaled(100000);
    fd_proc f;
    dh_proc d = { 0 };
    snprintf(name, sizeof name, "%s", name_in);
    if (dh_init(&d) != 0 || fd_start(&f, fake_args) != 0) {
        bench_row(name, "could not start the double", "-", BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    cJSON_Delete(fd_post(&f, "/_control/guilds", bench_fmt("{\"id\":\"" BURST_GUILD "\",\"name\":\"Bench\","
                                                         "\"generate\":{\"count\":%" PRId64 "}}", count)));
    const char *const plain[] = { "--log-level", "info", NULL };
    const char *const scraped[] = { "--log-level", "info", "--http-listen", "127.0.0.1:0", NULL };
    const char *const env[] = { trace_env(&d), NULL };
    int pipe_fds[2] = { -1, -1 };
    pid_t scraper = -1;
    if ((!pg_tag || bench_pg_fresh(d.db, sizeof d.db, pg_tag) == 0) &&
        bench_db_fill(d.db, BURST_GUILD_N, FIRST_MEMBER, count) == 0 &&
        dh_start(&d, f.port, scrape ? scraped : plain, env) == 0 && dh_wait_log(&d, "READY", 1, 20000)) {
        if (scrape && pipe(pipe_fds) == 0)
            scraper = start_scraper(hc_endpoint_port(d.log, 5000), pipe_fds[1]);
        measure_burst(name, NULL, goal_us, &f, &d, count);
        if (scraper > 0)
            stop_scraper(name, scraper, pipe_fds[0]);
        int beats;
        int64_t late = bench_beat_lateness_ms(&f, 250, &beats);
        bench_row(bench_fmt("%s: worst heartbeat lateness (%d beats)", name, beats),
                  beats > 1 ? bench_fmt("%" PRId64 " ms", late) : "no beats seen", "< 100 ms",
                  beats > 1 && late < 100 ? BENCH_MET : BENCH_MISSED);
    } else {
        bench_row(name, "daemon did not become READY", "-", BENCH_MISSED);
    }
    dh_stop(&d, SIGTERM, 10000);
    dh_cleanup(&d);
    fd_stop(&f);
    if (pg_tag)
        bench_pg_drop(pg_tag);
}

void bench_burst(void)
{
    burst_on("2. burst", NULL, 1000000, 0);
}

/* #18: the same burst while /metrics is scraped 100 times a second. */
void bench_burst_scraped(void)
{
    burst_on("2c. burst, /metrics scraped 100/s", NULL, 1000000, 1);
}

/* Issue #16: the same burst with the daemon on PostgreSQL. */
void bench_burst_pg(void)
{
    if (bench_pg_ready())
        burst_on(bench_fmt("2. burst %s", bench_pg_label()), "benchburst", 2000000, 0);
}

/* The same burst from an asyncio/aiohttp server (tests/bench/aio_gateway.py):
 * one small write per message, where the C double batches its sends.
 * fd_start runs it through $FAKEDISCORD_WRAPPER, so the control calls and
 * the send stamps are the C double's. */
void bench_burst_aio(void)
{
    int64_t count = bench_scaled(10000);
    const char *name = "2b. burst from aiohttp";
    fd_proc f;
    dh_proc d = { 0 };
    setenv("FAKEDISCORD_WRAPPER", "/usr/bin/python3", 1);
    setenv("FAKEDISCORD", "tests/bench/aio_gateway.py", 1);
    const char *const fargs[] = { "--members", bench_fmt("%" PRId64, count), NULL };
    int started = dh_init(&d) == 0 && fd_start(&f, fargs) == 0;
    unsetenv("FAKEDISCORD_WRAPPER");
    unsetenv("FAKEDISCORD");
    if (!started) {
        bench_row(name, "could not start tests/bench/aio_gateway.py (python3-aiohttp installed?)", "-",
                  BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    const char *const args[] = { "--log-level", "info", NULL };
    const char *const env[] = { trace_env(&d), NULL };
    if (bench_db_fill(d.db, BURST_GUILD_N, FIRST_MEMBER, count) == 0 &&
        dh_start(&d, f.port, args, env) == 0 && dh_wait_log(&d, "READY", 1, 20000))
        measure_burst(name, "< 25 ms", 1000000, &f, &d, count);
    else
        bench_row(name, "daemon did not become READY", "-", BENCH_MISSED);
    dh_stop(&d, SIGTERM, 10000);
    dh_cleanup(&d);
    fd_stop(&f);
}

/* ---- 4: idle ---------------------------------------------------------------- */

static int make_guilds(fd_proc *f, int n)
{
    for (int i = 0; i < n; i++) {
        cJSON *r = fd_post(f, "/_control/guilds",
                           bench_fmt("{\"id\":\"%llu\",\"name\":\"G%d\",\"generate\":{\"count\":10,\"first_id\":\"%llu\"}}",
                                     1100000000000000000ULL + (unsigned long long)i, i,
                                     3000000000000000000ULL + 100ULL * (unsigned long long)i));
        int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
        cJSON_Delete(r);
        if (!ok)
            return -1;
    }
    return 0;
}

void bench_idle(void)
{
    int guilds = (int)bench_scaled(1000);
    fd_proc f;
    dh_proc d = { 0 };
    if (dh_init(&d) != 0 || fd_start(&f, NULL) != 0 || make_guilds(&f, guilds) != 0 ||
        bench_db_fill(d.db, 1, 1, 0) != 0) {
        bench_row("4. idle", "could not set up the double", "-", BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    const char *const args[] = { "--log-level", "info", NULL };
    const char *const env[] = { trace_env(&d), NULL };
    /* READY + one GUILD_CREATE per guild, then quiet. */
    if (dh_start(&d, f.port, args, env) == 0 && dh_wait_log(&d, "READY", 1, 20000) &&
        wait_quiet(&d, 1500, 60000) >= guilds) {
        long rss = bench_rss_kib(d.pid), hwm = bench_hwm_kib(d.pid);
        bench_row(bench_fmt("4. idle: RSS after READY, %d guilds", guilds),
                  bench_fmt("%.1f MiB (peak %.1f MiB)", rss / 1024.0, hwm / 1024.0), "< 10 MB",
                  rss >= 0 && rss * 1024L < 10L * 1000 * 1000 ? BENCH_MET : BENCH_MISSED);
        /* What the RSS is made of: most of it is shared-library pages that
         * the daemon's own code does not control (see README, Performance). */
        bench_row("4. idle: RSS anonymous / file-backed",
                  bench_fmt("%.1f / %.1f MiB", bench_rss_anon_kib(d.pid) / 1024.0,
                            bench_rss_file_kib(d.pid) / 1024.0), "-", BENCH_NA);
        bench_row("4. idle: PSS (shared pages divided)", bench_fmt("%.1f MiB", bench_pss_kib(d.pid) / 1024.0),
                  "-", BENCH_NA);
    } else {
        bench_row("4. idle", "daemon did not settle after READY", "-", BENCH_MISSED);
    }
    dh_stop(&d, SIGTERM, 10000);
    dh_cleanup(&d);
    fd_stop(&f);
}
