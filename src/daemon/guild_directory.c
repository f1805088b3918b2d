/* guild_directory.c - each guild's stored name and admin interval, read
 * once, looked up in O(1) (see guild_directory.h for why).  A small hash
 * table keyed by guild id; entries are never removed (a forgotten guild
 * keeps an empty entry), so probing needs no tombstones. */
#include "daemon/guild_directory.h"

#include <stdlib.h>
#include <string.h>

#define DIR_FIRST_CAP 64

/* Snowflakes' low bits are a counter and a worker id: mix them all. */
static size_t slot_of(uint64_t id, size_t cap)
{
    id ^= id >> 33;
    id *= UINT64_C(0xff51afd7ed558ccd);
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

static guild_dir_entry *find(const guild_directory *g, uint64_t id)
{
    if (!g->cap)
        return NULL;
    for (size_t i = slot_of(id, g->cap);; i = (i + 1) & (g->cap - 1)) {
        if (g->slots[i].id == id)
            return &g->slots[i];
        if (!g->slots[i].id)
            return NULL;
    }
}

static int grow(guild_directory *g)
{
    size_t cap = g->cap ? g->cap * 2 : DIR_FIRST_CAP;
    guild_dir_entry *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t k = 0; k < g->cap; k++) {
        if (!g->slots[k].id)
            continue;
        size_t i = slot_of(g->slots[k].id, cap);
        while (slots[i].id)
            i = (i + 1) & (cap - 1);
        slots[i] = g->slots[k];
    }
    free(g->slots);
    g->slots = slots;
    g->cap = cap;
    return 0;
}

/* The entry of id, added empty when missing; NULL when out of memory. */
static guild_dir_entry *entry(guild_directory *g, uint64_t id)
{
    guild_dir_entry *e = find(g, id);
    if (e)
        return e;
    if ((g->n + 1) * 2 > g->cap && grow(g) != 0)
        return NULL;
    size_t i = slot_of(id, g->cap);
    while (g->slots[i].id)
        i = (i + 1) & (g->cap - 1);
    g->slots[i] = (guild_dir_entry){ .id = id };
    g->n++;
    return &g->slots[i];
}

static void clear(guild_directory *g)
{
    for (size_t i = 0; i < g->cap; i++)
        free(g->slots[i].name);
    free(g->slots);
    *g = (guild_directory){ 0 };
}

void guild_directory_free(guild_directory *g) { clear(g); }

static int put_name(guild_directory *g, uint64_t id, const char *name)
{
    if (!id)
        return 0;
    guild_dir_entry *e = entry(g, id);
    char *copy = name && *name ? strdup(name) : NULL;
    if (!e || (name && *name && !copy)) {
        free(copy);
        return -1;
    }
    free(e->name);
    e->name = copy;
    return 0;
}

static int put_admin(guild_directory *g, uint64_t id, int64_t admin_ms)
{
    if (!id)
        return 0;
    guild_dir_entry *e = entry(g, id);
    if (!e)
        return -1;
    e->admin_ms = admin_ms > 0 ? admin_ms : 0;
    return 0;
}

typedef struct {
    guild_directory *g;
    int failed;
} loading;

static int load_name(void *ctx, uint64_t id, const char *name)
{
    loading *l = ctx;
    l->failed = put_name(l->g, id, name) != 0;
    return l->failed;
}

static int load_schedule(void *ctx, const store_schedule *sc)
{
    loading *l = ctx;
    l->failed = put_admin(l->g, sc->guild_id, sc->interval_ms) != 0;
    return l->failed;
}

dc_err guild_directory_load(guild_directory *g, store *s)
{
    clear(g);
    loading l = { .g = g };
    dc_err rc = store_each_guild_name(s, load_name, &l);
    if (rc == DC_OK && !l.failed)
        rc = store_each_schedule(s, load_schedule, &l);
    if (rc == DC_OK && l.failed)
        rc = DC_ERR_NOMEM;
    if (rc != DC_OK) {
        clear(g);
        return rc;
    }
    g->loaded = 1;
    return DC_OK;
}

int guild_directory_get(const guild_directory *g, uint64_t id, const char **name, int64_t *admin_ms)
{
    if (!g->loaded)
        return 0;
    const guild_dir_entry *e = find(g, id);
    *name = e && e->name ? e->name : "";
    *admin_ms = e ? e->admin_ms : 0;
    return 1;
}

/* A write the directory could not take: it no longer knows everything. */
static int unload_on(guild_directory *g, int failed)
{
    if (failed)
        clear(g);
    return failed ? -1 : 0;
}

int guild_directory_set_name(guild_directory *g, uint64_t id, const char *name)
{
    return g->loaded ? unload_on(g, put_name(g, id, name) != 0) : 0;
}

int guild_directory_set_admin(guild_directory *g, uint64_t id, int64_t admin_ms)
{
    return g->loaded ? unload_on(g, put_admin(g, id, admin_ms) != 0) : 0;
}
