/* bench_ready.c - bench 9 (issue #16): a restart of a bot in 10,000
 * guilds.  The daemon is started once to learn every guild (its state row
 * and its name), stopped, and started again with a new session: the time
 * from that start to
 * every guild's state row written by this run (last_seen_ms), the daemon's
 * CPU over it, and the worst heartbeat lateness the double saw.  Each
 * GUILD_CREATE used to read the guild's stored name and admin schedule
 * (two round trips on the loop thread, each behind the turn's queued
 * writes); they are now read once at start (guild_directory.c).  On SQLite
 * and, with a cluster, on PostgreSQL. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "daemon_harness.h"
#include "fake_client.h"

#define RD_BEAT_MS 1000

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Every guild's row written at or after since_ms; 0 when not within 120 s. */
static int wait_seen(dh_proc *d, int64_t guilds, int64_t since_ms)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM cleaner_guild_state WHERE last_seen_ms >= %" PRId64, since_ms);
    for (int i = 0; i < 120 * 40; i++) {
        if (dh_db_int(d->db, sql) >= guilds)
            return 1;
        dh_sleep_ms(25);
    }
    return 0;
}

static void run_ready(const char *label, fd_proc *f, dh_proc *d, int64_t guilds)
{
    static const char *const args[] = { "--log-level", "info", NULL };
    if (dh_start(d, f->port, args, NULL) != 0 || !wait_seen(d, guilds, 0)) {
        bench_row(bench_fmt("9. READY, %s", label), "the first start did not see every guild", "-", BENCH_MISSED);
        return;
    }
    dh_stop(d, SIGTERM, 10000);
    /* A new session, not a RESUME (which gets no GUILD_CREATE), once the
     * first IDENTIFY's 5 s of the identify lock are over. */
    dh_db_exec(d->db, "DELETE FROM cleaner_session_state WHERE key LIKE 'gw.%'");
    dh_sleep_ms(6000);
    cJSON *sent = fd_get(f, "/_control/sent");
    int mark = cJSON_GetArraySize(sent);
    cJSON_Delete(sent);
    int64_t since = wall_ms();
    int64_t t0 = bench_now_us();
    if (dh_start(d, f->port, args, NULL) != 0) {
        bench_row(bench_fmt("9. READY, %s", label), "the daemon did not start again", "-", BENCH_MISSED);
        return;
    }
    int seen = wait_seen(d, guilds, since);
    int64_t took_ms = (bench_now_us() - t0) / 1000;
    int64_t cpu_us = bench_cpu_us(d->pid);
    dh_sleep_ms(2 * RD_BEAT_MS);
    int beats;
    int64_t late = bench_beat_lateness_since_ms(f, RD_BEAT_MS, mark, 0, &beats);
    dh_stop(d, SIGTERM, 10000);
    if (!seen) {
        bench_row(bench_fmt("9. READY, %s", label), "not every guild was seen within 120 s", "-", BENCH_MISSED);
        return;
    }
    bench_row(bench_fmt("9. restart in %" PRId64 " guilds, %s: every GUILD_CREATE written", guilds, label),
              bench_fmt("%.2f s, daemon CPU %.2f s (%.0f us a guild)", (double)took_ms / 1000, (double)cpu_us / 1e6,
                        (double)cpu_us / (double)guilds),
              "-", BENCH_NA);
    bench_row(bench_fmt("9. restart, %s: worst heartbeat lateness (%d beats)", label, beats),
              beats > 1 ? bench_fmt("%" PRId64 " ms", late) : "no beats seen", "< 100 ms",
              beats > 1 && late < 100 ? BENCH_MET : BENCH_MISSED);
}

static void ready_on(const char *label, int pg)
{
    int64_t guilds = bench_scaled(10000);
    static const char *const fake_args[] = { "--heartbeat-interval", "1000", NULL };
    fd_proc f;
    dh_proc d = { 0 };
    if (dh_init(&d) != 0 || fd_start(&f, fake_args) != 0) {
        bench_row("9. READY", "could not start the double", "-", BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    if (pg && bench_pg_fresh(d.db, sizeof d.db, "ready") != 0) {
        bench_row("9. READY on PG", "could not create the database", "-", BENCH_MISSED);
    } else {
        cJSON *b = fd_post(&f, "/_control/guild_bulk", bench_fmt("{\"count\":%" PRId64 ",\"members\":2}", guilds));
        cJSON_Delete(b);
        run_ready(label, &f, &d, guilds);
    }
    if (pg)
        bench_pg_drop("ready");
    dh_cleanup(&d);
    fd_stop(&f);
}

void bench_ready(void)
{
    ready_on("SQLite", 0);
}

void bench_ready_pg(void)
{
    if (bench_pg_ready())
        ready_on(bench_pg_label(), 1);
}
