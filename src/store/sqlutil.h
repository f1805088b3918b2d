/* sqlutil.h - small helpers shared by the SQLite backend's files (internal).
 *
 * A growable string for assembling the one piece of dynamic DDL (the legacy
 * users rebuild) and the clean_tables statements, identifier quoting, and
 * error-capturing exec/pragma wrappers. */
#ifndef DC_SQLUTIL_H
#define DC_SQLUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include "base/err.h"

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;                 /* an allocation failed; buf is unusable */
} sqlutil_str;

void sqlutil_str_add(sqlutil_str *s, const char *text);
void sqlutil_str_addn(sqlutil_str *s, const char *text, size_t n);
/* Append name as a quoted identifier: "na""me". */
void sqlutil_str_ident(sqlutil_str *s, const char *name);
/* Hand over the buffer (NULL after an allocation failure); s is reset. */
char *sqlutil_str_take(sqlutil_str *s);
void sqlutil_str_free(sqlutil_str *s);

/* Write "what: sqlite message" into err (if err is non-NULL). */
void sqlutil_errf(char *err, size_t errlen, sqlite3 *db, const char *what);
/* Map a SQLite result code to dc_err (BUSY/LOCKED -> DC_ERR_BUSY, ...). */
dc_err sqlutil_err(int rc);
dc_err sqlutil_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);
/* One-column one-row integer query (PRAGMA user_version, count(*)). */
dc_err sqlutil_int(sqlite3 *db, const char *sql, int64_t *out, char *err, size_t errlen);
dc_err sqlutil_user_version(sqlite3 *db, int *out, char *err, size_t errlen);
/* PRAGMA user_version cannot take a bound parameter; the value is an int. */
dc_err sqlutil_set_user_version(sqlite3 *db, int version, char *err, size_t errlen);
/* Bind a snowflake; 0 binds NULL. */
int sqlutil_bind_id_or_null(sqlite3_stmt *st, int idx, uint64_t id);

#endif
