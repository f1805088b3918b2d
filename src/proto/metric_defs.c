/* metric_defs.c - the table of proto/metrics.def for the registry, with the
 * label values known up front taken from the protocol's own tables (audit
 * reasons, dispatch names, close codes), and the process figures. */
#include "proto/metric_defs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/proto.h"

/* Known values of K() lists. */
#define K(set, ...) static const char *const known_##set[] = { __VA_ARGS__, NULL };
#include "proto/metrics.def"

static const char *const known_AUDIT[] = {
#define X(e, text) text,
#include "proto/audit_reasons.def"
#undef X
    NULL
};

static const char *const known_EVENTS[] = {
#define X(name) #name,
#include "proto/events.def"
#undef X
    NULL
};

#define STR2(x) #x
#define STR(x) STR2(x)
static const char *const known_CLOSES[] = {
#define X(code, name, policy, status, msg) STR(code),
#include "proto/close_codes.def"
#undef X
    "1000", "1001", "none", NULL
};
#define known_NONE NULL

/* Sweep durations: a few seconds (small guild, confirmations) to an hour. */
static const double sweep_buckets[] = { 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600 };

static const metric_family table[] = {
#define X(id, nm, ty, hl, l0, l1, k0, k1)                                                     \
    { .name = nm, .help = hl, .type = METRIC_##ty, .label = { l0, l1 },                       \
      .known = { known_##k0, known_##k1 },                                                    \
      .buckets = METRIC_##ty == METRIC_HISTOGRAM ? sweep_buckets : NULL,                      \
      .n_buckets = METRIC_##ty == METRIC_HISTOGRAM ? (int)(sizeof sweep_buckets / sizeof sweep_buckets[0]) : 0 },
#include "proto/metrics.def"
};

void metric_defs_install(void)
{
    metrics_drop_hook(metric_defs_process, NULL);
    metrics_define(table, MX_COUNT);
    metrics_on_render(metric_defs_process, NULL);
}

/* /proc/stat's btime: the boot time, seconds since the epoch; 0 unknown. */
static long long boot_time(void)
{
    FILE *f = fopen("/proc/stat", "r");
    char line[256];
    long long bt = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "btime %lld", &bt) == 1)
            break;
    fclose(f);
    return bt;
}

void metric_defs_process(void *unused)
{
    (void)unused;
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* Fields after the command (which may hold spaces): from field 3 on. */
    const char *p = strrchr(buf, ')');
    unsigned long utime, stime;
    unsigned long long start;
    long rss;
    double hz = (double)sysconf(_SC_CLK_TCK);
    if (!p || hz <= 0 ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d %llu %*u %ld",
               &utime, &stime, &start, &rss) != 4)
        return;
    metrics_set(MX_PROCESS_CPU, NULL, (double)(utime + stime) / hz);
    metrics_set(MX_PROCESS_RSS, NULL, (double)rss * (double)sysconf(_SC_PAGESIZE));
    long long bt = boot_time();
    if (bt)
        metrics_set(MX_PROCESS_START, NULL, (double)bt + (double)start / hz);
}
