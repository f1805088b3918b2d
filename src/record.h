/* record.h - `run --record FILE`: write the gateway session as a fixture
 * (format in fixture.h) that `replay` can feed back.
 *
 * The token never reaches the file: IDENTIFY/RESUME's d.token is replaced,
 * then every line goes through log_redact() and a scan that replaces
 * anything token-shaped (three base64url runs joined by dots, the shape of
 * a Discord bot token).  Received compressed messages are written raw
 * (base64 of the exact websocket message, so replay runs the inflater too)
 * or, with raw = 0, inflated to text. */
#ifndef DC_RECORD_H
#define DC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct recorder recorder;

typedef struct {
    int shard_id, shard_count;
    uint32_t intents;
    int compressed;              /* zlib-stream session */
    int raw;                     /* 1: binary messages as b64; 0: inflated text */
    int64_t wall_ms, mono_ms;    /* clocks at t = 0 */
} record_info;

/* Creates FILE (mode 0600, truncated) and writes the header line. */
dc_err record_open(recorder **out, const char *path, const record_info *info);
void record_close(recorder *r);
/* A piece of a websocket message; dir 'r' received, 's' sent.  complete
 * marks the last piece of the message. */
void record_frame(recorder *r, int64_t mono_ms, char dir, int binary, const void *data, size_t len,
                  int complete);
/* The connection opened (open 1) or closed with close_code (-1: none);
 * by_client 1 when the daemon closed it (written as "by":"client", so a
 * player does not send that close as the server's). */
void record_conn(recorder *r, int64_t mono_ms, int open, int close_code, int by_client);

/* A REST exchange, written when its answer arrives: method, path (no
 * host, no headers: never the Authorization header), status and the body
 * (as JSON when it parses, else as a string; none when body is NULL). */
void record_rest(recorder *r, int64_t mono_ms, const char *method, const char *path, long status,
                 const char *body, size_t body_len);

/* Replace token-shaped substrings of text in place with "[REDACTED]"
 * (the string only shrinks).  Returns text. */
char *record_redact_tokens(char *text);

#endif
