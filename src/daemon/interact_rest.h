/* interact_rest.h - answering slash command interactions over REST.
 *
 * One entry per interaction being answered, keyed by the interaction id
 * (which the commands use as the "message" they reply to).  The first
 * answer goes to POST /interactions/{id}/{token}/callback: a message
 * (type 4, ephemeral) or a deferral (type 5); later texts edit the
 * original response (PATCH /webhooks/{application_id}/{token}/messages/
 * @original), one at a time and in order.  Once the token is spent (15
 * minutes less a margin, or Discord answered 10015/10062/10008) a text is
 * posted as a normal message in the channel instead.  Discord's refusals
 * (10062 late, 40060 already acknowledged, 10015 unknown webhook) are one
 * warning line each, never retried.  Every body carries allowed_mentions
 * {"parse": []}.  The interaction token goes into URL paths only. */
#ifndef DC_INTERACT_REST_H
#define DC_INTERACT_REST_H

#include <stdint.h>
#include "base/err.h"
#include "daemon/commands_outbox.h"
#include "loop/loop.h"
#include "loop/pending.h"
#include "policy/interact.h"

#define IXR_MAX 256               /* interactions remembered; the oldest idle one goes first */

typedef struct ixr ixr;

/* out: the commands' outbox (channel messages when the token is spent);
 * pending: where in-flight request contexts are linked. */
ixr *ixr_new(dc_loop *l, dc_pending *pending, cmdo *out);
void ixr_free(ixr *a);

/* Remember an interaction received at dispatched_ms (loop_now). */
dc_err ixr_open(ixr *a, const interact_request *r, int64_t dispatched_ms);
/* The first answer: a message at once (type 4), ephemeral. */
void ixr_reply(ixr *a, uint64_t id, const char *text);
/* The first answer: a deferral (type 5); texts that follow edit @original. */
void ixr_defer(ixr *a, uint64_t id);
/* commands_outbox_divert_fn: a reply or edit whose reply_to / edit_id is
 * an interaction being answered goes to it.  So the commands' progress
 * (reply_handle.c: posted, then edited) edits @original too: the "message
 * id" the post answers with is the interaction id. */
int ixr_divert(void *a, commands_outbox_class cls, uint64_t channel_id, uint64_t reply_to, uint64_t edit_id,
               const char *text, commands_outbox_sent_fn fn, void *ctx);

#endif
