/* fd_util.c - buffer, clock, snowflake and JSON helpers (see fd_util.h). */
#include "fd_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void fd_oom(void)
{
	fputs("fakediscord: out of memory\n", stderr);
	exit(2);
}

void *fd_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		fd_oom();
	return p;
}

void *fd_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		fd_oom();
	return q;
}

char *fd_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = fd_xmalloc(n);
	memcpy(d, s, n);
	return d;
}

void fd_buf_reserve(fd_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = fd_xrealloc(b->data, cap);
	b->cap = cap;
}

void fd_buf_put(fd_buf *b, const void *data, size_t len)
{
	fd_buf_reserve(b, len);
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void fd_buf_puts(fd_buf *b, const char *s)
{
	fd_buf_put(b, s, strlen(s));
}

void fd_buf_printf(fd_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fd_buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void fd_buf_json_str(fd_buf *b, const char *s)
{
	fd_buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fd_buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			fd_buf_printf(b, "\\u%04x", *p);
		else
			fd_buf_put(b, p, 1);
	}
	fd_buf_puts(b, "\"");
}

void fd_buf_free(fd_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t fd_now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
int64_t fd_wall_ms(void) { return clock_ms(CLOCK_REALTIME); }

bool fd_parse_id(const char *s, uint64_t *out)
{
	if (!s || !*s || strlen(s) > 20)
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

bool fd_json_id(const cJSON *item, uint64_t *out)
{
	if (cJSON_IsString(item))
		return fd_parse_id(item->valuestring, out);
	if (cJSON_IsNumber(item) && item->valuedouble >= 0 &&
	    item->valuedouble < 9007199254740992.0 &&
	    item->valuedouble == (double)(uint64_t)item->valuedouble) {
		*out = (uint64_t)item->valuedouble;
		return true;
	}
	return false;
}

void fd_json_add_id(cJSON *obj, const char *name, uint64_t id)
{
	char tmp[24];
	snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)id);
	cJSON_AddStringToObject(obj, name, tmp);
}

int64_t fd_json_int(const cJSON *obj, const char *name, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

bool fd_json_bool(const cJSON *obj, const char *name, bool dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v);
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	return dflt;
}

const char *fd_json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *fd_json_take(cJSON *j)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		s = fd_xstrdup("null");
	return s;
}

void fd_random_hex(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[16] = {0};
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(raw, 1, sizeof raw, f) != sizeof raw) {
		/* Uniqueness is all that matters here, not secrecy. */
		uint64_t x = (uint64_t)fd_wall_ms() ^ ((uint64_t)rand() << 20);
		memcpy(raw, &x, sizeof x);
	}
	if (f)
		fclose(f);
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[32] = '\0';
}
