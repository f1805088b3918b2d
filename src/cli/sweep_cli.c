/* sweep_cli.c - `discord-cleaner sweep (--guild ID ... | --all) [--force]`.
 *
 * While `run` works on the same database, the request is handed to it
 * through the database instead (sweep_handoff.c): never a second session.
 * Otherwise it runs the same daemon loop as `run` (same sweep code, a
 * session of its own, never the daemon's saved one), but
 * the scheduler only starts the sweeps asked for here; when the last one
 * has finished it prints a summary per guild and exits:
 *   0  every sweep completed (dry run included)
 *   75 a sweep was aborted or skipped, or the guard refused (nothing lost;
 *      the message says why and what to do)
 *   66 a guild asked for is not available to this bot */
#include "cli/sweep_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon/daemon.h"
#include "daemon/dblock.h"
#include "daemon/shard_coord.h"
#include "daemon/sweep_handoff.h"
#include "base/log.h"
#include "base/uri.h"
#include "store/store.h"

#define ONESHOT_MAX 256
#define ONESHOT_SETTLE_MS 2000        /* quiet after the last GUILD_CREATE */

struct oneshot {
    const config *cfg;
    uint64_t guilds[ONESHOT_MAX];
    size_t n;
    int all, force;
    int listed;
    size_t requested, finished;
    int status;
    int64_t ready_since;
};

static void on_done(void *ctx, uint64_t guild_id, const sweep_action *r)
{
    struct oneshot *os = ctx;
    os->finished++;
    printf("guild %" PRIu64 ": %s\n", guild_id, r->text);
    fflush(stdout);
    if ((!r->ok || r->guard_tripped) && !os->status)
        os->status = 75;
}

static void request_one(dc_daemon *d, struct oneshot *os, uint64_t guild_id)
{
    sweep_request r = { .guild_id = guild_id, .force = os->force, .dry_run = os->cfg->dry_run,
                        .done = on_done, .ctx = os };
    if (daemon_request_sweep(d, &r) == DC_OK) {
        os->requested++;
        return;
    }
    printf("guild %" PRIu64 ": not available to this bot (not in a guild it serves); skipped\n", guild_id);
    os->status = 66;
}

typedef struct {
    dc_daemon *d;
    struct oneshot *os;
} every_guild;

static int request_each(void *ctx, uint64_t guild_id)
{
    every_guild *e = ctx;
    request_one(e->d, e->os, guild_id);
    return 0;
}

/* Once the sessions are up and the guild list has settled, queue the sweeps. */
static void list_targets(dc_daemon *d, struct oneshot *os)
{
    int64_t now = daemon_now_ms(d);
    if (!daemon_sessions_ready(d)) {
        os->ready_since = 0;
        return;
    }
    if (!os->ready_since)
        os->ready_since = now;
    if (now - daemon_last_guild_seen_ms(d) < ONESHOT_SETTLE_MS || now - os->ready_since < ONESHOT_SETTLE_MS)
        return;
    if (!os->all) {
        size_t present = 0;
        for (size_t i = 0; i < os->n; i++)
            present += daemon_has_guild(d, os->guilds[i]);
        if (present < os->n && now - os->ready_since < (int64_t)(os->cfg->sweep_wait * 1000))
            return;
        for (size_t i = 0; i < os->n; i++)
            request_one(d, os, os->guilds[i]);
    } else {
        char range[48];
        if (os->cfg->shard_count)
            printf("sweeping the guilds of shards %s only (this process's shards; each process sweeps its own)\n",
                   shard_coord_range(range, sizeof range, os->cfg->shard_first, os->cfg->shard_last,
                                     os->cfg->shard_count));
        daemon_each_guild(d, request_each, &(every_guild){ d, os });
    }
    os->listed = 1;
    if (os->requested == 0)
        printf("no guild to sweep\n");
}

/* daemon_main's tick hook: every scheduler tick while the sweeps run. */
static void oneshot_tick(dc_daemon *d, void *ctx)
{
    struct oneshot *os = ctx;
    if (!os->listed)
        list_targets(d, os);
    if (os->listed && os->finished == os->requested)
        daemon_request_stop(d, os->status);
}

static int parse_id(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || !*s || v == 0 || v > INT64_MAX || s[0] == '-')   /* INT64_MAX: the store's ids */
        return -1;
    *out = v;
    return 0;
}

/* Does the daemon of range ("F-L/C", "all") run the shard of guild_id? */
static int range_has(const char *range, uint64_t guild_id)
{
    int first = 0, last = 0, count = 0;
    if (strcmp(range, "all") == 0)
        return 1;
    if (sscanf(range, "%d-%d/%d", &first, &last, &count) != 3) {
        if (sscanf(range, "%d/%d", &first, &count) != 2)
            return 0;
        last = first;
    }
    int shard = count > 0 ? (int)((guild_id >> 22) % (uint64_t)count) : -1;
    return shard >= first && shard <= last;
}

/* Of the daemons: the one this CLI's `shards` names, or the one that runs
 * every guild asked for (--all: the only one); -1 (after a line saying
 * why) when none fits. */
