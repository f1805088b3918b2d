/* gateway.c - the Discord gateway session state machine (sans-I/O).
 *
 * See gateway.h for the contract.  Facts: Discord's gateway docs
 * (https://discord.com/developers/docs/events/gateway: connecting, heartbeats, identify,
 * resume, rate limits, sharding), the opcode and close-code tables
 * (https://discord.com/developers/docs/topics/opcodes-and-status-codes) and the
 * issues cited where a rule comes from one.
 * Layout: helpers (randomness, actions, sending), the connection life cycle
 * (connect, login, heartbeat, close, reconnect), opcode handlers, and the
 * public entry points at the end. */
#include "gateway/gateway.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "proto/proto.h"
#include "gateway/ratewin.h"
#include "base/vec.h"

/* The shard a line is about, as a structured log field (json log_format). */
#define GW_SHARD(gw) (&(log_fields){ .shard = (gw)->shard_id, .rows = -1, .duration_ms = -1 })
#define GW_LOG "gateway"
#define GW_MAX_PAYLOAD 4096
#define GW_SEND_LIMIT 120          /* per connection per 60 s (4008 when exceeded) */
#define GW_APP_LIMIT 110           /* op 8 etc.: leaves room for heartbeats/identify/resume */
#define GW_SEND_WINDOW_MS 60000
#define GW_IDENTIFY_SPACING_MS 5000
#define GW_SESSION_WINDOW_MS (24 * 3600 * 1000LL)
#define GW_BACKOFF_BASE_MS 1000
#define GW_BACKOFF_CAP_MS 60000
#define GW_APP_QUEUE_MAX 1024
/* Beats a connection may leave unacknowledged while it keeps delivering
 * messages (see scheduled_beat). */
#define GW_BACKLOG_BEATS 3
/* ...and for at least this long: with a short interval (the bench's 250 ms)
 * a reader slowed by a busy machine lags the sender by more than three
 * beats while the connection is plainly alive (issue #14 item 16). */
#define GW_BACKLOG_MIN_MS 10000
#define GW_DEFAULT_HELLO_TIMEOUT_MS 20000
#define GW_DEFAULT_RESUME_ATTEMPTS 3
/* Our close code whenever we mean to resume: 1000/1001 would invalidate
 * the session (https://discord.com/developers/docs/events/gateway#initiating-a-disconnect). */
#define GW_CLOSE_KEEP_SESSION 4000

typedef enum { AFTER_CLOSE_RECONNECT = 0, AFTER_CLOSE_STOP } after_close;

typedef struct {
    gateway_action act;
    char *owned_text;   /* freed once the action has been handed out and expired */
    char *owned_url;
} queued_action;

struct gateway_session {
    /* configuration (copied) */
    char *token;
    uint32_t intents;
    int shard_id, shard_count;
    char *gateway_url;
    int compress;
    int64_t hello_timeout_ms;
    int max_resume_attempts;
    gateway_identify_budget *budget;
    uint64_t rng;

    gateway_state state;
    int started;

    /* the session: outlives connections */
    char *session_id;
    int64_t seq;
    char *resume_url;
    int resumed;
    int resume_failures;        /* consecutive connections whose RESUME never got RESUMED */
    int backoff_attempt;
    int64_t connect_at;         /* DISCONNECTED: when to emit CONNECT */

    /* the current connection */
    int sent_resume;            /* RESUME sent, RESUMED not yet seen */
    int via_resume_url;         /* this connection went to resume_gateway_url */
    int64_t hb_interval;        /* 0 until HELLO */
    int64_t next_beat_at;
    int64_t beat_sent_at;
    int ack_received;
    int received_since_beat;    /* payloads read since the last beat went out */
    int backlog_beats;          /* consecutive beats unacked while payloads kept coming */
    int64_t backlog_since;      /* when the first of them was sent */
    int64_t latency_ms;
    int64_t last_ack_at;        /* INT64_MIN until the first ACK (kept across connections) */
    int64_t hello_deadline;
    int identify_waiting;
    int64_t identify_at;
    int identify_lock;          /* config: ask for the bucket's lock first */
    int lock_asked;             /* GW_ACT_IDENTIFY_LOCK out, no answer yet */
    int lock_logged;            /* "waiting for the identify lock" said for this connection */
    after_close after;          /* CLOSING: what to do once closed */
    int64_t reconnect_min_delay;
    ratewin all_sends, app_sends;

    /* application payloads waiting for READY and the app budget */
    char **app_queue;
    size_t app_head, app_len, app_cap;

    /* actions not yet drained, and the strings of the last one handed out */
    queued_action *acts;
    size_t act_head, act_len, act_cap;
    char *popped_text, *popped_url;
};

/* ---- small helpers ----------------------------------------------------- */

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void replace_str(char **slot, const char *value)
{
    free(*slot);
    *slot = dup_str(value);
}

