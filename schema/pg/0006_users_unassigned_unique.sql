-- 0006 (PostgreSQL): a legacy row not yet assigned to a guild (guild_id
-- NULL) stays the one row of its user.  UNIQUE treats NULLs as distinct.
CREATE UNIQUE INDEX IF NOT EXISTS cleaner_users_unassigned ON users (discord_id) WHERE guild_id IS NULL;
