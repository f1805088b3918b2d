/* pg_cut.h - a loopback TCP proxy in front of the test cluster that can
 * lose a COMMIT's answer: armed, it forwards everything until the server
 * says "COMMIT" (the transaction has committed) and then closes the
 * client's connection instead of passing that answer on.  The client sees
 * its connection lost with a COMMIT in flight that went through -- what a
 * network failure or a read given up on can do (issue #16,
 * store_pg_doubt.c).  Header-only, for the PostgreSQL tests. */
#ifndef DC_PG_CUT_H
#define DC_PG_CUT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int lfd, port, target;
    atomic_int armed, cuts;
    pthread_t acceptor;
} pg_cut;

typedef struct {
    pg_cut *c;
    int client, server;
} pg_cut_pair;

/* The CommandComplete tag of a COMMIT in what the server sent. */
static inline int pg_cut_commit_in(const char *buf, size_t n)
{
    for (size_t i = 0; i + 7 <= n; i++)
        if (memcmp(buf + i, "COMMIT\0", 7) == 0)
            return 1;
    return 0;
}

static inline void *pg_cut_pump(void *arg)
{
    pg_cut_pair *p = arg;
    char buf[65536];
    struct pollfd f[2] = { { .fd = p->client, .events = POLLIN }, { .fd = p->server, .events = POLLIN } };
    for (;;) {
        if (poll(f, 2, -1) <= 0)
            break;
        int from = (f[0].revents & (POLLIN | POLLHUP | POLLERR)) ? 0 : 1;
        ssize_t n = read(f[from].fd, buf, sizeof buf);
        if (n <= 0)
            break;
        if (from == 1 && atomic_load(&p->c->armed) && pg_cut_commit_in(buf, (size_t)n)) {
            atomic_store(&p->c->armed, 0);
            atomic_fetch_add(&p->c->cuts, 1);
            break;                   /* committed; the answer goes nowhere */
        }
        if (write(f[!from].fd, buf, (size_t)n) != n)
            break;
    }
    shutdown(p->client, SHUT_RDWR);
    close(p->client);
    close(p->server);
    free(p);
    return NULL;
}

static inline void *pg_cut_accept(void *arg)
{
    pg_cut *c = arg;
    for (;;) {
        int cl = accept(c->lfd, NULL, NULL);
        if (cl < 0)
            return NULL;
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->target) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int sv = socket(AF_INET, SOCK_STREAM, 0);
        pg_cut_pair *p = malloc(sizeof *p);
        pthread_t t;
        if (!p || sv < 0 || connect(sv, (struct sockaddr *)&a, sizeof a) != 0) {
            close(cl);
            if (sv >= 0)
                close(sv);
            free(p);
            continue;
        }
        *p = (pg_cut_pair){ .c = c, .client = cl, .server = sv };
        if (pthread_create(&t, NULL, pg_cut_pump, p) == 0)
            pthread_detach(t);
    }
}

/* Starts the proxy for uri (postgresql://...@127.0.0.1:PORT/db) and writes
 * the same URI through the proxy to out.  0, or -1. */
static inline int pg_cut_start(pg_cut *c, const char *uri, char *out, size_t cap)
{
    const char *at = strstr(uri, "@127.0.0.1:");
    if (!at)
        return -1;
    const char *port = at + strlen("@127.0.0.1:");
    const char *rest = strchr(port, '/');
    struct sockaddr_in a = { .sin_family = AF_INET };
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(c, 0, sizeof *c);
    c->target = atoi(port);
    c->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (!rest || c->lfd < 0 || bind(c->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(c->lfd, 8) != 0 ||
        getsockname(c->lfd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    c->port = ntohs(a.sin_port);
    snprintf(out, cap, "%.*s%d%s", (int)(port - uri), uri, c->port, rest);
    return pthread_create(&c->acceptor, NULL, pg_cut_accept, c) == 0 ? 0 : -1;
}

static inline void pg_cut_stop(pg_cut *c)
{
    shutdown(c->lfd, SHUT_RDWR);
    close(c->lfd);
    pthread_join(c->acceptor, NULL);
}

#endif
