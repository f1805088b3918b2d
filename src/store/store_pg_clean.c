/* store_pg_clean.c - the extra tables (clean_tables) deleted along with
 * users, on PostgreSQL (issue #16); store_sqlite_clean.c's counterpart.
 *
 * Each configured table and its two columns are looked up in the catalogue
 * with bound parameters (store_pg_column_find: a table the search_path
 * shows, names matched ignoring case as SQLite does, an exact match
 * preferred) before any statement is built, with the same refusals and
 * messages as SQLite.  The statements then use the catalogue's names quoted
 * by PQescapeIdentifier, so configuration can never inject SQL.  Each
 * column's type is checked like users' (store_pg_types.c): a table may
 * keep its user ids as TEXT while users has BIGINT; only the slice delete's
 * "below this id" depends on it. */
#include "store/store_pg_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "base/log.h"

static dc_err refuse(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static dc_err refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return DC_ERR_CONFIG;
}

/* One of the entry's columns: found, of a type we bind. */
static dc_err check_column(store_pg *p, const config_clean_table *t, const char *col, const char *role,
                           store_pg_column *c, char *err, size_t errlen)
{
    dc_err rc = store_pg_column_find(p, t->table, col, 1, c);
    if (rc != DC_OK) {
        snprintf(err, errlen, "%s", p->head.errmsg);
        return rc;
    }
    if (!c->oid[0])
        return refuse(err, errlen, "clean_tables: no table \"%s\" in the database", t->table);
    if (!c->column[0])
        return refuse(err, errlen, "clean_tables: table \"%s\" has no %s column \"%s\"", t->table, role, col);
    if (!c->supported) {
        char why[400];
        store_pg_type_refusal(c, why, sizeof why);
        return refuse(err, errlen, "clean_tables: %s", why);
    }
    return DC_OK;
}

static dc_err check_table(store_pg *p, const config_clean_table *t, store_pg_column *user, store_pg_column *guild,
                          char *err, size_t errlen)
{
    if (!t->table[0] || !t->user_col[0] || !t->guild_col[0])
        return refuse(err, errlen, "clean_tables: an entry needs a table, a user column and a guild column");
    if (strcasecmp(t->table, "users") == 0 || strncasecmp(t->table, "cleaner_", 8) == 0)
        return refuse(err, errlen, "clean_tables: \"%s\" is managed by the cleaner itself", t->table);
    dc_err rc = check_column(p, t, t->user_col, "user", user, err, errlen);
    return rc == DC_OK ? check_column(p, t, t->guild_col, "guild", guild, err, errlen) : rc;
}

/* A formatted string in memory of its own (NULL when out of memory). */
static char *fmt_alloc(const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    va_end(ap);
    return s;
}

/* The quoted names of one entry. */
typedef struct {
    char *table, *user, *guild;
    store_pg_id_kind user_kind;
} quoted;

static char *quote(store_pg *p, const char *name)
{
    char *q = PQescapeIdentifier(p->conn.conn, name, strlen(name));
    char *copy = q ? strdup(q) : NULL;
    PQfreemem(q);
    return copy;
}

/* "<verb> FROM t WHERE g = $1 [AND <user condition>]" as statement st,
 * named dc_clean<i>_<suffix>. */
static dc_err build(store_pg_stmt *st, size_t i, const char *suffix, const quoted *q, const char *verb,
                    const char *user_cond)
{
    st->name = fmt_alloc("dc_clean%zu_%s", i, suffix);
    st->sql = fmt_alloc("%s FROM %s WHERE %s = $1%s%s", verb, q->table, q->guild, user_cond ? " AND " : "",
                        user_cond ? user_cond : "");
    return st->name && st->sql ? DC_OK : DC_ERR_NOMEM;
}

/* "the user id is below $2" in the column's kind: a TEXT id by (length,
 * text), and only canonical ids (the others go with the guild's last slice). */
static char *below(const quoted *q)
{
    if (q->user_kind != STORE_PG_ID_TEXT)
        return fmt_alloc("%s < $2", q->user);
    return fmt_alloc("%s ~ " STORE_PG_CANONICAL_RE " AND (length(%s), %s COLLATE \"C\") < "
                     "(length($2::text), $2::text COLLATE \"C\")", q->user, q->user, q->user);
}