/* splitmix64: tiny, seedable, good enough for jitter. */
static uint64_t next_rand(gateway_session *gw)
{
    uint64_t z = (gw->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rand_unit(gateway_session *gw)
{
    return (double)(next_rand(gw) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n); 0 when n <= 0. */
static int64_t rand_below(gateway_session *gw, int64_t n)
{
    return n > 0 ? (int64_t)(next_rand(gw) % (uint64_t)n) : 0;
}

static int have_session(const gateway_session *gw)
{
    return gw->session_id != NULL && gw->seq >= 0;
}

static int is_connected(gateway_state st)
{
    return st == GW_WAIT_HELLO || st == GW_IDENTIFYING || st == GW_RESUMING || st == GW_READY;
}

static void set_state(gateway_session *gw, gateway_state st, const char *reason)
{
    if (gw->state != st)
        LOG_IF(GW_LOG, GW_SHARD(gw), "shard %d: %s -> %s (%s)", gw->shard_id, gateway_state_name(gw->state),
              gateway_state_name(st), reason);
    gw->state = st;
}

static void drop_session(gateway_session *gw, const char *reason)
{
    if (gw->session_id || gw->resume_url)
        LOG_I(GW_LOG, "shard %d: dropping session (%s); next connection identifies",
              gw->shard_id, reason);
    free(gw->session_id);
    free(gw->resume_url);
    gw->session_id = NULL;
    gw->resume_url = NULL;
    gw->seq = -1;
    gw->resume_failures = 0;
}

/* ---- actions ------------------------------------------------------------ */

static void release_popped(gateway_session *gw)
{
    free(gw->popped_text);
    free(gw->popped_url);
    gw->popped_text = NULL;
    gw->popped_url = NULL;
}

/* Takes ownership of owned_text / owned_url (freed on failure). */
static void push_action(gateway_session *gw, gateway_action act, char *owned_text, char *owned_url)
{
    if (gw->act_head == gw->act_len)
        gw->act_head = gw->act_len = 0;
    if (VEC_GROW(gw->acts, gw->act_cap, gw->act_len + 1, 16) != 0) {
        LOG_E(GW_LOG, "shard %d: out of memory queueing an action", gw->shard_id);
        free(owned_text);
        free(owned_url);
        return;
    }
    gw->acts[gw->act_len++] = (queued_action){ act, owned_text, owned_url };
}

/* ---- sending ------------------------------------------------------------ */

/* Prints payload; NULL (logged) when it cannot or it exceeds 4096 bytes. */
static char *print_payload(const gateway_session *gw, const cJSON *payload, dc_err *err)
{
    char *text = cJSON_PrintUnformatted(payload);
    if (!text) {
        *err = DC_ERR_NOMEM;
        return NULL;
    }
    size_t len = strlen(text);
    if (len > GW_MAX_PAYLOAD) {
        const cJSON *op = cJSON_GetObjectItemCaseSensitive(payload, "op");
        LOG_E(GW_LOG, "shard %d: refusing to send a %zu-byte %s payload (limit %d bytes)",
              gw->shard_id, len, cJSON_IsNumber(op) ? proto_op_name(op->valueint) : "?",
              GW_MAX_PAYLOAD);
        free(text);
        *err = DC_ERR_PROTO;
        return NULL;
    }
    *err = DC_OK;
    return text;
}

/* Sends already-printed text (ownership taken) if the 120/60 s budget allows. */
static dc_err send_text(gateway_session *gw, char *text, int is_app, int64_t now)
{
    if (!ratewin_allows(&gw->all_sends, now)) {
        LOG_W(GW_LOG, "shard %d: send budget of %d per 60 s exhausted; message dropped",
              gw->shard_id, GW_SEND_LIMIT);
        free(text);
        return DC_ERR_BUSY;
    }
    ratewin_add(&gw->all_sends, now);
    if (is_app)
        ratewin_add(&gw->app_sends, now);
    push_action(gw, (gateway_action){ .kind = GW_ACT_SEND, .text = text }, text, NULL);
    return DC_OK;
}

static dc_err send_payload(gateway_session *gw, const cJSON *payload, int64_t now)
{
    dc_err err;
    char *text = print_payload(gw, payload, &err);
    return text ? send_text(gw, text, 0, now) : err;
}

static cJSON *new_op(int op, cJSON **d_out)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *d = cJSON_CreateObject();
    if (!root || !d || !cJSON_AddNumberToObject(root, "op", op)) {
        cJSON_Delete(root);
        cJSON_Delete(d);
        return NULL;
    }
    cJSON_AddItemToObject(root, "d", d);
    *d_out = d;
    return root;
}

static void send_heartbeat(gateway_session *gw, int64_t now)
{
    cJSON *root = cJSON_CreateObject();
    if (root && cJSON_AddNumberToObject(root, "op", GW_OP_HEARTBEAT) &&
        (gw->seq >= 0 ? cJSON_AddNumberToObject(root, "d", (double)gw->seq)
                      : cJSON_AddNullToObject(root, "d")))
        send_payload(gw, root, now);
    else
        LOG_E(GW_LOG, "shard %d: out of memory building a heartbeat", gw->shard_id);
    cJSON_Delete(root);
}

static void flush_app_queue(gateway_session *gw, int64_t now)
{
    while (gw->state == GW_READY && gw->app_head < gw->app_len &&
           ratewin_allows(&gw->app_sends, now) && ratewin_allows(&gw->all_sends, now)) {
        char *text = gw->app_queue[gw->app_head++];
        send_text(gw, text, 1, now);
    }
    if (gw->app_head == gw->app_len)
        gw->app_head = gw->app_len = 0;
}

/* ---- connection life cycle ---------------------------------------------- */

/* base + "/?v=10&encoding=json[&compress=zlib-stream]", one '/' only. */
static char *connect_url(const gateway_session *gw)
{
    const char *base = have_session(gw) && gw->resume_url ? gw->resume_url : gw->gateway_url;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    const char *query = gw->compress ? "/?v=10&encoding=json&compress=zlib-stream"
                                     : "/?v=10&encoding=json";
    char *url = malloc(n + strlen(query) + 1);
    if (url) {
        memcpy(url, base, n);
        strcpy(url + n, query);
    }
    return url;
}

static void reset_connection(gateway_session *gw)
{
    gw->sent_resume = 0;
    gw->hb_interval = 0;
    gw->next_beat_at = INT64_MAX;
    gw->beat_sent_at = INT64_MIN;
    gw->ack_received = 1; /* fresh per connection: a stale false kills it (§5) */
    gw->received_since_beat = 0;
    gw->backlog_beats = 0;
    gw->hello_deadline = INT64_MAX;
    gw->identify_waiting = 0;
    gw->identify_at = INT64_MAX;
    gw->lock_asked = 0;
    gw->lock_logged = 0;
    ratewin_clear(&gw->all_sends);
    ratewin_clear(&gw->app_sends);
}

static void emit_connect(gateway_session *gw)
{
    char *url = connect_url(gw);
    if (!url) {
        LOG_E(GW_LOG, "shard %d: out of memory building the gateway URL", gw->shard_id);
        return;
    }
    reset_connection(gw);
    gw->via_resume_url = have_session(gw) && gw->resume_url;
    push_action(gw, (gateway_action){ .kind = GW_ACT_CONNECT, .url = url }, NULL, url);
    set_state(gw, GW_CONNECTING, have_session(gw) ? "connecting to resume" : "connecting to identify");
}

/* Emit CLOSE and remember what to do once the owner reports it closed. */
static void emit_close(gateway_session *gw, int code, const char *reason, after_close after,
                       int64_t min_reconnect_delay)
{
    LOG_IF(GW_LOG, GW_SHARD(gw), "shard %d: closing with %d: %s", gw->shard_id, code, reason);
    gw->after = after;
    gw->reconnect_min_delay = min_reconnect_delay;
    gw->next_beat_at = INT64_MAX;
    gw->hello_deadline = INT64_MAX;
    gw->identify_waiting = 0;
    gw->lock_asked = 0;
    push_action(gw, (gateway_action){ .kind = GW_ACT_CLOSE, .code = code, .text = reason }, NULL, NULL);
    set_state(gw, GW_CLOSING, reason);
}

static void emit_fatal(gateway_session *gw, int code, const char *message, int exit_status)
{
    LOG_EF(GW_LOG, GW_SHARD(gw), "shard %d: fatal: %s (close code %d)", gw->shard_id, message, code);
    push_action(gw, (gateway_action){ .kind = GW_ACT_FATAL, .code = code, .text = message,
                                 .exit_status = exit_status }, NULL, NULL);
    set_state(gw, GW_STOPPED, "fatal");
}

/* Exponential backoff with "equal jitter": attempt k waits in
 * [b/2, b] with b = 1 s * 2^k, capped at 60 s. */
static int64_t backoff_delay(gateway_session *gw)
{
    int64_t base = GW_BACKOFF_BASE_MS;
    for (int i = 0; i < gw->backoff_attempt && base < GW_BACKOFF_CAP_MS; i++)
        base *= 2;
    if (base > GW_BACKOFF_CAP_MS)
        base = GW_BACKOFF_CAP_MS;
    if (gw->backoff_attempt < 64)
        gw->backoff_attempt++;
    return base / 2 + rand_below(gw, base / 2 + 1);
}

static void schedule_reconnect(gateway_session *gw, int64_t now, int64_t min_delay, const char *why)
{
    int64_t delay = backoff_delay(gw);
    if (delay < min_delay)
        delay = min_delay;
    gw->connect_at = now + delay;
    LOG_IF(GW_LOG, GW_SHARD(gw), "shard %d: reconnecting in %lld ms (%s)", gw->shard_id, (long long)delay, why);
    set_state(gw, GW_DISCONNECTED, why);
}

/* The connection to resume_gateway_url failed before it opened (name not
 * resolved, nothing listening, handshake refused): after this one failure
 * resume at the cached gateway URL instead, which Discord also accepts,
 * keeping the session (an invalid one is then answered with op 9). */
static void forget_resume_url(gateway_session *gw)
{
    LOG_W(GW_LOG, "shard %d: could not connect to resume_gateway_url %s; "
          "resuming at the gateway URL instead", gw->shard_id, gw->resume_url);
    free(gw->resume_url);
    gw->resume_url = NULL;
}

/* A connection that sent RESUME ended without RESUMED. */
static void count_resume_failure(gateway_session *gw)
{
    gw->resume_failures++;
    if (gw->resume_failures >= gw->max_resume_attempts) {
        LOG_W(GW_LOG, "shard %d: %d consecutive resume attempts failed", gw->shard_id,
              gw->resume_failures);
        drop_session(gw, "resume attempts exhausted");
    }
}

/* ---- identify budget ------------------------------------------------------ */

/* Discord's rate-limit key of this shard's IDENTIFY. */
static int identify_bucket(const gateway_session *gw)
{
    int mc = gw->budget && gw->budget->max_concurrency > 0 ? gw->budget->max_concurrency : 1;
    return gw->shard_id % mc;
}

static int rate_key(const gateway_session *gw)
{
    int mc = gw->budget && gw->budget->max_concurrency > 0 ? gw->budget->max_concurrency : 1;
    int n_keys = (int)(sizeof gw->budget->last_identify_ms / sizeof gw->budget->last_identify_ms[0]);
    return (gw->shard_id % mc) % n_keys;
}

static void refill_budget(gateway_session *gw, int64_t now)
{
    gateway_identify_budget *b = gw->budget;
    if (!b || b->remaining != 0 || now < b->reset_at_ms)
        return;
    if (b->total > 0) {
        b->remaining = b->total;
        b->reset_at_ms = now + GW_SESSION_WINDOW_MS;
        LOG_I(GW_LOG, "shard %d: session start limit refilled to %d", gw->shard_id, b->total);
    } else {
        b->remaining = -1;
        LOG_W(GW_LOG, "shard %d: session start window reset; new limit unknown", gw->shard_id);
    }
}

/* Earliest time an IDENTIFY may go out (now when it may go now). */
static int64_t identify_allowed_at(gateway_session *gw, int64_t now, const char **why)
{
    gateway_identify_budget *b = gw->budget;
    int64_t at = now;
    *why = "";
    if (!b)
        return now;
    refill_budget(gw, now);
    if (b->remaining == 0 && b->reset_at_ms > at) {
        at = b->reset_at_ms;
        *why = "session start limit exhausted";
    }
    int64_t last = b->last_identify_ms[rate_key(gw)];
    if (last != 0 && last + GW_IDENTIFY_SPACING_MS > at) {
        at = last + GW_IDENTIFY_SPACING_MS;
        *why = "max_concurrency: one identify per 5 s per rate-limit key";
    }
    return at;
}

static void note_identify(gateway_session *gw, int64_t now)
{
    gateway_identify_budget *b = gw->budget;
    if (!b)
        return;
    if (b->remaining > 0)
        b->remaining--;
    b->last_identify_ms[rate_key(gw)] = now != 0 ? now : 1; /* 0 means "never" */
}

/* ---- login ---------------------------------------------------------------- */

static cJSON *build_identify(const gateway_session *gw)
{
    cJSON *d = NULL;
    cJSON *root = new_op(GW_OP_IDENTIFY, &d);
    if (!root)
        return NULL;
    cJSON *props = cJSON_AddObjectToObject(d, "properties");
    int ok = cJSON_AddStringToObject(d, "token", gw->token) && props &&
             cJSON_AddStringToObject(props, "os", "linux") &&
             cJSON_AddStringToObject(props, "browser", "discord-cleaner") &&
             cJSON_AddStringToObject(props, "device", "discord-cleaner") &&
             cJSON_AddNumberToObject(d, "intents", gw->intents) &&
             cJSON_AddNumberToObject(d, "large_threshold", 250) &&
             cJSON_AddFalseToObject(d, "compress");
    if (ok && gw->shard_count > 1) {
        int shard[2] = { gw->shard_id, gw->shard_count };
        cJSON *arr = cJSON_CreateIntArray(shard, 2);
        ok = arr && cJSON_AddItemToObject(d, "shard", arr);
    }
    if (!ok) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

static void send_identify(gateway_session *gw, int64_t now)
{
    cJSON *root = build_identify(gw);
    dc_err err = DC_ERR_NOMEM;
    char *text = root ? print_payload(gw, root, &err) : NULL;
    cJSON_Delete(root);
    if (!text) {
        /* Only an absurd token makes IDENTIFY too big; retrying cannot help. */
        emit_fatal(gw, 4002, err == DC_ERR_PROTO
                   ? "IDENTIFY payload exceeds 4096 bytes: the configured token is not a bot token"
                   : "out of memory building IDENTIFY", err == DC_ERR_PROTO ? 78 : 71);
        return;
    }
    note_identify(gw, now);
    send_text(gw, text, 0, now);
    set_state(gw, GW_IDENTIFYING, "IDENTIFY sent");
}

static void try_identify(gateway_session *gw, int64_t now)
{
    const char *why;
    int64_t at = identify_allowed_at(gw, now, &why);
    if (at > now) {
        if (!gw->identify_waiting)
            LOG_I(GW_LOG, "shard %d: waiting %lld ms before IDENTIFY (%s)", gw->shard_id,
                  (long long)(at - now), why);
        gw->identify_waiting = 1;
        gw->identify_at = at;
        set_state(gw, GW_IDENTIFYING, "waiting for the identify budget");
        return;
    }
    gw->identify_waiting = 0;
    gw->identify_at = INT64_MAX;
    if (gw->identify_lock) {
        /* Other processes of the bot share the bucket: the owner takes its
         * lock first (gateway_on_identify_lock). */
        if (!gw->lock_asked) {
            gw->lock_asked = 1;
            push_action(gw, (gateway_action){ .kind = GW_ACT_IDENTIFY_LOCK, .code = identify_bucket(gw) },
                        NULL, NULL);
            set_state(gw, GW_IDENTIFYING, "waiting for the identify lock");
        }
        return;
    }
    send_identify(gw, now);
}

void gateway_on_identify_lock(gateway_session *gw, int got, int64_t now_ms)
{
    if (!gw->lock_asked || gw->state != GW_IDENTIFYING)
        return;                       /* the connection it was for is gone */
    gw->lock_asked = 0;
    if (got) {
        send_identify(gw, now_ms);
        return;
    }
    if (!gw->lock_logged)
        LOG_I(GW_LOG, "shard %d: another process is identifying in bucket %d; waiting for its lock",
              gw->shard_id, identify_bucket(gw));
    gw->lock_logged = 1;
    gw->identify_waiting = 1;
    gw->identify_at = now_ms + GW_IDENTIFY_LOCK_RETRY_MS;
}

static void send_resume(gateway_session *gw, int64_t now)
{
    cJSON *d = NULL;
    cJSON *root = new_op(GW_OP_RESUME, &d);
    dc_err err = DC_ERR_NOMEM;
    char *text = NULL;
    if (root && cJSON_AddStringToObject(d, "token", gw->token) &&
        cJSON_AddStringToObject(d, "session_id", gw->session_id) &&
        cJSON_AddNumberToObject(d, "seq", (double)gw->seq))
        text = print_payload(gw, root, &err);
    cJSON_Delete(root);
    if (!text) {
        drop_session(gw, err == DC_ERR_PROTO ? "RESUME payload too large" : "out of memory building RESUME");
        try_identify(gw, now);
        return;
    }
    gw->sent_resume = 1;
    send_text(gw, text, 0, now);
    set_state(gw, GW_RESUMING, "RESUME sent");
}

/* Connect when the time has come (and, for a new session, the identify
 * budget allows: no point connecting only to wait for hours). */
static void maybe_connect(gateway_session *gw, int64_t now)
{
    if (now < gw->connect_at)
        return;
    if (!have_session(gw)) {
        const char *why;
        int64_t at = identify_allowed_at(gw, now, &why);
        if (at > now) {
            LOG_I(GW_LOG, "shard %d: delaying connect %lld ms (%s)", gw->shard_id,
                  (long long)(at - now), why);
            gw->connect_at = at;
            return;
        }
    }
    emit_connect(gw);
}

/* ---- heartbeat -------------------------------------------------------------- */

/* A connection that has not acknowledged the last beat is a zombie -- unless
 * it kept delivering meanwhile: then the ACK is queued behind what the
 * server sent before it (a large guild's member list can take longer than
 * an interval to read) and the connection is backlogged, not dead.  Such a
 * connection gets GW_BACKLOG_BEATS more beats, and GW_BACKLOG_MIN_MS at least;
 * a silent one is closed at once. */
static void scheduled_beat(gateway_session *gw, int64_t now)
{
    if (!gw->ack_received && gw->received_since_beat && gw->backlog_beats == 0)
        gw->backlog_since = gw->beat_sent_at;    /* the beat whose ACK is behind the backlog */
    if (!gw->ack_received && (!gw->received_since_beat || (++gw->backlog_beats > GW_BACKLOG_BEATS &&
                                                           now - gw->backlog_since >= GW_BACKLOG_MIN_MS))) {
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "zombie connection: no heartbeat ACK",
                   AFTER_CLOSE_RECONNECT, 0);
        return;
    }
    if (gw->ack_received)
        gw->backlog_beats = 0;
    else
        LOG_D(GW_LOG, "shard %d: heartbeat ACK late behind a receive backlog (%d)", gw->shard_id,
              gw->backlog_beats);
    send_heartbeat(gw, now);
    gw->received_since_beat = 0;
    gw->ack_received = 0;
    gw->beat_sent_at = now;
    gw->next_beat_at = now + gw->hb_interval;
}

/* ---- opcode handlers -------------------------------------------------------- */

static void on_ready(gateway_session *gw, const cJSON *d)
{
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(d, "session_id");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(d, "resume_gateway_url");
    if (cJSON_IsString(sid) && sid->valuestring[0]) {
        replace_str(&gw->session_id, sid->valuestring);
    } else {
        LOG_W(GW_LOG, "shard %d: READY without session_id; this session cannot be resumed",
              gw->shard_id);
        replace_str(&gw->session_id, NULL);
    }
    replace_str(&gw->resume_url, cJSON_IsString(url) && url->valuestring[0] ? url->valuestring : NULL);
    gw->resumed = 0;
    gw->resume_failures = 0;
    gw->backoff_attempt = 0;
    gw->sent_resume = 0;
    gw->identify_waiting = 0;
    if (gw->state != GW_CLOSING)
        set_state(gw, GW_READY, "READY: new session");
}

static void on_resumed(gateway_session *gw)
{
    gw->resumed = 1;
    gw->resume_failures = 0;
    gw->backoff_attempt = 0;
    gw->sent_resume = 0;
    if (gw->state != GW_CLOSING)
        set_state(gw, GW_READY, "RESUMED: replay complete");
}

static void on_dispatch(gateway_session *gw, const cJSON *payload, int64_t now)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(payload, "s");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(payload, "t");
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(payload, "d");
    int64_t seq = -1;
    if (cJSON_IsNumber(s) && s->valuedouble >= 0 && s->valuedouble < 9007199254740992.0) {
        seq = (int64_t)s->valuedouble;
        gw->seq = seq;
    }
    if (!cJSON_IsString(t)) {
        LOG_W(GW_LOG, "shard %d: dispatch without an event name skipped (s=%lld)", gw->shard_id,
              (long long)seq);
        return;
    }
    /* Every dispatch is handed on, including those replayed while RESUMING,
     * classified here once for every module after the gateway. */
    dc_event ev = dc_event_from_name(t->valuestring);
    push_action(gw, (gateway_action){ .kind = GW_ACT_DISPATCH, .ev = ev, .event = t->valuestring, .seq = seq,
                                 .data = cJSON_IsNull(d) ? NULL : d }, NULL, NULL);
    switch (ev) {
    case DC_EV_READY:
        if (!cJSON_IsObject(d)) {
            LOG_W(GW_LOG, "shard %d: READY with a non-object d ignored", gw->shard_id);
            return;
        }
        on_ready(gw, d);
        flush_app_queue(gw, now);
        break;
    case DC_EV_RESUMED:
        on_resumed(gw);
        flush_app_queue(gw, now);
        break;
    default:
        break;
    }
}

static void on_hello(gateway_session *gw, const cJSON *payload, int64_t now)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(payload, "d");
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(d, "heartbeat_interval");
    if (gw->state != GW_WAIT_HELLO) {
        LOG_W(GW_LOG, "shard %d: unexpected HELLO in state %s ignored", gw->shard_id,
              gateway_state_name(gw->state));
        return;
    }
    if (!cJSON_IsNumber(iv) || !(iv->valuedouble >= 1) || iv->valuedouble > 3600000) {
        LOG_W(GW_LOG, "shard %d: HELLO without a usable heartbeat_interval skipped", gw->shard_id);
        return;
    }
    gw->hb_interval = (int64_t)iv->valuedouble;
    /* First beat after interval * jitter, jitter in [0, 1)
     * (https://discord.com/developers/docs/events/gateway#sending-heartbeats). */
    gw->next_beat_at = now + (int64_t)floor((double)gw->hb_interval * rand_unit(gw));
    gw->ack_received = 1;
    gw->hello_deadline = INT64_MAX;
    LOG_D(GW_LOG, "shard %d: HELLO, heartbeat every %lld ms, first in %lld ms", gw->shard_id,
          (long long)gw->hb_interval, (long long)(gw->next_beat_at - now));
    if (have_session(gw))
        send_resume(gw, now);
    else
        try_identify(gw, now);
}

