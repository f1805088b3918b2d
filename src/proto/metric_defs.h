/* metric_defs.h - the metric families of proto/metrics.def as ids for the
 * registry (base/metrics.h), and the process figures read at render time.
 * Call metric_defs_install() once before counting (the daemon does). */
#ifndef DC_METRIC_DEFS_H
#define DC_METRIC_DEFS_H

#include "base/metrics.h"

typedef enum {
#define X(id, name, type, help, l0, l1, k0, k1) MX_##id,
#include "proto/metrics.def"
    MX_COUNT
} metric_def_id;

/* metrics_define with the table of proto/metrics.def (every known label
 * value at 0) and the process figures' render hook.  Again: starts over. */
void metric_defs_install(void);
/* The process figures now (also the render hook): resident memory and CPU
 * time from /proc/self/stat, the start time from it and /proc/stat's btime. */
void metric_defs_process(void *unused);

#endif
