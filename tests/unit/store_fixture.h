/* store_fixture.h - temp directories and raw SQLite helpers for the storage
 * tests (header-only: each tests/unit/test_*.c is built on its own). */
#ifndef DC_STORE_FIXTURE_H
#define DC_STORE_FIXTURE_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sqlite3.h>

typedef struct {
    char dir[64];
    char db[128];
} fx_dir;

static inline void fx_mkdir(fx_dir *d)
{
    snprintf(d->dir, sizeof d->dir, "/tmp/dc-store-XXXXXX");
    if (!mkdtemp(d->dir))
        abort();
    snprintf(d->db, sizeof d->db, "%s/bot.db", d->dir);
}

static inline void fx_rmdir(fx_dir *d)
{
    DIR *dir = opendir(d->dir);
    struct dirent *e;
    char p[512];
    while (dir && (e = readdir(dir)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", d->dir, e->d_name);
        unlink(p);
    }
    if (dir)
        closedir(dir);
    rmdir(d->dir);
}

/* Number of files in the directory whose name contains needle. */
static inline int fx_count_files(const fx_dir *d, const char *needle)
{
    DIR *dir = opendir(d->dir);
    struct dirent *e;
    int n = 0;
    while (dir && (e = readdir(dir)) != NULL)
        n += strstr(e->d_name, needle) != NULL;
    if (dir)
        closedir(dir);
    return n;
}

/* Whole file in a malloc'd buffer (NULL if unreadable). */
static inline char *fx_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static inline int fx_same_file(const char *path, const char *bytes, size_t len)
{
    size_t n = 0;
    char *now = fx_read(path, &n);
    int same = now && n == len && memcmp(now, bytes, len) == 0;
    free(now);
    return same;
}

static inline sqlite3 *fx_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        abort();
    return db;
}

/* Run SQL on a raw connection; returns the SQLite result code. */
static inline int fx_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK && getenv("FX_VERBOSE"))
        fprintf(stderr, "fx_exec: %s\n  in: %s\n", msg, sql);
    sqlite3_free(msg);
    return rc;
}

/* First column of the first row as an integer; -1 on error. */
static inline long long fx_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static inline long long fx_int_at(const char *path, const char *sql)
{
    sqlite3 *db = fx_open(path);
    long long v = fx_int(db, sql);
    sqlite3_close(db);
    return v;
}

static inline int fx_exec_at(const char *path, const char *sql)
{
    sqlite3 *db = fx_open(path);
    int rc = fx_exec(db, sql);
    sqlite3_close(db);
    return rc;
}

#endif
