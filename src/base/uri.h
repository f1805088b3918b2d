/* uri.h - the secrets of a database URI, kept out of every message.
 *
 * The `db` setting may be a libpq connection URI (postgresql://USER:PASSWORD
 * @HOST:PORT/DATABASE?password=...), and its password must never reach a log
 * line, --print-config, `status`, an error message or a recording.  This one
 * place finds the password in such a URI: config prints the setting with it,
 * the store words its errors with it.  It lives in base because config (below
 * the store) prints the setting too. */
#ifndef DC_URI_H
#define DC_URI_H

#include <stddef.h>

/* Room for a setting as shown (a path or a redacted URI). */
#define URI_SHOWN_MAX 4096

/* Non-zero when text starts with "postgresql://" or "postgres://" (any case):
 * libpq's two URI schemes. */
int uri_is_postgres(const char *text);

/* Copies uri to out (cap bytes, always terminated when cap > 0) with each
 * password replaced by "***": the one after "USER:" before the '@' and the
 * value of each `password=` query parameter (its name percent-decoded, as
 * libpq reads it).  Any other text, and a URI of another scheme, is copied
 * unchanged.  Returns the length of the whole redacted text (as snprintf:
 * >= cap means out was cut). */
size_t uri_redact(const char *uri, char *out, size_t cap);

/* Copies text to out (cap bytes, always terminated when cap > 0) with every
 * occurrence of a password of uri (as uri_redact finds them, raw as written
 * in uri) replaced by "***": for messages of a library that may quote a part
 * of the URI back.  Returns the length of the whole result (as snprintf). */
size_t uri_scrub(const char *uri, const char *text, char *out, size_t cap);

#endif
