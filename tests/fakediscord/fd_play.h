/* fd_play.h - `fakediscord --play FIXTURE`: serve a recorded session
 * (fixture format: src/fixture.h, README "Recording and replaying gateway
 * sessions") over a real websocket, so a recording is also replayed
 * through the client's network path.
 *
 * The n-th websocket connection plays the n-th recorded connection (the
 * entries from its "open" to the next): "recv" messages are sent at their
 * recorded times relative to that open ("json"/"text" as payloads, deflated
 * when the client asked for zlib-stream; "b64" as the exact recorded binary
 * message), a "close" closes with its code (-1: drops the TCP connection),
 * and what the client sends is accepted (op 1 is answered with op 11 when
 * the header says "auto_ack").  What the client did itself is not played:
 * a close with "by":"client" (the client closes on its own), and the
 * GUILD_MEMBERS_CHUNKs that answered a recorded op 8 are sent when this
 * client sends its op 8 for that guild, with its nonce.  A recording with
 * such chunks among "b64" messages has all its b64 payloads sent inflated
 * (and deflated again), since the recorded stream is no longer sent whole.  REST requests are answered by the first
 * unused recorded "rest" line with the same method and path (query
 * included); others go to the double's normal REST handlers.  Connections
 * beyond the recorded ones get nothing. */
#ifndef FD_PLAY_H
#define FD_PLAY_H

#include <stdbool.h>
#include <stddef.h>
#include "fd_conn.h"
#include "fd_http.h"
#include "fd_server.h"

/* Load FIXTURE; 0, or -1 with a message on stderr. */
int fd_play_load(const char *path);
bool fd_play_active(void);
/* A websocket to /gateway opened: start playing its recorded connection. */
fd_conn *fd_play_open(fd_server *srv, struct lws *wsi, const char *query);
/* One received piece from the client (final: the message ends). */
void fd_play_receive(fd_server *srv, fd_conn *c, const void *in, size_t len, bool final);
/* The connection is gone (before fd_gw_closed frees it). */
void fd_play_closed(fd_conn *c);
/* Answer a REST request from the recording; false when none matches. */
bool fd_play_rest(const fd_req *rq, fd_resp *rs);
void fd_play_free(void);

#endif
