/* schedule_live.h - each guild's sweep interval in the live daemon: which
 * one applies, and carrying out a CMD_SCHEDULE decision (commands.h).
 *
 * Precedence (the one place it is decided; reconcile.c asks here):
 *   1. the operator's guild_interval setting for the guild (config), beats
 *   2. the schedule the guild's own admins set (`!cleanup_schedule HOURS`,
 *      `/cleanup schedule hours:HOURS`; cleaner_guild_schedule), beats
 *   3. interval_hours.
 * The admins' value is read from the database once at start, with every
 * guild's (guild_directory.h), and kept with the guild when it becomes
 * available (reconcile_guild_present); a change writes it
 * in the loop turn's transaction and wakes the scheduler, which computes
 * the guild's next sweep anew from its last sweep. */
#ifndef DC_SCHEDULE_LIVE_H
#define DC_SCHEDULE_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include "policy/commands.h"

typedef struct dc_daemon dc_daemon;

/* The guild's effective interval in ms and where it comes from (src may be NULL). */
int64_t schedule_interval_ms(const dc_daemon *d, uint64_t guild_id, commands_interval_source *src);
/* The admins' interval stored for guild_id, 0 when none (or unreadable). */
int64_t schedule_stored_ms(dc_daemon *d, uint64_t guild_id);
/* Carry out dec (CMD_SCHEDULE) for guild_id asked by user_id: show, or
 * store / clear the admins' choice and reschedule; text: the reply
 * (commands_format_schedule).  Both the prefix command and the slash
 * subcommand call this with the decision commands_decide /
 * commands_decide_schedule gave. */
void schedule_live_do(dc_daemon *d, uint64_t guild_id, uint64_t user_id, const commands_decision *dec, char *text,
                      size_t cap);

#endif
