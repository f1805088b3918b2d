/* log.c - one log line per call, redacted, to a file and/or stderr.
 *
 * Lines are formatted into a fixed buffer, redacted, then written with one
 * fputs + fflush so a crash never leaves half a line behind. */
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_MAX_SECRETS 4
#define LOG_LINE_MAX 4096

static struct {
    FILE *file;
    char *path;
    int to_stderr;
    int journal;              /* stderr lines carry "<N>" and no timestamp */
    dc_log_level level;
    dc_log_format format;
    char *secrets[LOG_MAX_SECRETS];
} L = { .level = DCL_INFO, .to_stderr = 1 };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int log_level_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

void log_set_level(dc_log_level level) { L.level = level; }
void log_set_format(dc_log_format fmt) { L.format = fmt; }
dc_log_format log_get_format(void) { return L.format; }

int log_format_from_name(const char *name)
{
    if (name && strcmp(name, "text") == 0)
        return DCL_FMT_TEXT;
    if (name && strcmp(name, "json") == 0)
        return DCL_FMT_JSON;
    return -1;
}

int log_journal_stream_matches(const char *env)
{
    if (!env)
        env = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char tail;
    if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    struct stat st;
    if (fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}
dc_log_level log_get_level(void) { return L.level; }

/* mkdir -p for the directory part of path. */
static int make_parent_dirs(const char *path)
{
    char buf[4096];
    if (strlen(path) >= sizeof buf)
        return -1;
    strcpy(buf, path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return 0;
}

static FILE *open_log_file(const char *path)
{
    if (make_parent_dirs(path) != 0)
        return NULL;
    FILE *f = fopen(path, "a");
    if (f)
        setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

dc_err log_open(const char *path, dc_log_level level, int also_stderr)
{
    log_close();
    L.level = level;
    L.to_stderr = also_stderr < 0 ? isatty(STDERR_FILENO) : also_stderr;
    L.journal = 0;
    if (!path || !*path || log_journal_stream_matches(NULL)) {
        L.to_stderr = 1;
        L.journal = !isatty(STDERR_FILENO);
    }
    if (!path || !*path)
        return DC_OK;
    L.path = strdup(path);
    if (!L.path)
        return DC_ERR_NOMEM;
    L.file = open_log_file(path);
    if (!L.file) {
        int e = errno;
        L.to_stderr = 1;
        L.journal = L.journal || !isatty(STDERR_FILENO);
        log_msg(DCL_WARN, "log", "cannot open log file %s: %s; logging to stderr", path, strerror(e));
        return DC_OK;
    }
    return DC_OK;
}

void log_close(void)
{
    if (L.file)
        fclose(L.file);
    L.file = NULL;
    free(L.path);
    L.path = NULL;
}

dc_err log_reopen(void)
{
    if (!L.path)
        return DC_OK;
    FILE *f = open_log_file(L.path);
    if (!f)
        return DC_ERR_IO;
    if (L.file)
        fclose(L.file);
    L.file = f;
    return DC_OK;
}

void log_add_secret(const char *secret)
{
    if (!secret || strlen(secret) < 4)   /* too short to redact safely */
        return;
    for (int i = 0; i < LOG_MAX_SECRETS; i++) {
        if (L.secrets[i] && strcmp(L.secrets[i], secret) == 0)
            return;
        if (!L.secrets[i]) {
            L.secrets[i] = strdup(secret);
            return;
        }
    }
}

/* Replace every occurrence of needle in buf (in place, never growing). */
static void redact_all(char *buf, const char *needle)
{
    static const char mask[] = "[REDACTED]";
    size_t nlen = strlen(needle), mlen = sizeof mask - 1;
    char *p = buf;
    while ((p = strstr(p, needle)) != NULL) {
        size_t keep = nlen < mlen ? nlen : mlen;
        memcpy(p, mask, keep);
        memmove(p + keep, p + nlen, strlen(p + nlen) + 1);
        p += keep;
    }
}

/* "Bot xxxxx" / "Bearer xxxxx" authorization values, whatever the token. */
static void redact_auth_schemes(char *buf)
{
    static const char *const schemes[] = { "Bot ", "Bearer " };
    for (size_t i = 0; i < 2; i++) {
        char *p = buf;
        size_t sl = strlen(schemes[i]);
        while ((p = strstr(p, schemes[i])) != NULL) {
            char *v = p + sl, *e = v;
            while (*e && *e != ' ' && *e != '"' && *e != '\r' && *e != '\n' && *e != ',')
                e++;
            if (e - v >= 20) {   /* token-shaped: long opaque value */
                memcpy(v, "[REDACTED]", 10);
                memmove(v + 10, e, strlen(e) + 1);
            }
            p = v;
        }
    }
}

/* Interaction and webhook tokens in REST paths ("/interactions/{id}/TOKEN/",
 * "/webhooks/{id}/TOKEN"): for 15 minutes they post as the bot. */
static void redact_path_tokens(char *buf)
{
    static const char *const routes[] = { "/interactions/", "/webhooks/" };
    for (size_t i = 0; i < 2; i++) {
        char *p = buf;
        while ((p = strstr(p, routes[i])) != NULL) {
            char *v = p + strlen(routes[i]);
            v += strspn(v, "0123456789");
            p = v;
            if (*v != '/')
                continue;
            v++;
            size_t len = strcspn(v, "/? \"\r\n,");
            if (len >= 20) {             /* token-shaped: long opaque value */
                memcpy(v, "[REDACTED]", 10);
                memmove(v + 10, v + len, strlen(v + len) + 1);
            }
            p = v;
        }
    }
}

char *log_redact(char *buf)
{
    for (int i = 0; i < LOG_MAX_SECRETS && L.secrets[i]; i++)
        redact_all(buf, L.secrets[i]);
    redact_auth_schemes(buf);
    redact_path_tokens(buf);
    return buf;
}

static const char *const level_padded[] = { "error", "warn ", "info ", "debug" };
static const char journal_prio[] = { '3', '4', '6', '7' };

/* A bounded line being built; overflow truncates, never overruns. */
typedef struct { char *b; size_t n, cap; } linebuf;

static void put(linebuf *lb, const char *s, size_t len)
{
    if (len > lb->cap - lb->n)
        len = lb->cap - lb->n;
    memcpy(lb->b + lb->n, s, len);
    lb->n += len;
}
static void puts_(linebuf *lb, const char *s) { put(lb, s, strlen(s)); }

/* Length of the valid UTF-8 sequence at s, 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len < 2)
        return len;
    if ((len == 2 && c < 0xC2) || (len == 4 && c > 0xF4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

/* A JSON string: quotes, backslash and control characters escaped,
 * invalid UTF-8 replaced by U+FFFD. */
static void put_json_str(linebuf *lb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    put(lb, "\"", 1);
    while (*p) {
        size_t len = utf8_len(p);
        if (len == 0) {
            put(lb, "\xEF\xBF\xBD", 3);
            p++;
        } else if (*p == '"' || *p == '\\') {
            char esc[2] = { '\\', (char)*p };
            put(lb, esc, 2);
            p++;
        } else if (*p < 0x20) {
            char esc[8];
            const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r" : NULL;
            if (!named)
                snprintf(esc, sizeof esc, "\\u%04x", *p);
            puts_(lb, named ? named : esc);
            p++;
        } else {
            put(lb, (const char *)p, len);
            p += len;
        }
    }
    put(lb, "\"", 1);
}

static void put_timestamp(linebuf *lb)
{
    struct timespec ts;
    struct tm tm;
    char t[96];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(t, sizeof t, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L);
    puts_(lb, t);
}

static void put_id_field(linebuf *lb, const char *key, unsigned long long v)
{
    char num[32];
    snprintf(num, sizeof num, ",\"%s\":\"%llu\"", key, v);
    puts_(lb, num);
}

static void put_num_field(linebuf *lb, const char *key, long long v)
{
    char num[48];
    snprintf(num, sizeof num, ",\"%s\":%lld", key, v);
    puts_(lb, num);
}

static void put_json_fields(linebuf *lb, const log_fields *f)
{
    if (!f)
        return;
    if (f->guild)
        put_id_field(lb, "guild", f->guild);
    if (f->user)
        put_id_field(lb, "user", f->user);
    if (f->shard >= 0)
        put_num_field(lb, "shard", f->shard);
    if (f->reason) {
        char reason[256];
        snprintf(reason, sizeof reason, "%s", f->reason);
        puts_(lb, ",\"reason\":");
        put_json_str(lb, log_redact(reason));
    }
    if (f->rows >= 0)
        put_num_field(lb, "rows", f->rows);
    if (f->duration_ms >= 0)
        put_num_field(lb, "duration_ms", f->duration_ms);
}

/* The line without a trailing newline: text (optionally without the
 * timestamp) or a JSON object.  msg is already redacted. */
static void render(linebuf *lb, dc_log_level level, const char *component, const log_fields *f,
                   const char *msg, int with_ts)
{
    const char *comp = component ? component : "main";
    if (L.format == DCL_FMT_JSON) {
        puts_(lb, "{\"ts\":\"");
        put_timestamp(lb);
        puts_(lb, "\",\"level\":\"");
        puts_(lb, level_names[level]);
        puts_(lb, "\",\"module\":");
        put_json_str(lb, comp);
        puts_(lb, ",\"msg\":");
        put_json_str(lb, msg);
        put_json_fields(lb, f);
        puts_(lb, "}");
        return;
    }
    if (with_ts) {
        put_timestamp(lb);
        puts_(lb, " ");
    }
    puts_(lb, level_padded[level]);
    puts_(lb, " ");
    puts_(lb, comp);
    puts_(lb, ": ");
    puts_(lb, msg);
}

/* One finished line to an output: "\n" added, "<N>" first for the journal. */
static void emit(FILE *out, dc_log_level level, const char *component, const log_fields *f,
                 const char *msg, int journal)
{
    char line[LOG_LINE_MAX * 2];
    linebuf lb = { line, 0, sizeof line - 1 };
    if (journal) {
        char prio[3] = { '<', journal_prio[level], '>' };
        put(&lb, prio, 3);
    }
    render(&lb, level, component, f, msg, !journal);
    line[lb.n++] = '\n';
    fwrite(line, 1, lb.n, out);
    fflush(out);
}

static void log_vmsgf(dc_log_level level, const char *component, const log_fields *f,
                      const char *fmt, va_list ap)
{
    if (level > L.level)
        return;
    char msg[LOG_LINE_MAX];
    if (vsnprintf(msg, sizeof msg, fmt, ap) < 0)
        msg[0] = '\0';
    log_redact(msg);
    if (L.file)
        emit(L.file, level, component, f, msg, 0);
    if (L.to_stderr || !L.file)
        emit(stderr, level, component, f, msg, L.journal);
}

void log_vmsg(dc_log_level level, const char *component, const char *fmt, va_list ap)
{
    log_vmsgf(level, component, NULL, fmt, ap);
}

void log_msg(dc_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsgf(level, component, NULL, fmt, ap);
    va_end(ap);
}

void log_msgf(dc_log_level level, const char *component, const log_fields *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsgf(level, component, f, fmt, ap);
    va_end(ap);
}
