/* ratewin.h - a rolling-window event counter ("at most N per W ms").
 *
 * Used for the gateway's outgoing-message limit.  Holds the times of the
 * last RATEWIN_CAP events, oldest first; pure data, no clock of its own. */
#ifndef DC_RATEWIN_H
#define DC_RATEWIN_H

#include <stdint.h>

#define RATEWIN_CAP 128

typedef struct {
    int64_t span_ms;
    int limit;                  /* <= RATEWIN_CAP */
    int n;
    int64_t at[RATEWIN_CAP];
} ratewin;

void ratewin_init(ratewin *w, int limit, int64_t span_ms);
void ratewin_clear(ratewin *w);
/* 1 when one more event fits at now (drops expired events first). */
int ratewin_allows(ratewin *w, int64_t now);
/* Record an event at now; the caller checked ratewin_allows. */
void ratewin_add(ratewin *w, int64_t now);
/* Earliest time one more event fits; INT64_MIN when it fits already. */
int64_t ratewin_free_at(const ratewin *w);

#endif
