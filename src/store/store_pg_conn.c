/* store_pg_conn.c - the PostgreSQL backend's connection (issue #16):
 * libpq's non-blocking connect driven by its socket, and a failed connect
 * sorted and worded (store_pg_internal.h).
 *
 * The connection asks for libpq's verbose error messages while it connects,
 * so a refusal of the server carries its SQLSTATE ("FATAL:  28P01: ...")
 * whatever language the server speaks: 28xxx is a refused login, 3D000 a
 * database that does not exist, 08xxx/53300/57P03 a server that cannot
 * take the connection now.  A failure without one happened before the
 * server spoke (refused, unreachable, no such host), except libpq's own
 * authentication messages (no password supplied, SCRAM). */
#include "store/store_pg_internal.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/uri.h"

#define STORE_PG_APP_NAME "discord-cleaner"

static const char *const failure_fix[] = {
    [STORE_PG_FAIL_NONE] = "",
    [STORE_PG_FAIL_URI] = "fix the db setting (postgresql://USER:PASSWORD@HOST:PORT/DATABASE"
                          "?PARAMETER=VALUE with libpq's parameter names)",
    [STORE_PG_FAIL_UNREACHABLE] = "check that the server runs and that the host and port in the db "
                                  "setting are right",
    [STORE_PG_FAIL_AUTH] = "fix the user or the password in the db setting (or PGPASSWORD, ~/.pgpass)",
    [STORE_PG_FAIL_NO_DATABASE] = "create the database (createdb NAME) or fix its name in the db setting",
    [STORE_PG_FAIL_OTHER] = "check the db setting and the role's rights on the server",
    [STORE_PG_FAIL_NOMEM] = "free some memory",
};

static const char *const failure_what[] = {
    [STORE_PG_FAIL_NONE] = "",
    [STORE_PG_FAIL_URI] = "is not a PostgreSQL URI libpq takes",
    [STORE_PG_FAIL_UNREACHABLE] = "cannot reach the PostgreSQL server",
    [STORE_PG_FAIL_AUTH] = "PostgreSQL refused the login",
    [STORE_PG_FAIL_NO_DATABASE] = "the database does not exist",
    [STORE_PG_FAIL_OTHER] = "PostgreSQL refused the connection",
    [STORE_PG_FAIL_NOMEM] = "cannot connect",
};

dc_err store_pg_failure_err(store_pg_failure f)
{
    switch (f) {
    case STORE_PG_FAIL_NONE: return DC_OK;
    case STORE_PG_FAIL_UNREACHABLE: return DC_ERR_UNAVAIL;
    case STORE_PG_FAIL_NOMEM: return DC_ERR_NOMEM;
    default: return DC_ERR_CONFIG;
    }
}

int store_pg_failure_retryable(store_pg_failure f) { return f == STORE_PG_FAIL_UNREACHABLE; }

/* The one line of a failure: "db: URI: what: reason; fix", the URI without
 * its password and the reason (libpq's words) scrubbed of it. */
static store_pg_state fail(store_pg_conn *c, store_pg_failure f, const char *reason)
{
    char shown[URI_SHOWN_MAX], why[STORE_PG_MSG_MAX];
    const char *uri = c->uri ? c->uri : "";
    uri_redact(uri, shown, sizeof shown);
    uri_scrub(uri, reason, why, sizeof why);
    why[strcspn(why, "\r\n")] = '\0';
    if (snprintf(c->msg, sizeof c->msg, "db: %s: %s: %s; %s", shown, failure_what[f], why, failure_fix[f]) >=
        (int)sizeof c->msg)
        memcpy(c->msg + sizeof c->msg - 4, "...", 4);   /* a very long URI: the cut is shown */
    c->failure = f;
    c->state = STORE_PG_FAILED;
    return c->state;
}

/* The SQLSTATE in a verbose libpq message ("...: FATAL:  28P01: text"):
 * where its "SEVERITY:  " starts, the state copied to state[6] and *text
 * set to the server's text after it; NULL when the message has none. */
static const char *find_sqlstate(const char *msg, char state[6], const char **text)
{
    for (const char *p = strstr(msg, ":  "); p; p = strstr(p + 1, ":  ")) {
        const char *s = p + 3;
        int ok = 1;
        for (int i = 0; i < 5 && ok; i++)
            ok = isdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]);
        if (!ok || s[5] != ':' || s[6] != ' ')
            continue;
        memcpy(state, s, 5);
        state[5] = '\0';
        *text = s + 7;
        const char *sev = p;
        while (sev > msg && sev[-1] != ' ')
            sev--;
        return sev;
    }
    return NULL;
}

static store_pg_failure class_of_sqlstate(const char *state)
{
    if (strncmp(state, "28", 2) == 0)
        return STORE_PG_FAIL_AUTH;
    if (strcmp(state, "3D000") == 0)
        return STORE_PG_FAIL_NO_DATABASE;
    if (strncmp(state, "08", 2) == 0 || strcmp(state, "53300") == 0 || strcmp(state, "57P03") == 0)
        return STORE_PG_FAIL_UNREACHABLE;
    return STORE_PG_FAIL_OTHER;
}

