/* migrate.c - apply schema/NNNN_*.sql in order, one transaction each. */
#include "store/migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "store/legacy.h"
#include "base/log.h"
#include "store/schema.h"
#include "store/sqlutil.h"

int migrate_latest_version(void)
{
    int latest = 0;
    for (int i = 0; i < schema_migration_count; i++)
        if (schema_migrations[i].version > latest)
            latest = schema_migrations[i].version;
    return latest;
}

/* The backup holds the same rows as the database: create it empty with the
 * database's permission bits (a 0600 database must not get a 0644 copy)
 * before SQLite writes a byte into it. */
static int create_like(sqlite3 *db, const char *dest)
{
    const char *src = sqlite3_db_filename(db, "main");
    struct stat sb;
    mode_t mode = src && src[0] && stat(src, &sb) == 0 ? sb.st_mode & 07777 : 0600;
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return SQLITE_CANTOPEN;
    int rc = fchmod(fd, mode) == 0 ? SQLITE_OK : SQLITE_CANTOPEN;   /* the umask may have taken bits */
    close(fd);
    return rc;
}

dc_err migrate_backup(sqlite3 *db, const char *dest, char *err, size_t errlen)
{
    sqlite3 *out = NULL;
    int rc = create_like(db, dest);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "backup to %s failed: cannot create it: %s", dest, strerror(errno));
        return sqlutil_err(rc);
    }
    rc = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(out, "main", db, "main");
        if (!b) {
            rc = sqlite3_errcode(out);
        } else {
            rc = sqlite3_backup_step(b, -1);
            int fin = sqlite3_backup_finish(b);
            rc = rc == SQLITE_DONE ? fin : rc;
        }
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "backup to %s failed: %s", dest,
                 out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
    }
    sqlite3_close(out);
    if (rc != SQLITE_OK)
        unlink(dest);
    return sqlutil_err(rc);
}

/* <path>.pre-migration-YYYYmmddTHHMMSSZ.bak, with -N appended if taken. */
static void backup_name(const char *path, char *out, size_t cap)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(out, cap, "%s.pre-migration-%s.bak", path, stamp);
    for (int n = 1; access(out, F_OK) == 0 && n < 100; n++)
        snprintf(out, cap, "%s.pre-migration-%s-%d.bak", path, stamp, n);
}

/* Anything worth backing up?  A brand-new database has no tables. */
static dc_err has_tables(sqlite3 *db, int *yes, char *err, size_t errlen)
{
    int64_t n = 0;
    dc_err rc = sqlutil_int(db, "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
                         &n, err, errlen);
    *yes = n > 0;
    return rc;
}

#define MIGRATION_UNASSIGNED_UNIQUE 6   /* schema/0006_users_unassigned_unique.sql */

/* 0006 makes unassigned rows unique per user; rows that already repeat
 * would fail it with a bare "UNIQUE constraint failed".  Say which and
 * what to do (nothing is deleted for the operator). */
static dc_err check_unassigned_unique(sqlite3 *db, char *err, size_t errlen)
{
    int64_t n = 0;
    dc_err rc = sqlutil_int(db, "SELECT count(*) FROM (SELECT 1 FROM users WHERE guild_id IS NULL "
                             "GROUP BY discord_id HAVING count(*) > 1)", &n, err, errlen);
    if (rc == DC_OK && n > 0) {
        snprintf(err, errlen, "%lld user(s) have more than one unassigned row (guild_id NULL); keep "
                 "one row per user (SELECT discord_id FROM users WHERE guild_id IS NULL GROUP BY "
                 "discord_id HAVING count(*) > 1) and migrate again; 0006 was not applied", (long long)n);
        rc = DC_ERR_SCHEMA;
    }
    return rc;
}

/* The body of one migration, inside its transaction. */
static dc_err apply_body(sqlite3 *db, const schema_migration *m, int rebuild_legacy,
                         uint64_t legacy_guild_id, store_migration_report *rep,
                         char *err, size_t errlen)
{
    dc_err rc = DC_OK;
    if (m->version == MIGRATION_UNASSIGNED_UNIQUE)
        rc = check_unassigned_unique(db, err, errlen);
    if (rc == DC_OK && rebuild_legacy) {
        rc = legacy_rebuild(db, legacy_guild_id, &rep->legacy_rows, err, errlen);
        rep->legacy_rebuilt = rc == DC_OK;
    }
    if (rc == DC_OK)
        rc = sqlutil_exec(db, m->sql, err, errlen);
    if (rc == DC_OK)
        rc = sqlutil_set_user_version(db, m->version, err, errlen);
    return rc;
}

/* One migration in one BEGIN IMMEDIATE transaction.  The version is read
 * again under the write lock, so two processes cannot apply it twice. */
