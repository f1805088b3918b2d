/* test_fixture_stream.c - the streaming fixture reader (fixture_open /
 * fixture_next) and its line scanner (fixture_scan.c): what it hands out
 * matches the file, lines longer than any buffer and files larger than one
 * stream through, a bad line is refused with its line number (up front when
 * its shape is wrong, when reached when only its "json" or "b64" is), and
 * the REST / op 8 index is built before the first entry is read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define HEADER "{\"format\":\"discord-cleaner-session\",\"version\":1}\n"

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/dc-fxstream-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    return path;
}

static int span_eq(fx_span s, const char *want)
{
    return s.p && s.n == strlen(want) && memcmp(s.p, want, s.n) == 0;
}

static void test_scanner_finds_the_top_level_values(void **state)
{
    (void)state;
    fx_fields f;
    const char *line = " { \"k\" : \"recv\", \"x\":[1,{\"t\":9}], \"t\":12 ,"
                       "\"json\": {\"s\":\"} \\\" {\",\"d\":[]} , \"t\":13}\n";
    assert_int_equal(fx_scan_entry(line, strlen(line), &f), 0);
    assert_true(span_eq(f.k, "\"recv\""));
    assert_true(span_eq(f.t, "12"));                 /* the first "t", not the nested or later one */
    assert_true(span_eq(f.json, "{\"s\":\"} \\\" {\",\"d\":[]}"));
    assert_null(f.b64.p);
    assert_true(fx_span_is(f.k, "recv"));
    assert_false(fx_span_is(f.k, "rec"));
    int64_t t = 0;
    assert_int_equal(fx_span_ms(f.t, 1e15, &t), 0);
    assert_int_equal(t, 12);
    assert_int_equal(fx_scan_entry("{}", 2, &f), 0);
}

static void test_scanner_refuses_broken_shapes(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                                          /* nothing */
        "[1]",                                       /* not an object */
        "{\"t\":1,\"k\":\"recv\",\"json\":{\"op\":1}",   /* truncated */
        "{\"t\":1,\"k\":\"recv\",\"json\":{\"op\":\"1}}",/* string never ends */
        "{\"t\":1,\"k\":\"recv\"} trailing",
        "{\"t\":1 \"k\":\"recv\"}",                  /* no comma */
        "{\"t\":,\"k\":\"recv\"}",                   /* no value */
        "{t:1}",                                     /* key not a string */
        "{\"t\":1,\"k\":\"x\\",                      /* escape at the very end */
    };
    fx_fields f;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(fx_scan_entry(bad[i], strlen(bad[i]), &f), -1);
    /* The scan stops at NUL instead of checking the length per byte: a NUL
     * inside the line is no JSON, and a line not ending in one is refused. */
    static const char nul_in_string[] = "{\"t\":1,\"k\":\"re\0v\"}";
    static const char nul_in_json[] = "{\"t\":1,\"json\":{\"a\":1\0}}";
    assert_int_equal(fx_scan_entry(nul_in_string, sizeof nul_in_string - 1, &f), -1);
    assert_int_equal(fx_scan_entry(nul_in_json, sizeof nul_in_json - 1, &f), -1);
    assert_int_equal(fx_scan_entry("{}}", 2, &f), -1);
    assert_int_equal(fx_scan_entry("{\"json\":{}}", 10, &f), -1);     /* cut short: line[len] is no terminator */
    int64_t t;
    fx_span frac = { "1.5", 3 }, neg = { "-1", 2 }, big = { "9999999999999999", 16 };
    assert_int_equal(fx_span_ms(frac, 1e15, &t), -1);   /* left to the full reader */
    assert_int_equal(fx_span_ms(neg, 1e15, &t), -1);
    assert_int_equal(fx_span_ms(big, 1e18, &t), -1);
}

/* Streamed entries carry the line's own text, line numbers and seq; lines
 * in other shapes (fraction "t", "k" last, "text") go the cJSON way. */
