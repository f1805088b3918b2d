/* store_pg_seed.c - a fixture's seed text run as data only on PostgreSQL
 * (the backend's store_seed_sql, issue #16; SQLite's is store_sqlite_seed.c).
 *
 * PostgreSQL has no authorizer, so the text is read before any of it runs:
 * a small tokenizer splits it into statements at the semicolons that are
 * outside quotes ('...', E'...', "..."), dollar quotes ($tag$...$tag$) and
 * comments (--, nested slash-star), and each statement must be
 *   seed_sql           INSERT
 *   pre_migration_sql  INSERT, CREATE TABLE, CREATE [UNIQUE] INDEX
 * with, inside it, no DELETE, UPDATE (ON CONFLICT DO UPDATE), MERGE,
 * TRUNCATE, DROP or ALTER, and no function call but the ones that only
 * compute values (seed_functions: pg_read_file, dblink, set_config,
 * nextval, lo_import... are refused, as SQLite's authorizer refuses
 * load_extension).  A word before "(" is a call unless it is a keyword, a
 * type with a modifier (varchar(20)) or a name being defined (INSERT INTO
 * t (...), CREATE TABLE t (...), a CTE c(x) AS (...), an alias AS g(i)).
 * Anything else refuses the whole text, naming the statement kind, before
 * a byte is written.  The statements then run one by one, each with the
 * extended protocol (one statement per call: what the tokenizer split is
 * what the server runs), in one transaction of ours with
 * standard_conforming_strings on (so a backslash in '...' is what the
 * tokenizer took it for); a failure rolls all of it back. */
#include "store/store_pg_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEED_CONNECT_MS 10000

typedef enum { TK_END, TK_WORD, TK_QIDENT, TK_STRING, TK_NUMBER, TK_PUNCT } tk_kind;

typedef struct {
    tk_kind kind;
    const char *s;
    size_t n;
} seed_token;

typedef struct {
    seed_token *t;
    size_t n, cap;
    const char *start, *end;     /* the statement's text */
} seed_stmt;

/* ---- the tokenizer -------------------------------------------------------- */

static int word_start(char c) { return isalpha((unsigned char)c) || c == '_' || (unsigned char)c >= 0x80; }
static int word_char(char c) { return word_start(c) || isdigit((unsigned char)c) || c == '$'; }

/* Past a nested comment that starts at p. */
static const char *skip_block_comment(const char *p, const char *end)
{
    int depth = 0;
    while (p < end) {
        if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            depth++;
            p += 2;
        } else if (p + 1 < end && p[0] == '*' && p[1] == '/') {
            p += 2;
            if (--depth == 0)
                return p;
        } else {
            p++;
        }
    }
    return end;
}

static const char *skip_space(const char *p, const char *end)
{
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (p + 1 < end && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (p + 1 < end && p[0] == '/' && p[1] == '*') {
            p = skip_block_comment(p, end);
        } else {
            return p;
        }
    }
}

/* Past a quoted run that opens at p (quote q, doubled to escape it;
 * backslashes escape too in an E'' string). */
static const char *skip_quoted(const char *p, const char *end, char q, int backslash)
{
    for (p++; p < end; p++) {
        if (backslash && *p == '\\' && p + 1 < end)
            p++;
        else if (*p == q && p + 1 < end && p[1] == q)
            p++;
        else if (*p == q)
            return p + 1;
    }
    return end;
}

/* The length of a dollar-quote tag ($$ or $tag$) at p, 0 when none. */
static size_t dollar_tag(const char *p, const char *end)
{
    const char *q = p + 1;
    if (q < end && word_start(*q))
        while (q < end && word_char(*q) && *q != '$')
            q++;
    return q < end && *q == '$' ? (size_t)(q + 1 - p) : 0;
}

static const char *skip_dollar(const char *p, const char *end, size_t tag)
{
    for (const char *q = p + tag; q + tag <= end; q++)
        if (memcmp(q, p, tag) == 0)
            return q + tag;
    return end;
}

