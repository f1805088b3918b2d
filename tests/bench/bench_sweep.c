/* bench_sweep.c - bench 3: a guild of 1,000,000 members on the double, a
 * database of 1,100,000 rows of which 100,000 stale, swept by
 * `discord-cleaner sweep --guild` with the default batch_size/batch_delay
 * (the daemon's loop and code path, exiting when done, so its peak RSS
 * comes from getrusage).
 *
 * Sweep time is what the daemon itself stores (cleaner_guild_state.
 * last_sweep_duration_ms: op 8 sent to last batch committed).  Heartbeat
 * lateness is seen from the double: the gaps between the heartbeats it
 * received, minus the interval (the daemon schedules each beat one interval
 * after the previous one was sent).  bench_sweep_pg: the same sweep with the
 * store on a fresh PostgreSQL database. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "daemon_harness.h"
#include "fake_client.h"

#define SWEEP_GUILD "1000000000000000002"
#define SWEEP_GUILD_N 1000000000000000002ULL
#define FIRST_MEMBER 2000000000000000000ULL
#define STALE_FIRST 2100000000000000000ULL
#define BEAT_MS 250

int64_t bench_beat_lateness_since_ms(fd_proc *f, int beat_ms, int since, int gap_into, int *beats)
{
    cJSON *sent = fd_get(f, "/_control/sent");
    const cJSON *e;
    int64_t prev = -1, worst = -1;
    int i = 0;
    *beats = 0;
    cJSON_ArrayForEach(e, sent) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "op");
        int in_window = i++ >= since;
        if (!cJSON_IsNumber(op) || op->valueint != 1 || (!in_window && !gap_into))
            continue;
        int64_t at = (int64_t)cJSON_GetObjectItemCaseSensitive(e, "at_ms")->valuedouble;
        if (in_window && prev >= 0 && at - prev - beat_ms > worst)
            worst = at - prev - beat_ms;
        *beats += in_window;
        prev = at;
    }
    cJSON_Delete(sent);
    return worst;
}

int64_t bench_beat_lateness_ms(fd_proc *f, int beat_ms, int *beats)
{
    return bench_beat_lateness_since_ms(f, beat_ms, 0, 0, beats);
}

/* The end of the daemon's log, so a failed sweep explains itself. */
static void print_log_tail(const char *path, int lines)
{
    char *text = dh_read_file(path);
    if (!text)
        return;
    const char *p = text + strlen(text);
    for (int n = 0; p > text && n <= lines; p--)
        n += p[-1] == '\n';
    printf("  daemon log (last lines):\n%s", p);
    free(text);
}

