/* cleaner.h - what a gateway event means for the database (sans-I/O policy).
 *
 * The policy looks at one decoded dispatch and answers with actions; it
 * never touches the database or the network itself.  daemon.c carries the
 * actions out (store calls, REST confirmations), replay.c does the same
 * offline, and the unit tests assert on them directly.
 *
 * The rules (README "What gets deleted, and when"):
 *  - GUILD_MEMBER_REMOVE: delete that member's rows in that guild.
 *  - GUILD_DELETE with unavailable:true: an outage, delete nothing.
 *  - GUILD_DELETE without it: the bot left, was removed, or the guild was
 *    deleted -- but flagless GUILD_DELETEs for guilds the bot is still in
 *    have been seen, so the guild's rows go only after REST confirms.
 *  - READY of a new session: stored guilds of this shard missing from READY
 *    were left while offline; confirmed over REST, then deleted -- unless
 *    more than max_delete_share of them are missing (a wrong token or shard
 *    count), in which case nothing is deleted and the operator is told. */
#ifndef DC_CLEANER_H
#define DC_CLEANER_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "proto/proto.h"
#include "proto/snowflake.h"

typedef enum {
    CL_DELETE_MEMBER = 1,  /* guild_id, user_id, reason */
    CL_CONFIRM_GONE,       /* ask REST whether the bot is out of guild_id; delete with reason if so */
    CL_GUILD_SEEN,         /* guild available (GUILD_CREATE) */
    CL_GUILD_UNAVAILABLE,  /* outage */
    CL_MARK_RECONCILE,     /* guild needs a reconciliation sweep */
    CL_ADOPT_UNASSIGNED,   /* legacy rows with guild_id NULL belong to guild_id */
    CL_MEMBER_PRESENT,     /* user_id is a member of guild_id (GUILD_MEMBER_ADD; feeds a running sweep) */
} cleaner_action_kind;

typedef struct {
    cleaner_action_kind kind;
    uint64_t guild_id;
    uint64_t user_id;
    audit_reason reason;
} cleaner_action;

typedef struct {
    cleaner_action *v;
    size_t n, cap;
    /* Set when the READY guard refused to delete; a human explanation. */
    char guard[256];
} cleaner_actions;

void cleaner_actions_free(cleaner_actions *a);

typedef struct {
    int shard_id, shard_count;
    double max_delete_share;
    /* Guild ids with rows in the database that belong to this shard. */
    const uint64_t *stored_guilds;
    size_t n_stored;
    int64_t unassigned_rows;    /* legacy rows waiting for a guild */
} cleaner_context;

/* Decide what one dispatch means.  ev is the dispatch's kind (gateway_action.ev:
 * DC_EV_UNKNOWN and kinds the policy does not read change nothing), d its data
 * (may be NULL).  resumed: the event belongs to a resumed session (READY
 * never is).  Returns DC_ERR_PROTO for a payload of the wrong shape (logged
 * by the caller; no actions), DC_ERR_NOMEM, or DC_OK. */
dc_err cleaner_on_dispatch(const cleaner_context *cx, dc_event ev, const cJSON *d, cleaner_actions *out);

#endif
