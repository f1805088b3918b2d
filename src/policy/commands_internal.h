/* commands_internal.h - what commands.c and commands_schedule.c share
 * (private to src/policy): the commands' state, the refusal (with its rate
 * limits) and the schedule command's argument parser. */
#ifndef DC_COMMANDS_INTERNAL_H
#define DC_COMMANDS_INTERNAL_H

#include <stdint.h>
#include "policy/commands.h"

#define REFUSAL_SLOTS 256            /* users remembered for the refusal limit */

typedef struct {
    uint64_t user_id;
    int64_t at_ms;
} refusal;

struct commands_state {
    char prefix[16];
    uint64_t admin_permission;
    int dry_run;
    double min_interval_hours;       /* the shortest schedule admins may set */
    int64_t refusal_interval_ms;
    refusal refused[REFUSAL_SLOTS];
    /* Refusals overall: a token bucket, so that a flood of distinct users
     * (more than REFUSAL_SLOTS remember) costs a few replies, not one each. */
    int refusal_burst;
    int64_t refusal_refill_ms;
    int refusal_tokens;
    int64_t refusal_refilled_at;
};

/* out = CMD_REFUSE for user_id (all: the owners-only command, named in
 * its /slash form when slash is set; unchecked:
 * the permissions could not be learnt, why), within the refusal limits;
 * out->kind stays CMD_IGNORE past them. */
void commands_refuse_user(commands_state *cs, uint64_t user_id, int all, const char *slash, const char *unchecked,
                          int64_t now_ms, commands_decision *out);
/* The arguments of an allowed `!cleanup_schedule` into out (CMD_SCHEDULE,
 * or CMD_HELP with what is wrong). */
void commands_schedule_args(const commands_state *cs, const char *args, commands_decision *out);

#endif
