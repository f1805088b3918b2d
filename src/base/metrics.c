/* metrics.c - the Prometheus registry and its text rendering (see metrics.h).
 * Holds the series of every family defined by metrics_define; a series is
 * allocated once, when its label values are first seen, so an update is a
 * short search and an add. */
#include "base/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char a[METRICS_LABEL_MAX], b[METRICS_LABEL_MAX];
    double value;                    /* counter, gauge; histogram: sum */
    uint64_t count;                  /* histogram: observations */
    uint64_t buckets[];              /* histogram: per upper bound (not cumulative) */
} series;

typedef struct {
    series **v;
    size_t n, cap;
} family_state;

typedef struct {
    void (*fn)(void *);
    void *ctx;
} render_hook;

static const metric_family *fams;
static family_state *state;
static int n_fams;
static render_hook hooks[8];

static void copy_label(char *dst, const char *src)
{
    snprintf(dst, METRICS_LABEL_MAX, "%s", src ? src : "");
}

static series *new_series(metric_id id, const char *a, const char *b)
{
    family_state *fs = &state[id];
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 16;
        series **v = realloc(fs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        fs->v = v;
        fs->cap = cap;
    }
    size_t nb = fams[id].type == METRIC_HISTOGRAM ? (size_t)fams[id].n_buckets : 0;
    series *s = calloc(1, sizeof *s + nb * sizeof s->buckets[0]);
    if (!s)
        return NULL;
    copy_label(s->a, a);
    copy_label(s->b, b);
    fs->v[fs->n++] = s;
    return s;
}

/* The series of (a, b), made when new; NULL for an unknown id or no memory. */
static series *find(metric_id id, const char *a, const char *b)
{
    if (id < 0 || id >= n_fams)
        return NULL;
    family_state *fs = &state[id];
    a = fams[id].label[0] ? (a ? a : "") : "";
    b = fams[id].label[1] ? (b ? b : "") : "";
    for (size_t i = 0; i < fs->n; i++)
        if (strncmp(fs->v[i]->a, a, METRICS_LABEL_MAX - 1) == 0 &&
            strncmp(fs->v[i]->b, b, METRICS_LABEL_MAX - 1) == 0)
            return fs->v[i];
    /* Bounded: past the cap a flood of odd values shares one series "other". */
    const char *oa = *a ? "other" : a, *ob = *b ? "other" : b;
    int is_other = strcmp(a, oa) == 0 && strcmp(b, ob) == 0;
    if (fs->n >= METRICS_SERIES_MAX - 1 && !is_other)
        return find(id, oa, ob);
    return fs->n < METRICS_SERIES_MAX ? new_series(id, a, b) : NULL;
}

void metrics_reset(void)
{
    for (int i = 0; i < n_fams; i++) {
        for (size_t k = 0; k < state[i].n; k++)
            free(state[i].v[k]);
        free(state[i].v);
    }
    free(state);
    state = NULL;
    fams = NULL;
    n_fams = 0;
}

/* Entries of a NULL-terminated list; a missing list counts as one (no label). */
static size_t list_len(const char *const *list)
{
    size_t n = 0;
    if (!list)
        return 1;
    while (list[n])
        n++;
    return n;
}

/* Series at 0 for a (NULL: each known value of label 0) with each known
 * value of label 1.  A label whose values are not known yet waits. */
static void make_known(metric_id id, const char *a)
{
    const metric_family *f = &fams[id];
    const char *one[] = { a, NULL };
    const char *const *as = a ? one : f->known[0], *const *bs = f->known[1];
    if ((f->label[0] && !as) || (f->label[1] && !bs))
        return;
    for (size_t i = 0; i < list_len(as); i++)
        for (size_t k = 0; k < list_len(bs); k++)
            find(id, as ? as[i] : NULL, bs ? bs[k] : NULL);
}

void metrics_define(const metric_family *f, int n)
{
    metrics_reset();
    state = calloc((size_t)n, sizeof *state);
    if (!state)
        return;
    fams = f;
    n_fams = n;
    for (int i = 0; i < n; i++)
        make_known(i, NULL);
}

void metrics_declare(const char *label_name, const char *value)
{
    for (int i = 0; i < n_fams; i++)
        if (fams[i].label[0] && strcmp(fams[i].label[0], label_name) == 0)
            make_known(i, value);
}

void metrics_inc(metric_id id, const char *label, uint64_t n)
{
    metrics_inc2(id, label, NULL, n);
}

void metrics_inc2(metric_id id, const char *a, const char *b, uint64_t n)
{
    series *s = find(id, a, b);
    if (s)
        s->value += (double)n;
}

void metrics_set(metric_id id, const char *label, double v)
{
    series *s = find(id, label, NULL);
    if (s)
        s->value = v;
}

void metrics_observe(metric_id id, double v)
{
    series *s = find(id, NULL, NULL);
    if (!s || fams[id].type != METRIC_HISTOGRAM)
        return;
    s->value += v;
    s->count++;
    for (int i = 0; i < fams[id].n_buckets; i++)
        if (v <= fams[id].buckets[i]) {
            s->buckets[i]++;
            break;
        }
}

