/* guild_snapshot.h - every stored guild's scheduling state, read in one
 * query and looked up by id.
 *
 * The sweep scheduler (reconcile.c) looks at every available guild each
 * time it runs.  One store_guild_get per guild was one round trip each:
 * with 10,000 guilds a single scheduler run held the event loop for about
 * a second (SQLite 1.1 s, PostgreSQL 0.76 s on loopback) and it runs after
 * every sweep.  One store_each_guild_state read is 2 to 10 ms. */
#ifndef DC_GUILD_SNAPSHOT_H
#define DC_GUILD_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

/* What the scheduler needs of store_guild_state, without its 512-byte text. */
typedef struct {
    uint64_t guild_id;
    int64_t last_sweep_ms;           /* 0 = never */
    unsigned char unavailable;
    unsigned char needs_reconcile;
    unsigned char result_holds;      /* sweep_result_holds(last_sweep_result) */
} guild_sched_state;

typedef struct {
    guild_sched_state *v;            /* sorted by guild_id */
    size_t n, cap;                   /* the allocation is kept from read to read */
} guild_snapshot;

/* Replaces the snapshot with the store's guild states now.  On an error
 * the snapshot is empty and the store's message says why. */
dc_err guild_snapshot_read(guild_snapshot *gs, store *st);
/* The guild's state, or NULL when it has no state row. */
const guild_sched_state *guild_snapshot_find(const guild_snapshot *gs, uint64_t guild_id);
void guild_snapshot_free(guild_snapshot *gs);

#endif