/* name: the rows' prefix; goal_ms: the store's goal for the sweep. */
static void run_sweep(fd_proc *f, dh_proc *d, int64_t members, int64_t stale, const char *name, int64_t goal_ms)
{
    char api[96];
    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", f->port);
    const char *const migrate[] = { dh_bin("discord-cleaner"), "migrate", "--db", d->db, NULL };
    const char *const sweep[] = { dh_bin("discord-cleaner"), "sweep", "--guild", SWEEP_GUILD, "--api-base", api,
                                  "--token", "test-token", "--db", d->db, "--log-file", d->log, "--log-level", getenv("BENCH_SWEEP_DEBUG") ? "debug" : "info", NULL };
    long rss = -1;
    if (bench_spawn_wait(migrate, NULL, 600000) != 0) {
        bench_row(name, "migrate failed", "-", BENCH_MISSED);
        return;
    }
    int st = bench_spawn_wait(sweep, &rss, 600000);
    int64_t dur = bench_db_int(d->db, "SELECT last_sweep_duration_ms FROM cleaner_guild_state WHERE guild_id = " SWEEP_GUILD);
    int64_t removed = bench_db_int(d->db, "SELECT last_sweep_removed FROM cleaner_guild_state WHERE guild_id = " SWEEP_GUILD);
    int64_t left = bench_db_int(d->db, "SELECT COUNT(*) FROM users");
    if (getenv("BENCH_SWEEP_DEBUG")) {          /* the whole daemon log, to see the phases */
        char *text = dh_read_file(d->log);
        printf("%s", text ? text : "");
        free(text);
    }
    int beats;
    int64_t late = bench_beat_lateness_ms(f, BEAT_MS, &beats);
    int failed = st != 0 || removed != stale || left != members;
    if (failed) {
        print_log_tail(d->log, 12);
        bench_row(bench_fmt("%s: outcome", name), bench_fmt("exit %d, removed %" PRId64 ", rows left %" PRId64, st, removed, left),
                  bench_fmt("removed %" PRId64, stale), BENCH_MISSED);
    }
    bench_row(bench_fmt("%s: %" PRId64 " members, %" PRId64 " stale", name, members, stale),
              bench_fmt("%.2f s", (double)dur / 1000), bench_fmt("< %g s", (double)goal_ms / 1000),
              !failed && dur >= 0 && dur < goal_ms ? BENCH_MET : BENCH_MISSED);
    bench_row(bench_fmt("%s: peak RSS of the process", name), bench_fmt("%.1f MiB", rss / 1024.0), "< 64 MB",
              rss >= 0 && rss * 1024L < 64L * 1000 * 1000 ? BENCH_MET : BENCH_MISSED);
    bench_row(bench_fmt("%s: worst heartbeat lateness (%d beats)", name, beats),
              beats > 1 ? bench_fmt("%" PRId64 " ms", late) : "no beats seen", "< 100 ms",
              beats > 1 && late < 100 ? BENCH_MET : BENCH_MISSED);
}

/* Issue #14 item 6: a 100,000-member guild with 1,000 stale rows on a
 * double whose member lookups allow 5 per 5 s, as Discord's do: from the
 * last chunk the double sent to the sweep's end (cleaner_guild_state.
 * last_sweep_ms, the same wall clock). */
