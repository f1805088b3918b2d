/* commands_outbox.h - the chat commands' replies, admins first.
 *
 * Every reply of the live commands goes through here instead of straight
 * to REST: answers to people allowed to command (and results, edits) go
 * before refusals, refusals wait in a short bounded queue (the overflow is
 * dropped and counted), and only a few requests are in flight at once, so a
 * flood of refusals can never sit in the REST queue ahead of an admin's
 * reply.  POST /channels/{id}/messages answers with the posted message's
 * id, which a caller may keep to edit the reply later (PATCH). */
#ifndef DC_COMMANDS_OUTBOX_H
#define DC_COMMANDS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>
#include "base/err.h"
#include "loop/loop.h"
#include "loop/pending.h"

#define CMDO_IN_FLIGHT 2          /* requests handed to REST at once */
#define CMDO_REFUSALS_MAX 8       /* refusals waiting; more are dropped */
#define CMDO_ANSWERS_MAX 512      /* answers waiting; more are dropped (logged) */

typedef enum { CMDO_ANSWER = 0, CMDO_REFUSAL = 1 } commands_outbox_class;

/* Called once per accepted send: message_id of the posted (or edited)
 * message, 0 when it could not be posted.  Not called for a dropped send,
 * nor for requests still in flight when the daemon stops. */
typedef void (*commands_outbox_sent_fn)(void *ctx, uint64_t message_id);

typedef struct cmdo cmdo;

/* pending: where in-flight contexts are linked (freed by the daemon). */
cmdo *commands_outbox_new(dc_loop *l, dc_pending *pending);
void commands_outbox_free(cmdo *o);

/* Reply text to message reply_to in channel_id (POST), or, edit_id != 0,
 * replace the text of our message edit_id (PATCH).  DC_ERR_UNAVAIL when the
 * class's queue is full (dropped), DC_ERR_NOMEM. */
dc_err commands_outbox_send(cmdo *o, commands_outbox_class cls, uint64_t channel_id, uint64_t reply_to, uint64_t edit_id,
                 const char *text, commands_outbox_sent_fn fn, void *ctx);

/* A send that another way of answering takes over (interact_live.c: the
 * replies to a slash command go to its interaction); returns 1 when it took
 * the send (and will call fn as commands_outbox_send would), 0 to let the
 * outbox post it as usual. */
typedef int (*commands_outbox_divert_fn)(void *dctx, commands_outbox_class cls, uint64_t channel_id, uint64_t reply_to,
                                         uint64_t edit_id, const char *text, commands_outbox_sent_fn fn, void *ctx);
void commands_outbox_divert(cmdo *o, commands_outbox_divert_fn fn, void *dctx);

/* Sends waiting in a class (not yet handed to REST); refusals dropped. */
size_t commands_outbox_waiting(const cmdo *o, commands_outbox_class cls);
int64_t commands_outbox_dropped(const cmdo *o);

#endif
