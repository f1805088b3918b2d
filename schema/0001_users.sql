-- 0001: the bot's per-user table, one row per (user, guild).
-- A fresh database gets it here.  An existing table in this shape is kept
-- as it is; the bot's legacy single-guild table (discord_id UNIQUE, no
-- guild_id) has been rebuilt into this shape by the daemon just before this
-- file runs, in the same transaction (src/legacy.c).
-- guild_id NULL marks a legacy row not yet assigned to a guild: never deleted.
CREATE TABLE IF NOT EXISTS users (
    discord_id INTEGER NOT NULL,
    guild_id   INTEGER,
    username   TEXT,
    UNIQUE (discord_id, guild_id)
);
-- Guild-wide deletes and counts; the unique index leads with discord_id.
CREATE INDEX IF NOT EXISTS cleaner_users_guild ON users (guild_id);
