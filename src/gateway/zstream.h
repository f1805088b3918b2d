/* zstream.h - the zlib-stream transport inflater of one gateway connection.
 *
 * Discord compresses the whole connection as one zlib stream; every gateway
 * payload ends with a Z_SYNC_FLUSH marker (00 00 FF FF).  The owner feeds
 * each websocket message (in pieces as they arrive) and gets back one
 * inflated JSON text when a payload is complete.  Every new connection
 * needs a fresh context: call zstream_reset() before feeding it.
 *
 * Uncompressed (text) frames do not go through here. */
#ifndef DC_ZSTREAM_H
#define DC_ZSTREAM_H

#include <stddef.h>
#include "base/err.h"

typedef struct zstream zstream;

/* max_message_bytes caps both the inflated payload and the buffered
 * compressed input (0 = 64 MiB).  NULL when out of memory. */
zstream *zstream_new(size_t max_message_bytes);
void zstream_free(zstream *zs);
/* Start a fresh zlib context and drop buffered input (new connection). */
dc_err zstream_reset(zstream *zs);

/* Append a piece of a websocket message.  message_complete = 1 on the last
 * piece of the websocket message.  When the buffered data then ends with
 * the sync-flush suffix it is inflated: *out points to the NUL-terminated
 * JSON text (valid until the next zs_* call) and *out_len is its length.
 * Otherwise *out = NULL (more data needed; a payload may span messages).
 *
 * DC_ERR_PROTO on corrupt data or when a cap is exceeded (reason in
 * zstream_last_error()); the context is then unusable until zstream_reset().
 * DC_ERR_NOMEM when memory runs out. */
dc_err zstream_feed(zstream *zs, const void *data, size_t len, int message_complete,
               const char **out, size_t *out_len);

/* Give back buffers grown past 1 MiB by a large message (call between
 * messages: it invalidates the last *out).  Without it one 64 MiB message
 * keeps 64 MiB of inflate output for the connection's life. */
void zstream_trim(zstream *zs);
/* Bytes the buffers hold now (input + output capacity). */
size_t zstream_capacity(const zstream *zs);

/* Reason of the last error, "" when none. */
const char *zstream_last_error(const zstream *zs);

#endif
