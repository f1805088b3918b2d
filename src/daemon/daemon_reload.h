/* daemon_reload.h - SIGHUP: the log reopened and the settings read again
 * from where they came from (the config file, the environment, the
 * command line), applied where that is safe, the rest named as waiting for
 * a restart; an invalid configuration leaves the running one untouched. */
#ifndef DC_DAEMON_RELOAD_H
#define DC_DAEMON_RELOAD_H

#include "config/config.h"

struct dc_daemon;

/* The command line `run` was started with (argv[argc] NULL; kept, not
 * copied) and its own flags: what a reload reads again.  Without it (the
 * `sweep` one-shot, replay) SIGHUP only reopens the log. */
void daemon_reload_source(int argc, char **argv, const config_flag *own);
/* The daemon's settings, a copy it may change (daemon_main owns it). */
void daemon_reload_attach(struct dc_daemon *d, config *live);
/* SIGHUP, from the loop (never from the signal handler). */
void daemon_reload(struct dc_daemon *d);

#endif
