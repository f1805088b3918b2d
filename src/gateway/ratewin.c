/* ratewin.c - rolling-window event counter. */
#include "gateway/ratewin.h"

#include <string.h>

void ratewin_init(ratewin *w, int limit, int64_t span_ms)
{
    memset(w, 0, sizeof *w);
    w->limit = limit > RATEWIN_CAP ? RATEWIN_CAP : limit;
    w->span_ms = span_ms;
}

void ratewin_clear(ratewin *w) { w->n = 0; }

static void drop_expired(ratewin *w, int64_t now)
{
    int keep = 0;
    while (keep < w->n && w->at[keep] <= now - w->span_ms)
        keep++;
    if (keep == 0)
        return;
    memmove(w->at, w->at + keep, (size_t)(w->n - keep) * sizeof w->at[0]);
    w->n -= keep;
}

int ratewin_allows(ratewin *w, int64_t now)
{
    drop_expired(w, now);
    return w->n < w->limit;
}

void ratewin_add(ratewin *w, int64_t now)
{
    if (w->n >= RATEWIN_CAP) { /* never reached when callers check first */
        memmove(w->at, w->at + 1, (size_t)(w->n - 1) * sizeof w->at[0]);
        w->n--;
    }
    w->at[w->n++] = now;
}

int64_t ratewin_free_at(const ratewin *w)
{
    if (w->n < w->limit)
        return INT64_MIN;
    /* The (n - limit)th oldest event has to expire for one more to fit. */
    return w->at[w->n - w->limit] + w->span_ms;
}
