/* err.h - the one error enum of discord-cleaner.
 *
 * Every fallible function returns dc_err.  dc_strerror() names it for logs;
 * dc_err_exit_status() maps it to a sysexits(3)-style process exit status so
 * main() never invents numbers of its own. */
#ifndef DC_ERR_H
#define DC_ERR_H

#define DC_ERR_TABLE(X)                                                    \
    X(DC_OK,          0,  "success")                                       \
    X(DC_ERR_NOMEM,   71, "out of memory")                                 \
    X(DC_ERR_USAGE,   64, "usage error")                                   \
    X(DC_ERR_CONFIG,  78, "configuration error")                           \
    X(DC_ERR_IO,      74, "input/output error")                            \
    X(DC_ERR_DB,      74, "database error")                                \
    X(DC_ERR_BUSY,    75, "database busy")                                 \
    X(DC_ERR_SCHEMA,  65, "database schema not understood")                \
    X(DC_ERR_PROTO,   76, "protocol error")                                \
    X(DC_ERR_UNAVAIL, 69, "service unavailable")                           \
    X(DC_ERR_AUTH,    77, "authentication failed")                         \
    X(DC_ERR_NOTFOUND, 66, "not found")                                    \
    X(DC_ERR_INTERNAL, 70, "internal error")

typedef enum {
#define DC_ERR_ENUM(name, exit_status, text) name,
    DC_ERR_TABLE(DC_ERR_ENUM)
#undef DC_ERR_ENUM
} dc_err;

const char *dc_strerror(dc_err e);
int dc_err_exit_status(dc_err e);

#endif
