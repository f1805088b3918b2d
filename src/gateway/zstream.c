/* zstream.c - zlib-stream inflater
 * (https://discord.com/developers/docs/events/gateway#zlibstream). */
#include "gateway/zstream.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ZS_DEFAULT_MAX (64u * 1024 * 1024)
#define ZS_INITIAL_OUT (64u * 1024)

static const unsigned char sync_suffix[4] = { 0x00, 0x00, 0xFF, 0xFF };

struct zstream {
    z_stream z;
    int z_ready;            /* inflateInit succeeded and no error since */
    size_t max_bytes;
    unsigned char *in;      /* compressed bytes of the payload in progress */
    size_t in_len, in_cap;
    char *out;              /* inflated payload; out_cap + 1 bytes for the NUL */
    size_t out_cap;
    int header_left;        /* bytes of the 2-byte zlib header still to read */
    unsigned char header[2];
    char err[160];
};

static dc_err fail(zstream *zs, dc_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static dc_err fail(zstream *zs, dc_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(zs->err, sizeof zs->err, fmt, ap);
    va_end(ap);
    zs->in_len = 0;
    /* After corrupt data the shared context is poisoned: refuse until reset. */
    zs->z_ready = 0;
    return e;
}

zstream *zstream_new(size_t max_message_bytes)
{
    zstream *zs = calloc(1, sizeof *zs);
    if (!zs)
        return NULL;
    zs->max_bytes = max_message_bytes ? max_message_bytes : ZS_DEFAULT_MAX;
    if (zstream_reset(zs) != DC_OK) {
        zstream_free(zs);
        return NULL;
    }
    return zs;
}

static void end_context(zstream *zs)
{
    if (zs->z.state)
        inflateEnd(&zs->z);
    memset(&zs->z, 0, sizeof zs->z);
    zs->z_ready = 0;
}

void zstream_free(zstream *zs)
{
    if (!zs)
        return;
    end_context(zs);
    free(zs->in);
    free(zs->out);
    free(zs);
}

dc_err zstream_reset(zstream *zs)
{
    end_context(zs);
    zs->in_len = 0;
    zs->err[0] = '\0';
    zs->header_left = 2;
    /* Raw inflate after reading the zlib header ourselves: zlib-stream never
     * ends, so the adler32 trailer is never checked, but a zlib-wrapped
     * inflate would still checksum every byte it produces (2% of a burst's
     * CPU).  TLS and TCP already guard the bytes. */
    if (inflateInit2(&zs->z, -MAX_WBITS) != Z_OK) {
        memset(&zs->z, 0, sizeof zs->z);
        snprintf(zs->err, sizeof zs->err, "inflateInit failed");
        return DC_ERR_NOMEM;
    }
    zs->z_ready = 1;
    return DC_OK;
}

#define ZS_KEEP_BYTES (1u << 20)

void zstream_trim(zstream *zs)
{
    if (zs->out_cap > ZS_KEEP_BYTES) {
        free(zs->out);
        zs->out = NULL;
        zs->out_cap = 0;
    }
    if (zs->in_cap > ZS_KEEP_BYTES && zs->in_len == 0) {
        free(zs->in);
        zs->in = NULL;
        zs->in_cap = 0;
    }
}

size_t zstream_capacity(const zstream *zs) { return zs->in_cap + zs->out_cap; }

const char *zstream_last_error(const zstream *zs) { return zs->err; }

/* Geometric growth of a buffer up to limit bytes of capacity. */
static int grow(void **buf, size_t *cap, size_t need, size_t limit, size_t extra)
{
    size_t n = *cap ? *cap : ZS_INITIAL_OUT;
    while (n < need)
        n = n > limit / 2 ? limit : n * 2;
    if (n > limit)
        n = limit;
    void *p = realloc(*buf, n + extra);
    if (!p)
        return -1;
    *buf = p;
    *cap = n;
    return 0;
}

static dc_err append_input(zstream *zs, const void *data, size_t len)
{
    if (len > zs->max_bytes - zs->in_len)
        return fail(zs, DC_ERR_PROTO, "compressed message exceeds %zu bytes", zs->max_bytes);
    if (zs->in_len + len > zs->in_cap &&
        grow((void **)&zs->in, &zs->in_cap, zs->in_len + len, zs->max_bytes, 0) != 0)
        return fail(zs, DC_ERR_NOMEM, "out of memory buffering compressed input");
    memcpy(zs->in + zs->in_len, data, len);
    zs->in_len += len;
    return DC_OK;
}

static int ends_with_suffix(const zstream *zs)
{
    return zs->in_len >= sizeof sync_suffix &&
           memcmp(zs->in + zs->in_len - sizeof sync_suffix, sync_suffix, sizeof sync_suffix) == 0;
}

/* Output space is max_bytes + 1 so a payload of exactly max_bytes still
 * leaves room to see that inflate has nothing more to give. */
static dc_err ensure_output_room(zstream *zs, size_t used)
{
    size_t limit = zs->max_bytes + 1;
    if (used < zs->out_cap)
        return DC_OK;
    if (zs->out_cap >= limit)
        return fail(zs, DC_ERR_PROTO, "inflated message exceeds %zu bytes", zs->max_bytes);
    if (grow((void **)&zs->out, &zs->out_cap, used + 1, limit, 1) != 0)
        return fail(zs, DC_ERR_NOMEM, "out of memory inflating a message");
    return DC_OK;
}

/* RFC 1950: deflate (CM 8) with a window of at most 32 KiB, the check
 * bits right, no preset dictionary. */
static dc_err take_header(zstream *zs)
{
    while (zs->header_left > 0 && zs->z.avail_in > 0) {
        zs->header[2 - zs->header_left--] = *zs->z.next_in++;
        zs->z.avail_in--;
    }
    if (zs->header_left > 0)
        return DC_OK;
    unsigned cmf = zs->header[0], flg = zs->header[1];
    if ((cmf & 0x0F) != 8 || (cmf >> 4) > 7 || (cmf * 256 + flg) % 31 != 0 || (flg & 0x20))
        return fail(zs, DC_ERR_PROTO, "corrupt zlib stream: bad zlib header %02x %02x", cmf, flg);
    return DC_OK;
}

static dc_err inflate_buffer(zstream *zs, size_t *out_len)
{
    size_t used = 0;
    zs->z.next_in = zs->in;
    zs->z.avail_in = (uInt)zs->in_len;
    if (zs->header_left > 0) {
        dc_err e = take_header(zs);
        if (e != DC_OK)
            return e;
    }
    for (;;) {
        dc_err e = ensure_output_room(zs, used);
        if (e != DC_OK)
            return e;
        zs->z.next_out = (Bytef *)zs->out + used;
        zs->z.avail_out = (uInt)(zs->out_cap - used);
        int rc = inflate(&zs->z, Z_SYNC_FLUSH);
        used = zs->out_cap - zs->z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc == Z_BUF_ERROR && zs->z.avail_in == 0 && zs->z.avail_out > 0)
            break; /* no progress possible: input fully consumed */
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return fail(zs, DC_ERR_PROTO, "corrupt zlib stream: %s",
                        zs->z.msg ? zs->z.msg : zError(rc));
        if (zs->z.avail_in == 0 && zs->z.avail_out > 0)
            break;
    }
    if (used > zs->max_bytes)
        return fail(zs, DC_ERR_PROTO, "inflated message exceeds %zu bytes", zs->max_bytes);
    zs->out[used] = '\0';
    *out_len = used;
    return DC_OK;
}

dc_err zstream_feed(zstream *zs, const void *data, size_t len, int message_complete,
               const char **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (!zs->z_ready)
        return DC_ERR_PROTO; /* keeps the reason of the earlier failure */
    dc_err e = len ? append_input(zs, data, len) : DC_OK;
    if (e != DC_OK)
        return e;
    /* The suffix is only meaningful at the end of a whole websocket
     * message; mid-message it can be a false match. */
    if (!message_complete || !ends_with_suffix(zs))
        return DC_OK;
    size_t n = 0;
    e = inflate_buffer(zs, &n);
    if (e != DC_OK)
        return e;
    zs->in_len = 0;
    *out = zs->out;
    *out_len = n;
    return DC_OK;
}
