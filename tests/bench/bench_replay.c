/* bench_replay.c - bench 1: replay throughput.
 *
 * HOOK (issue 6): this needs `discord-cleaner replay`, which is being built
 * elsewhere.  When it lands, replace the body with:
 *   1. bench_db_fill(db, GUILD, FIRST, 1000000)   (1,000,000 rows);
 *   2. write a fixture of READY + GUILD_CREATE + 1,000,000
 *      GUILD_MEMBER_REMOVE (user ids FIRST..FIRST+999999) in the recorded
 *      format (fixtures/, see replay.h);
 *   3. bench_spawn_wait({discord-cleaner, "replay", fixture, "--db", db},
 *      &maxrss, ...) timed with bench_now_us();
 *   4. bench_row("1. replay: 1,000,000 removes", "<N> events/s", ">= 300000/s", ...)
 *      and bench_row("1. replay: peak RSS", ...);
 *      check COUNT(*) FROM users == 0 and report a wrong outcome as MISSED.
 * Until then the row says so, so the table keeps its numbering. */
#include "bench.h"

void bench_replay(void)
{
    bench_row("1. replay: 1,000,000 removes vs 1M rows", "pending (needs replay, #6)", ">= 300,000 events/s",
              BENCH_NA);
}
