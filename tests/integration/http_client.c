/* http_client.c - see http_client.h. */
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_harness.h"

int hc_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

size_t hc_read_all(int s, char *buf, size_t cap, int timeout_ms)
{
    size_t len = 0;
    struct pollfd p = { .fd = s, .events = POLLIN };
    while (len + 1 < cap && poll(&p, 1, timeout_ms) > 0) {
        ssize_t r = read(s, buf + len, cap - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return len;
}

int hc_request(int port, const char *raw, char *buf, size_t cap)
{
    int s = hc_connect(port);
    buf[0] = '\0';
    if (s < 0)
        return -1;
    if (write(s, raw, strlen(raw)) != (ssize_t)strlen(raw)) {
        close(s);
        return -1;
    }
    hc_read_all(s, buf, cap, 5000);
    close(s);
    int status = 0;
    return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

int hc_get(int port, const char *path, const char *auth, char *buf, size_t cap)
{
    char raw[512];
    snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: x\r\n%s%s%sConnection: close\r\n\r\n", path,
             auth ? "Authorization: " : "", auth ? auth : "", auth ? "\r\n" : "");
    return hc_request(port, raw, buf, cap);
}

const char *hc_body(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

int hc_endpoint_port(const char *log_path, int timeout_ms)
{
    for (int waited = 0; waited <= timeout_ms; waited += 100) {
        char *log = dh_read_file(log_path);
        const char *p = log ? strstr(log, "HTTP endpoint on") : NULL;
        p = p ? strstr(p, "(port ") : NULL;
        int port = p ? atoi(p + 6) : 0;
        free(log);
        if (port > 0)
            return port;
        dh_sleep_ms(100);
    }
    return 0;
}
