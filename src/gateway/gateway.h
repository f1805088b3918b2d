/* gateway.h - the Discord gateway session as a sans-I/O state machine.
 *
 * Like nghttp2's session, it never touches a socket or a clock.  The owner
 * (transport_lws.c live, replay.c offline) feeds it events:
 *
 *     gateway_start()           once, to begin (emits CONNECT)
 *     gateway_on_open()         the websocket connected
 *     gateway_on_payload()      one complete, parsed gateway message (cJSON)
 *     gateway_on_bad_frame()    a message that could not be inflated/parsed
 *     gateway_on_closed()       the connection ended (close code, or -1 for none)
 *     gateway_on_url_refused()  the owner will not connect to the CONNECT's URL
 *     gateway_tick()            time passed; call at gateway_next_deadline()
 *     gateway_request_members() the application wants op 8 sent (budgeted)
 *
 * and after every call drains gateway_next_action() until it returns 0.  All
 * times are milliseconds on the owner's clock (monotonic live, recorded
 * time in replay), so replay is exact.
 *
 * Lifetimes: an action's text/url pointers stay valid until the next
 * gateway_next_action() or gw_* call.  A DISPATCH action's `data` points INTO the
 * cJSON payload given to gateway_on_payload(), so the owner drains the actions
 * before freeing that payload. */
#ifndef DC_GATEWAY_H
#define DC_GATEWAY_H

#include <stdint.h>
#include <cjson/cJSON.h>
#include "base/err.h"
#include "proto/proto.h"

typedef struct gateway_session gateway_session;

/* IDENTIFY budget shared by every shard of one process (sans-I/O data).
 * Filled from GET /gateway/bot's session_start_limit. */
typedef struct {
    int remaining;              /* identifies left in the window; -1 = unknown */
    int total;                  /* window size, refilled into `remaining` when reset_at_ms
                                   passes (the window is 24 h); 0 = unknown */
    int64_t reset_at_ms;        /* owner's clock: when `remaining` refills */
    int max_concurrency;        /* identifies per 5 s per rate-limit key */
    int64_t last_identify_ms[16]; /* per key (shard_id % max_concurrency), 0 = never */
} gateway_identify_budget;

typedef struct {
    const char *token;          /* bare token (no "Bot "); copied */
    uint32_t intents;
    int shard_id, shard_count;  /* shard_count 0/1 = unsharded, sends [id,count] only if > 1 */
    const char *gateway_url;    /* from /gateway/bot, e.g. wss://gateway.discord.gg; copied */
    int compress;               /* 1 = zlib-stream in the URL query */
    uint64_t seed;              /* PRNG seed for jitter (replay passes a fixed one) */
    int64_t hello_timeout_ms;   /* 0 = default 20000 */
    int max_resume_attempts;    /* consecutive failed resumes before a fresh identify; 0 = 3 */
    gateway_identify_budget *budget; /* may be NULL (no limit known) */
    int identify_lock;          /* 1: before each IDENTIFY ask the owner for the bucket's lock
                                   (GW_ACT_IDENTIFY_LOCK), shared with other processes of the bot */
} gateway_config;

typedef enum {
    GW_ACT_CONNECT = 1,  /* open a websocket to .url (full URL incl. ?v=10&encoding=json[&compress=zlib-stream]);
                            the owner must use a FRESH inflate context for it */
    GW_ACT_SEND,         /* send .text as one text frame (already <= 4096 bytes) */
    GW_ACT_CLOSE,        /* close the current connection with .code (never 1000/1001 when resuming) and .text reason,
                            then report gateway_on_closed() when it is gone */
    GW_ACT_DISPATCH,     /* op 0: .ev and .event name, .seq, .data (may be NULL) */
    GW_ACT_FATAL,        /* stop for good: .code = close code, .text = operator message, .exit_status */
    GW_ACT_IDENTIFY_LOCK, /* (identify_lock) the IDENTIFY of this connection waits for the lock of
                            bucket .code (shard_id % max_concurrency), which other processes of the
                            bot share: try it, answer with gateway_on_identify_lock, and when got,
                            hold it a little over 5 s (Discord counts identifies per 5 s per bucket) */
} gateway_action_kind;

typedef struct {
    gateway_action_kind kind;
    const char *url;
    const char *text;
    int code;
    int exit_status;
    dc_event ev;                /* DISPATCH: .event classified once (proto/events.def),
                                   DC_EV_UNKNOWN for names it does not list */
    const char *event;
    int64_t seq;
    const cJSON *data;
} gateway_action;

