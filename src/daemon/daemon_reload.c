/* daemon_reload.c - SIGHUP: reopen the log, read the settings again and
 * take the ones that can change under a running daemon (daemon_reload.h).
 *
 * Which settings those are is the config layer's list (config_reload.c);
 * this file reads the new configuration exactly as start-up did, hands it
 * to config_reload and then tells the modules that copied a setting
 * (the log, the commands, each shard's sweep).  Everything else reads
 * d->cfg where it lives, so the new values apply from the next use.
 * systemd hears RELOADING=1 before and READY=1 after (notify_live.c). */
#include "daemon/daemon_reload.h"

#include <stdlib.h>

#include "base/log.h"
#include "daemon/commands_live.h"
#include "daemon/daemon_internal.h"
#include "daemon/notify_live.h"
#include "daemon/reconcile.h"

extern char **environ;

static struct {
    int argc;
    char **argv;
    const config_flag *own;
} source;

void daemon_reload_source(int argc, char **argv, const config_flag *own)
{
    source.argc = argc;
    source.argv = argv;
    source.own = own;
}

void daemon_reload_attach(dc_daemon *d, config *live)
{
    d->live_cfg = live;
}

typedef struct {
    int applied, waiting;
} reload_tally;

static void on_change(void *ctx, const char *key, const char *was, const char *now, int applied)
{
    reload_tally *t = ctx;
    if (applied) {
        t->applied++;
        LOG_I("daemon", "reload: %s = %s (was %s)", key, now, was);
    } else {
        t->waiting++;
        LOG_W("daemon", "reload: %s changed to %s but takes effect only after a restart; still %s", key, now, was);
    }
}

/* The modules that keep a copy of a setting. */
static void tell_modules(dc_daemon *d)
{
    log_set_level((dc_log_level)d->cfg->log_level);
    log_set_format((dc_log_format)d->cfg->log_format);
    commands_live_reconfigure(d);
    reconcile_reconfigure(d);
}

static void reload_settings(dc_daemon *d)
{
    config next;
    char err[1024] = "out of memory";
    int n_rest = 0;
    char **rest = calloc((size_t)source.argc + 1, sizeof *rest);
    int loaded = rest != NULL;       /* config_load_all ran: next holds something to free */
    dc_err rc = loaded ? config_load_all(&next, source.argc, source.argv, environ, source.own, rest, &n_rest, err,
                                         sizeof err)
                       : DC_ERR_NOMEM;
    free(rest);
    if (rc != DC_OK) {
        LOG_E("daemon", "reload refused, the running settings stay: %s", err);
    } else {
        reload_tally t = { 0 };
        int applied = config_reload(d->live_cfg, &next, on_change, &t);
        if (applied < 0)
            LOG_E("daemon", "reload: a setting could not be applied (internal error); restart to be sure");
        if (t.applied)
            tell_modules(d);
        LOG_I("daemon", "settings reloaded (SIGHUP): %d applied, %d wait for a restart%s", t.applied, t.waiting,
              t.applied || t.waiting ? "" : " (nothing changed)");
    }
    if (loaded)
        config_free(&next);
}

void daemon_reload(dc_daemon *d)
{
    notify_reloading(d);
    log_reopen();
    if (source.argv && d->live_cfg && !d->oneshot)
        reload_settings(d);
    else
        LOG_I("daemon", "log file reopened (SIGHUP)");
    notify_reloaded(d);
}
