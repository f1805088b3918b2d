/* resolve.c - see resolve.h. */
#include "gateway/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "base/log.h"

#define RESOLVE_SLOTS 8

static struct {
    char host[256];
    char addr[INET6_ADDRSTRLEN];
} cache[RESOLVE_SLOTS];
static unsigned next_slot;

int resolve_is_loopback(const char *host)
{
    struct in_addr a4;
    if (!host)
        return 0;
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return 0;
}

static int is_numeric(const char *host)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static dc_err lookup(const char *host, char *out, size_t cap)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int64_t t0 = mono_ms();
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        LOG_W("resolve", "cannot resolve %s: %s", host, gai_strerror(rc));
        return DC_ERR_UNAVAIL;
    }
    const void *src = res->ai_family == AF_INET
        ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
        : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
    const char *ok = inet_ntop(res->ai_family, src, out, (socklen_t)cap);
    freeaddrinfo(res);
    if (!ok)
        return DC_ERR_UNAVAIL;
    LOG_I("resolve", "%s is %s (looked up in %lld ms)", host, out, (long long)(mono_ms() - t0));
    return DC_OK;
}

dc_err resolve_host(const char *host, char *out, size_t cap)
{
    if (is_numeric(host) || strcasecmp(host, "localhost") == 0) {
        snprintf(out, cap, "%s", strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host);
        return DC_OK;
    }
    for (int i = 0; i < RESOLVE_SLOTS; i++)
        if (strcmp(cache[i].host, host) == 0) {
            snprintf(out, cap, "%s", cache[i].addr);
            return DC_OK;
        }
    dc_err e = lookup(host, out, cap);
    if (e != DC_OK || strlen(host) >= sizeof cache[0].host)
        return e;
    unsigned slot = next_slot++ % RESOLVE_SLOTS;
    snprintf(cache[slot].host, sizeof cache[slot].host, "%s", host);
    snprintf(cache[slot].addr, sizeof cache[slot].addr, "%s", out);
    return DC_OK;
}

void resolve_forget(const char *host)
{
    for (int i = 0; i < RESOLVE_SLOTS; i++)
        if (strcmp(cache[i].host, host) == 0)
            cache[i].host[0] = '\0';
}
