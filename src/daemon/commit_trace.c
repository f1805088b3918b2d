/* commit_trace.c - see commit_trace.h. */
#include "daemon/commit_trace.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static struct {
    int checked;
    FILE *f;
} T;

int64_t commit_trace_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void commit_trace_note(int64_t events, int64_t wakeups, int64_t started_us)
{
    if (!T.checked) {
        const char *path = getenv("DISCORD_CLEANER_COMMIT_TRACE");
        T.checked = 1;
        T.f = path && *path ? fopen(path, "a") : NULL;
    }
    if (!T.f)
        return;
    int64_t now = commit_trace_clock();
    /* Flushed per line: the bench reads the file while the daemon runs. */
    fprintf(T.f, "events=%" PRId64 " mono_us=%" PRId64 " wakeups=%" PRId64 " commit_us=%" PRId64 "\n", events, now,
            wakeups, now - started_us);
    fflush(T.f);
}

void commit_trace_close(void)
{
    if (T.f)
        fclose(T.f);
    T.f = NULL;
    T.checked = 0;
}
