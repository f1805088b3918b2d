/* turn_world.h - the daemon's core on the virtual loop, for the tests of
 * the turn (test_turn.c on SQLite, test_turn_pg.c on PostgreSQL): the store
 * of cfg->db, one shard whose session stands at seq 7, REST that always
 * fails.  Header-only: each test is built on its own. */
#ifndef DC_TURN_WORLD_H
#define DC_TURN_WORLD_H

#include "config/config.h"
#include "daemon/daemon_internal.h"
#include "loop/loop_virtual.h"

static inline void tw_no_rest(void *ctx, const char *method, const char *path, const char *json_body, long *status,
                       char **body)
{
    (void)ctx, (void)method, (void)path, (void)json_body;
    *status = 500;
    *body = NULL;
}

/* The daemon's core on cfg's database: store, one shard, session at seq 7. */
static inline void tw_start(dc_loop *loop, dc_daemon *d, const config *cfg)
{
    assert_int_equal(loop_virtual_init(loop, 1000, 1795780800000, tw_no_rest, NULL), DC_OK);
    daemon_init(d, cfg, loop);
    assert_int_equal(daemon_open_store(d), 0);
    d->n_shards = d->shard_count = 1;
    snprintf(d->gateway_url, sizeof d->gateway_url, "wss://gateway.discord.gg");
    assert_int_equal(daemon_shard_init(d, &d->shards[0], 0, 1), 0);
    d->shards[0].saved_seq = -1;
    gateway_restore(d->shards[0].gw, "session", 7, NULL);
}

/* As a process that ends: what is not committed is gone. */
static inline void tw_stop(dc_loop *loop, dc_daemon *d)
{
    turn_free(d);
    daemon_free_core(d);
    loop_virtual_free(loop);
}

#endif
