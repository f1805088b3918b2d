/* transport_lws.c - libwebsockets adapter for gateway sessions.
 *
 * Receive: lws hands over message pieces; binary pieces go through the
 * connection's zlib-stream inflater (a fresh one per connection), text
 * pieces are gathered until the message is complete.  Each complete JSON
 * message is parsed once and fed to gateway_on_payload().
 * Send: GW_ACT_SEND texts are queued and written one per WRITEABLE callback.
 * Close: GW_ACT_CLOSE sets the code and asks for WRITEABLE, where we return
 * -1 after lws_close_reason().  The close code Discord sends arrives in
 * PEER_INITIATED_CLOSE and is reported to the session at CLIENT_CLOSED. */
#include "gateway/transport_lws.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/json_arena.h"
#include "base/log.h"
#include "base/metrics.h"
#include "gateway/resolve.h"
#include "gateway/wsctx.h"
#include "gateway/zstream.h"
#include "base/vec.h"
#include "proto/metric_defs.h"

typedef struct transport_msg {
    struct transport_msg *next;
    size_t len;
    unsigned char buf[];      /* LWS_PRE headroom + payload */
} transport_msg;

struct transport_conn {
    struct lws_context *ctx;
    gateway_session *gw;
    struct lws *wsi;
    lws_sorted_usec_list_t sul;
    int64_t sul_due;          /* deadline sul is armed for; INT64_MAX = not armed */
    zstream *zs;
    size_t max_message;
    char *text;               /* gathered uncompressed message */
    size_t text_len, text_cap;
    int text_overflow;
    transport_msg *q_head, *q_tail;
    int close_code;           /* code we want to send, 0 = none */
    int peer_close_code;      /* code the server sent, -1 = none */
    int closing_ours;
    char host[256];           /* host of the current connection (for resolve_forget) */
    lws_sorted_usec_list_t resolve_sul;   /* asks resolve.c again while the host is looked up */
    char *resolving_url;      /* the URL that waits for its host's address; NULL: none */
    int64_t resolving_since;
    transport_handlers h;
    void *hctx;
    int draining;             /* re-entrancy guard for drain() */
    int rx_paused;            /* transport_conn_pause_rx */
};

int64_t transport_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void drain(transport_conn *c);

static void on_timer(lws_sorted_usec_list_t *sul)
{
    transport_conn *c = lws_container_of(sul, transport_conn, sul);
    c->sul_due = INT64_MAX;
    gateway_tick(c->gw, transport_now_ms());
    drain(c);
}

static void arm_timer(transport_conn *c)
{
    int64_t due = gateway_next_deadline(c->gw);
    /* Most messages leave the session's deadline where it was: re-arming
     * the sul for each of a burst's events costs a clock read and a
     * re-sort per message for nothing. */
    if (due == c->sul_due)
        return;
    c->sul_due = due;
    if (due == INT64_MAX) {
        lws_sul_cancel(&c->sul);
        return;
    }
    int64_t wait = due - transport_now_ms();
    if (wait < 0)
        wait = 0;
    lws_sul_schedule(c->ctx, 0, &c->sul, on_timer, (lws_usec_t)wait * LWS_USEC_PER_SEC / 1000);
}

static void queue_free(transport_conn *c)
{
    while (c->q_head) {
        transport_msg *m = c->q_head;
        c->q_head = m->next;
        free(m);
    }
    c->q_tail = NULL;
}

static void queue_send(transport_conn *c, const char *text)
{
    size_t len = strlen(text);
    transport_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m) {
        LOG_E("transport", "out of memory queueing a %zu-byte send", len);
        return;
    }
    m->next = NULL;
    m->len = len;
    memcpy(m->buf + LWS_PRE, text, len);
    if (c->q_tail)
        c->q_tail->next = m;
    else
        c->q_head = m;
    c->q_tail = m;
    if (c->wsi)
        lws_callback_on_writable(c->wsi);
}

/* Split ws[s]://host[:port]/path?query for lws. Returns 0 or -1. */
static int split_url(const char *url, char *host, size_t hcap, int *port, int *tls, char *path, size_t pcap)
{
    const char *p;
    if (strncmp(url, "wss://", 6) == 0) {
        *tls = 1; *port = 443; p = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        *tls = 0; *port = 80; p = url + 5;
    } else {
        return -1;
    }
    size_t hl = strcspn(p, ":/?");
    if (hl == 0 || hl >= hcap)
        return -1;
    memcpy(host, p, hl);
    host[hl] = '\0';
    p += hl;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (v <= 0 || v > 65535)
            return -1;
        *port = (int)v;
        p = end;
    }
    snprintf(path, pcap, "%s%s", *p == '/' ? "" : "/", p);
    return 0;
}

