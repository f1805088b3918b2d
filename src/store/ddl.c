/* ddl.c - tokenizer-level rewrite of the legacy users CREATE TABLE.
 *
 * We never interpret expressions: the statement is split into top-level
 * items (column definitions and table constraints) by a tokenizer that knows
 * SQLite's quoting ('..', "..", `..`, [..]) and comments, and items are
 * copied byte for byte.  Only two things are cut out: a table constraint
 * UNIQUE(discord_id) / PRIMARY KEY(discord_id), and the UNIQUE / PRIMARY KEY
 * column constraint of discord_id's own definition. */
#include "store/ddl.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "store/sqlutil.h"

typedef enum { TK_END, TK_WORD, TK_IDENT_Q, TK_STRING, TK_PUNCT } tok_kind;
typedef struct {
    const char *p;
    size_t n;
    tok_kind kind;
} tok;

#define DDL_MAX_ITEMS 2000

static const char *skip_space(const char *p, const char *end)
{
    while (p < end) {
        if (isspace((unsigned char)*p)) {
            p++;
        } else if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
            while (p < end && *p != '\n')
                p++;
        } else if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char *q = p + 2;
            while (q + 1 < end && !(q[0] == '*' && q[1] == '/'))
                q++;
            p = q + 1 < end ? q + 2 : end;
        } else {
            break;
        }
    }
    return p;
}

static int is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' || (unsigned char)c >= 0x80;
}

/* Quoted token ending in `close`; a doubled close char is an escape. */
static const char *scan_quoted(const char *p, const char *end, char close)
{
    for (p++; p < end; p++) {
        if (*p != close)
            continue;
        if (close != ']' && p + 1 < end && p[1] == close) {
            p++;
            continue;
        }
        return p + 1;
    }
    return end;
}

static const char *next_tok(const char *p, const char *end, tok *t)
{
    p = skip_space(p, end);
    t->p = p;
    t->kind = TK_END;
    if (p >= end) {
        t->n = 0;
        return p;
    }
    const char *q;
    if (*p == '\'') {
        q = scan_quoted(p, end, '\''); t->kind = TK_STRING;
    } else if (*p == '"' || *p == '`') {
        q = scan_quoted(p, end, *p); t->kind = TK_IDENT_Q;
    } else if (*p == '[') {
        q = scan_quoted(p, end, ']'); t->kind = TK_IDENT_Q;
    } else if (is_word_char(*p)) {
        for (q = p; q < end && is_word_char(*q); q++) {}
        t->kind = TK_WORD;
    } else {
        q = p + 1; t->kind = TK_PUNCT;
    }
    t->n = (size_t)(q - p);
    return q;
}

static int tok_is(const tok *t, const char *word)
{
    return t->kind == TK_WORD && strlen(word) == t->n && strncasecmp(t->p, word, t->n) == 0;
}

static int tok_punct(const tok *t, char c)
{
    return t->kind == TK_PUNCT && t->p[0] == c;
}

/* Does the identifier token t name `name` (case-insensitive, unquoted)? */
static int tok_names(const tok *t, const char *name)
{
    if (t->kind == TK_WORD)
        return strlen(name) == t->n && strncasecmp(t->p, name, t->n) == 0;
    if (t->kind != TK_IDENT_Q || t->n < 2)
        return 0;
    char close = t->p[0] == '[' ? ']' : t->p[0];
    size_t i = 1, j = 0, len = strlen(name);
    for (; i + 1 < t->n; i++, j++) {
        if (t->p[i] == close && close != ']')
            i++;                                  /* doubled quote */
        if (j >= len || tolower((unsigned char)t->p[i]) != tolower((unsigned char)name[j]))
            return 0;
    }
    return j == len;
}

typedef struct {
    const char *start, *end;
} span;

typedef struct {
    span items[DDL_MAX_ITEMS];
    size_t n_items;
    const char *tail;            /* after the closing ')': WITHOUT ROWID, STRICT */
    const char *end;
} ddl_parts;

