/* fake_client.c - start/stop fakediscord, control/REST calls, and a small
 * blocking websocket client for its gateway (see fake_client.h). */
#include "fake_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- process --------------------------------------------------------------- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *binary_path(char *buf, size_t len)
{
	const char *explicit_path = getenv("FAKEDISCORD");
	if (explicit_path && *explicit_path)
		return explicit_path;
	const char *build = getenv("BUILD");
	snprintf(buf, len, "%s/fakediscord", build && *build ? build : "build");
	return buf;
}

static void exec_child(const char *port_file, const char *const extra[])
{
	char bin[512], wrapper[1024] = "";
	const char *argv[64];
	int n = 0;
	const char *w = getenv("FAKEDISCORD_WRAPPER");
	if (w)
		snprintf(wrapper, sizeof wrapper, "%s", w);
	for (char *save = NULL, *t = strtok_r(wrapper, " ", &save); t && n < 20;
	     t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n++] = binary_path(bin, sizeof bin);
	argv[n++] = "--port-file";
	argv[n++] = port_file;
	for (int i = 0; extra && extra[i] && n < 62; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	int devnull = open("/dev/null", O_WRONLY);
	if (devnull >= 0)
		dup2(devnull, STDOUT_FILENO); /* the "listening" line is not needed */
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

static int read_port(const char *path)
{
	FILE *f = fopen(path, "r");
	int port = -1;
	if (f) {
		if (fscanf(f, "%d", &port) != 1)
			port = -1;
		fclose(f);
	}
	return port;
}

int fd_start(fd_proc *p, const char *const extra_args[])
{
	memset(p, 0, sizeof *p);
	snprintf(p->dir, sizeof p->dir, "/tmp/fakediscord.XXXXXX");
	if (!mkdtemp(p->dir))
		return -1;
	char port_file[128];
	snprintf(port_file, sizeof port_file, "%s/port", p->dir);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0)
		exec_child(port_file, extra_args);
	/* Up to 60 s: the server may run under valgrind. */
	for (int i = 0; i < 6000; i++) {
		int status;
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			return -1;
		}
		if ((p->port = read_port(port_file)) > 0) {
			snprintf(p->base_url, sizeof p->base_url, "http://127.0.0.1:%d", p->port);
			return 0;
		}
		sleep_ms(10);
	}
	return -1;
}

void fd_stop(fd_proc *p)
{
	if (p->pid > 0) {
		int status = 0;
		kill(p->pid, SIGTERM);
		int i;
		for (i = 0; i < 2000 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
			sleep_ms(10);
		if (i == 2000) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
		}
		p->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		p->pid = 0;
	}
	if (p->dir[0]) {
		char port_file[128];
		snprintf(port_file, sizeof port_file, "%s/port", p->dir);
		unlink(port_file);
		rmdir(p->dir);
		p->dir[0] = '\0';
	}
	curl_global_cleanup();
}

/* ---- HTTP -------------------------------------------------------------------- */

typedef struct {
	char *data;
	size_t len;
} grow;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
	grow *g = user;
	size_t n = size * nmemb;
	char *d = realloc(g->data, g->len + n + 1);
	if (!d)
		return 0;
	memcpy(d + g->len, ptr, n);
	g->data = d;
	g->len += n;
	d[g->len] = '\0';
	return n;
}

cJSON *fd_request(fd_proc *p, const char *method, const char *path, const char *body,
                  const char *token, long *status, char **headers)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	char url[1024], auth[512];
	grow resp = { NULL, 0 }, hdr = { NULL, 0 };
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bot %s", token);
		h = curl_slist_append(h, auth);
	}
	snprintf(url, sizeof url, "%s%s", p->base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (status)
		*status = rc == CURLE_OK ? code : -1;
	if (headers)
		*headers = hdr.data;
	else
		free(hdr.data);
	cJSON *j = rc == CURLE_OK && resp.data ? cJSON_Parse(resp.data) : NULL;
	free(resp.data);
	return j;
}

cJSON *fd_get(fd_proc *p, const char *path)
{
	return fd_request(p, "GET", path, NULL, NULL, NULL, NULL);
}

cJSON *fd_post(fd_proc *p, const char *path, const char *json_body)
{
	return fd_request(p, "POST", path, json_body ? json_body : "{}", NULL, NULL, NULL);
}

cJSON *fd_delete(fd_proc *p, const char *path)
{
	return fd_request(p, "DELETE", path, NULL, NULL, NULL, NULL);
}

int fd_sent_count(fd_proc *p)
{
	cJSON *s = fd_get(p, "/_control/sent");
	int n = cJSON_GetArraySize(s);
	cJSON_Delete(s);
	return n;
}

int fd_heartbeats_since(fd_proc *p, int since, int64_t *gap)
{
	cJSON *s = fd_get(p, "/_control/sent");
	const cJSON *e;
	int n = 0, i = 0;
	int64_t prev = -1;
	*gap = 0;
	cJSON_ArrayForEach(e, s) {
		const cJSON *op = cJSON_GetObjectItemCaseSensitive(e, "op");
		int in_window = i++ >= since;
		if (!cJSON_IsNumber(op) || op->valueint != 1)
			continue;
		int64_t at = (int64_t)cJSON_GetObjectItemCaseSensitive(e, "at_ms")->valuedouble;
		if (in_window) {
			if (prev >= 0 && at - prev > *gap)
				*gap = at - prev;
			n++;
		}
		prev = at;
	}
	cJSON_Delete(s);
	return n;
}

