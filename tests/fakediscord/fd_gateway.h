/* fd_gateway.h - the gateway side of the double: sessions (which outlive
 * their connections for the resume window and keep every dispatch for
 * replay), the opcode handlers, and emission of events to sessions.
 *
 * A session receives a guild's events when it is alive (connected, or
 * disconnected for less than resume_window_s and not invalidated), its
 * shard owns the guild ((guild_id >> 22) % shard_count) and it identified
 * with the intent the event needs.  Events for a disconnected session are
 * numbered and stored, and replayed by a later RESUME. */
#ifndef FD_GATEWAY_H
#define FD_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "fd_conn.h"
#include "fd_server.h"

typedef struct {
	int64_t s;
	char *json;
	size_t len;
} fd_event;

typedef struct fd_session {
	struct fd_session *next;
	char id[33];
	int shard_id, shard_count;
	bool has_shard;
	uint64_t intents;
	int64_t seq;            /* last sequence number assigned */
	fd_event *events;       /* events[first..n) are retained for replay */
	size_t first, n, cap, bytes;
	int64_t dropped_through;/* highest s no longer retained */
	fd_conn *conn;
	int64_t detached_ms;
	int resumes;
	bool invalid;
} fd_session;

/* A websocket connected to /gateway?<query>; sends HELLO. */
fd_conn *fd_gw_open(fd_server *srv, struct lws *wsi, const char *query);
/* The connection is gone; its session (if any) lives on unless the client
 * closed with 1000/1001. Frees c. */
void fd_gw_closed(fd_server *srv, fd_conn *c);
/* One received piece; final marks the end of a websocket message. */
void fd_gw_receive(fd_server *srv, fd_conn *c, const void *in, size_t len, bool final);
/* SERVER_WRITEABLE: -1 means close now. */
int fd_gw_writeable(fd_server *srv, fd_conn *c);

/* Number, store and send (if connected) one dispatch to one session. */
void fd_gw_dispatch(fd_server *srv, fd_session *s, const char *t, const char *d_json);
/* Dispatch to every alive session routed to guild_id that has need_intent
 * (0: no intent needed); returns how many sessions got it. */
int fd_gw_emit_guild(fd_server *srv, uint64_t guild_id, const char *t,
                     const char *d_json, uint64_t need_intent);
/* Dispatch to every alive session (shard < 0) or those of one shard. */
int fd_gw_emit_all(fd_server *srv, const char *t, const char *d_json, int shard);
/* GUILD_CREATE for g to the identified sessions of its shard. */
int fd_gw_guild_create(fd_server *srv, const fd_guild *g);
/* Raw message / opcode payload / close to every live connection. */
int fd_gw_raw_all(fd_server *srv, const void *data, size_t len, bool binary);
int fd_gw_payload_all(fd_server *srv, const char *json);
int fd_gw_close_all(fd_server *srv, int code, bool drop);
/* Mark every session invalid (after op 9 false). */
void fd_gw_invalidate_all(fd_server *srv);
/* {"connections","sessions":[...],...} for GET /_control/state. */
cJSON *fd_gw_state_json(fd_server *srv);
/* Frees every session and detaches (and closes) live connections. */
void fd_gw_free_all(fd_server *srv);

/* Demo: fires 5 s after the first READY (defined in fd_control.c). */
void fd_demo_fire(lws_sorted_usec_list_t *sul);

#endif
