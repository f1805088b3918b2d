/* test_record.c - the recorder never writes the token, and what it writes
 * loads back as a fixture (raw compressed frames included). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "fixture.h"
#include "log.h"
#include "record.h"

#define TOKEN "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabCdE.fakefakefakefakefakefakefakefakefake12"

static void test_token_shapes_are_redacted(void **state)
{
    (void)state;
    char a[] = "x " TOKEN " y", b[] = "no.tokens.here and a.b.c", c[] = TOKEN;
    assert_string_equal(record_redact_tokens(a), "x [REDACTED] y");
    assert_string_equal(record_redact_tokens(b), "no.tokens.here and a.b.c");
    assert_string_equal(record_redact_tokens(c), "[REDACTED]");
}

static size_t deflate_sync(const char *text, unsigned char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit(&z, Z_DEFAULT_COMPRESSION), Z_OK);
    z.next_in = (unsigned char *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void record_session(const char *path, int raw)
{
    recorder *r = NULL;
    record_info info = { .shard_id = 0, .shard_count = 1, .intents = 3, .compressed = 1, .raw = raw,
                         .wall_ms = 1795780800000, .mono_ms = 1000 };
    assert_int_equal(record_open(&r, path, &info), DC_OK);
    unsigned char z[512];
    size_t zn = deflate_sync("{\"op\":10,\"d\":{\"heartbeat_interval\":41250}}", z, sizeof z);
    record_conn(r, 1000, 1, -1, 0);
    record_frame(r, 1005, 'r', 1, z, 3, 0);               /* in two pieces */
    record_frame(r, 1005, 'r', 1, z + 3, zn - 3, 1);
    const char *identify = "{\"op\":2,\"d\":{\"token\":\"" TOKEN "\"}}";
    record_frame(r, 1006, 's', 0, identify, strlen(identify), 1);
    const char *resume = "{\"op\":6,\"d\":{\"token\":\"plain-secret\",\"session_id\":\"s\",\"seq\":1}}";
    record_frame(r, 1007, 's', 0, resume, strlen(resume), 1);
    record_conn(r, 1010, 0, 4000, 1);
    record_close(r);
}

static void test_recording_loads_back_without_the_token(void **state)
{
    (void)state;
    char path[] = "/tmp/dc-record-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    log_add_secret("plain-secret");
    for (int raw = 0; raw < 2; raw++) {
        record_session(path, raw);
        const char *text = slurp(path);
        assert_null(strstr(text, TOKEN));
        assert_null(strstr(text, "plain-secret"));
        assert_non_null(strstr(text, raw ? "\"b64\"" : "heartbeat_interval"));
        assert_non_null(strstr(text, "\"code\":4000,\"by\":\"client\""));   /* the daemon's own close */
        fixture fx;
        char err[256];
        assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_OK);
        assert_int_equal(fx.compressed, 1);
        assert_int_equal(fx.n, 5);
        assert_int_equal(fx.v[0].kind, FX_OPEN);
        assert_int_equal(fx.v[1].kind, FX_RECV);
        assert_int_equal(fx.v[1].binary, raw);
        assert_int_equal(fx.v[1].t, 5);
        assert_int_equal(fx.v[2].op, 2);
        assert_int_equal(fx.v[4].kind, FX_CLOSE);
        assert_int_equal(fx.v[4].code, 4000);
        fixture_free(&fx);
    }
    unlink(path);
}

static void test_fixture_errors_name_the_line(void **state)
{
    (void)state;
    char path[] = "/tmp/dc-fixture-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "{\"format\":\"discord-cleaner-session\",\"version\":1}\n"
                       "{\"t\":5,\"k\":\"open\"}\n{\"t\":1,\"k\":\"open\"}\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    fixture fx;
    assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_ERR_PROTO);
    assert_non_null(strstr(err, "line 3"));
    unlink(path);
}

/* Numbers that do not fit the integers they become are refused, not cast
 * (a double out of range cast to an integer is undefined behaviour; found
 * by fuzz_fixture with "wall_ms":1795222...2e40). */
static void test_fixture_numbers_out_of_range_are_refused(void **state)
{
    (void)state;
    static const struct { const char *text; const char *where; } cases[] = {
        { "{\"format\":\"discord-cleaner-session\",\"version\":1,\"wall_ms\":1.79e40}\n", "line 1" },
        { "{\"format\":\"discord-cleaner-session\",\"version\":1,\"intents\":-1}\n", "line 1" },
        { "{\"format\":\"discord-cleaner-session\",\"version\":1}\n{\"t\":1e300,\"k\":\"open\"}\n", "line 2" },
        { "{\"format\":\"discord-cleaner-session\",\"version\":1}\n"
          "{\"t\":1,\"k\":\"rest\",\"method\":\"GET\",\"path\":\"/x\",\"status\":1e20}\n", "line 2" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[] = "/tmp/dc-fixture-XXXXXX", err[256] = "";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, cases[i].text, strlen(cases[i].text)), (ssize_t)strlen(cases[i].text));
        close(fd);
        fixture fx;
        assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_ERR_PROTO);
        assert_non_null(strstr(err, cases[i].where));
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_shapes_are_redacted),
        cmocka_unit_test(test_recording_loads_back_without_the_token),
        cmocka_unit_test(test_fixture_errors_name_the_line),
        cmocka_unit_test(test_fixture_numbers_out_of_range_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
