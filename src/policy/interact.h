/* interact.h - application ("slash") command interactions (sans-I/O).
 *
 * An INTERACTION_CREATE of type 2 naming our command is parsed into an
 * interact_request: where it came from (guild, channel, or a DM), who
 * asked (user id and the `permissions` Discord computed for them in that
 * channel, overwrites included), which subcommand and its options.  The
 * request is then written as the equivalent prefix command
 * ("/cleanup users force:true" -> "!cleanup_users force") so that
 * commands.c takes the very same decision for both; this module also
 * builds the JSON bodies of the answers (callback, edit of @original).
 * It sends nothing and reads no clock. */
#ifndef DC_INTERACT_H
#define DC_INTERACT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "base/err.h"
#include "policy/commands.h"

#define INTERACT_TOKEN_MAX 512        /* Discord's tokens are a few hundred characters */
#define INTERACT_SUB_MAX 32

/* Interaction types (INT "Interaction Type") and callback types. */
#define INTERACT_TYPE_APPLICATION_COMMAND 2
#define INTERACT_CALLBACK_MESSAGE 4           /* CHANNEL_MESSAGE_WITH_SOURCE */
#define INTERACT_CALLBACK_DEFERRED 5          /* DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE */
#define INTERACT_FLAG_EPHEMERAL 64
/* Discord's JSON codes for a late or repeated answer. */
#define INTERACT_CODE_UNKNOWN_INTERACTION 10062
#define INTERACT_CODE_ALREADY_ACKNOWLEDGED 40060
#define INTERACT_CODE_UNKNOWN_WEBHOOK 10015
/* The first answer within 3 s of the dispatch; the token lives 15 minutes. */
#define INTERACT_CALLBACK_WINDOW_MS 3000
#define INTERACT_TOKEN_LIFE_MS (15 * 60 * 1000)
#define INTERACT_TOKEN_MARGIN_MS (60 * 1000)   /* clocks, queues: stop using it a minute early */

#define INTERACT_DM_TEXT "The cleanup commands work only in a server, not in direct messages."

typedef enum {
    INTERACT_NOT_OURS = 0,   /* another type, another command's name: ignore */
    INTERACT_DM,             /* our command, in a DM: answer INTERACT_DM_TEXT */
    INTERACT_COMMAND,        /* our command in a guild */
} interact_kind;

typedef struct {
    uint64_t id, application_id;
    char token[INTERACT_TOKEN_MAX];
    uint64_t guild_id, channel_id, user_id;
    uint64_t permissions;            /* member.permissions (0 when absent) */
    char sub[INTERACT_SUB_MAX];      /* subcommand name ("" none; "?" not a plain word) */
    int force;                       /* boolean option force */
    int has_hours;
    double hours;                    /* number option hours */
} interact_request;

/* Parse INTERACTION_CREATE's data d.  *kind says whether it is ours
 * (type 2 and data.name == command_name).  DC_ERR_PROTO when an interaction
 * of ours lacks its id, token, application id or asker (then *kind is
 * INTERACT_NOT_OURS when even the id or token is missing: nothing can
 * answer it). */
dc_err interact_parse(const cJSON *d, const char *command_name, interact_request *r, interact_kind *kind);

/* The equivalent prefix command: prefix + "cleanup_" + sub, then " force"
 * (force:true) or " <hours>" (schedule).  Always NUL-terminated. */
void interact_command_text(const interact_request *r, const char *prefix, char *buf, size_t cap);

/* A commands_message for commands_decide(): guild, channel, author and
 * content (borrowed); message_id = the interaction id, so that replies
 * can be told apart from those to a chat message. */
void interact_to_message(const interact_request *r, const char *content, commands_message *m);

/* 1 when the decision's work may outlast the 3 s window (a sweep, or a
 * schedule saved in the database): answer with a deferral at once and
 * edit the original response later. */
int interact_defers(const commands_decision *dec);

/* 1 while an interaction dispatched at dispatched_ms may still be answered
 * through its token (edits of @original): 15 minutes less a margin. */
int interact_token_usable(int64_t dispatched_ms, int64_t now_ms);

/* POST /interactions/{id}/{token}/callback body: {"type":type,"data":
 * {content?, flags?, allowed_mentions:{parse:[]}}}; content NULL for a
 * deferral.  malloc'd, NULL when out of memory. */
char *interact_callback_json(int type, const char *content, int ephemeral);

#endif
