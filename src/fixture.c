/* fixture.c - load a session fixture (format in fixture.h) into memory. */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#include "cleaner.h"

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
        e->guild_id = cl_snowflake(cJSON_GetObjectItemCaseSensitive(d, "guild_id"));
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

static int push(fixture *fx, size_t *cap)
{
    if (fx->n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 64;
    fx_entry *v = realloc(fx->v, c * sizeof *v);
    if (!v)
        return -1;
    fx->v = v;
    *cap = c;
    return 0;
}

dc_err fixture_load(const char *path, fixture *fx, char *err, size_t errlen)
{
    memset(fx, 0, sizeof *fx);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "cannot open %s", path);
        return DC_ERR_NOTFOUND;
    }
    char *line = NULL;
    size_t linecap = 0, cap = 0;
    int lineno = 0, rc = 0;
    while (rc == 0 && getline(&line, &linecap, f) >= 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;                           /* blank lines are allowed */
        if (!fx->header) {
            rc = parse_header(fx, line, err, errlen);
            continue;
        }
        if (push(fx, &cap) != 0) {
            rc = bad(err, errlen, lineno, "out of memory");
            break;
        }
        fx_entry *e = &fx->v[fx->n];
        memset(e, 0, sizeof *e);
        e->line = lineno;
        rc = parse_entry(e, line, err, errlen);
        fx->n++;                                /* freed by fixture_free even when bad */
        if (rc == 0 && fx->n > 1 && e->t < fx->v[fx->n - 2].t)
            rc = bad(err, errlen, lineno, "times must not go backwards");
    }
    free(line);
    fclose(f);
    if (rc == 0 && !fx->header)
        rc = bad(err, errlen, 1, "empty file (no header)");
    if (rc != 0) {
        fixture_free(fx);
        return DC_ERR_PROTO;
    }
    return DC_OK;
}

void fixture_free(fixture *fx)
{
    for (size_t i = 0; i < fx->n; i++) {
        free(fx->v[i].data);
        free(fx->v[i].path);
    }
    free(fx->v);
    cJSON_Delete(fx->header);
    memset(fx, 0, sizeof *fx);
}
