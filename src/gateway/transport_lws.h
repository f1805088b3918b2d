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

typedef struct transport_conn transport_conn;

typedef struct {
    /* One dispatch (op 0) of this connection's session: ev is event's kind
     * (gateway_action.ev).  data borrowed. */
    void (*on_dispatch)(void *ctx, transport_conn *c, dc_event ev, const char *event, int64_t seq, const cJSON *data);
    /* The connection ended (any reason); the session may reconnect.  May be NULL. */
    void (*on_disconnect)(void *ctx, transport_conn *c);
    /* The session cannot go on (fatal close code, refused URL). */
    void (*on_fatal)(void *ctx, transport_conn *c, int exit_status, const char *message);
    /* A raw frame crossed the wire (for --record); dir 'r' or 's'.
     * binary frames are passed as received (compressed), in pieces;
     * complete marks a message's last piece.  May be NULL. */
    void (*on_frame)(void *ctx, transport_conn *c, char dir, int binary, const void *data, size_t len, int complete);
    /* The websocket opened (open 1) or closed (open 0, close_code as
     * reported to the session; -1 none).  For --record.  May be NULL. */
    void (*on_conn)(void *ctx, transport_conn *c, int open, int close_code);
    /* The session's IDENTIFY waits for the lock of bucket (GW_ACT_IDENTIFY_LOCK):
     * 1 when the owner now holds it for this IDENTIFY, 0 when another process
     * does.  NULL: granted at once. */
    int (*on_identify_lock)(void *ctx, transport_conn *c, int bucket);
} transport_handlers;

/* The protocol entry to put in the context's protocol list (first). */
extern const struct lws_protocols transport_protocol;

/* Wraps gw (not owned).  max_message_bytes caps a received message. */
transport_conn *transport_conn_new(struct lws_context *ctx, gateway_session *gw, size_t max_message_bytes,
                     const transport_handlers *h, void *hctx);
/* Closes the socket abruptly if still open; frees. */
void transport_conn_free(transport_conn *c);
/* Run the session's pending actions and re-arm its timer.  Call after any
 * gw_* call made from outside the transport (gateway_start, gateway_request_members,
 * gateway_shutdown). */
void transport_conn_kick(transport_conn *c);
/* pause 1: stop reading the socket (lws rx flow control; what the kernel
 * and the peer buffer waits), on this and every later connection of c,
 * until called with 0.  Sending (heartbeats) goes on. */
void transport_conn_pause_rx(transport_conn *c, int pause);
gateway_session *transport_conn_gw(transport_conn *c);
/* 1 when the connection ending now was closed by us (valid in on_conn). */
int transport_conn_closed_by_us(const transport_conn *c);
int transport_conn_is_open(const transport_conn *c);

/* Milliseconds on the monotonic clock the sessions run on. */
int64_t transport_now_ms(void);

#endif
