-- 0003 (PostgreSQL): walk a guild's rows in discord_id order (the sweep's
-- cursor); this index serves what 0001's guild_id index did.
CREATE INDEX IF NOT EXISTS cleaner_users_guild_user ON users (guild_id, discord_id);
DROP INDEX IF EXISTS cleaner_users_guild;
