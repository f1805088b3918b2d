/* replay_internal.h - state shared by the replay command's files:
 * replay.c (command, set-up), replay_drive.c (feeding the fixture through
 * the session), replay_rest.c (REST stand-in), replay_report.c (summary,
 * outcome, --expect).  Not a public API. */
#ifndef DC_REPLAY_INTERNAL_H
#define DC_REPLAY_INTERNAL_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "daemon/daemon_replay.h"
#include "fixture/fixture.h"
#include "proto/proto.h"
#include "gateway/zstream.h"

#define REPLAY_MONO0 1000000          /* virtual monotonic time of t = 0 */
#define REPLAY_OPEN_WAIT_MS 600000    /* longest wait for the session to ask for a recorded connection */
#define REPLAY_ANOMALY_LINES 20       /* anomalies listed one by one in the summary */
#define REPLAY_CACHED_OPS 16          /* ops 0..15 counted without a lookup by name */

typedef struct {
    fixture fx;
    config cfg;                       /* the command's settings + the fixture's overrides */
    dc_daemon *d;                     /* the daemon's core on loop (daemon_replay.h) */
    dc_loop loop;
    shard *s;                         /* its one shard */
    gateway_session *gw;                   /* the shard's session, which replay feeds */
    size_t pos;                       /* the fixture entry being fed (its seq) */
    char fixture_error[256];          /* a line found bad while streaming: the replay stopped there */
    int64_t offset;                   /* extra virtual time spent waiting for the session */
    double speed;                     /* 0: no waiting; else real time = virtual / speed */
    int connected;                    /* a recorded connection is open and the session uses it */
    int connections;
    int draining, ack_owed;
    zstream *zs;
    dc_timer gw_timer;                /* the session's next deadline */
    int64_t skipped;                  /* recorded frames of a connection the session had closed */
    /* statistics (cJSON objects used as name -> count maps) */
    cJSON *recv_ops, *sent_ops, *recorded_sent_ops, *events, *anomalies, *commands;
    cJSON *anomaly_lines;             /* first few, with line numbers */
    cJSON *requests;                  /* every REST request: method path -> status */
    cJSON *replies;                   /* non-GET requests with their bodies (chat replies) */
    int cur_line;                     /* fixture line being fed, for anomaly messages */
    /* The count items of the hot names (replay_count_cached): op N, the last event name. */
    cJSON *op_counts[REPLAY_CACHED_OPS];
    cJSON *event_count;
    dc_event event_kind;              /* of event_count's name */
} replay;

/* replay_drive.c */
void replay_kick(void *ctx);         /* the shard's kick: ctx is the replay */
int replay_feed(replay *r);           /* the whole fixture, then stop; returns the daemon's exit status */
int replay_nonce(void *ctx, uint64_t guild_id, char *out, size_t cap);

/* replay_rest.c: the vloop_responder */
void replay_answer_rest(void *ctx, const char *method, const char *path, const char *json_body,
                        long *status, char **body);

/* replay_report.c */
void replay_count(cJSON *map, const char *name);
/* replay_count for a name seen again and again: *item remembers its count
 * (the map never drops items).  1 when *item already held name. */
int replay_count_cached(cJSON *map, const char *name, cJSON **item);
void replay_anomaly(replay *r, const char *kind, const char *detail);
void replay_print_summary(replay *r, const char *fixture_path, int exit_status, FILE *out);
cJSON *replay_outcome(replay *r, int exit_status);
/* 0 when outcome matches the expectation file; else prints the diff and returns 1
 * (65 when the expectation file cannot be read). */
int replay_compare(const cJSON *outcome, const char *expect_path, FILE *out);

#endif
