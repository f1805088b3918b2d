/* test_log.c - what reaches the log file: redaction of the token and of
 * "Bot <token>" values, level filtering, reopen after logrotate, and
 * creation of the log directory. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/log.h"

#define FAKE_TOKEN "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabCdE.fakefakefakefakefakefakefakefakefake12"
#define OTHER_TOKEN "OTk5OTk5OTk5OTk5OTk5OTk5.XyZxYz.anotherfakeanotherfakeanotherfake99"

static char tmpdir[64];
static char path[128];

static int remove_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int make_tmpdir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dc-test-log-XXXXXX");
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(path, sizeof path, "%s/test.log", tmpdir);
    return 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    log_close();
    return nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* The whole file as a string (caller frees); "" when absent. */
static char *slurp(const char *file)
{
    FILE *f = fopen(file, "r");
    char *text = calloc(1, 65536);
    assert_non_null(text);
    if (f) {
        size_t n = fread(text, 1, 65535, f);
        text[n] = '\0';
        fclose(f);
    }
    return text;
}

static int contains_nocase(const char *text, const char *needle)
{
    size_t n = strlen(needle);
    for (; *text; text++)
        if (strncasecmp(text, needle, n) == 0)
            return 1;
    return 0;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (; *text; text++)
        n += *text == '\n';
    return n;
}

static void registered_secret_is_redacted(void **state)
{
    (void)state;
    assert_int_equal(log_open(path, DCL_DEBUG, 0), DC_OK);
    log_add_secret(FAKE_TOKEN);
    LOG_I("rest", "identify with token %s and again %s.", FAKE_TOKEN, FAKE_TOKEN);
    LOG_E("gateway", "header Authorization: Bot %s", OTHER_TOKEN);   /* never registered */
    LOG_W("rest", "json {\"token\":\"Bot %s\"}", OTHER_TOKEN);
    LOG_I("cmd", "user said Bot hello");                               /* short: not a token */
    log_close();

    char *text = slurp(path);
    assert_null(strstr(text, FAKE_TOKEN));
    assert_null(strstr(text, OTHER_TOKEN));
    assert_non_null(strstr(text, "identify with token [REDACTED] and again [REDACTED]."));
    assert_non_null(strstr(text, "Authorization: Bot [REDACTED]\n"));
    assert_non_null(strstr(text, "{\"token\":\"Bot [REDACTED]\"}"));
    assert_non_null(strstr(text, "user said Bot hello\n"));
    /* log.h documents "INFO", log.c writes "info": accept either case. */
    assert_true(contains_nocase(text, " info  rest: identify"));
    assert_true(contains_nocase(text, " error gateway: header"));
    assert_int_equal(count_lines(text), 4);
    free(text);

    char buf[256];
    snprintf(buf, sizeof buf, "x%sy", FAKE_TOKEN);
    assert_string_equal(log_redact(buf), "x[REDACTED]y");
    /* interaction and webhook tokens in REST paths; short segments stay */
    snprintf(buf, sizeof buf, "POST /interactions/123/aW50ZXJhY3Rpb246MTIzNDU2Nzg5/callback -> 204");
    assert_string_equal(log_redact(buf), "POST /interactions/123/[REDACTED]/callback -> 204");
    snprintf(buf, sizeof buf, "PATCH /webhooks/999/0123456789abcdef0123456789abcdef/messages/@original");
    assert_string_equal(log_redact(buf), "PATCH /webhooks/999/[REDACTED]/messages/@original");
    snprintf(buf, sizeof buf, "POST /webhooks/999/0123456789abcdef0123456789abcdef -> 404");
    assert_string_equal(log_redact(buf), "POST /webhooks/999/[REDACTED] -> 404");
    snprintf(buf, sizeof buf, "GET /webhooks/999/short and /interactions/x/");
    assert_string_equal(log_redact(buf), "GET /webhooks/999/short and /interactions/x/");
}

static void level_filtering(void **state)
{
    (void)state;
    assert_int_equal(log_level_from_name("warn"), DCL_WARN);
    assert_int_equal(log_level_from_name("debug"), DCL_DEBUG);
    assert_int_equal(log_level_from_name("loud"), -1);
    assert_int_equal(log_level_from_name(NULL), -1);

    assert_int_equal(log_open(path, DCL_WARN, 0), DC_OK);
    assert_int_equal(log_get_level(), DCL_WARN);
    LOG_D("t", "debug-line");
    LOG_I("t", "info-line");
    LOG_W("t", "warn-line");
    LOG_E("t", "error-line");
    log_set_level(DCL_DEBUG);
    LOG_D("t", "debug-after-raise");
    log_set_level(DCL_ERROR);
    LOG_W("t", "warn-after-lower");
    log_close();

    char *text = slurp(path);
    assert_null(strstr(text, "debug-line"));
    assert_null(strstr(text, "info-line"));
    assert_non_null(strstr(text, "warn-line"));
    assert_non_null(strstr(text, "error-line"));
    assert_non_null(strstr(text, "debug-after-raise"));
    assert_null(strstr(text, "warn-after-lower"));
    assert_int_equal(count_lines(text), 3);
    free(text);
}

