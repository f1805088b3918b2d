/* store_sweep.c - the sweep calls of the store interface (store_sweep.h),
 * handed to the store's backend (store_backend_internal.h). */
#include "store/store_backend_internal.h"

dc_err store_sweep_open(store *s, uint64_t guild_id) { return s->be->sweep_open(s, guild_id); }

dc_err store_sweep_add(store *s, uint64_t guild_id, const uint64_t *ids, size_t n, int64_t *added)
{
    return s->be->sweep_add(s, guild_id, ids, n, added);
}

dc_err store_sweep_scan(store *s, uint64_t guild_id, int window, int64_t *cursor, int *more,
                        store_scan_fn fn, void *ctx)
{
    return s->be->sweep_scan(s, guild_id, window, cursor, more, fn, ctx);
}

dc_err store_sweep_delete_batch(store *s, uint64_t guild_id, int limit, int window, int64_t now_ms,
                                int64_t *cursor, int64_t *users, int *more)
{
    return s->be->sweep_delete_batch(s, guild_id, limit, window, now_ms, cursor, users, more);
}

dc_err store_sweep_close(store *s, uint64_t guild_id) { return s->be->sweep_close(s, guild_id); }
dc_err store_sweep_clear_step(store *s, int limit, int *more)
{
    return s->be->sweep_clear_step(s, limit, more);
}
