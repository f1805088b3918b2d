/* fd_play.c - serve a recorded session over the websocket (see fd_play.h). */
#include "fd_play.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { P_OPEN, P_RECV, P_SEND, P_CLOSE, P_REST, P_END, P_OTHER } p_kind;

typedef struct {
	p_kind kind;
	int64_t t;
	char *data;          /* RECV: payload text or raw bytes; REST: body JSON */
	size_t len;
	bool binary;
	int code;            /* CLOSE */
	char method[8];      /* REST */
	char *path;          /* REST */
	int status;          /* REST */
	bool used;           /* REST */
} p_entry;

static struct {
	p_entry *v;
	size_t n;
	bool loaded, auto_ack;
	int opens_served;     /* recorded connections handed out so far */
	fd_conn *conn;        /* the connection being played */
	size_t next;          /* its next entry */
	int64_t open_t, opened_ms;
	lws_sorted_usec_list_t sul;
	struct lws_context *ctx;
} play;

static p_kind kind_of(const char *k)
{
	static const char *const names[] = { "open", "recv", "send", "close", "rest", "end" };
	for (int i = 0; i < 6; i++)
		if (strcmp(k, names[i]) == 0)
			return (p_kind)i;
	return P_OTHER;
}

/* The message of a recv line: JSON re-serialized, text as is, b64 decoded. */
static int take_message(p_entry *e, const cJSON *j)
{
	const cJSON *json = cJSON_GetObjectItemCaseSensitive(j, "json");
	const char *text = fd_json_str(j, "text"), *b64 = fd_json_str(j, "b64");
	if (json) {
		e->data = cJSON_PrintUnformatted(json);
	} else if (text) {
		e->data = fd_xstrdup(text);
	} else if (b64) {
		size_t cap = strlen(b64) + 4;
		e->data = fd_xmalloc(cap);
		int n = lws_b64_decode_string(b64, e->data, (int)cap);
		if (n < 0)
			return -1;
		e->len = (size_t)n;
		e->binary = true;
		return 0;
	}
	if (!e->data)
		return -1;
	e->len = strlen(e->data);
	return 0;
}

static int take_entry(p_entry *e, const cJSON *j)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "t");
	const char *k = fd_json_str(j, "k");
	if (!cJSON_IsNumber(t) || !k)
		return -1;
	e->t = (int64_t)t->valuedouble;
	e->kind = kind_of(k);
	if (e->kind == P_RECV)
		return take_message(e, j);
	if (e->kind == P_CLOSE)
		e->code = (int)fd_json_int(j, "code", -1);
	if (e->kind == P_REST) {
		const char *m = fd_json_str(j, "method"), *p = fd_json_str(j, "path");
		const cJSON *body = cJSON_GetObjectItemCaseSensitive(j, "body");
		if (!m || !p)
			return -1;
		snprintf(e->method, sizeof e->method, "%s", m);
		e->path = fd_xstrdup(p);
		e->status = (int)fd_json_int(j, "status", 200);
		e->data = body ? cJSON_PrintUnformatted(body) : fd_xstrdup("");
		e->len = strlen(e->data);
	}
	return 0;
}

int fd_play_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "fakediscord: cannot open %s\n", path);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, rc = 0;
	while (getline(&line, &cap, f) > 0 && rc == 0) {
		cJSON *j = cJSON_Parse(line);
		lineno++;
		if (!cJSON_IsObject(j)) {
			rc = line[strspn(line, " \t\r\n")] ? -1 : 0;     /* blank lines are fine */
		} else if (lineno == 1) {
			rc = strcmp(fd_json_str(j, "format") ? fd_json_str(j, "format") : "",
			            "discord-cleaner-session") == 0 ? 0 : -1;
			play.auto_ack = fd_json_bool(j, "auto_ack", false);
		} else {
			play.v = fd_xrealloc(play.v, (play.n + 1) * sizeof *play.v);
			memset(&play.v[play.n], 0, sizeof play.v[0]);
			rc = take_entry(&play.v[play.n++], j);
		}
		cJSON_Delete(j);
		if (rc != 0)
			fprintf(stderr, "fakediscord: %s line %d: not a session fixture line\n", path, lineno);
	}
	free(line);
	fclose(f);
	play.loaded = rc == 0;
	return rc;
}

bool fd_play_active(void)
{
	return play.loaded;
}