/* The token at p (spaces and comments already skipped). */
static seed_token lex_one(const char *p, const char *end)
{
    seed_token t = { TK_PUNCT, p, 1 };
    const char *q = p + 1;
    size_t tag;
    if ((*p == 'E' || *p == 'e') && q < end && *q == '\'') {
        t.kind = TK_STRING;
        q = skip_quoted(q, end, '\'', 1);
    } else if ((*p == 'U' || *p == 'u') && q + 1 < end && q[0] == '&' && (q[1] == '\'' || q[1] == '"')) {
        t.kind = q[1] == '"' ? TK_QIDENT : TK_STRING;
        q = skip_quoted(q + 1, end, q[1], 0);
    } else if (*p == '\'') {
        t.kind = TK_STRING;
        q = skip_quoted(p, end, '\'', 0);
    } else if (*p == '"') {
        t.kind = TK_QIDENT;
        q = skip_quoted(p, end, '"', 0);
    } else if (*p == '$' && (tag = dollar_tag(p, end)) > 0) {
        t.kind = TK_STRING;
        q = skip_dollar(p, end, tag);
    } else if (word_start(*p)) {
        t.kind = TK_WORD;
        while (q < end && word_char(*q))
            q++;
    } else if (isdigit((unsigned char)*p) || (*p == '.' && q < end && isdigit((unsigned char)*q))) {
        t.kind = TK_NUMBER;    /* digits, '.', '_' and an exponent: a letter after it is a word of its own */
        for (; q < end; q++)
            if ((*q == 'e' || *q == 'E') && q + 1 < end &&
                (isdigit((unsigned char)q[1]) || ((q[1] == '+' || q[1] == '-') && q + 2 < end &&
                                                  isdigit((unsigned char)q[2]))))
                q++;
            else if (!isdigit((unsigned char)*q) && *q != '.' && *q != '_')
                break;
    }
    t.n = (size_t)(q - p);
    return t;
}

static int push(seed_stmt *st, seed_token t)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        seed_token *grown = realloc(st->t, cap * sizeof *grown);
        if (!grown)
            return -1;
        st->t = grown;
        st->cap = cap;
    }
    st->t[st->n++] = t;
    return 0;
}

/* The next statement from *p: its tokens and text, up to a ';' outside any
 * quote or comment (or the end).  0, or -1 out of memory. */
static int next_stmt(const char **p, const char *end, seed_stmt *st)
{
    const char *at = skip_space(*p, end);
    st->n = 0;
    st->start = st->end = at;
    while (at < end && *at != ';') {
        seed_token t = lex_one(at, end);
        if (push(st, t) != 0)
            return -1;
        at = t.s + t.n;
        st->end = at;
        at = skip_space(at, end);
    }
    *p = at < end ? at + 1 : end;
    return 0;
}

/* ---- the policy ----------------------------------------------------------- */

static int is_word(const seed_token *t, const char *w)
{
    return t->kind == TK_WORD && t->n == strlen(w) && strncasecmp(t->s, w, t->n) == 0;
}

static int in_list(const seed_token *t, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (is_word(t, list[i]))
            return 1;
    return 0;
}

/* Functions that only compute a value from their arguments. */
static const char *const seed_functions[] = {
    "abs", "ceil", "ceiling", "floor", "round", "trunc", "mod", "power", "sqrt", "sign", "random",
    "length", "char_length", "octet_length", "lower", "upper", "initcap", "concat", "concat_ws",
    "format", "substr", "left", "right", "lpad", "rpad", "ltrim", "rtrim", "btrim", "replace",
    "repeat", "reverse", "split_part", "strpos", "md5", "chr", "ascii", "to_char", "to_hex",
    "to_number", "to_date", "to_timestamp", "now", "date_trunc", "date_part", "make_date",
    "make_timestamp", "make_timestamptz", "make_interval", "generate_series", "unnest",
    "array_length", "gen_random_uuid", "count", "sum", "min", "max", "avg", "string_agg",
    "array_agg", "row_number", "encode", "decode", "json_build_object", "jsonb_build_object",
    "to_json", "to_jsonb", NULL
};

/* Keywords a "(" may follow. */
static const char *const paren_keywords[] = {
    "values", "in", "exists", "any", "some", "all", "as", "from", "select", "where", "and", "or",
    "not", "on", "using", "join", "union", "intersect", "except", "cast", "row", "array",
    "coalesce", "nullif", "greatest", "least", "then", "else", "when", "case", "by", "check",
    "unique", "key", "default", "limit", "offset", "is", "like", "ilike", "between", "returning",
    "conflict", "include", "with", "lateral", "filter", "over", "extract", "substring",
    "position", "trim", "overlay", "primary", "to", "zone", "having", "distinct", "group",
    "identity", "range", "list", "hash", "first", "next", "materialized", "recursive", NULL
};

/* Types with a modifier: varchar(20), numeric(20, 0). */
static const char *const paren_types[] = {
    "varchar", "char", "character", "varying", "numeric", "decimal", "dec", "bit", "varbit",
    "time", "timestamp", "timestamptz", "timetz", "interval", "float", NULL
};

