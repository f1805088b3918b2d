/* bench_decode.c - bench 5: the daemon's decode path (zstream_feed, i.e.
 * reassembly + inflate, then json_arena_parse into the message block, as
 * transport_lws.c does) over a zlib-stream, next to raw inflate and raw
 * cJSON_Parse (plain malloc) of the same bytes.  The floor: ours >= 70% of the raw pair's throughput.
 *
 * The stream: $BENCH_STREAM (a file of JSON lines, one gateway payload a
 * line; a recorded session once fixtures exist), else a synthetic session
 * shaped like a busy gateway (member removes, member chunks, guild
 * creates, heartbeat ACKs).  Throughput counts inflated JSON bytes. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cjson/cJSON.h>

#include "bench.h"
#include "gateway/json_arena.h"
#include "gateway/zstream.h"

typedef struct {
    unsigned char *data;
    size_t len, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data) {
            fprintf(stderr, "bench: out of memory\n");
            exit(1);
        }
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

typedef struct {
    buf z;              /* all compressed messages back to back */
    size_t *zoff;       /* message i is z.data[zoff[i] .. zoff[i+1]) */
    size_t n, raw_bytes, max_raw;
} stream;

static void synth_payload(buf *b, size_t i)
{
    char tmp[512];
    int n;
    b->len = 0;
    if (i % 200 == 0) {         /* a member chunk of 100 members */
        n = snprintf(tmp, sizeof tmp, "{\"op\":0,\"s\":%zu,\"t\":\"GUILD_MEMBERS_CHUNK\",\"d\":{\"guild_id\":"
                     "\"1000000000000000001\",\"chunk_index\":%zu,\"chunk_count\":1000,\"nonce\":\"abc\",\"members\":[", i, i / 200);
        put(b, tmp, (size_t)n);
        for (int m = 0; m < 100; m++) {
            n = snprintf(tmp, sizeof tmp, "%s{\"user\":{\"id\":\"%llu\",\"username\":\"user%d\",\"global_name\":null,"
                         "\"avatar\":null,\"discriminator\":\"0\"},\"roles\":[],\"joined_at\":\"2021-01-01T00:00:00+00:00\","
                         "\"deaf\":false,\"mute\":false,\"flags\":0}", m ? "," : "",
                         2000000000000000000ULL + i * 100 + (unsigned)m, m);
            put(b, tmp, (size_t)n);
        }
        put(b, "]}}", 3);
    } else if (i % 50 == 0) {
        n = snprintf(tmp, sizeof tmp, "{\"op\":11,\"d\":null}");
        put(b, tmp, (size_t)n);
    } else {
        n = snprintf(tmp, sizeof tmp, "{\"op\":0,\"s\":%zu,\"t\":\"GUILD_MEMBER_REMOVE\",\"d\":{\"guild_id\":"
                     "\"1000000000000000001\",\"user\":{\"id\":\"%llu\",\"username\":\"user%zu\",\"global_name\":null,"
                     "\"avatar\":\"a1b2c3d4e5f60718293a4b5c6d7e8f90\",\"discriminator\":\"0\",\"public_flags\":0}}}",
                     i, 2000000000000000000ULL + i, i);
        put(b, tmp, (size_t)n);
    }
}

/* Next payload from the file or the synthesizer; 0 at the end. */
static int next_payload(FILE *src, size_t i, size_t synth_n, buf *b)
{
    if (!src) {
        if (i >= synth_n)
            return 0;
        synth_payload(b, i);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, src);
    b->len = 0;
    if (n > 0)
        put(b, line, (size_t)n - (line[n - 1] == '\n'));
    free(line);
    return n > 0;
}

static int build_stream(stream *s)
{
    const char *path = getenv("BENCH_STREAM");
    FILE *src = path ? fopen(path, "r") : NULL;
    if (path && !src)
        fprintf(stderr, "bench: cannot read BENCH_STREAM=%s, using the synthetic stream\n", path);
    z_stream zs = { 0 };
    if (deflateInit(&zs, Z_DEFAULT_COMPRESSION) != Z_OK)
        return -1;
    size_t cap = 1024, synth_n = (size_t)bench_scaled(400000);
    buf payload = { 0 };
    unsigned char out[65536];
    s->zoff = malloc(cap * sizeof *s->zoff);
    for (size_t i = 0; s->zoff && next_payload(src, i, synth_n, &payload); i++) {
        if (s->n + 2 > cap)
            s->zoff = realloc(s->zoff, (cap *= 2) * sizeof *s->zoff);
        s->zoff[s->n++] = s->z.len;
        s->raw_bytes += payload.len;
        if (payload.len > s->max_raw)
            s->max_raw = payload.len;
        zs.next_in = payload.data;
        zs.avail_in = (uInt)payload.len;
        do {                       /* Z_SYNC_FLUSH: each payload ends in 00 00 ff ff */
            zs.next_out = out;
            zs.avail_out = sizeof out;
            deflate(&zs, Z_SYNC_FLUSH);
            put(&s->z, out, sizeof out - zs.avail_out);
        } while (zs.avail_out == 0);
    }
    if (s->zoff)
        s->zoff[s->n] = s->z.len;
    deflateEnd(&zs);
    free(payload.data);
    if (src)
        fclose(src);
    return s->zoff && s->n ? 0 : -1;
}

