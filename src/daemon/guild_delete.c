/* guild_delete.c - the rows of a guild the bot left, deleted a slice at a
 * time.
 *
 * A confirmed removal (GUILD_DELETE, or a guild missing from READY) used to
 * delete the guild's rows in one statement: a million rows held the loop
 * for seconds and the heartbeats were late.  Now the turn that learns of
 * the removal only records a job in cleaner_session_state,
 *     guild_delete.<guild id> = "<reason> <at_ms> <rows deleted so far>",
 * and a loop timer deletes GD_SLICE_ROWS rows per turn, commits, and
 * yields.  Each slice is committed with the job's progress, so a crash at
 * any instant leaves a consistent database and the job in the table; the
 * next start continues it (guild_delete_resume).  A process runs only the
 * jobs of its own shards' guilds: several share the table (#16).  The turn that finds the guild empty
 * writes its one audit row (discord_id NULL, rows = every row the job
 * deleted, the reason and time of the removal), forgets the guild's state
 * and ends the job.  A removal that finds the guild already gone (no job,
 * no rows, no state: an earlier removal ran to its end) starts nothing and
 * writes no audit row.  A guild that is back before the end (GUILD_CREATE, or
 * READY lists it) stops its job: the audit row counts what went, the rest
 * stays, and the guild is marked for a sweep.  The job lives only in the
 * database, so a turn that is rolled back (the bot holds the lock) rolls
 * the job back with it. */
#include "daemon/guild_delete.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon_internal.h"
#include "base/log.h"

#define GD_PREFIX "guild_delete."

typedef struct {
    uint64_t guild;
    int why;
    int64_t at_ms, rows;
} guild_delete_job;

static void job_key(char *key, size_t cap, uint64_t guild)
{
    snprintf(key, cap, GD_PREFIX "%" PRIu64, guild);
}

static int parse_job(const char *value, guild_delete_job *j)
{
    return sscanf(value, "%d %" SCNd64 " %" SCNd64, &j->why, &j->at_ms, &j->rows) == 3 && j->why >= 0 &&
           j->why < AUDIT_REASON_COUNT ? 0 : -1;
}

static dc_err save_job(dc_daemon *d, const guild_delete_job *j)
{
    char key[48], value[96];
    job_key(key, sizeof key, j->guild);
    snprintf(value, sizeof value, "%d %" PRId64 " %" PRId64, j->why, j->at_ms, j->rows);
    return store_kv_set(d->st, key, value);
}

static void on_slice(dc_timer *t);

static void arm(dc_daemon *d, int64_t delay_ms)
{
    loop_timer(d->loop, &d->gd.timer, on_slice, delay_ms);
}

/* 0 when guild has no job; -1 on a read error. */
static int get_job(dc_daemon *d, uint64_t guild, guild_delete_job *j)
{
    char key[48], value[96];
    job_key(key, sizeof key, guild);
    dc_err e = store_kv_get(d->st, key, value, sizeof value);
    if (e == DC_ERR_NOTFOUND)
        return 0;
    j->guild = guild;
    return e == DC_OK && parse_job(value, j) == 0 ? 1 : -1;
}

/* 1 when the guild has neither rows nor state left: a removal already
 * went through to its end (it forgot the guild), -1 on a read error. */
static int already_removed(dc_daemon *d, uint64_t guild_id)
{
    store_guild_state g;
    int64_t rows = 0;
    dc_err e = store_guild_get(d->st, guild_id, &g);
    if (e == DC_OK)
        return 0;
    if (e != DC_ERR_NOTFOUND || store_count_guild(d->st, guild_id, &rows) != DC_OK)
        return -1;
    return rows == 0;
}

dc_err guild_delete_begin(dc_daemon *d, uint64_t guild_id, audit_reason why, int64_t at_ms)
{
    guild_delete_job j = { .guild = guild_id, .why = (int)why, .at_ms = at_ms };
    int have = get_job(d, guild_id, &j);
    int gone = have ? 0 : already_removed(d, guild_id);
    if (have < 0 || gone < 0)
        return DC_ERR_DB;
    /* A removal applied twice (a second confirmation, a turn redone) finds
     * nothing: no job, no second audit row -- one removal, one row. */
    if (gone) {
        LOG_I("cleaner", "%s: guild %" PRIu64 ": already removed (no rows, no state): nothing to do",
              audit_reason_name(why), guild_id);
        return DC_OK;
    }
    dc_err e = have ? DC_OK : save_job(d, &j);   /* a running job keeps its progress */
    if (e == DC_OK) {
        LOG_I("cleaner", "%s: guild %" PRIu64 ": deleting its rows, %d per turn", audit_reason_name(why),
              guild_id, GD_SLICE_ROWS);
        arm(d, 0);
    }
    return e;
}

/* The job's end, in its last turn: the one audit row, the guild forgotten. */
static dc_err end_job(dc_daemon *d, const guild_delete_job *j)
{
    char key[48];
    job_key(key, sizeof key, j->guild);
    dc_err e = store_audit_guild_delete(d->st, j->guild, (audit_reason)j->why, j->at_ms, j->rows);
    if (e == DC_OK)
        e = store_kv_del(d->st, key);
    return e;
}