static void bench_sweep_after_last_chunk(void)
{
    int64_t members = bench_scaled(100000), stale = bench_scaled(1000);
    static const char *const fake_args[] = { "--heartbeat-interval", "250", NULL };
    const char *what = bench_fmt("3. sweep: last chunk to done (%" PRId64 "/%" PRId64 ")", members, stale);
    char api[96];
    fd_proc f;
    dh_proc d = { 0 };
    if (dh_init(&d) != 0 || fd_start(&f, fake_args) != 0) {
        bench_row(what, "could not start the double", "-", BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    cJSON_Delete(fd_post(&f, "/_control/config", "{\"op8_rate_limit_s\":0,\"lookup_limit\":5,"
                                                 "\"lookup_window_ms\":5000}"));
    cJSON_Delete(fd_post(&f, "/_control/guilds", bench_fmt("{\"id\":\"" SWEEP_GUILD "\",\"name\":\"Sweep\","
                                                         "\"generate\":{\"count\":%" PRId64 "}}", members)));
    snprintf(api, sizeof api, "http://127.0.0.1:%d/api/v10", f.port);
    const char *const migrate[] = { dh_bin("discord-cleaner"), "migrate", "--db", d.db, NULL };
    const char *const sweep[] = { dh_bin("discord-cleaner"), "sweep", "--guild", SWEEP_GUILD, "--api-base", api,
                                  "--token", "test-token", "--db", d.db, "--log-file", d.log, "--log-level",
                                  getenv("BENCH_SWEEP_DEBUG") ? "debug" : "info", NULL };
    int st = -1;
    if (bench_db_fill(d.db, SWEEP_GUILD_N, FIRST_MEMBER, members) == 0 &&
        bench_db_fill(d.db, SWEEP_GUILD_N, STALE_FIRST, stale) == 0 && bench_spawn_wait(migrate, NULL, 600000) == 0)
        st = bench_spawn_wait(sweep, NULL, 600000);
    cJSON *state = fd_get(&f, "/_control/state");
    const cJSON *last = cJSON_GetObjectItemCaseSensitive(state, "op8_last_chunk_wall_ms");
    int64_t chunk_ms = cJSON_IsNumber(last) ? (int64_t)last->valuedouble : 0;
    cJSON_Delete(state);
    int64_t done_ms = dh_db_int(d.db, "SELECT last_sweep_ms FROM cleaner_guild_state WHERE guild_id = " SWEEP_GUILD);
    int64_t removed = dh_db_int(d.db, "SELECT last_sweep_removed FROM cleaner_guild_state WHERE guild_id = "
                                      SWEEP_GUILD);
    int64_t lookups = 0;
    cJSON *reqs = fd_get(&f, "/_control/requests");
    const cJSON *e;
    cJSON_ArrayForEach(e, reqs) {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
        lookups += cJSON_IsString(path) && strstr(path->valuestring, "/members/") != NULL;
    }
    cJSON_Delete(reqs);
    if (getenv("BENCH_SWEEP_DEBUG"))
        print_log_tail(d.log, 40);
    if (st != 0 || removed != stale || !chunk_ms || done_ms <= 0) {
        print_log_tail(d.log, 12);
        bench_row(what, bench_fmt("exit %d, removed %" PRId64, st, removed), "< 500 ms", BENCH_MISSED);
    } else {
        int64_t after = done_ms - chunk_ms;
        bench_row(what, bench_fmt("%" PRId64 " ms, %" PRId64 " lookup(s) at 5/5 s", after, lookups), "< 500 ms",
                  after < 500 ? BENCH_MET : BENCH_MISSED);
    }
    dh_cleanup(&d);
    fd_stop(&f);
}

/* pg_tag NULL: the SQLite file of the scratch folder; else a fresh
 * PostgreSQL database of that tag. */
static void sweep_on(const char *name_in, const char *pg_tag, int64_t goal_ms)
{
    int64_t members = bench_scaled(1000000), stale = bench_scaled(100000);
    static const char *const fake_args[] = { "--heartbeat-interval", "250", NULL };
    char name[64];              /* bench_fmt's slots rotate: a copy of our own */
    fd_proc f;
    dh_proc d = { 0 };
    snprintf(name, sizeof name, "%s", name_in);
    if (dh_init(&d) != 0 || fd_start(&f, fake_args) != 0) {
        bench_row(name, "could not start the double", "-", BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    /* op 8 limit off: the bench asks once, but the double counts from start. */
    cJSON_Delete(fd_post(&f, "/_control/config", "{\"op8_rate_limit_s\":0}"));
    cJSON_Delete(fd_post(&f, "/_control/guilds", bench_fmt("{\"id\":\"" SWEEP_GUILD "\",\"name\":\"Sweep\","
                                                         "\"generate\":{\"count\":%" PRId64 "}}", members)));
    int64_t t0 = bench_now_us();
    if (pg_tag && bench_pg_fresh(d.db, sizeof d.db, pg_tag) != 0) {
        /* bench_pg_fresh said so */
    } else if (bench_db_fill(d.db, SWEEP_GUILD_N, FIRST_MEMBER, members) == 0 &&
               bench_db_fill(d.db, SWEEP_GUILD_N, STALE_FIRST, stale) == 0) {
        printf("  (database of %" PRId64 " rows built in %.1f s)\n", members + stale,
               (double)(bench_now_us() - t0) / 1e6);
        run_sweep(&f, &d, members, stale, name, goal_ms);
    } else {
        bench_row(name, "could not build the database", "-", BENCH_MISSED);
    }
    dh_cleanup(&d);
    fd_stop(&f);
    if (pg_tag)
        bench_pg_drop(pg_tag);
}

void bench_sweep(void)
{
    sweep_on("3. sweep", NULL, 10000);
    bench_sweep_after_last_chunk();
}

/* Issue #16: the same sweep with the store on PostgreSQL. */
void bench_sweep_pg(void)
{
    if (bench_pg_ready())
        sweep_on(bench_fmt("3. sweep %s", bench_pg_label()), "benchsweep", 20000);
}