static void on_invalid_session(gateway_session *gw, const cJSON *payload)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(payload, "d");
    if (!cJSON_IsBool(d))
        LOG_W(GW_LOG, "shard %d: INVALID_SESSION with a non-boolean d; treating it as false",
              gw->shard_id);
    if (cJSON_IsTrue(d) && have_session(gw)) {
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "invalid session (resumable): reconnecting to resume",
                   AFTER_CLOSE_RECONNECT, 0);
        return;
    }
    /* A failed resume: forget resume_gateway_url as well
     * (https://discord.com/developers/docs/events/gateway#resuming;
     * https://github.com/twilight-rs/twilight/pull/1942)
     * and wait 1-5 s before the new IDENTIFY (historical guidance). */
    drop_session(gw, "invalid session");
    gw->sent_resume = 0;
    int64_t wait = 1000 + rand_below(gw, 4001);
    emit_close(gw, GW_CLOSE_KEEP_SESSION, "invalid session: starting a new session",
               AFTER_CLOSE_RECONNECT, wait);
}

static void on_heartbeat_ack(gateway_session *gw, int64_t now)
{
    gw->ack_received = 1;
    gw->last_ack_at = now;
    if (gw->beat_sent_at != INT64_MIN)
        gw->latency_ms = now - gw->beat_sent_at;
}

