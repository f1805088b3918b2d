/* fd_main.c - fakediscord: a loopback Discord double for tests and the demo.
 *
 *   fakediscord [--port N] [--port-file PATH] [--token TOKEN]
 *               [--heartbeat-interval MS] [--enabled-intents N] [--demo]
 *               [--state-file PATH] [--verbose] [--play FIXTURE]
 *
 * Serves REST (/api/v10), the gateway (/gateway) and the control API
 * (/_control) on one port of 127.0.0.1.  --port 0 (the default) picks a free
 * port; it is written to --port-file (atomically) and printed on stdout.
 * --play FIXTURE serves a recorded session instead (fd_play.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fd_http.h"
#include "fd_play.h"
#include "fd_server.h"

static volatile sig_atomic_t fd_stop;
static struct lws_context *fd_ctx_for_signal;

static void on_signal(int sig)
{
	(void)sig;
	fd_stop = 1;
	if (fd_ctx_for_signal)
		lws_cancel_service(fd_ctx_for_signal); /* async-signal-safe in lws */
}

typedef struct {
	int port;
	const char *port_file;
	const char *state_file;
	const char *play;
} fd_args;

static void usage(void)
{
	fputs("usage: fakediscord [--port N] [--port-file PATH] [--token TOKEN]\n"
	      "                   [--heartbeat-interval MS] [--enabled-intents N] [--demo]\n"
	      "                   [--state-file PATH] [--verbose] [--play FIXTURE]\n", stderr);
}

static int parse_args(int argc, char **argv, fd_args *a, fd_config *cfg)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = strcmp(arg, "--port") == 0 || strcmp(arg, "--port-file") == 0 ||
		             strcmp(arg, "--token") == 0 || strcmp(arg, "--heartbeat-interval") == 0 ||
		             strcmp(arg, "--enabled-intents") == 0 || strcmp(arg, "--state-file") == 0 ||
		             strcmp(arg, "--play") == 0;
		if (takes && !val) {
			fprintf(stderr, "fakediscord: %s needs a value\n", arg);
			return -1;
		}
		if (strcmp(arg, "--port") == 0)
			a->port = atoi(val);
		else if (strcmp(arg, "--port-file") == 0)
			a->port_file = val;
		else if (strcmp(arg, "--token") == 0) {
			free(cfg->token);
			cfg->token = fd_xstrdup(val);
		} else if (strcmp(arg, "--heartbeat-interval") == 0)
			cfg->heartbeat_interval_ms = atoi(val);
		else if (strcmp(arg, "--enabled-intents") == 0)
			cfg->enabled_intents = strtoull(val, NULL, 10);
		else if (strcmp(arg, "--state-file") == 0)
			a->state_file = val;
		else if (strcmp(arg, "--play") == 0)
			a->play = val;
		else if (strcmp(arg, "--demo") == 0)
			cfg->demo = true;
		else if (strcmp(arg, "--verbose") == 0)
			cfg->verbose = true;
		else {
			usage();
			return -1;
		}
		if (takes)
			i++;
	}
	if (a->port < 0 || a->port > 65535 || cfg->heartbeat_interval_ms <= 0) {
		usage();
		return -1;
	}
	return 0;
}

/* Written to a temporary name and renamed, so a reader never sees half. */
static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* --state-file: a JSON snapshot of the control state, written at exit. */
static void write_state_file(fd_server *srv, const char *path)
{
	if (!path)
		return;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "identify_count", srv->identify_count);
	cJSON_AddNumberToObject(j, "resume_count", srv->resume_count);
	cJSON_AddNumberToObject(j, "heartbeats", srv->heartbeats);
	cJSON_AddNumberToObject(j, "guilds", (double)srv->state.n);
	cJSON_AddItemToObject(j, "messages", cJSON_Duplicate(srv->messages, 1));
	char *text = fd_json_take(j);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(text);
}

static const struct lws_protocols fd_protocols[] = {
	{ "discord-gateway", fd_http_callback, sizeof(fd_pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static struct lws_context *make_context(fd_server *srv, int port)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = port;
	info.iface = "127.0.0.1";
	info.protocols = fd_protocols;
	info.user = srv;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = 30;
	return lws_create_context(&info);
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	static fd_server srv;
	fd_args args = { 0, NULL, NULL, NULL };
	fd_config_defaults(&srv.cfg);
	if (parse_args(argc, argv, &args, &srv.cfg) != 0) {
		free(srv.cfg.token);
		return 2;
	}
	if (!srv.cfg.token)
		srv.cfg.token = fd_xstrdup("test-token");
	if (args.play && fd_play_load(args.play) != 0) {
		free(srv.cfg.token);
		fd_play_free();
		return 2;
	}
	fd_server_init(&srv);
	lws_set_log_level(srv.cfg.verbose ? LLL_ERR | LLL_WARN | LLL_NOTICE : LLL_ERR, NULL);
	install_signals();
	srv.ctx = make_context(&srv, args.port);
	if (!srv.ctx) {
		fprintf(stderr, "fakediscord: cannot listen on 127.0.0.1:%d\n", args.port);
		fd_server_free(&srv);
		fd_play_free();
		return 1;
	}
	fd_ctx_for_signal = srv.ctx;
	srv.port = lws_get_vhost_listen_port(lws_get_vhost_by_name(srv.ctx, "default"));
	if (srv.cfg.demo)
		fd_server_make_demo(&srv);
	if (args.port_file && write_port_file(args.port_file, srv.port) != 0)
		fprintf(stderr, "fakediscord: cannot write %s: %s\n", args.port_file, strerror(errno));
	printf("fakediscord listening on http://127.0.0.1:%d\n", srv.port);
	fflush(stdout);
	while (!fd_stop && lws_service(srv.ctx, 0) >= 0)
		;
	write_state_file(&srv, args.state_file);
	fd_ctx_for_signal = NULL;
	lws_context_destroy(srv.ctx); /* closes connections: frees fd_conns */
	srv.ctx = NULL;
	fd_server_free(&srv);
	fd_play_free();
	return 0;
}
