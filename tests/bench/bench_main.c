/* bench_main.c - `make bench`: describe the machine, run the benches (all,
 * or those named on the command line: replay burst burst-aio burst-scraped sweep idle
 * decode guild_delete replay-pg burst-pg sweep-pg), print the table.  Always exits 0 unless the harness itself breaks: a
 * missed floor is a finding to read, not a failed build. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/utsname.h>
#include <sqlite3.h>
#include <zlib.h>
#include <cjson/cJSON.h>

#include "bench.h"

static void cpu_model(char *out, size_t cap)
{
    char line[256];
    FILE *f = fopen("/proc/cpuinfo", "r");
    snprintf(out, cap, "unknown cpu");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            line[strcspn(line, "\n")] = '\0';
            snprintf(out, cap, "%s", colon + 2);
            break;
        }
    }
    if (f)
        fclose(f);
}

static void describe_machine(void)
{
    struct utsname u;
    char cpu[160];
    cpu_model(cpu, sizeof cpu);
    uname(&u);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGE_SIZE);
    printf("machine: %s, %ld online cpu(s), %.1f GiB RAM, %s %s %s\n", cpu, sysconf(_SC_NPROCESSORS_ONLN),
           (double)pages * (double)psz / (1024.0 * 1024 * 1024), u.sysname, u.release, u.machine);
    printf("libs: sqlite %s, zlib %s, cJSON %s; scale %.3g (BENCH_SCALE)\n\n", sqlite3_libversion(),
           zlibVersion(), cJSON_Version(), bench_scale());
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*run)(void);
    } benches[] = {
        { "replay", bench_replay }, { "burst", bench_burst }, { "burst-aio", bench_burst_aio },
        { "burst-scraped", bench_burst_scraped },
        { "sweep", bench_sweep },
        { "idle", bench_idle },     { "decode", bench_decode },
        { "guild_delete", bench_guild_delete },
        { "ready", bench_ready },
        { "replay-pg", bench_replay_pg }, { "burst-pg", bench_burst_pg }, { "sweep-pg", bench_sweep_pg },
        { "ready-pg", bench_ready_pg },
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    describe_machine();
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) {
        int wanted = argc < 2;
        for (int a = 1; a < argc; a++)
            wanted |= strcmp(argv[a], benches[i].name) == 0;
        if (wanted) {
            /* Each bench starts with no dirty pages of the one before: the
             * kernel writing back a 100 MB database behind the next bench
             * throttled the daemon's WAL writes (p99 2.7 ms -> 180 ms). */
            sync();
            printf("-- %s\n", benches[i].name);
            benches[i].run();
        }
    }
    bench_print_table();
    return 0;
}
