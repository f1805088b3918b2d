/* daemon_replay.c - the daemon as replay drives it (daemon_replay.h): one
 * shard on a loop replay owns, fed what its driver reads from a fixture.
 * Here so that replay needs nothing of the daemon's struct or shards. */
#include "daemon/daemon_replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/commands_live.h"
#include "daemon/daemon_internal.h"
#include "daemon/turn_cap.h"

dc_daemon *daemon_new(const config *cfg, dc_loop *loop, int turn_max_events)
{
    dc_daemon *d = malloc(sizeof *d);
    if (!d)
        return NULL;
    daemon_init(d, cfg, loop);
    turn_set_max_events(d, turn_max_events);
    d->budget.remaining = -1;        /* unknown, as when /gateway/bot gave no limit */
    d->budget.max_concurrency = 1;
    snprintf(d->gateway_url, sizeof d->gateway_url, "wss://gateway.discord.gg");
    return d;
}

void daemon_close_store(dc_daemon *d)
{
    checkpoint_cancel(&d->ckpt);
    store_close(d->st);
    d->st = NULL;
}

shard *daemon_add_shard(dc_daemon *d, int shard_id, int shard_count, uint64_t seed, daemon_kick_fn *kick,
                        void *kick_ctx)
{
    shard *s = &d->shards[0];
    d->shard_count = shard_count;
    d->n_shards = 1;
    if (daemon_shard_init(d, s, shard_id, seed) != 0)
        return NULL;
    s->kick = kick;
    s->kick_ctx = kick_ctx;
    s->saved_seq = -1;
    return s;
}

gateway_session *daemon_shard_session(shard *s)
{
    return s->gw;
}

sweep *daemon_shard_sweep(shard *s)
{
    return s->rc.sw;
}

void daemon_dispatch(shard *s, dc_event ev, const char *event, int64_t seq, const cJSON *data)
{
    events_on_dispatch(s, NULL, ev, event, seq, data);
}

void daemon_disconnected(shard *s)
{
    events_on_disconnect(s, NULL);
}

int daemon_stopping(const dc_daemon *d)
{
    return d->stopping;
}

int daemon_exit_status(const dc_daemon *d)
{
    return d->exit_status;
}

void daemon_get_counts(const dc_daemon *d, daemon_counts *out)
{
    out->events = d->events;
    out->malformed_events = d->malformed_events;
    removal_log_totals(&d->removals, out->removed);
}

store *daemon_store(dc_daemon *d)
{
    return d->st;
}

void daemon_free(dc_daemon *d)
{
    if (!d)
        return;
    daemon_free_core(d);
    /* The commands' state is the daemon's to free (daemon.c's teardown does
     * it after the REST client; replay's REST is its loop, freed after us). */
    commands_live_free(d);
    free(d);
}

void daemon_finish(dc_daemon *d)
{
    turn_finish(d);
}