/* ---- public API ----------------------------------------------------------- */

gateway_session *gateway_new(const gateway_config *cfg)
{
    if (!cfg || !cfg->token || !cfg->token[0] || !cfg->gateway_url || !cfg->gateway_url[0] ||
        cfg->shard_id < 0 || (cfg->shard_count > 1 && cfg->shard_id >= cfg->shard_count)) {
        LOG_E(GW_LOG, "gateway configuration incomplete (token, gateway_url, shard)");
        return NULL;
    }
    gateway_session *gw = calloc(1, sizeof *gw);
    if (!gw)
        return NULL;
    /* The token goes out bare; tolerate a pasted "Bot " prefix. */
    const char *token = strncmp(cfg->token, "Bot ", 4) == 0 ? cfg->token + 4 : cfg->token;
    gw->token = strdup(token);
    gw->gateway_url = strdup(cfg->gateway_url);
    if (!gw->token || !gw->gateway_url) {
        gateway_free(gw);
        return NULL;
    }
    gw->intents = cfg->intents;
    gw->shard_id = cfg->shard_id;
    gw->shard_count = cfg->shard_count;
    gw->compress = cfg->compress;
    gw->hello_timeout_ms = cfg->hello_timeout_ms > 0 ? cfg->hello_timeout_ms : GW_DEFAULT_HELLO_TIMEOUT_MS;
    gw->max_resume_attempts = cfg->max_resume_attempts > 0 ? cfg->max_resume_attempts
                                                           : GW_DEFAULT_RESUME_ATTEMPTS;
    gw->budget = cfg->budget;
    gw->identify_lock = cfg->identify_lock;
    gw->rng = cfg->seed ^ ((uint64_t)cfg->shard_id * UINT64_C(0xD1B54A32D192ED03));
    gw->state = GW_DISCONNECTED;
    gw->seq = -1;
    gw->latency_ms = -1;
    gw->last_ack_at = INT64_MIN;
    gw->connect_at = INT64_MAX;
    ratewin_init(&gw->all_sends, GW_SEND_LIMIT, GW_SEND_WINDOW_MS);
    ratewin_init(&gw->app_sends, GW_APP_LIMIT, GW_SEND_WINDOW_MS);
    reset_connection(gw);
    return gw;
}

