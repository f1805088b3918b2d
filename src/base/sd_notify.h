/* sd_notify.h - the sd_notify(3) datagram protocol, spoken without libsystemd.
 *
 * systemd documents $NOTIFY_SOCKET as a stable interface: a datagram of
 * newline-separated VAR=VALUE lines to an AF_UNIX socket whose path is in
 * the variable (an abstract name when it starts with '@').  Sending never
 * blocks and never raises SIGPIPE; without $NOTIFY_SOCKET nothing is sent. */
#ifndef DC_SD_NOTIFY_H
#define DC_SD_NOTIFY_H

#include <stdint.h>

/* Send msg ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET.  1 sent, 0 no socket
 * set, -1 the socket is unusable or the send failed (errno kept). */
int sd_notify_send(const char *msg);

/* WATCHDOG_USEC when the watchdog is meant for this process (WATCHDOG_PID
 * unset or equal to getpid()), else 0. */
int64_t sd_notify_watchdog_usec(void);

/* CLOCK_MONOTONIC in microseconds, as MONOTONIC_USEC= wants it. */
int64_t sd_notify_monotonic_usec(void);

#endif
