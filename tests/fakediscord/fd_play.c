/* fd_play.c - serve a recorded session over the websocket (see fd_play.h). */
#include "fd_play.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef enum { P_OPEN, P_RECV, P_SEND, P_CLOSE, P_REST, P_END, P_OTHER } p_kind;

typedef struct {
	p_kind kind;
	int64_t t;
	char *data;          /* RECV: payload text or raw bytes; REST: body JSON */
	size_t len;
	bool binary;
	int code;            /* CLOSE */
	bool by_client;      /* CLOSE: the client closed it (not played) */
	char *text;          /* RECV b64: the payload it completes, inflated (NULL: none) */
	bool held;           /* RECV: a member chunk, sent when the client sends op 8 */
	uint64_t guild;      /* RECV chunk, SEND op 8 */
	char nonce[40];      /* RECV chunk, SEND op 8 */
	bool last_chunk;     /* RECV chunk: chunk_index == chunk_count - 1 */
	char method[8];      /* REST */
	char *path;          /* REST */
	int status;          /* REST */
	bool used;           /* REST answer, chunk or op 8 already played */
} p_entry;

static struct {
	p_entry *v;
	size_t n;
	bool loaded, auto_ack;
	int opens_served;     /* recorded connections handed out so far */
	fd_conn *conn;        /* the connection being played */
	size_t next;          /* its next entry */
	bool decoded;         /* b64 messages go out inflated (chunks are among them) */
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

/* guild_id and nonce of an op 8 or a member chunk's d. */
static void take_op8_keys(p_entry *e, const cJSON *d)
{
	fd_json_id(cJSON_GetObjectItemCaseSensitive(d, "guild_id"), &e->guild);
	const char *nonce = fd_json_str(d, "nonce");
	snprintf(e->nonce, sizeof e->nonce, "%s", nonce ? nonce : "");
}

/* What the client sent: only op 8 matters (which recorded chunks answer it). */
static int take_send(p_entry *e, const cJSON *j)
{
	const cJSON *json = cJSON_GetObjectItemCaseSensitive(j, "json");
	if (fd_json_int(json, "op", -1) == 8)
		take_op8_keys(e, cJSON_GetObjectItemCaseSensitive(json, "d"));
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
	if (e->kind == P_SEND)
		return take_send(e, j);
	if (e->kind == P_CLOSE) {
		e->code = (int)fd_json_int(j, "code", -1);
		e->by_client = fd_json_str(j, "by") && strcmp(fd_json_str(j, "by"), "client") == 0;
	}
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

/* ---- member chunks: answers to the client's own op 8 ------------------------ */

/* Inflate the b64 messages of each recorded connection (one zlib stream per
 * connection) so that a chunk among them can be found and re-sent. */
static void inflate_recording(void)
{
	z_stream z;
	char *out = NULL;
	size_t used = 0, cap = 0;
	bool live = false;
	for (size_t i = 0; i < play.n; i++) {
		p_entry *e = &play.v[i];
		if (e->kind == P_OPEN) {
			if (live)
				inflateEnd(&z);
			memset(&z, 0, sizeof z);
			live = inflateInit(&z) == Z_OK;
			used = 0;
		}
		if (e->kind != P_RECV || !e->binary || !live)
			continue;
		z.next_in = (Bytef *)e->data;
		z.avail_in = (uInt)e->len;
		int rc = Z_OK;
		while (rc == Z_OK && (z.avail_in > 0 || used == cap)) {
			if (used == cap) {
				cap = cap ? cap * 2 : 65536;
				out = fd_xrealloc(out, cap + 1);
			}
			z.next_out = (Bytef *)out + used;
			z.avail_out = (uInt)(cap - used);
			rc = inflate(&z, Z_SYNC_FLUSH);
			used = cap - z.avail_out;
		}
		bool whole = e->len >= 4 && memcmp(e->data + e->len - 4, "\x00\x00\xff\xff", 4) == 0;
		if (whole) {                           /* a payload ends here */
			out[used] = '\0';
			e->text = fd_xstrdup(out);
			used = 0;
		}
	}
	if (live)
		inflateEnd(&z);
	free(out);
}

/* Mark the recorded GUILD_MEMBERS_CHUNK messages: they answered the
 * recording's op 8 (its nonce), so they are sent when this client asks. */
static void hold_chunks(void)
{
	for (size_t i = 0; i < play.n; i++) {
		p_entry *e = &play.v[i];
		const char *text = e->binary ? e->text : e->data;
		if (e->kind != P_RECV || !text || !strstr(text, "GUILD_MEMBERS_CHUNK"))
			continue;
		cJSON *j = cJSON_Parse(text);
		const char *t = fd_json_str(j, "t");
		if (t && strcmp(t, "GUILD_MEMBERS_CHUNK") == 0) {
			const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "d");
			e->held = true;
			take_op8_keys(e, d);
			e->last_chunk = fd_json_int(d, "chunk_index", 0) + 1 >= fd_json_int(d, "chunk_count", 1);
			/* Chunks go out of their recorded place, so the recorded zlib
			 * stream cannot be sent byte for byte: every payload goes out
			 * inflated, deflated again by the connection when the client
			 * asked for zlib-stream. */
			play.decoded |= e->binary;
		}
		cJSON_Delete(j);
	}
}

/* A recorded chunk, its nonce replaced by the one this client sent. */
static void send_chunk(fd_conn *c, const p_entry *e, const char *nonce)
{
	cJSON *j = cJSON_Parse(e->binary ? e->text : e->data);
	cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "d");
	cJSON_DeleteItemFromObjectCaseSensitive(d, "nonce");
	if (nonce[0])
		cJSON_AddStringToObject(d, "nonce", nonce);
	char *text = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (text)
		fd_conn_send_payload(c, text, strlen(text), false, 0);
	free(text);
}

