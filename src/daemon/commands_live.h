/* commands_live.h - the chat commands in the live daemon: feeds the role
 * cache, decides with commands.c, reads the daemon's state, queues sweeps
 * and posts replies over REST.  Called from events.c for every dispatch. */
#ifndef DC_COMMANDS_LIVE_H
#define DC_COMMANDS_LIVE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "daemon/commands_outbox.h"
#include "policy/commands.h"
#include "proto/proto.h"

typedef struct dc_daemon dc_daemon;
typedef struct shard shard;

/* One dispatch of shard s.  Does nothing when commands are off. */
void commands_live_on_dispatch(shard *s, dc_event ev, const char *event, const cJSON *data);
/* The bot was confirmed removed from guild_id (REST said so): forget its
 * roles and owner.  A GUILD_DELETE alone forgets nothing. */
void commands_live_guild_gone(dc_daemon *d, uint64_t guild_id);
/* ---- for the slash commands (interact_live.c) ----------------------------- */
typedef struct commands_live commands_live;
/* The commands' live state (created on first use); NULL when commands are
 * off or out of memory. */
commands_live *commands_live_get(dc_daemon *d);
cmdo *commands_live_outbox(commands_live *cl);
/* 1: user_id owns the bot; 0: does not; -1: the owners are not known yet
 * (their fetch is started or retried). */
int commands_live_owner(commands_live *cl, uint64_t user_id);
/* Carry out a decision exactly as for a chat command: every reply goes
 * through the outbox (commands_outbox_send, reply_to = m->message_id). */
void commands_live_act(commands_live *cl, const commands_message *m, const commands_decision *dec);

/* Free the commands' state (after rest_free: no callback can still run). */
void commands_live_free(dc_daemon *d);
/* A reload (daemon_reload.c): the prefix, admin_permission and
 * min_interval_hours now in d->cfg from the next command on; owner_ids is
 * read where it lives. */
void commands_live_reconfigure(dc_daemon *d);

#endif