void gateway_free(gateway_session *gw)
{
    if (!gw)
        return;
    release_popped(gw);
    for (size_t i = gw->act_head; i < gw->act_len; i++) {
        free(gw->acts[i].owned_text);
        free(gw->acts[i].owned_url);
    }
    for (size_t i = gw->app_head; i < gw->app_len; i++)
        free(gw->app_queue[i]);
    free(gw->acts);
    free(gw->app_queue);
    if (gw->token) /* keep the secret out of freed heap memory */
        memset(gw->token, 0, strlen(gw->token));
    free(gw->token);
    free(gw->gateway_url);
    free(gw->session_id);
    free(gw->resume_url);
    free(gw);
}

void gateway_restore(gateway_session *gw, const char *session_id, int64_t seq, const char *resume_url)
{
    release_popped(gw);
    if (!session_id || !session_id[0] || seq < 0) {
        LOG_W(GW_LOG, "shard %d: nothing usable to restore; will identify", gw->shard_id);
        return;
    }
    replace_str(&gw->session_id, session_id);
    replace_str(&gw->resume_url, resume_url && resume_url[0] ? resume_url : NULL);
    gw->seq = seq;
    gw->resume_failures = 0;
    LOG_I(GW_LOG, "shard %d: restored a session at seq %lld; will resume", gw->shard_id,
          (long long)seq);
}

