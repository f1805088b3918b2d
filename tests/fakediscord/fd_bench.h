/* fd_bench.h - what `make bench` needs from the double: a burst of member
 * removals emitted in one go, and the monotonic time each gateway message
 * was handed to the socket while stamping is on.
 *
 *   POST /_control/guilds/{id}/burst {"count":N}
 *        removes the N highest-id members (never the bot) with a
 *        GUILD_MEMBER_REMOVE each, stamping every message written from
 *        then on; answers {"ok":true,"removed":N}
 *   GET  /_control/burst
 *        {"ok":true,"stamps_us":[...]} (CLOCK_MONOTONIC microseconds of
 *        each completed message since the burst began) and stops stamping
 *
 * One burst at a time per double: the stamps are process-wide, because a
 * connection's write path has no route back to the server. */
#ifndef FD_BENCH_H
#define FD_BENCH_H

#include "fd_http.h"
#include "fd_server.h"

void fd_bench_burst(fd_server *srv, fd_guild *g, const cJSON *body, fd_resp *rs);
void fd_bench_stamps(fd_resp *rs);
/* A whole message went to the socket (called from fd_conn_write_next). */
void fd_bench_on_sent(void);

#endif
