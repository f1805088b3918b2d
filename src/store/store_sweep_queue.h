/* store_sweep_queue.h - the guilds whose finished sweep's member set waits
 * to be cleared a slice at a time (store_sweep_close, store_sweep_clear_
 * step), oldest first; shared by the backends (internal to src/store/). */
#ifndef DC_STORE_SWEEP_QUEUE_H
#define DC_STORE_SWEEP_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t *guilds;
    size_t n, cap;
} store_sweep_queue;

/* 1 when guild_id's set is queued. */
int store_sweep_queued(const store_sweep_queue *q, uint64_t guild_id);
/* Queues guild_id's set (once); -1 when out of memory (nothing queued). */
int store_sweep_queue_push(store_sweep_queue *q, uint64_t guild_id);
/* guild_id's set no longer waits (it is cleared right away, or refilled). */
void store_sweep_queue_forget(store_sweep_queue *q, uint64_t guild_id);
void store_sweep_queue_free(store_sweep_queue *q);

#endif