static void fatal(transport_conn *c, int exit_status, const char *msg)
{
    if (c->h.on_fatal)
        c->h.on_fatal(c->hctx, c, exit_status, msg);
}

static void do_connect(transport_conn *c, const char *url);

#define RESOLVE_POLL_MS 10
#define RESOLVE_WAIT_MS 20000        /* glibc gives up sooner (timeouts in resolv.conf): a bound */

static void stop_resolving(transport_conn *c)
{
    lws_sul_cancel(&c->resolve_sul);
    free(c->resolving_url);
    c->resolving_url = NULL;
}

static void on_resolve_timer(lws_sorted_usec_list_t *sul)
{
    transport_conn *c = lws_container_of(sul, transport_conn, resolve_sul);
    char *url = c->resolving_url;
    c->resolving_url = NULL;         /* do_connect waits again if it must */
    if (transport_now_ms() - c->resolving_since > RESOLVE_WAIT_MS) {
        LOG_W("transport", "shard %d: no address for %s after %d s", gateway_shard_id(c->gw), c->host,
              RESOLVE_WAIT_MS / 1000);
        c->resolving_since = 0;
        gateway_on_closed(c->gw, -1, transport_now_ms());
    } else if (url) {
        do_connect(c, url);
    }
    free(url);
    drain(c);                        /* what the session does next (a backoff, say) */
}

/* The host's address is being looked up: the connect goes on when it is
 * known, and the loop (every other shard's heartbeats) meanwhile. */
static void wait_for_address(transport_conn *c, const char *url)
{
    char *copy = strdup(url);
    if (!copy) {
        gateway_on_closed(c->gw, -1, transport_now_ms());
        return;
    }
    free(c->resolving_url);
    c->resolving_url = copy;
    if (!c->resolving_since)
        c->resolving_since = transport_now_ms();
    lws_sul_schedule(c->ctx, 0, &c->resolve_sul, on_resolve_timer, (lws_usec_t)RESOLVE_POLL_MS * 1000);
}

static void do_connect(transport_conn *c, const char *url)
{
    char addr[64], path[1024];
    int port, tls;
    if (split_url(url, c->host, sizeof c->host, &port, &tls, path, sizeof path) != 0) {
        gateway_on_url_refused(c->gw, "gateway URL is not a ws:// or wss:// URL", transport_now_ms());
        return;
    }
    if (!tls && !resolve_is_loopback(c->host)) {
        gateway_on_url_refused(c->gw, "refusing plain ws:// to a non-loopback gateway host (use wss://)",
                          transport_now_ms());
        return;
    }
    zstream_reset(c->zs);            /* one inflate context per connection */
    c->text_len = 0;
    c->text_overflow = 0;
    c->peer_close_code = -1;
    c->close_code = 0;
    c->closing_ours = 0;
    queue_free(c);
    dc_err found = resolve_host(c->host, addr, sizeof addr);
    if (found == DC_ERR_BUSY) {
        wait_for_address(c, url);
        return;
    }
    c->resolving_since = 0;
    if (found != DC_OK) {
        gateway_on_closed(c->gw, -1, transport_now_ms());
        return;
    }
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = addr;
    ci.port = port;
    ci.path = path;
    ci.host = c->host;          /* Host header, SNI and certificate name */
    ci.origin = c->host;
    ci.ssl_connection = tls ? LCCSCF_USE_SSL : 0;
    ci.protocol = NULL;         /* Discord negotiates no subprotocol */
    ci.local_protocol_name = transport_protocol.name;
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    ci.vhost = wsctx_vhost(c->ctx, tls);   /* wss://: TLS context made on first use */
    if (!ci.vhost) {
        fatal(c, 70, "no libwebsockets vhost for the gateway connection (TLS set-up failed?)");
        return;
    }
    LOG_I("transport", "shard %d: connecting to %s://%s:%d%s", gateway_shard_id(c->gw),
          tls ? "wss" : "ws", c->host, port, path);
    if (!lws_client_connect_via_info(&ci)) {
        c->wsi = NULL;
        LOG_W("transport", "shard %d: connect to %s failed at once", gateway_shard_id(c->gw), c->host);
        resolve_forget(c->host);
        gateway_on_closed(c->gw, -1, transport_now_ms());
    }
}

