/* fixture_scan.c - find the top-level values of a fixture entry line
 * without building a cJSON tree.
 *
 * A replay of a million-event recording spends most of its reading time on
 * "recv" lines whose "json" value is the whole message; building a tree of
 * the line only to print the message back to text (and parse it again in
 * the session) tripled the work.  This scanner checks only the line's
 * structure (strings end, brackets balance, one object) and returns the
 * spans of the values the fast path needs; the message itself is parsed
 * once, where the live daemon parses it.  Anything it does not recognise
 * goes to the full cJSON reader (fixture.c), which has the final word. */
#include "fixture.h"

#include <stdlib.h>
#include <string.h>

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* The bytes each scan stops at; it skips every other byte with one table
 * load.  NUL stops both: the line's terminator (line[len]) ends the scan
 * without a bounds check per byte, and a NUL inside the line is no JSON. */
enum { B_SKIP, B_NUL, B_QUOTE, B_ESCAPE, B_OPEN, B_CLOSE };
static const unsigned char in_string[256] = { [0] = B_NUL, ['"'] = B_QUOTE, ['\\'] = B_ESCAPE };
static const unsigned char in_nested[256] = { [0] = B_NUL, ['"'] = B_QUOTE, ['{'] = B_OPEN, ['['] = B_OPEN,
                                              ['}'] = B_CLOSE, [']'] = B_CLOSE };

/* p at the opening quote; returns just past the closing one, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++;; p++) {
        while (in_string[(unsigned char)*p] == B_SKIP)
            p++;
        if (*p == '"')
            return p + 1;
        if (*p != '\\' || ++p >= end)   /* NUL, or a line ending in a backslash */
            return NULL;
    }
}

/* An object or array: brackets balance outside strings.  Which bracket
 * closes which is left to the JSON parser that reads the value later. */
static const char *skip_nested(const char *p, const char *end)
{
    int depth = 0;
    for (;; p++) {
        while (in_nested[(unsigned char)*p] == B_SKIP)
            p++;
        switch (in_nested[(unsigned char)*p]) {
        case B_QUOTE:
            if (!(p = skip_string(p, end)))
                return NULL;
            p--;                            /* the loop steps past the closing quote */
            break;
        case B_OPEN:
            depth++;
            break;
        case B_CLOSE:
            if (--depth == 0)
                return p + 1;
            break;
        default:                            /* NUL */
            return NULL;
        }
    }
}

static int scalar_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '+' || c == '-' || c == 'E';
}

static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[')
        return skip_nested(p, end);
    const char *start = p;
    while (p < end && scalar_char(*p))
        p++;
    return p > start ? p : NULL;
}

static int key_is(const char *key, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(key, want, n) == 0;
}

static void keep(fx_span *slot, const char *v, const char *v_end)
{
    if (!slot->p) {                          /* the first occurrence, as cJSON looks up */
        slot->p = v;
        slot->n = (size_t)(v_end - v);
    }
}

static void note_field(fx_fields *f, const char *key, size_t kn, const char *v, const char *v_end)
{
    if (key_is(key, kn, "t"))
        keep(&f->t, v, v_end);
    else if (key_is(key, kn, "k"))
        keep(&f->k, v, v_end);
    else if (key_is(key, kn, "json"))
        keep(&f->json, v, v_end);
    else if (key_is(key, kn, "text"))
        keep(&f->text, v, v_end);
    else if (key_is(key, kn, "b64"))
        keep(&f->b64, v, v_end);
}

int fx_scan_entry(const char *line, size_t len, fx_fields *f)
{
    const char *end = line + len, *p = skip_ws(line, end);
    memset(f, 0, sizeof *f);
    if (*end != '\0' || p >= end || *p++ != '{')
        return -1;
    p = skip_ws(p, end);
    if (p < end && *p == '}')
        return skip_ws(p + 1, end) == end ? 0 : -1;
    for (;;) {
        if (p >= end || *p != '"')
            return -1;
        const char *key = p + 1, *key_end = skip_string(p, end);
        if (!key_end)
            return -1;
        p = skip_ws(key_end, end);
        if (p >= end || *p++ != ':')
            return -1;
        const char *v = skip_ws(p, end), *v_end = skip_value(v, end);
        if (!v_end)
            return -1;
        note_field(f, key, (size_t)(key_end - 1 - key), v, v_end);
        p = skip_ws(v_end, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            return skip_ws(p + 1, end) == end ? 0 : -1;
        return -1;
    }
}

int fx_span_ms(fx_span s, double max, int64_t *out)
{
    if (!s.p || s.n == 0 || s.n > 15)
        return -1;                           /* 15 digits < 2^53: exact, no overflow */
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;                       /* fractions, exponents: the full reader */
        v = v * 10 + (s.p[i] - '0');
    }
    if ((double)v > max)
        return -1;
    *out = v;
    return 0;
}

int fx_span_is(fx_span s, const char *want)
{
    size_t n = strlen(want);
    return s.p && s.n == n + 2 && s.p[0] == '"' && memcmp(s.p + 1, want, n) == 0;
}
