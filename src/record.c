/* record.c - write a gateway session as a fixture (see record.h). */
#include "record.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include <libwebsockets.h>

#include "fixture.h"
#include "log.h"
#include "zstream.h"

struct recorder {
    FILE *f;
    int raw;
    int64_t mono0;
    zstream *zs;                 /* decoded mode: our own inflater, fresh per connection */
    unsigned char *msg;          /* pieces of the message being received */
    size_t len, cap;
};

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Length of a token-shaped run at p (run.run.run, at least 20.5.20
 * characters), or 0. */
static size_t token_at(const char *p)
{
    static const size_t min_len[3] = { 20, 5, 20 };
    size_t n = 0;
    for (int part = 0; part < 3; part++) {
        size_t run = 0;
        while (is_b64url(p[n + run]))
            run++;
        if (run < min_len[part])
            return 0;
        n += run;
        if (part < 2) {
            if (p[n] != '.')
                return 0;
            n++;
        }
    }
    return n;
}

char *record_redact_tokens(char *text)
{
    static const char mark[] = "[REDACTED]";
    char *w = text;
    for (const char *p = text; *p;) {
        size_t n = (p == text || !is_b64url(p[-1])) ? token_at(p) : 0;
        if (n >= sizeof mark - 1) {
            memcpy(w, mark, sizeof mark - 1);
            w += sizeof mark - 1;
            p += n;
        } else {
            *w++ = *p++;
        }
    }
    *w = '\0';
    return text;
}

/* Write one entry; obj is consumed. */
static void write_line(recorder *r, cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (!text)
        return;
    log_redact(text);
    record_redact_tokens(text);
    fprintf(r->f, "%s\n", text);
    fflush(r->f);
    free(text);
}

static cJSON *entry(recorder *r, int64_t mono_ms, const char *kind)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t", (double)(mono_ms - r->mono0));
    cJSON_AddStringToObject(o, "k", kind);
    return o;
}

/* len bytes that are not JSON, kept as a string (they need not end in NUL). */
static void add_string_n(cJSON *o, const char *key, const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, text, len);
    copy[len] = '\0';
    cJSON_AddStringToObject(o, key, copy);
    free(copy);
}

/* A sent or received JSON text; IDENTIFY/RESUME lose their token here. */
static void add_text(cJSON *o, const char *text, size_t len)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "d");
    if (cJSON_IsNumber(op) && (op->valueint == 2 || op->valueint == 6) && cJSON_GetObjectItemCaseSensitive(d, "token"))
        cJSON_ReplaceItemInObjectCaseSensitive(d, "token", cJSON_CreateString("[REDACTED]"));
    if (j)
        cJSON_AddItemToObject(o, "json", j);
    else
        add_string_n(o, "text", text, len);
}

dc_err record_open(recorder **out, const char *path, const record_info *info)
{
    recorder *r = calloc(1, sizeof *r);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (!r || fd < 0 || !(r->f = fdopen(fd, "w")) || !(r->zs = zs_new(0))) {
        if (fd >= 0 && !(r && r->f))
            close(fd);
        record_close(r);
        return DC_ERR_IO;
    }
    r->raw = info->raw;
    r->mono0 = info->mono_ms;
    cJSON *h = cJSON_CreateObject(), *shard = cJSON_CreateArray();
    char stamp[32];
    time_t secs = (time_t)(info->wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(h, "format", FIXTURE_FORMAT);
    cJSON_AddNumberToObject(h, "version", FIXTURE_VERSION);
    cJSON_AddStringToObject(h, "recorded_at", stamp);
    cJSON_AddNumberToObject(h, "wall_ms", (double)info->wall_ms);
    cJSON_AddItemToArray(shard, cJSON_CreateNumber(info->shard_id));
    cJSON_AddItemToArray(shard, cJSON_CreateNumber(info->shard_count > 0 ? info->shard_count : 1));
    cJSON_AddItemToObject(h, "shard", shard);
    cJSON_AddNumberToObject(h, "intents", info->intents);
    cJSON_AddStringToObject(h, "compression", info->compressed ? "zlib-stream" : "none");
    cJSON_AddStringToObject(h, "frames", info->raw ? "raw" : "decoded");
    write_line(r, h);
    *out = r;
    return DC_OK;
}

void record_close(recorder *r)
{
    if (!r)
        return;
    if (r->f)
        fclose(r->f);
    zs_free(r->zs);
    free(r->msg);
    free(r);
}

static int gather(recorder *r, const void *data, size_t len)
{
    if (r->len + len > r->cap) {
        size_t cap = (r->len + len) * 2;
        unsigned char *m = realloc(r->msg, cap);
        if (!m)
            return -1;
        r->msg = m;
        r->cap = cap;
    }
    memcpy(r->msg + r->len, data, len);
    r->len += len;
    return 0;
}

static void write_binary(recorder *r, cJSON *o)
{
    const char *out = NULL;
    size_t out_len = 0;
    if (!r->raw && zs_feed(r->zs, r->msg, r->len, 1, &out, &out_len) == DC_OK) {
        if (out)
            add_text(o, out, out_len);
        else {
            cJSON_Delete(o);         /* a payload continues in the next message */
            return;
        }
    } else {
        size_t cap = (r->len + 2) / 3 * 4 + 4;
        char *b64 = malloc(cap);
        if (b64 && lws_b64_encode_string((const char *)r->msg, (int)r->len, b64, (int)cap) >= 0)
            cJSON_AddStringToObject(o, "b64", b64);
        free(b64);
    }
    write_line(r, o);
}

void record_frame(recorder *r, int64_t mono_ms, char dir, int binary, const void *data, size_t len,
                  int complete)
{
    if (!r)
        return;
    if (dir == 's') {                /* sent whole, maybe between pieces of a received message */
        cJSON *o = entry(r, mono_ms, "send");
        add_text(o, data, len);
        write_line(r, o);
        return;
    }
    if (gather(r, data, len) != 0 || !complete)
        return;
    cJSON *o = entry(r, mono_ms, "recv");
    if (binary)
        write_binary(r, o);
    else {
        add_text(o, (const char *)r->msg, r->len);
        write_line(r, o);
    }
    r->len = 0;
}

void record_conn(recorder *r, int64_t mono_ms, int open, int close_code, int by_client)
{
    if (!r)
        return;
    cJSON *o = entry(r, mono_ms, open ? "open" : "close");
    if (open) {
        zs_reset(r->zs);
        r->len = 0;
    } else {
        cJSON_AddNumberToObject(o, "code", close_code);
        if (by_client)
            cJSON_AddStringToObject(o, "by", "client");
    }
    write_line(r, o);
}

void record_rest(recorder *r, int64_t mono_ms, const char *method, const char *path, long status,
                 const char *body, size_t body_len)
{
    if (!r)
        return;
    cJSON *o = entry(r, mono_ms, "rest");
    cJSON_AddStringToObject(o, "method", method);
    cJSON_AddStringToObject(o, "path", path);
    cJSON_AddNumberToObject(o, "status", (double)status);
    cJSON *j = body ? cJSON_ParseWithLength(body, body_len) : NULL;
    if (j)
        cJSON_AddItemToObject(o, "body", j);
    else if (body)
        add_string_n(o, "body", body, body_len);
    write_line(r, o);
}