/* Sorts libpq's message of a failed connect and words it. */
static store_pg_state fail_connect(store_pg_conn *c, const char *msg)
{
    char state[6], reason[STORE_PG_MSG_MAX];
    const char *text = NULL, *sev = find_sqlstate(msg, state, &text);
    if (sev) {   /* the server's words, without "FATAL:  28P01: " */
        snprintf(reason, sizeof reason, "%.*s%s", (int)(sev - msg), msg, text);
        return fail(c, class_of_sqlstate(state), reason);
    }
    snprintf(reason, sizeof reason, "%s", msg[0] ? msg : "no reason given");
    const char *said = strstr(msg, "failed: ");   /* after "connection to server at ... failed: " */
    said = said && said < msg + strcspn(msg, "\n") ? said + 8 : msg;
    if (strncmp(said, "invalid ", 8) == 0)         /* a value libpq refuses: sslmode=bogus, port=x */
        return fail(c, STORE_PG_FAIL_URI, reason);
    if (strstr(msg, "password") || strstr(msg, "SCRAM") || strstr(msg, "authentication"))
        return fail(c, STORE_PG_FAIL_AUTH, reason);
    if (strstr(msg, "SSL"))
        return fail(c, STORE_PG_FAIL_OTHER, reason);
    return fail(c, STORE_PG_FAIL_UNREACHABLE, reason);
}

/* PQconninfoParse's verdict on uri: 1 when libpq takes it. */
static int uri_parses(store_pg_conn *c, const char *uri)
{
    char *why = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &why);
    if (opts) {
        PQconninfoFree(opts);
        return 1;
    }
    if (!why)
        fail(c, STORE_PG_FAIL_NOMEM, "out of memory");
    else
        fail(c, STORE_PG_FAIL_URI, why);
    PQfreemem(why);
    return 0;
}

/* A fresh gen for every start and step (store_watch: the socket may be new). */
static unsigned next_gen;

store_pg_state store_pg_conn_start(store_pg_conn *c, const char *uri)
{
    memset(c, 0, sizeof *c);
    c->gen = ++next_gen;
    c->uri = strdup(uri ? uri : "");
    if (!c->uri)
        return fail(c, STORE_PG_FAIL_NOMEM, "out of memory");
    if (!uri_is_postgres(c->uri))
        return fail(c, STORE_PG_FAIL_URI, "it does not start with postgresql:// or postgres://");
    if (!uri_parses(c, c->uri))
        return c->state;
    const char *const keys[] = { "dbname", "fallback_application_name", NULL };
    const char *const values[] = { c->uri, STORE_PG_APP_NAME, NULL };
    c->conn = PQconnectStartParams(keys, values, 1);
    if (!c->conn)
        return fail(c, STORE_PG_FAIL_NOMEM, "out of memory");
    PQsetErrorVerbosity(c->conn, PQERRORS_VERBOSE);   /* the SQLSTATE of a refusal */
    if (PQstatus(c->conn) == CONNECTION_BAD) {   /* a value libpq refuses, or every host at once */
        fail_connect(c, PQerrorMessage(c->conn));
        PQfinish(c->conn);
        c->conn = NULL;
    } else {
        c->state = STORE_PG_WANT_WRITE;   /* as libpq says: as if PQconnectPoll asked to write */
    }
    return c->state;
}

store_pg_state store_pg_conn_step(store_pg_conn *c)
{
    if (c->state != STORE_PG_WANT_READ && c->state != STORE_PG_WANT_WRITE)
        return c->state;
    c->gen = ++next_gen;
    switch (PQconnectPoll(c->conn)) {
    case PGRES_POLLING_READING: c->state = STORE_PG_WANT_READ; break;
    case PGRES_POLLING_WRITING: c->state = STORE_PG_WANT_WRITE; break;
    case PGRES_POLLING_OK:
        PQsetErrorVerbosity(c->conn, PQERRORS_DEFAULT);
        if (PQsetnonblocking(c->conn, 1) != 0)
            return fail_connect(c, PQerrorMessage(c->conn));
        c->state = STORE_PG_READY;
        break;
    default: return fail_connect(c, PQerrorMessage(c->conn));
    }
    return c->state;
}

int store_pg_conn_fd(const store_pg_conn *c) { return c->conn ? PQsocket(c->conn) : -1; }

short store_pg_conn_events(const store_pg_conn *c)
{
    return c->state == STORE_PG_WANT_READ ? POLLIN : c->state == STORE_PG_WANT_WRITE ? POLLOUT : 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

store_pg_state store_pg_conn_wait(store_pg_conn *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (store_pg_conn_events(c)) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            char why[64];
            snprintf(why, sizeof why, "no answer within %d ms", timeout_ms);
            return fail(c, STORE_PG_FAIL_UNREACHABLE, why);
        }
        struct pollfd p = { .fd = store_pg_conn_fd(c), .events = store_pg_conn_events(c) };
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno != EINTR)
            return fail(c, STORE_PG_FAIL_OTHER, strerror(errno));
        if (n > 0)
            store_pg_conn_step(c);
    }
    return c->state;
}

void store_pg_conn_close(store_pg_conn *c)
{
    if (c->conn)
        PQfinish(c->conn);
    free(c->uri);
    c->conn = NULL;
    c->uri = NULL;
}
