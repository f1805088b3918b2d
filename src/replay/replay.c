/* replay.c - `discord-cleaner replay FIXTURE [--db PATH] [--dry-run]
 *            [--realtime | --speed N] [--expect FILE] [--write-expect FILE]`
 *
 * Builds the daemon's core (store, one shard's gateway session and sweep,
 * scheduler) on a virtual loop (loop_virtual.c) and feeds the fixture
 * through it (replay_drive.c).  Nothing goes to the network.
 *
 * The database is only ever the one given with --db on the command line
 * (never the configured `db`, so a replay cannot touch production by
 * accident); without --db a scratch database is created and removed.
 * When the --db file does not exist yet, the fixture's pre_migration_sql
 * runs before the schema migration and its seed_sql after it, both as data
 * only (store_seed_sql: INSERT, and CREATE TABLE/INDEX before migrating). */
#include "replay/replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "daemon/turn_cap.h"
#include "loop/loop_virtual.h"
#include "replay/replay_internal.h"
#include "store/store.h"

#define REPLAY_TOKEN "replay-token-never-sent"
#define REPLAY_SEED 0x5eedULL
#define REPLAY_TURN_MAX_EVENTS 4096

typedef struct {
    const char *fixture, *db, *expect, *write_expect;
    double speed;
} replay_args;

static int usage(const char *why)
{
    fprintf(stderr, "discord-cleaner replay: %s; see 'discord-cleaner replay --help'\n", why);
    return 64;
}

static int parse_args(int argc, char **argv, replay_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--db") == 0 && v) {
            a->db = argv[++i];
        } else if (strcmp(argv[i], "--expect") == 0 && v) {
            a->expect = argv[++i];
        } else if (strcmp(argv[i], "--write-expect") == 0 && v) {
            a->write_expect = argv[++i];
        } else if (strcmp(argv[i], "--realtime") == 0) {
            a->speed = 1;
        } else if (strcmp(argv[i], "--speed") == 0 && v) {
            char *end;
            a->speed = strtod(argv[++i], &end);
            if (*end || !(a->speed > 0) || a->speed > 1e6)
                return usage("--speed takes a number > 0 (2 = twice as fast as recorded)");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage("an option is missing its value");
        } else if (!a->fixture) {
            a->fixture = argv[i];
        } else {
            return usage("one fixture at a time");
        }
    }
    return a->fixture ? 0 : usage("which fixture? (replay FIXTURE)");
}

/* The fixture's "config" overrides; only settings that hold no string, so
 * the copy never frees or replaces memory the command's settings own. */
static int apply_overrides(replay *r)
{
    static const char *const allowed[] = { "reconcile_delay", "batch_size", "batch_delay", "max_delete_share",
                                           "confirm_sample", "interval_hours", "max_message_bytes", "dry_run",
                                           "commands", "prefix",
                                           "grace_hours", "notify_per_minute", NULL };   /* #17 */
    const cJSON *v;
    char err[256];
    cJSON_ArrayForEach(v, r->fx.config) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = strcmp(allowed[i], v->string) == 0;
        if (!ok || !cJSON_IsString(v) || config_set(&r->cfg, v->string, v->valuestring, err, sizeof err) != DC_OK) {
            fprintf(stderr, "discord-cleaner replay: fixture config \"%s\": %s\n", v->string,
                    ok ? (cJSON_IsString(v) ? err : "values are strings") : "not a setting a fixture may change");
            return -1;
        }
    }
    return 0;
}

static int exec_sql(const char *db_path, const char *sql, const char *what)
{
    char err[512] = "";
    int allow_ddl = strcmp(what, "pre_migration_sql") == 0;
    if (store_seed_sql(db_path, sql, allow_ddl, err, sizeof err) == DC_OK)
        return 0;
    fprintf(stderr, "discord-cleaner replay: fixture %s: %s\n", what, err);
    return -1;
}

/* Open the store; on a new file seed it from the fixture first. */
static int open_db(replay *r, int fresh)
{
    if (fresh && r->fx.pre_migration_sql && exec_sql(r->cfg.db, r->fx.pre_migration_sql, "pre_migration_sql") != 0)
        return 65;
    int rc = daemon_open_store(r->d);
    if (rc != 0 || !fresh || !r->fx.seed_sql)
        return rc;
    daemon_close_store(r->d);
    if (exec_sql(r->cfg.db, r->fx.seed_sql, "seed_sql") != 0)
        return 65;
    return daemon_open_store(r->d);
}

static void free_stats(replay *r)
{
    cJSON *maps[] = { r->recv_ops, r->sent_ops, r->recorded_sent_ops, r->events, r->anomalies,
                      r->commands, r->anomaly_lines, r->requests, r->replies };
    for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++)
        cJSON_Delete(maps[i]);
}