static void test_stream_hands_out_entries_as_written(void **state)
{
    (void)state;
    const char *path = write_temp(HEADER "\n"
                                         "{\"t\":0,\"k\":\"open\"}\n"
                                         "{\"t\":5,\"k\":\"recv\",\"json\":{ \"op\" : 10 }}\n"
                                         "\n"
                                         "{\"json\":{\"op\":11},\"t\":5.0,\"k\":\"recv\"}\n"
                                         "{\"t\":6,\"k\":\"recv\",\"text\":\"not json\",\"b64\":\"AAAA\"}\n"
                                         "{\"t\":7,\"k\":\"recv\",\"b64\":\"aGk=\"}\n"
                                         "{\"t\":9,\"k\":\"close\",\"code\":4000}\n");
    fixture fx;
    char err[256];
    assert_int_equal(fixture_open(path, &fx, err, sizeof err), DC_OK);
    assert_int_equal(fx.n, 6);
    fx_line buf = { 0 };
    fx_entry e = { 0 };
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_int_equal(e.kind, FX_OPEN);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.seq, 0);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_int_equal(e.kind, FX_RECV);
    assert_true(e.json_text && e.borrowed);
    assert_int_equal(e.len, strlen("{ \"op\" : 10 }"));
    assert_memory_equal(e.data, "{ \"op\" : 10 }", e.len);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_int_equal(e.line, 6);                    /* the blank line counted */
    assert_int_equal(e.t, 5);
    assert_false(e.json_text);                      /* through cJSON: compact text */
    assert_string_equal(e.data, "{\"op\":11}");
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_string_equal(e.data, "not json");        /* "text" wins over "b64", as before */
    assert_false(e.binary);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_true(e.binary);
    assert_int_equal(e.len, 2);
    assert_memory_equal(e.data, "hi", 2);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_int_equal(e.kind, FX_CLOSE);
    assert_int_equal(e.code, 4000);
    assert_int_equal(e.seq, 5);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 0);
    fx_line_free(&buf);
    fixture_free(&fx);
    unlink(path);
}

/* More lines than fit any stdio buffer, one line of 300 KiB; memory for the
 * entries is not kept: the index stays empty. */
static void test_big_file_and_long_line_stream_through(void **state)
{
    (void)state;
    char path[] = "/tmp/dc-fxstream-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs(HEADER, f);
    const int lines = 50000, long_at = 20000;
    size_t pad = 300 * 1024;
    for (int i = 0; i < lines; i++) {
        if (i == long_at) {
            fprintf(f, "{\"t\":%d,\"k\":\"recv\",\"json\":{\"op\":0,\"pad\":\"", i);
            for (size_t j = 0; j < pad; j++)
                fputc('x', f);
            fputs("\"}}\n", f);
        } else {
            fprintf(f, "{\"t\":%d,\"k\":\"recv\",\"json\":{\"op\":0,\"s\":%d}}\n", i, i);
        }
    }
    assert_int_equal(fclose(f), 0);
    fixture fx;
    char err[256], want[64];
    assert_int_equal(fixture_open(path, &fx, err, sizeof err), DC_OK);
    assert_int_equal(fx.n, (size_t)lines);
    assert_int_equal(fx.n_index, 0);
    fx_line buf = { 0 };
    fx_entry e = { 0 };
    int got, n = 0;
    while ((got = fixture_next(&fx, &e, &buf, err, sizeof err)) == 1) {
        assert_int_equal(e.seq, (size_t)n);
        assert_int_equal(e.line, n + 2);
        assert_int_equal(e.t, n);
        if (n == long_at) {
            assert_int_equal(e.len, strlen("{\"op\":0,\"pad\":\"\"}") + pad);
        } else {
            snprintf(want, sizeof want, "{\"op\":0,\"s\":%d}", n);
            assert_int_equal(e.len, strlen(want));
            assert_memory_equal(e.data, want, e.len);
        }
        fx_entry_clear(&e);
        n++;
    }
    assert_int_equal(got, 0);
    assert_int_equal(n, lines);
    fx_line_free(&buf);
    fixture_free(&fx);
    unlink(path);
}

static void expect_open_error(const char *text, const char *where)
{
    const char *path = write_temp(text);
    fixture fx;
    char err[256] = "";
    assert_int_equal(fixture_open(path, &fx, err, sizeof err), DC_ERR_PROTO);
    if (!strstr(err, where))
        fail_msg("wanted \"%s\" in \"%s\"", where, err);
    unlink(path);
}

/* Shape errors anywhere are found by the first pass, before any entry. */
static void test_bad_shapes_are_refused_up_front(void **state)
{
    (void)state;
    expect_open_error(HEADER "{\"t\":0,\"k\":\"open\"}\n{\"t\":1,\"k\":\"recv\",\"json\":{\"op\":1", "line 3");
    expect_open_error(HEADER "{\"t\":0,\"k\":\"open\"}\n{\"t\":1,\"k\":\"recv\",\"json\":{\"op\":1}}\n"
                             "{\"t\":2,\"k\":\"recv\",\"json\":{\"op\":\n{\"t\":3,\"k\":\"end\"}\n", "line 4");
    expect_open_error(HEADER "{\"t\":5,\"k\":\"recv\",\"json\":{}}\n{\"t\":4,\"k\":\"recv\",\"json\":{}}\n",
                      "line 3: times must not go backwards");
    expect_open_error(HEADER "{\"t\":5,\"k\":\"sideways\"}\n", "line 2");
    expect_open_error("\n\n", "empty file");
}

/* A "json" value that is not JSON has the right shape: it is found when
 * parsed (the replay stops there, test_fixtures.c), or by fixture_load,
 * with its line number; the stream goes on past it. */
