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
 *   {"t":9,"k":"close","code":4000}            the connection ended (code -1: none);
 *                                              "by":"client" when the client closed it
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
    size_t seq;                  /* entry number, 0 = the first after the header */
    int64_t t;
    int binary;                  /* RECV: data holds raw (compressed) bytes */
    int json_text;               /* RECV/SEND: data is the line's "json" value as written
                                  * (not yet parsed: invalid JSON there is a fixture error) */
    int borrowed;                /* data points into the caller's line buffer (fixture_next) */
    char *data;                  /* RECV/SEND: message (NUL-terminated unless borrowed);
                                  * REST: response body */
    size_t len;
    int op;                      /* SEND (and fixture_load's RECV): "op" when JSON, else -1 */
    char nonce[40];              /* SEND op 8 */
    uint64_t guild_id;           /* SEND op 8 */
    int code;                    /* CLOSE */
    char method[8];              /* REST */
    char *path;                  /* REST */
    long status;                 /* REST */
    int used;                    /* REST answer or op 8 nonce already taken */
} fx_entry;

/* A line buffer fixture_next reads into (getline-managed). */
typedef struct {
    char *p;
    size_t cap;
} fx_line;

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
    size_t n;                    /* entries in the file */
    /* Looked up ahead of the replay, so kept from the first pass: every
     * "rest" line and every "send" of op 8 (its nonce), in file order. */
    fx_entry *index;
    size_t n_index;
    fx_entry *v;                 /* fixture_load only: all n entries */
    /* reading state (fixture_open .. fixture_free) */
    void *file;                  /* FILE * */
    char *file_buf;              /* its buffer (glibc ignores a size without one) */
    long data_offset;            /* just after the header line */
    int header_line, lineno;
    size_t next_seq;
    int64_t last_t;
} fixture;

/* Streaming (replay): fixture_open reads the header, checks every line's
 * shape (so a truncated or garbled line is refused before anything runs),
 * counts the entries and keeps the index; fixture_next then hands out one
 * entry at a time.  Memory stays bounded by the longest line and the index,
 * not the file.  A "json" value is only checked as JSON when it is used
 * (fixture_next leaves it as text, json_text = 1).
 * DC_ERR_NOTFOUND when the file cannot be opened, DC_ERR_PROTO (reason in
 * err, with the line number) when it is not a fixture. */
dc_err fixture_open(const char *path, fixture *fx, char *err, size_t errlen);
/* The next entry into e (its data may point into buf: e->borrowed); 1, 0 at
 * the end, -1 with the reason (and line number) in err.  Call
 * fx_entry_clear(e) before reusing e. */
int fixture_next(fixture *fx, fx_entry *e, fx_line *buf, char *err, size_t errlen);
void fx_entry_clear(fx_entry *e);
void fx_line_free(fx_line *buf);

/* Everything in memory (fx->v, fx->n; each "json" value checked and
 * compacted as before): for tests and tools on small files. */
dc_err fixture_load(const char *path, fixture *fx, char *err, size_t errlen);
void fixture_free(fixture *fx);      /* also closes what fixture_open opened */
const char *fx_kind_name(fx_kind k);

/* fixture_scan.c: the top level of an entry line without building a tree
 * (the replay's hot path).  Spans point into the line; p == NULL: absent. */
typedef struct {
    const char *p;
    size_t n;
} fx_span;
typedef struct {
    fx_span t, k, json, text, b64;
} fx_fields;
/* 0 when line is one object whose strings end and brackets balance, with
 * the first "t", "k", "json", "text" and "b64" values; -1 otherwise (the caller then
 * parses the line properly, which says what is wrong).  line[len] must be
 * readable, and is -1 unless it is the NUL that ends the line (getline's). */
int fx_scan_entry(const char *line, size_t len, fx_fields *f);
/* A plain JSON number in [0, max] (no exponent needed); -1 when not one. */
int fx_span_ms(fx_span s, double max, int64_t *out);
/* A string value without escapes equal to want. */
int fx_span_is(fx_span s, const char *want);

#endif
