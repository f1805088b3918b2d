/* pg_bot_fixture.h - a bot's database on PostgreSQL for the store tests of
 * users and sweeps (test_store_pg_users.c, test_store_pg_sweep.c): the
 * same rows as test_store.c's SQLite fixture, in a users table and a clean
 * table ("inv entory": owner, guild) created before the store opens, with
 * the id columns of the type under test (BIGINT, NUMERIC, TEXT, VARCHAR).
 * Header-only; needs cmocka and pg_fixture.h's cluster. */
#ifndef DC_PG_BOT_FIXTURE_H
#define DC_PG_BOT_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include "pg_fixture.h"
#include "store/store.h"

#define G1 111111111111111111ULL
#define G2 222222222222222222ULL
#define U1 900000000000000001ULL
#define U2 900000000000000002ULL

typedef struct {
    char uri[512];
    const char *tag;
    const char *type;            /* users' id type */
    store *s;
} pgbot;

/* The store on the fixture's database with "inv entory" as clean table. */
static inline dc_err pgbot_open(pgbot *b, char *err, size_t errlen)
{
    config_clean_table ct = { "inv entory", "owner", "guild" };
    store_opts o = { .clean_tables = &ct, .n_clean_tables = 1 };
    b->s = NULL;
    return store_open(&b->s, b->uri, &o, err, errlen);
}

/* A fresh database with the bot's tables: users ids of id_type, the clean
 * table's owner of owner_type; then the store opened on it.  Without a
 * cluster nothing happens (the tests skip). */
static inline int pgbot_setup(void **state, const char *tag, const char *id_type, const char *owner_type)
{
    static pgbot b;
    char sql[2048], err[512] = "";
    b = (pgbot){ .tag = tag, .type = id_type };
    *state = &b;
    if (!pgfx_cluster())
        return 0;
    if (pgfx_fresh(b.uri, sizeof b.uri, tag) != 0)
        return -1;
    snprintf(sql, sizeof sql,
             "CREATE TABLE \"inv entory\" (owner %s, guild %s, item TEXT);"
             "CREATE TABLE users (discord_id %s NOT NULL, guild_id %s, username TEXT, UNIQUE (discord_id, guild_id));"
             "INSERT INTO users VALUES ('%llu', '%llu', 'a'), ('%llu', '%llu', 'b'), ('%llu', '%llu', 'c'),"
             " ('%llu', NULL, 'legacy');"
             "INSERT INTO \"inv entory\" VALUES ('%llu', '%llu', 'x'), ('%llu', '%llu', 'y'), ('%llu', '%llu', 'z'),"
             " ('%llu', NULL, 'old');",
             owner_type, id_type, id_type, id_type, U1, G1, U2, G1, U1, G2, U1, U1, G1, U1, G1, U1, G2, U1);
    if (pgfx_exec(b.uri, sql) != 0)
        return -1;
    if (pgbot_open(&b, err, sizeof err) != DC_OK) {
        fprintf(stderr, "store_open: %s\n", err);
        return -1;
    }
    return 0;
}

static inline int pgbot_teardown(void **state)
{
    pgbot *b = *state;
    store_close(b->s);
    b->s = NULL;
    if (pgfx_cluster())
        pgfx_drop(b->tag);
    return 0;
}

/* Through a second connection: what the bot would see. */
static inline long long pgbot_q(pgbot *b, const char *sql)
{
    return pgfx_int(b->uri, sql);
}

static inline int pgbot_exec(pgbot *b, const char *sql)
{
    return pgfx_exec(b->uri, sql);
}

#endif