static void test_bad_values_are_found_when_reached(void **state)
{
    (void)state;
    const char *path = write_temp(HEADER "{\"t\":0,\"k\":\"open\"}\n"
                                         "{\"t\":1,\"k\":\"recv\",\"json\":{\"op\":1,,}}\n"
                                         "{\"t\":2,\"k\":\"recv\",\"json\":{\"op\":1}}\n");
    fixture fx;
    char err[256] = "";
    assert_int_equal(fixture_open(path, &fx, err, sizeof err), DC_OK);
    fx_line buf = { 0 };
    fx_entry e = { 0 };
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_true(e.json_text);                      /* checked where it is parsed */
    assert_int_equal(e.line, 3);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    assert_int_equal(e.line, 4);
    fx_entry_clear(&e);
    fx_line_free(&buf);
    fixture_free(&fx);
    assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_ERR_PROTO);
    assert_non_null(strstr(err, "line 3: \"json\" is not valid JSON"));
    unlink(path);
}

/* The file rewritten between the two passes: a line bad by then is
 * refused when reached, with its number (fixture_next -1). */
static void test_a_line_gone_bad_while_streaming_is_refused(void **state)
{
    (void)state;
    const char *path = write_temp(HEADER "{\"t\":0,\"k\":\"open\"}\n{\"t\":1,\"k\":\"end\"}\n");
    fixture fx;
    char err[256] = "";
    assert_int_equal(fixture_open(path, &fx, err, sizeof err), DC_OK);
    FILE *f = fopen(path, "w");                  /* same file, new contents */
    assert_non_null(f);
    fputs(HEADER "{\"t\":0,\"k\":\"open\"}\n{\"t\":1,\"k\":\"recv\"}\n", f);
    assert_int_equal(fclose(f), 0);
    fx_line buf = { 0 };
    fx_entry e = { 0 };
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), 1);
    fx_entry_clear(&e);
    assert_int_equal(fixture_next(&fx, &e, &buf, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 3: a recv/send line needs json, text or b64"));
    fx_line_free(&buf);
    fixture_free(&fx);
    unlink(path);
}

/* REST answers and op 8 nonces are known before the stream reaches them. */
static void test_index_holds_rest_and_op8_sends(void **state)
{
    (void)state;
    const char *path = write_temp(HEADER "{\"t\":0,\"k\":\"open\"}\n"
                                         "{\"t\":1,\"k\":\"send\",\"json\":{\"op\":1,\"d\":null}}\n"
                                         "{\"t\":2,\"k\":\"recv\",\"json\":{\"op\":11}}\n"
                                         "{\"t\":3,\"k\":\"send\",\"json\":{\"op\":8,\"d\":{\"guild_id\":\"42\","
                                         "\"nonce\":\"n1\"}}}\n"
                                         "{\"t\":4,\"k\":\"rest\",\"method\":\"GET\",\"path\":\"/x\",\"status\":403,"
                                         "\"body\":{\"code\":50001}}\n");
    fixture fx;
    char err[256];
    assert_int_equal(fixture_open(path, &fx, err, sizeof err), DC_OK);
    assert_int_equal(fx.n, 5);
    assert_int_equal(fx.n_index, 2);
    assert_int_equal(fx.index[0].kind, FX_SEND);
    assert_int_equal(fx.index[0].seq, 3);
    assert_int_equal(fx.index[0].guild_id, 42);
    assert_string_equal(fx.index[0].nonce, "n1");
    assert_int_equal(fx.index[1].kind, FX_REST);
    assert_int_equal(fx.index[1].seq, 4);
    assert_int_equal(fx.index[1].status, 403);
    assert_string_equal(fx.index[1].path, "/x");
    assert_string_equal(fx.index[1].data, "{\"code\":50001}");
    fixture_free(&fx);
    assert_int_equal(fixture_load(path, &fx, err, sizeof err), DC_OK);   /* and the in-memory reader agrees */
    assert_int_equal(fx.n, 5);
    assert_int_equal(fx.v[2].op, 11);
    assert_string_equal(fx.v[2].data, "{\"op\":11}");
    assert_int_equal(fx.v[3].op, 8);
    fixture_free(&fx);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scanner_finds_the_top_level_values),
        cmocka_unit_test(test_scanner_refuses_broken_shapes),
        cmocka_unit_test(test_stream_hands_out_entries_as_written),
        cmocka_unit_test(test_big_file_and_long_line_stream_through),
        cmocka_unit_test(test_bad_shapes_are_refused_up_front),
        cmocka_unit_test(test_bad_values_are_found_when_reached),
        cmocka_unit_test(test_a_line_gone_bad_while_streaming_is_refused),
        cmocka_unit_test(test_index_holds_rest_and_op8_sends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
