/* fd_http.c - lws callback: HTTP request collection, routing and response
 * writing, and the websocket events handed to fd_gateway (see fd_http.h). */
#include "fd_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fd_control.h"
#include "fd_gateway.h"
#include "fd_play.h"
#include "fd_rest.h"
#include "fd_server.h"

#define FD_MAX_BODY (64u << 20)
#define FD_WRITE_PIECE 16384

typedef struct fd_http_tx {
	fd_req req;
	fd_resp resp;
	size_t sent;
	bool headers_sent, responding;
} fd_http_tx;

void fd_resp_json(fd_resp *rs, int status, cJSON *j)
{
	free(rs->body);
	rs->status = status;
	rs->body = fd_json_take(j);
	rs->len = strlen(rs->body);
}

void fd_resp_discord_error(fd_resp *rs, int status, const char *msg, int code)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "message", msg);
	cJSON_AddNumberToObject(j, "code", code);
	fd_resp_json(rs, status, j);
}

void fd_resp_header(fd_resp *rs, const char *name, const char *value)
{
	if (rs->nheaders >= FD_MAX_HEADERS)
		return;
	snprintf(rs->names[rs->nheaders], sizeof rs->names[0], "%s:", name);
	for (char *p = rs->names[rs->nheaders]; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	snprintf(rs->values[rs->nheaders], sizeof rs->values[0], "%s", value);
	rs->nheaders++;
}

bool fd_req_query(const fd_req *rq, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *p = rq->query; *p;) {
		const char *amp = strchr(p, '&');
		size_t seg = amp ? (size_t)(amp - p) : strlen(p);
		if (seg >= nl && strncmp(p, name, nl) == 0 && (seg == nl || p[nl] == '=')) {
			size_t vl = seg > nl ? seg - nl - 1 : 0;
			if (vl >= len)
				vl = len - 1;
			memcpy(out, p + nl + 1, vl);
			out[vl] = '\0';
			return true;
		}
		if (!amp)
			break;
		p = amp + 1;
	}
	return false;
}

static fd_server *server_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* Joins the URL arguments lws split into fragments back into a&b form. */
static void copy_query(struct lws *wsi, char *out, size_t len)
{
	out[0] = '\0';
	char frag[512];
	for (int i = 0; lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
		size_t used = strlen(out);
		snprintf(out + used, len - used, "%s%s", used ? "&" : "", frag);
	}
}

static const struct { enum lws_token_indexes tok; const char *name; } fd_methods[] = {
	{ WSI_TOKEN_GET_URI, "GET" },       { WSI_TOKEN_POST_URI, "POST" },
	{ WSI_TOKEN_DELETE_URI, "DELETE" }, { WSI_TOKEN_PUT_URI, "PUT" },
	{ WSI_TOKEN_PATCH_URI, "PATCH" },
};

static void read_request_line(struct lws *wsi, fd_req *rq)
{
	for (size_t i = 0; i < sizeof fd_methods / sizeof fd_methods[0]; i++) {
		if (lws_hdr_total_length(wsi, fd_methods[i].tok) > 0) {
			snprintf(rq->method, sizeof rq->method, "%s", fd_methods[i].name);
			lws_hdr_copy(wsi, rq->path, sizeof rq->path, fd_methods[i].tok);
			break;
		}
	}
	copy_query(wsi, rq->query, sizeof rq->query);
	rq->has_auth = lws_hdr_copy(wsi, rq->auth, sizeof rq->auth,
	                            WSI_TOKEN_HTTP_AUTHORIZATION) > 0;
}

static void route(fd_server *srv, fd_http_tx *tx)
{
	if (strncmp(tx->req.path, "/api/v10/", 9) == 0) {
		if (!fd_play_active() || !fd_play_rest(&tx->req, &tx->resp))
			fd_rest_handle(srv, &tx->req, &tx->resp);
	}
	else if (strncmp(tx->req.path, "/_control/", 10) == 0)
		fd_ctl_handle(srv, &tx->req, &tx->resp);
	else
		fd_resp_discord_error(&tx->resp, 404, "404: Not Found", 0);
}

static void tx_free(fd_http_tx *tx)
{
	if (!tx)
		return;
	free(tx->req.body);
	free(tx->resp.body);
	free(tx);
}

