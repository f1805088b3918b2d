/* store_pg_types.c - the types of the bot's id columns on PostgreSQL
 * (issue #16), read from the catalogue with bound parameters.
 *
 * A bot keeps its Discord ids as BIGINT, NUMERIC, TEXT or VARCHAR.  The
 * statements send ids as untyped text, so comparing with "=" works for all
 * four; what differs is order (a TEXT id sorts as a number only by
 * (length, text)) and the arrays of batched statements.  So the backend
 * learns each column's kind at open: users' here, the clean_tables' in
 * store_pg_clean.c.  A type it cannot bind (uuid, double precision, ...)
 * refuses the open with one line naming the column, its type and the fix;
 * store_pg_open asks before migrating, so such a database gets nothing
 * written. */
#include "store/store_pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/log.h"

/* The table (visible in the search_path, a plain or partitioned table) and
 * the column; an exact name first.  A domain counts as its base type. */
static const store_pg_stmt ST_COLUMN = {
    "dc_catalogue_column",
    "SELECT c.oid::text, c.relname::text, coalesce(a.attname::text, ''), "
    "coalesce(format_type(a.atttypid, a.atttypmod), ''), "
    "coalesce(format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END, NULL), '') "
    "FROM pg_catalog.pg_class c "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
    "AND (a.attname::text = $2::text OR ($3::int = 1 AND lower(a.attname::text) = lower($2::text))) "
    "LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "WHERE c.relkind IN ('r', 'p') AND pg_catalog.pg_table_is_visible(c.oid) "
    "AND (c.relname::text = $1::text OR ($3::int = 1 AND lower(c.relname::text) = lower($1::text))) "
    "ORDER BY c.relname::text = $1::text DESC, a.attname::text = $2::text DESC LIMIT 1",
};

/* The kind of a base type as format_type names it; -1: not one we bind. */
static int kind_of(const char *base)
{
    static const struct {
        const char *type;
        store_pg_id_kind kind;
    } kinds[] = {
        { "bigint", STORE_PG_ID_BIGINT },  { "integer", STORE_PG_ID_BIGINT },
        { "smallint", STORE_PG_ID_BIGINT }, { "numeric", STORE_PG_ID_NUMERIC },
        { "text", STORE_PG_ID_TEXT },      { "character varying", STORE_PG_ID_TEXT },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(base, kinds[i].type) == 0)
            return (int)kinds[i].kind;
    return -1;
}

dc_err store_pg_column_find(store_pg *p, const char *table, const char *column, int nocase, store_pg_column *out)
{
    const char *params[3] = { table, column, nocase ? "1" : "0" };
    PGresult *r = NULL;
    memset(out, 0, sizeof *out);
    dc_err rc = store_pg_run(p, &ST_COLUMN, 3, params, &r, "reading the catalogue");
    if (rc == DC_OK && PQntuples(r) == 1) {
        snprintf(out->oid, sizeof out->oid, "%s", PQgetvalue(r, 0, 0));
        snprintf(out->table, sizeof out->table, "%s", PQgetvalue(r, 0, 1));
        snprintf(out->column, sizeof out->column, "%s", PQgetvalue(r, 0, 2));
        snprintf(out->type, sizeof out->type, "%s", PQgetvalue(r, 0, 3));
        int k = kind_of(PQgetvalue(r, 0, 4));
        out->supported = k >= 0;
        out->kind = k >= 0 ? (store_pg_id_kind)k : STORE_PG_ID_BIGINT;
    }
    PQclear(r);
    return rc;
}

void store_pg_type_refusal(const store_pg_column *c, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "%s.%s is %s; discord-cleaner binds BIGINT, NUMERIC, TEXT or VARCHAR ids: change the column to one "
             "of them (ALTER TABLE \"%s\" ALTER COLUMN \"%s\" TYPE bigint USING ...) or point db at the "
             "database that holds the bot's Discord ids",
             c->table, c->column, c->type, c->table, c->column);
}

/* One column of users: its kind into *kind (BIGINT when it is not there). */
static dc_err detect_one(store_pg *p, const char *column, store_pg_id_kind *kind, char *err, size_t errlen)
{
    store_pg_column c;
    dc_err rc = store_pg_column_find(p, "users", column, 0, &c);
    if (rc != DC_OK) {
        snprintf(err, errlen, "%s", p->head.errmsg);
        return rc;
    }
    *kind = c.column[0] ? c.kind : STORE_PG_ID_BIGINT;
    if (c.column[0] && !c.supported) {
        store_pg_type_refusal(&c, err, errlen);
        return DC_ERR_SCHEMA;
    }
    return DC_OK;
}

dc_err store_pg_types_detect(store_pg *p, char *err, size_t errlen)
{
    dc_err rc = detect_one(p, "discord_id", &p->id_kind, err, errlen);
    return rc == DC_OK ? detect_one(p, "guild_id", &p->guild_kind, err, errlen) : rc;
}

/* TEXT ids sort as numbers by (length, text): without an index in that
 * order every slice of a sweep sorts the guild's rows (5 times slower for
 * 100,000 rows, measured).  Say so at start-up, with the index to create. */
void store_pg_types_advise(store_pg *p)
{
    static const store_pg_stmt st = {
        "dc_catalogue_users_text_order",
        "SELECT count(*) FROM pg_catalog.pg_index WHERE indrelid = 'users'::regclass "
        "AND pg_catalog.pg_get_indexdef(indexrelid) LIKE '%length(discord_id)%'",
    };
    PGresult *r = NULL;
    if (p->id_kind != STORE_PG_ID_TEXT)
        return;
    if (store_pg_run(p, &st, 0, NULL, &r, "reading the catalogue") == DC_OK && store_pg_int(r, 0, 0) == 0)
        LOG_W("store", "users.discord_id is text: each slice of a sweep sorts the guild's rows. Create an index "
              "in id order: CREATE INDEX users_by_guild_id_order ON users (guild_id, length(discord_id), "
              "discord_id COLLATE \"C\")");
    PQclear(r);
}

int store_pg_id_parse(const char *text, int64_t *out)
{
    const char *s = text;
    if (!s || !*s)
        return 0;
    if (*s == '-')
        s++;
    if (*s < '0' || *s > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (*end == '.')                      /* NUMERIC with a scale: "5.00" is 5, "5.5" no id */
        for (end++; *end == '0'; end++)
            ;
    if (*end != '\0' || errno == ERANGE)
        return 0;
    *out = (int64_t)v;
    return 1;
}

char *store_pg_u64_array(const uint64_t *v, size_t n)
{
    char *s = malloc(n * 21 + 3), *at = s;
    if (!s)
        return NULL;
    *at++ = '{';
    for (size_t i = 0; i < n; i++) {
        store_pg_num b;
        size_t len = strlen(store_pg_u64(&b, v[i]));
        if (i)
            *at++ = ',';
        memcpy(at, b.s, len);
        at += len;
    }
    *at++ = '}';
    *at = '\0';
    return s;
}

const char *store_pg_kind_array(store_pg_id_kind k)
{
    return k == STORE_PG_ID_TEXT ? "text[]" : k == STORE_PG_ID_NUMERIC ? "numeric[]" : "bigint[]";
}