static int pick_daemon(const config *cfg, const struct oneshot *os, const dblock_daemon *v, int n)
{
    char mine[48] = "";
    if (cfg->shard_count)
        shard_coord_range(mine, sizeof mine, cfg->shard_first, cfg->shard_last, cfg->shard_count);
    for (int i = 0; i < n; i++) {
        int fits = mine[0] ? strcmp(mine, v[i].range) == 0 : os->all ? n == 1 : 1;
        for (size_t g = 0; fits && !mine[0] && g < os->n; g++)
            fits = range_has(v[i].range, os->guilds[g]);
        if (fits)
            return i;
    }
    fprintf(stderr, "discord-cleaner sweep: %d daemon(s) run this bot's shards on this database (", n);
    for (int i = 0; i < n; i++)
        fprintf(stderr, "%spid %ld: %s", i ? ", " : "", v[i].pid, v[i].range);
    fprintf(stderr, "); give --shards FIRST-LAST/COUNT of the one that should sweep%s\n",
            os->all ? " (each sweeps its own shards)" : ", or guilds of one daemon's shards");
    return -1;
}

/* ---- PostgreSQL: the daemons are the live lease holders (any host) ---- */

typedef struct {
    dblock_daemon *v;
    char (*host)[256];
    int n, cap;
    int64_t now_ms;
} live_owners;

static int add_owner(void *ctx, const store_lease_holder *h)
{
    live_owners *o = ctx;
    if (h->expires_ms <= o->now_ms || o->n == o->cap)
        return 0;
    o->v[o->n].pid = (long)h->owner.pid;
    shard_coord_range(o->v[o->n].range, sizeof o->v[o->n].range, h->first, h->last, h->count);
    snprintf(o->host[o->n], sizeof o->host[o->n], "%s", h->owner.host);
    o->n++;
    return 0;
}

/* The processes holding a live shard lease, into v (hosts into host); -1
 * when the database cannot be read (daemon_main then says why). */
static int pg_running(const config *cfg, dblock_daemon *v, char (*host)[256], int cap)
{
    store *s = NULL;
    char err[512];
    store_opts so = { 0 };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    live_owners o = { .v = v, .host = host, .cap = cap,
                      .now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 };
    if (store_open(&s, cfg->db, &so, err, sizeof err) != DC_OK)
        return -1;
    dc_err e = store_each_lease(s, add_owner, &o);
    store_close(s);
    return e == DC_OK ? o.n : -1;
}

/* The `run` to hand the sweep to (SQLite: dblock.h's files; PostgreSQL: the
 * live shard leases): 1 with *t filled, 0 when none runs, -1 when none fits. */
static int running_daemon(const config *cfg, const struct oneshot *os, sweep_handoff_target *t)
{
    struct stat sb;
    dblock_daemon v[64];
    static char host[64][256];
    int pg = cfg->db && uri_is_postgres(cfg->db), n;
    if (pg)
        n = pg_running(cfg, v, host, 64);
    else
        n = cfg->db && stat(cfg->db, &sb) == 0 ? dblock_running(cfg->db, v, 64) : 0;
    if (n <= 0)
        return 0;                     /* none, or daemon_main says what is missing */
    int i = pick_daemon(cfg, os, v, n);
    if (i < 0)
        return -1;
    memset(t, 0, sizeof *t);
    t->pid = v[i].pid;
    t->local = 1;
    if (pg) {
        store_lease_owner me;
        shard_coord_owner(&me);
        snprintf(t->host, sizeof t->host, "%s", host[i]);
        t->local = strcmp(me.host, host[i]) == 0;
        /* --all names no daemon in the table: one elsewhere takes it only
         * when it is the only one (sweep_handoff.c), signalled otherwise. */
        if (os->all && !t->local && n > 1) {
            fprintf(stderr, "discord-cleaner sweep: --all: the daemon of shards %s runs on %s; run the sweep "
                    "there (each daemon sweeps its own shards)\n", v[i].range, host[i]);
            return -1;
        }
    }
    return 1;
}

int sweep_cli_main(const config *cfg, int argc, char **argv)
{
    static struct oneshot os;
    memset(&os, 0, sizeof os);
    os.cfg = cfg;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--all") == 0) {
            os.all = 1;
        } else if (strcmp(argv[i], "--force") == 0) {
            os.force = 1;
        } else if (strcmp(argv[i], "--guild") == 0 && i + 1 < argc) {
            if (os.n == ONESHOT_MAX || parse_id(argv[++i], &os.guilds[os.n]) != 0) {
                fprintf(stderr, "discord-cleaner sweep: --guild takes a guild id (a snowflake), got '%s'\n",
                        argv[i]);
                return 64;
            }
            os.n++;
        } else {
            fprintf(stderr, "discord-cleaner sweep: unexpected argument '%s'\n", argv[i]);
            return 64;
        }
    }
    if (!os.all == !os.n) {
        fprintf(stderr, "discord-cleaner sweep: give --guild ID (one or more) or --all\n");
        return 64;
    }
    sweep_handoff_target t;
    int running = running_daemon(cfg, &os, &t);
    if (running < 0)
        return 64;
    if (running > 0)                  /* never a second session: the daemon sweeps */
        return sweep_handoff_run(cfg, &t, os.all ? NULL : os.guilds, os.all ? 0 : os.n, os.force);
    daemon_hook hook = { .tick = oneshot_tick, .ctx = &os };
    int rc = daemon_main(cfg, &hook);
    return rc ? rc : os.status;
}