/* ---- websocket --------------------------------------------------------------- */

static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd pfd = { sock, POLLIN, 0 };
	int r;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Ensures rx holds at least n bytes; 1 ok, 0 EOF, -1 timeout/error. */
static int fill(fd_ws *ws, size_t n, int timeout_ms)
{
	while (ws->rx_len < n) {
		if (wait_readable(ws->sock, timeout_ms) <= 0)
			return -1;
		if (ws->rx_cap < ws->rx_len + 65536) {
			ws->rx_cap = (ws->rx_len + 65536) * 2;
			ws->rx = realloc(ws->rx, ws->rx_cap);
			if (!ws->rx)
				return -1;
		}
		ssize_t r = recv(ws->sock, ws->rx + ws->rx_len, ws->rx_cap - ws->rx_len, 0);
		if (r <= 0)
			return r == 0 ? 0 : -1;
		ws->rx_len += (size_t)r;
	}
	return 1;
}

static void consume(fd_ws *ws, size_t n)
{
	memmove(ws->rx, ws->rx + n, ws->rx_len - n);
	ws->rx_len -= n;
}

static int send_all(int sock, const void *data, size_t len)
{
	const unsigned char *p = data;
	while (len) {
		ssize_t w = send(sock, p, len, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int send_frame(fd_ws *ws, int opcode, const void *data, size_t len)
{
	unsigned char hdr[14];
	size_t h = 0;
	hdr[h++] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		hdr[h++] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		hdr[h++] = 0x80 | 126;
		hdr[h++] = (unsigned char)(len >> 8);
		hdr[h++] = (unsigned char)len;
	} else {
		hdr[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	unsigned char mask[4] = { 0x12, 0x34, 0x56, 0x78 };
	memcpy(hdr + h, mask, 4);
	h += 4;
	unsigned char *masked = malloc(len + 1);
	if (!masked)
		return -1;
	for (size_t i = 0; i < len; i++)
		masked[i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
	int r = send_all(ws->sock, hdr, h) || send_all(ws->sock, masked, len) ? -1 : 0;
	free(masked);
	return r;
}

int fd_ws_connect(fd_ws *ws, int port, const char *query)
{
	memset(ws, 0, sizeof *ws);
	ws->close_code = -1;
	ws->sock = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ws->sock < 0 || connect(ws->sock, (struct sockaddr *)&sa, sizeof sa) != 0)
		return -1;
	char req[1024];
	int n = snprintf(req, sizeof req,
	                 "GET /gateway?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	                 "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n", query ? query : "v=10&encoding=json", port);
	if (send_all(ws->sock, req, (size_t)n) != 0)
		return -1;
	for (;;) { /* read the 101 response up to the blank line */
		if (fill(ws, ws->rx_len + 1, 10000) != 1)
			return -1;
		unsigned char *end = NULL;
		for (size_t i = 0; !end && i + 4 <= ws->rx_len; i++)
			if (memcmp(ws->rx + i, "\r\n\r\n", 4) == 0)
				end = ws->rx + i;
		if (!end)
			continue;
		bool ok = ws->rx_len > 12 && memcmp(ws->rx + 9, "101", 3) == 0;
		consume(ws, (size_t)(end + 4 - ws->rx));
		if (!ok)
			return -1;
		break;
	}
	ws->zlib = query && strstr(query, "compress=zlib-stream");
	if (ws->zlib)
		ws->zs_ready = inflateInit(&ws->zs) == Z_OK;
	return 0;
}

int fd_ws_send_text(fd_ws *ws, const char *text, size_t len)
{
	return send_frame(ws, 1, text, len);
}

/* Reads one frame: 1 ok, 0 EOF, -1 timeout/error. */
static int read_frame(fd_ws *ws, int timeout_ms, int *opcode, bool *fin,
                      unsigned char **payload, size_t *plen)
{
	int r = fill(ws, 2, timeout_ms);
	if (r != 1)
		return r;
	*fin = ws->rx[0] & 0x80;
	*opcode = ws->rx[0] & 0x0f;
	size_t len = ws->rx[1] & 0x7f, h = 2;
	if (len >= 126) {
		size_t ext = len == 126 ? 2 : 8;
		if ((r = fill(ws, 2 + ext, timeout_ms)) != 1)
			return r;
		len = 0;
		for (size_t i = 0; i < ext; i++)
			len = (len << 8) | ws->rx[2 + i];
		h += ext;
	}
	if ((r = fill(ws, h + len, timeout_ms)) != 1)
		return r;
	*payload = malloc(len + 1);
	if (!*payload)
		return -1;
	memcpy(*payload, ws->rx + h, len);
	(*payload)[len] = '\0';
	*plen = len;
	consume(ws, h + len);
	return 1;
}

int fd_ws_recv_msg(fd_ws *ws, int timeout_ms, unsigned char **data, size_t *len, bool *binary)
{
	unsigned char *msg = NULL;
	size_t mlen = 0;
	int frames = 0;
	if (ws->closed)
		return 0;
	for (;;) {
		int opcode;
		bool fin;
		unsigned char *pl;
		size_t pn;
		int r = read_frame(ws, timeout_ms, &opcode, &fin, &pl, &pn);
		if (r != 1) {
			free(msg);
			if (r == 0)
				ws->closed = true;
			return r;
		}
		if (opcode == 8) { /* close: record the code */
			ws->close_code = pn >= 2 ? (pl[0] << 8) | pl[1] : 1005;
			ws->closed = true;
			free(pl);
			free(msg);
			return 0;
		}
		if (opcode == 9) { /* ping */
			send_frame(ws, 10, pl, pn);
			free(pl);
			continue;
		}
		if (opcode == 10) {
			free(pl);
			continue;
		}
		if (frames++ == 0)
			*binary = opcode == 2;
		unsigned char *grown = realloc(msg, mlen + pn + 1);
		if (!grown) {
			free(pl);
			free(msg);
			return -1;
		}
		msg = grown;
		memcpy(msg + mlen, pl, pn);
		mlen += pn;
		msg[mlen] = '\0';
		free(pl);
		if (fin)
			break;
	}
	ws->messages++;
	if (*binary)
		ws->binary_messages++;
	else
		ws->text_messages++;
	if (frames > 1)
		ws->fragmented_messages++;
	*data = msg;
	*len = mlen;
	return 1;
}

/* Inflates the buffered message through the connection's one stream. */
static cJSON *inflate_buffer(fd_ws *ws)
{
	size_t cap = ws->zlen * 4 + 4096, out_len = 0;
	unsigned char *out = malloc(cap);
	ws->zs.next_in = ws->zbuf;
	ws->zs.avail_in = (uInt)ws->zlen;
	bool ok = out != NULL;
	while (ok) {
		if (cap - out_len < 4096) {
			unsigned char *g = realloc(out, cap * 2);
			if (!g) {
				ok = false;
				break;
			}
			out = g;
			cap *= 2;
		}
		ws->zs.next_out = out + out_len;
		ws->zs.avail_out = (uInt)(cap - out_len - 1);
		size_t room = ws->zs.avail_out;
		int zr = inflate(&ws->zs, Z_SYNC_FLUSH);
		out_len += room - ws->zs.avail_out;
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			ok = false;
		else if (ws->zs.avail_in == 0 && ws->zs.avail_out > 0)
			break;
	}
	ws->zlen = 0;
	cJSON *j = ok ? cJSON_ParseWithLength((const char *)out, out_len) : NULL;
	free(out);
	return j;
}

cJSON *fd_ws_recv(fd_ws *ws, int timeout_ms)
{
	for (;;) {
		unsigned char *data;
		size_t len;
		bool binary = false;
		if (fd_ws_recv_msg(ws, timeout_ms, &data, &len, &binary) != 1)
			return NULL;
		if (!ws->zlib || !binary) {
			cJSON *j = cJSON_ParseWithLength((const char *)data, len);
			free(data);
			return j;
		}
		if (ws->zcap < ws->zlen + len) {
			ws->zcap = (ws->zlen + len) * 2;
			ws->zbuf = realloc(ws->zbuf, ws->zcap);
		}
		memcpy(ws->zbuf + ws->zlen, data, len);
		ws->zlen += len;
		free(data);
		ws->last_ended_with_suffix = ws->zlen >= 4 &&
		                             memcmp(ws->zbuf + ws->zlen - 4, "\x00\x00\xff\xff", 4) == 0;
		if (ws->last_ended_with_suffix)
			return inflate_buffer(ws);
	}
}

cJSON *fd_ws_wait(fd_ws *ws, const char *t, int op, int timeout_ms)
{
	for (;;) {
		cJSON *j = fd_ws_recv(ws, timeout_ms);
		if (!j)
			return NULL;
		const char *jt = cJSON_GetStringValue(cJSON_GetObjectItem(j, "t"));
		const cJSON *jop = cJSON_GetObjectItem(j, "op");
		if (t ? (jt && strcmp(jt, t) == 0) : (cJSON_IsNumber(jop) && jop->valueint == op))
			return j;
		cJSON_Delete(j);
	}
}

void fd_ws_close(fd_ws *ws, int code)
{
	if (ws->sock > 0) {
		if (code > 0) {
			unsigned char c[2] = { (unsigned char)(code >> 8), (unsigned char)code };
			send_frame(ws, 8, c, 2);
		}
		close(ws->sock);
	}
	ws->sock = -1;
	if (ws->zs_ready)
		inflateEnd(&ws->zs);
	ws->zs_ready = false;
	free(ws->rx);
	free(ws->zbuf);
	ws->rx = ws->zbuf = NULL;
	ws->rx_len = ws->rx_cap = ws->zlen = ws->zcap = 0;
}
