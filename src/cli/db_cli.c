/* db_cli.c - `discord-cleaner migrate` and `discord-cleaner status`. */
#include "cli/db_cli.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/err.h"
#include "base/uri.h"
#include "store/store.h"
#include "store/store_grace.h"
#include "policy/sweep.h"
#include "cli/status_json.h"

#define ADMIN_DAY_MS (24LL * 3600 * 1000)

/* A missing database is an error for status (opening would create it);
 * only migrate creates a database. */
static int admin_need_file(const char *path, const char *cmd)
{
    char err[512] = "";
    int exists = 0;
    dc_err rc = store_exists(path, &exists, err, sizeof err);
    if (rc != DC_OK) {
        fprintf(stderr, "discord-cleaner %s: %s\n", cmd, err[0] ? err : dc_strerror(rc));
        return dc_err_exit_status(rc);
    }
    if (exists)
        return 0;
    char shown[URI_SHOWN_MAX];
    uri_redact(path ? path : "(none)", shown, sizeof shown);
    fprintf(stderr, "discord-cleaner %s: no database at %s\n", cmd, shown);
    return dc_err_exit_status(DC_ERR_NOTFOUND);
}

static void print_migration(FILE *out, const char *path, const store_migration_report *m,
                            uint64_t legacy_guild_id)
{
    if (m->from_version == m->to_version) {
        fprintf(out, "%s: schema already at version %d, nothing to do\n", path, m->to_version);
        return;
    }
    fprintf(out, "%s: schema migrated from version %d to %d\n", path, m->from_version, m->to_version);
    if (m->backup_path[0])
        fprintf(out, "backup:  %s\n", m->backup_path);
    if (!m->legacy_rebuilt)
        return;
    fprintf(out, "legacy users table rebuilt: %" PRId64 " rows kept, ", m->legacy_rows);
    if (legacy_guild_id)
        fprintf(out, "assigned to guild %" PRIu64 "\n", legacy_guild_id);
    else
        fprintf(out, "left unassigned (guild_id NULL, never deleted until adopted)\n");
}

int db_cli_migrate(const char *db_path, uint64_t legacy_guild_id, FILE *out)
{
    store_opts opts = { .legacy_guild_id = legacy_guild_id };
    char err[512] = "";
    store *s = NULL;
    int existed = 0;
    char shown[URI_SHOWN_MAX];
    uri_redact(db_path, shown, sizeof shown);
    store_exists(db_path, &existed, NULL, 0);     /* store_open reports what fails */
    dc_err rc = store_open(&s, db_path, &opts, err, sizeof err);
    if (rc != DC_OK) {
        /* a PostgreSQL line names the setting already ("db: URI: ...") */
        int named = strncmp(err, "db: ", 4) == 0;
        fprintf(stderr, "discord-cleaner migrate: %s%s%s (the database was left as it was)\n",
                named ? "" : shown, named ? "" : ": ", err[0] ? err : dc_strerror(rc));
        return dc_err_exit_status(rc);
    }
    if (!existed)
        fprintf(out, "%s: new database created at schema version %d\n", shown,
                store_migration(s)->to_version);
    else
        print_migration(out, shown, store_migration(s), legacy_guild_id);
    store_close(s);
    return 0;
}

/* ---- status --------------------------------------------------------------- */

static const char *fmt_time(int64_t ms, char *buf, size_t cap)
{
    if (ms <= 0)
        return "never";
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return "?";
    return buf;
}

static void status_schema(store *s, FILE *out)
{
    int v = store_schema_version(s), latest = store_latest_schema_version();
    if (v == latest)
        fprintf(out, "%-16s version %d (up to date)\n", "schema", v);
    else if (v < latest)
        fprintf(out, "%-16s version %d, latest %d: migrations pending "
                     "(run `discord-cleaner migrate`)\n", "schema", v, latest);
    else
        fprintf(out, "%-16s version %d is newer than this program (%d)\n", "schema", v, latest);
}

typedef struct {
    FILE *out;
    int n;
    store *s;
} rows_view;

/* The guild's name as the daemon last saw it (schema 5), or "-". */
static const char *guild_name(store *s, uint64_t guild_id, char *buf, size_t cap)
{
    return store_guild_get_name(s, guild_id, buf, cap) == DC_OK ? buf : "-";
}

static int print_guild_rows(void *ctx, uint64_t guild_id, int64_t rows)
{
    rows_view *v = ctx;
    char name[104];
    v->n++;
    fprintf(v->out, "  %-22" PRIu64 " %12" PRId64 "  %s\n", guild_id, rows, guild_name(v->s, guild_id, name, sizeof name));
    return 0;
}

