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
    dc_log_level level;
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
    if (!path || !*path) {
        L.to_stderr = 1;
        return DC_OK;
    }
    L.path = strdup(path);
    if (!L.path)
        return DC_ERR_NOMEM;
    L.file = open_log_file(path);
    if (!L.file) {
        fprintf(stderr, "discord-cleaner: cannot open log file %s: %s\n", path, strerror(errno));
        L.to_stderr = 1;
        return DC_ERR_IO;
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

static size_t format_prefix(char *buf, size_t cap, dc_log_level level, const char *component)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                     level_names[level], component ? component : "main");
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void log_vmsg(dc_log_level level, const char *component, const char *fmt, va_list ap)
{
    if (level > L.level)
        return;
    char line[LOG_LINE_MAX];
    size_t n = format_prefix(line, sizeof line - 2, level, component);
    int m = vsnprintf(line + n, sizeof line - 2 - n, fmt, ap);
    if (m < 0)
        m = 0;
    n += (size_t)m < sizeof line - 2 - n ? (size_t)m : sizeof line - 3 - n;
    line[n++] = '\n';
    line[n] = '\0';
    log_redact(line);
    if (L.file) {
        fputs(line, L.file);
        fflush(L.file);
    }
    if (L.to_stderr || !L.file)
        fputs(line, stderr);
}

void log_msg(dc_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, component, fmt, ap);
    va_end(ap);
}
