/* test_zstream.c - zlib-stream inflation as Discord sends it: one deflate
 * stream per connection, Z_SYNC_FLUSH after every payload. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>
#include "gateway/zstream.h"

/* A compressing "server" side for one connection. */
typedef struct {
    z_stream z;
    unsigned char buf[1 << 20];
    size_t len;
} deflater;

static void deflater_init(deflater *d)
{
    memset(&d->z, 0, sizeof d->z);
    assert_int_equal(deflateInit(&d->z, Z_DEFAULT_COMPRESSION), Z_OK);
}

/* Compress one payload with a sync flush into d->buf / d->len. */
static void deflate_msg(deflater *d, const char *text, size_t n)
{
    d->z.next_in = (Bytef *)text;
    d->z.avail_in = (uInt)n;
    d->z.next_out = d->buf;
    d->z.avail_out = sizeof d->buf;
    assert_int_equal(deflate(&d->z, Z_SYNC_FLUSH), Z_OK);
    assert_int_equal(d->z.avail_in, 0);
    d->len = sizeof d->buf - d->z.avail_out;
    assert_true(d->len >= 4);
    assert_memory_equal(d->buf + d->len - 4, "\x00\x00\xff\xff", 4);
}

static void whole_messages(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(1 << 20);
    assert_non_null(zs);
    const char *msgs[] = { "{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}",
                           "{\"op\":11}",
                           "{\"op\":0,\"s\":1,\"t\":\"READY\",\"d\":{}}" };
    for (size_t i = 0; i < 3; i++) {
        deflate_msg(&d, msgs[i], strlen(msgs[i]));
        const char *out;
        size_t n;
        assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
        assert_non_null(out);
        assert_int_equal(n, strlen(msgs[i]));
        assert_string_equal(out, msgs[i]);
    }
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void many_pieces(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(1 << 20);
    /* Large, poorly compressible text so the output buffer must grow. */
    size_t n = 300000;
    char *text = malloc(n + 1);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        text[i] = (char)('a' + (x >> 16) % 26);
    }
    text[n] = '\0';
    deflate_msg(&d, text, n);
    const char *out = NULL;
    size_t out_len = 0;
    for (size_t off = 0; off < d.len; off += 1000) {
        size_t piece = d.len - off < 1000 ? d.len - off : 1000;
        int last = off + piece == d.len;
        assert_int_equal(zstream_feed(zs, d.buf + off, piece, last, &out, &out_len), DC_OK);
        if (!last)
            assert_null(out);
    }
    assert_non_null(out);
    assert_int_equal(out_len, n);
    assert_memory_equal(out, text, n);
    free(text);
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void suffix_mid_message_is_not_the_end(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(4096);
    deflate_msg(&d, "{\"op\":11}", 9);
    const char *out;
    size_t n;
    /* A piece that ends with the suffix but is not the message end. */
    assert_int_equal(zstream_feed(zs, d.buf, d.len, 0, &out, &n), DC_OK);
    assert_null(out);
    assert_int_equal(zstream_feed(zs, NULL, 0, 1, &out, &n), DC_OK);
    assert_non_null(out);
    assert_string_equal(out, "{\"op\":11}");
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void payload_spanning_two_messages(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(4096);
    const char *msg = "{\"op\":0,\"t\":\"GUILD_CREATE\",\"s\":2,\"d\":{\"id\":\"1\"}}";
    deflate_msg(&d, msg, strlen(msg));
    size_t half = d.len / 2;
    const char *out;
    size_t n;
    assert_int_equal(zstream_feed(zs, d.buf, half, 1, &out, &n), DC_OK);
    assert_null(out);
    assert_int_equal(zstream_feed(zs, d.buf + half, d.len - half, 1, &out, &n), DC_OK);
    assert_non_null(out);
    assert_string_equal(out, msg);
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void corrupt_bytes_fail(void **state)
{
    (void)state;
    zstream *zs = zstream_new(4096);
    const unsigned char junk[] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0x00, 0x00, 0xff, 0xff };
    const char *out = "x";
    size_t n = 1;
    assert_int_equal(zstream_feed(zs, junk, sizeof junk, 1, &out, &n), DC_ERR_PROTO);
    assert_null(out);
    assert_non_null(strstr(zstream_last_error(zs), "corrupt"));
    /* Poisoned until reset. */
    assert_int_equal(zstream_feed(zs, junk, sizeof junk, 1, &out, &n), DC_ERR_PROTO);
    zstream_free(zs);
}

/* The zlib header is checked by hand (the body is inflated raw): a valid
 * one with another window size or level is taken, a wrong method, preset
 * dictionary or check value is refused before any byte is inflated. */
static void zlib_header_checked(void **state)
{
    (void)state;
    static const int windows[] = { 9, 12, 15 };
    for (size_t i = 0; i < 3; i++) {
        deflater d;
        memset(&d.z, 0, sizeof d.z);
        assert_int_equal(deflateInit2(&d.z, Z_BEST_COMPRESSION, Z_DEFLATED, windows[i], 8, Z_DEFAULT_STRATEGY), Z_OK);
        zstream *zs = zstream_new(1 << 20);
        const char *msg = "{\"op\":11}", *out;
        size_t n;
        deflate_msg(&d, msg, strlen(msg));
        assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
        assert_string_equal(out, msg);
        deflateEnd(&d.z);
        zstream_free(zs);
    }
    static const unsigned char bad[][2] = {
        { 0x79, 0x9c },   /* CM 9: not deflate */
        { 0x88, 0x98 },   /* CINFO 8: window over 32 KiB */
        { 0x78, 0xbb },   /* FDICT: preset dictionary */
        { 0x78, 0x9d },   /* FCHECK wrong */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char frame[] = { bad[i][0], bad[i][1], 0x02, 0x00, 0x00, 0x00, 0xff, 0xff };
        zstream *zs = zstream_new(4096);
        const char *out = "x";
        size_t n = 1;
        assert_int_equal(zstream_feed(zs, frame, sizeof frame, 1, &out, &n), DC_ERR_PROTO);
        assert_null(out);
        assert_non_null(strstr(zstream_last_error(zs), "zlib header"));
        zstream_free(zs);
    }
}

static void corrupt_mid_stream_fails(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(4096);
    const char *out;
    size_t n;
    deflate_msg(&d, "{\"op\":11}", 9);
    assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
    deflate_msg(&d, "{\"op\":0,\"t\":\"X\",\"s\":5,\"d\":null}", 31);
    for (size_t i = 0; i + 4 < d.len; i++)
        d.buf[i] ^= 0x5a;
    dc_err e = zstream_feed(zs, d.buf, d.len, 1, &out, &n);
    /* Flipped bits are caught either as bad data or produce garbage; with
     * this pattern zlib reports an invalid block. */
    assert_int_equal(e, DC_ERR_PROTO);
    assert_true(strlen(zstream_last_error(zs)) > 0);
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void inflated_over_cap_fails(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(1000);
    char text[5000];
    memset(text, 'a', sizeof text);
    deflate_msg(&d, text, sizeof text); /* compresses to a few bytes */
    const char *out;
    size_t n;
    assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_ERR_PROTO);
    assert_null(out);
    assert_string_equal(zstream_last_error(zs), "inflated message exceeds 1000 bytes");
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void exactly_at_cap_fits(void **state)
{
    (void)state;
    deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(1000);
    char text[1000];
    memset(text, 'b', sizeof text);
    deflate_msg(&d, text, sizeof text);
    const char *out;
    size_t n;
    assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
    assert_int_equal(n, 1000);
    deflateEnd(&d.z);
    zstream_free(zs);
}

static void compressed_input_is_bounded(void **state)
{
    (void)state;
    zstream *zs = zstream_new(100);
    unsigned char junk[60] = { 0 };
    const char *out;
    size_t n;
    assert_int_equal(zstream_feed(zs, junk, sizeof junk, 1, &out, &n), DC_OK);
    assert_null(out); /* no suffix yet: waits */
    assert_int_equal(zstream_feed(zs, junk, sizeof junk, 1, &out, &n), DC_ERR_PROTO);
    assert_string_equal(zstream_last_error(zs), "compressed message exceeds 100 bytes");
    zstream_free(zs);
}

static void reset_starts_a_new_stream(void **state)
{
    (void)state;
    zstream *zs = zstream_new(4096);
    const char *out;
    size_t n;
    for (int conn = 0; conn < 3; conn++) {
        deflater d;
        deflater_init(&d);
        deflate_msg(&d, "{\"op\":10}", 9);
        if (conn == 1) {
            /* Leave garbage behind on this connection. */
            assert_int_equal(zstream_feed(zs, "\x01\x02\x00\x00\xff\xff", 6, 1, &out, &n), DC_ERR_PROTO);
        } else {
            assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
            assert_string_equal(out, "{\"op\":10}");
        }
        deflateEnd(&d.z);
        assert_int_equal(zstream_reset(zs), DC_OK);
        assert_string_equal(zstream_last_error(zs), "");
    }
    /* Without a reset, a second stream's zlib header is corrupt data. */
    deflater d1, d2;
    deflater_init(&d1);
    deflater_init(&d2);
    deflate_msg(&d1, "{\"op\":11}", 9);
    assert_int_equal(zstream_feed(zs, d1.buf, d1.len, 1, &out, &n), DC_OK);
    deflate_msg(&d2, "{\"op\":11}", 9);
    assert_int_equal(zstream_feed(zs, d2.buf, d2.len, 1, &out, &n), DC_ERR_PROTO);
    deflateEnd(&d1.z);
    deflateEnd(&d2.z);
    zstream_free(zs);
}

/* A large message grows the output buffer; zstream_trim gives it back and the
 * stream carries on (issue 14 D: RSS stayed high after one big message). */
static void trim_gives_large_buffers_back(void **state)
{
    (void)state;
    static deflater d;
    deflater_init(&d);
    zstream *zs = zstream_new(0);
    size_t big = 8u << 20;
    char *text = malloc(big + 1);
    assert_non_null(text);
    memset(text, ' ', big);
    memcpy(text, "{\"op\":11}", 9);
    deflate_msg(&d, text, big);
    const char *out;
    size_t n;
    assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
    assert_int_equal(n, big);
    assert_true(zstream_capacity(zs) >= big);
    zstream_trim(zs);
    assert_true(zstream_capacity(zs) <= (1u << 20));
    deflate_msg(&d, "{\"op\":1}", 8);
    assert_int_equal(zstream_feed(zs, d.buf, d.len, 1, &out, &n), DC_OK);
    assert_string_equal(out, "{\"op\":1}");
    zstream_trim(zs);                          /* small buffers are kept */
    assert_true(zstream_capacity(zs) > 0);
    free(text);
    deflateEnd(&d.z);
    zstream_free(zs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_messages),
        cmocka_unit_test(many_pieces),
        cmocka_unit_test(suffix_mid_message_is_not_the_end),
        cmocka_unit_test(payload_spanning_two_messages),
        cmocka_unit_test(corrupt_bytes_fail),
        cmocka_unit_test(zlib_header_checked),
        cmocka_unit_test(corrupt_mid_stream_fails),
        cmocka_unit_test(inflated_over_cap_fails),
        cmocka_unit_test(exactly_at_cap_fits),
        cmocka_unit_test(compressed_input_is_bounded),
        cmocka_unit_test(reset_starts_a_new_stream),
        cmocka_unit_test(trim_gives_large_buffers_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
