/* transport_lws.h - one gateway websocket per shard, driven by libwebsockets.
 *
 * A thin adapter: it turns socket events into gw_* calls and gw actions into
 * socket operations, nothing more.  All protocol decisions live in gateway.c;
 * everything the events mean lives in the daemon's dispatch handler. */
#ifndef DC_TRANSPORT_LWS_H
#define DC_TRANSPORT_LWS_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include "gateway/gateway.h"

typedef struct tl_conn tl_conn;

typedef struct {
    /* One dispatch (op 0) of this connection's session: ev is event's kind
     * (gw_action.ev).  data borrowed. */
    void (*on_dispatch)(void *ctx, tl_conn *c, dc_event ev, const char *event, int64_t seq, const cJSON *data);
    /* The connection ended (any reason); the session may reconnect.  May be NULL. */
    void (*on_disconnect)(void *ctx, tl_conn *c);
    /* The session cannot go on (fatal close code, refused URL). */
    void (*on_fatal)(void *ctx, tl_conn *c, int exit_status, const char *message);
    /* A raw frame crossed the wire (for --record); dir 'r' or 's'.
     * binary frames are passed as received (compressed), in pieces;
     * complete marks a message's last piece.  May be NULL. */
    void (*on_frame)(void *ctx, tl_conn *c, char dir, int binary, const void *data, size_t len, int complete);
    /* The websocket opened (open 1) or closed (open 0, close_code as
     * reported to the session; -1 none).  For --record.  May be NULL. */
    void (*on_conn)(void *ctx, tl_conn *c, int open, int close_code);
} tl_handlers;

/* The protocol entry to put in the context's protocol list (first). */
extern const struct lws_protocols tl_protocol;

/* Wraps gw (not owned).  max_message_bytes caps a received message. */
tl_conn *tl_conn_new(struct lws_context *ctx, gw_session *gw, size_t max_message_bytes,
                     const tl_handlers *h, void *hctx);
/* Closes the socket abruptly if still open; frees. */
void tl_conn_free(tl_conn *c);
/* Run the session's pending actions and re-arm its timer.  Call after any
 * gw_* call made from outside the transport (gw_start, gw_request_members,
 * gw_shutdown). */
void tl_conn_kick(tl_conn *c);
/* pause 1: stop reading the socket (lws rx flow control; what the kernel
 * and the peer buffer waits), on this and every later connection of c,
 * until called with 0.  Sending (heartbeats) goes on. */
void tl_conn_pause_rx(tl_conn *c, int pause);
gw_session *tl_conn_gw(tl_conn *c);
/* 1 when the connection ending now was closed by us (valid in on_conn). */
int tl_conn_closed_by_us(const tl_conn *c);
int tl_conn_is_open(const tl_conn *c);

/* Milliseconds on the monotonic clock the sessions run on. */
int64_t tl_now_ms(void);

#endif
