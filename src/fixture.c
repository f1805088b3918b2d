/* fixture.c - read a session fixture (format in fixture.h): the header, a
 * first pass that checks every line and indexes what the replay looks up
 * ahead (fixture_open), then one entry at a time (fixture_next), or all of
 * it in memory (fixture_load).  Lines in the common shape ("recv" with
 * "json" or "b64") go through fixture_scan.c; every other line, and any
 * line the scanner does not recognise, is parsed here with cJSON. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#include "snowflake.h"

static const char *const kind_names[] = { "?", "open", "recv", "send", "close", "rest", "end" };

const char *fx_kind_name(fx_kind k)
{
    return (int)k > 0 && (int)k <= FX_END ? kind_names[k] : "?";
}

static fx_kind kind_from_name(const char *s)
{
    for (int k = FX_OPEN; k <= FX_END; k++)
        if (s && strcmp(s, kind_names[k]) == 0)
            return (fx_kind)k;
    return 0;
}

static int bad(char *err, size_t errlen, int line, const char *why)
{
    snprintf(err, errlen, "line %d: %s", line, why);
    return -1;
}

/* Numbers cast to integers must fit first (a cast of an out-of-range
 * double is undefined; found by fuzz_fixture).  2^53: exact in a double. */
#define FX_MAX_MS 9007199254740992.0
#define FX_READ_BUF (256 * 1024)

static int number_in(const cJSON *n, double lo, double hi)
{
    return cJSON_IsNumber(n) && n->valuedouble >= lo && n->valuedouble <= hi;
}

/* The op (and, for op 8, guild and nonce) of a message, for matching. */
static void note_op(fx_entry *e)
{
    cJSON *j = e->binary ? NULL : cJSON_ParseWithLength(e->data, e->len);
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(j, "op");
    e->op = cJSON_IsNumber(op) ? op->valueint : -1;
    if (e->op == 8) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "d");
        const cJSON *nonce = cJSON_GetObjectItemCaseSensitive(d, "nonce");
        e->guild_id = snowflake_json(cJSON_GetObjectItemCaseSensitive(d, "guild_id"));
        if (cJSON_IsString(nonce))
            snprintf(e->nonce, sizeof e->nonce, "%s", nonce->valuestring);
    }
    cJSON_Delete(j);
}

/* "json", "text" or "b64" of a recv/send line into e->data. */
static int take_message(fx_entry *e, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *json = cJSON_GetObjectItemCaseSensitive(j, "json");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(j, "text");
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(j, "b64");
    if (json) {
        e->data = cJSON_PrintUnformatted(json);
    } else if (cJSON_IsString(text)) {
        e->data = strdup(text->valuestring);
    } else if (cJSON_IsString(b64) && e->kind == FX_RECV) {
        size_t in = strlen(b64->valuestring);
        e->data = malloc(in + 1);
        int n = e->data ? lws_b64_decode_string_len(b64->valuestring, (int)in, e->data, (int)in + 1) : -1;
        if (n < 0)
            return bad(err, errlen, e->line, "b64 is not base64");
        e->len = (size_t)n;
        e->binary = 1;
        return 0;
    } else {
        return bad(err, errlen, e->line, "a recv/send line needs json, text or b64");
    }
    if (!e->data)
        return bad(err, errlen, e->line, "out of memory");
    e->len = strlen(e->data);
    note_op(e);
    return 0;
}

static int take_rest(fx_entry *e, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "method");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "path");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
    if (!cJSON_IsString(m) || !cJSON_IsString(p) || !number_in(st, 0, 999))
        return bad(err, errlen, e->line, "a rest line needs method, path and status (0-999)");
    snprintf(e->method, sizeof e->method, "%s", m->valuestring);
    e->path = strdup(p->valuestring);
    e->status = (long)st->valuedouble;
    e->data = body ? cJSON_PrintUnformatted(body) : NULL;
    return e->path ? 0 : bad(err, errlen, e->line, "out of memory");
}

