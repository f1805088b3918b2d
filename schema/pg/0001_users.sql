-- 0001 (PostgreSQL): the bot's per-user table, one row per (user, guild).
-- A fresh database gets BIGINT ids here.  An existing table is kept as it
-- is, whatever its id types (BIGINT, NUMERIC, TEXT, VARCHAR: the daemon
-- reads them from the catalogue and binds accordingly); the bot's legacy
-- single-guild table (discord_id unique, no guild_id) has been rebuilt into
-- this shape by the daemon just before this file runs, in the same
-- transaction, with guild_id NULL for rows not yet assigned to a guild.
CREATE TABLE IF NOT EXISTS users (
    discord_id BIGINT NOT NULL,
    guild_id   BIGINT NOT NULL,
    username   TEXT,
    UNIQUE (discord_id, guild_id)
);
CREATE INDEX IF NOT EXISTS cleaner_users_guild ON users (guild_id);
