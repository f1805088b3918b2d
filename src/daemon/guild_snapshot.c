/* guild_snapshot.c - every stored guild's scheduling state in one read
 * (guild_snapshot.h says why). */
#include "daemon/guild_snapshot.h"

#include <stdlib.h>

#include "base/vec.h"
#include "policy/sweep.h"

typedef struct {
    guild_snapshot *gs;
    int out_of_memory;
} reading;

static int take(void *ctx, const store_guild_state *g)
{
    reading *r = ctx;
    guild_snapshot *gs = r->gs;
    if (VEC_GROW(gs->v, gs->cap, gs->n + 1, 256) != 0)
        return r->out_of_memory = 1;
    gs->v[gs->n++] = (guild_sched_state){ .guild_id = g->guild_id,
                                          .last_sweep_ms = g->last_sweep_ms,
                                          .unavailable = g->unavailable != 0,
                                          .needs_reconcile = g->needs_reconcile != 0,
                                          .result_holds = sweep_result_holds(g->last_sweep_result) != 0 };
    return 0;
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const guild_sched_state *)a)->guild_id, y = ((const guild_sched_state *)b)->guild_id;
    return x < y ? -1 : x > y;
}

dc_err guild_snapshot_read(guild_snapshot *gs, store *st)
{
    reading r = { .gs = gs };
    gs->n = 0;
    dc_err e = store_each_guild_state(st, take, &r);
    if (e == DC_OK && r.out_of_memory)
        e = DC_ERR_NOMEM;
    if (e != DC_OK) {
        gs->n = 0;
        return e;
    }
    if (gs->n > 1)
        qsort(gs->v, gs->n, sizeof *gs->v, by_id);   /* the store's order is not promised */
    return DC_OK;
}

const guild_sched_state *guild_snapshot_find(const guild_snapshot *gs, uint64_t guild_id)
{
    guild_sched_state key = { .guild_id = guild_id };
    return gs->n ? bsearch(&key, gs->v, gs->n, sizeof *gs->v, by_id) : NULL;
}

void guild_snapshot_free(guild_snapshot *gs)
{
    free(gs->v);
    gs->v = NULL;
    gs->n = gs->cap = 0;
}