static int parse_entry(fx_entry *e, const char *text, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(text);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "k");
    int rc = 0;
    e->op = -1;
    e->code = -1;
    if (!cJSON_IsObject(j) || !number_in(t, 0, FX_MAX_MS) || !cJSON_IsString(k) ||
        !(e->kind = kind_from_name(k->valuestring))) {
        cJSON_Delete(j);
        return bad(err, errlen, e->line, "an entry needs \"t\" (ms, >= 0) and \"k\" (open, recv, send, close, rest, end)");
    }
    e->t = (int64_t)t->valuedouble;
    if (e->kind == FX_RECV || e->kind == FX_SEND) {
        rc = take_message(e, j, err, errlen);
    } else if (e->kind == FX_REST) {
        rc = take_rest(e, j, err, errlen);
    } else if (e->kind == FX_CLOSE) {
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "code");
        e->code = cJSON_IsNumber(code) ? code->valueint : -1;
    }
    cJSON_Delete(j);
    return rc;
}

static const char *opt_string(const cJSON *h, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int parse_header(fixture *fx, const char *text, char *err, size_t errlen)
{
    cJSON *h = fx->header = cJSON_Parse(text);
    const char *format = opt_string(h, "format");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(h, "version");
    if (!format || strcmp(format, FIXTURE_FORMAT) != 0)
        return bad(err, errlen, 1, "not a discord-cleaner session (header \"format\")");
    if (!cJSON_IsNumber(version) || version->valueint != FIXTURE_VERSION)
        return bad(err, errlen, 1, "unsupported fixture version (this build reads version 1)");
    const cJSON *wall = cJSON_GetObjectItemCaseSensitive(h, "wall_ms");
    const cJSON *shard = cJSON_GetObjectItemCaseSensitive(h, "shard");
    const cJSON *intents = cJSON_GetObjectItemCaseSensitive(h, "intents");
    const char *comp = opt_string(h, "compression");
    if ((wall && !number_in(wall, 0, FX_MAX_MS)) || (intents && !number_in(intents, 0, UINT32_MAX)))
        return bad(err, errlen, 1, "header \"wall_ms\" or \"intents\" out of range");
    fx->wall_ms = wall ? (int64_t)wall->valuedouble : 1700000000000LL;
    fx->shard_id = cJSON_IsNumber(cJSON_GetArrayItem(shard, 0)) ? cJSON_GetArrayItem(shard, 0)->valueint : 0;
    fx->shard_count = cJSON_IsNumber(cJSON_GetArrayItem(shard, 1)) ? cJSON_GetArrayItem(shard, 1)->valueint : 1;
    fx->intents = intents ? (uint32_t)intents->valuedouble : 0;
    fx->compressed = comp && strcmp(comp, "zlib-stream") == 0;
    fx->auto_ack = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(h, "auto_ack"));
    fx->check_sends = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(h, "check_sends"));
    fx->config = cJSON_GetObjectItemCaseSensitive(h, "config");
    fx->seed_sql = opt_string(h, "seed_sql");
    fx->pre_migration_sql = opt_string(h, "pre_migration_sql");
    fx->rest_rules = cJSON_GetObjectItemCaseSensitive(h, "rest");
    if (fx->shard_id < 0 || fx->shard_count < 1 || fx->shard_id >= fx->shard_count)
        return bad(err, errlen, 1, "\"shard\" must be [ID, COUNT] with 0 <= ID < COUNT");
    return 0;
}

/* ---- the fast path: "recv" lines through the scanner ----------------------- */

/* The scanned line is a "recv" with a plain "t" and a "json" value (or, with
 * no "json" and no "text", a "b64" string without escapes). */
static int fast_recv(const fx_fields *f, int64_t *t)
{
    if (!fx_span_is(f->k, "recv") || fx_span_ms(f->t, FX_MAX_MS, t) != 0)
        return 0;
    if (f->json.p)
        return 1;
    return !f->text.p && f->b64.p && f->b64.n >= 2 && f->b64.p[0] == '"' &&
           !memchr(f->b64.p, '\\', f->b64.n);
}