static void do_close(transport_conn *c, int code)
{
    if (c->resolving_url) {          /* closed before it connected */
        stop_resolving(c);
        c->resolving_since = 0;
    }
    if (!c->wsi) {
        gateway_on_closed(c->gw, -1, transport_now_ms());
        return;
    }
    c->close_code = code;
    c->closing_ours = 1;
    lws_callback_on_writable(c->wsi);
}

static void run_action(transport_conn *c, const gateway_action *a)
{
    switch (a->kind) {
    case GW_ACT_CONNECT:
        do_connect(c, a->url);
        break;
    case GW_ACT_SEND:
        if (c->h.on_frame)
            c->h.on_frame(c->hctx, c, 's', 0, a->text, strlen(a->text), 1);
        queue_send(c, a->text);
        break;
    case GW_ACT_CLOSE:
        do_close(c, a->code);
        break;
    case GW_ACT_DISPATCH:
        if (c->h.on_dispatch)
            c->h.on_dispatch(c->hctx, c, a->ev, a->event, a->seq, a->data);
        break;
    case GW_ACT_IDENTIFY_LOCK:
        gateway_on_identify_lock(c->gw, c->h.on_identify_lock ? c->h.on_identify_lock(c->hctx, c, a->code) : 1,
                                 transport_now_ms());
        break;
    case GW_ACT_FATAL:
        if (c->wsi) {
            c->close_code = 1000;   /* the session is dead anyway */
            c->closing_ours = 1;
            lws_callback_on_writable(c->wsi);
        }
        fatal(c, a->exit_status, a->text);
        break;
    }
}

/* Run every pending action, then re-arm the session's timer.  Actions may
 * call back into the session (a failed connect reports a close), so loop
 * until the queue stays empty; nested calls just let the outer loop work. */
static void drain(transport_conn *c)
{
    if (c->draining)
        return;
    c->draining = 1;
    gateway_action a;
    while (gateway_next_action(c->gw, &a))
        run_action(c, &a);
    c->draining = 0;
    arm_timer(c);
}

void transport_conn_kick(transport_conn *c) { drain(c); }
gateway_session *transport_conn_gw(transport_conn *c) { return c->gw; }
int transport_conn_is_open(const transport_conn *c) { return c->wsi != NULL; }
int transport_conn_closed_by_us(const transport_conn *c) { return c->closing_ours; }

#define TL_LARGE_MESSAGE (1u << 20)

/* After a message over 1 MiB, or a failed one: hand the memory it took back
 * (inflate buffers; with glibc, the freed nodes of its parse, which would
 * otherwise stay in the process's heap for good). */
