/* uri.c - the passwords of a libpq URI found once, for uri_redact and
 * uri_scrub (uri.h).  The URI is read the way libpq reads it
 * (conninfo_uri_parse_options): the user part ends at the first '@' before
 * any '/', its password starts at the first ':' in it; the query starts at
 * the first '?' after it, parameters separated by '&'. */
#include "base/uri.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define URI_MAX_SECRETS 8
#define URI_REDACTED "***"

typedef struct {
    size_t off, len;
} uri_span;

/* An output buffer that counts what did not fit, as snprintf does. */
typedef struct {
    char *out;
    size_t cap, len;
} uri_out;

static void out_put(uri_out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, o->len++)
        if (o->len + 1 < o->cap)
            o->out[o->len] = s[i];
}

static size_t out_end(uri_out *o)
{
    if (o->cap)
        o->out[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len;
}

static size_t scheme_len(const char *text)
{
    if (strncasecmp(text, "postgresql://", 13) == 0)
        return 13;
    return strncasecmp(text, "postgres://", 11) == 0 ? 11 : 0;
}

int uri_is_postgres(const char *text) { return text && scheme_len(text) != 0; }

static int hexval(int c)
{
    return isdigit(c) ? c - '0' : isxdigit(c) ? tolower(c) - 'a' + 10 : -1;
}

/* Whether the n bytes at key, percent-decoded, spell "password". */
static int key_is_password(const char *key, size_t n)
{
    char dec[16];
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)key[i];
        if (c == '%' && i + 2 < n && hexval((unsigned char)key[i + 1]) >= 0 &&
            hexval((unsigned char)key[i + 2]) >= 0) {
            c = hexval((unsigned char)key[i + 1]) * 16 + hexval((unsigned char)key[i + 2]);
            i += 2;
        }
        if (d + 1 >= sizeof dec)
            return 0;
        dec[d++] = (char)c;
    }
    dec[d] = '\0';
    return strcmp(dec, "password") == 0;
}

/* The `password=` values of the query starting at q (just after '?'). */
static size_t query_secrets(const char *uri, const char *q, uri_span *sp, size_t n, size_t max)
{
    while (n < max) {
        size_t plen = strcspn(q, "&");
        const char *eq = memchr(q, '=', plen);
        if (eq && key_is_password(q, (size_t)(eq - q)))
            sp[n++] = (uri_span){ (size_t)(eq + 1 - uri), plen - (size_t)(eq + 1 - q) };
        if (q[plen] != '&')
            break;
        q += plen + 1;
    }
    return n;
}

/* The passwords of uri, in order: the user part's, then the query's. */
static size_t secrets(const char *uri, uri_span *sp, size_t max)
{
    size_t p = scheme_len(uri), n = 0;
    if (!p)
        return 0;
    size_t a = strcspn(uri + p, "@/");
    if (uri[p + a] == '@') {
        const char *colon = memchr(uri + p, ':', a);
        if (colon)
            sp[n++] = (uri_span){ (size_t)(colon + 1 - uri), p + a - (size_t)(colon + 1 - uri) };
        p += a + 1;
    }
    const char *q = strchr(uri + p, '?');
    return q ? query_secrets(uri, q + 1, sp, n, max) : n;
}

size_t uri_redact(const char *uri, char *out, size_t cap)
{
    uri_span sp[URI_MAX_SECRETS];
    size_t n = secrets(uri, sp, URI_MAX_SECRETS), at = 0;
    uri_out o = { out, cap, 0 };
    for (size_t i = 0; i < n; i++) {
        if (!sp[i].len)
            continue;
        out_put(&o, uri + at, sp[i].off - at);
        out_put(&o, URI_REDACTED, strlen(URI_REDACTED));
        at = sp[i].off + sp[i].len;
    }
    out_put(&o, uri + at, strlen(uri + at));
    return out_end(&o);
}

/* The length of the password of uri that starts at text, 0 when none does. */
static size_t secret_at(const char *uri, const uri_span *sp, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (sp[i].len && strncmp(text, uri + sp[i].off, sp[i].len) == 0)
            return sp[i].len;
    return 0;
}

size_t uri_scrub(const char *uri, const char *text, char *out, size_t cap)
{
    uri_span sp[URI_MAX_SECRETS];
    size_t n = secrets(uri, sp, URI_MAX_SECRETS);
    uri_out o = { out, cap, 0 };
    while (*text) {
        size_t len = secret_at(uri, sp, n, text);
        if (len)
            out_put(&o, URI_REDACTED, strlen(URI_REDACTED));
        else
            out_put(&o, text, 1);
        text += len ? len : 1;
    }
    return out_end(&o);
}