static dc_err build_all(store_pg_clean *c, size_t i, const quoted *q)
{
    char *eq = fmt_alloc("%s = $2", q->user), *lt = below(q);
    /* a batch of a sweep: the users of the array, each row's user returned (the tail of the statement) */
    char *in = fmt_alloc("%s = ANY ($2::%s) RETURNING %s", q->user, store_pg_kind_array(q->user_kind), q->user);
    dc_err rc = eq && lt && in ? DC_OK : DC_ERR_NOMEM;
    if (rc == DC_OK)
        rc = build(&c->count_member, i, "count_member", q, "SELECT count(*)", eq);
    if (rc == DC_OK)
        rc = build(&c->delete_member, i, "member", q, "DELETE", eq);
    if (rc == DC_OK)
        rc = build(&c->count_guild, i, "count_guild", q, "SELECT count(*)", NULL);
    if (rc == DC_OK)
        rc = build(&c->delete_guild, i, "guild", q, "DELETE", NULL);
    if (rc == DC_OK)
        rc = build(&c->delete_guild_upto, i, "guild_upto", q, "DELETE", lt);
    if (rc == DC_OK)
        rc = build(&c->delete_members, i, "members", q, "DELETE", in);
    free(in);
    free(eq);
    free(lt);
    return rc;
}

static dc_err prepare_clean(store_pg *p, size_t i, const store_pg_column *user, const store_pg_column *guild)
{
    store_pg_clean *c = &p->clean[i];
    quoted q = { quote(p, user->table), quote(p, user->column), quote(p, guild->column), user->kind };
    c->table = strdup(user->table);
    dc_err rc = q.table && q.user && q.guild && c->table ? build_all(c, i, &q) : DC_ERR_NOMEM;
    if (rc == DC_OK)                 /* and the turn's batched member delete (store_pg_batch.c) */
        store_pg_batch_table_set(&p->batch_tables[1 + i], q.table, q.user, q.guild, user->kind, guild->kind);
    free(q.table);
    free(q.user);
    free(q.guild);
    return rc;
}

/* Every member delete runs "DELETE ... WHERE guild = $1 AND user = $2" on
 * each clean table; without an index led by one of those columns that is a
 * full scan per departure.  Say so at start-up rather than fail later. */
static void warn_if_unindexed(store_pg *p, const store_pg_column *user, const store_pg_column *guild)
{
    static const store_pg_stmt st = {
        "dc_catalogue_index_lead",
        "SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
        "WHERE i.indrelid = $1::oid AND a.attname::text IN ($2::text, $3::text)",
    };
    const char *params[3] = { user->oid, guild->column, user->column };
    PGresult *r = NULL;
    if (store_pg_run(p, &st, 3, params, &r, "reading the catalogue") == DC_OK && store_pg_int(r, 0, 0) == 0)
        LOG_W("store", "clean_tables: \"%s\" has no index on %s or %s; every departure scans the whole "
              "table. Create one: CREATE INDEX \"%s_by_guild_user\" ON \"%s\" (%s, %s)", user->table,
              guild->column, user->column, user->table, user->table, guild->column, user->column);
    PQclear(r);
}

dc_err store_pg_clean_open(store_pg *p, const config_clean_table *t, size_t n, char *err, size_t errlen)
{
    if (n == 0)
        return DC_OK;
    p->clean = calloc(n, sizeof *p->clean);
    if (!p->clean)
        return DC_ERR_NOMEM;
    p->n_clean = n;
    for (size_t i = 0; i < n; i++) {
        store_pg_column user, guild;
        dc_err rc = check_table(p, &t[i], &user, &guild, err, errlen);
        if (rc == DC_OK && (rc = prepare_clean(p, i, &user, &guild)) != DC_OK)
            snprintf(err, errlen, "clean_tables: out of memory building the statements of \"%s\"", t[i].table);
        if (rc != DC_OK)
            return rc;
        warn_if_unindexed(p, &user, &guild);
    }
    return DC_OK;
}

static void free_stmt(store_pg_stmt *st)
{
    free((char *)st->name);
    free((char *)st->sql);
}

void store_pg_clean_close(store_pg *p)
{
    for (size_t i = 0; i < p->n_clean; i++) {
        store_pg_clean *c = &p->clean[i];
        free(c->table);
        free_stmt(&c->count_member);
        free_stmt(&c->delete_member);
        free_stmt(&c->count_guild);
        free_stmt(&c->delete_guild);
        free_stmt(&c->delete_guild_upto);
        free_stmt(&c->delete_members);
    }
    free(p->clean);
    p->clean = NULL;
    p->n_clean = 0;
}