double metrics_value(metric_id id, const char *a, const char *b)
{
    if (id < 0 || id >= n_fams)
        return NAN;
    a = a ? a : "";
    b = b ? b : "";
    for (size_t i = 0; i < state[id].n; i++)
        if (strcmp(state[id].v[i]->a, a) == 0 && strcmp(state[id].v[i]->b, b) == 0)
            return fams[id].type == METRIC_HISTOGRAM ? (double)state[id].v[i]->count : state[id].v[i]->value;
    return NAN;
}

void metrics_on_render(void (*fn)(void *ctx), void *ctx)
{
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        if (!hooks[i].fn) {
            hooks[i] = (render_hook){ fn, ctx };
            return;
        }
}

void metrics_drop_hook(void (*fn)(void *ctx), void *ctx)
{
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        if (hooks[i].fn == fn && hooks[i].ctx == ctx)
            hooks[i] = (render_hook){ 0 };
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct {
    char *p;
    size_t n, cap;
    int failed;
} sbuf;

__attribute__((format(printf, 2, 3)))
static void put(sbuf *sb, const char *fmt, ...)
{
    if (sb->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(sb->p + sb->n, sb->cap - sb->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            sb->failed = 1;
            return;
        }
        if ((size_t)k < sb->cap - sb->n) {
            sb->n += (size_t)k;
            return;
        }
        size_t cap = (sb->cap + (size_t)k + 1) * 2;
        char *p = realloc(sb->p, cap);
        if (!p) {
            sb->failed = 1;
            return;
        }
        sb->p = p;
        sb->cap = cap;
    }
}

/* A sample value: the shortest %g that reads back the same; +Inf, -Inf, NaN. */
static const char *fmt_value(double v, char buf[40])
{
    if (isnan(v))
        return "NaN";
    if (isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {   /* whole numbers (counters) as such */
        snprintf(buf, 40, "%.0f", v);
        return buf;
    }
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}

/* Escaped text: backslash and newline, and the double quote in a label value. */
static void put_escaped(sbuf *sb, const char *v, int quote)
{
    for (const char *c = v; *c; c++) {
        if (*c == '\\')
            put(sb, "\\\\");
        else if (*c == '\n')
            put(sb, "\\n");
        else if (*c == '"' && quote)
            put(sb, "\\\"");
        else
            put(sb, "%c", *c);
    }
}

static void put_label(sbuf *sb, const char *name, const char *v)
{
    put(sb, "%s=\"", name);
    put_escaped(sb, v, 1);
    put(sb, "\"");
}

static void put_help(sbuf *sb, const metric_family *f)
{
    static const char *types[] = { "counter", "gauge", "histogram" };
    put(sb, "# HELP %s ", f->name);
    put_escaped(sb, f->help, 0);
    put(sb, "\n# TYPE %s %s\n", f->name, types[f->type]);
}

static void put_labels(sbuf *sb, const metric_family *f, const series *s)
{
    if (!f->label[0])
        return;
    put(sb, "{");
    put_label(sb, f->label[0], s->a);
    if (f->label[1]) {
        put(sb, ",");
        put_label(sb, f->label[1], s->b);
    }
    put(sb, "}");
}

static void put_histogram(sbuf *sb, const metric_family *f, const series *s)
{
    char buf[40];
    uint64_t cum = 0;
    for (int i = 0; i < f->n_buckets; i++) {
        cum += s->buckets[i];
        put(sb, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", f->name, fmt_value(f->buckets[i], buf), cum);
    }
    put(sb, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", f->name, s->count);
    put(sb, "%s_sum %s\n%s_count %" PRIu64 "\n", f->name, fmt_value(s->value, buf), f->name, s->count);
}

static void put_family(sbuf *sb, metric_id id)
{
    const metric_family *f = &fams[id];
    char buf[40];
    put_help(sb, f);
    if (f->type == METRIC_HISTOGRAM && state[id].n == 0)
        find(id, NULL, NULL);        /* an empty histogram still shows its buckets */
    for (size_t i = 0; i < state[id].n; i++) {
        const series *s = state[id].v[i];
        if (f->type == METRIC_HISTOGRAM) {
            put_histogram(sb, f, s);
            continue;
        }
        put(sb, "%s", f->name);
        put_labels(sb, f, s);
        put(sb, " %s\n", fmt_value(s->value, buf));
    }
}

char *metrics_render(size_t *len)
{
    for (size_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        if (hooks[i].fn)
            hooks[i].fn(hooks[i].ctx);
    sbuf sb = { .p = malloc(4096), .cap = 4096 };
    if (!sb.p)
        return NULL;
    sb.p[0] = '\0';
    for (int i = 0; i < n_fams; i++)
        put_family(&sb, i);
    if (sb.failed) {
        free(sb.p);
        return NULL;
    }
    if (len)
        *len = sb.n;
    return sb.p;
}
