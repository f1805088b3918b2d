/* store_sqlite_coord.c - several processes on one SQLite database (#16):
 * the shard leases (cleaner_shard_leases, schema/0008) and the identify
 * lock, an flock on <db>.identify-<bucket>.lock beside the database file,
 * which holds the time (wall-clock ms) the bucket was last got.
 *
 * A claim runs in one BEGIN IMMEDIATE transaction: two processes claiming
 * at once are serialised by SQLite's write lock, so the second sees the
 * first's rows.  The identify lock is tried, never waited for (LOCK_NB):
 * the caller retries from a timer, the loop never sleeps in flock. */
#include "store/store_sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define LEASE_MAX_CONFLICTS 64

struct store_sqlite_idlock {
    int bucket;
    int fd;
};

/* ---- shard leases ---------------------------------------------------------- */

static void bind_owner(sqlite3_stmt *st, int col, const store_lease_owner *o)
{
    sqlite3_bind_text(st, col, o->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, col + 1, o->pid);
}

static void read_holder(sqlite3_stmt *st, store_lease_holder *h)
{
    const unsigned char *host = sqlite3_column_text(st, 0);
    snprintf(h->owner.host, sizeof h->owner.host, "%s", host ? (const char *)host : "");
    h->owner.pid = sqlite3_column_int64(st, 1);
    h->count = sqlite3_column_int(st, 2);
    h->first = sqlite3_column_int(st, 3);
    h->last = sqlite3_column_int(st, 4);
    h->n_shards = sqlite3_column_int(st, 5);
    h->expires_ms = sqlite3_column_int64(st, 6);
}

/* Steps ST_LEASE_EACH (bound or not) and calls fn per row. */
static dc_err each_holder(store_sqlite *s, sqlite3_stmt *st, store_lease_fn fn, void *ctx)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        store_lease_holder h;
        read_holder(st, &h);
        if (fn(ctx, &h))
            break;
    }
    dc_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading shard leases");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

static int first_holder(void *ctx, const store_lease_holder *h)
{
    *(store_lease_holder *)ctx = *h;
    return 1;
}

/* The other owners whose live leases conflict with first..last/count. */
static dc_err conflicting_owners(store_sqlite *s, const store_lease_owner *me, int first, int last, int count,
                                 int64_t now_ms, store_lease_owner *out, int *n)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_LEASE_CONFLICTS);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, now_ms);
    bind_owner(st, 2, me);
    sqlite3_bind_int(st, 4, count);
    sqlite3_bind_int(st, 5, first);
    sqlite3_bind_int(st, 6, last);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < LEASE_MAX_CONFLICTS) {
        const unsigned char *host = sqlite3_column_text(st, 0);
        snprintf(out[*n].host, sizeof out[*n].host, "%s", host ? (const char *)host : "");
        out[(*n)++].pid = sqlite3_column_int64(st, 1);
    }
    dc_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? DC_OK : store_sqlite_fail(s, rc, "reading shard leases");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e;
}

static dc_err drop_owner(store_sqlite *s, const store_lease_owner *o)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_LEASE_DROP_OWNER);
    if (!st)
        return DC_ERR_DB;
    bind_owner(st, 1, o);
    return store_sqlite_step_done(s, st, "releasing shard leases");
}

/* Gone owners' leases are dropped; the first live one refuses the claim. */
static dc_err take_over(store_sqlite *s, const store_lease_owner *me, int first, int last, int count,
                        int64_t now_ms, store_lease_gone_fn gone, void *ctx, store_lease_holder *conflict)
{
    store_lease_owner others[LEASE_MAX_CONFLICTS];
    int n = 0;
    dc_err rc = conflicting_owners(s, me, first, last, count, now_ms, others, &n);
    for (int i = 0; rc == DC_OK && i < n; i++) {
        if (gone && gone(ctx, &others[i])) {
            rc = drop_owner(s, &others[i]);
            continue;
        }
        sqlite3_stmt *st = store_sqlite_stmt(s, ST_LEASE_EACH);
        if (!st)
            return DC_ERR_DB;
        bind_owner(st, 1, &others[i]);
        rc = each_holder(s, st, first_holder, conflict);
        if (rc == DC_OK) {
            snprintf(s->head.errmsg, sizeof s->head.errmsg, "shards held by %.200s pid %lld",
                     others[i].host, (long long)others[i].pid);
            rc = DC_ERR_CONFIG;
        }
    }
    return rc;
}

static dc_err put_leases(store_sqlite *s, const store_lease_owner *me, int first, int last, int count,
                         int64_t now_ms, int64_t ttl_ms)
{
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_LEASE_DROP_EXPIRED);
    if (!st)
        return DC_ERR_DB;
    sqlite3_bind_int64(st, 1, now_ms);
    dc_err rc = store_sqlite_step_done(s, st, "dropping expired shard leases");
    for (int shard = first; rc == DC_OK && shard <= last; shard++) {
        if (!(st = store_sqlite_stmt(s, ST_LEASE_PUT)))
            return DC_ERR_DB;
        sqlite3_bind_int(st, 1, count);
        sqlite3_bind_int(st, 2, shard);
        bind_owner(st, 3, me);
        sqlite3_bind_int64(st, 5, now_ms);
        sqlite3_bind_int64(st, 6, now_ms + ttl_ms);
        rc = store_sqlite_step_done(s, st, "writing a shard lease");
    }
    return rc;
}