static dc_err apply_one(sqlite3 *db, const schema_migration *m, int rebuild_legacy,
                        uint64_t legacy_guild_id, store_migration_report *rep,
                        char *err, size_t errlen)
{
    int current = 0;
    dc_err rc = sqlutil_exec(db, "BEGIN IMMEDIATE", err, errlen);
    if (rc != DC_OK)
        return rc;
    rc = sqlutil_user_version(db, &current, err, errlen);
    if (rc == DC_OK && current < m->version)
        rc = apply_body(db, m, rebuild_legacy, legacy_guild_id, rep, err, errlen);
    if (rc == DC_OK)
        rc = sqlutil_exec(db, "COMMIT", err, errlen);
    if (rc != DC_OK) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        rep->legacy_rebuilt = 0;
        LOG_E("store", "migration %s failed, rolled back: %s", m->name, err);
        return rc;
    }
    LOG_I("store", "applied migration %s", m->name);
    return DC_OK;
}

/* foreign_keys can only change outside a transaction; the 12-step rebuild
 * needs it off (DROP TABLE would otherwise cascade) and legacy_alter_table
 * on (so RENAME does not re-parse views that name the dropped table). */
static dc_err apply_legacy(sqlite3 *db, const schema_migration *m, uint64_t legacy_guild_id,
                           store_migration_report *rep, char *err, size_t errlen)
{
    sqlite3_exec(db, "PRAGMA foreign_keys = OFF; PRAGMA legacy_alter_table = ON", NULL, NULL, NULL);
    dc_err rc = apply_one(db, m, 1, legacy_guild_id, rep, err, errlen);
    sqlite3_exec(db, "PRAGMA legacy_alter_table = OFF; PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    return rc;
}

static dc_err apply_pending(sqlite3 *db, legacy_shape shape, uint64_t legacy_guild_id,
                            store_migration_report *rep, char *err, size_t errlen)
{
    for (int i = 0; i < schema_migration_count; i++) {
        const schema_migration *m = &schema_migrations[i];
        if (m->version <= rep->to_version)
            continue;
        int legacy = m->version == 1 && shape == USERS_LEGACY;
        dc_err rc = legacy ? apply_legacy(db, m, legacy_guild_id, rep, err, errlen)
                           : apply_one(db, m, 0, legacy_guild_id, rep, err, errlen);
        if (rc != DC_OK)
            return rc;
        rep->to_version = m->version;
    }
    return DC_OK;
}

static dc_err classify_before_first(sqlite3 *db, int version, legacy_shape *shape,
                                    char *err, size_t errlen)
{
    char why[512] = "";
    *shape = USERS_ABSENT;
    if (version >= 1)
        return DC_OK;
    dc_err rc = legacy_classify(db, shape, why, sizeof why);
    if (rc == DC_OK && *shape == USERS_UNKNOWN) {
        snprintf(err, errlen, "%s; refusing to migrate", why);
        rc = DC_ERR_SCHEMA;
    } else if (rc != DC_OK) {
        snprintf(err, errlen, "%s", why);
    }
    return rc;
}

static dc_err backup_if_needed(sqlite3 *db, const char *path, store_migration_report *rep,
                               char *err, size_t errlen)
{
    int worth = 0;
    dc_err rc = has_tables(db, &worth, err, errlen);
    if (rc != DC_OK || !worth || !path || !path[0] || strcmp(path, ":memory:") == 0)
        return rc;
    backup_name(path, rep->backup_path, sizeof rep->backup_path);
    rc = migrate_backup(db, rep->backup_path, err, errlen);
    if (rc != DC_OK)
        rep->backup_path[0] = '\0';
    else
        LOG_I("store", "backed up %s to %s before migrating", path, rep->backup_path);
    return rc;
}

dc_err migrate_run(sqlite3 *db, const char *path, uint64_t legacy_guild_id, int read_only,
                   store_migration_report *rep, char *err, size_t errlen)
{
    int version = 0, latest = migrate_latest_version();
    memset(rep, 0, sizeof *rep);
    dc_err rc = sqlutil_user_version(db, &version, err, errlen);
    rep->from_version = rep->to_version = version;
    if (rc != DC_OK || version == latest || read_only)
        return rc;
    if (version > latest) {
        snprintf(err, errlen, "database schema version %d is newer than this program's (%d)",
                 version, latest);
        return DC_ERR_SCHEMA;
    }
    legacy_shape shape;
    if ((rc = classify_before_first(db, version, &shape, err, errlen)) != DC_OK)
        return rc;
    if ((rc = backup_if_needed(db, path, rep, err, errlen)) != DC_OK)
        return rc;
    return apply_pending(db, shape, legacy_guild_id, rep, err, errlen);
}
