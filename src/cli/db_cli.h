/* db_cli.h - the `migrate` and `status` subcommands, from the database alone.
 * Both return a sysexits(3) status: 0 ok, 66 no database file, 65 schema
 * not understood, 74 database/I/O error (message on stderr). */
#ifndef DC_DB_CLI_H
#define DC_DB_CLI_H

#include <stdint.h>
#include <stdio.h>

/* Open the database, apply pending migrations (legacy rows get
 * legacy_guild_id, or stay unassigned when 0) and print what was done. */
int db_cli_migrate(const char *db_path, uint64_t legacy_guild_id, FILE *out);

/* Read-only report: schema version, rows per guild, unassigned rows, guild
 * state, gateway session state, next sweep, audit totals of the last 24 h. */
/* json: one JSON document (status --json) instead of the text. */
int db_cli_status(const char *db_path, int json, FILE *out);
/* The same with an explicit "now" (tests). */
int db_cli_status_at(const char *db_path, int64_t now_ms, FILE *out);
int db_cli_status_json(const char *db_path, int64_t now_ms, FILE *out);

#endif
