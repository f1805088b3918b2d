/* store_sqlite_wal.c - who checkpoints the write-ahead log, and when.
 *
 * By default SQLite checkpoints inside the COMMIT that takes the WAL past
 * 1000 pages: that COMMIT copies the pages back into the database and syncs
 * both files, milliseconds during which a burst of removals waits -- and a
 * checkpoint of a large WAL run from the loop thread stalled heartbeats by
 * a quarter of a second during a 1M-member sweep (make bench).  With manual
 * checkpoints on, a thread of its own, on its own connection, runs PASSIVE
 * checkpoints when asked: SQLite lets it copy committed frames back while
 * the loop's connection keeps appending, so no COMMIT ever waits for one.
 *
 * A PASSIVE checkpoint copies frames back but cannot start the WAL over:
 * only a writer whose transaction began with every frame copied back does
 * (SQLite's walRestartLog).  Beside a writer that never pauses the thread
 * always lags by a commit, and the WAL grew by every frame written -- 120
 * MB during a million-event replay.  So once the WAL is large, the writer
 * copies back the last few frames the thread has not, itself, right after
 * a COMMIT (store_checkpoint_tail): its next transaction then starts the
 * WAL over, at the price of copying one turn's pages.
 * The thread touches nothing but its connection and the fields under mu. */
#include "store/store_sqlite_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store_ckpt {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *db;                  /* the thread's own connection */
    int wanted, stopping;
    int running;                  /* a checkpoint is under way */
    int copied;                   /* frames of this WAL known copied back */
    unsigned wal_gen;             /* bumped when the WAL starts over */
    int failures;                 /* checkpoints that failed (not BUSY) */
    char error[160];              /* the last failure, for the loop thread to log */
};

/* The WAL started over: what the thread copied back was the old one's. */
static void wal_started_over(store_ckpt *c)
{
    pthread_mutex_lock(&c->mu);
    c->wal_gen++;
    c->copied = 0;
    pthread_mutex_unlock(&c->mu);
}

static int on_wal_commit(void *ctx, sqlite3 *db, const char *name, int frames)
{
    store_sqlite *s = ctx;
    (void)db;
    (void)name;
    if (frames < s->wal_frames && s->ckpt)
        wal_started_over(s->ckpt);
    s->wal_frames = frames;
    return SQLITE_OK;
}

static void *checkpointer(void *arg)
{
    store_ckpt *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->wanted && !c->stopping)
            pthread_cond_wait(&c->cv, &c->mu);
        if (c->stopping)
            break;
        c->wanted = 0;
        c->running = 1;
        unsigned gen = c->wal_gen;
        pthread_mutex_unlock(&c->mu);
        /* PASSIVE never waits for readers or the writer: what it cannot
         * copy now is copied by the next request. */
        int log = 0, done = 0;
        int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        pthread_mutex_lock(&c->mu);
        c->running = 0;
        if (rc == SQLITE_OK && gen == c->wal_gen)
            c->copied = done;
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
            c->failures++;
            snprintf(c->error, sizeof c->error, "%s", sqlite3_errmsg(c->db));
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

static void ckpt_free(store_ckpt *c)
{
    sqlite3_close(c->db);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

dc_err store_sqlite_set_manual_checkpoints(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->ckpt)
        return DC_OK;
    store_ckpt *c = calloc(1, sizeof *c);
    if (!c)
        return DC_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    const char *path = sqlite3_db_filename(s->db, "main");
    int rc = sqlite3_open_v2(path ? path : "", &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    /* A connection learns that the database is in WAL mode when it first
     * reads it; until then a checkpoint on it does nothing. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    if (rc != SQLITE_OK || pthread_create(&c->thread, NULL, checkpointer, c) != 0) {
        snprintf(s->head.errmsg, sizeof s->head.errmsg, "cannot start the checkpoint thread: %s",
                 rc != SQLITE_OK ? sqlite3_errstr(rc) : "pthread_create failed");
        ckpt_free(c);
        return DC_ERR_INTERNAL;
    }
    s->ckpt = c;
    /* After the thread exists: from now on COMMIT leaves the WAL alone
     * (sqlite3_wal_autocheckpoint would install its own hook over ours). */
    sqlite3_wal_hook(s->db, on_wal_commit, s);
    return DC_OK;
}

/* Set one of the thread's flags and wake it. */
static void wake(store_ckpt *c, int *flag)
{
    pthread_mutex_lock(&c->mu);
    *flag = 1;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

void store_sqlite_checkpoint_request(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    if (s->ckpt)
        wake(s->ckpt, &s->ckpt->wanted);
}

int store_sqlite_checkpoint_failures(store *base, char *msg, size_t cap)
{
    store_sqlite *s = store_sqlite_of(base);
    store_ckpt *c = s->ckpt;
    if (!c)
        return 0;
    pthread_mutex_lock(&c->mu);
    int n = c->failures;
    if (msg && cap)
        snprintf(msg, cap, "%s", c->error);
    pthread_mutex_unlock(&c->mu);
    return n;
}

void store_sqlite_checkpointer_stop(store *base)
{
    store_sqlite *s = store_sqlite_of(base);
    store_ckpt *c = s->ckpt;
    if (!c)
        return;
    wake(c, &c->stopping);
    pthread_join(c->thread, NULL);
    ckpt_free(c);
    s->ckpt = NULL;
    sqlite3_wal_hook(s->db, NULL, NULL);
}

int store_sqlite_wal_frames(const store *base)
{
    const store_sqlite *s = store_sqlite_of_const(base);
    return s->wal_frames;
}

/* Frames the thread has not copied back, or -1 while it is at work (or
 * asked to be): then it will, and the writer must not wait on its lock. */
static int uncopied(store_sqlite *s)
{
    store_ckpt *c = s->ckpt;
    pthread_mutex_lock(&c->mu);
    int n = c->running || c->wanted ? -1 : s->wal_frames - c->copied;
    pthread_mutex_unlock(&c->mu);
    return n;
}

int store_sqlite_checkpoint_tail(store *base, int max_frames)
{
    store_sqlite *s = store_sqlite_of(base);
    if (!s->ckpt || s->tx_depth)
        return 0;
    int n = uncopied(s);
    if (n < 0 || n > max_frames)
        return 0;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return 0;                /* the thread began one meanwhile */
    if (rc != SQLITE_OK) {
        store_sqlite_fail(s, rc, "checkpointing the write-ahead log");
        return -1;
    }
    return log == done ? 1 : 0;
}