void gateway_start(gateway_session *gw, int64_t now_ms)
{
    release_popped(gw);
    if (gw->started) {
        LOG_W(GW_LOG, "shard %d: gateway_start called twice", gw->shard_id);
        return;
    }
    gw->started = 1;
    gw->connect_at = now_ms;
    maybe_connect(gw, now_ms);
}

void gateway_on_open(gateway_session *gw, int64_t now_ms)
{
    release_popped(gw);
    if (gw->state != GW_CONNECTING) {
        LOG_W(GW_LOG, "shard %d: open reported in state %s ignored", gw->shard_id,
              gateway_state_name(gw->state));
        return;
    }
    reset_connection(gw);
    gw->hello_deadline = now_ms + gw->hello_timeout_ms;
    set_state(gw, GW_WAIT_HELLO, "websocket open");
}

void gateway_on_payload(gateway_session *gw, const cJSON *payload, int64_t now_ms)
{
    release_popped(gw);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(payload, "op");
    if (!cJSON_IsObject(payload) || !cJSON_IsNumber(op)) {
        LOG_W(GW_LOG, "shard %d: payload without a numeric op skipped", gw->shard_id);
        return;
    }
    int code = op->valuedouble >= 0 && op->valuedouble <= 1000 ? (int)op->valuedouble : -1;
    gw->received_since_beat = 1;
    /* While CLOSING, dispatches still count (seq, events); nothing else does. */
    if (!is_connected(gw->state) && !(gw->state == GW_CLOSING && code == GW_OP_DISPATCH)) {
        LOG_D(GW_LOG, "shard %d: op %d in state %s ignored", gw->shard_id, code,
              gateway_state_name(gw->state));
        return;
    }
    switch (code) {
    case GW_OP_DISPATCH: on_dispatch(gw, payload, now_ms); break;
    case GW_OP_HEARTBEAT: send_heartbeat(gw, now_ms); break; /* no zombie accounting */
    case GW_OP_RECONNECT:
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "server requested reconnect (op 7)",
                   AFTER_CLOSE_RECONNECT, 0);
        break;
    case GW_OP_INVALID_SESSION: on_invalid_session(gw, payload); break;
    case GW_OP_HELLO: on_hello(gw, payload, now_ms); break;
    case GW_OP_HEARTBEAT_ACK: on_heartbeat_ack(gw, now_ms); break;
    default:
        LOG_W(GW_LOG, "shard %d: unexpected opcode %g (%s) skipped", gw->shard_id,
              op->valuedouble, proto_op_name(code));
        break;
    }
}

