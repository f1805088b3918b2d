/* schedule_live.c - which sweep interval applies to a guild, and the
 * schedule command's I/O (see schedule_live.h for the precedence). */
#include "daemon/schedule_live.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "base/log.h"
#include "daemon/daemon_internal.h"

static const present_guild *find(const dc_daemon *d, uint64_t guild_id)
{
    for (int i = 0; i < d->n_shards; i++)
        for (size_t k = 0; k < d->shards[i].rc.n_present; k++)
            if (d->shards[i].rc.present[k].id == guild_id)
                return &d->shards[i].rc.present[k];
    return NULL;
}

static int64_t hours_ms(double hours)
{
    return (int64_t)llround(hours * 3600000.0);
}

/* The admins' choice: in the directory (guild_directory.h), else kept
 * with the available guild, else read. */
static int64_t admin_ms(const dc_daemon *d, uint64_t guild_id)
{
    const char *name;
    int64_t ms;
    if (guild_directory_get(&d->rc.dir, guild_id, &name, &ms))
        return ms;
    const present_guild *g = find(d, guild_id);
    if (g)
        return g->admin_interval_ms;
    store_schedule sc;
    return store_schedule_get(d->st, guild_id, &sc) == DC_OK ? sc.interval_ms : 0;
}

int64_t schedule_interval_ms(const dc_daemon *d, uint64_t guild_id, commands_interval_source *src)
{
    const config *c = d->cfg;
    commands_interval_source s = CMD_INTERVAL_DEFAULT;
    int64_t ms = hours_ms(c->interval_hours);
    for (size_t i = 0; i < c->n_guild_intervals; i++)
        if (c->guild_intervals[i].guild_id == guild_id) {
            s = CMD_INTERVAL_OPERATOR;
            ms = hours_ms(c->guild_intervals[i].hours);
        }
    int64_t admin = s == CMD_INTERVAL_DEFAULT ? admin_ms(d, guild_id) : 0;
    if (admin > 0) {
        s = CMD_INTERVAL_ADMIN;
        ms = admin;
    }
    if (src)
        *src = s;
    return ms;
}

int64_t schedule_stored_ms(dc_daemon *d, uint64_t guild_id)
{
    store_schedule sc;
    dc_err rc = store_schedule_get(d->st, guild_id, &sc);
    if (rc != DC_OK && rc != DC_ERR_NOTFOUND && rc != DC_ERR_SCHEMA)
        LOG_W("schedule", "guild %" PRIu64 ": its admins' sweep interval could not be read (%s); "
              "the default applies meanwhile", guild_id, store_errmsg(d->st));
    return rc == DC_OK ? sc.interval_ms : 0;
}

/* Write (or clear) the admins' choice in the turn's transaction; 1 when written. */
static int store_choice(dc_daemon *d, uint64_t guild_id, uint64_t user_id, const commands_decision *dec, int64_t ms)
{
    store_schedule sc = { .guild_id = guild_id, .interval_ms = ms, .set_by = user_id, .set_at_ms = loop_wall(d->loop) };
    if (turn_begin(d) != 0)
        return 0;
    dc_err rc = dec->sched == CMD_SCHED_RESET ? store_schedule_clear(d->st, guild_id) : store_schedule_set(d->st, &sc);
    if (rc != DC_OK) {
        LOG_W("schedule", "guild %" PRIu64 ": the sweep interval could not be stored: %s", guild_id,
              store_errmsg(d->st));
        return 0;
    }
    turn_flush(d);                   /* committed now (SQLite) or handed over (PostgreSQL) before the reply */
    return 1;
}

/* The stored choice now applies: keep it with the guild and look again. */
static void apply(dc_daemon *d, uint64_t guild_id, int64_t ms)
{
    present_guild *g = (present_guild *)find(d, guild_id);
    if (g)
        g->admin_interval_ms = ms;
    guild_directory_set_admin(&d->rc.dir, guild_id, ms);
    reconcile_wake(d);
}

void schedule_live_do(dc_daemon *d, uint64_t guild_id, uint64_t user_id, const commands_decision *dec, char *text,
                      size_t cap)
{
    commands_schedule_view v = { .op = dec->sched, .default_ms = hours_ms(d->cfg->interval_hours),
                                 .now_wall_ms = loop_wall(d->loop) };
    char label[160];
    if (dec->sched != CMD_SCHED_SHOW) {
        int64_t ms = dec->sched == CMD_SCHED_SET ? hours_ms(dec->hours) : 0;
        v.stored = store_choice(d, guild_id, user_id, dec, ms);
        if (v.stored) {
            apply(d, guild_id, ms);
            LOG_I("schedule", "%s: sweep interval %s%g h by user %" PRIu64,
                  reconcile_guild_label(d, guild_id, label, sizeof label),
                  dec->sched == CMD_SCHED_SET ? "set to " : "reset to the default, ",
                  dec->sched == CMD_SCHED_SET ? dec->hours : d->cfg->interval_hours, user_id);
        }
    }
    store_schedule sc;
    if (store_schedule_get(d->st, guild_id, &sc) == DC_OK) {
        v.set_by = sc.set_by;
        v.set_at_ms = sc.set_at_ms;
    }
    v.admin_ms = admin_ms(d, guild_id);
    v.effective_ms = schedule_interval_ms(d, guild_id, &v.source);
    store_guild_state g = { .guild_id = guild_id };
    if (store_guild_get(d->st, guild_id, &g) == DC_OK)
        v.next_run_ms = reconcile_next_run(d, &g);
    commands_format_schedule(&v, text, cap);
}
