/* record_rest.h - `run --record`: REST exchanges go into the recording too.
 *
 * record_rest_wrap() puts a recording layer in front of a loop's REST op:
 * each request goes on to the wrapped op unchanged, and when its answer
 * arrives a "rest" line (method, path, status, body; record_rest() in
 * record.c, redacted like every line) is written before the caller's
 * callback runs.  A replay then answers the same requests with the same
 * answers (replay_rest.c).  Headers, the token and request bodies are never
 * written. */
#ifndef DC_RECORD_REST_H
#define DC_RECORD_REST_H

#include "loop.h"
#include "pending.h"
#include "record.h"

/* Wrap l's rest op; in-flight contexts are linked into pending (the daemon
 * frees what is left at shutdown, when the REST client cancels them).
 * Called again with another recorder (one per shard), that one gets every
 * exchange as well: REST is the process's, and each shard's file must
 * replay on its own. */
void record_rest_wrap(dc_loop *l, recorder *rec, dc_pending *pending);
/* Restore the wrapped loop's ops; answers still in flight are passed on
 * without being written.  Safe to call when nothing is wrapped. */
void record_rest_unwrap(void);

#endif
