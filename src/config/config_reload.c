/* config_reload.c - SIGHUP: which settings a running daemon takes from a
 * configuration read again, and which wait for a restart (config.h,
 * config_reload).
 *
 * A setting is reloadable when every place that uses it either reads it
 * where it lives (d->cfg) each time or is told (daemon_reload.c): log
 * level and format, the sweep intervals and settings, the guard, the
 * commands' prefix, permission and owners, the grace notice (on or off,
 * its text and rate), the journal bound, audit retention.  The rest fix
 * what the process is (its database, token, shards, gateway session, HTTP
 * listener, dry run, grace period) and are only reported.
 *
 * The new value is applied by formatting it from the new configuration and
 * parsing that text into the live one with the same parser a file value
 * goes through, so a value cannot reach the daemon without its checks. */
#include <stdlib.h>
#include <string.h>

#include "config/config_keys.h"

static const char *const reloadable[] = {
    "log_level", "log_format",
    "interval_hours", "guild_interval", "reconcile_delay", "min_interval_hours",
    "batch_size", "batch_delay", "max_delete_share", "confirm_sample", "chunk_timeout", "member_source",
    "sweep_wait",
    "prefix", "admin_permission", "owner_ids",
    "notify_departed", "notify_message", "notify_per_minute",
    "journal_max_writes", "audit_retention_days",
};

int config_key_reloadable(const char *name)
{
    for (size_t i = 0; i < sizeof reloadable / sizeof reloadable[0]; i++)
        if (strcmp(reloadable[i], name) == 0)
            return 1;
    return 0;
}

/* Secrets are formatted as "(set)": compared as they are, never shown. */
static int secret_differs(const config *a, const config *b, const config_key *k)
{
    const char *x = *(char *const *)((const char *)a + k->offset);
    const char *y = *(char *const *)((const char *)b + k->offset);
    return strcmp(x ? x : "", y ? y : "") != 0;
}

int config_reload(config *live, const config *next, config_change_fn fn, void *ctx)
{
    int applied = 0;
    for (size_t i = 0; i < config_key_count; i++) {
        const config_key *k = &config_keys[i];
        /* The bot token is read once and then wiped from the environment
         * (config_protect_token): a reload cannot see it, and a token is
         * never changed under a live session anyway. */
        if (strcmp(k->name, "token") == 0)
            continue;
        char was[2048], now[2048], err[256];
        config_key_format(live, k, was, sizeof was);
        config_key_format(next, k, now, sizeof now);
        int differs = k->kind == KIND_TOKEN ? secret_differs(live, next, k) : strcmp(was, now) != 0;
        if (!differs)
            continue;
        int reloadable = config_key_reloadable(k->name);
        int ok = reloadable && config_key_set(live, k, now, err, sizeof err) == DC_OK;
        if (reloadable && !ok)
            return -1;               /* next's own value did not parse again: a bug (the keys before it are applied) */
        applied += ok;
        if (fn)
            fn(ctx, k->name, k->kind == KIND_TOKEN ? "(set)" : was, k->kind == KIND_TOKEN ? "(changed)" : now, ok);
    }
    return applied;
}