dc_err guild_delete_guild_back(dc_daemon *d, uint64_t guild_id, int64_t *rows)
{
    guild_delete_job j;
    *rows = 0;
    if (d->cfg->dry_run)
        return DC_OK;                /* a dry run writes nothing, jobs included */
    int have = get_job(d, guild_id, &j);
    if (have <= 0)
        return have < 0 ? DC_ERR_DB : DC_OK;
    dc_err e = end_job(d, &j);
    if (e == DC_OK)
        e = store_guild_set_needs_reconcile(d->st, guild_id, 1);
    if (e == DC_OK) {
        *rows = j.rows;
        LOG_W("cleaner", "guild %" PRIu64 " is available again while its rows were being deleted: "
              "%" PRId64 " row(s) deleted, the rest kept; it will be swept", guild_id, j.rows);
    }
    return e;
}

typedef struct {
    dc_daemon *d;
    guild_delete_job *j;
} first_job;

/* The first job of a guild of this process's shards.  Several processes
 * share the table (#16): another's job is that process's to run -- two
 * slicing one guild both ended it, the second with an audit row of 0 rows. */
static int first_job_cb(void *ctx, const char *key, const char *value)
{
    first_job *f = ctx;
    if (strncmp(key, GD_PREFIX, strlen(GD_PREFIX)) != 0)
        return 0;
    char *end;
    unsigned long long id = strtoull(key + strlen(GD_PREFIX), &end, 10);
    if (*end || !id || parse_job(value, f->j) != 0) {
        LOG_E("cleaner", "unreadable guild delete job '%s' = '%s' skipped", key, value);
        return 0;
    }
    if (f->d->n_shards && !reconcile_owns_guild(f->d, id))
        return 0;
    f->j->guild = id;
    return 1;
}

static dc_err find_first_job(dc_daemon *d, guild_delete_job *j)
{
    return store_each_kv(d->st, first_job_cb, &(first_job){ d, j });
}

/* One slice of the first job, in the open turn.  *done: the job ended. */
static dc_err slice(dc_daemon *d, guild_delete_job *j, int *done)
{
    int more = 0;
    dc_err e = store_delete_guild_slice(d->st, j->guild, GD_SLICE_ROWS, &j->rows, &more);
    *done = !more;
    if (e == DC_OK)
        e = more ? save_job(d, j) : end_job(d, j);
    if (e == DC_OK && !more)
        e = store_guild_forget(d->st, j->guild);
    if (e == DC_OK && !more)
        guild_directory_set_name(&d->rc.dir, j->guild, NULL);   /* the state row, with the name, is gone */
    return e;
}

/* A slice handed to the store, until its commit's outcome. */
typedef struct {
    guild_delete_job job;
    int done;                        /* the job's last slice */
} guild_delete_slice;

static void on_slice_outcome(dc_daemon *d, void *ctx, int committed)
{
    guild_delete_slice *sl = ctx;
    if (!committed) {
        arm(d, GD_RETRY_MS);         /* rolled back with the turn: the job is as it was */
    } else {
        if (sl->done) {
            removal_log_count(&d->removals, (audit_reason)sl->job.why, sl->job.rows);
            log_fields f = LOG_FIELDS_INIT;
            f.guild = sl->job.guild;
            f.reason = audit_reason_name((audit_reason)sl->job.why);
            f.rows = sl->job.rows;
            LOG_IF("cleaner", &f, "%s: guild %" PRIu64 ": %" PRId64 " row(s) deleted",
                  audit_reason_name((audit_reason)sl->job.why), sl->job.guild, sl->job.rows);
        }
        arm(d, 0);
    }
    free(sl);
}

static void on_slice(dc_timer *t)
{
    dc_daemon *d = lws_container_of(t, dc_daemon, gd.timer);
    guild_delete_job j = { 0 };
    int done = 0;
    if (turn_begin(d) != 0) {
        arm(d, GD_RETRY_MS);         /* held: the bot has the database */
        return;
    }
    if (find_first_job(d, &j) != DC_OK || !j.guild)
        return;                      /* no job left (a read error: the next begin re-arms) */
    dc_err e = slice(d, &j, &done);
    if (e != DC_OK) {
        if (!turn_fail(d, "deleting a guild's rows", store_tx_broken(d->st)))
            LOG_E("cleaner", "guild %" PRIu64 ": deleting its rows failed (%s); retrying in %d s", j.guild,
                  store_errmsg(d->st), GD_ERROR_RETRY_MS / 1000);
        arm(d, turn_held(d) ? GD_RETRY_MS : GD_ERROR_RETRY_MS);
        return;
    }
    /* This slice is committed now; the loop runs before the next, which
     * the commit's outcome arms. */
    guild_delete_slice *sl = malloc(sizeof *sl);
    if (sl)
        *sl = (guild_delete_slice){ .job = j, .done = done };
    turn_flush(d);
    if (!sl || turn_after_commit(d, on_slice_outcome, sl) != 0) {
        free(sl);
        arm(d, GD_RETRY_MS);         /* refused at once (held), or no memory for the outcome */
    }
}

void guild_delete_resume(dc_daemon *d)
{
    guild_delete_job j = { 0 };
    if (!d->st || find_first_job(d, &j) != DC_OK || !j.guild)
        return;
    if (d->cfg->dry_run) {           /* a real run decided it; a dry run deletes nothing */
        LOG_W("cleaner", "guild %" PRIu64 ": the delete of its rows a previous run began (%" PRId64 " deleted "
              "so far) waits for a run without dry_run", j.guild, j.rows);
        return;
    }
    LOG_I("cleaner", "guild %" PRIu64 ": continuing the delete of its rows (%" PRId64 " deleted so far)", j.guild,
          j.rows);
    arm(d, 0);
}

void guild_delete_stop(dc_daemon *d)
{
    if (d->loop)
        loop_cancel(d->loop, &d->gd.timer);
}
