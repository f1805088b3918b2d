/* fd_conn.c - outbound queue, zlib-stream deflate and frame writing for one
 * gateway connection (see fd_conn.h). */
#include "fd_conn.h"
#include "fd_bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

fd_conn *fd_conn_new(struct lws *wsi, int number, bool zlib)
{
	fd_conn *c = fd_xmalloc(sizeof *c);
	memset(c, 0, sizeof *c);
	c->wsi = wsi;
	c->number = number;
	c->zlib = zlib;
	if (zlib) {
		/* zlib format (windowBits 15), like Discord's zlib-stream. */
		c->zs_ready = deflateInit(&c->zs, Z_BEST_SPEED) == Z_OK;
	}
	return c;
}

static void out_free(fd_out *o)
{
	free(o->buf);
	free(o);
}

static void jobs_free(fd_chunk_job *j)
{
	while (j) {
		fd_chunk_job *next = j->next;
		free(j->ids);
		free(j);
		j = next;
	}
}

void fd_conn_free(fd_conn *c)
{
	if (!c)
		return;
	for (fd_out *o = c->out_head; o;) {
		fd_out *next = o->next;
		out_free(o);
		o = next;
	}
	jobs_free(c->jobs);
	if (c->zs_ready)
		deflateEnd(&c->zs);
	fd_buf_free(&c->rx);
	free(c);
}

static fd_out *out_push(fd_conn *c, fd_out_kind kind, const void *data, size_t len)
{
	fd_out *o = fd_xmalloc(sizeof *o);
	memset(o, 0, sizeof *o);
	o->kind = kind;
	o->buf = fd_xmalloc(LWS_PRE + len + 1);
	if (len)
		memcpy(o->buf + LWS_PRE, data, len);
	o->len = len;
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
	return o;
}

/* Deflates one payload through the connection's single stream with
 * Z_SYNC_FLUSH, so the output ends in 00 00 ff ff. */
static bool deflate_payload(fd_conn *c, const char *json, size_t len, fd_buf *out)
{
	if (!c->zs_ready)
		return false;
	c->zs.next_in = (Bytef *)(uintptr_t)json;
	c->zs.avail_in = (uInt)len;
	do {
		fd_buf_reserve(out, 16384);
		c->zs.next_out = (Bytef *)out->data + out->len;
		c->zs.avail_out = (uInt)(out->cap - out->len - 1);
		size_t room = c->zs.avail_out;
		if (deflate(&c->zs, Z_SYNC_FLUSH) == Z_STREAM_ERROR)
			return false;
		out->len += room - c->zs.avail_out;
	} while (c->zs.avail_out == 0 || c->zs.avail_in > 0);
	return true;
}

void fd_conn_send_payload(fd_conn *c, const char *json, size_t len,
                          bool split, int fragments)
{
	if (!c->zlib) {
		out_push(c, FD_OUT_MSG, json, len);
		return;
	}
	fd_buf z = {0};
	if (!deflate_payload(c, json, len, &z)) {
		fd_buf_free(&z);
		fd_conn_send_close(c, 4000, false);
		return;
	}
	if (split && z.len >= 2) {
		size_t half = z.len / 2;
		out_push(c, FD_OUT_MSG, z.data, half)->binary = true;
		out_push(c, FD_OUT_MSG, z.data + half, z.len - half)->binary = true;
	} else {
		fd_out *o = out_push(c, FD_OUT_MSG, z.data, z.len);
		o->binary = true;
		if (fragments > 1 && z.len >= (size_t)fragments)
			o->frag_size = (z.len + (size_t)fragments - 1) / (size_t)fragments;
	}
	fd_buf_free(&z);
}

void fd_conn_send_raw(fd_conn *c, const void *data, size_t len, bool binary)
{
	out_push(c, FD_OUT_MSG, data, len)->binary = binary;
}

void fd_conn_send_close(fd_conn *c, int code, bool drop)
{
	if (c->closing)
		return;
	c->closing = true;
	out_push(c, drop ? FD_OUT_DROP : FD_OUT_CLOSE, NULL, 0)->close_code = code;
}

bool fd_conn_queue_empty(const fd_conn *c)
{
	return c->out_head == NULL;
}

static int write_message_piece(fd_conn *c, fd_out *o)
{
	size_t piece = o->len - o->off;
	if (o->frag_size && piece > o->frag_size)
		piece = o->frag_size;
	bool first = o->off == 0, last = o->off + piece == o->len;
	int flags = first ? (o->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT)
	                  : LWS_WRITE_CONTINUATION;
	if (!last)
		flags |= LWS_WRITE_NO_FIN;
	/* Each fragment needs LWS_PRE writable bytes in front of it; the bytes
	 * before a later fragment were already sent, so they can be reused. */
	unsigned char *at = o->buf + LWS_PRE + o->off;
	if (lws_write(c->wsi, at, piece, (enum lws_write_protocol)flags) < (int)piece)
		return -1;
	o->off += piece;
	return last ? 1 : 0;
}

int fd_conn_write_next(fd_conn *c)
{
	fd_out *o = c->out_head;
	if (!o)
		return 0;
	if (o->kind == FD_OUT_CLOSE) {
		lws_close_reason(c->wsi, (enum lws_close_status)o->close_code, NULL, 0);
		return -1;
	}
	if (o->kind == FD_OUT_DROP) {
		/* No close frame: the peer sees the TCP connection just end. */
		shutdown(lws_get_socket_fd(c->wsi), SHUT_RDWR);
		return -1;
	}
	int r = write_message_piece(c, o);
	if (r < 0)
		return -1;
	if (r == 1) {
		fd_bench_on_sent();
		c->out_head = o->next;
		if (!c->out_head)
			c->out_tail = NULL;
		out_free(o);
	}
	if (c->out_head)
		lws_callback_on_writable(c->wsi);
	return 0;
}
