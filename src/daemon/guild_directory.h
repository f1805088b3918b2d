/* guild_directory.h - what the database keeps about each guild that the
 * daemon needs at every GUILD_CREATE: its name and the sweep interval its
 * own admins set.  Read once when the store opens, kept current by the
 * daemon's own writes, looked up by id in O(1).
 *
 * Why: these were two reads per guild becoming available.  At a READY of
 * 10,000 guilds that is 20,000 round trips on the loop thread -- 20 s with
 * a PostgreSQL 1 ms away -- and each one first waited for the turn's
 * queued writes.  The scheduler also asked for every available guild's
 * admin interval with a linear search, every run.  The daemon is the only
 * writer of both for the guilds of its shards (another process serves
 * other shards, so other guilds), so a copy read at start stays exact.
 *
 * Not loaded (the read failed at start, an old schema): every lookup says
 * so and the caller reads the database as before. */
#ifndef DC_GUILD_DIRECTORY_H
#define DC_GUILD_DIRECTORY_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "store/store.h"

typedef struct {
    uint64_t id;                     /* 0: an empty slot */
    int64_t admin_ms;                /* the admins' interval, 0: none */
    char *name;                      /* NULL: none known */
} guild_dir_entry;

typedef struct {
    guild_dir_entry *slots;          /* open addressing, linear probing, a power of two */
    size_t cap, n;
    int loaded;
} guild_directory;

/* Every stored name and admin schedule (store_each_guild_name,
 * store_each_schedule), replacing what the directory held.  On failure
 * the directory stays unloaded (DC_ERR_SCHEMA: an old schema; anything
 * else: store_errmsg says). */
dc_err guild_directory_load(guild_directory *g, store *s);
/* 1 when the answer is known: *name (never NULL; "" none) and *admin_ms
 * (0 none) -- a loaded directory knows that a guild it lacks has neither;
 * 0 when it was not loaded (ask the store). */
int guild_directory_get(const guild_directory *g, uint64_t id, const char **name, int64_t *admin_ms);
/* The daemon wrote them (name NULL or "": forgotten).  -1 when out of
 * memory: the directory then unloads itself (lookups go to the store). */
int guild_directory_set_name(guild_directory *g, uint64_t id, const char *name);
int guild_directory_set_admin(guild_directory *g, uint64_t id, int64_t admin_ms);
void guild_directory_free(guild_directory *g);

#endif