void gateway_on_bad_frame(gateway_session *gw, const char *why, int64_t now_ms)
{
    (void)now_ms;
    release_popped(gw);
    LOG_W(GW_LOG, "shard %d: bad frame: %s", gw->shard_id, why ? why : "?");
    if (gw->state == GW_RESUMING) {
        /* The frame came in the resume's replay (e.g. an event over
         * max_message_bytes): every further RESUME replays it again, so
         * resuming loops until the attempts run out (~10 s of backoff).
         * Start a new session now; its READY and the reconciliation sweep
         * make up for the events that are not replayed. */
        drop_session(gw, "the resume's replay holds a frame that cannot be read");
        gw->sent_resume = 0;
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "bad frame in the replay: starting a new session",
                   AFTER_CLOSE_RECONNECT, 0);
        return;
    }
    /* The inflate context may be poisoned: start over on a new connection
     * and resume, which replays anything lost. */
    if (is_connected(gw->state))
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "bad frame: reconnecting to resume",
                   AFTER_CLOSE_RECONNECT, 0);
}

static void on_closed_by_us(gateway_session *gw, int was_resuming, int64_t now)
{
    if (gw->after == AFTER_CLOSE_STOP) {
        set_state(gw, GW_STOPPED, "shut down; session left resumable");
        return;
    }
    if (was_resuming)
        count_resume_failure(gw);
    schedule_reconnect(gw, now, gw->reconnect_min_delay, "closed by us");
}

static void on_closed_by_peer(gateway_session *gw, int code, int was_resuming, int64_t now)
{
    proto_close_info ci = proto_close_lookup(code);
    if (ci.policy != GW_CLOSE_FATAL) /* emit_fatal logs the fatal ones */
        LOG_WF(GW_LOG, GW_SHARD(gw), "shard %d: connection closed: code %d %s (%s): %s", gw->shard_id, code,
          ci.name, proto_close_policy_name(ci.policy), ci.message);
    switch (ci.policy) {
    case GW_CLOSE_FATAL:
        emit_fatal(gw, code, ci.message, ci.exit_status);
        return;
    case GW_CLOSE_IDENTIFY:
        drop_session(gw, ci.message);
        break;
    case GW_CLOSE_RESUME:
        if (was_resuming)
            count_resume_failure(gw);
        break;
    }
    schedule_reconnect(gw, now, 0, ci.message);
}

void gateway_on_closed(gateway_session *gw, int close_code, int64_t now_ms)
{
    release_popped(gw);
    if (gw->state == GW_STOPPED || gw->state == GW_DISCONNECTED) {
        LOG_D(GW_LOG, "shard %d: close %d in state %s ignored", gw->shard_id, close_code,
              gateway_state_name(gw->state));
        return;
    }
    int was_resuming = gw->sent_resume;
    int we_closed = gw->state == GW_CLOSING;
    if (gw->state == GW_CONNECTING && gw->via_resume_url)
        forget_resume_url(gw);
    reset_connection(gw);
    if (we_closed)
        on_closed_by_us(gw, was_resuming, now_ms);
    else
        on_closed_by_peer(gw, close_code, was_resuming, now_ms);
}

void gateway_on_url_refused(gateway_session *gw, const char *why, int64_t now_ms)
{
    release_popped(gw);
    if (gw->state != GW_CONNECTING)
        return;
    if (!gw->via_resume_url) {
        emit_fatal(gw, 0, why, 78);   /* the configured gateway URL itself */
        return;
    }
    /* A READY named a resume URL we will not use: a failed resume, not a
     * configuration error (the URL came from the server, not the operator).
     * Exiting here would exit again at every start, the URL being saved. */
    LOG_W(GW_LOG, "shard %d: resume_gateway_url %s refused: %s", gw->shard_id, gw->resume_url, why);
    drop_session(gw, "unusable resume_gateway_url");
    reset_connection(gw);
    gw->connect_at = now_ms;
    set_state(gw, GW_DISCONNECTED, "resume URL refused: identifying at the gateway URL");
    maybe_connect(gw, now_ms);
}

void gateway_tick(gateway_session *gw, int64_t now_ms)
{
    release_popped(gw);
    if (gw->state == GW_DISCONNECTED && gw->started) {
        maybe_connect(gw, now_ms);
        return;
    }
    if (gw->state == GW_WAIT_HELLO && now_ms >= gw->hello_deadline) {
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "no HELLO in time: reconnecting",
                   AFTER_CLOSE_RECONNECT, 0);
        return;
    }
    if (!is_connected(gw->state))
        return;
    if (gw->hb_interval > 0 && now_ms >= gw->next_beat_at) {
        scheduled_beat(gw, now_ms);
        if (gw->state == GW_CLOSING)
            return;
    }
    if (gw->identify_waiting && now_ms >= gw->identify_at)
        try_identify(gw, now_ms);
    flush_app_queue(gw, now_ms);
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