/* logrotate renames the file, then the daemon reopens by path (SIGHUP). */
static void reopen_after_rename_writes_new_file(void **state)
{
    (void)state;
    char rotated[160];
    snprintf(rotated, sizeof rotated, "%s.1", path);
    assert_int_equal(log_open(path, DCL_INFO, 0), DC_OK);
    LOG_I("t", "before-rotate");
    assert_int_equal(rename(path, rotated), 0);
    LOG_I("t", "after-rename-before-reopen");   /* still goes to the renamed file */
    assert_int_equal(log_reopen(), DC_OK);
    LOG_I("t", "after-reopen");
    log_close();

    char *old_text = slurp(rotated), *new_text = slurp(path);
    assert_non_null(strstr(old_text, "before-rotate"));
    assert_non_null(strstr(old_text, "after-rename-before-reopen"));
    assert_null(strstr(old_text, "after-reopen"));
    assert_non_null(strstr(new_text, "after-reopen"));
    assert_int_equal(count_lines(new_text), 1);
    free(old_text);
    free(new_text);
}

static void creates_parent_directories(void **state)
{
    (void)state;
    char deep[192], dir[192];
    snprintf(deep, sizeof deep, "%s/logs/a/b/cleanup.log", tmpdir);
    assert_int_equal(log_open(deep, DCL_INFO, 0), DC_OK);
    LOG_I("t", "in-a-new-directory");
    log_close();
    char *text = slurp(deep);
    assert_non_null(strstr(text, "in-a-new-directory"));
    free(text);
    snprintf(dir, sizeof dir, "%s/logs/a/b", tmpdir);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
}

/* An unopenable file never loses the log: stderr takes over. */
static void unwritable_path_falls_back_to_stderr(void **state)
{
    (void)state;
    char blocked[192];
    /* A regular file where a directory should be. */
    snprintf(blocked, sizeof blocked, "%s/file", tmpdir);
    FILE *f = fopen(blocked, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(blocked, sizeof blocked, "%s/file/sub/x.log", tmpdir);
    assert_int_equal(log_open(blocked, DCL_INFO, 0), DC_OK);
    log_close();
}

/* json: one object per line; ids strings, counts numbers, level names,
 * escaping of quotes/control bytes/invalid UTF-8, redaction in msg and fields. */
static void json_line_has_fields_escaped_and_redacted(void **state)
{
    (void)state;
    assert_int_equal(log_open(path, DCL_DEBUG, 0), DC_OK);
    log_add_secret(FAKE_TOKEN);
    log_set_format(DCL_FMT_JSON);
    log_fields f = LOG_FIELDS_INIT;
    f.guild = 1234567890123456789ULL;
    f.user = 42;
    f.shard = 0;
    f.reason = "member_remove " FAKE_TOKEN;
    f.rows = 3;
    f.duration_ms = 17;
    LOG_IF("daemon", &f, "removed \"q\"\t\x01 \xff token=%s", FAKE_TOKEN);
    LOG_W("gateway", "plain");
    log_set_format(DCL_FMT_TEXT);
    log_close();
    char *text = slurp(path);
    assert_null(strstr(text, FAKE_TOKEN));
    char *nl = strchr(text, '\n');
    assert_non_null(nl);
    *nl = '\0';
    cJSON *o = cJSON_Parse(text);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "info");
    assert_string_equal(cJSON_GetObjectItem(o, "module")->valuestring, "daemon");
    assert_string_equal(cJSON_GetObjectItem(o, "guild")->valuestring, "1234567890123456789");
    assert_string_equal(cJSON_GetObjectItem(o, "user")->valuestring, "42");
    assert_int_equal(cJSON_GetObjectItem(o, "shard")->valueint, 0);
    assert_int_equal(cJSON_GetObjectItem(o, "rows")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(o, "duration_ms")->valueint, 17);
    assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, "member_remove [REDACTED]");
    assert_string_equal(cJSON_GetObjectItem(o, "msg")->valuestring,
                        "removed \"q\"\t\x01 \xEF\xBF\xBD token=[REDACTED]");
    const char *ts = cJSON_GetObjectItem(o, "ts")->valuestring;
    assert_int_equal(strlen(ts), 24);
    assert_int_equal(ts[23], 'Z');
    cJSON_Delete(o);
    o = cJSON_Parse(nl + 1);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "level")->valuestring, "warn");
    assert_null(cJSON_GetObjectItem(o, "guild"));
    cJSON_Delete(o);
    free(text);
}

/* JOURNAL_STREAM counts only when it names fd 2's device:inode. */
static void journal_stream_must_match_stderr(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(fstat(STDERR_FILENO, &st), 0);
    char env[64];
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    assert_int_equal(log_journal_stream_matches(env), 1);
    snprintf(env, sizeof env, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
    assert_int_equal(log_journal_stream_matches(env), 0);
    assert_int_equal(log_journal_stream_matches("garbage"), 0);
    assert_int_equal(log_format_from_name("json"), DCL_FMT_JSON);
    assert_int_equal(log_format_from_name("xml"), -1);
}

/* With no log file and stderr not a terminal, lines carry "<N>" and no timestamp. */
static void journal_prefix_on_stderr(void **state)
{
    (void)state;
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    dup2(fd, STDERR_FILENO);
    close(fd);
    log_open(NULL, DCL_DEBUG, -1);
    LOG_W("gateway", "shard 0 closed");
    LOG_D("gateway", "dbg");
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    log_close();
    char *text = slurp(path);
    assert_string_equal(text, "<4>warn  gateway: shard 0 closed\n<7>debug gateway: dbg\n");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(registered_secret_is_redacted, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(level_filtering, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(reopen_after_rename_writes_new_file, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(creates_parent_directories, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(json_line_has_fields_escaped_and_redacted, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(journal_stream_must_match_stderr, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(journal_prefix_on_stderr, make_tmpdir, remove_tmpdir),
        cmocka_unit_test_setup_teardown(unwritable_path_falls_back_to_stderr, make_tmpdir, remove_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