static void status_rows(store *s, FILE *out)
{
    int64_t unassigned = 0;
    rows_view v = { .out = out, .n = 0, .s = s };
    fprintf(out, "rows per guild\n");
    if (store_each_user_guild(s, print_guild_rows, &v) != DC_OK)
        fprintf(out, "  (unavailable: %s)\n", store_errmsg(s));
    else if (v.n == 0)
        fprintf(out, "  (none)\n");
    if (store_count_unassigned(s, &unassigned) == DC_OK)
        fprintf(out, "%-16s %" PRId64 " rows (legacy rows without a guild; never deleted)\n",
                "unassigned", unassigned);
}

static int print_guild_state(void *ctx, const store_guild_state *g)
{
    rows_view *v = ctx;
    char when[32], name[104];
    fprintf(v->out, "  %-20" PRIu64 " %-20.20s %5d  %-11s %-9s %-20s %8" PRId64 "  %s\n",
            g->guild_id, guild_name(v->s, g->guild_id, name, sizeof name), g->shard_id,
            g->unavailable ? "yes" : "no",
            sweep_result_holds(g->last_sweep_result) ? "held" : g->needs_reconcile ? "yes" : "no",
            fmt_time(g->last_sweep_ms, when, sizeof when),
            g->last_sweep_removed, g->last_sweep_result[0] ? g->last_sweep_result : "-");
    return 0;
}

static void status_guilds(store *s, FILE *out)
{
    rows_view v = { .out = out, .s = s };
    fprintf(out, "guild state\n  %-20s %-20s %5s  %-11s %-9s %-20s %8s  %s\n", "GUILD", "NAME", "SHARD",
            "UNAVAILABLE", "RECONCILE", "LAST SWEEP", "REMOVED", "RESULT");
    if (store_each_guild_state(s, print_guild_state, &v) != DC_OK)
        fprintf(out, "  (unavailable: %s)\n", store_errmsg(s));
}

static int print_schedule(void *ctx, const store_schedule *sc)
{
    rows_view *v = ctx;
    char when[32], name[104];
    v->n++;
    fprintf(v->out, "  %-20" PRIu64 " %-20.20s %10g h  set by %-20" PRIu64 " %s\n", sc->guild_id,
            guild_name(v->s, sc->guild_id, name, sizeof name), (double)sc->interval_ms / 3600000.0, sc->set_by,
            fmt_time(sc->set_at_ms, when, sizeof when));
    return 0;
}

/* The sweep intervals servers' admins chose (!cleanup_schedule, schema 10);
 * the operator's guild_interval, where set, beats them. */
static void status_schedules(store *s, FILE *out)
{
    rows_view v = { .out = out, .s = s };
    fprintf(out, "sweep schedules set by server admins (the operator's guild_interval takes precedence)\n");
    if (store_each_schedule(s, print_schedule, &v) != DC_OK)
        fprintf(out, "  (unavailable: %s)\n", store_errmsg(s));
    else if (!v.n)
        fprintf(out, "  (none: interval_hours applies)\n");
}

/* gw.<shard>.<field>: keys arrive sorted, so one shard's fields are adjacent. */
typedef struct {
    FILE *out;
    long shard;             /* -1 before the first gw.* key */
    int has_session;
    char seq[32], resume[256];
    int64_t next_sweep_ms;
} kv_view;

static void flush_shard(kv_view *v)
{
    if (v->shard < 0)
        return;
    fprintf(v->out, "  shard %-4ld session id %-8s seq %-10s resume url %s\n", v->shard,
            v->has_session ? "present" : "absent", v->seq[0] ? v->seq : "-",
            v->resume[0] ? v->resume : "-");
    v->has_session = 0;
    v->seq[0] = v->resume[0] = '\0';
}

static int collect_kv(void *ctx, const char *key, const char *value)
{
    kv_view *v = ctx;
    char *field = NULL;
    if (strcmp(key, "sweep.next_run_ms") == 0) {
        v->next_sweep_ms = strtoll(value, NULL, 10);
        return 0;
    }
    if (strncmp(key, "gw.", 3) != 0)
        return 0;
    long shard = strtol(key + 3, &field, 10);
    if (!field || *field != '.')
        return 0;
    if (shard != v->shard) {
        flush_shard(v);
        v->shard = shard;
    }
    if (strcmp(field, ".session_id") == 0)
        v->has_session = value[0] != '\0';
    else if (strcmp(field, ".seq") == 0)
        snprintf(v->seq, sizeof v->seq, "%s", value);
    else if (strcmp(field, ".resume_url") == 0)
        snprintf(v->resume, sizeof v->resume, "%s", value);
    return 0;
}

static void status_sessions(store *s, FILE *out)
{
    kv_view v = { .out = out, .shard = -1 };
    char when[32];
    fprintf(out, "gateway sessions\n");
    if (store_each_kv(s, collect_kv, &v) != DC_OK) {
        fprintf(out, "  (unavailable: %s)\n", store_errmsg(s));
        return;
    }
    if (v.shard < 0)
        fprintf(out, "  (none saved)\n");
    flush_shard(&v);
    fprintf(out, "%-16s %s\n", "next sweep",
            v.next_sweep_ms ? fmt_time(v.next_sweep_ms, when, sizeof when) : "not scheduled");
}

