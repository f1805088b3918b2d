/* log.h - structured, token-redacting log lines.
 *
 * Line format:  2026-11-27T14:05:14.123Z INFO  gateway: message
 * Output goes to the log file (default logs/user_cleanup.log, parent
 * directories created) and also to stderr when stderr is a terminal.
 * Under systemd (JOURNAL_STREAM matches fd 2) or with no log file, every
 * line also goes to stderr with an sd-daemon "<N>" priority prefix
 * (3 err, 4 warning, 6 info, 7 debug) and, in text, no timestamp.
 * Every registered secret (the bot token) is replaced by "[REDACTED]"
 * before a line is written anywhere. */
#ifndef DC_LOG_H
#define DC_LOG_H

#include <stdarg.h>
#include "base/err.h"

typedef enum { DCL_ERROR = 0, DCL_WARN, DCL_INFO, DCL_DEBUG } dc_log_level;

/* Open (or create) the log file.  path NULL or "" logs to stderr only.
 * also_stderr: 1 always, 0 never, -1 only when stderr is a tty. */
dc_err log_open(const char *path, dc_log_level level, int also_stderr);
void log_close(void);
/* Reopen the file by path (SIGHUP / logrotate).  Safe to call from the loop,
 * not from a signal handler: the handler only sets a flag. */
dc_err log_reopen(void);
void log_set_level(dc_log_level level);
dc_log_level log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 when unknown. */
int log_level_from_name(const char *name);
/* Register a secret to redact (copied; up to a few may be registered). */
void log_add_secret(const char *secret);
/* Replace every registered secret (and "Bot <anything>" auth strings, and
 * the interaction or webhook token in a "/interactions/{id}/TOKEN" or
 * "/webhooks/{id}/TOKEN" path) in buf in place; returns buf.  Used by anything that persists text. */
char *log_redact(char *buf);

void log_msg(dc_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(dc_log_level level, const char *component, const char *fmt, va_list ap);

/* Output format (log_format): text (default, unchanged) or one JSON object
 * per line: {"ts":"...Z","level":"info","module":"gateway","msg":"...",
 * "guild":"1","user":"2","shard":0,"reason":"member_remove","rows":3,
 * "duration_ms":12}.  Ids are strings, counts numbers; absent fields are
 * omitted.  Safe to call at any time (SIGHUP reload). */
typedef enum { DCL_FMT_TEXT = 0, DCL_FMT_JSON } dc_log_format;
void log_set_format(dc_log_format fmt);
dc_log_format log_get_format(void);
/* Parse "text|json"; returns -1 when unknown. */
int log_format_from_name(const char *name);

/* Structured fields a line is about.  Zero means absent for ids; counts
 * and shard are absent when negative (use LOG_FIELDS_INIT). */
typedef struct {
    unsigned long long guild, user;   /* snowflakes, 0 = absent */
    int shard;                        /* -1 = absent */
    const char *reason;               /* NULL = absent */
    long long rows;                   /* -1 = absent */
    long long duration_ms;            /* -1 = absent */
} log_fields;
#define LOG_FIELDS_INIT { .shard = -1, .rows = -1, .duration_ms = -1 }

/* Like log_msg, with fields (JSON members in json mode; ignored in text,
 * whose message already says them). */
void log_msgf(dc_log_level level, const char *component, const log_fields *f,
              const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Journal rule: 1 when JOURNAL_STREAM ("dev:ino") names fd 2's device and
 * inode.  Exposed for tests; env NULL reads the environment. */
int log_journal_stream_matches(const char *env);

#define LOG_EF(comp, f, ...) log_msgf(DCL_ERROR, comp, f, __VA_ARGS__)
#define LOG_WF(comp, f, ...) log_msgf(DCL_WARN, comp, f, __VA_ARGS__)
#define LOG_IF(comp, f, ...) log_msgf(DCL_INFO, comp, f, __VA_ARGS__)
#define LOG_DF(comp, f, ...) log_msgf(DCL_DEBUG, comp, f, __VA_ARGS__)

#define LOG_E(comp, ...) log_msg(DCL_ERROR, comp, __VA_ARGS__)
#define LOG_W(comp, ...) log_msg(DCL_WARN, comp, __VA_ARGS__)
#define LOG_I(comp, ...) log_msg(DCL_INFO, comp, __VA_ARGS__)
#define LOG_D(comp, ...) log_msg(DCL_DEBUG, comp, __VA_ARGS__)

#endif