/* ---- timing ------------------------------------------------------------------ */

static void schedule_next(void);

static void fire(lws_sorted_usec_list_t *sul)
{
	(void)sul;
	fd_conn *c = play.conn;
	if (!c)
		return;
	while (play.next < play.n) {
		p_entry *e = &play.v[play.next];
		if (e->kind == P_OPEN || e->kind == P_END) {
			play.conn = NULL;                  /* this recorded connection is over */
			return;
		}
		if (e->kind == P_RECV || e->kind == P_CLOSE) {
			if (play.opened_ms + (e->t - play.open_t) > fd_now_ms())
				break;                         /* not yet */
			if (e->kind == P_RECV && e->binary)
				fd_conn_send_raw(c, e->data, e->len, true);
			else if (e->kind == P_RECV)
				fd_conn_send_payload(c, e->data, e->len, false, 0);
			else
				fd_conn_send_close(c, e->code < 0 ? 1000 : e->code, e->code < 0);
			lws_callback_on_writable(c->wsi);
		}
		play.next++;
		if (e->kind == P_CLOSE) {
			play.conn = NULL;
			return;
		}
	}
	schedule_next();
}

static void schedule_next(void)
{
	if (play.next >= play.n || !play.conn)
		return;
	int64_t due = play.opened_ms + (play.v[play.next].t - play.open_t), now = fd_now_ms();
	lws_sul_schedule(play.ctx, 0, &play.sul, fire, (due > now ? due - now : 0) * LWS_US_PER_MS);
}

/* Index of the entry after the n-th (1-based) "open", or play.n. */
static size_t after_open(int n)
{
	for (size_t i = 0; i < play.n; i++)
		if (play.v[i].kind == P_OPEN && --n == 0)
			return i + 1;
	return play.n;
}

fd_conn *fd_play_open(fd_server *srv, struct lws *wsi, const char *query)
{
	fd_conn *c = fd_conn_new(wsi, srv->next_conn_no++, strstr(query, "compress=zlib-stream") != NULL);
	c->next = srv->conns;
	srv->conns = c;
	size_t start = after_open(++play.opens_served);
	if (start >= play.n)
		return c;                              /* beyond the recording: nothing */
	play.ctx = srv->ctx;
	play.conn = c;
	play.next = start;
	play.open_t = play.v[start - 1].t;
	play.opened_ms = fd_now_ms();
	schedule_next();
	return c;
}

void fd_play_receive(fd_server *srv, fd_conn *c, const void *in, size_t len, bool final)
{
	fd_buf_put(&c->rx, in, len);
	if (!final)
		return;
	fd_buf_put(&c->rx, "", 1);
	cJSON *j = cJSON_Parse(c->rx.data);
	if (srv->cfg.verbose)
		fprintf(stderr, "fakediscord: play: client sent %.200s\n", c->rx.data);
	if (play.auto_ack && fd_json_int(j, "op", -1) == 1 && !c->closing) {
		static const char ack[] = "{\"op\":11}";
		fd_conn_send_payload(c, ack, sizeof ack - 1, false, 0);
		lws_callback_on_writable(c->wsi);
	}
	cJSON_Delete(j);
	c->rx.len = 0;
}

void fd_play_closed(fd_conn *c)
{
	if (play.conn != c)
		return;
	lws_sul_cancel(&play.sul);
	play.conn = NULL;
}

/* ---- REST ---------------------------------------------------------------------- */

bool fd_play_rest(const fd_req *rq, fd_resp *rs)
{
	char path[sizeof rq->path + sizeof rq->query + 2];
	snprintf(path, sizeof path, "%s%s%s", rq->path + strlen("/api/v10"), rq->query[0] ? "?" : "", rq->query);
	for (size_t i = 0; i < play.n; i++) {
		p_entry *e = &play.v[i];
		if (e->kind != P_REST || e->used || strcmp(e->method, rq->method) != 0 || strcmp(e->path, path) != 0)
			continue;
		e->used = true;
		free(rs->body);
		rs->status = e->status;
		rs->body = fd_xstrdup(e->data);
		rs->len = e->len;
		return true;
	}
	return false;
}

void fd_play_free(void)
{
	for (size_t i = 0; i < play.n; i++) {
		free(play.v[i].data);
		free(play.v[i].path);
	}
	free(play.v);
	memset(&play, 0, sizeof play);
}
