/* reply_handle.h - one reply to a command that is posted once and then
 * edited as the work it answers goes on: what it waits for, its progress,
 * finally its outcome.
 *
 * The handle decides when to send; an implementation (reply_ops) says how:
 *   - prefix commands (reply_prefix_new, here): the first text is POSTed to
 *     the channel as a reply to the command (commands_outbox.c; the
 *     answer's message id is remembered), later texts PATCH that message;
 *   - slash commands (another implementation, s17-interact): the deferred
 *     answer's @original is PATCHed.
 * Rules: progress is sent at most once per REPLY_EDIT_EVERY_MS (Discord
 * rate-limits edits; the latest text wins, an unchanged one is not sent);
 * the final text goes at once -- as the only post when nothing was posted
 * (a command that finished quickly shows just its summary), else as an
 * edit once the post's id is known.  Every body carries allowed_mentions
 * {"parse": []} (commands_reply_json).  After reply_final the handle frees
 * itself once its last send is handed over. */
#ifndef DC_REPLY_HANDLE_H
#define DC_REPLY_HANDLE_H

#include <stdint.h>
#include "base/err.h"
#include "loop/loop.h"

#define REPLY_EDIT_EVERY_MS 2000

typedef struct reply_handle reply_handle;
typedef struct reply_set reply_set;

typedef struct {
    /* Send text as the first message of the reply; the implementation
     * calls reply_handle_posted(h, id) when it is answered (id 0: failed). */
    dc_err (*post)(reply_handle *h, const char *text);
    /* Replace the reply's text (after a successful post). */
    dc_err (*edit)(reply_handle *h, const char *text);
    /* Free impl (the handle is being freed); may be NULL. */
    void (*free_impl)(void *impl);
} reply_ops;

/* Handles alive (one per command reply), freed together at shutdown. */
reply_set *reply_set_new(dc_loop *l);
void reply_set_free(reply_set *rs);

/* A handle sending through ops; impl is the implementation's own state
 * (reply_handle_impl gives it back).  NULL when out of memory. */
reply_handle *reply_handle_new(reply_set *rs, const reply_ops *ops, void *impl);
void *reply_handle_impl(const reply_handle *h);
/* The post's answer: the message's id, 0 when it was not posted (edits
 * are then impossible: the final text is posted anew). */
void reply_handle_posted(reply_handle *h, uint64_t message_id);
uint64_t reply_handle_message_id(const reply_handle *h);
/* Anything sent (or being sent) yet? */
int reply_handle_started(const reply_handle *h);

/* Post text now when nothing was, else edit it in (at most once per
 * REPLY_EDIT_EVERY_MS; meanwhile the latest text waits). */
void reply_progress(reply_handle *h, const char *text);
/* The last text (see above); the handle is the set's until it is sent. */
void reply_final(reply_handle *h, const char *text);

/* The prefix commands' implementation: POST to channel_id replying to
 * message reply_to, PATCH that message afterwards, through out. */
struct cmdo;
reply_handle *reply_prefix_new(reply_set *rs, struct cmdo *out, uint64_t channel_id, uint64_t reply_to);

#endif