/* Words before a name being defined or named: INTO t (, TABLE t (, ... */
static const char *const name_before[] = {
    "into", "table", "references", "as", "exists", "recursive", "with", NULL
};

/* Never inside a seed statement (ON DELETE / ON UPDATE of a foreign key
 * in a CREATE TABLE excepted). */
static const char *const writes[] = { "delete", "update", "merge", "truncate", "drop", "alter", NULL };

static int is_punct(const seed_token *t, char c) { return t->kind == TK_PUNCT && t->s[0] == c; }

/* The index of the ")" that closes the "(" at i, or n. */
static size_t closing(const seed_stmt *st, size_t i)
{
    int depth = 0;
    for (; i < st->n; i++) {
        depth += is_punct(&st->t[i], '(') - is_punct(&st->t[i], ')');
        if (depth == 0)
            return i;
    }
    return st->n;
}

/* c(x, y) AS [NOT] [MATERIALIZED] (: a CTE's name (a call's alias, as in
 * f(x) AS materialized, has no "(" after it). */
static int cte_name(const seed_stmt *st, size_t i)
{
    size_t at = closing(st, i + 1) + 1;
    if (at >= st->n || !is_word(&st->t[at++], "as"))
        return 0;
    if (at < st->n && is_word(&st->t[at], "not"))
        at++;
    if (at < st->n && is_word(&st->t[at], "materialized"))
        at++;
    return at < st->n && is_punct(&st->t[at], '(');
}

static int quoted_function(const seed_token *t)
{
    for (size_t i = 0; seed_functions[i]; i++)
        if (t->n == strlen(seed_functions[i]) + 2 && memcmp(t->s + 1, seed_functions[i], t->n - 2) == 0)
            return 1;
    return 0;
}

enum { SEED_DATA, SEED_TABLE, SEED_INDEX };   /* what a statement makes */

/* Is the name at i (a word or "quoted", maybe qualified: s.f) followed by
 * "(" something other than a call of an allowed function?  ON t ( and
 * USING method ( name things only in a CREATE INDEX (elsewhere ON and
 * USING come before join conditions). */
static int bad_call(const seed_stmt *st, size_t i, int ddl)
{
    const seed_token *t = &st->t[i];
    size_t first = i;
    while (first >= 2 && is_punct(&st->t[first - 1], '.'))
        first -= 2;
    const seed_token *prev = first ? &st->t[first - 1] : NULL;
    int dotted = first != i;
    if (prev && (in_list(prev, name_before) ||
                 (ddl == SEED_INDEX && (is_word(prev, "on") || is_word(prev, "using")))))
        return 0;
    if (prev && is_punct(prev, ',') && cte_name(st, i))
        return 0;
    if (dotted)
        return 1;
    if (t->kind == TK_QIDENT)
        return !quoted_function(t);
    return !in_list(t, paren_keywords) && !in_list(t, paren_types) && !in_list(t, seed_functions);
}

static void upper(char *s)
{
    for (; *s; s++)
        *s = (char)toupper((unsigned char)*s);
}

/* The statement's kind when it is refused ("" when allowed); *ddl: what
 * it creates (SEED_DATA: nothing). */
static void statement_kind(const seed_stmt *st, int allow_ddl, char *kind, size_t cap, int *ddl)
{
    const seed_token *a = &st->t[0], *b = st->n > 1 ? &st->t[1] : NULL, *c = st->n > 2 ? &st->t[2] : NULL;
    *ddl = SEED_DATA;
    kind[0] = '\0';
    if (is_word(a, "insert"))
        return;
    if (a->kind != TK_WORD) {
        snprintf(kind, cap, "this statement");
        return;
    }
    if (is_word(a, "create") && b && b->kind == TK_WORD) {
        *ddl = is_word(b, "table") ? SEED_TABLE
             : is_word(b, "index") || (is_word(b, "unique") && c && is_word(c, "index")) ? SEED_INDEX : SEED_DATA;
        if (*ddl && allow_ddl)
            return;
        snprintf(kind, cap, "CREATE %.*s", (int)(b->n < 40 ? b->n : 40), b->s);
    } else {
        snprintf(kind, cap, "%.*s", (int)(a->n < 40 ? a->n : 40), a->s);
    }
    upper(kind);
}

