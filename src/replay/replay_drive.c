/* replay_drive.c - feed a fixture through the live daemon's code path.
 *
 * The recorded entries are handed to the gateway session exactly as
 * transport_lws.c hands over socket events (open, message, close), at their
 * recorded times on the virtual clock; between entries the virtual loop
 * fires whatever timers fall due (heartbeats, sweep timeouts, the
 * scheduler, the per-turn COMMIT), in order.  What the session asks the
 * transport to do is carried out here: SEND is captured and counted
 * (compared with the recording at the end), CONNECT waits for the next
 * recorded connection, CLOSE ends the current one, DISPATCH runs the
 * daemon's dispatch code, FATAL stops the replay with its exit status.
 *
 * When the session asks for a connection later than the recording opened
 * one (its jitter differs from the recorded process's), the rest of the
 * recording is shifted by the difference, so relative timing stays intact. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/cleaner.h"
#include "gateway/json_arena.h"
#include "base/log.h"
#include "loop/loop_virtual.h"
#include "proto/proto.h"
#include "replay/replay_internal.h"

static int64_t now(replay *r) { return loop_now(&r->loop); }

static void on_gw_timer(dc_timer *t)
{
    replay *r = lws_container_of(t, replay, gw_timer);
    gateway_tick(r->gw, now(r));
    replay_kick(r);
}

static void count_send(replay *r, const char *text)
{
    cJSON *j = cJSON_Parse(text);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
    char name[16];
    snprintf(name, sizeof name, "%d", cJSON_IsNumber(op) ? op->valueint : -1);
    replay_count(r->sent_ops, name);
    if (cJSON_IsNumber(op) && op->valueint == GW_OP_HEARTBEAT && r->fx.auto_ack)
        r->ack_owed = 1;
    cJSON_Delete(j);
}

static void close_ours(replay *r, int code)
{
    r->connected = 0;
    daemon_disconnected(r->s);
    gateway_on_closed(r->gw, code, now(r));
}

static void run_action(replay *r, const gateway_action *a)
{
    switch (a->kind) {
    case GW_ACT_CONNECT:
        break;                       /* the next recorded "open" is this connection */
    case GW_ACT_SEND:
        count_send(r, a->text);
        break;
    case GW_ACT_CLOSE:
        close_ours(r, a->code);
        break;
    case GW_ACT_DISPATCH:
        daemon_dispatch(r->s, a->ev, a->event, a->seq, a->data);
        break;
    case GW_ACT_IDENTIFY_LOCK:
        gateway_on_identify_lock(r->gw, 1, now(r));   /* one process: nobody to share a bucket with */
        break;
    case GW_ACT_FATAL:
        LOG_E("replay", "the session stopped: %s", a->text ? a->text : "?");
        if (r->connected)
            close_ours(r, 1000);
        daemon_request_stop(r->d, a->exit_status);
        break;
    }
}

static void feed_payload(replay *r, const cJSON *payload);

/* Run the session's pending actions, re-arm its timer, answer heartbeats
 * when the fixture asks for it (hand-written fixtures record no ACKs). */
void replay_kick(void *ctx)
{
    replay *r = ctx;
    if (r->draining)
        return;
    r->draining = 1;
    gateway_action a;
    while (gateway_next_action(r->gw, &a))
        run_action(r, &a);
    r->draining = 0;
    int64_t due = gateway_next_deadline(r->gw);
    if (due == INT64_MAX)
        loop_cancel(&r->loop, &r->gw_timer);
    else
        loop_timer(&r->loop, &r->gw_timer, on_gw_timer, due - now(r));
    if (r->ack_owed && r->connected) {
        r->ack_owed = 0;
        cJSON *ack = cJSON_CreateObject();
        cJSON_AddNumberToObject(ack, "op", GW_OP_HEARTBEAT_ACK);
        feed_payload(r, ack);
        cJSON_Delete(ack);
    }
}

/* ---- received messages ---------------------------------------------------- */

/* Anomalies the session and the cleaner survive silently (they log them),
 * and what the summary counts.  inspect runs before the payload is fed;
 * a known dispatch is checked again after it (inspect_dispatch). */
typedef struct {
    const char *event;                /* a known dispatch's name (points into the payload) */
    dc_event kind;                    /* and its kind */
    int64_t events, malformed;        /* the daemon's counters before it was fed */
} inspected;

static void count_op(replay *r, int op)
{
    char name[16];
    cJSON **cached = op >= 0 && op < REPLAY_CACHED_OPS ? &r->op_counts[op] : NULL;
    if (cached && *cached) {
        cJSON_SetNumberValue(*cached, (*cached)->valuedouble + 1);
        return;
    }
    snprintf(name, sizeof name, "%d", op);
    replay_count(r->recv_ops, name);
    if (cached)
        *cached = cJSON_GetObjectItemCaseSensitive(r->recv_ops, name);
}

