/* fuzz_zstream.c - zlib-stream reassembly + frame decode, as transport_lws.c
 * runs them: pieces of websocket messages into zstream_feed, each complete text
 * parsed (into the message arena) and handed to a gateway session, every
 * action drained.
 *
 * Input: byte 0 picks the piece size (1..256), byte 1 how many pieces make
 * one websocket message (1..8); the rest is the compressed stream. */
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "gateway/gateway.h"
#include "gateway/json_arena.h"
#include "base/log.h"
#include "gateway/zstream.h"

static void drain(gateway_session *gw)
{
    gateway_action a;
    for (int i = 0; i < 1000 && gateway_next_action(gw, &a); i++)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    log_set_level(DCL_ERROR);
    size_t piece = (size_t)data[0] + 1, per_msg = (size_t)(data[1] % 8) + 1;
    data += 2;
    size -= 2;
    gateway_config cfg = { .token = "fuzz", .intents = 33283, .gateway_url = "wss://gateway.example", .compress = 1,
                      .seed = 1 };
    gateway_session *gw = gateway_new(&cfg);
    zstream *zs = zstream_new(1 << 20);
    if (!gw || !zs || zstream_reset(zs) != DC_OK)
        goto out;
    int64_t now = 1000;
    gateway_start(gw, now);
    drain(gw);
    gateway_on_open(gw, now);
    drain(gw);
    for (size_t off = 0, n = 0; off < size; n++) {
        size_t len = size - off < piece ? size - off : piece;
        int complete = (n + 1) % per_msg == 0 || off + len == size;
        const char *text;
        size_t text_len;
        dc_err e = zstream_feed(zs, data + off, len, complete, &text, &text_len);
        off += len;
        if (e != DC_OK) {
            gateway_on_bad_frame(gw, zstream_last_error(zs), now);
            break;
        }
        if (!text)
            continue;
        cJSON *payload = json_arena_parse(text, text_len);
        if (payload)
            gateway_on_payload(gw, payload, now);
        else
            gateway_on_bad_frame(gw, "not JSON", now);
        drain(gw);               /* before the payload goes: DISPATCH points into it */
        json_arena_free(payload);
        gateway_tick(gw, now += 500);
        drain(gw);
    }
out:
    zstream_free(zs);
    gateway_free(gw);
    return 0;
}