/* The client sent op 8: answer with the chunks that answered the next
 * recorded op 8 for that guild (same recorded nonce), in recorded order. */
static void answer_op8(fd_conn *c, const cJSON *d)
{
	p_entry want = { 0 };
	take_op8_keys(&want, d);
	const char *recorded = NULL;
	for (size_t i = 0; i < play.n && !recorded; i++) {
		p_entry *e = &play.v[i];
		if (e->kind == P_SEND && !e->used && e->guild == want.guild && want.guild) {
			e->used = true;
			recorded = e->nonce;
		}
	}
	if (!recorded)
		return;                                /* not asked in the recording: no answer */
	for (size_t i = 0; i < play.n; i++) {
		p_entry *e = &play.v[i];
		if (!e->held || e->used || e->guild != want.guild || strcmp(e->nonce, recorded) != 0)
			continue;
		e->used = true;
		send_chunk(c, e, want.nonce);
		if (e->last_chunk)
			break;
	}
	lws_callback_on_writable(c->wsi);
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
	if (rc == 0) {
		inflate_recording();
		hold_chunks();
	}
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
		if (e->held || (e->kind == P_CLOSE && e->by_client)) {
			play.next++;                       /* on op 8 / the client closes itself */
			continue;
		}
		if (e->kind == P_RECV || e->kind == P_CLOSE) {
			if (play.opened_ms + (e->t - play.open_t) > fd_now_ms())
				break;                         /* not yet */
			if (e->kind == P_RECV && e->binary && play.decoded && e->text)
				fd_conn_send_payload(c, e->text, strlen(e->text), false, 0);
			else if (e->kind == P_RECV && e->binary && play.decoded)
				;                              /* the start of a payload sent whole later */
			else if (e->kind == P_RECV && e->binary)
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
	if (fd_json_int(j, "op", -1) == 8 && !c->closing)
		answer_op8(c, cJSON_GetObjectItemCaseSensitive(j, "d"));
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
		free(play.v[i].text);
		free(play.v[i].path);
	}
	free(play.v);
	memset(&play, 0, sizeof play);
}
