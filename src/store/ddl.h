/* ddl.h - rewrite the CREATE TABLE text of the bot's legacy `users` table.
 *
 * The legacy table has discord_id UNIQUE (or PRIMARY KEY) and no guild_id.
 * ddl_rebuild_users() takes its original CREATE TABLE statement from
 * sqlite_master and produces the CREATE TABLE for the rebuilt table: every
 * column definition copied verbatim (types, defaults, NOT NULL, CHECKs,
 * collations), every table constraint kept, except the single-column
 * uniqueness on discord_id, plus `"guild_id" INTEGER` and
 * `UNIQUE("discord_id", "guild_id")`.  Pure string work: no I/O. */
#ifndef DC_DDL_H
#define DC_DDL_H

#include <stddef.h>
#include "base/err.h"

/* create_sql: the original statement; new_table: name of the table to create
 * (quoted here); discord_col: the discord_id column's actual name;
 * cols/ncols: every column PRAGMA table_info reports, each of which must be
 * found among the parsed definitions (a parse we do not trust is refused).
 * *out is malloc'd. */
dc_err ddl_rebuild_users(const char *create_sql, const char *new_table,
                         const char *discord_col, const char *const *cols, size_t ncols,
                         char **out, char *err, size_t errlen);

#endif
