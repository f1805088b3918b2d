/* bench_replay.c - bench 1: replay throughput.
 *
 * A database of 1,000,000 rows in one guild, a fixture (README "Recording
 * and replaying gateway sessions") of READY + GUILD_CREATE + 1,000,000
 * GUILD_MEMBER_REMOVE for exactly those users, then
 * `discord-cleaner replay FIXTURE --db DB` timed from spawn to exit: the
 * figure includes loading the fixture and opening the store, as a user
 * running it sees.  Peak RSS comes from getrusage of the child.  The outcome
 * is checked (no rows left, one audit row per member) so a fast wrong run
 * cannot pass.  bench_replay_pg: the same into a fresh PostgreSQL database. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "daemon_harness.h"

#define REPLAY_GUILD ((uint64_t)1000000000000000003ULL)
#define FIRST_MEMBER ((uint64_t)2000000000000000000ULL)
#define EVENTS_PER_MS 1000      /* virtual time: 1,000 events per recorded ms */

static int write_fixture(const char *path, int64_t count)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"format\":\"discord-cleaner-session\",\"version\":1,\"recorded_at\":\"2026-11-27T12:00:00Z\","
               "\"wall_ms\":1795780800000,\"shard\":[0,1],\"intents\":3,\"compression\":\"none\","
               "\"frames\":\"decoded\",\"auto_ack\":true,\"check_sends\":false,"
               "\"comment\":\"make bench: replay throughput\",\"config\":{\"reconcile_delay\":\"86400\"}}\n");
    fprintf(f, "{\"t\":0,\"k\":\"open\"}\n");
    fprintf(f, "{\"t\":1,\"k\":\"recv\",\"json\":{\"op\":10,\"s\":null,\"t\":null,\"d\":{\"heartbeat_interval\":41250}}}\n");
    fprintf(f, "{\"t\":2,\"k\":\"recv\",\"json\":{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{\"v\":10,\"session_id\":\"bench\","
               "\"resume_gateway_url\":\"wss://resume.example\",\"user\":{\"id\":\"9\",\"username\":\"cleaner\"},"
               "\"guilds\":[{\"id\":\"%" PRIu64 "\",\"unavailable\":true}]}}}\n", (uint64_t)REPLAY_GUILD);
    fprintf(f, "{\"t\":3,\"k\":\"recv\",\"json\":{\"op\":0,\"s\":2,\"t\":\"GUILD_CREATE\",\"d\":{\"id\":\"%" PRIu64
               "\",\"name\":\"bench\",\"member_count\":%" PRId64 "}}}\n", (uint64_t)REPLAY_GUILD, count);
    for (int64_t i = 0; i < count; i++)
        fprintf(f, "{\"t\":%" PRId64 ",\"k\":\"recv\",\"json\":{\"op\":0,\"s\":%" PRId64 ",\"t\":\"GUILD_MEMBER_REMOVE\","
                   "\"d\":{\"guild_id\":\"%" PRIu64 "\",\"user\":{\"id\":\"%" PRIu64 "\",\"username\":\"u%" PRId64 "\"}}}}\n",
                10 + i / EVENTS_PER_MS, i + 3, (uint64_t)REPLAY_GUILD, FIRST_MEMBER + (uint64_t)i, i);
    fprintf(f, "{\"t\":%" PRId64 ",\"k\":\"end\"}\n", 20 + count / EVENTS_PER_MS);
    return fclose(f) == 0 ? 0 : -1;
}

/* name: the rows' prefix; floor_rate: the store's goal in events/s. */
static void run_replay(const dh_proc *d, const char *fixture, int64_t count, const char *name, double floor_rate)
{
    const char *const migrate[] = { dh_bin("discord-cleaner"), "migrate", "--db", d->db, NULL };
    const char *const replay[] = { dh_bin("discord-cleaner"), "replay", fixture, "--db", d->db,
                                   "--log-file", d->log, NULL };
    long rss = -1;
    if (bench_spawn_wait(migrate, NULL, 600000) != 0) {
        bench_row(name, "migrate failed", "-", BENCH_MISSED);
        return;
    }
    int64_t t0 = bench_now_us();
    int st = bench_spawn_wait(replay, &rss, 1800000);
    int64_t us = bench_now_us() - t0;
    int64_t left = bench_db_int(d->db, "SELECT COUNT(*) FROM users");
    int64_t audited = bench_db_int(d->db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'member_remove'");
    if (st != 0 || left != 0 || audited != count)
        bench_row(bench_fmt("%s: outcome", name), bench_fmt("exit %d, %" PRId64 " rows left, %" PRId64 " audited", st,
                                                            left, audited), "0 left, all audited", BENCH_MISSED);
    double rate = (double)count * 1e6 / (double)us;
    bench_row(bench_fmt("%s: %" PRId64 " removes vs %" PRId64 " rows", name, count, count),
              bench_fmt("%.0f events/s (%.2f s)", rate, (double)us / 1e6), bench_fmt(">= %.0f events/s", floor_rate),
              rate >= floor_rate ? BENCH_MET : BENCH_MISSED);
    bench_row(bench_fmt("%s: peak RSS", name), bench_fmt("%.1f MiB", rss / 1024.0), "-", BENCH_NA);
}

/* pg_tag NULL: the SQLite file of the scratch folder; else a fresh
 * PostgreSQL database of that tag. */
static void replay_on(const char *name_in, const char *pg_tag, double floor_rate)
{
    char name[64];              /* bench_fmt's slots rotate: a copy of our own */
    snprintf(name, sizeof name, "%s", name_in);
    int64_t count = bench_scaled(1000000);
    dh_proc d = { 0 };
    if (dh_init(&d) != 0) {
        bench_row(name, "no scratch directory", "-", BENCH_MISSED);
        return;
    }
    char fixture[400];
    snprintf(fixture, sizeof fixture, "%s/burst.jsonl", d.dir);
    int64_t t0 = bench_now_us();
    if (pg_tag && bench_pg_fresh(d.db, sizeof d.db, pg_tag) != 0) {
        dh_cleanup(&d);
        return;
    }
    if (bench_db_fill(d.db, REPLAY_GUILD, FIRST_MEMBER, count) != 0 || write_fixture(fixture, count) != 0) {
        bench_row(name, "could not build the database or fixture", "-", BENCH_MISSED);
    } else {
        printf("  (database and fixture built in %.1f s)\n", (double)(bench_now_us() - t0) / 1e6);
        run_replay(&d, fixture, count, name, floor_rate);
    }
    dh_cleanup(&d);
    if (pg_tag)
        bench_pg_drop(pg_tag);
}

void bench_replay(void)
{
    replay_on("1. replay", NULL, 300000);
}

/* Issue #16: the same replay into PostgreSQL (seeds through store_seed_sql,
 * the writes through the pipelined turn). */
void bench_replay_pg(void)
{
    if (bench_pg_ready())
        replay_on(bench_fmt("1. replay %s", bench_pg_label()), "benchreplay", 100000);
}