static void count_command(replay *r, const cJSON *d)
{
    char name[64];
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(d, "content");
    size_t pl = strlen(r->cfg.prefix);
    if (cJSON_IsString(content) && strncmp(content->valuestring, r->cfg.prefix, pl) == 0) {
        snprintf(name, sizeof name, "%.*s", (int)strcspn(content->valuestring + pl, " \t\n"),
                 content->valuestring + pl);
        replay_count(r->commands, name);
    }
}

/* 1 when p is a known dispatch (in filled in for inspect_dispatch). */
static int inspect(replay *r, const cJSON *p, inspected *in)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(p, "op");
    char name[16];
    if (!cJSON_IsObject(p) || !cJSON_IsNumber(op)) {
        replay_anomaly(r, "payload_without_op", "a message without a numeric op");
        return 0;
    }
    count_op(r, op->valueint);
    if (op->valueint != GW_OP_DISPATCH && strcmp(proto_op_name(op->valueint), "UNKNOWN") == 0) {
        snprintf(name, sizeof name, "%d", op->valueint);
        replay_anomaly(r, "unknown_op", name);
        return 0;
    }
    if (op->valueint != GW_OP_DISPATCH)
        return 0;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(p, "t");
    if (!cJSON_IsString(t)) {
        replay_anomaly(r, "dispatch_without_name", "op 0 without a string t");
        return 0;
    }
    if (!replay_count_cached(r->events, t->valuestring, &r->event_count))
        r->event_kind = dc_event_from_name(t->valuestring);
    if (r->event_kind == DC_EV_UNKNOWN) {
        replay_anomaly(r, "unknown_event", t->valuestring);
        return 0;
    }
    if (r->event_kind == DC_EV_MESSAGE_CREATE)
        count_command(r, cJSON_GetObjectItemCaseSensitive(p, "d"));
    daemon_counts c;
    daemon_get_counts(r->d, &c);
    *in = (inspected){ .event = t->valuestring, .kind = r->event_kind, .events = c.events, .malformed = c.malformed_events };
    return 1;
}

/* A known dispatch, after it was fed: malformed when the cleaner refused
 * it.  The daemon's dispatch counts that (events.c); only when the session
 * did not hand the event on (it was not connected) is the cleaner asked
 * here, as before, so the classification does not depend on the state. */
static void inspect_dispatch(replay *r, const cJSON *p, const inspected *in)
{
    int malformed;
    daemon_counts c;
    daemon_get_counts(r->d, &c);
    if (c.events != in->events) {
        malformed = c.malformed_events != in->malformed;
    } else {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "d");
        cleaner_context cx = { .shard_count = 1, .max_delete_share = 1 };
        cleaner_actions acts = { 0 };
        malformed = cleaner_on_dispatch(&cx, in->kind, cJSON_IsNull(d) ? NULL : d, &acts) == DC_ERR_PROTO;
        cleaner_actions_free(&acts);
    }
    if (malformed)
        replay_anomaly(r, "malformed_payload", in->event);
}

static void feed_payload(replay *r, const cJSON *payload)
{
    gateway_on_payload(r->gw, payload, now(r));
    replay_kick(r);               /* before the payload goes: DISPATCH points into it */
}

static void bad_frame(replay *r, const char *kind, const char *why)
{
    replay_anomaly(r, kind, why);
    gateway_on_bad_frame(r->gw, why, now(r));
    replay_kick(r);
}

/* The fixture is bad at the line being fed: the replay stops there. */
static void fixture_bad(replay *r, const char *why)
{
    if (!r->fixture_error[0])
        snprintf(r->fixture_error, sizeof r->fixture_error, "line %d: %s", r->cur_line, why);
    daemon_request_stop(r->d, 65);
}

/* A text message, parsed here as transport_lws.c parses it.  json_text: it
 * is a fixture line's "json" value, so bad JSON is the fixture's fault, not
 * a recorded frame to survive. */
static void feed_text(replay *r, const char *text, size_t len, int json_text)
{
    if (len + 1 > r->cfg.max_message_bytes) {
        bad_frame(r, "too_large", "text message exceeds max_message_bytes");
        return;
    }
    cJSON *p = json_arena_parse(text, len);
    if (!p) {
        if (json_text)
            fixture_bad(r, "\"json\" is not valid JSON");
        else
            bad_frame(r, "bad_json", json_arena_last_error());
        return;
    }
    inspected in;
    int dispatch = inspect(r, p, &in);
    feed_payload(r, p);
    if (dispatch)
        inspect_dispatch(r, p, &in);
    json_arena_free(p);
}

static void feed_binary(replay *r, const fixture_entry *e)
{
    const char *out = NULL;
    size_t out_len = 0;
    if (zstream_feed(r->zs, e->data, e->len, 1, &out, &out_len) != DC_OK) {
        bad_frame(r, "bad_zlib", zstream_last_error(r->zs));
        return;
    }
    if (out)
        feed_text(r, out, out_len, 0);
}

/* ---- connections ------------------------------------------------------------ */

/* The recording opened a connection: wait (virtual time) until the session
 * has asked for one.  0, or -1 when it never does. */
