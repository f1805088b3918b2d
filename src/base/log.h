/* log.h - structured, token-redacting log lines.
 *
 * Line format:  2026-11-27T14:05:14.123Z INFO  gateway: message
 * Output goes to the log file (default logs/user_cleanup.log, parent
 * directories created) and also to stderr when stderr is a terminal.
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

#define LOG_E(comp, ...) log_msg(DCL_ERROR, comp, __VA_ARGS__)
#define LOG_W(comp, ...) log_msg(DCL_WARN, comp, __VA_ARGS__)
#define LOG_I(comp, ...) log_msg(DCL_INFO, comp, __VA_ARGS__)
#define LOG_D(comp, ...) log_msg(DCL_DEBUG, comp, __VA_ARGS__)

#endif