int64_t gateway_next_deadline(const gateway_session *gw)
{
    switch (gw->state) {
    case GW_DISCONNECTED:
        return gw->started ? gw->connect_at : INT64_MAX;
    case GW_WAIT_HELLO:
        return gw->hello_deadline;
    case GW_IDENTIFYING:
    case GW_RESUMING:
    case GW_READY: {
        int64_t t = gw->hb_interval > 0 ? gw->next_beat_at : INT64_MAX;
        if (gw->identify_waiting)
            t = min64(t, gw->identify_at);
        if (gw->state == GW_READY && gw->app_head < gw->app_len) {
            int64_t a = ratewin_free_at(&gw->app_sends), b = ratewin_free_at(&gw->all_sends);
            int64_t release = a > b ? a : b;
            t = min64(t, release == INT64_MIN ? 0 : release);
        }
        return t;
    }
    default:
        return INT64_MAX;
    }
}

void gateway_shutdown(gateway_session *gw, int64_t now_ms)
{
    (void)now_ms;
    release_popped(gw);
    switch (gw->state) {
    case GW_STOPPED:
        return;
    case GW_DISCONNECTED:
        set_state(gw, GW_STOPPED, "shut down while disconnected");
        return;
    case GW_CLOSING:
        gw->after = AFTER_CLOSE_STOP;
        return;
    default:
        emit_close(gw, GW_CLOSE_KEEP_SESSION, "shutting down (session kept resumable)",
                   AFTER_CLOSE_STOP, 0);
        return;
    }
}

static dc_err enqueue_app(gateway_session *gw, char *text, int64_t now)
{
    if (gw->app_len - gw->app_head >= GW_APP_QUEUE_MAX) {
        free(text);
        return DC_ERR_BUSY;
    }
    if (gw->app_len == gw->app_cap && gw->app_head > 0) { /* compact before growing */
        memmove(gw->app_queue, gw->app_queue + gw->app_head,
                (gw->app_len - gw->app_head) * sizeof *gw->app_queue);
        gw->app_len -= gw->app_head;
        gw->app_head = 0;
    }
    if (VEC_GROW(gw->app_queue, gw->app_cap, gw->app_len + 1, 16) != 0) {
        free(text);
        return DC_ERR_NOMEM;
    }
    gw->app_queue[gw->app_len++] = text;
    flush_app_queue(gw, now);
    return DC_OK;
}

dc_err gateway_send_app(gateway_session *gw, const cJSON *payload, int64_t now_ms)
{
    release_popped(gw);
    if (!is_connected(gw->state))
        return DC_ERR_BUSY;
    dc_err err;
    char *text = print_payload(gw, payload, &err);
    return text ? enqueue_app(gw, text, now_ms) : err;
}

dc_err gateway_request_members(gateway_session *gw, uint64_t guild_id, const char *nonce, int64_t now_ms)
{
    if (guild_id == 0 || (nonce && strlen(nonce) > 32))
        return DC_ERR_USAGE;
    char id[24];
    snprintf(id, sizeof id, "%llu", (unsigned long long)guild_id);
    cJSON *d = NULL;
    cJSON *root = new_op(GW_OP_REQUEST_GUILD_MEMBERS, &d);
    int ok = root && cJSON_AddStringToObject(d, "guild_id", id) &&
             cJSON_AddStringToObject(d, "query", "") &&
             cJSON_AddNumberToObject(d, "limit", 0) &&
             (!nonce || !nonce[0] || cJSON_AddStringToObject(d, "nonce", nonce));
    dc_err err = ok ? gateway_send_app(gw, root, now_ms) : DC_ERR_NOMEM;
    cJSON_Delete(root);
    return err;
}

int gateway_next_action(gateway_session *gw, gateway_action *out)
{
    release_popped(gw);
    if (gw->act_head >= gw->act_len) {
        gw->act_head = gw->act_len = 0;
        return 0;
    }
    queued_action *q = &gw->acts[gw->act_head++];
    *out = q->act;
    gw->popped_text = q->owned_text;
    gw->popped_url = q->owned_url;
    return 1;
}

gateway_state gateway_get_state(const gateway_session *gw) { return gw->state; }

const char *gateway_state_name(gateway_state st)
{
    static const char *const names[] = {
        [GW_DISCONNECTED] = "DISCONNECTED", [GW_CONNECTING] = "CONNECTING",
        [GW_WAIT_HELLO] = "WAIT_HELLO",     [GW_IDENTIFYING] = "IDENTIFYING",
        [GW_RESUMING] = "RESUMING",         [GW_READY] = "READY",
        [GW_CLOSING] = "CLOSING",           [GW_STOPPED] = "STOPPED",
    };
    if ((int)st < 0 || (size_t)st >= sizeof names / sizeof names[0] || !names[st])
        return "UNKNOWN";
    return names[st];
}

const char *gateway_session_id(const gateway_session *gw) { return gw->session_id; }
int64_t gateway_seq(const gateway_session *gw) { return gw->seq; }
const char *gateway_resume_url(const gateway_session *gw) { return gw->resume_url; }
int gateway_shard_id(const gateway_session *gw) { return gw->shard_id; }
int gateway_resumed(const gateway_session *gw) { return gw->resumed; }
int64_t gateway_latency_ms(const gateway_session *gw) { return gw->latency_ms; }
int64_t gateway_last_ack_ms(const gateway_session *gw) { return gw->last_ack_at; }
int64_t gateway_heartbeat_interval_ms(const gateway_session *gw) { return gw->hb_interval; }
