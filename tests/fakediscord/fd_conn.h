/* fd_conn.h - one gateway websocket connection: its receive buffer, its
 * outbound queue and its zlib-stream deflater.
 *
 * lws lets a server write only from LWS_CALLBACK_SERVER_WRITEABLE, one
 * lws_write() per callback, so everything to send is queued here and
 * fd_conn_write_next() sends one piece (a message or one fragment) each time. */
#ifndef FD_CONN_H
#define FD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>
#include <libwebsockets.h>
#include "fd_util.h"

typedef enum { FD_OUT_MSG, FD_OUT_CLOSE, FD_OUT_DROP } fd_out_kind;

typedef struct fd_out {
	struct fd_out *next;
	fd_out_kind kind;
	bool binary;
	unsigned char *buf;   /* LWS_PRE bytes of headroom, then len bytes */
	size_t len, off;
	size_t frag_size;     /* 0: whole message in one frame */
	int close_code;
} fd_out;

/* A full member list (op 8) being sent chunk by chunk, rendered lazily so a
 * million members never sit in memory as JSON all at once. */
typedef struct fd_chunk_job {
	struct fd_chunk_job *next;
	uint64_t guild_id;
	uint64_t *ids;
	size_t nids, next_index;
	int chunk_size, chunk_count, chunk_index;
	char nonce[40];
	bool has_nonce;
} fd_chunk_job;

struct fd_session;

typedef struct fd_conn {
	struct fd_conn *next;
	struct lws *wsi;
	int number;                 /* 1, 2, ... in connection order */
	bool zlib;
	z_stream zs;
	bool zs_ready;
	struct fd_session *session; /* attached after IDENTIFY/RESUME */
	bool closing;               /* a close is queued: ignore further input */
	fd_buf rx;                  /* current incoming message */
	bool rx_too_big;
	int64_t window_start_ms;
	int window_sends;
	fd_out *out_head, *out_tail;
	fd_chunk_job *jobs;
	int peer_close_code;        /* from the client's close frame, or 0 */
} fd_conn;

fd_conn *fd_conn_new(struct lws *wsi, int number, bool zlib);
void fd_conn_free(fd_conn *c);

/* Queue one gateway payload (JSON text): deflated into a binary message
 * when the connection uses zlib-stream, a text message otherwise.
 * split: send the deflated bytes as 2 messages; fragments: as N frames. */
void fd_conn_send_payload(fd_conn *c, const char *json, size_t len,
                          bool split, int fragments);
/* Queue bytes as one message, untouched. */
void fd_conn_send_raw(fd_conn *c, const void *data, size_t len, bool binary);
/* Queue a close frame with code (or a TCP drop when drop is true). */
void fd_conn_send_close(fd_conn *c, int code, bool drop);
bool fd_conn_queue_empty(const fd_conn *c);
/* Send the next queued piece; -1 means "close the connection now". */
int fd_conn_write_next(fd_conn *c);

#endif
