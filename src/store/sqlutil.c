/* sqlutil.c - helpers shared by the SQLite backend's files (store_sqlite*.c,
 * migrate.c, legacy.c, ddl.c). */
#include "store/sqlutil.h"
#include "base/vec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int str_reserve(sqlutil_str *s, size_t extra)
{
    if (s->failed)
        return -1;
    if (VEC_GROW(s->buf, s->cap, s->len + extra + 1, 256) != 0) {
        s->failed = 1;
        return -1;
    }
    return 0;
}

void sqlutil_str_addn(sqlutil_str *s, const char *text, size_t n)
{
    if (str_reserve(s, n) != 0)
        return;
    memcpy(s->buf + s->len, text, n);
    s->len += n;
    s->buf[s->len] = '\0';
}

void sqlutil_str_add(sqlutil_str *s, const char *text)
{
    sqlutil_str_addn(s, text, strlen(text));
}

void sqlutil_str_ident(sqlutil_str *s, const char *name)
{
    sqlutil_str_add(s, "\"");
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            sqlutil_str_add(s, "\"\"");   /* "" is the escape for " inside "..." */
        else
            sqlutil_str_addn(s, p, 1);
    }
    sqlutil_str_add(s, "\"");
}

char *sqlutil_str_take(sqlutil_str *s)
{
    char *out = s->failed ? NULL : s->buf;
    if (s->failed)
        free(s->buf);
    if (out == NULL && !s->failed)
        out = strdup("");
    memset(s, 0, sizeof *s);
    return out;
}

void sqlutil_str_free(sqlutil_str *s)
{
    free(s->buf);
    memset(s, 0, sizeof *s);
}

void sqlutil_errf(char *err, size_t errlen, sqlite3 *db, const char *what)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: %s", what, db ? sqlite3_errmsg(db) : "no database");
}

dc_err sqlutil_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW: return DC_OK;
    case SQLITE_BUSY: case SQLITE_LOCKED: return DC_ERR_BUSY;
    case SQLITE_NOMEM: return DC_ERR_NOMEM;
    case SQLITE_IOERR: case SQLITE_CANTOPEN: case SQLITE_FULL:
    case SQLITE_READONLY: case SQLITE_PERM: return DC_ERR_IO;
    default: return DC_ERR_DB;
    }
}

dc_err sqlutil_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sqlutil_errf(err, errlen, db, "sql");
        return sqlutil_err(rc);
    }
    return DC_OK;
}

dc_err sqlutil_int(sqlite3 *db, const char *sql, int64_t *out, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *out = 0;
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        sqlutil_errf(err, errlen, db, "query");
    sqlite3_finalize(st);
    return sqlutil_err(rc);
}

dc_err sqlutil_user_version(sqlite3 *db, int *out, char *err, size_t errlen)
{
    int64_t v = 0;
    dc_err e = sqlutil_int(db, "PRAGMA user_version", &v, err, errlen);
    *out = (int)v;
    return e;
}

dc_err sqlutil_set_user_version(sqlite3 *db, int version, char *err, size_t errlen)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", version);
    return sqlutil_exec(db, sql, err, errlen);
}

int sqlutil_bind_id_or_null(sqlite3_stmt *st, int idx, uint64_t id)
{
    return id ? sqlite3_bind_int64(st, idx, (int64_t)id) : sqlite3_bind_null(st, idx);
}
