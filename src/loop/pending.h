/* pending.h - contexts of REST requests still in flight.
 *
 * The REST client cancels requests without calling back when it is freed,
 * so whoever allocates a callback context links it here; the daemon frees
 * what is left at shutdown.  An intrusive circular list: no allocation. */
#ifndef DC_PENDING_H
#define DC_PENDING_H

typedef struct dc_pending {
    struct dc_pending *prev, *next;
} dc_pending;

static inline void pending_init(dc_pending *head) { head->prev = head->next = head; }

static inline void pending_add(dc_pending *head, dc_pending *n)
{
    n->next = head->next;
    n->prev = head;
    head->next->prev = n;
    head->next = n;
}

static inline void pending_del(dc_pending *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->prev = n->next = n;
}

#endif
