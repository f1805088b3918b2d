/* bench_guild_delete.c - bench 8 (issue #14): the bot is removed from a
 * guild with 1,000,000 rows while the daemon runs.  The GUILD_DELETE is
 * confirmed over REST (404/10004 from the double) and the rows go a slice
 * per loop turn (guild_delete.c).  Heartbeat lateness is seen from the
 * double over the delete's window: the gaps between the heartbeats it
 * received, minus the interval.  The time is from the removal to the audit
 * row, polled every 25 ms. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "daemon_harness.h"
#include "fake_client.h"

#define GD_GUILD "1000000000000000008"
#define GD_GUILD_N 1000000000000000008ULL
#define GD_FIRST 2000000000000000000ULL
#define GD_BEAT_MS 250

static void run_delete(fd_proc *f, dh_proc *d, int64_t rows)
{
    static const char *const args[] = { "--log-level", "info", NULL };
    if (dh_start(d, f->port, args, NULL) != 0 || !dh_wait_log(d, "READY", 1, 30000) ||
        !dh_wait_db(d->db, "SELECT COUNT(*) FROM cleaner_guild_state", 1, 30000)) {
        bench_row("8. guild delete", "the daemon did not start", "-", BENCH_MISSED);
        return;
    }
    dh_sleep_ms(2 * GD_BEAT_MS);
    cJSON *sent = fd_get(f, "/_control/sent");
    int mark = cJSON_GetArraySize(sent);
    cJSON_Delete(sent);
    int64_t t0 = bench_now_us();
    cJSON_Delete(fd_post(f, "/_control/guilds/" GD_GUILD "/remove_bot", "{\"unavailable\":false}"));
    int done = dh_wait_db(d->db, "SELECT COUNT(*) FROM cleaner_audit WHERE reason = 'guild_delete'", 1, 600000);
    int64_t took_ms = (bench_now_us() - t0) / 1000;
    dh_sleep_ms(2 * GD_BEAT_MS);             /* a beat after the end closes the window */
    int beats;
    int64_t late = bench_beat_lateness_since_ms(f, GD_BEAT_MS, mark, 1, &beats);
    int64_t audited = dh_db_int(d->db, "SELECT rows FROM cleaner_audit WHERE reason = 'guild_delete'");
    int64_t left = dh_db_int(d->db, "SELECT COUNT(*) FROM users WHERE guild_id = " GD_GUILD);
    dh_stop(d, SIGTERM, 10000);
    if (!done || audited != rows || left != 0) {
        bench_row("8. guild delete: outcome", bench_fmt("audited %" PRId64 ", rows left %" PRId64, audited, left),
                  bench_fmt("audited %" PRId64 ", none left", rows), BENCH_MISSED);
        return;
    }
    bench_row(bench_fmt("8. guild delete: %" PRId64 " rows", rows), bench_fmt("%.2f s", (double)took_ms / 1000),
              "-", BENCH_NA);
    bench_row(bench_fmt("8. guild delete: worst heartbeat lateness (%d beats)", beats),
              beats > 1 ? bench_fmt("%" PRId64 " ms", late) : "no beats seen", "< 100 ms",
              beats > 1 && late < 100 ? BENCH_MET : BENCH_MISSED);
}

void bench_guild_delete(void)
{
    int64_t rows = bench_scaled(1000000);
    static const char *const fake_args[] = { "--heartbeat-interval", "250", NULL };
    fd_proc f;
    dh_proc d = { 0 };
    if (dh_init(&d) != 0 || fd_start(&f, fake_args) != 0) {
        bench_row("8. guild delete", "could not start the double", "-", BENCH_MISSED);
        dh_cleanup(&d);
        return;
    }
    cJSON_Delete(fd_post(&f, "/_control/guilds", "{\"id\":\"" GD_GUILD "\",\"name\":\"Left\","
                                                 "\"generate\":{\"count\":10}}"));
    if (bench_db_fill(d.db, GD_GUILD_N, GD_FIRST, rows) == 0)
        run_delete(&f, &d, rows);
    else
        bench_row("8. guild delete", "could not build the database", "-", BENCH_MISSED);
    dh_cleanup(&d);
    fd_stop(&f);
}
