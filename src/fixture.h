/* fixture.h - a recorded (or hand-written) gateway session, JSON lines.
 *
 * Line 1, the header:
 *   {"format":"discord-cleaner-session","version":1,"recorded_at":"ISO-8601",
 *    "wall_ms":EPOCH_MS_AT_T0,"shard":[ID,COUNT],"intents":N,
 *    "compression":"zlib-stream"|"none","frames":"raw"|"decoded",
 *    optional: "auto_ack":true, "check_sends":false, "config":{"key":"value"},
 *    "seed_sql":"...", "pre_migration_sql":"...", "rest":[RULE...]}
 * Every other line is one entry, "t" = ms since the recording began:
 *   {"t":0,"k":"open"}                         a connection was established
 *   {"t":5,"k":"recv","json":{...}}            a received message, as JSON,
 *   {"t":5,"k":"recv","text":"..."}            as text (any bytes, e.g. bad JSON),
 *   {"t":5,"k":"recv","b64":"..."}             or a raw binary (compressed) message
 *   {"t":6,"k":"send","json":{...}}            what the client sent (token redacted)
 *   {"t":9,"k":"close","code":4000}            the connection ended (code -1: none)
 *   {"t":9,"k":"rest","method":"GET","path":"/guilds/1","status":403,"body":{...}}
 *   {"t":99,"k":"end"}                         replay runs until here, then stops
 * The file never holds the token: the recorder redacts it. */
#ifndef DC_FIXTURE_H
#define DC_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "err.h"

#define FIXTURE_FORMAT "discord-cleaner-session"
#define FIXTURE_VERSION 1

typedef enum { FX_OPEN = 1, FX_RECV, FX_SEND, FX_CLOSE, FX_REST, FX_END } fx_kind;

typedef struct {
    fx_kind kind;
    int line;                    /* in the file, for messages */
    int64_t t;
    int binary;                  /* RECV: data holds raw (compressed) bytes */
    char *data;                  /* RECV/SEND: message (NUL-terminated); REST: response body */
    size_t len;
    int op;                      /* RECV/SEND: "op" when the message is JSON, else -1 */
    char nonce[40];              /* SEND op 8 */
    uint64_t guild_id;           /* SEND op 8 */
    int code;                    /* CLOSE */
    char method[8];              /* REST */
    char *path;                  /* REST */
    long status;                 /* REST */
    int used;                    /* REST answer or op 8 nonce already taken */
} fx_entry;

typedef struct {
    cJSON *header;               /* owned; the fields below point into it */
    int64_t wall_ms;
    int shard_id, shard_count;
    uint32_t intents;
    int compressed;
    int auto_ack;                /* answer heartbeats with op 11 (hand-written fixtures) */
    int check_sends;             /* compare what the client sends with the "send" lines */
    const cJSON *config;         /* object of setting overrides, or NULL */
    const char *seed_sql, *pre_migration_sql;
    const cJSON *rest_rules;     /* array or NULL */
    fx_entry *v;
    size_t n;
} fixture;

/* DC_ERR_NOTFOUND when the file cannot be opened, DC_ERR_PROTO (reason in
 * err, with the line number) when it is not a fixture. */
dc_err fixture_load(const char *path, fixture *fx, char *err, size_t errlen);
void fixture_free(fixture *fx);
const char *fx_kind_name(fx_kind k);

#endif
