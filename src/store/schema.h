/* schema.h - the migrations of schema/, embedded at build time.
 * schema_migrations[i].version is the NNNN prefix of schema/NNNN_name.sql;
 * PRAGMA user_version holds the highest version applied. */
#ifndef DC_SCHEMA_H
#define DC_SCHEMA_H

typedef struct {
    int version;
    const char *name;
    const char *sql;
} schema_migration;

extern const schema_migration schema_migrations[];
extern const int schema_migration_count;

#endif
