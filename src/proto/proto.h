/* proto.h - lookups generated from the protocol tables in proto/NAME.def.
 *
 * The .def files (opcodes, close_codes, events, intents, permissions,
 * audit_reasons, app_commands) are the single place where these protocol
 * constants are written down; everything here is expanded from them. */
#ifndef DC_PROTO_H
#define DC_PROTO_H

#include <stdint.h>
#include "base/err.h"

typedef enum {
#define X(name, value, text) name = value,
#include "proto/opcodes.def"
#undef X
} proto_opcode;

/* Display name of a gateway opcode; "UNKNOWN" for unlisted ones. */
const char *proto_op_name(int op);

/* Why rows were deleted (proto/audit_reasons.def). */
typedef enum {
#define X(name, text) name,
#include "proto/audit_reasons.def"
#undef X
    AUDIT_REASON_COUNT           /* not a reason: how many there are */
} audit_reason;

/* The reason's name as stored and printed; "unknown" out of range. */
const char *audit_reason_name(audit_reason r);

typedef enum { GW_CLOSE_RESUME = 0, GW_CLOSE_IDENTIFY, GW_CLOSE_FATAL } proto_close_policy;

typedef struct {
    int code;
    const char *name;       /* e.g. "AUTHENTICATION_FAILED", "UNKNOWN" */
    proto_close_policy policy;
    int exit_status;        /* sysexits status for FATAL, else 0 */
    const char *message;    /* for the operator; static */
} proto_close_info;

/* Policy for a close code received from the server.  Never fails: codes
 * not in the table (1000/1001 from the server, 1006, -1 = no close frame)
 * get policy RESUME. */
proto_close_info proto_close_lookup(int code);
const char *proto_close_policy_name(proto_close_policy p);

typedef enum {
    DC_EV_UNKNOWN = 0,
#define X(name) DC_EV_##name,
#include "proto/events.def"
#undef X
    DC_EV_COUNT
} dc_event;

/* Event name ("t") to enum; DC_EV_UNKNOWN for NULL or unlisted names. */
dc_event dc_event_from_name(const char *name);
/* "UNKNOWN" for DC_EV_UNKNOWN or out-of-range values. */
const char *dc_event_name(dc_event ev);

/* Intent flags: DC_INTENT_GUILDS = 1 << 0, ... */
enum {
#define X(name, bit) DC_INTENT_##name = 1 << (bit),
#include "proto/intents.def"
#undef X
};

/* Permission bit numbers; DC_PERM(NAME) is the 64-bit flag.  (An enum
 * cannot hold 1 << 40, hence the bit numbers.) */
enum {
#define X(name, bit) DC_PERM_BIT_##name = (bit),
#include "proto/permissions.def"
#undef X
};
#define DC_PERM(name) (UINT64_C(1) << DC_PERM_BIT_##name)

/* Name (case-insensitive, e.g. "GUILD_MEMBERS") to flag.
 * DC_ERR_NOTFOUND for unknown names, *flag untouched. */
dc_err proto_intent_from_name(const char *name, uint32_t *flag);
/* Name of a single-bit flag; NULL when it is not exactly one listed bit. */
const char *proto_intent_name(uint32_t flag);
dc_err proto_permission_from_name(const char *name, uint64_t *flag);
const char *proto_permission_name(uint64_t flag);

/* Application command types, option types and contexts:
 * DC_APPCMD_TYPE_CHAT_INPUT, DC_APPCMD_OPTION_BOOLEAN, ... */
enum {
#define X(name, value) DC_APPCMD_##name = (value),
#include "proto/app_commands.def"
#undef X
};

#endif
