/* schema.h - the migrations of schema/, embedded at build time.
 * schema_migrations[i].version is the NNNN prefix of schema/NNNN_name.sql
 * (SQLite: PRAGMA user_version holds the highest version applied);
 * schema_pg_migrations are schema/pg/NNNN_name.sql, the same numbered
 * sequence in PostgreSQL's dialect (cleaner_schema_version records them). */
#ifndef DC_SCHEMA_H
#define DC_SCHEMA_H

typedef struct {
    int version;
    const char *name;
    const char *sql;
} schema_migration;

extern const schema_migration schema_migrations[];
extern const int schema_migration_count;
extern const schema_migration schema_pg_migrations[];
extern const int schema_pg_migration_count;

#endif
