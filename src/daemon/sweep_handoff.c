/* sweep_handoff.c - `discord-cleaner sweep` while `run` works on the database.
 *
 * The CLI must never open a gateway session of its own then: two sessions
 * of one bot on one database resume each other's and close each other
 * (4000) in a loop.  So it hands the request to the daemon through the
 * database (cleaner_sweep_requests, schema/0007):
 *   CLI     inserts a row per --guild (guild 0 for --all), wakes the daemon
 *           with SIGUSR1 (its pid is in <db>.run-RANGE.lock, dblock.h; of
 *           several daemons, the one whose shards the request names), waits for the
 *           answers and prints them, then deletes its rows;
 *   daemon  on SIGUSR1 reads the open rows and queues the sweeps as a chat
 *           command would (reconcile_request); when a request's last sweep is done
 *           it writes the outcome lines and the CLI's exit status back.
 * The daemon touches the table only when no transaction of its own is open
 * (a timer waits for that), so a request never rides on a turn that might
 * be rolled back, and its read sees rows the CLI has committed.
 *
 * Daemon-side state is per process (one daemon per process, like its
 * signal flags): the requests taken and not yet answered. */
#include "daemon/sweep_handoff.h"
#include "daemon/turn.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/uri.h"
#include "daemon/daemon_internal.h"
#include "store/store_requests.h"

#define HANDOFF_RETRY_MS 20          /* a transaction of the daemon's is open: soon again */
#define HANDOFF_BUSY_RETRY_MS 250    /* the database was busy */
#define HANDOFF_POLL_MS 100          /* the CLI's look at its rows */
#define HANDOFF_PG_POLL_MS 1000      /* PostgreSQL: the daemon's look for requests (any host) */

typedef struct sweep_handoff_req {
    struct sweep_handoff_req *next;
    int64_t id;
    int pending;                     /* sweeps not finished */
    int status;                      /* first failure's exit status, else 0 */
    int answered;                    /* written back (or given up at stop) */
    store_request_outcome outcome;   /* "guild X: text\n" lines */
} sweep_handoff_req;

static struct {
    dc_daemon *d;
    sweep_handoff_req *reqs;
    int64_t last_id;                 /* rows up to this one are taken */
    int want_take;
    int polled;                      /* this look is the poll's, not a CLI's signal */
    int want_take_polled;            /* the look wanted is the poll's only */
    dc_timer timer;
    dc_timer poll;                   /* PostgreSQL: requests looked for without a signal */
} H;

static void schedule(int64_t ms);

static void add_line(sweep_handoff_req *q, uint64_t guild_id, const char *text, int status)
{
    char line[600];
    snprintf(line, sizeof line, "guild %" PRIu64 ": %s\n", guild_id, text);
    store_request_outcome_add(&q->outcome, line);
    if (status && !q->status)
        q->status = status;
}

static void on_done(void *ctx, uint64_t guild_id, const sweep_action *r)
{
    sweep_handoff_req *q = ctx;
    add_line(q, guild_id, r->text, !r->ok || r->guard_tripped ? 75 : 0);
    if (--q->pending == 0)
        schedule(0);
}

static void start_one(dc_daemon *d, sweep_handoff_req *q, const store_request *r, uint64_t guild_id)
{
    sweep_request s = { .guild_id = guild_id, .force = r->force, .dry_run = r->dry_run,
                        .done = on_done, .ctx = q };
    if (reconcile_request(d, &s) == DC_OK)
        q->pending++;
    else
        add_line(q, guild_id, "not available to the running daemon (not in a guild it serves); skipped", 66);
}

typedef struct {
    dc_daemon *d;
    sweep_handoff_req *q;
    const store_request *r;
} every_guild;

static int start_each(void *ctx, uint64_t guild_id)
{
    every_guild *e = ctx;
    start_one(e->d, e->q, e->r, guild_id);
    return 0;
}

/* Live shard leases of this bot: those of `who` (*same) and of any other
 * owner (*others); -1 when the table cannot be read. */
typedef struct {
    const store_lease_owner *who;
    int64_t now_ms;
    int same, others;
} lease_count;

static int count_lease(void *ctx, const store_lease_holder *h)
{
    lease_count *c = ctx;
    if (h->expires_ms <= c->now_ms)
        return 0;
    if (h->owner.pid == c->who->pid && strcmp(h->owner.host, c->who->host) == 0)
        c->same++;
    else
        c->others++;
    return 0;
}

static int count_leases(store *s, const store_lease_owner *who, int64_t now_ms, int *same, int *others)
{
    lease_count c = { .who = who, .now_ms = now_ms };
    if (store_each_lease(s, count_lease, &c) != DC_OK)
        return -1;
    *same = c.same;
    *others = c.others;
    return 0;
}

