/* store_sweep_queue.c - the clearing queue of finished sweeps' member sets
 * (store_sweep_queue.h), one for each backend's store. */
#include "store/store_sweep_queue.h"

#include <stdlib.h>
#include <string.h>
#include "base/vec.h"

static size_t index_of(const store_sweep_queue *q, uint64_t guild_id)
{
    size_t i = 0;
    while (i < q->n && q->guilds[i] != guild_id)
        i++;
    return i;
}

int store_sweep_queued(const store_sweep_queue *q, uint64_t guild_id) { return index_of(q, guild_id) < q->n; }

int store_sweep_queue_push(store_sweep_queue *q, uint64_t guild_id)
{
    if (store_sweep_queued(q, guild_id))
        return 0;
    if (VEC_GROW(q->guilds, q->cap, q->n + 1, 4) != 0)
        return -1;
    q->guilds[q->n++] = guild_id;
    return 0;
}

void store_sweep_queue_forget(store_sweep_queue *q, uint64_t guild_id)
{
    size_t i = index_of(q, guild_id);
    if (i == q->n)
        return;
    memmove(&q->guilds[i], &q->guilds[i + 1], (q->n - i - 1) * sizeof *q->guilds);
    q->n--;
}

void store_sweep_queue_free(store_sweep_queue *q)
{
    free(q->guilds);
    *q = (store_sweep_queue){ 0 };
}
