/* fake_client.h - test-side helpers for the loopback Discord double
 * (build/fakediscord): start/stop it, call its control and REST APIs with
 * libcurl, and talk to its gateway with a small blocking websocket client
 * (raw socket, hand-written handshake; masking, fragments, zlib-stream).
 *
 * The binary is $FAKEDISCORD, else $BUILD/fakediscord, else
 * build/fakediscord.  $FAKEDISCORD_WRAPPER (e.g. "valgrind -q
 * --leak-check=full --error-exitcode=99") is prefixed to the command. */
#ifndef FAKE_CLIENT_H
#define FAKE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>
#include <cjson/cJSON.h>

typedef struct {
	pid_t pid;
	int port;
	int exit_status;   /* after fd_stop: the exit code, or 128+signal */
	char dir[64];      /* mkdtemp directory holding the port file */
	char base_url[64]; /* "http://127.0.0.1:PORT" */
} fd_proc;

/* Starts fakediscord with --port-file in a fresh temp dir plus extra_args
 * (NULL-terminated, may be NULL); waits for the port.  0 ok, -1 failure. */
int fd_start(fd_proc *p, const char *const extra_args[]);
/* SIGTERM, wait (SIGKILL after 20 s), remove the temp dir. */
void fd_stop(fd_proc *p);

/* Control API (no auth).  Parsed JSON answer (caller frees) or NULL. */
cJSON *fd_get(fd_proc *p, const char *path);
cJSON *fd_post(fd_proc *p, const char *path, const char *json_body);
cJSON *fd_delete(fd_proc *p, const char *path);
/* Any request; token NULL sends no Authorization, else "Bot <token>".
 * status and headers (raw header block, caller frees) may be NULL. */
cJSON *fd_request(fd_proc *p, const char *method, const char *path, const char *body,
                  const char *token, long *status, char **headers);

/* What the client sent the double (GET /_control/sent): how many payloads
 * so far, and the heartbeats (op 1) from entry `since` on -- with the
 * worst gap between consecutive beats in *gap (ms, the double's clock),
 * measured from the last beat before `since`, so a stall that begins
 * right at the mark is not missed. */
int fd_sent_count(fd_proc *p);
int fd_heartbeats_since(fd_proc *p, int since, int64_t *gap);

/* ---- gateway client ----------------------------------------------------- */
typedef struct {
	int sock;
	bool zlib;
	z_stream zs;
	bool zs_ready;
	unsigned char *rx;      /* bytes read but not yet consumed */
	size_t rx_len, rx_cap;
	unsigned char *zbuf;    /* compressed bytes awaiting the suffix */
	size_t zlen, zcap;
	int close_code;         /* peer's close code; -1 = TCP ended without one */
	bool closed;
	int messages;           /* websocket messages received */
	int binary_messages, text_messages, fragmented_messages;
	bool last_ended_with_suffix;
} fd_ws;

/* Connects to ws://127.0.0.1:port/gateway?query. 0 ok, -1 failure. */
int fd_ws_connect(fd_ws *ws, int port, const char *query);
int fd_ws_send_text(fd_ws *ws, const char *text, size_t len);
/* One websocket message, reassembled from its fragments (caller frees
 * *data).  1 = message, 0 = connection closed (see close_code), -1 =
 * timeout or error. */
int fd_ws_recv_msg(fd_ws *ws, int timeout_ms, unsigned char **data, size_t *len, bool *binary);
/* Next gateway payload, inflating zlib-stream across messages; NULL when
 * closed or on timeout. */
cJSON *fd_ws_recv(fd_ws *ws, int timeout_ms);
/* Skips payloads until a dispatch named t (or, with t NULL, op == op). */
cJSON *fd_ws_wait(fd_ws *ws, const char *t, int op, int timeout_ms);
/* Sends a close frame with code (0: none) and closes the socket. */
void fd_ws_close(fd_ws *ws, int code);

#endif