/* Split "CREATE TABLE x ( a, b, ... ) tail" into items. */
static int split_items(const char *sql, ddl_parts *d)
{
    const char *end = sql + strlen(sql), *p = sql, *item = NULL;
    int depth = 0;
    tok t;
    d->n_items = 0;
    d->end = end;
    while ((p = next_tok(p, end, &t)), t.kind != TK_END) {
        if (tok_punct(&t, '(') && depth++ == 0) {
            item = p;
        } else if (tok_punct(&t, ')') && --depth == 0) {
            if (d->n_items >= DDL_MAX_ITEMS)
                return -1;
            d->items[d->n_items++] = (span){ item, t.p };
            d->tail = p;
            return 0;
        } else if (tok_punct(&t, ',') && depth == 1) {
            if (d->n_items >= DDL_MAX_ITEMS)
                return -1;
            d->items[d->n_items++] = (span){ item, t.p };
            item = p;
        }
        if (depth < 0)
            return -1;
    }
    return -1;
}

static int is_table_constraint(const span *it)
{
    tok t;
    next_tok(it->start, it->end, &t);
    return tok_is(&t, "CONSTRAINT") || tok_is(&t, "PRIMARY") || tok_is(&t, "UNIQUE") ||
           tok_is(&t, "CHECK") || tok_is(&t, "FOREIGN");
}

/* Table constraint UNIQUE(col) / PRIMARY KEY(col) on exactly one column? */
static int is_single_unique_on(const span *it, const char *col)
{
    const char *p = it->start;
    tok t;
    p = next_tok(p, it->end, &t);
    if (tok_is(&t, "CONSTRAINT")) {
        p = next_tok(p, it->end, &t);             /* the name */
        p = next_tok(p, it->end, &t);
    }
    if (tok_is(&t, "PRIMARY"))
        p = next_tok(p, it->end, &t);             /* KEY */
    else if (!tok_is(&t, "UNIQUE"))
        return 0;
    p = next_tok(p, it->end, &t);
    if (!tok_punct(&t, '('))
        return 0;
    p = next_tok(p, it->end, &t);
    if (!tok_names(&t, col))
        return 0;
    int depth = 1;                                /* no second column at depth 1 */
    while ((p = next_tok(p, it->end, &t)), t.kind != TK_END && depth > 0) {
        if (tok_punct(&t, '('))
            depth++;
        else if (tok_punct(&t, ')'))
            depth--;
        else if (tok_punct(&t, ',') && depth == 1)
            return 0;
    }
    return 1;
}

static int starts_column_constraint(const tok *t)
{
    static const char *const kw[] = { "CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE",
                                      "CHECK", "DEFAULT", "COLLATE", "REFERENCES",
                                      "GENERATED", "AS" };
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (tok_is(t, kw[i]))
            return 1;
    return 0;
}

/* Copy a column definition, leaving out its UNIQUE / PRIMARY KEY constraint
 * segments (each with its optional "CONSTRAINT name" prefix).  A segment runs
 * from a constraint keyword at depth 0 to the next one; extra splits are
 * harmless because only UNIQUE/PRIMARY segments are dropped and their own
 * tokens (ON CONFLICT x, ASC, DESC, AUTOINCREMENT) never start a segment. */
static void copy_column_without_unique(const span *it, sqlutil_str *out)
{
    const char *p = it->start, *seg = it->start, *named = NULL;
    int depth = 0, drop = 0, after_constraint = 0;
    tok t;
    while ((p = next_tok(p, it->end, &t)), t.kind != TK_END) {
        if (tok_punct(&t, '('))
            depth++;
        else if (tok_punct(&t, ')'))
            depth--;
        if (depth != 0 || t.kind != TK_WORD || after_constraint == 1) {
            after_constraint = after_constraint == 1 ? 2 : after_constraint;
            continue;
        }
        if (after_constraint == 2) {              /* keyword after CONSTRAINT name */
            drop = tok_is(&t, "UNIQUE") || tok_is(&t, "PRIMARY");
            after_constraint = 0;
            continue;
        }
        if (!starts_column_constraint(&t))
            continue;
        if (!drop)
            sqlutil_str_addn(out, seg, (size_t)(t.p - seg));
        seg = t.p;
        named = tok_is(&t, "CONSTRAINT") ? t.p : NULL;
        after_constraint = named ? 1 : 0;
        drop = tok_is(&t, "UNIQUE") || tok_is(&t, "PRIMARY");
    }
    if (!drop)
        sqlutil_str_addn(out, seg, (size_t)(it->end - seg));
}

