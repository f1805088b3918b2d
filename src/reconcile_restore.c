/* reconcile_restore.c - the guilds a restored session is in (see
 * rc_restore_present in daemon_internal.h).
 *
 * Without this, a daemon restarted within the resume window would resume,
 * see no GUILD_CREATE, and so never sweep anything nor accept a `sweep`
 * command until the session happened to be re-identified.  A guild left
 * while stopped is dropped again by its replayed GUILD_DELETE; if the
 * resume fails, READY starts the list afresh. */
#include "daemon_internal.h"

static int add_if_ours(void *ctx, const store_guild_state *g)
{
    shard *s = ctx;
    if (g->shard_id == s->id && !g->unavailable)
        rc_guild_present(s, g->guild_id, 0);
    return 0;
}

void rc_restore_present(shard *s)
{
    store_each_guild_state(s->d->st, add_if_ours, s);
}