static int setup(replay *r, const config *cfg, const replay_args *a, int fresh)
{
    r->cfg = *cfg;                   /* shallow: the strings stay the command's */
    r->cfg.db = (char *)a->db;
    r->cfg.token = (char *)REPLAY_TOKEN;
    r->cfg.compress = r->fx.compressed ? COMPRESS_ZLIB_STREAM : COMPRESS_NONE;
    if (apply_overrides(r) != 0)
        return 78;
    r->speed = a->speed;
    r->recv_ops = cJSON_CreateObject();
    r->sent_ops = cJSON_CreateObject();
    r->recorded_sent_ops = cJSON_CreateObject();
    r->events = cJSON_CreateObject();
    r->anomalies = cJSON_CreateObject();
    r->commands = cJSON_CreateObject();
    r->anomaly_lines = cJSON_CreateArray();
    r->requests = cJSON_CreateArray();
    r->replies = cJSON_CreateArray();
    r->zs = zstream_new(r->cfg.max_message_bytes);
    if (!r->zs || loop_virtual_init(&r->loop, REPLAY_MONO0, r->fx.wall_ms, replay_answer_rest, r) != DC_OK)
        return 70;
    /* No one waits on a replayed commit: batch more per COMMIT than live
     * (turn_cap.h).  Measured with make bench: ~8% less CPU than 256. */
    r->d = daemon_new(&r->cfg, &r->loop, REPLAY_TURN_MAX_EVENTS);
    if (!r->d)
        return 70;
    int rc = open_db(r, fresh);
    if (rc != 0)
        return rc;
    r->s = daemon_add_shard(r->d, r->fx.shard_id, r->fx.shard_count, REPLAY_SEED, replay_kick, r);
    if (!r->s)
        return 70;
    r->gw = daemon_shard_session(r->s);
    sweep_set_nonce_source(daemon_shard_sweep(r->s), replay_nonce, r);
    return 0;
}

static void teardown(replay *r)
{
    loop_cancel(&r->loop, &r->gw_timer);
    daemon_free(r->d);
    loop_virtual_free(&r->loop);
    zstream_free(r->zs);
    free_stats(r);
    fixture_free(&r->fx);
}

static int write_outcome(const cJSON *o, const char *path)
{
    char *text = cJSON_Print(o);
    FILE *f = fopen(path, "w");
    int ok = f && text && fprintf(f, "%s\n", text) > 0;
    if (f && fclose(f) != 0)
        ok = 0;
    free(text);
    if (!ok)
        fprintf(stderr, "discord-cleaner replay: cannot write %s\n", path);
    return ok ? 0 : 73;
}

static void remove_scratch(const char *path)
{
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static int run(replay *r, const config *cfg, replay_args *a)
{
    struct stat st;
    int fresh = stat(a->db, &st) != 0 || st.st_size == 0;
    int rc = setup(r, cfg, a, fresh);
    if (rc != 0)
        return rc;
    int status = replay_feed(r);
    replay_print_summary(r, a->fixture, status, stdout);
    if (r->fixture_error[0]) {        /* what ran up to the bad line stays, but it is no result */
        fprintf(stderr, "discord-cleaner replay: %s: %s\n", a->fixture, r->fixture_error);
        return 65;
    }
    cJSON *o = replay_outcome(r, status);
    rc = status;
    if (a->write_expect)
        rc = write_outcome(o, a->write_expect);
    if (a->expect)
        rc = replay_compare(o, a->expect, stdout);
    cJSON_Delete(o);
    return rc;
}

int replay_main(const config *cfg, int argc, char **argv)
{
    replay_args a;
    char err[512], scratch[64] = "";
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    static replay r;                 /* one replay per process */
    memset(&r, 0, sizeof r);
    dc_err e = fixture_open(a.fixture, &r.fx, err, sizeof err);   /* entries stream during the run */
    if (e != DC_OK) {
        fprintf(stderr, "discord-cleaner replay: %s: %s\n", a.fixture, err);
        return e == DC_ERR_NOTFOUND ? 66 : 65;
    }
    if (!a.db) {
        snprintf(scratch, sizeof scratch, "/tmp/discord-cleaner-replay-XXXXXX");
        int fd = mkstemp(scratch);
        if (fd < 0) {
            fixture_free(&r.fx);
            fprintf(stderr, "discord-cleaner replay: cannot create a scratch database\n");
            return 73;
        }
        close(fd);
        a.db = scratch;
    }
    rc = run(&r, cfg, &a);
    teardown(&r);
    if (scratch[0])
        remove_scratch(scratch);
    return rc;
}
