/* metrics.h - the process's Prometheus registry (metrics.c).
 *
 * Families are declared once in proto/metrics.def and handed over by
 * src/proto/metric_defs.c (metric_defs_install): base knows no family by
 * name.  A family has up to two labels; its series are found by label
 * values (a short linear search, no allocation once a series exists: a
 * series is allocated the first time its label values are seen).  Every
 * call is for the daemon's one loop thread.  Before metrics_define every
 * update is ignored, so code that runs without a daemon (the CLI, unit
 * tests of other layers) may call them freely. */
#ifndef DC_METRICS_H
#define DC_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef int metric_id;               /* index into the table given to metrics_define */

typedef enum { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM } metric_type;

typedef struct {
    const char *name, *help;
    metric_type type;
    const char *label[2];            /* label names; NULL: fewer labels */
    const char *const *known[2];     /* NULL-terminated values known up front, or NULL */
    const double *buckets;           /* HISTOGRAM: upper bounds, ascending (+Inf implied) */
    int n_buckets;
} metric_family;

#define METRICS_LABEL_MAX 64         /* longer label values are cut */
#define METRICS_SERIES_MAX 512       /* per family; later label values share label "other" */

/* Take the table (kept, not copied) and create a series at 0 for every
 * combination of known values (label0's known x label1's known; a label
 * without known values waits for metrics_declare).  Again: starts over. */
void metrics_define(const metric_family *fams, int n);
/* Free every series (tests, shutdown); updates are ignored afterwards. */
void metrics_reset(void);
/* Series at 0 for value of every family whose first label is label_name,
 * with each known value of its second label (e.g. ("shard", "3")). */
void metrics_declare(const char *label_name, const char *value);

/* Counters: one label (or none: label NULL), two labels. */
void metrics_inc(metric_id id, const char *label, uint64_t n);
void metrics_inc2(metric_id id, const char *a, const char *b, uint64_t n);
/* Gauges (and a counter read from elsewhere, e.g. CPU seconds). */
void metrics_set(metric_id id, const char *label, double v);
/* Histograms (no labels). */
void metrics_observe(metric_id id, double v);
/* The current value of a series (tests); NAN when it does not exist. */
double metrics_value(metric_id id, const char *a, const char *b);

/* fn(ctx) runs at the start of every metrics_render, to set gauges read
 * from elsewhere (process figures, shard states).  Up to 8 hooks. */
void metrics_on_render(void (*fn)(void *ctx), void *ctx);
void metrics_drop_hook(void (*fn)(void *ctx), void *ctx);

/* Prometheus text exposition format 0.0.4: # HELP and # TYPE per family,
 * label values escaped, histograms as _bucket{le=...}, _sum, _count.
 * malloc'd, NUL-terminated; *len its length (may be NULL).  NULL: no memory. */
char *metrics_render(size_t *len);

#endif
