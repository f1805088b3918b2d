/* interact_live.c - slash commands in the live daemon (see interact_live.h).
 *
 * The interaction becomes the prefix command it stands for ("/cleanup
 * users force:true" is "!cleanup_users force"), judged by commands.c with
 * the permissions Discord computed for the member (member.permissions,
 * channel overwrites included) and the bot's owners, and carried out by
 * commands_live.c.  Its replies (reply_to = the interaction id) are taken
 * by interact_rest.c through the outbox's divert hook.  The deferral of a
 * sweep is sent from here, in the same loop turn as the dispatch: nothing
 * waits for the database or a sweep before it. */
#include "daemon/interact_live.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/log.h"
#include "daemon/commands_live.h"
#include "daemon/daemon_internal.h"
#include "daemon/interact_rest.h"
#include "policy/commands.h"
#include "policy/interact.h"
#include "policy/perms.h"

#define GENERIC_REFUSAL "Sorry, you may not use this command here."

typedef struct interact_live {
    ixr *answers;
    commands_state *cs;              /* the slash commands' own: no refusal limit (answers are ephemeral) */
} interact_live;

static void free_state(interact_live *il)
{
    if (!il)
        return;
    ixr_free(il->answers);
    commands_state_free(il->cs);
    free(il);
}

static interact_live *state(dc_daemon *d, commands_live *cl)
{
    if (d->ix)
        return d->ix;
    const config *c = d->cfg;
    commands_config cc = { .prefix = c->prefix, .admin_permission = c->admin_permission, .dry_run = c->dry_run,
                           /* ephemeral answers bother nobody: no limit (an interval of
                            * 1 ms held back a second refusal in the same millisecond) */
                           .refusal_interval_ms = -1, .refusal_burst = 1 << 30, .refusal_refill_ms = 1 };
    interact_live *il = calloc(1, sizeof *il);
    if (!il || !(il->cs = commands_state_new(&cc)) ||
        !(il->answers = ixr_new(d->loop, &d->pending, commands_live_outbox(cl)))) {
        free_state(il);
        return NULL;
    }
    commands_outbox_divert(commands_live_outbox(cl), ixr_divert, il->answers);
    d->ix = il;
    return il;
}

/* The decision for r, as the prefix command would get it. */
static void decide(interact_live *il, commands_live *cl, const interact_request *r, dc_err parsed,
                   const commands_message *m, int64_t now, commands_decision *dec)
{
    int owner = commands_live_owner(cl, r->user_id);
    if (parsed != DC_OK)
        commands_decide_unchecked(il->cs, m, 0, owner == 1, "Discord sent no permissions I could read", now, dec);
    else if (owner < 0)
        commands_decide_unchecked(il->cs, m, r->permissions, 0, "the bot's owners are not known yet", now, dec);
    else
        commands_decide(il->cs, m, r->permissions, owner == 1, now, dec);
}

void interact_live_on_dispatch(shard *s, dc_event ev, const cJSON *data)
{
    dc_daemon *d = s->d;
    interact_request r;
    interact_kind kind;
    if (ev != DC_EV_INTERACTION_CREATE || !(d->cfg->commands & COMMANDS_SLASH))
        return;
    dc_err e = interact_parse(data, d->cfg->slash_command_name, &r, &kind);
    if (kind == INTERACT_NOT_OURS) {
        if (e != DC_OK)
            LOG_W("commands", "shard %d: an interaction for our command without a usable id or token skipped", s->id);
        return;
    }
    commands_live *cl = commands_live_get(d);
    interact_live *il = cl ? state(d, cl) : NULL;
    int64_t now = loop_now(d->loop);
    if (!il || ixr_open(il->answers, &r, now) != DC_OK) {
        LOG_E("commands", "interaction %" PRIu64 ": cannot be answered (out of memory or too many at once)", r.id);
        return;
    }
    if (kind == INTERACT_DM) {
        ixr_reply(il->answers, r.id, INTERACT_DM_TEXT);
        return;
    }
    char text[64];
    commands_message m;
    commands_decision dec;
    interact_command_text(&r, d->cfg->prefix, text, sizeof text);
    interact_to_message(&r, text, &m);
    m.slash = d->cfg->slash_command_name;   /* help and refusals name the /forms */
    decide(il, cl, &r, e, &m, now, &dec);
    LOG_D("commands", "interaction %" PRIu64 " of user %" PRIu64 ": /%s %s taken as %s", r.id, r.user_id,
          d->cfg->slash_command_name, r.sub, text);
    if (dec.kind == CMD_IGNORE) {      /* only a refusal the limiter held back: still answered */
        ixr_reply(il->answers, r.id, GENERIC_REFUSAL);
        return;
    }
    if (interact_defers(&dec))
        ixr_defer(il->answers, r.id);  /* at once: the sweep's result edits it later */
    commands_live_act(cl, &m, &dec);
}

void interact_live_free(dc_daemon *d)
{
    free_state(d->ix);
    d->ix = NULL;
}