/* "" when the statement may run, else what is refused in it. */
static void refusal(const seed_stmt *st, int allow_ddl, char *why, size_t cap)
{
    int ddl = SEED_DATA;
    statement_kind(st, allow_ddl, why, cap, &ddl);
    for (size_t i = 1; !why[0] && i < st->n; i++) {
        const seed_token *t = &st->t[i];
        if (in_list(t, writes) && !(ddl && is_word(&st->t[i - 1], "on"))) {
            snprintf(why, cap, "%.*s", (int)t->n, t->s);
            upper(why);
            if (is_word(&st->t[i - 1], "do"))
                snprintf(why, cap, "UPDATE (ON CONFLICT DO UPDATE)");
        } else if ((t->kind == TK_WORD || t->kind == TK_QIDENT) && i + 1 < st->n && is_punct(&st->t[i + 1], '(') &&
                 bad_call(st, i, ddl))
            snprintf(why, cap, "function (%.*s)", (int)(t->n < 64 ? t->n : 64), t->s);
    }
}

/* ---- running -------------------------------------------------------------- */

typedef struct {
    seed_stmt *v;
    size_t n;
} seed_text;

static void text_free(seed_text *x)
{
    for (size_t i = 0; i < x->n; i++)
        free(x->v[i].t);
    free(x->v);
}

/* The statements of sql, each checked; DC_ERR_DB with err on a refusal. */
static dc_err split_and_check(const char *sql, int allow_ddl, seed_text *out, char *err, size_t errlen)
{
    const char *p = sql, *end = sql + strlen(sql);
    memset(out, 0, sizeof *out);
    while (p < end) {
        seed_stmt st = { 0 }, *grown;
        char why[128];
        if (next_stmt(&p, end, &st) != 0 || !(grown = realloc(out->v, (out->n + 1) * sizeof *grown))) {
            free(st.t);
            snprintf(err, errlen, "out of memory");
            return DC_ERR_NOMEM;
        }
        out->v = grown;
        out->v[out->n++] = st;
        if (st.n == 0)
            continue;
        refusal(&st, allow_ddl, why, sizeof why);
        if (why[0]) {
            snprintf(err, errlen, "refused: %s is not allowed; a fixture's %s may only %s", why,
                     allow_ddl ? "pre_migration_sql" : "seed_sql",
                     allow_ddl ? "create tables and indexes and insert rows" : "insert rows");
            return DC_ERR_DB;
        }
    }
    return DC_OK;
}

/* One statement alone (the extended protocol takes no second one). */
static dc_err run_text(PGconn *c, const char *sql, const char *what, char *err, size_t errlen)
{
    PGresult *r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    dc_err rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? DC_OK : DC_ERR_DB;
    if (rc != DC_OK) {
        const char *msg = PQresultErrorMessage(r);
        snprintf(err, errlen, "%s: %.*s", what, (int)strcspn(msg, "\n"), msg);
    }
    PQclear(r);
    return rc;
}

static dc_err run_all(PGconn *c, const seed_text *x, char *err, size_t errlen)
{
    dc_err rc = run_text(c, "BEGIN", "BEGIN", err, errlen);
    if (rc == DC_OK)
        rc = run_text(c, "SET LOCAL standard_conforming_strings = on", "seed", err, errlen);
    for (size_t i = 0; rc == DC_OK && i < x->n; i++) {
        char *one, what[48];
        if (x->v[i].n == 0)
            continue;
        if (!(one = strndup(x->v[i].start, (size_t)(x->v[i].end - x->v[i].start)))) {
            snprintf(err, errlen, "out of memory");
            rc = DC_ERR_NOMEM;
            break;
        }
        snprintf(what, sizeof what, "seed statement %zu", i + 1);
        rc = run_text(c, one, what, err, errlen);
        free(one);
    }
    if (rc == DC_OK)
        rc = run_text(c, "COMMIT", "COMMIT", err, errlen);
    if (rc != DC_OK)
        PQclear(PQexec(c, "ROLLBACK"));
    return rc;
}

dc_err store_pg_seed_sql(const char *path, const char *sql, int allow_ddl, char *err, size_t errlen)
{
    seed_text x;
    dc_err rc = split_and_check(sql, allow_ddl, &x, err, errlen);
    if (rc == DC_OK) {
        store_pg_conn c;
        store_pg_conn_start(&c, path);
        if (store_pg_conn_wait(&c, SEED_CONNECT_MS) == STORE_PG_READY) {
            rc = run_all(c.conn, &x, err, errlen);
        } else {
            snprintf(err, errlen, "%s", c.msg);
            rc = store_pg_failure_err(c.failure);
        }
        store_pg_conn_close(&c);
    }
    text_free(&x);
    return rc;
}