static int decode_b64(fx_entry *e, fx_span s, char *err, size_t errlen)
{
    int in = (int)(s.n - 2);
    e->data = malloc((size_t)in + 1);
    int n = e->data ? lws_b64_decode_string_len(s.p + 1, in, e->data, in + 1) : -1;
    if (n < 0)
        return bad(err, errlen, e->line, "b64 is not base64");
    e->len = (size_t)n;
    e->binary = 1;
    return 0;
}

static int take_fast(fx_entry *e, const fx_fields *f, int64_t t, char *err, size_t errlen)
{
    e->kind = FX_RECV;
    e->t = t;
    e->op = -1;
    e->code = -1;
    if (!f->json.p)
        return decode_b64(e, f->b64, err, errlen);
    e->data = (char *)f->json.p;         /* parsed once, where the session parses it */
    e->len = f->json.n;
    e->json_text = 1;
    e->borrowed = 1;
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static int blank(const char *line)
{
    return line[strspn(line, " \t\r\n")] == '\0';
}

static int in_order(fixture *fx, const fx_entry *e, char *err, size_t errlen)
{
    if (fx->next_seq > 0 && e->t < fx->last_t)
        return bad(err, errlen, e->line, "times must not go backwards");
    fx->last_t = e->t;
    return 0;
}

static int grow(fx_entry **v, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    fx_entry *nv = realloc(*v, c * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    *cap = c;
    return 0;
}

/* First pass over one entry line: its shape, and the index. */
static int check_line(fixture *fx, char *line, size_t len, size_t *index_cap, char *err, size_t errlen)
{
    fx_fields f;
    fx_entry e = { .line = fx->lineno, .seq = fx->next_seq };
    if (fx_scan_entry(line, len, &f) == 0 && fast_recv(&f, &e.t))
        return in_order(fx, &e, err, errlen);
    int rc = parse_entry(&e, line, err, errlen);
    if (rc == 0)
        rc = in_order(fx, &e, err, errlen);
    if (rc == 0 && (e.kind == FX_REST || (e.kind == FX_SEND && e.op == 8))) {
        if (grow(&fx->index, fx->n_index, index_cap) != 0) {
            fx_entry_clear(&e);
            return bad(err, errlen, fx->lineno, "out of memory");
        }
        fx->index[fx->n_index++] = e;         /* the index owns it now */
        return 0;
    }
    fx_entry_clear(&e);
    return rc;
}

static int first_pass(fixture *fx, char *err, size_t errlen)
{
    FILE *f = fx->file;
    char *line = NULL;
    size_t linecap = 0, index_cap = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &linecap, f)) >= 0) {
        fx->lineno++;
        if (blank(line))
            continue;                            /* blank lines are allowed */
        if (!fx->header) {
            rc = parse_header(fx, line, err, errlen);
            fx->header_line = fx->lineno;
            fx->data_offset = ftell(f);
            continue;
        }
        rc = check_line(fx, line, (size_t)len, &index_cap, err, errlen);
        fx->next_seq++;
    }
    free(line);
    if (rc == 0 && !fx->header)
        rc = bad(err, errlen, 1, "empty file (no header)");
    return rc;
}

dc_err fixture_open(const char *path, fixture *fx, char *err, size_t errlen)
{
    memset(fx, 0, sizeof *fx);
    snprintf(err, errlen, "%s", "");
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return DC_ERR_NOTFOUND;
    }
    fx->file = f;
    /* A million-line fixture is read twice; stdio's default 4 KiB reads
     * were a syscall every 25 lines. */
    fx->file_buf = malloc(FX_READ_BUF);
    if (fx->file_buf)
        setvbuf(f, fx->file_buf, _IOFBF, FX_READ_BUF);
    if (first_pass(fx, err, errlen) != 0 || fseek(f, fx->data_offset, SEEK_SET) != 0) {
        if (!err[0])
            snprintf(err, errlen, "cannot read %s", path);
        fixture_free(fx);
        return DC_ERR_PROTO;
    }
    fx->n = fx->next_seq;
    fx->next_seq = 0;
    fx->lineno = fx->header_line;
    fx->last_t = 0;
    return DC_OK;
}

