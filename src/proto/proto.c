/* proto.c - lookups over the proto/NAME.def tables. */
#include "proto/proto.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

const char *proto_op_name(int op)
{
    switch (op) {
#define X(name, value, text) case value: return text;
#include "proto/opcodes.def"
#undef X
    }
    return "UNKNOWN";
}

static const proto_close_info close_table[] = {
#define X(code, name, policy, exit_status, message) \
    { code, #name, GW_CLOSE_##policy, exit_status, message },
#include "proto/close_codes.def"
#undef X
};

proto_close_info proto_close_lookup(int code)
{
    for (size_t i = 0; i < sizeof close_table / sizeof close_table[0]; i++)
        if (close_table[i].code == code)
            return close_table[i];
    proto_close_info unknown = { code, "UNKNOWN", GW_CLOSE_RESUME, 0,
                              "connection closed; resuming" };
    if (code < 0 || code == 1006)
        unknown.message = "connection lost without a close frame; resuming";
    return unknown;
}

const char *proto_close_policy_name(proto_close_policy p)
{
    switch (p) {
    case GW_CLOSE_RESUME: return "resume";
    case GW_CLOSE_IDENTIFY: return "identify";
    case GW_CLOSE_FATAL: return "fatal";
    }
    return "unknown";
}

static const char *const event_names[DC_EV_COUNT] = {
    [DC_EV_UNKNOWN] = "UNKNOWN",
#define X(name) [DC_EV_##name] = #name,
#include "proto/events.def"
#undef X
};

/* Lengths first: every dispatch is looked up several times (session,
 * permissions, commands), and most names share the "GUILD_" prefix that a
 * plain strcmp walks through before it can tell them apart. */
static const unsigned char event_name_len[DC_EV_COUNT] = {
    [DC_EV_UNKNOWN] = sizeof "UNKNOWN" - 1,
#define X(name) [DC_EV_##name] = sizeof #name - 1,
#include "proto/events.def"
#undef X
};

dc_event dc_event_from_name(const char *name)
{
    if (!name)
        return DC_EV_UNKNOWN;
    size_t n = strlen(name);
    for (int ev = DC_EV_UNKNOWN + 1; ev < DC_EV_COUNT; ev++)
        if (event_name_len[ev] == n && memcmp(event_names[ev], name, n) == 0)
            return (dc_event)ev;
    return DC_EV_UNKNOWN;
}

const char *dc_event_name(dc_event ev)
{
    if ((int)ev <= DC_EV_UNKNOWN || ev >= DC_EV_COUNT)
        return "UNKNOWN";
    return event_names[ev];
}

typedef struct {
    const char *name;
    int bit;
} named_bit;

static const named_bit intent_bits[] = {
#define X(name, bit) { #name, bit },
#include "proto/intents.def"
#undef X
};

static const named_bit permission_bits[] = {
#define X(name, bit) { #name, bit },
#include "proto/permissions.def"
#undef X
};

static int bit_from_name(const named_bit *tab, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++)
        if (strcasecmp(tab[i].name, name) == 0)
            return tab[i].bit;
    return -1;
}

static const char *name_from_flag(const named_bit *tab, size_t n, uint64_t flag)
{
    for (size_t i = 0; i < n; i++)
        if (flag == UINT64_C(1) << tab[i].bit)
            return tab[i].name;
    return NULL;
}

#define COUNT(tab) (sizeof tab / sizeof tab[0])

dc_err proto_intent_from_name(const char *name, uint32_t *flag)
{
    int bit = bit_from_name(intent_bits, COUNT(intent_bits), name);
    if (bit < 0)
        return DC_ERR_NOTFOUND;
    *flag = UINT32_C(1) << bit;
    return DC_OK;
}

const char *proto_intent_name(uint32_t flag)
{
    return name_from_flag(intent_bits, COUNT(intent_bits), flag);
}

dc_err proto_permission_from_name(const char *name, uint64_t *flag)
{
    int bit = bit_from_name(permission_bits, COUNT(permission_bits), name);
    if (bit < 0)
        return DC_ERR_NOTFOUND;
    *flag = UINT64_C(1) << bit;
    return DC_OK;
}

const char *proto_permission_name(uint64_t flag)
{
    return name_from_flag(permission_bits, COUNT(permission_bits), flag);
}

static const char *const audit_reason_names[] = {
#define X(name, text) [name] = text,
#include "proto/audit_reasons.def"
#undef X
};

const char *audit_reason_name(audit_reason r)
{
    if ((unsigned)r < AUDIT_REASON_COUNT)
        return audit_reason_names[r];
    return "unknown";
}