static void respond(struct lws *wsi, fd_http_tx *tx)
{
	route(server_of(wsi), tx);
	tx->responding = true;
	lws_callback_on_writable(wsi);
}

static int write_headers(struct lws *wsi, fd_http_tx *tx)
{
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	fd_resp *rs = &tx->resp;
	if (lws_add_http_common_headers(wsi, (unsigned int)rs->status, "application/json",
	                                rs->len, &p, end))
		return -1;
	for (int i = 0; i < rs->nheaders; i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)rs->names[i],
		                                (const unsigned char *)rs->values[i],
		                                (int)strlen(rs->values[i]), &p, end))
			return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	tx->headers_sent = true;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body_piece(struct lws *wsi, fd_pss *pss)
{
	fd_http_tx *tx = pss->tx;
	unsigned char buf[LWS_PRE + FD_WRITE_PIECE];
	size_t n = tx->resp.len - tx->sent;
	if (n > FD_WRITE_PIECE)
		n = FD_WRITE_PIECE;
	bool last = tx->sent + n == tx->resp.len;
	memcpy(buf + LWS_PRE, tx->resp.body + tx->sent, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
		return -1;
	tx->sent += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	tx_free(tx);
	pss->tx = NULL;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_http(struct lws *wsi, fd_pss *pss)
{
	tx_free(pss->tx);
	pss->tx = fd_xmalloc(sizeof *pss->tx);
	memset(pss->tx, 0, sizeof *pss->tx);
	read_request_line(wsi, &pss->tx->req);
	char cl[32] = "";
	lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	if (atol(cl) <= 0)
		respond(wsi, pss->tx); /* no body will follow */
	return 0;
}

static int on_http_body(fd_pss *pss, const void *in, size_t len)
{
	fd_req *rq = &pss->tx->req;
	if (rq->body_len + len > FD_MAX_BODY)
		return -1;
	rq->body = fd_xrealloc(rq->body, rq->body_len + len + 1);
	memcpy(rq->body + rq->body_len, in, len);
	rq->body_len += len;
	rq->body[rq->body_len] = '\0';
	return 0;
}

static int on_ws_established(struct lws *wsi, fd_pss *pss)
{
	char query[1024];
	copy_query(wsi, query, sizeof query);
	pss->conn = fd_play_active() ? fd_play_open(server_of(wsi), wsi, query)
	                             : fd_gw_open(server_of(wsi), wsi, query);
	return 0;
}

static int on_ws_peer_close(fd_pss *pss, const unsigned char *in, size_t len)
{
	if (pss->conn && len >= 2)
		pss->conn->peer_close_code = (in[0] << 8) | in[1];
	return 0;
}

/* Only /gateway upgrades; anything else is refused before the handshake. */
static int filter_upgrade(struct lws *wsi)
{
	char uri[256] = "";
	lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
	return strcmp(uri, "/gateway") == 0 || strcmp(uri, "/gateway/") == 0 || strcmp(uri, "/") == 0 ? 0 : -1;
}

int fd_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len)
{
	fd_pss *pss = user;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, pss);
	case LWS_CALLBACK_HTTP_BODY:
		return pss->tx ? on_http_body(pss, in, len) : -1;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (pss->tx && !pss->tx->responding)
			respond(wsi, pss->tx);
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!pss || !pss->tx || !pss->tx->responding)
			return 0;
		return pss->tx->headers_sent ? write_body_piece(wsi, pss) : write_headers(wsi, pss->tx);
	case LWS_CALLBACK_CLOSED_HTTP:
		if (pss) {
			tx_free(pss->tx);
			pss->tx = NULL;
		}
		return 0;
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return filter_upgrade(wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return on_ws_established(wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		if (pss->conn)
			(fd_play_active() ? fd_play_receive : fd_gw_receive)(server_of(wsi), pss->conn, in, len,
			              lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi));
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return on_ws_peer_close(pss, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->conn ? fd_gw_writeable(server_of(wsi), pss->conn) : 0;
	case LWS_CALLBACK_CLOSED:
		if (pss->conn) {
			fd_play_closed(pss->conn);
			fd_gw_closed(server_of(wsi), pss->conn);
		}
		pss->conn = NULL;
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}