/* Raw inflate of every message into one scratch buffer; µs. */
static int64_t time_raw_inflate(const stream *s, buf *inflated)
{
    z_stream zs = { 0 };
    inflateInit(&zs);
    unsigned char *scratch = malloc(s->max_raw + 1);
    int64_t t0 = bench_now_us();
    inflated->len = 0;
    for (size_t i = 0; i < s->n; i++) {
        zs.next_in = s->z.data + s->zoff[i];
        zs.avail_in = (uInt)(s->zoff[i + 1] - s->zoff[i]);
        zs.next_out = scratch;
        zs.avail_out = (uInt)s->max_raw + 1;
        inflate(&zs, Z_SYNC_FLUSH);
        size_t got = s->max_raw + 1 - zs.avail_out;
        if (inflated->data)         /* second pass keeps the text for the parse timing */
            memcpy(inflated->data + inflated->len, scratch, got);
        inflated->len += got;
    }
    int64_t dt = bench_now_us() - t0;
    inflateEnd(&zs);
    free(scratch);
    return dt;
}

static int64_t time_raw_parse(const stream *s, const buf *text)
{
    (void)s;
    size_t off = 0;
    int64_t t0 = bench_now_us();
    while (off < text->len) {
        const char *end;
        cJSON *j = cJSON_ParseWithLengthOpts((const char *)text->data + off, text->len - off, &end, 0);
        if (!j)
            break;
        off = (size_t)(end - (const char *)text->data);
        cJSON_Delete(j);
    }
    return bench_now_us() - t0;
}

static int64_t time_ours(const stream *s, size_t *bytes)
{
    zstream *z = zstream_new(0);
    int64_t t0 = bench_now_us();
    *bytes = 0;
    zstream_reset(z);
    for (size_t i = 0; i < s->n; i++) {
        const char *out;
        size_t len;
        if (zstream_feed(z, s->z.data + s->zoff[i], s->zoff[i + 1] - s->zoff[i], 1, &out, &len) != DC_OK || !out)
            break;
        cJSON *j = json_arena_parse(out, len);
        *bytes += len;
        json_arena_free(j);
    }
    int64_t dt = bench_now_us() - t0;
    zstream_free(z);
    return dt;
}

void bench_decode(void)
{
    stream s = { 0 };
    if (build_stream(&s) != 0) {
        bench_row("5. decode", "could not build the stream", "-", BENCH_MISSED);
        return;
    }
    buf text = { 0 };
    /* Timed pass inflates into a hot scratch buffer only; the second,
     * untimed pass keeps the text for the parse timing. */
    int64_t t_inf = time_raw_inflate(&s, &text);
    text.data = malloc(text.len + 1);
    time_raw_inflate(&s, &text);
    int64_t t_parse = time_raw_parse(&s, &text);
    size_t ours_bytes;
    int64_t t_ours = time_ours(&s, &ours_bytes);
    double mb = (double)s.raw_bytes / 1e6;
    double raw_pair = mb / ((double)(t_inf + t_parse) / 1e6), ours = (double)ours_bytes / 1e6 / ((double)t_ours / 1e6);
    bench_row(bench_fmt("5. decode: %zu payloads, %.1f MB JSON", s.n, mb),
              bench_fmt("%.0f MB/s (%.0f%% of raw pair)", ours, 100.0 * ours / raw_pair), ">= 70% of raw pair",
              ours_bytes == s.raw_bytes && ours >= 0.7 * raw_pair ? BENCH_MET : BENCH_MISSED);
    bench_row("5. decode: raw inflate alone", bench_fmt("%.0f MB/s", mb / ((double)t_inf / 1e6)), "-", BENCH_NA);
    bench_row("5. decode: raw cJSON_Parse alone", bench_fmt("%.0f MB/s", mb / ((double)t_parse / 1e6)), "-", BENCH_NA);
    bench_row("5. decode: raw pair (inflate then parse)", bench_fmt("%.0f MB/s", raw_pair), "-", BENCH_NA);
    free(text.data);
    free(s.z.data);
    free(s.zoff);
}