static int wait_for_connect(replay *r)
{
    int64_t limit = now(r) + REPLAY_OPEN_WAIT_MS, started = now(r);
    while (gateway_get_state(r->gw) != GW_CONNECTING) {
        int64_t due = loop_virtual_next_due(&r->loop);
        if (due > limit || daemon_stopping(r->d))
            return -1;
        loop_virtual_run_until(&r->loop, due);
    }
    r->offset += now(r) - started;
    return 0;
}

static void on_open(replay *r)
{
    if (r->connected) {
        replay_anomaly(r, "open_while_open", "the recording opens a connection while one is open");
        close_ours(r, -1);
        replay_kick(r);
    }
    if (wait_for_connect(r) != 0) {
        replay_anomaly(r, "open_without_connect", "the session never asked for this connection");
        return;
    }
    r->connected = 1;
    r->connections++;
    zstream_reset(r->zs);                 /* one inflate context per connection, as live */
    gateway_on_open(r->gw, now(r));
    replay_kick(r);
}

static void on_close(replay *r, int code)
{
    if (!r->connected)
        return;                      /* the session closed it already */
    r->connected = 0;
    daemon_disconnected(r->s);
    gateway_on_closed(r->gw, code, now(r));
    replay_kick(r);
}

static void feed_entry(replay *r, const fixture_entry *e)
{
    char name[16];
    r->cur_line = e->line;
    switch (e->kind) {
    case FX_OPEN:
        on_open(r);
        break;
    case FX_CLOSE:
        on_close(r, e->code);
        break;
    case FX_RECV:
        if (!r->connected) {
            r->skipped++;
        } else if (e->binary) {
            feed_binary(r, e);
        } else {
            feed_text(r, e->data, e->len, e->json_text);
        }
        break;
    case FX_SEND:
        snprintf(name, sizeof name, "%d", e->op);
        replay_count(r->recorded_sent_ops, name);
        break;
    case FX_REST:
    case FX_END:
        break;
    }
}

/* The nonce the recorded session used for its next op 8 to guild_id. */
int replay_nonce(void *ctx, uint64_t guild_id, char *out, size_t cap)
{
    replay *r = ctx;
    for (size_t i = 0; i < r->fx.n_index; i++) {    /* ahead of the stream: indexed up front */
        fixture_entry *e = &r->fx.index[i];
        if (e->seq >= r->pos && e->kind == FX_SEND && e->op == GW_OP_REQUEST_GUILD_MEMBERS && !e->used &&
            e->guild_id == guild_id && e->nonce[0]) {
            e->used = 1;
            snprintf(out, cap, "%s", e->nonce);
            return 0;
        }
    }
    return -1;
}

static void pace(replay *r, int64_t from, int64_t to)
{
    if (r->speed <= 0 || to <= from)
        return;
    double ms = (double)(to - from) / r->speed;
    struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (double)(int64_t)(ms / 1000) * 1000) * 1e6) };
    nanosleep(&ts, NULL);
}

/* The next entry into slot: 1, or 0 at the end of the file or of a bad
 * line (the replay stops there). */
static int next_entry(replay *r, fixture_entry *slot, fixture_line *buf)
{
    char err[200];
    fixture_entry_clear(slot);
    int got = fixture_next(&r->fx, slot, buf, err, sizeof err);
    if (got < 0) {
        snprintf(r->fixture_error, sizeof r->fixture_error, "%s", err);
        daemon_request_stop(r->d, 65);
    }
    return got == 1;
}

int replay_feed(replay *r)
{
    fixture_entry slot[2] = { 0 };            /* the entry being fed and the one after it */
    fixture_line buf[2] = { 0 };              /* their lines (a "json" value is fed from there) */
    int cur = 0;
    gateway_start(r->gw, now(r));
    replay_kick(r);
    daemon_start_work(r->d);
    int have = next_entry(r, &slot[cur], &buf[cur]);
    while (have && !daemon_stopping(r->d)) {
        const fixture_entry *e = &slot[cur];
        int64_t at = REPLAY_MONO0 + e->t + r->offset, before = now(r);
        r->pos = e->seq;
        if (at > before)
            loop_virtual_run_until(&r->loop, at);
        pace(r, before, at);
        feed_entry(r, e);
        have = !daemon_stopping(r->d) && next_entry(r, &slot[!cur], &buf[!cur]);
        /* Entries recorded in the same millisecond are one loop turn, as
         * what one socket read delivered is live (one COMMIT, capped by
         * turn_cap.h); the turn ends when the clock is about to move. */
        if (!have || slot[!cur].t != e->t)
            loop_virtual_run_until(&r->loop, now(r));   /* this turn's COMMIT, REST answers */
        cur = !cur;
    }
    for (int i = 0; i < 2; i++) {
        fixture_entry_clear(&slot[i]);
        fixture_line_free(&buf[i]);
    }
    if (!daemon_stopping(r->d))
        daemon_request_stop(r->d, 0);
    loop_virtual_run_until(&r->loop, now(r));
    daemon_finish(r->d);
    return daemon_exit_status(r->d);
}