static void add_trimmed(sqlutil_str *out, const span *it)
{
    const char *a = skip_space(it->start, it->end), *b = it->end;
    while (b > a && isspace((unsigned char)b[-1]))
        b--;
    sqlutil_str_addn(out, a, (size_t)(b - a));
}

static int column_is(const span *it, const char *col)
{
    tok t;
    next_tok(it->start, it->end, &t);
    return tok_names(&t, col);
}

static const char *find_missing_column(const ddl_parts *d, const char *const *cols, size_t ncols)
{
    for (size_t c = 0; c < ncols; c++) {
        int found = 0;
        for (size_t i = 0; i < d->n_items && !found; i++)
            found = !is_table_constraint(&d->items[i]) && column_is(&d->items[i], cols[c]);
        if (!found)
            return cols[c];
    }
    return NULL;
}

static void add_columns(const ddl_parts *d, const char *discord_col, sqlutil_str *out)
{
    for (size_t i = 0; i < d->n_items; i++) {
        const span *it = &d->items[i];
        if (is_table_constraint(it))
            continue;
        if (column_is(it, discord_col)) {
            sqlutil_str tmp = { 0 };
            copy_column_without_unique(it, &tmp);
            span s = { tmp.buf ? tmp.buf : "", tmp.buf ? tmp.buf + tmp.len : "" };
            add_trimmed(out, &s);
            sqlutil_str_free(&tmp);
        } else {
            add_trimmed(out, it);
        }
        sqlutil_str_add(out, ",\n  ");
    }
}

static void add_table_constraints(const ddl_parts *d, const char *discord_col, sqlutil_str *out)
{
    for (size_t i = 0; i < d->n_items; i++) {
        const span *it = &d->items[i];
        if (!is_table_constraint(it) || is_single_unique_on(it, discord_col))
            continue;
        sqlutil_str_add(out, ",\n  ");
        add_trimmed(out, it);
    }
}

dc_err ddl_rebuild_users(const char *create_sql, const char *new_table,
                         const char *discord_col, const char *const *cols, size_t ncols,
                         char **out, char *err, size_t errlen)
{
    ddl_parts *d = calloc(1, sizeof *d);
    if (!d)
        return DC_ERR_NOMEM;
    *out = NULL;
    dc_err rc = DC_ERR_SCHEMA;
    const char *missing = NULL;
    if (split_items(create_sql, d) != 0) {
        snprintf(err, errlen, "cannot parse the CREATE TABLE statement of users");
    } else if ((missing = find_missing_column(d, cols, ncols)) != NULL) {
        snprintf(err, errlen, "cannot find column \"%s\" in the CREATE TABLE statement of users",
                 missing);
    } else {
        sqlutil_str s = { 0 };
        sqlutil_str_add(&s, "CREATE TABLE ");
        sqlutil_str_ident(&s, new_table);
        sqlutil_str_add(&s, " (\n  ");
        add_columns(d, discord_col, &s);
        sqlutil_str_add(&s, "\"guild_id\" INTEGER");
        add_table_constraints(d, discord_col, &s);
        sqlutil_str_add(&s, ",\n  UNIQUE(");
        sqlutil_str_ident(&s, discord_col);
        sqlutil_str_add(&s, ", \"guild_id\")\n)");
        sqlutil_str_add(&s, d->tail);
        *out = sqlutil_str_take(&s);
        rc = *out ? DC_OK : DC_ERR_NOMEM;
    }
    free(d);
    return rc;
}