dc_err store_sqlite_lease_claim(store *base, const store_lease_owner *me, int first, int last, int count,
                                int64_t now_ms, int64_t ttl_ms, store_lease_gone_fn gone, void *ctx,
                                store_lease_holder *conflict)
{
    store_sqlite *s = store_sqlite_of(base);
    store_op_mode mode;
    dc_err rc = store_sqlite_op_begin(s, &mode);
    if (rc != DC_OK)
        return rc;
    rc = take_over(s, me, first, last, count, now_ms, gone, ctx, conflict);
    if (rc == DC_OK)
        rc = put_leases(s, me, first, last, count, now_ms, ttl_ms);
    return store_sqlite_op_end(s, mode, rc);
}

dc_err store_sqlite_lease_renew(store *base, const store_lease_owner *me, int first, int last, int count,
                                int64_t now_ms, int64_t ttl_ms, int *held)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_LEASE_RENEW);
    if (!st)
        return DC_ERR_DB;
    store_op_mode mode;
    dc_err rc = store_sqlite_op_begin(s, &mode);
    if (rc != DC_OK)
        return rc;
    sqlite3_bind_int64(st, 1, now_ms + ttl_ms);
    bind_owner(st, 2, me);
    sqlite3_bind_int(st, 4, count);
    sqlite3_bind_int(st, 5, first);
    sqlite3_bind_int(st, 6, last);
    rc = store_sqlite_step_done(s, st, "renewing shard leases");
    if (rc == DC_OK)
        *held = sqlite3_changes(s->db);
    return store_sqlite_op_end(s, mode, rc);
}

dc_err store_sqlite_lease_release(store *base, const store_lease_owner *me)
{
    store_sqlite *s = store_sqlite_of(base);
    store_op_mode mode;
    dc_err rc = store_sqlite_op_begin(s, &mode);
    if (rc != DC_OK)
        return rc;
    return store_sqlite_op_end(s, mode, drop_owner(s, me));
}

dc_err store_sqlite_each_lease(store *base, store_lease_fn fn, void *ctx)
{
    store_sqlite *s = store_sqlite_of(base);
    sqlite3_stmt *st = store_sqlite_stmt(s, ST_LEASE_EACH);
    return st ? each_holder(s, st, fn, ctx) : DC_ERR_DB;
}

/* ---- the identify lock ------------------------------------------------------ */

static struct store_sqlite_idlock *held_lock(store_sqlite *s, int bucket)
{
    for (size_t i = 0; i < s->n_idlocks; i++)
        if (s->idlocks[i].bucket == bucket)
            return &s->idlocks[i];
    return NULL;
}

/* Opens <db>.identify-<bucket>.lock; -1 with errmsg set. */
static int open_lock_file(store_sqlite *s, int bucket)
{
    const char *db = sqlite3_db_filename(s->db, "main");
    char path[4200];
    if (!db || !*db || (size_t)snprintf(path, sizeof path, "%s.identify-%d.lock", db, bucket) >= sizeof path) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "identify lock: the database has no file name to lock beside");
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "identify lock: cannot open %.300s: %s", path, strerror(errno));
    return fd;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With the flock held: when was the bucket last got (the file's text), and
 * may it be got again; if so the file says now. */
static int stamp_if_due(int fd, int64_t hold_ms)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    int64_t now = wall_ms(), last = strtoll(buf, NULL, 10);
    if (last > 0 && now >= last && now - last < hold_ms)
        return 0;                             /* its last holder died or stopped right after */
    int len = snprintf(buf, sizeof buf, "%lld\n", (long long)now);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)len, 0) != len)
        return -1;
    return 1;
}

dc_err store_sqlite_identify_lock(store *base, int bucket, int64_t hold_ms, int *got)
{
    store_sqlite *s = store_sqlite_of(base);
    if (held_lock(s, bucket))
        return DC_OK;                         /* ours already: not twice */
    struct store_sqlite_idlock *grown = realloc(s->idlocks, (s->n_idlocks + 1) * sizeof *grown);
    if (!grown)
        return DC_ERR_NOMEM;
    s->idlocks = grown;
    int fd = open_lock_file(s, bucket);
    if (fd < 0)
        return DC_ERR_IO;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return DC_OK;                     /* another process holds it */
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "identify lock: flock: %s", strerror(e));
        return DC_ERR_IO;
    }
    int due = stamp_if_due(fd, hold_ms);
    if (due <= 0) {
        if (due < 0)
            snprintf(s->head.errmsg, sizeof s->head.errmsg, "identify lock: cannot write its time: %s",
                     strerror(errno));
        close(fd);
        return due < 0 ? DC_ERR_IO : DC_OK;
    }
    s->idlocks[s->n_idlocks++] = (struct store_sqlite_idlock){ bucket, fd };
    *got = 1;
    return DC_OK;
}

dc_err store_sqlite_identify_unlock(store *base, int bucket)
{
    store_sqlite *s = store_sqlite_of(base);
    struct store_sqlite_idlock *l = held_lock(s, bucket);
    if (!l)
        return DC_OK;
    close(l->fd);                             /* closing drops the flock */
    *l = s->idlocks[--s->n_idlocks];
    return DC_OK;
}

/* An flock never waits: nothing to prepare. */
dc_err store_sqlite_identify_prepare(store *base)
{
    (void)base;
    return DC_OK;
}

void store_sqlite_coord_close(store_sqlite *s)
{
    for (size_t i = 0; i < s->n_idlocks; i++)
        close(s->idlocks[i].fd);
    free(s->idlocks);
    s->idlocks = NULL;
    s->n_idlocks = 0;
}