typedef enum {
    GW_DISCONNECTED = 0, /* waiting (backoff) before the next CONNECT */
    GW_CONNECTING,       /* CONNECT emitted, waiting for gateway_on_open */
    GW_WAIT_HELLO,
    GW_IDENTIFYING,      /* IDENTIFY sent, waiting for READY */
    GW_RESUMING,         /* RESUME sent, replay in progress until RESUMED */
    GW_READY,            /* session live */
    GW_CLOSING,          /* CLOSE emitted, waiting for gateway_on_closed */
    GW_STOPPED,          /* fatal, or gateway_shutdown done */
} gateway_state;

gateway_session *gateway_new(const gateway_config *cfg);
void gateway_free(gateway_session *gw);

/* Restore a persisted session so the first connection RESUMEs (at
 * resume_url when given).  Call before gateway_start. */
void gateway_restore(gateway_session *gw, const char *session_id, int64_t seq, const char *resume_url);

void gateway_start(gateway_session *gw, int64_t now_ms);
void gateway_on_open(gateway_session *gw, int64_t now_ms);
void gateway_on_payload(gateway_session *gw, const cJSON *payload, int64_t now_ms);
void gateway_on_bad_frame(gateway_session *gw, const char *why, int64_t now_ms);
void gateway_on_closed(gateway_session *gw, int close_code, int64_t now_ms);
/* The owner refuses the URL of the last CONNECT (`why` is a static string:
 * not ws/wss, plain ws:// to a non-loopback host).  The gateway URL itself:
 * FATAL with exit status 78.  A resume_gateway_url: a failed resume -- the
 * URL and the session are dropped and a CONNECT to the gateway URL follows
 * (to IDENTIFY).  A connect to the resume URL that fails (gateway_on_closed
 * while CONNECTING) makes the next connection resume at the gateway URL. */
void gateway_on_url_refused(gateway_session *gw, const char *why, int64_t now_ms);
/* The owner's answer to GW_ACT_IDENTIFY_LOCK: got 1 sends the IDENTIFY now;
 * 0 (another process holds the bucket) tries again GW_IDENTIFY_LOCK_RETRY_MS
 * later.  An answer nobody waits for (the connection is gone) is ignored. */
void gateway_on_identify_lock(gateway_session *gw, int got, int64_t now_ms);
#define GW_IDENTIFY_LOCK_RETRY_MS 250
void gateway_tick(gateway_session *gw, int64_t now_ms);
/* Absolute time of the next thing gateway_tick must do; INT64_MAX if none. */
int64_t gateway_next_deadline(const gateway_session *gw);

/* Graceful stop that keeps the session resumable: emits CLOSE with a 4xxx
 * code (not 1000), then STOPPED once closed. */
void gateway_shutdown(gateway_session *gw, int64_t now_ms);

/* Queue op 8 (query "", limit 0, nonce) for guild_id.  Sent when the session
 * is READY and the send budget (120/60 s, heartbeats reserved) allows.
 * DC_ERR_BUSY when not connected (or the queue is full); DC_ERR_USAGE for
 * guild_id 0 or a nonce over 32 bytes.  Queued requests survive a
 * reconnect and go out after the next READY/RESUMED. */
dc_err gateway_request_members(gateway_session *gw, uint64_t guild_id, const char *nonce, int64_t now_ms);

/* Queue any other application payload (e.g. op 3) under the same budget
 * as op 8 (110/60 s).  The payload is printed at once: DC_ERR_PROTO when it
 * exceeds 4096 bytes, DC_ERR_BUSY when not connected or the queue is full. */
dc_err gateway_send_app(gateway_session *gw, const cJSON *payload, int64_t now_ms);

/* 1 when an action was written to *out, 0 when the queue is empty. */
int gateway_next_action(gateway_session *gw, gateway_action *out);

gateway_state gateway_get_state(const gateway_session *gw);
const char *gateway_state_name(gateway_state st);
const char *gateway_session_id(const gateway_session *gw);   /* NULL when none */
int64_t gateway_seq(const gateway_session *gw);              /* -1 when none */
const char *gateway_resume_url(const gateway_session *gw);   /* NULL when none */
int gateway_shard_id(const gateway_session *gw);
/* 1 if the current/last session was established by RESUME, 0 by IDENTIFY. */
int gateway_resumed(const gateway_session *gw);
/* Round trip of the last heartbeat (ms), -1 when none yet. */
int64_t gateway_latency_ms(const gateway_session *gw);
/* When the last heartbeat ACK arrived (now_ms clock; kept across
 * reconnects), INT64_MIN when none yet; the connection's heartbeat
 * interval, 0 before HELLO.  The systemd watchdog's view (notify_live.c). */
int64_t gateway_last_ack_ms(const gateway_session *gw);
int64_t gateway_heartbeat_interval_ms(const gateway_session *gw);

#endif