typedef struct {
    FILE *out;
    int64_t now_ms;
    int n;
} lease_view;

static int show_lease(void *ctx, const store_lease_holder *h)
{
    lease_view *v = ctx;
    char range[48], when[32];
    int64_t left = h->expires_ms - v->now_ms;
    if (h->first == h->last)
        snprintf(range, sizeof range, "%d/%d", h->first, h->count);
    else
        snprintf(range, sizeof range, "%d-%d/%d", h->first, h->last, h->count);
    fprintf(v->out, "  shards %-12s %s pid %lld%s, %s %s\n", range, h->owner.host, (long long)h->owner.pid,
            h->n_shards != h->last - h->first + 1 ? " (part of the range)" : "",
            left > 0 ? "expires" : "EXPIRED", fmt_time(h->expires_ms, when, sizeof when));
    v->n++;
    return 0;
}

/* Every process's shard leases (#16): who runs which shards of the bot. */
static void status_leases(store *s, int64_t now_ms, FILE *out)
{
    lease_view v = { .out = out, .now_ms = now_ms };
    fprintf(out, "shard leases (processes running this bot's shards)\n");
    if (store_each_lease(s, show_lease, &v) != DC_OK)
        fprintf(out, "  (unavailable: %s)\n", store_errmsg(s));
    else if (!v.n)
        fprintf(out, "  (none: no daemon runs)\n");
}

/* The grace period's pending departures (#17): how many, and the next due. */
static void status_grace(store *s, FILE *out)
{
    int64_t n = 0, next = 0;
    char when[40];
    if (store_grace_count(s, 0, &n, &next) != DC_OK)
        fprintf(out, "%-16s (unavailable: %s)\n", "pending", store_errmsg(s));
    else if (n == 0)
        fprintf(out, "%-16s none (departures wait only with grace_hours above 0)\n", "pending");
    else
        fprintf(out, "%-16s %" PRId64 " departure(s) in their grace period, the next due %s\n", "pending", n,
                fmt_time(next, when, sizeof when));
}

static void status_audit(store *s, int64_t now_ms, FILE *out)
{
    int64_t totals[AUDIT_REASON_COUNT];
    fprintf(out, "deleted in the last 24 h (rows, dry runs excluded)\n");
    if (store_audit_totals(s, now_ms - ADMIN_DAY_MS, totals) != DC_OK) {
        fprintf(out, "  (unavailable: %s)\n", store_errmsg(s));
        return;
    }
    for (int r = 0; r < AUDIT_REASON_COUNT; r++)
        fprintf(out, "  %-20s %10" PRId64 "\n", audit_reason_name((audit_reason)r), totals[r]);
}

/* The database opened read-only for status; NULL with *status set when not. */
static store *status_open(const char *db_path, int *status)
{
    *status = admin_need_file(db_path, "status");
    if (*status)
        return NULL;
    store_opts opts = { .read_only = 1 };
    char err[512] = "";
    store *s = NULL;
    dc_err rc = store_open(&s, db_path, &opts, err, sizeof err);
    if (rc != DC_OK) {
        fprintf(stderr, "discord-cleaner status: %s\n", err[0] ? err : dc_strerror(rc));
        *status = dc_err_exit_status(rc);
        return NULL;
    }
    return s;
}

int db_cli_status_json(const char *db_path, int64_t now_ms, FILE *out)
{
    int status = 0;
    store *s = status_open(db_path, &status);
    if (!s)
        return status;
    status = status_json_print(s, db_path, now_ms, out);
    store_close(s);
    return status;
}

int db_cli_status_at(const char *db_path, int64_t now_ms, FILE *out)
{
    int status = 0;
    store *s = status_open(db_path, &status);
    if (!s)
        return status;
    char shown[URI_SHOWN_MAX];
    uri_redact(db_path, shown, sizeof shown);
    fprintf(out, "%-16s %s\n", "database", shown);
    status_schema(s, out);
    if (store_schema_version(s) != store_latest_schema_version()) {
        /* The tables below may not exist yet in this shape: say what to do
         * instead of printing SQL errors. */
        if (store_schema_version(s) < store_latest_schema_version())
            fprintf(out, "this database needs `discord-cleaner migrate --db %s` (%s); rows, guilds and "
                         "sweeps are shown after that\n", shown,
                    uri_is_postgres(db_path) ? "each migration runs in one transaction"
                                             : "it backs the file up first");
        store_close(s);
        return 0;
    }
    status_rows(s, out);
    status_guilds(s, out);
    status_schedules(s, out);
    status_sessions(s, out);
    status_leases(s, now_ms, out);
    status_grace(s, out);
    status_audit(s, now_ms, out);
    store_close(s);
    return 0;
}

int db_cli_status(const char *db_path, int json, FILE *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    return json ? db_cli_status_json(db_path, now_ms, out) : db_cli_status_at(db_path, now_ms, out);
}
