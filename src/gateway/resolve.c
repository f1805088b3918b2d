/* resolve.c - see resolve.h.
 *
 * Lookups run in glibc's getaddrinfo_a (its own helper thread, which
 * touches nothing of ours); the loop asks again until the answer is there.
 * Since glibc 2.34 getaddrinfo_a is in libc itself: no extra library. */
#define _GNU_SOURCE                  /* getaddrinfo_a, gai_error */
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

/* Lookups under way: a gaicb must stay where it is until it completes. */
static struct {
    int busy;
    char host[256];
    struct addrinfo hints;
    struct gaicb cb;
    int64_t started_ms;
} running[RESOLVE_SLOTS];

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

static void remember(const char *host, const char *addr)
{
    unsigned slot = next_slot++ % RESOLVE_SLOTS;
    snprintf(cache[slot].host, sizeof cache[slot].host, "%s", host);
    snprintf(cache[slot].addr, sizeof cache[slot].addr, "%s", addr);
}

/* A finished lookup's answer: the first address, cached. */
static dc_err finish(int i, int rc, char *out, size_t cap)
{
    struct addrinfo *res = running[i].cb.ar_result;
    const char *host = running[i].host;
    dc_err e = DC_ERR_UNAVAIL;
    if (rc != 0 || !res) {
        LOG_W("resolve", "cannot resolve %s: %s", host, gai_strerror(rc ? rc : EAI_NONAME));
    } else {
        const void *src = res->ai_family == AF_INET
            ? (const void *)&((struct sockaddr_in *)res->ai_addr)->sin_addr
            : (const void *)&((struct sockaddr_in6 *)res->ai_addr)->sin6_addr;
        if (inet_ntop(res->ai_family, src, out, (socklen_t)cap)) {
            e = DC_OK;
            LOG_I("resolve", "%s is %s (looked up in %lld ms)", host, out,
                  (long long)(mono_ms() - running[i].started_ms));
            remember(host, out);
        }
    }
    if (res)
        freeaddrinfo(res);
    running[i].busy = 0;
    return e;
}

static dc_err start(const char *host)
{
    int i = 0;
    while (i < RESOLVE_SLOTS && running[i].busy)
        i++;
    if (i == RESOLVE_SLOTS || strlen(host) >= sizeof running[i].host) {
        LOG_W("resolve", "cannot resolve %s: too many lookups at once", host);
        return DC_ERR_UNAVAIL;
    }
    memset(&running[i], 0, sizeof running[i]);
    snprintf(running[i].host, sizeof running[i].host, "%s", host);
    /* localhost is the one name plain ws:// may use (a local double): its
     * IPv4 address, where such a double listens (its ::1 would be refused) */
    running[i].hints.ai_family = strcasecmp(host, "localhost") == 0 ? AF_INET : AF_UNSPEC;
    running[i].hints.ai_socktype = SOCK_STREAM;
    running[i].cb.ar_name = running[i].host;
    running[i].cb.ar_request = &running[i].hints;
    running[i].started_ms = mono_ms();
    struct gaicb *list[1] = { &running[i].cb };
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    if (rc != 0) {
        LOG_W("resolve", "cannot resolve %s: %s", host, gai_strerror(rc));
        return DC_ERR_UNAVAIL;
    }
    running[i].busy = 1;
    return DC_ERR_BUSY;
}

dc_err resolve_host(const char *host, char *out, size_t cap)
{
    if (is_numeric(host)) {
        snprintf(out, cap, "%s", host);
        return DC_OK;
    }
    for (int i = 0; i < RESOLVE_SLOTS; i++)
        if (strcmp(cache[i].host, host) == 0) {
            snprintf(out, cap, "%s", cache[i].addr);
            return DC_OK;
        }
    for (int i = 0; i < RESOLVE_SLOTS; i++)
        if (running[i].busy && strcmp(running[i].host, host) == 0) {
            int rc = gai_error(&running[i].cb);
            return rc == EAI_INPROGRESS ? DC_ERR_BUSY : finish(i, rc, out, cap);
        }
    return start(host);
}

void resolve_forget(const char *host)
{
    for (int i = 0; i < RESOLVE_SLOTS; i++)
        if (strcmp(cache[i].host, host) == 0)
            cache[i].host[0] = '\0';
}
