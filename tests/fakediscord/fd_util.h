/* fd_util.h - small helpers for the loopback Discord double: a growable
 * byte buffer, clocks, snowflake parsing/formatting and JSON shortcuts.
 * Allocation failure ends the process (fd_oom): this is a test double, and
 * a half-built reply would only make a test fail in a more confusing way. */
#ifndef FD_UTIL_H
#define FD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef struct {
	char *data;
	size_t len, cap;
} fd_buf;

void *fd_xmalloc(size_t n);
void *fd_xrealloc(void *p, size_t n);
char *fd_xstrdup(const char *s);

void fd_buf_reserve(fd_buf *b, size_t extra);
void fd_buf_put(fd_buf *b, const void *data, size_t len);
void fd_buf_puts(fd_buf *b, const char *s);
void fd_buf_printf(fd_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends s as a quoted, escaped JSON string. */
void fd_buf_json_str(fd_buf *b, const char *s);
void fd_buf_free(fd_buf *b);

/* Monotonic milliseconds (for windows and timers). */
int64_t fd_now_ms(void);
/* Wall-clock epoch milliseconds (for X-RateLimit-Reset). */
int64_t fd_wall_ms(void);

/* Decimal snowflake string -> id; false unless the whole string is digits. */
bool fd_parse_id(const char *s, uint64_t *out);
/* A snowflake given as JSON string or number. */
bool fd_json_id(const cJSON *item, uint64_t *out);
/* Adds "name": "<decimal id>" to obj. */
void fd_json_add_id(cJSON *obj, const char *name, uint64_t id);
/* Integer member of obj, or dflt when absent/not a number. */
int64_t fd_json_int(const cJSON *obj, const char *name, int64_t dflt);
bool fd_json_bool(const cJSON *obj, const char *name, bool dflt);
const char *fd_json_str(const cJSON *obj, const char *name);

/* Serializes and frees j; the caller frees the returned string. */
char *fd_json_take(cJSON *j);

/* Fills out with 32 random lowercase hex characters plus NUL. */
void fd_random_hex(char out[33]);

#endif