int fixture_next(fixture *fx, fx_entry *e, fx_line *buf, char *err, size_t errlen)
{
    ssize_t len;
    do {
        if (!fx->file || (len = getline(&buf->p, &buf->cap, fx->file)) < 0)
            return 0;
        fx->lineno++;
    } while (blank(buf->p));
    memset(e, 0, sizeof *e);
    e->line = fx->lineno;
    e->seq = fx->next_seq;
    fx_fields f;
    int64_t t;
    int rc = fx_scan_entry(buf->p, (size_t)len, &f) == 0 && fast_recv(&f, &t)
                 ? take_fast(e, &f, t, err, errlen)
                 : parse_entry(e, buf->p, err, errlen);
    if (rc == 0)
        rc = in_order(fx, e, err, errlen);   /* again: the file may have changed since */
    fx->next_seq++;
    if (rc != 0) {
        fx_entry_clear(e);
        return -1;
    }
    return 1;
}

void fx_entry_clear(fx_entry *e)
{
    if (!e->borrowed)
        free(e->data);
    free(e->path);
    memset(e, 0, sizeof *e);
}

void fx_line_free(fx_line *buf)
{
    free(buf->p);
    buf->p = NULL;
    buf->cap = 0;
}

/* ---- everything in memory ----------------------------------------------------- */

/* A streamed entry made self-contained, its "json" checked and compacted
 * as the in-memory reader always did. */
static int own_entry(fx_entry *e, char *err, size_t errlen)
{
    if (!e->json_text)
        return 0;
    cJSON *j = cJSON_ParseWithLength(e->data, e->len);
    e->borrowed = 0;
    e->json_text = 0;
    e->data = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!e->data)
        return bad(err, errlen, e->line, j ? "out of memory" : "\"json\" is not valid JSON");
    e->len = strlen(e->data);
    note_op(e);
    return 0;
}

dc_err fixture_load(const char *path, fixture *fx, char *err, size_t errlen)
{
    dc_err rc = fixture_open(path, fx, err, errlen);
    if (rc != DC_OK)
        return rc;
    size_t expected = fx->n, cap = 0;
    fx_line buf = { 0 };
    fx_entry e;
    int got = 0;
    fx->n = 0;
    while ((got = fixture_next(fx, &e, &buf, err, errlen)) == 1) {
        int rc = own_entry(&e, err, errlen);
        if (rc == 0 && grow(&fx->v, fx->n, &cap) != 0)
            rc = bad(err, errlen, e.line, "out of memory");
        if (rc != 0) {
            fx_entry_clear(&e);
            got = -1;
            break;
        }
        fx->v[fx->n++] = e;
    }
    fx_line_free(&buf);
    if (got != 0 || fx->n != expected) {
        if (got == 0)
            snprintf(err, errlen, "%s changed while it was read", path);
        fixture_free(fx);
        return DC_ERR_PROTO;
    }
    return DC_OK;
}

void fixture_free(fixture *fx)
{
    for (size_t i = 0; fx->v && i < fx->n; i++)
        fx_entry_clear(&fx->v[i]);
    for (size_t i = 0; i < fx->n_index; i++)
        fx_entry_clear(&fx->index[i]);
    free(fx->v);
    free(fx->index);
    if (fx->file)
        fclose(fx->file);
    free(fx->file_buf);                  /* after fclose: stdio uses it until then */
    cJSON_Delete(fx->header);
    memset(fx, 0, sizeof *fx);
}