static int sole_daemon(dc_daemon *d)
{
    int mine = 0, others = 0;
    return count_leases(d->st, &d->coord.me, loop_wall(d->loop), &mine, &others) == 0 && others == 0;
}

static int take_one(void *ctx, const store_request *r)
{
    dc_daemon *d = ctx;
    /* A request for every guild names no daemon: found by the poll, it is
     * this one's only when no other runs (else the CLI signals its pick). */
    if (!r->guild_id && H.polled && !sole_daemon(d))
        return 0;
    H.last_id = r->id;
    /* Several daemons on one database (#16): a guild of another's shards
     * is that daemon's to answer (the CLI wakes the one that runs it). */
    if (r->guild_id && d->cfg->shard_count && d->n_shards && !reconcile_owns_guild(d, r->guild_id))
        return 0;
    sweep_handoff_req *q = calloc(1, sizeof *q);
    if (!q)
        return -1;
    q->id = r->id;
    q->next = H.reqs;
    H.reqs = q;
    LOG_I("daemon", "sweep request %" PRId64 " from `discord-cleaner sweep` (pid %ld): %s%s", r->id,
          r->requester, r->guild_id ? "one guild" : "every guild", r->force ? ", forced" : "");
    if (!reconcile_sessions_ready(d)) {
        add_line(q, r->guild_id, "the daemon is still connecting to Discord; try again in a few seconds", 75);
        return 0;
    }
    if (r->guild_id)
        start_one(d, q, r, r->guild_id);
    else
        reconcile_each_guild(d, start_each, &(every_guild){ d, q, r });
    if (!r->guild_id && !q->pending && !q->outcome.len)
        store_request_outcome_add(&q->outcome, "no guild to sweep\n");
    return 0;
}

/* 0, or a delay after which to try again. */
static int64_t answer_finished(dc_daemon *d)
{
    for (sweep_handoff_req *q = H.reqs; q; q = q->next) {
        if (q->answered || q->pending)
            continue;
        const char *text = q->outcome.text ? q->outcome.text : "";
        if (store_request_answer(d->st, q->id, loop_wall(d->loop), q->status, text) != DC_OK)
            return HANDOFF_BUSY_RETRY_MS;
        q->answered = 1;
    }
    return 0;
}

static void on_timer(dc_timer *t)
{
    (void)t;
    dc_daemon *d = H.d;
    if (!d || !d->st)
        return;
    if (store_in_transaction(d->st) || turn_commit_waits(d)) {
        schedule(HANDOFF_RETRY_MS);  /* a read now would wait for the COMMIT's answer */
        return;
    }
    if (H.want_take) {
        H.want_take = 0;
        H.polled = H.want_take_polled;
        H.want_take_polled = 0;
        if (store_request_each_open(d->st, H.last_id, take_one, d) != DC_OK) {
            LOG_W("daemon", "cannot read sweep requests: %s", store_errmsg(d->st));
            H.want_take = 1;
            schedule(HANDOFF_BUSY_RETRY_MS);
            return;
        }
    }
    int64_t again = answer_finished(d);
    if (again)
        schedule(again);
}

static void schedule(int64_t ms)
{
    if (H.d)
        loop_timer(H.d->loop, &H.timer, on_timer, ms);
}

static void want_take(dc_daemon *d, int polled)
{
    H.d = d;
    H.want_take_polled = H.want_take ? H.want_take_polled && polled : polled;
    H.want_take = 1;
    schedule(0);
}

void sweep_handoff_wake(dc_daemon *d)
{
    want_take(d, 0);
}

/* A CLI on another host cannot signal this daemon: on PostgreSQL the
 * daemon looks for requests every HANDOFF_PG_POLL_MS (one indexed read). */
static void on_poll(dc_timer *t)
{
    (void)t;
    dc_daemon *d = H.d;
    if (!d || d->stopping)
        return;
    want_take(d, 1);
    loop_timer(d->loop, &H.poll, on_poll, HANDOFF_PG_POLL_MS);
}

void sweep_handoff_start(dc_daemon *d)
{
    if (d->oneshot || !d->cfg->db || !uri_is_postgres(d->cfg->db))
        return;
    H.d = d;
    loop_timer(d->loop, &H.poll, on_poll, HANDOFF_PG_POLL_MS);
}

