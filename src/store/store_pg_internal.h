/* store_pg_internal.h - the PostgreSQL backend's own declarations (internal
 * to src/store/; issue #16).
 *
 * First its connection (store_pg_conn.c): libpq's non-blocking connect
 * (PQconnectStartParams and PQconnectPoll) driven by the connection's
 * socket, so the daemon's event loop can watch it; store_pg_conn_wait is the
 * bounded wait for start-up and the tests.  A failed connection is sorted
 * into the classes the daemon acts on (retry then exit 69, or exit 78) and
 * worded as one line naming the `db` setting and the fix, never with the
 * password (base/uri.h).  libpq resolves a host name inside PQconnectPoll,
 * blocking: `hostaddr=` in the URI avoids the lookup.
 *
 * The backend itself (its store_backend table) is not built in yet: a
 * postgresql:// db setting is still refused by store_backend_for. */
#ifndef DC_STORE_PG_INTERNAL_H
#define DC_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include "base/err.h"

/* Why a connection failed. */
typedef enum {
    STORE_PG_FAIL_NONE,          /* not failed */
    STORE_PG_FAIL_URI,           /* the db setting is no URI libpq takes: nothing was tried */
    STORE_PG_FAIL_UNREACHABLE,   /* refused, unreachable, timed out, server starting: retry */
    STORE_PG_FAIL_AUTH,          /* the server refused the login (user, password) */
    STORE_PG_FAIL_NO_DATABASE,   /* the database does not exist */
    STORE_PG_FAIL_OTHER,         /* any other refusal (no CONNECT right, SSL required, ...) */
    STORE_PG_FAIL_NOMEM,         /* out of memory */
} store_pg_failure;

/* Where a connection is. */
typedef enum {
    STORE_PG_WANT_READ,          /* call store_pg_conn_step when the socket is readable */
    STORE_PG_WANT_WRITE,         /* ... when it is writable */
    STORE_PG_READY,              /* connected (the connection is non-blocking) */
    STORE_PG_FAILED,             /* failure and msg say why */
} store_pg_state;

#define STORE_PG_MSG_MAX 1024

typedef struct {
    PGconn *conn;                /* NULL when nothing was started */
    store_pg_state state;
    store_pg_failure failure;
    char *uri;                   /* the db setting (its passwords are scrubbed from msg) */
    char msg[STORE_PG_MSG_MAX];  /* the one line of a failure, "" otherwise */
} store_pg_conn;

/* Checks uri (a postgres:// or postgresql:// URI, PQconninfoParse) and
 * starts connecting, without waiting.  A URI libpq refuses (an unknown
 * parameter, a bad percent-escape) fails here with STORE_PG_FAIL_URI and no
 * connection attempted.  Returns the state; c is always to be closed. */
store_pg_state store_pg_conn_start(store_pg_conn *c, const char *uri);
/* One step of the connect (PQconnectPoll), when the socket is ready for what
 * the state asked; returns the new state. */
store_pg_state store_pg_conn_step(store_pg_conn *c);
/* The socket to watch (it may change between steps), -1 when none. */
int store_pg_conn_fd(const store_pg_conn *c);
/* What to watch it for: POLLIN, POLLOUT, or 0 once ready or failed. */
short store_pg_conn_events(const store_pg_conn *c);
/* Steps until ready or failed, waiting on the socket with poll() for at
 * most timeout_ms in all: past that, fails as STORE_PG_FAIL_UNREACHABLE. */
store_pg_state store_pg_conn_wait(store_pg_conn *c, int timeout_ms);
/* Closes the connection and frees c's parts (c may be reused). */
void store_pg_conn_close(store_pg_conn *c);

/* The error, and so the exit status, of a failure: DC_ERR_UNAVAIL (69) for
 * an unreachable server (after the caller's bounded retry), DC_ERR_CONFIG
 * (78) for what the db setting must fix, DC_ERR_NOMEM. */
dc_err store_pg_failure_err(store_pg_failure f);
/* Non-zero when waiting may cure the failure (the server unreachable). */
int store_pg_failure_retryable(store_pg_failure f);

#endif