static void give_back_memory(transport_conn *c)
{
    zstream_trim(c->zs);
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

void transport_conn_pause_rx(transport_conn *c, int pause)
{
    if (!c)
        return;
    c->rx_paused = pause;
    if (c->wsi)
        lws_rx_flow_control(c->wsi, pause ? 0 : 1);
}

static void handle_message(transport_conn *c, const char *json, size_t len)
{
    cJSON *payload = json_arena_parse(json, len);
    if (!payload) {
        gateway_on_bad_frame(c->gw, json_arena_last_error(), transport_now_ms());
    } else {
        gateway_on_payload(c->gw, payload, transport_now_ms());
    }
    /* Drain before freeing: DISPATCH actions point into the payload. */
    drain(c);
    json_arena_free(payload);
}

static void receive_binary(transport_conn *c, const void *in, size_t len, int complete)
{
    const char *out = NULL;
    size_t out_len = 0;
    if (zstream_feed(c->zs, in, len, complete, &out, &out_len) != DC_OK) {
        gateway_on_bad_frame(c->gw, zstream_last_error(c->zs), transport_now_ms());
        give_back_memory(c);
        drain(c);
        return;
    }
    if (out)
        handle_message(c, out, out_len);
    if (out_len > TL_LARGE_MESSAGE)
        give_back_memory(c);
}

static int text_append(transport_conn *c, const void *in, size_t len)
{
    if (c->text_len + len + 1 > c->max_message)
        return -1;
    if (VEC_GROW(c->text, c->text_cap, c->text_len + len + 1, 65536) != 0)
        return -1;
    memcpy(c->text + c->text_len, in, len);
    c->text_len += len;
    return 0;
}

static void receive_text(transport_conn *c, const void *in, size_t len, int complete)
{
    if (!c->text_overflow && text_append(c, in, len) != 0)
        c->text_overflow = 1;   /* keep reading to the end of the message */
    if (!complete)
        return;
    if (c->text_overflow)
        gateway_on_bad_frame(c->gw, "text message exceeds max_message_bytes", transport_now_ms());
    else
        handle_message(c, c->text, c->text_len);
    c->text_len = 0;
    c->text_overflow = 0;
    if (c->text_cap > TL_LARGE_MESSAGE) {   /* do not keep a huge buffer around */
        free(c->text);
        c->text = NULL;
        c->text_cap = 0;
        give_back_memory(c);
    }
    drain(c);
}

static int on_writeable(transport_conn *c, struct lws *wsi)
{
    if (c->close_code) {
        lws_close_reason(wsi, (enum lws_close_status)c->close_code, NULL, 0);
        return -1;
    }
    transport_msg *m = c->q_head;
    if (!m)
        return 0;
    c->q_head = m->next;
    if (!c->q_head)
        c->q_tail = NULL;
    int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
    free(m);
    if (n < 0)
        return -1;
    if (c->q_head)
        lws_callback_on_writable(wsi);
    return 0;
}

/* discord_cleaner_gateway_closes_total{shard,code}; -1 (no close frame): "none". */
static void count_close(int shard_id, int code)
{
    char id[16], cs[16];
    snprintf(id, sizeof id, "%d", shard_id);
    snprintf(cs, sizeof cs, "%d", code);
    metrics_inc2(MX_GATEWAY_CLOSES, id, code < 0 ? "none" : cs, 1);
}

static void on_closed(transport_conn *c, const char *how)
{
    int code = c->peer_close_code;
    c->wsi = NULL;
    queue_free(c);
    LOG_I("transport", "shard %d: connection %s (close code %d)", gateway_shard_id(c->gw), how, code);
    count_close(gateway_shard_id(c->gw), c->closing_ours ? c->close_code : code);
    if (c->h.on_disconnect)
        c->h.on_disconnect(c->hctx, c);
    if (c->h.on_conn)
        c->h.on_conn(c->hctx, c, 0, c->closing_ours ? c->close_code : code);
    gateway_on_closed(c->gw, c->closing_ours ? c->close_code : code, transport_now_ms());
    drain(c);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    (void)user;
    transport_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        if (!c)
            break;
        LOG_I("transport", "shard %d: websocket open", gateway_shard_id(c->gw));
        if (c->rx_paused)
            lws_rx_flow_control(wsi, 0);
        if (c->h.on_conn)
            c->h.on_conn(c->hctx, c, 1, -1);
        gateway_on_open(c->gw, transport_now_ms());
        drain(c);
        break;
    case LWS_CALLBACK_CLIENT_RECEIVE: {
        if (!c)
            break;
        int complete = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
        if (c->h.on_frame)
            c->h.on_frame(c->hctx, c, 'r', lws_frame_is_binary(wsi), in, len, complete);
        if (lws_frame_is_binary(wsi))
            receive_binary(c, in, len, complete);
        else
            receive_text(c, in, len, complete);
        break;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return c ? on_writeable(c, wsi) : 0;
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
        if (c && in && len >= 2)
            c->peer_close_code = ((const unsigned char *)in)[0] << 8 | ((const unsigned char *)in)[1];
        break;
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!c)
            break;
        LOG_W("transport", "shard %d: connection error: %s", gateway_shard_id(c->gw),
              in ? (const char *)in : "(no detail)");
        resolve_forget(c->host);
        on_closed(c, "failed");
        break;
    case LWS_CALLBACK_CLIENT_CLOSED:
        if (c)
            on_closed(c, "closed");
        break;
    default:
        break;
    }
    return 0;
}

const struct lws_protocols transport_protocol = {
    .name = "discord-gateway",
    .callback = callback,
    .per_session_data_size = 0,
    .rx_buffer_size = 65536,
};

transport_conn *transport_conn_new(struct lws_context *ctx, gateway_session *gw, size_t max_message_bytes,
                     const transport_handlers *h, void *hctx)
{
    transport_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->zs = zstream_new(max_message_bytes);
    if (!c->zs) {
        free(c);
        return NULL;
    }
    c->ctx = ctx;
    c->gw = gw;
    c->max_message = max_message_bytes;
    c->peer_close_code = -1;
    c->sul_due = INT64_MAX;
    if (h)
        c->h = *h;
    c->hctx = hctx;
    return c;
}

void transport_conn_free(transport_conn *c)
{
    if (!c)
        return;
    lws_sul_cancel(&c->sul);
    stop_resolving(c);
    if (c->wsi) {
        lws_set_opaque_user_data(c->wsi, NULL);
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_SYNC);
    }
    queue_free(c);
    zstream_free(c->zs);
    free(c->text);
    free(c);
}