void sweep_handoff_stop(dc_daemon *d)
{
    if (H.d != d)
        return;
    for (sweep_handoff_req *q = H.reqs; q; q = q->next)
        if (q->pending && !q->answered) {
            store_request_outcome_add(&q->outcome, "the daemon is stopping: the sweep did not finish; nothing was lost\n");
            q->status = 75;
            q->pending = 0;          /* its sweeps' done callbacks still find q */
        }
    if (d->st && !store_in_transaction(d->st))
        answer_finished(d);
}

void sweep_handoff_free(dc_daemon *d)
{
    if (H.d != d)
        return;
    loop_cancel(d->loop, &H.timer);
    loop_cancel(d->loop, &H.poll);
    while (H.reqs) {
        sweep_handoff_req *q = H.reqs;
        H.reqs = q->next;
        store_request_outcome_free(&q->outcome);
        free(q);
    }
    memset(&H, 0, sizeof H);
}

/* ---- the CLI's side --------------------------------------------------------- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Is the daemon still there?  Same host: its pid; on PostgreSQL also a
 * live lease of its own (a daemon on another host is known only so). */
static int target_alive(store *s, const sweep_handoff_target *t)
{
    if (t->local && kill((pid_t)t->pid, 0) != 0 && errno == ESRCH)
        return 0;
    if (!t->host[0])
        return 1;                    /* SQLite: the pid says it all */
    store_lease_owner who = { .pid = t->pid };
    int same = 0, others = 0;
    snprintf(who.host, sizeof who.host, "%s", t->host);
    if (count_leases(s, &who, wall_ms(), &same, &others) != 0)
        return 1;                    /* cannot tell now: ask again at the next poll */
    return same > 0;
}

/* Waits for every row's answer, printing each as it comes.  The daemon's
 * own timeouts end every sweep; only its death ends the wait early. */
static int wait_answers(store *s, const sweep_handoff_target *t, const int64_t *ids, size_t n)
{
    int status = 0;
    size_t answered = 0;
    char *done = calloc(n, 1);
    if (!done)
        return 70;
    while (answered < n) {
        for (size_t i = 0; i < n; i++) {
            int ok = 0, st = 0;
            char *text = NULL;
            if (done[i] || store_request_get(s, ids[i], &ok, &st, &text) != DC_OK || !ok)
                continue;
            fputs(text, stdout);
            fflush(stdout);
            free(text);
            done[i] = 1;
            answered++;
            if (st && !status)
                status = st;
        }
        if (answered < n && !target_alive(s, t)) {
            printf("the daemon (pid %ld%s%s) stopped before answering; nothing was lost, run the sweep again\n",
                   t->pid, t->host[0] ? " on " : "", t->host);
            status = 75;
            break;
        }
        if (answered < n)
            sleep_ms(HANDOFF_POLL_MS);
    }
    free(done);
    return status;
}

int sweep_handoff_run(const config *cfg, const sweep_handoff_target *t, const uint64_t *guilds, size_t n, int force)
{
    store *s = NULL;
    char err[512] = "";
    store_opts so = { 0 };
    if (store_open(&s, cfg->db, &so, err, sizeof err) != DC_OK) {
        char shown[URI_SHOWN_MAX];
        uri_redact(cfg->db, shown, sizeof shown);
        fprintf(stderr, "discord-cleaner sweep: %s: %s\n", shown, err);
        return 70;
    }
    size_t count = n ? n : 1;
    int64_t *ids = calloc(count, sizeof *ids);
    int status = ids ? 0 : 70;
    for (size_t i = 0; i < count && !status; i++) {
        store_request r = { .guild_id = n ? guilds[i] : 0, .force = force, .dry_run = cfg->dry_run,
                            .requester = (long)getpid() };
        if (store_request_add(s, &r, wall_ms(), &ids[i]) != DC_OK) {
            fprintf(stderr, "discord-cleaner sweep: cannot hand the request to the daemon: %s\n", store_errmsg(s));
            status = 75;
        }
    }
    /* Another host's daemon finds the rows by itself (it polls on PostgreSQL). */
    if (!status && t->local && kill((pid_t)t->pid, SIGUSR1) != 0) {
        fprintf(stderr, "discord-cleaner sweep: cannot wake the daemon (pid %ld): %s\n", t->pid, strerror(errno));
        status = 75;
    }
    if (!status) {
        printf("handed to the running daemon (pid %ld%s%s); waiting for its answer\n", t->pid,
               t->host[0] ? " on " : "", t->host);
        fflush(stdout);
        status = wait_answers(s, t, ids, count);
    }
    for (size_t i = 0; ids && i < count; i++)
        if (ids[i])
            store_request_delete(s, ids[i]);
    free(ids);
    store_close(s);
    return status;
}
