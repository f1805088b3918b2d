-- 0006: a legacy row not yet assigned to a guild (guild_id NULL) stays the
-- one row of its user, as in the legacy table it came from.  UNIQUE
-- (discord_id, guild_id) cannot say so: SQLite treats NULLs as distinct.
-- Once a row is adopted (guild_id set) the pair's uniqueness takes over.
CREATE UNIQUE INDEX IF NOT EXISTS cleaner_users_unassigned ON users (discord_id) WHERE guild_id IS NULL;
