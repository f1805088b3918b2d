/* rest_url.c - which API base URLs the REST client accepts.
 *
 * https:// anywhere; http:// only to this machine, so the bot token never
 * crosses a network in clear text.  The loopback double (tests/fakediscord)
 * is the only reason plain http exists at all. */
#include "rest/rest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HOST_MAX 256

static bool is_loopback_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return memcmp(&a6, &in6addr_loopback, sizeof a6) == 0;
    return false;
}

static bool valid_port(const char *s, size_t len)
{
    if (len == 0 || len > 5)
        return false;
    long port = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* Split the authority "host[:port]" / "[v6][:port]" into host; false when
 * malformed. */
static bool split_host(const char *auth, size_t len, char *host, size_t hostlen,
                       char *err, size_t errlen)
{
    const char *h = auth, *port = NULL;
    size_t hl;
    if (len > 0 && auth[0] == '[') {
        const char *close = memchr(auth, ']', len);
        if (!close) {
            snprintf(err, errlen, "API base URL has an unterminated [IPv6] host");
            return false;
        }
        h = auth + 1;
        hl = (size_t)(close - h);
        if (close + 1 < auth + len) {
            if (close[1] != ':') {
                snprintf(err, errlen, "API base URL has junk after the [IPv6] host");
                return false;
            }
            port = close + 2;
        }
    } else {
        const char *colon = memchr(auth, ':', len);
        hl = colon ? (size_t)(colon - auth) : len;
        port = colon ? colon + 1 : NULL;
    }
    if (port && !valid_port(port, (size_t)(auth + len - port))) {
        snprintf(err, errlen, "API base URL has an invalid port");
        return false;
    }
    if (hl == 0 || hl >= hostlen) {
        snprintf(err, errlen, "API base URL has no usable host");
        return false;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    return true;
}

dc_err rest_check_base_url(const char *url, char *err, size_t errlen)
{
    if (!url || !*url) {
        snprintf(err, errlen, "API base URL is empty");
        return DC_ERR_CONFIG;
    }
    bool https = strncasecmp(url, "https://", 8) == 0;
    bool http = strncasecmp(url, "http://", 7) == 0;
    if (!https && !http) {
        snprintf(err, errlen, "API base URL must start with https:// "
                              "(http:// is allowed only for loopback hosts)");
        return DC_ERR_CONFIG;
    }
    const char *auth = url + (https ? 8 : 7);
    size_t authlen = strcspn(auth, "/?#");
    if (memchr(auth, '@', authlen)) {
        snprintf(err, errlen, "API base URL must not contain user:password@");
        return DC_ERR_CONFIG;
    }
    char host[HOST_MAX];
    if (!split_host(auth, authlen, host, sizeof host, err, errlen))
        return DC_ERR_CONFIG;
    if (http && !is_loopback_host(host)) {
        snprintf(err, errlen, "API base URL: plain http:// is refused for host '%s' "
                              "(the token would travel unencrypted); use https://, or http:// "
                              "only to 127.0.0.1, ::1 or localhost", host);
        return DC_ERR_CONFIG;
    }
    return DC_OK;
}
